import { DeviceError } from '@glimpse/ir';
import type { ErrorWhere } from '@glimpse/ir';

/** A shader the WebGPU implementation rejected: its text and the compiler's messages. */
export class ShaderError extends DeviceError {
  constructor(
    detail: string,
    where: ErrorWhere,
    readonly wgsl: string,
    readonly messages: readonly string[],
  ) {
    super(detail, where);
  }
}

const pipelines = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

/**
 * The compute pipeline for a shader, cached by its text: kernels keep shapes out of the
 * text, so every binding of the symbols (every T) shares one pipeline.
 */
export function pipelineFor(
  device: GPUDevice,
  wgsl: string,
  where: ErrorWhere,
): Promise<GPUComputePipeline> {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, (cache = new Map()));
  let p = cache.get(wgsl);
  if (!p) {
    p = createPipeline(device, wgsl, where);
    cache.set(wgsl, p);
    p.catch(() => cache.delete(wgsl));
  }
  return p;
}

async function createPipeline(
  device: GPUDevice,
  wgsl: string,
  where: ErrorWhere,
): Promise<GPUComputePipeline> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: wgsl });
  const info = await module.getCompilationInfo();
  const scopeError = await device.popErrorScope();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length > 0 || scopeError) {
    const lines = wgsl.split('\n');
    const messages = errors.map((m) => `line ${m.lineNum}:${m.linePos}: ${m.message}`);
    const first = errors[0];
    const src = first ? ` (\`${lines[first.lineNum - 1]?.trim() ?? ''}\`)` : '';
    throw new ShaderError(
      `WGSL shader failed to compile: ${messages[0] ?? scopeError!.message}${src}`,
      where,
      wgsl,
      messages.length > 0 ? messages : [scopeError!.message],
    );
  }
  try {
    return await device.createComputePipelineAsync({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
  } catch (e) {
    throw new ShaderError(`WGSL pipeline creation failed: ${(e as Error).message}`, where, wgsl, [
      (e as Error).message,
    ]);
  }
}

/** A linear workgroup count as an x·y grid within the per-dimension limit. */
export function grid(n: number, maxPerDim: number): [number, number] {
  if (n <= maxPerDim) return [n, 1];
  const y = Math.ceil(n / maxPerDim);
  if (y > maxPerDim)
    throw new DeviceError(`a dispatch of ${n} workgroups exceeds the device's ${maxPerDim}² grid`);
  return [Math.ceil(n / y), y];
}

/** How many pipelines the device's cache holds (for tests and `--time` reports). */
export function pipelineCount(device: GPUDevice): number {
  return pipelines.get(device)?.size ?? 0;
}
