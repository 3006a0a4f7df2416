// The `compile` workload: optimise and compile a stack of transformer blocks with a
// symbolic sequence length (glimpse: compile() at -O0/-O2, no weights touched; onnxruntime:
// creating an InferenceSession for the same model exported to ONNX, which runs its graph
// optimiser and prepares kernels). Nothing is run; the time is the system's start-up cost.
import { buildModel } from '@glimpse/models';

export const COMPILE_SIZES = {
  full: [{ blocks: 12, dim: 768, heads: 12, hidden: 3072 }],
  quick: [{ blocks: 2, dim: 16, heads: 2, hidden: 32 }],
};

/** The built-in `transformer` model: `blocks` pre-norm causal blocks and ln_f, T symbolic. */
export const transformerStack = ({ blocks, dim, heads, hidden }) =>
  buildModel('transformer', { layers: blocks, dim, heads, hidden }).graph;

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
