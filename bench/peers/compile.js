// The `compile` workload: optimise and compile a stack of transformer blocks with a
// symbolic sequence length (glimpse: compile() at -O0/-O2, no weights touched; onnxruntime:
// creating an InferenceSession for the same model exported to ONNX, which runs its graph
// optimiser and prepares kernels). Nothing is run; the time is the system's start-up cost.
import { buildGraph, CausalSelfAttention, LayerNorm, MLP } from '@glimpse/ir';

export const COMPILE_SIZES = {
  full: [{ blocks: 12, dim: 768, heads: 12, hidden: 3072 }],
  quick: [{ blocks: 2, dim: 16, heads: 2, hidden: 32 }],
};

/** `blocks` pre-norm causal transformer blocks on x [B, T, dim], T symbolic. */
export function transformerStack({ blocks, dim, heads, hidden }) {
  return buildGraph('transformer_stack', (b) => {
    let h = b.input('x', 'f32', ['B', 'T', dim]);
    for (let i = 0; i < blocks; i++) {
      const p = `h${i}`;
      const a = new CausalSelfAttention(b, `${p}.attn`, dim, heads);
      const n1 = new LayerNorm(b, `${p}.ln1`, dim).call(b, h, `${p}_ln1`);
      h = b.op('add', [h, a.call(b, n1, `${p}_attn`)], {}, `${p}_h`);
      const n2 = new LayerNorm(b, `${p}.ln2`, dim).call(b, h, `${p}_ln2`);
      h = b.op(
        'add',
        [h, new MLP(b, `${p}.mlp`, dim, hidden).call(b, n2, `${p}_mlp`)],
        {},
        i === blocks - 1 ? 'y' : `${p}_y`,
      );
    }
    return h;
  });
}

export const compileSupported = (s) =>
  s.family === 'glimpse' || (s.family === 'onnxruntime' && !s.fused && !s.gpu);

export async function compileBench(system, size, { runs }) {
  const g = transformerStack(size);
  let once;
  if (system.family === 'glimpse') {
    const { compile } = await import('glimpse');
    const [, backend, level] = system.id.split('-');
    once = async () => compile(g, { backend, level: Number(level.slice(1)) });
  } else {
    const { exportOnnx } = await import('@glimpse/onnx');
    const bytes = exportOnnx(g);
    const threads = Number(system.id.match(/(\d)t/)[1]);
    const ort = system.id.startsWith('ort-node')
      ? (await import('onnxruntime-node')).default
      : await import('onnxruntime-web');
    if (!system.id.startsWith('ort-node')) ort.env.wasm.numThreads = threads;
    const options = system.id.startsWith('ort-node')
      ? { intraOpNumThreads: threads, interOpNumThreads: 1 }
      : {};
    once = async () => (await ort.InferenceSession.create(bytes, options)).release();
  }
  await once(); // warm-up: module loading, first-use costs
  const times = [];
  for (let i = 0; i < runs; i++) {
    const a = performance.now();
    await once();
    times.push(performance.now() - a);
  }
  if (system.id.includes('wgsl')) (await import('glimpse')).releaseGpu();
  const s = [...times].sort((a, b) => a - b);
  return {
    status: 'ok',
    times,
    median: s[Math.floor((s.length - 1) / 2)],
    min: s[0],
    max: s[s.length - 1],
  };
}
