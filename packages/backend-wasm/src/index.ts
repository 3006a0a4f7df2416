export { WasmExecutable, wasmBackend, defaultThreads } from './executable.js';
