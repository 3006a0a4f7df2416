/** Axes and index lists ONNX's shape ops take: axes inputs, reshape targets, slice steps, pads. */
import type { Dim } from '@glimpse/ir';
import { normAxis } from '@glimpse/ir';
import type { Operand } from '../operand.js';
import { constOf, ints } from '../operand.js';

import { attrInts, emit, needConst, out, unsupported } from './context.js';
import type { Cx } from './context.js';

export function axesOf(
  cx: Cx,
  ins: readonly (Operand | undefined)[],
  i: number,
  rank: number,
): number[] | undefined {
  const fromAttr = attrInts(cx, 'axes');
  const raw = ins[i] ? ints(needConst(cx, ins, i, 'axes')) : fromAttr;
  if (raw === undefined) return undefined;
  return raw.map((a) => {
    const n = normAxis(a, rank);
    if (n === undefined) unsupported(cx, `axis ${a} out of range for rank ${rank}`);
    return n;
  });
}

/** Reshape to a target (numbers and the input's own symbols), or fold for constants. */
export function reshapeTo(cx: Cx, x: Operand, target: readonly Dim[], name = out(cx)): Operand {
  return emit(cx, 'reshape', [x], { shape: target }, name);
}

/** The elements of `axis` at `indices` (a gather with constant indices: strides, pads). */
export function pick(
  cx: Cx,
  x: Operand,
  axis: number,
  indices: readonly number[],
  name = out(cx),
): Operand {
  return emit(cx, 'gather', [x, constOf('i64', [indices.length], indices)], { axis }, name);
}

/** ONNX Slice's indices for a step other than 1 (negative steps walk backwards). */
export function steppedIndices(d: number, start: number, end: number, step: number): number[] {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const norm = (v: number) => (v < 0 ? v + d : v);
  const [s, e] =
    step > 0
      ? [clamp(norm(start), 0, d), clamp(norm(end), 0, d)]
      : [clamp(norm(start), 0, d - 1), clamp(norm(end), -1, d - 1)];
  const out: number[] = [];
  for (let i = s; step > 0 ? i < e : i > e; i += step) out.push(i);
  return out;
}

/**
 * ONNX Pad along one axis of static size d by (before, after), either negative (a crop):
 * the source index of each output position for the modes that copy (edge, reflect, wrap).
 */
export function padIndices(mode: string, d: number, before: number, after: number): number[] {
  return Array.from({ length: d + before + after }, (_, i) => {
    const j = i - before;
    if (mode === 'edge') return Math.min(Math.max(j, 0), d - 1);
    if (mode === 'wrap') return ((j % d) + d) % d;
    if (d === 1) return 0; // reflect
    const p = 2 * (d - 1);
    const r = ((j % p) + p) % p;
    return r < d ? r : p - r;
  });
}
