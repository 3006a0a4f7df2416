/**
 * Every built-in model on WGSL, at -O0 and -O2, equals PyTorch and the JS backend
 * (test/f32-models.ts).
 */
import { defineModelSuite } from '../f32-models.js';
import { describeGpu } from './gpu.js';

defineModelSuite('wgsl', describeGpu);
