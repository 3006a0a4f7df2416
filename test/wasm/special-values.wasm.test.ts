/**
 * The special-value differential tests on the WebAssembly backend (test/f32-special.ts):
 * its kernels compute in f32 with their own exp, tanh and GELU, its constants live in its
 * memory as bit patterns; every level and pass ≡ the graph as written on wasm.
 */
import { WasmExecutable } from '@glimpse/backend-wasm';
import { defineSpecialSuite } from '../f32-special.js';

defineSpecialSuite('wasm', async (g) => new WasmExecutable(g, { threads: 1 }));
