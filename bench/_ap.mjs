import { buildGraph } from '@glimpse/ir';
import { WasmExecutable } from '@glimpse/backend-wasm';
const [H,T,dh] = [8,512,64];
const g = buildGraph('a', (b) => b.op('attention', [b.input('q','f32',[1,H,T,dh]), b.input('k','f32',[1,H,T,dh]), b.input('v','f32',[1,H,T,dh])], {}, 'y'));
const rnd = (n, s) => ({ dtype:'f32', shape:[1,H,T,dh], data: Float32Array.from({length:n}, (_, i) => Math.sin(i*1.7+s)) });
const x = { q: rnd(H*T*dh,1), k: rnd(H*T*dh,2), v: rnd(H*T*dh,3) };
for (const threads of [1, 2]) {
  const e = new WasmExecutable(g, { threads });
  await e.run(x);
  const ts = [];
  for (let i = 0; i < 31; i++) { const t = performance.now(); await e.run(x); ts.push(performance.now() - t); }
  ts.sort((a,b)=>a-b);
  console.log(threads, 'median', ts[15].toFixed(2), 'min', ts[0].toFixed(2));
  await e.release();
}
