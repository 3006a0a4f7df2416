/**
 * Every op on the WebAssembly backend equals the float64 reference: the same random cases
 * as the other backends' op tests (size-1 dims, broadcasts, sizes that divide no tile,
 * special values), on one thread here; test/wasm/threads.wasm.test.ts runs the kernels
 * that split work over real worker threads.
 */
import { WasmExecutable } from '@glimpse/backend-wasm';
import { defineOpSuite } from '../f32-ops.js';

defineOpSuite('wasm', async (g) => new WasmExecutable(g, { threads: 1 }));
