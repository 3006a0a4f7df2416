// ONNX Runtime: onnxruntime-node (native, 1 and 2 intra-op threads) and onnxruntime-web
// (WebAssembly with 1 and 2 threads; WebGPU on the same Dawn adapter as glimpse). Models are
// glimpse's own -O0 graphs exported to ONNX (primitive ops: MatMul, Softmax, ...; onnxruntime
// applies its graph optimisations to them), and for the attention core also one fused
// com.microsoft.MultiHeadAttention node, the op onnxruntime's transformer optimiser targets.
import { exportOnnx, onnx } from '@glimpse/onnx';

/** One MultiHeadAttention node on q, k, v [1, T, H·dh] (BSD), unidirectional when causal. */
export function mhaModel({ H, T, dh }, causal) {
  const F = onnx.TensorProto.DataType.FLOAT;
  const vi = (name) => ({
    name,
    type: {
      tensorType: { elemType: F, shape: { dim: [1, T, H * dh].map((d) => ({ dimValue: d })) } },
    },
  });
  const attribute = [
    { name: 'num_heads', type: onnx.AttributeProto.AttributeType.INT, i: H },
    { name: 'scale', type: onnx.AttributeProto.AttributeType.FLOAT, f: 1 / Math.sqrt(dh) },
  ];
  if (causal)
    attribute.push({ name: 'unidirectional', type: onnx.AttributeProto.AttributeType.INT, i: 1 });
  return onnx.ModelProto.encode({
    irVersion: 9,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
    graph: {
      name: 'mha',
      input: ['q', 'k', 'v'].map(vi),
      output: [vi('y')],
      node: [
        {
          opType: 'MultiHeadAttention',
          domain: 'com.microsoft',
          name: 'mha',
          input: ['q', 'k', 'v'],
          output: ['y'],
          attribute,
        },
      ],
    },
  }).finish();
}

/** [1, H, T, dh] ↔ [1, T, H·dh]. */
function bhsdToBsd(a, H, T, dh, back = false) {
  const out = new Float32Array(a.length);
  for (let h = 0; h < H; h++)
    for (let t = 0; t < T; t++)
      for (let c = 0; c < dh; c++) {
        const [i, j] = [(h * T + t) * dh + c, (t * H + h) * dh + c];
        if (back) out[i] = a[j];
        else out[j] = a[i];
      }
  return out;
}

/**
 * onnxruntime-web keeps tensors in its WebAssembly memory, a SharedArrayBuffer, and uploads
 * straight from it; Dawn in Node rejects writeBuffer from shared memory ("Invalid argument").
 * Its devices get a writeBuffer that copies such data into a plain buffer first.
 */
function nonSharedUploads(gpu) {
  const patch = (device) => {
    const q = device.queue;
    const write = q.writeBuffer.bind(q);
    q.writeBuffer = (buffer, offset, data, dataOffset = 0, size) => {
      if (data instanceof SharedArrayBuffer) data = new Uint8Array(data);
      if (!(data.buffer instanceof SharedArrayBuffer))
        return write(buffer, offset, data, dataOffset, size);
      const bytes = data.BYTES_PER_ELEMENT ?? 1;
      const n = size ?? data.length - dataOffset;
      const copy = new Uint8Array(n * bytes);
      copy.set(new Uint8Array(data.buffer, data.byteOffset + dataOffset * bytes, n * bytes));
      return write(buffer, offset, copy, 0, n * bytes);
    };
    return device;
  };
  return {
    requestAdapter: async (o) => {
      const a = await gpu.requestAdapter(o);
      if (!a) return a;
      const requestDevice = a.requestDevice.bind(a);
      a.requestDevice = async (d) => patch(await requestDevice(d));
      return a;
    },
    getPreferredCanvasFormat: () => gpu.getPreferredCanvasFormat(),
    wgslLanguageFeatures: gpu.wgslLanguageFeatures,
  };
}

async function runtime(kind, threads) {
  if (kind === 'node') return (await import('onnxruntime-node')).default;
  if (kind === 'webgpu') {
    const { navigatorGpu } = await import('glimpse');
    globalThis.navigator ??= { gpu: nonSharedUploads(await navigatorGpu()) };
  }
  const ort = await import(kind === 'webgpu' ? 'onnxruntime-web/webgpu' : 'onnxruntime-web');
  ort.env.wasm.numThreads = threads;
  return ort;
}

const variant = (kind, threads, mha) => ({
  id: `ort-${kind}${kind === 'webgpu' ? '' : `-${threads}t`}${mha ? '-mha' : ''}`,
  label: `onnxruntime-${kind === 'node' ? 'node' : kind === 'wasm' ? 'web wasm' : 'web webgpu'}${kind === 'webgpu' ? '' : `, ${threads} thread${threads > 1 ? 's' : ''}`}${mha ? ', MultiHeadAttention' : ''}`,
  family: 'onnxruntime',
  fused: mha,
  gpu: kind === 'webgpu',
  supports: (w) => !mha || w.kind === 'core',
  async prepare(w, built) {
    const ort = await runtime(kind, threads);
    const options =
      kind === 'node'
        ? { intraOpNumThreads: threads, interOpNumThreads: 1, executionProviders: ['cpu'] }
        : { executionProviders: [kind === 'webgpu' ? 'webgpu' : 'wasm'] };
    // A pretrained model runs from its own file; glimpse's graphs go through its exporter.
    const bytes = mha
      ? mhaModel(built.dims, built.causal)
      : (built.onnx ?? exportOnnx(built.graph));
    const session = await ort.InferenceSession.create(bytes, options);
    const { H, T, dh } = built.dims;
    // Inputs in the layout the model takes (converted once, outside the timed runs); WebGPU
    // uploads need a plain (non-shared) ArrayBuffer.
    const feeds = Object.fromEntries(
      Object.entries(built.inputs).map(([n, t]) => {
        if (t.dtype === 'i64') return [n, new ort.Tensor('int64', t.data, [...t.shape])];
        const data = mha ? bhsdToBsd(t.data, H, T, dh) : Float32Array.from(t.data);
        return [n, new ort.Tensor('float32', data, mha ? [1, T, H * dh] : [...t.shape])];
      }),
    );
    return {
      run: async () => (await session.run(feeds))[built.output ?? 'y'].data,
      canon: mha ? (y) => bhsdToBsd(y, H, T, dh, true) : undefined,
      close: async () => session.release?.(),
    };
  },
});

export default [
  variant('node', 1, false),
  variant('node', 2, false),
  variant('node', 1, true),
  variant('node', 2, true),
  variant('wasm', 1, false),
  variant('wasm', 2, false),
  variant('webgpu', 1, false),
  variant('webgpu', 1, true),
];
