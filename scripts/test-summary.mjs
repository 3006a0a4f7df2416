// Print vitest's totals as one plain closing line ("vitest: N passed, N failed, N skipped")
// from its JSON report, for CI logs that read the last line of a run — also when vitest
// failed or wrote no report at all.
import { existsSync, readFileSync } from 'node:fs';

const file = new URL('../test-output/vitest.json', import.meta.url);
if (!existsSync(file)) {
  console.log('vitest: no report (vitest did not finish), 0 passed, 1 failed');
  process.exitCode = 1;
} else {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(
    `vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`,
  );
  process.exitCode = r.numFailedTests === 0 && r.numTotalTests > 0 ? 0 : 1;
}
