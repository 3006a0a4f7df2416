// What the test command needs from the system, checked (and installed when run as root) before
// the tests: Debian's chromium (the headless browser tests, and SwiftShader, the software
// Vulkan driver that WebGPU runs on where there is no GPU) and libvulkan1 (the Vulkan loader
// Dawn opens). Not root and something missing: one message naming the packages, exit 1.
// GLIMPSE_SKIP_WEBGPU=1 skips the WebGPU tests (with a warning) and this check's part for them.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const skipGpu = process.env.GLIMPSE_SKIP_WEBGPU === '1';
const libvulkan = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1',
];
const missing = [];
if (!existsSync('/usr/bin/chromium')) missing.push('chromium');
if (!skipGpu && !libvulkan.some((p) => existsSync(p))) missing.push('libvulkan1');
if (missing.length > 0) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.error(
      `the tests need Debian packages ${missing.join(' and ')}: run 'apt-get install -y ${missing.join(' ')}' as root` +
        (missing.includes('libvulkan1')
          ? ' (or set GLIMPSE_SKIP_WEBGPU=1 to skip the WebGPU tests)'
          : ''),
    );
    process.exit(1);
  }
  console.log(`installing ${missing.join(', ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
}
if (skipGpu) console.warn('WARNING: GLIMPSE_SKIP_WEBGPU=1: the WebGPU tests will be skipped');
