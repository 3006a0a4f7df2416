#!/usr/bin/env node
import { main, releaseGpu } from '../dist/index.js';

// `glimpse models | head` closes the pipe early; that is not an error.
process.stdout.on('error', (e) => process.exit(e.code === 'EPIPE' ? 0 : 1));
process.exitCode = await main(process.argv.slice(2));
// Dawn keeps a Node process alive while a WebGPU device exists (`--backend wgsl`).
releaseGpu();
