#!/usr/bin/env node
/**
 * The SHA-256 of the WebAssembly module the wasm backend generates for a fixed set of
 * graphs: the built-in models (as written and optimised), fused attention in every mask,
 * causal, GQA, softcap and masked_rows form, GEMMs with epilogues, reductions, row kernels,
 * layout ops, gathers and depthwise. A refactor of the kernel emitters that must not change
 * the instructions they emit runs this before and after: the outputs must be equal.
 *
 * Each graph is compiled on one thread (unshared memory) and on two (shared memory), with
 * the engine's SIMD as it is; unless --no-fma is given, the same set is then compiled again
 * in a child process with relaxed SIMD enabled, so the multiply-add micro-kernels are
 * covered too. Reads the built packages (run `tsc -b` first).
 *
 *   node scripts/wasm-bytes.mjs [--no-fma]
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { hasRelaxedSimd, ModuleBuilder } from '@glimpse/asm';
import { buildGraph, buildModel, MODEL_NAMES, optimize, WasmExecutable } from 'glimpse';

// The executable builds its module with ModuleBuilder.bytes() and keeps only the compiled
// WebAssembly.Module: record the bytes as they are made (the last call is the module's).
let made = [];
const bytes = ModuleBuilder.prototype.bytes;
ModuleBuilder.prototype.bytes = function () {
  const b = bytes.call(this);
  made.push(b);
  return b;
};

/** The bytes of the module a WasmExecutable of `g` builds on `threads` threads. */
function moduleBytes(g, threads) {
  made = [];
  new WasmExecutable(g, { threads });
  if (made.length === 0) throw new Error(`no module built for ${g.name}`);
  return made.at(-1);
}

const uniform = { kind: 'uniform', low: -1, high: 1 };

/** Fused attention ops written directly: q, k, v [B, H, T|S, d] (or bshd) and a mask. */
function attention(name, o) {
  const { Hq = 4, Hkv = Hq, dh = 16, dv = dh, mask, layout = 'bhsd', attrs = {} } = o;
  return buildGraph(name, (b) => {
    const shape = (h, n, d) => (layout === 'bshd' ? ['B', n, h, d] : ['B', h, n, d]);
    const q = b.input('q', 'f32', shape(Hq, 'T', dh));
    const k = b.input('k', 'f32', shape(Hkv, 'S', dh));
    const v = b.input('v', 'f32', shape(Hkv, 'S', dv));
    const ins = [q, k, v];
    if (mask === 'bool') ins.push(b.input('m', 'bool', ['B', 1, 'T', 'S']));
    if (mask === 'additive') ins.push(b.input('m', 'f32', ['B', Hq, 'T', 'S']));
    if (mask === 'row') ins.push(b.input('m', 'f32', [1, 1, 1, 'S']));
    return b.op('attention', ins, { layout, ...attrs }, 'y');
  });
}

const GRAPHS = [
  // The built-in models as written (bmm, softmax, layer_norm, GEMMs with a computed B).
  ...MODEL_NAMES.map((m) => [`model ${m} (as written)`, () => buildModel(m).graph]),
  // Optimised: fused attention, GEMM epilogues, packed weights.
  ...MODEL_NAMES.map((m) => [`model ${m} (optimised)`, () => optimize(buildModel(m).graph)]),
  [
    'model transformer-block dim=48 heads=6 hidden=100 (optimised)',
    () => optimize(buildModel('transformer-block', { dim: 48, heads: 6, hidden: 100 }).graph),
  ],
  ['attention plain', () => attention('attn_plain', {})],
  ['attention dh=5 dv=3', () => attention('attn_odd', { dh: 5, dv: 3, Hq: 2 })],
  ['attention dh=64 dv=64', () => attention('attn_64', { dh: 64 })],
  ['attention bool mask', () => attention('attn_bool', { mask: 'bool' })],
  [
    'attention bool mask, fill -inf, masked_rows=mask',
    () =>
      attention('attn_bool_inf', {
        mask: 'bool',
        attrs: { mask_fill: -Infinity, masked_rows: 'mask' },
      }),
  ],
  [
    'attention bool mask, masked_rows=mask (finite fill)',
    () =>
      attention('attn_bool_fin', {
        mask: 'bool',
        attrs: { mask_fill: -1e4, masked_rows: 'mask' },
      }),
  ],
  ['attention additive mask', () => attention('attn_add', { mask: 'additive' })],
  [
    'attention additive mask, masked_rows=zero',
    () => attention('attn_add_zero', { mask: 'additive', attrs: { masked_rows: 'zero' } }),
  ],
  [
    'attention additive mask, masked_rows=mask',
    () => attention('attn_add_mask', { mask: 'additive', attrs: { masked_rows: 'mask' } }),
  ],
  ['attention row bias', () => attention('attn_row', { mask: 'row' })],
  ['attention causal top_left', () => attention('attn_tl', { attrs: { causal: 'top_left' } })],
  [
    'attention causal bottom_right, masked_rows=mask',
    () => attention('attn_br', { attrs: { causal: 'bottom_right', masked_rows: 'mask' } }),
  ],
  [
    'attention causal + additive mask + softcap, masked_rows=zero',
    () =>
      attention('attn_all', {
        mask: 'additive',
        attrs: { causal: 'bottom_right', softcap: 30, masked_rows: 'zero' },
      }),
  ],
  [
    'attention causal + bool mask, masked_rows=mask',
    () =>
      attention('attn_cb', {
        mask: 'bool',
        attrs: { causal: 'top_left', masked_rows: 'mask', mask_fill: -Infinity },
      }),
  ],
  ['attention softcap', () => attention('attn_cap', { attrs: { softcap: 50, scale: 0.5 } })],
  ['attention GQA 8/2', () => attention('attn_gqa', { Hq: 8, Hkv: 2 })],
  [
    'attention GQA 6/3 bshd causal',
    () =>
      attention('attn_gqa_bshd', { Hq: 6, Hkv: 3, layout: 'bshd', attrs: { causal: 'top_left' } }),
  ],
  ['attention MQA 4/1 bool mask', () => attention('attn_mqa', { Hq: 4, Hkv: 1, mask: 'bool' })],
  [
    'gemm epilogues: gelu, residual add, bias row, scalar, tanh',
    () =>
      optimize(
        buildGraph('epilogues', (b) => {
          const x = b.input('x', 'f32', ['T', 24]);
          const w = b.param('w', 'f32', [40, 24], uniform);
          const bias = b.param('b', 'f32', [40], uniform);
          const w2 = b.param('w2', 'f32', [40, 40], uniform);
          const w3 = b.param('w3', 'f32', [40, 40], uniform);
          const w4 = b.param('w4', 'f32', [13, 40], uniform);
          const row = b.param('row', 'f32', [40], uniform);
          const h = b.op('gelu', [b.op('linear', [x, w, bias], {}, 'fc')], {}, 'g');
          const r = b.op('add', [b.op('linear', [h, w2], {}, 'fc2'), h], {}, 'res');
          const s = b.op('mul', [b.op('linear', [r, w3], {}, 'fc3'), row], {}, 'rowmul');
          const t = b.op('tanh', [b.op('linear', [s, w4], {}, 'fc4')], {}, 'y');
          return t;
        }),
      ),
  ],
  [
    'linear with computed weight, bmm both ways, bmm by a constant',
    () =>
      buildGraph('matmuls', (b) => {
        const x = b.input('x', 'f32', [2, 'T', 12]);
        const wv = b.input('wv', 'f32', [20, 12]);
        const y = b.input('y', 'f32', [2, 12, 'T']);
        const c = b.param('c', 'f32', [12, 7], uniform);
        return [
          b.op('linear', [x, wv], {}, 'lin'),
          b.op('bmm', [x, y], {}, 'xy'),
          b.op('bmm', [y, x], { transpose_a: true, transpose_b: true }, 'yx'),
          b.op('bmm', [x, c], {}, 'xc'),
        ];
      }),
  ],
  [
    'reductions, softmax, layer_norm, rms_norm',
    () =>
      buildGraph('reductions', (b) => {
        const x = b.input('x', 'f32', [3, 'T', 10]);
        const w = b.param('w', 'f32', [10], uniform);
        const bb = b.param('b', 'f32', [10], uniform);
        return [
          b.op('reduce_sum', [x], { axes: [2] }, 'sum_last'),
          b.op('reduce_mean', [x], { axes: [1] }, 'mean_mid'),
          b.op('reduce_max', [x], { axes: [0] }, 'max_first'),
          b.op('reduce_max', [x], { axes: [2] }, 'max_last'),
          b.op('softmax', [x], { axis: -1 }, 'sm'),
          b.op('layer_norm', [x, w, bb], { axis: -1, eps: 1e-5 }, 'ln'),
          b.op('rms_norm', [x, w], { axis: -1, eps: 1e-6 }, 'rms'),
        ];
      }),
  ],
  [
    'layout: transpose, expand, slice, split, concat; elementwise maps',
    () =>
      buildGraph('layout', (b) => {
        const x = b.input('x', 'f32', [2, 'T', 8]);
        const t = b.op('transpose', [x], { perm: [2, 0, 1] }, 't');
        const e = b.op('expand', [b.input('e', 'f32', [1, 8])], { shape: [5, 8] }, 'ex');
        const s = b.op('slice', [x], { axis: 2, start: 1, end: 6 }, 'sl');
        const parts = b.opN('split', [x], { axis: 2, sizes: [3, 5] }, ['p0', 'p1']);
        const c = b.op('concat', [parts[1], parts[0]], { axis: 2 }, 'cat');
        const m = b.op(
          'add',
          [b.op('mul', [x, c], {}, 'xc'), b.op('exp', [x], {}, 'ex2')],
          {},
          'm',
        );
        return [t, e, s, c, m];
      }),
  ],
  [
    'gather, embedding, depthwise',
    () =>
      buildGraph('gathers', (b) => {
        const x = b.input('x', 'f32', ['T', 8]);
        const pos = b.constant([3, 0, 7, 2], 'i32', [4], 'pos');
        const ids = b.input('ids', 'i32', [5]);
        const table = b.param('table', 'f32', [16, 12], uniform);
        const rows = b.reshape(x, [1, 'T', 8], 'rows');
        const win = b.constant([0, -1, 1, 0], 'i32', [2, 2], 'win');
        const w = b.param('w', 'f32', [2, 8], uniform);
        const bias = b.param('bias', 'f32', [8], uniform);
        return [
          b.op('gather', [x, pos], { axis: 1 }, 'a'),
          b.op('embedding', [ids, table], {}, 'emb'),
          b.op('depthwise', [rows, win, w, bias], {}, 'd'),
          b.op('depthwise', [rows, win, w], {}, 'd2'),
        ];
      }),
  ],
];

const sha = (b) => createHash('sha256').update(b).digest('hex');
const all = createHash('sha256');
console.log(`# wasm module bytes, relaxed SIMD (fma): ${hasRelaxedSimd()}`);
for (const [label, make] of GRAPHS) {
  const g = make();
  for (const threads of [1, 2]) {
    const b = moduleBytes(g, threads);
    all.update(b);
    console.log(`${sha(b)}  ${String(b.length).padStart(7)}  t${threads}  ${label}`);
  }
}
console.log(`${all.digest('hex')}  all`);

if (!process.argv.includes('--no-fma') && !hasRelaxedSimd()) {
  const r = spawnSync(
    process.execPath,
    ['--experimental-wasm-relaxed-simd', fileURLToPath(import.meta.url), '--no-fma'],
    { stdio: 'inherit' },
  );
  process.exitCode = r.status ?? 1;
}
