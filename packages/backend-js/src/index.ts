export { compileJs, JsExecutable, jsBackend } from './executable.js';
export { KERNELS } from './kernels/index.js';
export { gemm } from './kernels/gemm.js';
export { Scratch } from './kernels/scratch.js';
