/**
 * Loaded with `node --import` into a CLI child process by test/memory-budget.test.ts: at
 * exit it writes the process's peak resident memory (KiB, `resourceUsage().maxRSS`) to
 * the file RSS_PROBE_OUT names. Test code only; the CLI never reads that variable.
 */
import { writeFileSync } from 'node:fs';

const out = process.env.RSS_PROBE_OUT;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS)));
