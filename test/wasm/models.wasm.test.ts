/**
 * Every built-in model on the WebAssembly backend (default threads: the cores), at -O0 and
 * -O2, equals PyTorch and the JS backend (test/f32-models.ts).
 */
import { defineModelSuite } from '../f32-models.js';

defineModelSuite('wasm');
