/**
 * ONNX Conv, ConvTranspose, the pools and the instance / group norms as exact lowerings onto
 * glimpse ops. A convolution is a gather of each output position's receptive field (im2col;
 * padding reads an appended zero) followed by a GEMM against the weights, which fold into
 * the order the gathered columns take at import: `linear` for a dense conv, a batched matmul
 * per group; a depthwise conv is glimpse's `depthwise` over the input rows and each window's
 * row indices. A conv whose stride equals its kernel (a ViT's patch embedding) needs no
 * gather: a reshape and a transpose cut the patches. Pools gather their windows the same way
 * and reduce over them.
 */
import type { Dim } from '@glimpse/ir';
import { numel } from '@glimpse/ir';
import type { Operand } from '../operand.js';
import { constOf, dtypeOfOperand, shapeOf } from '../operand.js';

import {
  attr,
  attrFloat,
  attrInt,
  attrInts,
  dyn,
  emit,
  fresh,
  need,
  staticShape,
  unsupported,
  val,
} from './context.js';
import type { Converter, Cx } from './context.js';

/** The spatial dims of [N, C, S…] (N may be symbolic; C and S must not). */
function spatial(cx: Cx, x: Operand): number[] {
  const s = shapeOf(x);
  if (s.slice(1).some((d) => typeof d !== 'number'))
    unsupported(
      cx,
      `on an input of shape [${s.join(',')}]: channels and spatial dims must be static (give the symbols sizes at import: importOnnx's shapes, glimpse run --shape)`,
    );
  return s.slice(2) as number[];
}

/** Pads before and after each spatial axis, from `pads` or `auto_pad`. */
function convPads(
  cx: Cx,
  S: number[],
  K: number[],
  s: number[],
  d: number[],
): [number[], number[]] {
  const r = S.length;
  const a = attr(cx, 'auto_pad');
  const mode = a?.s ? new TextDecoder().decode(a.s) : 'NOTSET';
  if (mode === 'NOTSET') {
    const p = attrInts(cx, 'pads') ?? Array(2 * r).fill(0);
    if (p.length !== 2 * r) unsupported(cx, `pads has ${p.length} entries for ${r} spatial axes`);
    if (p.some((x) => x < 0)) unsupported(cx, `negative pads [${p.join(',')}]`);
    return [p.slice(0, r), p.slice(r)];
  }
  if (mode === 'VALID') return [Array(r).fill(0), Array(r).fill(0)];
  if (mode !== 'SAME_UPPER' && mode !== 'SAME_LOWER') unsupported(cx, `auto_pad '${mode}'`);
  // SAME: ⌈S / s⌉ outputs; the odd pad goes after (UPPER) or before (LOWER).
  const total = S.map((n, i) =>
    Math.max(0, (Math.ceil(n / s[i]!) - 1) * s[i]! + (K[i]! - 1) * d[i]! + 1 - n),
  );
  const small = total.map((t) => Math.floor(t / 2));
  const big = total.map((t, i) => t - small[i]!);
  return mode === 'SAME_UPPER' ? [small, big] : [big, small];
}

/**
 * For each output position and kernel offset (row-major both), the flat index of the input
 * element it reads, or `S` (the appended zero) where it falls in the padding.
 */
function fieldIndices({ S, K, O, s, d, before, up }: Window): number[] {
  const r = S.length;
  const [P, KK, Z] = [numel(O), numel(K), numel(S)];
  const idx = new Array<number>(P * KK);
  const o = new Array<number>(r);
  const k = new Array<number>(r);
  for (let p = 0; p < P; p++) {
    for (let i = r - 1, q = p; i >= 0; i--) ((o[i] = q % O[i]!), (q = Math.floor(q / O[i]!)));
    for (let j = 0; j < KK; j++) {
      for (let i = r - 1, q = j; i >= 0; i--) ((k[i] = q % K[i]!), (q = Math.floor(q / K[i]!)));
      let flat = 0;
      let inside = true;
      for (let i = 0; i < r; i++) {
        // On the input upsampled by `up` with zeros between (a transposed conv), only every
        // up-th position is an input element.
        const v = o[i]! * s[i]! - before[i]! + k[i]! * d[i]!;
        const u = up?.[i] ?? 1;
        const at = v % u === 0 ? v / u : -1;
        if (at < 0 || at >= S[i]!) inside = false;
        flat = flat * S[i]! + at;
      }
      idx[p * KK + j] = inside ? flat : Z;
    }
  }
  return idx;
}

/** A sliding window's geometry over the spatial axes: input, kernel, output, strides, dilations, pads before. */
interface Window {
  S: number[];
  K: number[];
  O: number[];
  s: number[];
  d: number[];
  before: number[];
  /** A transposed conv's strides: the input upsampled by them (zeros between). */
  up?: number[];
}

/**
 * x [N, C, S…] as its windows' elements [N, ∏O, ∏K, C]: x viewed as rows [N, ∏S, C], a row
 * of `fill` appended for what falls in the padding (0 for a conv, −inf for a max pool),
 * each window's rows gathered.
 */
function gatherFields(cx: Cx, x: Operand, w: Window, fill: number): Operand {
  const idx = constOf('i32', [numel(w.O), numel(w.K)], fieldIndices(w));
  return emit(cx, 'gather', [paddedRows(cx, x, w.S, fill), idx], { axis: 1 }, fresh(cx, 'fields'));
}

/** x [N, C, S…] as rows [N, ∏S + 1, C]: one per spatial position, then a row of `fill`. */
function paddedRows(cx: Cx, x: Operand, S: number[], fill: number): Operand {
  const [N, C] = shapeOf(x) as [Dim, Dim];
  const flat = emit(cx, 'reshape', [x], { shape: [N, C, numel(S)] }, fresh(cx, 'flat'));
  const rows = emit(cx, 'transpose', [flat], { perm: [0, 2, 1] }, fresh(cx, 'rows'));
  const pad = constOf(dtypeOfOperand(x), [], [fill]);
  const prow = dyn(
    cx.b.op('expand', [val(cx, pad, 'fill')], { shape: [N, 1, C] }, fresh(cx, 'pad_row')),
  );
  return emit(cx, 'concat', [rows, prow], { axis: 1 }, fresh(cx, 'padded'));
}

/**
 * A depthwise conv (one kernel per channel) as glimpse's `depthwise`: x as rows [N, ∏S, C],
 * each output position's window as its rows' indices (−1 in the padding), the weights as
 * [K, C] — one SIMD pass over the input rows, where a window gather would copy K rows per
 * output.
 */
function depthwise(
  cx: Cx,
  x: Operand,
  w: Operand,
  bias: Operand | undefined,
  win: Window,
): Operand {
  const [N, C] = shapeOf(x) as [Dim, number];
  const [P, KK, Z] = [numel(win.O), numel(win.K), numel(win.S)];
  const flat = emit(cx, 'reshape', [x], { shape: [N, C, Z] }, fresh(cx, 'flat'));
  const rows = emit(cx, 'transpose', [flat], { perm: [0, 2, 1] }, fresh(cx, 'rows'));
  const idx = constOf(
    'i32',
    [P, KK],
    fieldIndices(win).map((i) => (i === Z ? -1 : i)),
  );
  // [C, 1, K…] → [K, C]: row k holds every channel's weight at offset k.
  const wt = emit(
    cx,
    'transpose',
    [emit(cx, 'reshape', [w], { shape: [C, KK] }, fresh(cx, 'wd'))],
    { perm: [1, 0] },
    fresh(cx, 'wdt'),
  );
  return emit(cx, 'depthwise', [rows, idx, wt, ...(bias ? [bias] : [])], {}, fresh(cx, 'dw'));
}

/** [N, P, C] (P = ∏O) back to the NC… layout [N, C, O…]. */
function toNC(cx: Cx, y: Operand, N: Dim, C: Dim, O: number[]): Operand {
  const t = emit(cx, 'transpose', [y], { perm: [0, 2, 1] }, fresh(cx, 'nc'));
  return emit(cx, 'reshape', [t], { shape: [N, C, ...O] });
}

/**
 * A pool's window from its attributes: kernel_shape, strides, dilations, pads / auto_pad,
 * and ceil_mode (a last window that starts inside the input or its pads but runs past
 * them reads padding).
 */
function poolWindow(cx: Cx, S: number[]): Window & { after: number[] } {
  const r = S.length;
  const K = attrInts(cx, 'kernel_shape');
  if (!K || K.length !== r) unsupported(cx, `needs kernel_shape of ${r} entries`);
  const s = attrInts(cx, 'strides') ?? Array(r).fill(1);
  const d = attrInts(cx, 'dilations') ?? Array(r).fill(1);
  const [before, after] = convPads(cx, S, K, s, d);
  const ceil = attrInt(cx, 'ceil_mode', 0) === 1;
  const O = S.map((n, i) => {
    const span = n + before[i]! + after[i]! - d[i]! * (K[i]! - 1) - 1;
    let o = (ceil ? Math.ceil(span / s[i]!) : Math.floor(span / s[i]!)) + 1;
    // ceil_mode: the last window must start inside the input or its leading pad.
    if (ceil && (o - 1) * s[i]! >= n + before[i]!) o--;
    return o;
  });
  if (O.some((o) => o < 1))
    unsupported(cx, `leaves no output: [${O.join(',')}] from [${S.join(',')}]`);
  return { S, K, O, s, d, before, after };
}

/** GlobalAveragePool / GlobalMaxPool: the mean / max over every spatial axis, kept. */
const globalPool =
  (op: 'reduce_mean' | 'reduce_max'): Converter =>
  (ins, cx) => {
    const x = need(cx, ins, 0);
    const r = shapeOf(x).length;
    if (r < 3) unsupported(cx, `on a rank-${r} input (it needs [N, C, …])`);
    const axes = Array.from({ length: r - 2 }, (_, i) => i + 2);
    return [emit(cx, op, [x], { axes, keepdims: true })];
  };

/**
 * (x − mean) / √(var + ε) over each of G groups of channels with their spatial elements
 * (`layer_norm` on x viewed as [N, G, rest]), then scale and bias — per group or per channel.
 */
function groupNorm(
  cx: Cx,
  x: Operand,
  G: number,
  scale: Operand,
  bias: Operand,
  perGroup: boolean,
): Operand {
  const xs = shapeOf(x);
  if (xs.length < 3) unsupported(cx, `on a rank-${xs.length} input (it needs [N, C, …])`);
  const S = spatial(cx, x);
  const [N, C] = xs as [Dim, number];
  if (!(G > 0) || C % G !== 0) unsupported(cx, `${G} groups do not divide ${C} channels`);
  const eps = attrFloat(cx, 'epsilon', 1e-5);
  const groups = emit(
    cx,
    'reshape',
    [x],
    { shape: [N, G, (C / G) * numel(S)] },
    fresh(cx, 'groups'),
  );
  let y = emit(cx, 'layer_norm', [groups], { axis: 2, eps }, fresh(cx, 'normed'));
  const affine = (o: Operand, hint: string) =>
    emit(
      cx,
      'reshape',
      [o],
      { shape: perGroup ? [G, 1] : [C, ...S.map(() => 1)] },
      fresh(cx, hint),
    );
  if (!perGroup) y = emit(cx, 'reshape', [y], { shape: xs }, fresh(cx, 'back'));
  y = emit(cx, 'mul', [y, affine(scale, 'scale')], {}, fresh(cx, 'scaled'));
  y = emit(cx, 'add', [y, affine(bias, 'bias')], {}, perGroup ? fresh(cx, 'biased') : undefined);
  return perGroup ? emit(cx, 'reshape', [y], { shape: xs }) : y;
}

export const CONV: Record<string, Converter> = {
  GlobalAveragePool: globalPool('reduce_mean'),
  GlobalMaxPool: globalPool('reduce_max'),
  /** The maximum of each window; padding reads −inf (never the maximum of a real element). */
  MaxPool: (ins, cx) => {
    const x = need(cx, ins, 0);
    if (cx.outputs[1]) unsupported(cx, 'with its Indices output is not supported');
    if (attrInt(cx, 'storage_order', 0) !== 0) unsupported(cx, 'with storage_order 1');
    const [N, C] = shapeOf(x) as [Dim, Dim];
    const w = poolWindow(cx, spatial(cx, x));
    const f = gatherFields(cx, x, w, -Infinity);
    const m = emit(cx, 'reduce_max', [f], { axes: [2], keepdims: false }, fresh(cx, 'max'));
    return [toNC(cx, m, N, C, w.O)];
  },
  /**
   * The mean of each window: the sum over it divided by the number of input elements it
   * covers, or (count_include_pad) by the kernel size less what ceil_mode adds past the pads.
   */
  AveragePool: (ins, cx) => {
    const x = need(cx, ins, 0);
    const [N, C] = shapeOf(x) as [Dim, Dim];
    const w = poolWindow(cx, spatial(cx, x));
    const withPad = attrInt(cx, 'count_include_pad', 0) === 1;
    const f = gatherFields(cx, x, w, 0);
    const sum = emit(cx, 'reduce_sum', [f], { axes: [2], keepdims: false }, fresh(cx, 'sum'));
    // Per output position: how many of its window's offsets it counts.
    const r = w.S.length;
    const counts: number[] = [];
    const P = numel(w.O);
    for (let p = 0; p < P; p++) {
      let n = 1;
      for (let i = r - 1, q = p; i >= 0; i--) {
        const o = q % w.O[i]!;
        q = Math.floor(q / w.O[i]!);
        const lo = withPad ? -w.before[i]! : 0;
        const hi = withPad ? w.S[i]! + w.after[i]! : w.S[i]!;
        let c = 0;
        for (let k = 0; k < w.K[i]!; k++) {
          const at = o * w.s[i]! - w.before[i]! + k * w.d[i]!;
          if (at >= lo && at < hi) c++;
        }
        n *= c;
      }
      counts.push(n);
    }
    const div = constOf(dtypeOfOperand(x), [P, 1], counts);
    const mean = emit(cx, 'div', [sum, div], {}, fresh(cx, 'mean'));
    return [toNC(cx, mean, N, C, w.O)];
  },
  /**
   * ConvTranspose as the conv it is the adjoint of: a conv (stride 1, the kernel flipped and
   * its two channel axes swapped) over the input upsampled by the strides with zeros between
   * — which the window gather reads as the zero row — padded by d·(K − 1) − pads.
   */
  ConvTranspose: (ins, cx) => {
    const [x, w, bias] = [need(cx, ins, 0), need(cx, ins, 1), ins[2]];
    const S = spatial(cx, x);
    const [N, C] = shapeOf(x) as [Dim, number];
    const ws = staticShape(cx, w, 'the weight');
    const r = S.length;
    if (ws.length !== r + 2 || ws[0] !== C)
      unsupported(cx, `on input [${shapeOf(x).join(',')}] and weight [${ws.join(',')}]`);
    if (attrInt(cx, 'group', 1) !== 1) unsupported(cx, 'with group > 1 is not supported');
    if (attr(cx, 'output_shape')) unsupported(cx, 'with output_shape is not supported (give pads)');
    const a = attr(cx, 'auto_pad');
    const mode = a?.s ? new TextDecoder().decode(a.s) : 'NOTSET';
    if (mode !== 'NOTSET' && mode !== 'VALID')
      unsupported(cx, `auto_pad '${mode}' is not supported`);
    const M = ws[1]!;
    const K = ws.slice(2);
    const s = attrInts(cx, 'strides') ?? Array(r).fill(1);
    const d = attrInts(cx, 'dilations') ?? Array(r).fill(1);
    const p =
      mode === 'VALID' ? Array(2 * r).fill(0) : (attrInts(cx, 'pads') ?? Array(2 * r).fill(0));
    const extra = attrInts(cx, 'output_padding') ?? Array(r).fill(0);
    const O = S.map(
      (n, i) => (n - 1) * s[i]! + extra[i]! + d[i]! * (K[i]! - 1) + 1 - p[i]! - p[i + r]!,
    );
    if (O.some((o) => o < 1)) unsupported(cx, `leaves no output: [${O.join(',')}]`);
    const before = K.map((k, i) => d[i]! * (k - 1) - p[i]!);
    const f = gatherFields(cx, x, { S, K, O, s: Array(r).fill(1), d, before, up: s }, 0);
    const [P, KK] = [numel(O), numel(K)];
    const cols = emit(cx, 'reshape', [f], { shape: [N, P, KK * C] }, fresh(cx, 'cols'));
    // w [C, M, K…] flipped along every spatial axis, as [M, KK·C] (kernel offset major).
    let wf: Operand = w;
    K.forEach((k, i) => {
      const rev = constOf(
        'i32',
        [k],
        Array.from({ length: k }, (_, j) => k - 1 - j),
      );
      wf = emit(cx, 'gather', [wf, rev], { axis: 2 + i }, fresh(cx, `wflip${i}`));
    });
    const w3 = emit(cx, 'reshape', [wf], { shape: [C, M, KK] }, fresh(cx, 'w3'));
    const wt = emit(cx, 'transpose', [w3], { perm: [1, 2, 0] }, fresh(cx, 'wt'));
    const w2 = emit(cx, 'reshape', [wt], { shape: [M, KK * C] }, fresh(cx, 'w2'));
    const args = [
      val(cx, cols, 'cols'),
      val(cx, w2, 'weight'),
      ...(bias ? [val(cx, bias, 'bias')] : []),
    ];
    const y = dyn(cx.b.op('linear', args, {}, fresh(cx, 'gemm')));
    return [toNC(cx, y, N, M, O)];
  },
  Conv: (ins, cx) => {
    const [x, w, bias] = [need(cx, ins, 0), need(cx, ins, 1), ins[2]];
    const xs = shapeOf(x);
    const ws = staticShape(cx, w, 'the weight');
    const r = xs.length - 2;
    if (r < 1 || ws.length !== r + 2)
      unsupported(cx, `on input [${xs.join(',')}] and weight [${ws.join(',')}]`);
    const [N, C] = xs as [Dim, Dim];
    const S = spatial(cx, x);
    const [M, Cg] = ws as [number, number];
    const K = ws.slice(2);
    const G = attrInt(cx, 'group', 1);
    if (typeof C !== 'number' || C !== G * Cg || M % G !== 0)
      unsupported(cx, `with ${C} input channels, weight [${ws.join(',')}] and group ${G}`);
    const kernel = attrInts(cx, 'kernel_shape');
    if (kernel && kernel.some((k, i) => k !== K[i]))
      unsupported(
        cx,
        `kernel_shape [${kernel.join(',')}] differs from the weight's [${K.join(',')}]`,
      );
    const s = attrInts(cx, 'strides') ?? Array(r).fill(1);
    const d = attrInts(cx, 'dilations') ?? Array(r).fill(1);
    const [before, after] = convPads(cx, S, K, s, d);
    const O = S.map(
      (n, i) => Math.floor((n + before[i]! + after[i]! - d[i]! * (K[i]! - 1) - 1) / s[i]!) + 1,
    );
    if (O.some((o) => o < 1))
      unsupported(cx, `leaves no output: [${O.join(',')}] from [${S.join(',')}]`);
    const [P, KK] = [numel(O), numel(K)];
    const patches =
      G === 1 &&
      before.every((p, i) => p === 0 && after[i] === 0) &&
      d.every((v) => v === 1) &&
      s.every((v, i) => v === K[i] && S[i]! % v === 0);
    // Depthwise (one kernel per channel; never `patches`, which needs one group).
    if (Cg === 1 && M === G && !patches) {
      return [toNC(cx, depthwise(cx, x, w, bias, { S, K, O, s, d, before }), N, M, O)];
    }
    // The receptive fields as rows [N, P, KK·C] (kernel offset major, channel minor).
    let cols: Operand;
    if (patches) {
      // [N, C, O₀, K₀, O₁, K₁, …] → [N, O₀, O₁, …, K₀, K₁, …, C]
      const split = O.flatMap((o, i) => [o, K[i]!]);
      const t = emit(cx, 'reshape', [x], { shape: [N, C, ...split] }, fresh(cx, 'blocks'));
      const perm = [0, ...O.map((_, i) => 2 + 2 * i), ...K.map((_, i) => 3 + 2 * i), 1];
      const p = emit(cx, 'transpose', [t], { perm }, fresh(cx, 'patches'));
      cols = emit(cx, 'reshape', [p], { shape: [N, P, KK * C] }, fresh(cx, 'cols'));
    } else {
      const g = gatherFields(cx, x, { S, K, O, s, d, before }, 0);
      cols = emit(cx, 'reshape', [g], { shape: [N, P, KK * C] }, fresh(cx, 'cols'));
    }
    // The weight [M, Cg, K…] in the columns' order: [M, KK, Cg].
    const wk = emit(
      cx,
      'transpose',
      [emit(cx, 'reshape', [w], { shape: [M, Cg, KK] }, fresh(cx, 'w3'))],
      { perm: [0, 2, 1] },
      fresh(cx, 'wk'),
    );
    let y: Operand; // [N, P, M]
    if (G === 1) {
      const w2 = emit(cx, 'reshape', [wk], { shape: [M, KK * Cg] }, fresh(cx, 'w2'));
      const args = [
        val(cx, cols, 'cols'),
        val(cx, w2, 'weight'),
        ...(bias ? [val(cx, bias, 'bias')] : []),
      ];
      y = dyn(cx.b.op('linear', args, {}, fresh(cx, 'gemm')));
    } else {
      // Grouped: [N, P, KK, G, Cg] → [N, G, P, KK·Cg], against [G, M/G, KK·Cg].
      const c5 = emit(cx, 'reshape', [cols], { shape: [N, P, KK, G, Cg] }, fresh(cx, 'c5'));
      const cg = emit(
        cx,
        'reshape',
        [emit(cx, 'transpose', [c5], { perm: [0, 3, 1, 2, 4] }, fresh(cx, 'cgt'))],
        { shape: [N, G, P, KK * Cg] },
        fresh(cx, 'cg'),
      );
      const wg = emit(cx, 'reshape', [wk], { shape: [G, M / G, KK * Cg] }, fresh(cx, 'wg'));
      const yg = emit(cx, 'bmm', [cg, wg], { transpose_b: true }, fresh(cx, 'group_mm')); // [N, G, P, M/G]
      const t = emit(cx, 'transpose', [yg], { perm: [0, 2, 1, 3] }, fresh(cx, 'ygt'));
      y = emit(cx, 'reshape', [t], { shape: [N, P, M] }, fresh(cx, 'yg'));
      if (bias) y = emit(cx, 'add', [y, bias], {}, fresh(cx, 'biased'));
    }
    return [toNC(cx, y, N, M, O)];
  },
  /** (x − mean) / √(var + ε) over each (n, c)'s spatial elements, then scale and B per channel. */
  InstanceNormalization: (ins, cx) => {
    const x = need(cx, ins, 0);
    return [groupNorm(cx, x, shapeOf(x)[1] as number, need(cx, ins, 1), need(cx, ins, 2), false)];
  },
  /**
   * GroupNormalization (opsets 18, 21): over each group of C/G channels and their spatial
   * elements, then scale and bias — per group at opset 18 (the spec's shapes then), per
   * channel from 21.
   */
  GroupNormalization: (ins, cx) => {
    const G = attrInt(cx, 'num_groups', 0);
    if (attrInt(cx, 'stash_type', 1) !== 1)
      unsupported(cx, 'stash_type other than float is not supported');
    const [x, scale, bias] = [need(cx, ins, 0), need(cx, ins, 1), need(cx, ins, 2)];
    return [groupNorm(cx, x, G, scale, bias, cx.opset < 21)];
  },
};
