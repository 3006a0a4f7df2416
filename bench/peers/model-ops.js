// Each workload once, over a small vocabulary of tensor ops, for the peers that are driven
// op by op (TensorFlow.js): the same computation as glimpse's -O0 graph, with its params.

/**
 * The workload as `f(args)`, and `args`: its inputs and weights as tensors made once here
 * (args.x: inputs by name, args.p: params by name). Masks are made inside f, once per call,
 * as a model builds them.
 */
export function modelOps(w, built, o) {
  const args = {
    x: Object.fromEntries(Object.entries(built.inputs).map(([k, t]) => [k, o.tensor(t)])),
    p: Object.fromEntries(Object.entries(built.params ?? {}).map(([k, t]) => [k, o.tensor(t)])),
  };
  return { args, f: (a) => forward(w, built, o, a) };
}

function forward(w, built, o, { x, p }) {
  const d = built.dims;
  const linear = (h, name) => o.add(o.matmul(h, p[`${name}.weight`], true), p[`${name}.bias`]);
  const attend = (q, k, v, dh, mask) => {
    let s = o.mul(o.matmul(q, k, true), 1 / Math.sqrt(dh));
    if (mask) s = o.add(s, mask);
    return o.matmul(o.softmax(s), v);
  };
  if (w.kind === 'core')
    return attend(x.q, x.k, x.v, d.dh, built.causal ? o.causalMask(d.T) : undefined);
  if (w.kind === 'gemm') {
    const h = o.reshape(x.x, [d.M, d.K]);
    return o.reshape(o.add(o.matmul(h, p.w, true), p.b), [1, d.M, d.N]);
  }
  const { T, dim } = d;
  if (w.kind === 'self-attention') {
    const h = o.reshape(x.x, [T, dim]);
    const [q, k, v] = ['query', 'key', 'value'].map((n) => linear(h, n));
    return o.reshape(attend(q, k, v, dim), [1, T, dim]);
  }
  const { heads } = d;
  const dh = dim / heads;
  const mask = o.causalMask(T);
  const toHeads = (t) => o.transpose(o.reshape(t, [T, heads, dh]), [1, 0, 2]);
  {
    const h0 = o.reshape(x.x, [T, dim]);
    const n1 = o.layerNorm(h0, p['ln1.weight'], p['ln1.bias'], 1e-5);
    const [q, k, v] = o.split(linear(n1, 'attn.qkv'), 3).map(toHeads);
    const a = o.reshape(o.transpose(attend(q, k, v, dh, mask), [1, 0, 2]), [T, dim]);
    const h = o.add(h0, linear(a, 'attn.proj'));
    const n2 = o.layerNorm(h, p['ln2.weight'], p['ln2.bias'], 1e-5);
    const m = linear(o.gelu(linear(n2, 'mlp.fc')), 'mlp.proj');
    return o.reshape(o.add(h, m), [1, T, dim]);
  }
}
