/**
 * The size limits of the sources (each package's src, unit tests excluded), from the same census
 * `node scripts/census.mjs` prints: no function over 150 lines, no file over 500. Long
 * kernel emitters are split into named phases instead (docs/architecture.md).
 */
import { describe, expect, it } from 'vitest';
import { census } from '../scripts/census.mjs';

const { files, functions } = census();

describe('source size census', () => {
  it('reads the sources', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(functions.length).toBeGreaterThan(1000);
  });
  it('no function over 150 lines', () => {
    expect(
      functions.filter((f) => f.lines > 150).map((f) => `${f.name} (${f.file}): ${f.lines}`),
    ).toEqual([]);
  });
  it('no source file over 500 lines', () => {
    expect(files.filter((f) => f.lines > 500).map((f) => `${f.file}: ${f.lines}`)).toEqual([]);
  });
});
