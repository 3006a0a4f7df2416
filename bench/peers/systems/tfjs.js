// TensorFlow.js: the CPU (plain JS), WebAssembly and WebGPU backends, running the workloads
// written with tfjs ops the way a tfjs user writes them (eager, tf.tidy per call).
import { modelOps } from '../model-ops.js';

async function tfOn(backend) {
  if (backend === 'webgpu') {
    // tfjs-backend-webgpu looks for navigator.gpu: the same Dawn adapter glimpse uses.
    const { navigatorGpu } = await import('glimpse');
    globalThis.navigator ??= { gpu: await navigatorGpu() };
  }
  const tf = await import('@tensorflow/tfjs-core');
  await import(`@tensorflow/tfjs-backend-${backend}`);
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} is not available`);
  await tf.ready();
  return tf;
}

const variant = (backend) => ({
  id: `tfjs-${backend}`,
  label: `tfjs-backend-${backend}`,
  family: 'tfjs',
  fused: false,
  // Driven op by op (model-ops.js): no ONNX files.
  supports: (w) => w.kind !== 'onnx',
  gpu: backend === 'webgpu',
  async prepare(w, built) {
    const tf = await tfOn(backend);
    const ops = {
      tensor: (t) => tf.tensor(t.data, t.shape, 'float32'),
      matmul: (a, b, tb = false) => tf.matMul(a, b, false, tb),
      add: tf.add,
      mul: (a, c) => tf.mul(a, c),
      softmax: (x) => tf.softmax(x),
      reshape: tf.reshape,
      transpose: tf.transpose,
      split: (x, n) => tf.split(x, n, -1),
      layerNorm: (x, g, b, eps) => {
        const { mean, variance } = tf.moments(x, -1, true);
        return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), g), b);
      },
      gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))),
      causalMask: (T) =>
        tf.tensor(
          Float32Array.from({ length: T * T }, (_, i) =>
            i % T > Math.floor(i / T) ? -Infinity : 0,
          ),
          [T, T],
        ),
    };
    const { f, args } = modelOps(w, built, ops);
    return {
      run: async () => {
        const y = tf.tidy(() => f(args));
        const d = await y.data();
        y.dispose();
        return d;
      },
      close: async () => tf.disposeVariables(),
    };
  },
});

export default [variant('cpu'), variant('wasm'), variant('webgpu')];
