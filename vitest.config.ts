import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { defineConfig } from 'vitest/config';

// WebGPU in Node (Dawn) reads the Vulkan driver choice from the real process environment,
// which worker threads do not get from their copy of process.env: set it here, in the main
// process. Without a GPU, SwiftShader from Debian's chromium is the adapter.
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER))
  process.env.VK_ICD_FILENAMES = SWIFTSHADER;
process.env.XDG_RUNTIME_DIR ??= tmpdir();

export default defineConfig({
  ssr: { resolve: { conditions: ['@glimpse/source', 'module', 'node', 'development|production'] } },
  test: {
    setupFiles: ['test/setup.ts'],
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
