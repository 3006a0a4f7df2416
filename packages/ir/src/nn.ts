import { AttrError } from './errors.js';
import type { GraphBuilder, Val } from './builder.js';
import type { Dim } from './shape.js';

/**
 * nn-style modules over the builder. Each registers its params under the names PyTorch's
 * `state_dict` uses for the equivalent module (prefix + '.weight' ...), with PyTorch's
 * default initialiser distributions, so safetensors saved from PyTorch load by name.
 */
const join = (prefix: string, name: string) => (prefix === '' ? name : `${prefix}.${name}`);

export class Linear {
  readonly weight: Val;
  readonly bias: Val | undefined;
  constructor(
    b: GraphBuilder,
    prefix: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { bias?: boolean } = {},
  ) {
    const bound = 1 / Math.sqrt(inFeatures);
    const u = { kind: 'uniform', low: -bound, high: bound } as const;
    this.weight = b.param(join(prefix, 'weight'), 'f32', [outFeatures, inFeatures], u);
    this.bias =
      options.bias === false ? undefined : b.param(join(prefix, 'bias'), 'f32', [outFeatures], u);
  }
  call(b: GraphBuilder, x: Val, name?: string): Val {
    return b.linear(x, this.weight, this.bias, name);
  }
}

export class Embedding {
  readonly weight: Val;
  constructor(b: GraphBuilder, prefix: string, num: number, dim: number) {
    this.weight = b.param(join(prefix, 'weight'), 'f32', [num, dim], {
      kind: 'normal',
      mean: 0,
      std: 1,
    });
  }
  call(b: GraphBuilder, ids: Val, name?: string): Val {
    return b.op('embedding', [ids, this.weight], {}, name);
  }
}

export class LayerNorm {
  readonly weight: Val;
  readonly bias: Val;
  constructor(
    b: GraphBuilder,
    prefix: string,
    dim: number,
    readonly eps = 1e-5,
  ) {
    this.weight = b.param(join(prefix, 'weight'), 'f32', [dim], { kind: 'fill', value: 1 });
    this.bias = b.param(join(prefix, 'bias'), 'f32', [dim], { kind: 'fill', value: 0 });
  }
  call(b: GraphBuilder, x: Val, name?: string): Val {
    return b.op('layer_norm', [x, this.weight, this.bias], { eps: this.eps, axis: -1 }, name);
  }
}

/** Linear(dim, hidden) → exact GELU → Linear(hidden, dim), as `mlp.fc` / `mlp.proj`. */
export class MLP {
  readonly fc: Linear;
  readonly proj: Linear;
  constructor(b: GraphBuilder, prefix: string, dim: number, hidden: number) {
    this.fc = new Linear(b, join(prefix, 'fc'), dim, hidden);
    this.proj = new Linear(b, join(prefix, 'proj'), hidden, dim);
  }
  call(b: GraphBuilder, x: Val, name?: string): Val {
    const h = this.fc.call(b, x, 'fc');
    return this.proj.call(b, b.op('gelu', [h], {}, 'gelu'), name);
  }
}

/** The unfused attention core on [.., T, dh] operands: softmax(q·kᵀ·scale [masked])·v. */
export function attentionCore(
  b: GraphBuilder,
  q: Val,
  k: Val,
  v: Val,
  options: { causal?: boolean; name?: string } = {},
): Val {
  const r = k.type.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  const kt = b.transpose(k, perm, 'kt');
  const s = b.bmm(q, kt, {}, 's');
  const dh = q.type.shape[q.type.shape.length - 1] as number;
  let s1 = b.op('scale', [s], { factor: 1 / Math.sqrt(dh) }, 's1');
  if (options.causal === true) {
    const mask = b.op('tril', [s1], {}, 'causal');
    const ninf = b.constant(-Infinity, 'f32', [], 'ninf');
    s1 = b.op('where', [mask, s1, ninf], {}, 's2');
  }
  const p = b.op('softmax', [s1], { axis: -1 }, 'p');
  return b.bmm(p, v, {}, options.name ?? 'attn');
}

/** The seed SelfAttention class: Q, K, V linears, bmm(q, kᵀ)/√dim, softmax, bmm with v. */
export class SelfAttention {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  constructor(b: GraphBuilder, prefix: string, dim: number) {
    this.query = new Linear(b, join(prefix, 'query'), dim, dim);
    this.key = new Linear(b, join(prefix, 'key'), dim, dim);
    this.value = new Linear(b, join(prefix, 'value'), dim, dim);
  }
  call(b: GraphBuilder, x: Val, name?: string): Val {
    const q = this.query.call(b, x, 'q');
    const k = this.key.call(b, x, 'k');
    const v = this.value.call(b, x, 'v');
    return attentionCore(b, q, k, v, { name: name ?? 'attn' });
  }
}

/** [B, T, H·dh] → [B, H, T, dh]. */
export function splitHeads(b: GraphBuilder, x: Val, heads: number, name: string): Val {
  const [B, T, D] = x.type.shape as [Dim, Dim, number];
  const r = b.reshape(x, [B, T, heads, D / heads], `${name}_h`);
  return b.transpose(r, [0, 2, 1, 3], name);
}

/** [B, H, T, dh] → [B, T, H·dh]. */
export function mergeHeads(b: GraphBuilder, x: Val, name: string): Val {
  const [B, H, T, dh] = x.type.shape as [Dim, number, Dim, number];
  const t = b.transpose(x, [0, 2, 1, 3], `${name}_t`);
  return b.reshape(t, [B, T, H * dh], name);
}

/**
 * nn.MultiheadAttention(dim, heads, batch_first=True). With kdim = vdim = dim the
 * projection is one packed `in_proj_weight`; otherwise separate q/k/v_proj_weight and a
 * shared `in_proj_bias` of 3·dim.
 */
export class MultiheadAttention {
  readonly packed: Val | undefined;
  readonly qW: Val | undefined;
  readonly kW: Val | undefined;
  readonly vW: Val | undefined;
  readonly inBias: Val;
  readonly outProj: Linear;
  constructor(
    b: GraphBuilder,
    prefix: string,
    readonly dim: number,
    readonly heads: number,
    readonly kdim = dim,
  ) {
    checkHeads(dim, heads);
    // PyTorch: xavier_uniform_ for projections, zeros for the bias.
    const xav = (fanIn: number, fanOut: number) => {
      const a = Math.sqrt(6 / (fanIn + fanOut));
      return { kind: 'uniform', low: -a, high: a } as const;
    };
    const p = (n: string) => join(prefix, n);
    if (kdim === dim) {
      this.packed = b.param(p('in_proj_weight'), 'f32', [3 * dim, dim], xav(dim, 3 * dim));
    } else {
      this.qW = b.param(p('q_proj_weight'), 'f32', [dim, dim], xav(dim, dim));
      this.kW = b.param(p('k_proj_weight'), 'f32', [dim, kdim], xav(kdim, dim));
      this.vW = b.param(p('v_proj_weight'), 'f32', [dim, kdim], xav(kdim, dim));
    }
    this.inBias = b.param(p('in_proj_bias'), 'f32', [3 * dim], { kind: 'fill', value: 0 });
    this.outProj = new Linear(b, p('out_proj'), dim, dim);
  }

  call(b: GraphBuilder, x: Val, memory: Val | undefined, name?: string): Val {
    const d = this.dim;
    let q: Val, k: Val, v: Val;
    if (this.packed !== undefined && memory === undefined) {
      const qkv = b.linear(x, this.packed, this.inBias, 'qkv');
      [q, k, v] = b.opN('split', [qkv], { axis: -1, sizes: [d, d, d] }, ['q', 'k', 'v']) as [
        Val,
        Val,
        Val,
      ];
    } else {
      const src = memory ?? x;
      const [wq, wk, wv] = this.packed
        ? b.opN('split', [this.packed], { axis: 0, sizes: [d, d, d] }, ['wq', 'wk', 'wv'])
        : [this.qW!, this.kW!, this.vW!];
      const [bq, bk, bv] = b.opN('split', [this.inBias], { axis: 0, sizes: [d, d, d] }, [
        'bq',
        'bk',
        'bv',
      ]);
      q = b.linear(x, wq!, bq, 'q');
      k = b.linear(src, wk!, bk, 'k');
      v = b.linear(src, wv!, bv, 'v');
    }
    const o = attentionCore(
      b,
      splitHeads(b, q, this.heads, 'qh'),
      splitHeads(b, k, this.heads, 'kh'),
      splitHeads(b, v, this.heads, 'vh'),
    );
    return this.outProj.call(b, mergeHeads(b, o, 'merged'), name);
  }
}

/** GPT-style causal self-attention: packed qkv Linear(dim, 3·dim), causal mask, proj. */
export class CausalSelfAttention {
  readonly qkv: Linear;
  readonly proj: Linear;
  constructor(
    b: GraphBuilder,
    prefix: string,
    readonly dim: number,
    readonly heads: number,
  ) {
    checkHeads(dim, heads);
    this.qkv = new Linear(b, join(prefix, 'qkv'), dim, 3 * dim);
    this.proj = new Linear(b, join(prefix, 'proj'), dim, dim);
  }
  call(b: GraphBuilder, x: Val, name?: string): Val {
    const d = this.dim;
    const qkv = this.qkv.call(b, x, 'qkv');
    const [q, k, v] = b.opN('split', [qkv], { axis: -1, sizes: [d, d, d] }, ['q', 'k', 'v']) as [
      Val,
      Val,
      Val,
    ];
    const o = attentionCore(
      b,
      splitHeads(b, q, this.heads, 'qh'),
      splitHeads(b, k, this.heads, 'kh'),
      splitHeads(b, v, this.heads, 'vh'),
      { causal: true },
    );
    return this.proj.call(b, mergeHeads(b, o, 'merged'), name);
  }
}

function checkHeads(dim: number, heads: number) {
  if (!(Number.isInteger(heads) && heads > 0 && dim % heads === 0))
    throw new AttrError(`dim ${dim} is not divisible by heads ${heads}`);
}
