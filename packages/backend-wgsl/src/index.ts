export { compileWgsl, WgslExecutable, wgslBackend } from './executable.js';
export { declinesWgsl } from './legalize.js';
export { adapterDescription, gpuDevice, navigatorGpu, releaseGpu } from './device.js';
export { ShaderError, pipelineCount, pipelineFor } from './runtime.js';
export { KERNELS } from './kernels/index.js';
