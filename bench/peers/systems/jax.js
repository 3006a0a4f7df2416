// jax-js on its WebAssembly device: the workload written with jax-js numpy ops over the same
// op vocabulary as TensorFlow.js, traced once by jit (jax-js fuses elementwise work into
// its kernels).
import { modelOps } from '../model-ops.js';

export default [
  {
    id: 'jax-wasm',
    label: 'jax-js (wasm)',
    family: 'jax-js',
    fused: false,
    // Driven op by op (model-ops.js): no ONNX files.
    supports: (w) => w.kind !== 'onnx',
    gpu: false,
    async prepare(w, built) {
      const jax = await import('@jax-js/jax');
      await jax.init('wasm');
      jax.defaultDevice('wasm');
      const { numpy: np, nn, lax } = jax;
      // jax-js ops take ownership of their arguments: `.ref` keeps every operand alive, as
      // the traced function reuses weights and activations freely.
      const r = (a) => (typeof a === 'number' ? a : a.ref);
      const ops = {
        tensor: (t) => np.array(Float32Array.from(t.data)).reshape([...t.shape]),
        matmul: (a, b, tb = false) => np.matmul(r(a), tb ? np.matrixTranspose(r(b)) : r(b)),
        add: (a, b) => np.add(r(a), r(b)),
        mul: (a, c) => np.multiply(r(a), r(c)),
        softmax: (x) => nn.softmax(r(x), -1),
        reshape: (x, s) => np.reshape(r(x), s),
        transpose: (x, perm) => np.transpose(r(x), perm),
        split: (x, n) => np.split(r(x), n, -1),
        layerNorm: (x, g, b, eps) => {
          const mean = np.mean(r(x), -1, { keepdims: true });
          const xc = np.subtract(r(x), mean);
          const variance = np.mean(np.square(r(xc)), -1, { keepdims: true });
          return np.add(np.multiply(np.divide(xc, np.sqrt(np.add(variance, eps))), r(g)), r(b));
        },
        gelu: (x) =>
          np.multiply(np.multiply(r(x), 0.5), np.add(1, lax.erf(np.multiply(r(x), Math.SQRT1_2)))),
        causalMask: (T) =>
          np
            .array(
              Float32Array.from({ length: T * T }, (_, i) =>
                i % T > Math.floor(i / T) ? -Infinity : 0,
              ),
            )
            .reshape([T, T]),
      };
      const { f, args } = modelOps(w, built, ops);
      const jf = jax.jit(f);
      return {
        run: async () => {
          // data() consumes the result array.
          return await jf(jax.tree.ref(args)).data();
        },
      };
    },
  },
];
