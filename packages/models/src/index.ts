import type { Graph, GraphBuilder, Val } from '@glimpse/ir';
import {
  AttrError,
  buildGraph,
  CausalSelfAttention,
  Embedding,
  LayerNorm,
  Linear,
  MLP,
  MultiheadAttention,
  SelfAttention,
} from '@glimpse/ir';

/** An option of a built-in model: integer, with a default and a one-line description. */
export interface ModelOption {
  readonly default: number;
  readonly doc: string;
}

export interface ModelInfo {
  readonly name: string;
  readonly doc: string;
  readonly options: Readonly<Record<string, ModelOption>>;
  /** Default values for symbols the inputs leave open (B, T, S). */
  readonly symbolDefaults: Readonly<Record<string, number>>;
  readonly build: (o: Record<string, number>) => Graph;
}

const x = (b: GraphBuilder, dim: number | string): Val => b.input('x', 'f32', ['B', 'T', dim]);

function define(info: ModelInfo): ModelInfo {
  return info;
}

/**
 * The pre-norm block (transformer-block's graph; the transformer's blocks.N): params and
 * values named under `prefix` as the PyTorch module's state_dict.
 */
function block(
  b: GraphBuilder,
  prefix: string,
  xs: Val,
  o: Record<string, number>,
  out: string,
): Val {
  const at = (n: string) => (prefix === '' ? n : `${prefix}.${n}`);
  const ln1 = new LayerNorm(b, at('ln1'), o.dim!);
  const attn = new CausalSelfAttention(b, at('attn'), o.dim!, o.heads!);
  const ln2 = new LayerNorm(b, at('ln2'), o.dim!);
  const mlp = new MLP(b, at('mlp'), o.dim!, o.hidden!);
  const h = b.op(
    'add',
    [xs, attn.call(b, ln1.call(b, xs, at('ln1_out')), at('attn_out'))],
    {},
    at('h'),
  );
  return b.op('add', [h, mlp.call(b, ln2.call(b, h, at('ln2_out')), at('mlp_out'))], {}, out);
}

/** The built-in models, keyed by the names `glimpse models` lists (docs/design.md). */
export const MODELS = {
  'self-attention': define({
    name: 'self-attention',
    doc: 'the seed SelfAttention: Q, K, V Linear(dim, dim), softmax(bmm(q, kᵀ)/√dim), bmm with v',
    options: { dim: { default: 64, doc: 'model width' } },
    symbolDefaults: { B: 1, T: 128 },
    build: (o) =>
      buildGraph('self_attention', (b) =>
        new SelfAttention(b, '', o.dim!).call(b, x(b, o.dim!), 'y'),
      ),
  }),
  'context-attention': define({
    name: 'context-attention',
    doc: 'the seed attention network: Embedding(contexts, seq)[context] → softmax over T weights x; Σ_T → Linear(dim, out)',
    options: {
      contexts: { default: 10, doc: 'number of context ids' },
      seq: { default: 16, doc: 'sequence length T (fixed)' },
      dim: { default: 32, doc: 'input width' },
      out: { default: 8, doc: 'output width' },
    },
    symbolDefaults: { B: 1 },
    build: (o) =>
      buildGraph('context_attention', (b) => {
        const xs = b.input('x', 'f32', ['B', o.seq!, o.dim!]);
        const ctx = b.input('context', 'i32', ['B']);
        const scores = new Embedding(b, 'context', o.contexts!, o.seq!).call(b, ctx, 'scores');
        const w = b.op('softmax', [scores], { axis: -1 }, 'weights');
        const w3 = b.reshape(w, ['B', o.seq!, 1], 'weights3');
        const weighted = b.op('mul', [xs, w3], {}, 'weighted');
        const glimpse = b.op('reduce_sum', [weighted], { axes: [1] }, 'glimpse');
        return new Linear(b, 'output', o.dim!, o.out!).call(b, glimpse, 'y');
      }),
  }),
  'multi-head-attention': define({
    name: 'multi-head-attention',
    doc: 'nn.MultiheadAttention(dim, heads, batch_first=True) on (x, x, x)',
    options: {
      dim: { default: 64, doc: 'model width' },
      heads: { default: 4, doc: 'attention heads' },
    },
    symbolDefaults: { B: 1, T: 128 },
    build: (o) =>
      buildGraph('multi_head_attention', (b) =>
        new MultiheadAttention(b, '', o.dim!, o.heads!).call(b, x(b, o.dim!), undefined, 'y'),
      ),
  }),
  'cross-attention': define({
    name: 'cross-attention',
    doc: 'nn.MultiheadAttention(dim, heads, kdim=vdim=mdim, batch_first=True): queries from x, keys and values from memory',
    options: {
      dim: { default: 64, doc: 'model width' },
      heads: { default: 4, doc: 'attention heads' },
      mdim: { default: 32, doc: 'memory width' },
    },
    symbolDefaults: { B: 1, T: 128, S: 96 },
    build: (o) =>
      buildGraph('cross_attention', (b) => {
        const xs = x(b, o.dim!);
        const mem = b.input('memory', 'f32', ['B', 'S', o.mdim!]);
        // kdim == dim would make PyTorch pack the weights; keep the module's own choice.
        return new MultiheadAttention(b, '', o.dim!, o.heads!, o.mdim!).call(b, xs, mem, 'y');
      }),
  }),
  'causal-self-attention': define({
    name: 'causal-self-attention',
    doc: 'GPT-style: packed Linear(dim, 3·dim) → q, k, v heads, causal softmax(q·kᵀ/√dh)·v, Linear(dim, dim)',
    options: {
      dim: { default: 64, doc: 'model width' },
      heads: { default: 4, doc: 'attention heads' },
    },
    symbolDefaults: { B: 1, T: 128 },
    build: (o) =>
      buildGraph('causal_self_attention', (b) =>
        new CausalSelfAttention(b, '', o.dim!, o.heads!).call(b, x(b, o.dim!), 'y'),
      ),
  }),
  'transformer-block': define({
    name: 'transformer-block',
    doc: 'pre-norm block: x + attn(ln1(x)), then + mlp(ln2(·)); causal attention, exact GELU MLP',
    options: {
      dim: { default: 64, doc: 'model width' },
      heads: { default: 4, doc: 'attention heads' },
      hidden: { default: 256, doc: 'MLP hidden width' },
    },
    symbolDefaults: { B: 1, T: 128 },
    build: (o) => buildGraph('transformer_block', (b) => block(b, '', x(b, o.dim!), o, 'y')),
  }),
  transformer: define({
    name: 'transformer',
    doc: '`layers` transformer-blocks in sequence (params blocks.N.*), then a final LayerNorm (ln_f)',
    options: {
      layers: { default: 2, doc: 'number of blocks' },
      dim: { default: 64, doc: 'model width' },
      heads: { default: 4, doc: 'attention heads' },
      hidden: { default: 256, doc: 'MLP hidden width' },
    },
    symbolDefaults: { B: 1, T: 128 },
    build: (o) =>
      buildGraph('transformer', (b) => {
        let h = x(b, o.dim!);
        for (let i = 0; i < o.layers!; i++) h = block(b, `blocks.${i}`, h, o, `blocks.${i}.out`);
        return new LayerNorm(b, 'ln_f', o.dim!).call(b, h, 'y');
      }),
  }),
} as const satisfies Record<string, ModelInfo>;

export type ModelName = keyof typeof MODELS;
export const MODEL_NAMES = Object.keys(MODELS) as ModelName[];

/** Largest value an option may take: keeps a typo from asking for a terabyte of params. */
const MAX_OPTION = 65536;

/**
 * Build a built-in model from `name` or `name:key=value,...`. Unknown names and options,
 * and values that are not positive integers, are AttrErrors that list what is allowed.
 */
export function buildModel(
  spec: string,
  overrides: Record<string, number> = {},
): { graph: Graph; info: ModelInfo } {
  const [name, rest] = spec.includes(':')
    ? [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)]
    : [spec, ''];
  if (!Object.prototype.hasOwnProperty.call(MODELS, name))
    throw new AttrError(`unknown model '${name}' (built-in: ${MODEL_NAMES.join(', ')})`);
  const info: ModelInfo = MODELS[name as ModelName];
  const opts: Record<string, number> = Object.fromEntries(
    Object.entries(info.options).map(([k, v]) => [k, v.default]),
  );
  const given: [string, string][] =
    rest === ''
      ? []
      : rest.split(',').map((kv) => {
          const i = kv.indexOf('=');
          if (i < 0) throw new AttrError(`model option '${kv}' must be key=value`);
          return [kv.slice(0, i), kv.slice(i + 1)];
        });
  for (const [k, v] of [
    ...given,
    ...Object.entries(overrides).map(([a, b]) => [a, String(b)] as [string, string]),
  ]) {
    if (!Object.hasOwn(info.options, k))
      throw new AttrError(
        `model ${name} has no option '${k}' (options: ${Object.keys(info.options).join(', ')})`,
      );
    const n = Number(v);
    if (!/^\d+$/.test(v) || !(n >= 1 && n <= MAX_OPTION))
      throw new AttrError(`model option ${k}=${v} must be an integer in 1..${MAX_OPTION}`);
    opts[k] = n;
  }
  return { graph: info.build(opts), info };
}

/** Builders by camelCase name for the API: `models.selfAttention({ dim: 64 })`. */
export const models = {
  selfAttention: (o: { dim?: number } = {}) => buildModel('self-attention', o).graph,
  contextAttention: (o: { contexts?: number; seq?: number; dim?: number; out?: number } = {}) =>
    buildModel('context-attention', o).graph,
  multiHeadAttention: (o: { dim?: number; heads?: number } = {}) =>
    buildModel('multi-head-attention', o).graph,
  crossAttention: (o: { dim?: number; heads?: number; mdim?: number } = {}) =>
    buildModel('cross-attention', o).graph,
  causalSelfAttention: (o: { dim?: number; heads?: number } = {}) =>
    buildModel('causal-self-attention', o).graph,
  transformerBlock: (o: { dim?: number; heads?: number; hidden?: number } = {}) =>
    buildModel('transformer-block', o).graph,
  transformer: (o: { layers?: number; dim?: number; heads?: number; hidden?: number } = {}) =>
    buildModel('transformer', o).graph,
};
