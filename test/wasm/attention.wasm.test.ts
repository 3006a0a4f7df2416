/**
 * Fused attention on the WebAssembly backend (test/f32-attention.ts), on one thread (test/wasm/threads.wasm.test.ts holds 2 threads to it):
 * random attention graphs fuse and equal their unfused form on wasm under the precision
 * contract; ops sized around the wasm kernel's 8-row blocks and 128-key tiles.
 */
import { WasmExecutable } from '@glimpse/backend-wasm';
import { defineAttentionSuite } from '../f32-attention.js';

defineAttentionSuite('wasm', async (g) => new WasmExecutable(g, { threads: 1 }));
