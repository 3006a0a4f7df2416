import type { AttentionStrides } from '@glimpse/ir';
import { argLayout } from '../args.js';

/** Query rows per block (one packed Q panel) and keys per tile. */
export const BR = 8;
export const BC = 128;

/** An operand's words: its base address and its lead, head and row strides (bytes). */
const operand = <const P extends string>(p: P) => [p, `${p}Lead`, `${p}Head`, `${p}Row`] as const;

/**
 * Words of an attention call (i32 byte offsets and strides but `scale`): the sizes T, S,
 * query heads Hq and query heads per kv head (`group`); the tasks' chunks of rows per head
 * and their rows; q, k, v, o; the mask (base, a table of its offset per lead, its head, row
 * and key strides); the causal offset; the threads' scratch; the score scale; the key
 * splits (split-K), keys per split, their partial results and the empty-row flags.
 */
export const ATTN = argLayout([
  'T',
  'S',
  'Hq',
  'group',
  'chunks',
  'chunkRows',
  ...operand('q'),
  ...operand('k'),
  ...operand('v'),
  ...operand('o'),
  'mask',
  'maskLead',
  'mH',
  'mT',
  'mS',
  'offset',
  'scratch',
  'scratchPerThread',
  ['scale', 'f32'],
  'splits',
  'splitKeys',
  'part',
  'flags',
]);

/** Operands with a base and strides in ATTN. */
export type Operand = 'q' | 'k' | 'v' | 'o';

/** An operand's words for `writeArgs`: its base, its strides (elements) in bytes. */
export const operandArgs = <P extends Operand>(p: P, base: number, st: AttentionStrides) =>
  ({
    [p]: base,
    [`${p}Lead`]: 4 * st[0],
    [`${p}Head`]: 4 * st[1],
    [`${p}Row`]: 4 * st[2],
  }) as Record<P | `${P}Lead` | `${P}Head` | `${P}Row`, number>;

/** What one node's attention function is specialised to (constants in its code). */
export interface Spec {
  dh: number;
  dv: number;
  mask: 'none' | 'bool' | 'additive';
  /** A causal mask whose hidden keys are -inf after the mask: blocks skip them. */
  causal: boolean;
  /** causal_fill other than -inf: the hidden keys' score before the mask (none skipped). */
  causalFill: number | undefined;
  softcap: number;
  fill: number;
  zeroRows: boolean;
  /** masked_rows=mask: a row whose every key is masked has weights 0. */
  byMask: boolean;
}

/** Floats of one split's partial result of a row: its max, its sum, open (1/0), acc[dv]. */
export const partFloats = (dv: number) => dv + 3;

export const up8 = (n: number) => Math.ceil(n / 8) * 8;

/** Scratch bytes one thread needs: packed Q, the scores/weights tile, the accumulator. */
export function scratchBytes(s: Spec): number {
  return s.dh * 32 + BC * 32 + BR * up8(s.dv) * 4;
}
