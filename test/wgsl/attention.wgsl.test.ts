/**
 * Fused attention on WGSL (test/f32-attention.ts): random attention graphs fuse and equal
 * their unfused form on WGSL under the precision contract; ops sized around the WGSL
 * kernel's tiles (decode T ≤ 4 with split-K, 64-row prefill tiles).
 */
import { compileWgsl } from '@glimpse/backend-wgsl';
import { defineAttentionSuite } from '../f32-attention.js';
import { describeGpu } from './gpu.js';

defineAttentionSuite('wgsl', compileWgsl, describeGpu);
