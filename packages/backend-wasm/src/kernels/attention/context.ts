import type { Code, Local } from '@glimpse/asm';
import type { Spec } from './spec.js';

/**
 * What the phases of one attention function share: its code, spec, argument reader, the
 * shared functions it calls and its locals. Pairs ([0], [1]) are the two vectors of a
 * block's 8 rows: rows 0–3 and 4–7, one lane each.
 */
export interface Attn {
  readonly c: Code;
  readonly s: Spec;
  /** Pushes word `w` of the argument block (ATTN). */
  readonly arg: (w: number) => Code;
  readonly args: Local;
  readonly micro: number[][];
  readonly vexp: number;
  readonly vexp2: number;
  /** Bytes of an accumulator row: dv rounded up to whole micro-kernel panels. */
  readonly accRow: number;
  // Task: its split, tile (task / splits), head index over leads (hh), lead, head, kv head,
  // rows [r0, r1).
  readonly task: Local;
  readonly thread: Local;
  readonly sp: Local;
  readonly tk: Local;
  readonly hh: Local;
  readonly l: Local;
  readonly h: Local;
  readonly hk: Local;
  readonly r0: Local;
  readonly r1: Local;
  readonly T: Local;
  readonly S: Local;
  /** Base addresses of this head's q, k, v, o and mask; this thread's scratch. */
  readonly qb: Local;
  readonly kb: Local;
  readonly vb: Local;
  readonly ob: Local;
  readonly mb: Local;
  /** Packed Q, the Sᵀ tile (scores, then weights), the accumulator: this thread's scratch. */
  readonly qp: Local;
  readonly st: Local;
  readonly acc: Local;
  // Block: first row, rows; keys it sees (its split's [ks0, jEnd)); tile start and keys.
  readonly i0: Local;
  readonly nrows: Local;
  readonly ks0: Local;
  readonly jEnd: Local;
  readonly j0: Local;
  readonly bc: Local;
  /** Loop counters and a micro-kernel call's rows and columns. */
  readonly jj: Local;
  readonly t: Local;
  readonly cc: Local;
  readonly mr: Local;
  readonly nr: Local;
  /** A finished row: whether it is empty, its partial result's address. */
  readonly empty: Local;
  readonly rec: Local;
  /** The running max and sum of each row, the tile's max (then m_use), the rescale α. */
  readonly ms: readonly [Local, Local];
  readonly ll: readonly [Local, Local];
  readonly tm: readonly [Local, Local];
  readonly al: readonly [Local, Local];
  /** Scratch vectors; ps also holds the tile's row sums. */
  readonly v0: Local;
  readonly v1: Local;
  readonly ps: readonly [Local, Local];
  readonly scale: Local;
  /** Keys the masks leave visible (masked_rows=mask), for the current key. */
  readonly vis: Local;
  /** Rows of the block with a key the masks leave visible (masked_rows=mask), as lanes. */
  readonly open: readonly [Local, Local];
  /** Row indices of the block's lanes. */
  readonly rowIdx: readonly [Local, Local];
}
