export { WasmExecutable, wasmBackend, defaultThreads } from './executable.js';
export type { WasmOptions } from './executable.js';
export { keySplits } from './kernels/attention.js';
