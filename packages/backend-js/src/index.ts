export { compileJs, JsExecutable, jsBackend } from './executable.js';
export { gemm, KERNELS, Scratch } from '@glimpse/kernels-cpu';
