// Print vitest's totals as one plain closing line ("vitest: N passed, N failed, N skipped")
// from its JSON report, for CI logs that read the last line of a run.
import { readFileSync } from 'node:fs';

const r = JSON.parse(readFileSync(new URL('../test-output/vitest.json', import.meta.url), 'utf8'));
const skipped = r.numPendingTests + r.numTodoTests;
console.log(
  `vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`,
);
process.exitCode = r.numFailedTests === 0 && r.numTotalTests > 0 ? 0 : 1;
