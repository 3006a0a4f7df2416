/**
 * The special-value differential tests (test/special-values.property.test.ts) on WGSL:
 * every level, and for the hand-written graphs every pass alone, ≡ the graph as written on
 * the same backend (test/special.ts says exactly what that means). WGSL computes in f32 and
 * writes NaN, ±inf and −0 constants as bit patterns, so this is where a literal that lost
 * its sign or a fused program that reordered a product would show.
 */
import { compileWgsl } from '@glimpse/backend-wgsl';
import { defineSpecialSuite } from '../f32-special.js';
import { describeGpu } from './gpu.js';

defineSpecialSuite('wgsl', compileWgsl, describeGpu);
