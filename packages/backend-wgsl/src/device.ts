import { DeviceError } from '@glimpse/ir';

/**
 * WebGPU device acquisition: `navigator.gpu` in a browser; in Node the `webgpu` package
 * (Dawn). One device per process, shared by every executable.
 */

/**
 * The Node GPU object. It must stay referenced for the life of the module: if it is
 * garbage-collected while a device is alive, Dawn aborts or hangs in its event loop.
 */
let nodeGpu: GPU | undefined;
let pending: Promise<GPUDevice> | undefined;
let current: GPUDevice | undefined;
/** Devices destroyed by releaseGpu or lost by the driver. */
const dead = new WeakSet<GPUDevice>();

/** Debian's chromium ships SwiftShader's Vulkan driver: a software adapter on machines with no GPU. */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const HOW_TO =
  'on a machine without a GPU install Debian packages `chromium` and `libvulkan1` (SwiftShader), ' +
  `and set VK_ICD_FILENAMES=${SWIFTSHADER_ICD} and XDG_RUNTIME_DIR`;

async function nodeNavigatorGpu(): Promise<GPU> {
  if (nodeGpu) return nodeGpu;
  const fs = await import('node:fs');
  const os = await import('node:os');
  // Without a Vulkan driver choice the loader may pick one Dawn refuses (Mesa's lavapipe).
  // Where there is no GPU device node at all, default to SwiftShader if it is installed;
  // an explicit VK_ICD_FILENAMES always wins.
  const hasGpuNode =
    fs.existsSync('/dev/nvidia0') ||
    (fs.existsSync('/dev/dri') && fs.readdirSync('/dev/dri').some((f) => f.startsWith('render')));
  if (!process.env.VK_ICD_FILENAMES && !hasGpuNode && fs.existsSync(SWIFTSHADER_ICD))
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  process.env.XDG_RUNTIME_DIR ??= os.tmpdir();
  if (process.platform === 'linux') {
    const problem = vulkanProblem(fs);
    if (problem) throw new DeviceError(`no WebGPU adapter found: ${problem}; ${HOW_TO}`);
  }
  let mod: { create(options: string[]): GPU; globals: object };
  try {
    mod = (await import('webgpu')) as typeof mod;
  } catch (e) {
    throw new DeviceError(
      `the 'webgpu' package could not be loaded (${(e as Error).message.split('\n')[0]}); ${HOW_TO}`,
    );
  }
  Object.assign(globalThis, mod.globals);
  nodeGpu = mod.create([]);
  return nodeGpu;
}

/**
 * On Linux, Dawn needs the Vulkan loader and a driver manifest. Checked before loading it:
 * without them the loader and Dawn write several lines of warnings to stderr before
 * reporting no adapter, where one clear error is wanted.
 */
function vulkanProblem(fs: typeof import('node:fs')): string | undefined {
  const libDirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/lib/x86_64-linux-gnu',
    '/lib64',
  ];
  if (!libDirs.some((d) => fs.existsSync(`${d}/libvulkan.so.1`)))
    return 'the Vulkan loader libvulkan.so.1 is not installed';
  const given = process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES;
  if (given) {
    const missing = given.split(':').filter((f) => f && !fs.existsSync(f));
    if (missing.length > 0) return `Vulkan driver manifest ${missing.join(', ')} does not exist`;
    return undefined;
  }
  const icdDirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
  if (!icdDirs.some((d) => fs.existsSync(d) && fs.readdirSync(d).some((f) => f.endsWith('.json'))))
    return 'no Vulkan driver is installed';
  return undefined;
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/**
 * The GPU object glimpse acquires its device from: `navigator.gpu`, or in Node Dawn's (the
 * `webgpu` package, SwiftShader where there is no GPU). Other WebGPU libraries in the same
 * process can be given it (as `navigator.gpu`) to share the adapter; undefined where there
 * is none.
 */
export async function navigatorGpu(): Promise<GPU | undefined> {
  return typeof navigator !== 'undefined' && (navigator as Navigator).gpu
    ? (navigator as Navigator).gpu
    : isNode()
      ? await nodeNavigatorGpu()
      : undefined;
}

async function acquire(): Promise<GPUDevice> {
  const gpu = await navigatorGpu();
  if (!gpu)
    throw new DeviceError(
      'WebGPU is not available here (navigator.gpu is undefined: it needs a secure context and a browser with WebGPU enabled)',
    );
  const adapter = await gpu.requestAdapter();
  if (!adapter)
    throw new DeviceError(
      `no WebGPU adapter found${isNode() ? `; ${HOW_TO}` : ' (is WebGPU enabled in this browser?)'}`,
    );
  // Ask for the adapter's own storage limits: the defaults (128 MiB per binding) are far
  // below what long-context graphs need on real GPUs.
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  });
  void device.lost.then(() => {
    dead.add(device);
    if (current === device) {
      current = undefined;
      pending = undefined;
    }
  });
  current = device;
  return device;
}

/** The process's WebGPU device, acquired on first use. Throws DeviceError when there is none. */
export function gpuDevice(): Promise<GPUDevice> {
  if (!pending) {
    pending = acquire();
    pending.catch(() => (pending = undefined));
  }
  return pending;
}

/** A short description of the adapter in use (for `--time` output and benchmark records). */
export async function adapterDescription(): Promise<string> {
  const d = await gpuDevice();
  const info = (d as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : '';
}

/**
 * Destroy the device so that a Node process can exit (Dawn keeps the event loop alive while
 * a device exists). Executables made before it cannot run afterwards (their runs fail with
 * a DeviceError); a new compile acquires a fresh device.
 */
export function releaseGpu(): void {
  if (current) dead.add(current);
  current?.destroy();
  current = undefined;
  pending = undefined;
  // The GPU object itself stays referenced (see nodeGpu): with no device alive it does not
  // keep the process running.
}

/** Throws a DeviceError when `device` was released or lost (its executables cannot run). */
export function checkLive(device: GPUDevice): void {
  if (dead.has(device))
    throw new DeviceError(
      'the WebGPU device of this executable was released or lost; compile again',
    );
}
