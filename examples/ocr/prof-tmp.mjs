import { importFixed, MODELS } from './ocr.js';
import { compile } from 'glimpse';
const shape = [1, 3, 48, 320];
const g = importFixed(MODELS.rec, shape);
const threads = Number(process.argv[2] ?? 1);
const exe = await compile(g, { backend: 'wasm', threads });
const x = {
  dtype: 'f32',
  shape,
  data: Float32Array.from({ length: 3 * 48 * 320 }, (_, i) => Math.sin(i)),
};
await exe.run({ x });
const inst = exe.instance({});
const times = new Map();
const counts = new Map();
for (const s of inst.steps) {
  const key = `${s.node.op}${s.wasm ? '' : '(cpu)'}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
  const wrap =
    (f) =>
    (...a) => {
      const t = performance.now();
      const r = f(...a);
      times.set(key, (times.get(key) ?? 0) + performance.now() - t);
      return r;
    };
  if (s.wasm) s.wasm = wrap(s.wasm);
  else s.cpu = wrap(s.cpu);
}
for (let i = 0; i < 10; i++) await exe.run({ x });
for (const k of times.keys()) times.set(k, 0);
for (let i = 0; i < 10; i++) await exe.run({ x });
const t0 = performance.now();
await exe.run({ x });
console.log(
  'threads',
  threads,
  'one run',
  (performance.now() - t0).toFixed(1),
  'steps',
  inst.steps.length,
);
console.log(
  [...times]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([k, v]) => `${k} x${counts.get(k)} ${(v / 11).toFixed(2)}`)
    .join('\n'),
);
