/**
 * Resize (opsets 10–19) and Upsample (7–9) in nearest mode: on each axis whose size
 * changes, a gather of the source index of every output position, computed at import by
 * the operator's coordinate transform and rounding (exact: a nearest resize only copies).
 */
import type { Operand } from '../operand.js';
import { ints, reserveConst } from '../operand.js';
import { attr, fresh, needConst, staticShape, unsupported } from './context.js';
import type { Converter, Cx } from './context.js';
import { pick } from './indices.js';

const str = (cx: Cx, name: string, dflt: string) => {
  const a = attr(cx, name);
  return a?.s ? new TextDecoder().decode(a.s) : dflt;
};

/** The source index of output position `o` on an axis of `n` → `m` elements (scale `k`). */
function sourceIndex(cx: Cx, o: number, n: number, m: number, k: number): number {
  let x: number;
  // Opset 10 has neither attribute: asymmetric coordinates, rounded down (Upsample's rule).
  switch (cx.opset < 11 ? 'asymmetric' : str(cx, 'coordinate_transformation_mode', 'half_pixel')) {
    case 'half_pixel':
      x = (o + 0.5) / k - 0.5;
      break;
    case 'pytorch_half_pixel':
      x = m > 1 ? (o + 0.5) / k - 0.5 : 0;
      break;
    case 'align_corners':
      x = m > 1 ? (o * (n - 1)) / (m - 1) : 0;
      break;
    case 'asymmetric':
      x = o / k;
      break;
    default:
      return unsupported(
        cx,
        `coordinate_transformation_mode '${str(cx, 'coordinate_transformation_mode', '')}' is not supported`,
      );
  }
  let i: number;
  const frac = x - Math.floor(x);
  switch (cx.opset < 11 ? 'floor' : str(cx, 'nearest_mode', 'round_prefer_floor')) {
    case 'round_prefer_floor':
      i = frac === 0.5 ? Math.floor(x) : Math.round(x);
      break;
    case 'round_prefer_ceil':
      i = frac === 0.5 ? Math.ceil(x) : Math.round(x);
      break;
    case 'floor':
      i = Math.floor(x);
      break;
    case 'ceil':
      i = Math.ceil(x);
      break;
    default:
      return unsupported(cx, `nearest_mode '${str(cx, 'nearest_mode', '')}' is not supported`);
  }
  return Math.min(Math.max(i, 0), n - 1);
}

/** x resized to `sizes` with per-axis `scales` (the transform's k), axis by axis. */
function resizeNearest(cx: Cx, x: Operand, sizes: number[], scales: number[]): Operand[] {
  const mode = str(cx, 'mode', 'nearest');
  if (mode !== 'nearest') unsupported(cx, `mode '${mode}' is not supported (nearest is)`);
  const s = staticShape(cx, x, 'the input');
  let y = x;
  const axes = s.flatMap((n, i) => (sizes[i] !== n || scales[i] !== 1 ? [i] : []));
  axes.forEach((ax, j) => {
    const [n, m] = [s[ax]!, sizes[ax]!];
    reserveConst('i64', [m]); // the index list, before it is made
    const idx = Array.from({ length: m }, (_, o) => sourceIndex(cx, o, n, m, scales[ax]!));
    y = pick(cx, y, ax, idx, j === axes.length - 1 ? undefined : fresh(cx, `ax${ax}`));
  });
  return [y];
}

/** Scales (f32 constants) → output sizes ⌊n·scale⌋, as the operator defines them. */
function fromScales(cx: Cx, x: Operand, scales: number[]): number[] {
  const s = staticShape(cx, x, 'the input');
  if (scales.length !== s.length)
    unsupported(cx, `has ${scales.length} scales for rank ${s.length}`);
  return s.map((n, i) => Math.floor(n * scales[i]!));
}

export const RESIZE: Record<string, Converter> = {
  Resize: (ins, cx) => {
    const x = ins[0]!;
    const s = staticShape(cx, x, 'the input');
    // Opset 10: (X, scales); 11 on: (X, roi, scales, sizes), roi only for tf_crop_and_resize.
    const scalesAt = cx.opset < 11 ? 1 : 2;
    const scalesIn = ins[scalesAt];
    const sizesIn = cx.opset < 11 ? undefined : ins[3];
    if (attr(cx, 'axes')) unsupported(cx, 'with axes is not supported');
    if (str(cx, 'keep_aspect_ratio_policy', 'stretch') !== 'stretch')
      unsupported(
        cx,
        `keep_aspect_ratio_policy '${str(cx, 'keep_aspect_ratio_policy', '')}' is not supported`,
      );
    const sc = scalesIn ? Array.from(needConst(cx, ins, scalesAt, 'scales').data) : [];
    if (sc.length > 0) return resizeNearest(cx, x, fromScales(cx, x, sc), sc);
    if (!sizesIn) unsupported(cx, 'needs scales or sizes');
    const sizes = ints(needConst(cx, ins, 3, 'sizes'));
    if (sizes.length !== s.length)
      unsupported(cx, `has ${sizes.length} sizes for rank ${s.length}`);
    return resizeNearest(
      cx,
      x,
      sizes,
      sizes.map((m, i) => m / s[i]!),
    );
  },
  /** Upsample (opsets 7–9): Resize with asymmetric coordinates and floor rounding. */
  Upsample: (ins, cx) => {
    const x = ins[0]!;
    const a = attr(cx, 'scales');
    const sc =
      cx.opset < 9 && a ? (a.floats ?? []) : Array.from(needConst(cx, ins, 1, 'scales').data);
    // Resize's nearest at opsets before 11 is Upsample's rule (sourceIndex).
    return resizeNearest(cx, x, fromScales(cx, x, sc), sc);
  },
};
