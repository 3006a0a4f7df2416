import type { Pass } from './pass.js';
import { canonicalize } from './passes/canonicalize.js';
import { foldScale } from './passes/fold-scale.js';
import { fuseAttention } from './passes/fuse-attention.js';
import { fuseElementwise } from './passes/fuse-elementwise.js';
import { fuseNorm } from './passes/fuse-norm.js';
import { fuseRotary } from './passes/fuse-rotary.js';
import { gqaRows } from './passes/gqa-rows.js';
import { sinkLayout } from './passes/sink-layout.js';
import { constantFolding, cse, dce, foldTranspose, fuseQkvProjection } from './passes/simple.js';

/** Every pass by its command-line name. */
export const PASSES: Readonly<Record<string, Pass>> = Object.fromEntries(
  [
    canonicalize,
    constantFolding,
    cse,
    dce,
    fuseAttention,
    fuseElementwise,
    fuseNorm,
    fuseQkvProjection,
    fuseRotary,
    foldScale,
    foldTranspose,
    gqaRows,
    sinkLayout,
  ].map((p) => [p.name, p]),
);

/** -O0: the graph as written. -O1: clean-ups that keep every op. -O2: fusion and layout. */
export const PIPELINES: Readonly<Record<0 | 1 | 2, readonly Pass[]>> = {
  0: [],
  1: [canonicalize, constantFolding, cse, dce],
  2: [
    // First: canonicalize moves a formula's scales past the reshapes after it.
    fuseNorm,
    canonicalize,
    constantFolding,
    // Folded constants may open more canonical forms (a guard on a now-constant condition).
    canonicalize,
    cse,
    // On the canonical forms: Neg and ·(−1) are both scale[factor=-1] by now.
    fuseRotary,
    fuseAttention,
    canonicalize,
    fuseQkvProjection,
    foldScale,
    foldTranspose,
    // After the layout is settled: the rows it makes read in that layout.
    gqaRows,
    canonicalize,
    fuseElementwise,
    // Conversions between layouts meet across the fused programs, and cancel.
    sinkLayout,
    canonicalize,
    fuseElementwise,
    constantFolding,
    cse,
    dce,
  ],
};
