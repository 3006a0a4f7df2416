// The test command's last step: vitest (console and JSON reports), then one closing line
// "vitest: N passed, N failed, N skipped" — printed whatever the outcome, so a failing run
// ends with its totals too. Exits with vitest's status (or the summary's, if vitest passed).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

// A report from an earlier run must not stand in for this one.
rmSync(new URL('../test-output/vitest.json', import.meta.url), { force: true });

const vitest = spawnSync(
  'npx',
  [
    'vitest',
    'run',
    '--reporter=default',
    '--reporter=json',
    '--outputFile.json=test-output/vitest.json',
  ],
  { stdio: 'inherit' },
);
const summary = spawnSync(
  process.execPath,
  [new URL('./test-summary.mjs', import.meta.url).pathname],
  {
    stdio: 'inherit',
  },
);
process.exitCode = vitest.status !== 0 ? (vitest.status ?? 1) : (summary.status ?? 1);
