export { compileWgsl, WgslExecutable } from './executable.js';
export { adapterDescription, gpuDevice, navigatorGpu, releaseGpu } from './device.js';
export { ShaderError, pipelineCount, pipelineFor } from './runtime.js';
export { KERNELS } from './kernels/index.js';
