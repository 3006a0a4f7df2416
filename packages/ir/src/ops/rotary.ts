import type { Dim } from '../shape.js';
import { broadcastShapes, broadcastStrides, numel, sameShape, stridesOf } from '../shape.js';
import type { TensorType } from '../types.js';
import { defineOp, fail, FLOATS } from './define.js';

export interface RotaryAttrs {
  /** Pairs (x[i], x[i + 1]) for even i (GPT-J) instead of (x[i], x[i + R/2]) (rotate-half: Llama, GPT-NeoX). */
  interleaved: boolean;
  /** Features rotated, R (even); the rest pass unchanged. 0: the whole last axis. */
  rotary_dim: number;
}

/** R of a node whose feature axis has d elements. */
export const rotaryDim = (a: RotaryAttrs, d: number) => a.rotary_dim || d;

/**
 * Rotary position embedding over the last axis of x [..., d] with the angles' cosines and
 * sines at full width — cos, sin broadcast to [..., R] (as HF's cat(freqs, freqs) gives
 * them; a cache of R/2 is widened at import) — so that the op is exactly the graph
 * exporters write, whatever cos and sin hold: out[i] = x[i]·cos[i] + (−x[i + R/2])·sin[i]
 * for i < R/2, out[i] = x[i]·cos[i] + x[i − R/2]·sin[i] for R/2 ≤ i < R (interleaved: the
 * partner of an even i is i + 1, of an odd i is i − 1), out[i] = x[i] for i ≥ R. Each
 * product and the sum round to the dtype in that order.
 */
export const rotary = defineOp<RotaryAttrs>({
  name: 'rotary',
  doc: 'rotary position embedding over the last axis of x [..., d] with cos, sin broadcast to [..., R] (full width): out[i] = x[i]·cos[i] + (−x[i+R/2])·sin[i] for i < R/2, x[i]·cos[i] + x[i−R/2]·sin[i] for R/2 ≤ i < R (interleaved: partners 2j, 2j+1), x[i] past R; each product and the sum rounded to the dtype in that order',
  inputs: [
    { name: 'x', dtypes: FLOATS },
    { name: 'cos', dtypes: FLOATS },
    { name: 'sin', dtypes: FLOATS },
  ],
  attrs: {
    interleaved: {
      kind: 'bool',
      default: false,
      doc: 'partners x[2j], x[2j+1] (GPT-J) instead of x[i], x[i+R/2] (rotate-half: Llama, GPT-NeoX)',
    },
    rotary_dim: {
      kind: 'int',
      default: 0,
      doc: 'R, the features rotated (even; the rest pass unchanged); 0: all of the last axis',
    },
  },
  infer: (inputs, a) => {
    const [x, cos, sin] = inputs as [TensorType, TensorType, TensorType];
    if (x.shape.length < 1) fail('x must have a feature axis', inputs);
    if (cos.dtype !== x.dtype || sin.dtype !== x.dtype)
      fail('x, cos and sin differ in dtype', inputs);
    const d = x.shape.at(-1)!;
    if (typeof d !== 'number') fail(`the feature axis must have a known size, not ${d}`, inputs);
    const R = rotaryDim(a, d);
    if (!(R > 0 && R % 2 === 0 && R <= d))
      fail(`rotary_dim ${R} must be even, positive and at most the ${d} features`, inputs);
    const angles: Dim[] = [...x.shape.slice(0, -1), R];
    for (const t of [cos, sin]) {
      const b = broadcastShapes([t.shape, angles]);
      if (typeof b === 'string' || !sameShape(b, angles))
        fail(`cos and sin must broadcast to [${angles.join(',')}]`, inputs);
    }
    return [x];
  },
  traits: {
    category: 'elementwise',
    fused: true,
    flops: (i, _o, a) => {
      const x = i[0]!;
      return 3 * numel(x.slice(0, -1)) * rotaryDim(a, x.at(-1)!);
    },
  },
});

/** A strided view: element offset of coordinate 0 and a stride per iteration axis. */
export interface RotaryView {
  readonly base: number;
  readonly strides: readonly number[];
}

/**
 * One run of a rotary node: over `shape`, out = x·cos + sign·partner·sin (each operand a
 * view, the output too); a copy when `cos` is absent (the features past R).
 */
export interface RotaryPiece {
  readonly shape: readonly number[];
  readonly x: RotaryView;
  readonly out: RotaryView;
  readonly rotate?: {
    readonly partner: RotaryView;
    readonly sign: 1 | -1;
    readonly cos: RotaryView;
    readonly sin: RotaryView;
  };
}

/**
 * A rotary node under concrete shapes as strided runs — the rotated first and second
 * members of each pair, then the features past R — the one decoding of the op's layout
 * that the reference and every backend's kernel read.
 */
export function rotaryPieces(
  xShape: readonly number[],
  cosShape: readonly number[],
  sinShape: readonly number[],
  a: RotaryAttrs,
): RotaryPiece[] {
  const lead = xShape.slice(0, -1);
  const d = xShape.at(-1)!;
  const R = rotaryDim(a, d);
  const half = R / 2;
  const xs = stridesOf(xShape as number[]);
  const leadSt = xs.slice(0, -1);
  // Along the pairs: pair j's first member is feature j (rotate-half) or 2j (interleaved).
  const [step, second] = a.interleaved ? [2, 1] : [1, half];
  const angle = (shape: readonly number[], at: number): RotaryView => {
    const st = broadcastStrides(shape as number[], [...lead, R]);
    return { base: st.at(-1)! * at, strides: [...st.slice(0, -1), st.at(-1)! * step] };
  };
  const view = (at: number): RotaryView => ({ base: at, strides: [...leadSt, step] });
  const shape = [...lead, half];
  const member = (at: number, partner: number, sign: 1 | -1): RotaryPiece => ({
    shape,
    x: view(at),
    out: view(at),
    rotate: { partner: view(partner), sign, cos: angle(cosShape, at), sin: angle(sinShape, at) },
  });
  const pieces = [member(0, second, -1), member(second, 0, 1)];
  if (R < d) {
    const rest = { base: R, strides: [...leadSt, 1] };
    pieces.push({ shape: [...lead, d - R], x: rest, out: rest });
  }
  return pieces;
}
