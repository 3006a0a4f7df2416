export { compileJs, JsExecutable } from './executable.js';
export type { InputValue, RunOptions } from './executable.js';
export { planMemory } from './memory.js';
export type { MemoryPlan, PlanValue } from './memory.js';
export { KERNELS } from './kernels/index.js';
export { gemm } from './kernels/gemm.js';
export { Scratch } from './kernels/scratch.js';
export { normalizeInputs } from './executable.js';
export { fromStorage, storageOf, toStorage } from './storage.js';
