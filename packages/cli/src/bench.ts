import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AttrError, UnsupportedError } from '@glimpse/ir';

/** The benchmark scripts of bench/, by name. */
export const BENCHES = {
  matmul: 'run.js',
  attention: 'attention.js',
  wgsl: 'wgsl.js',
  dump: 'dump.js',
  report: 'report.js',
  peers: 'peers/run.js',
  'peers-report': 'peers/report.js',
} as const;

/**
 * `glimpse bench [name...] [--quick]`: runs the benchmarks of a source checkout's bench/
 * (they are not part of the published CLI), each in its own process, printing as they go.
 * Returns the first non-zero exit status.
 */
export function benchCommand(names: string[], o: { quick?: boolean }): number {
  const dir = fileURLToPath(new URL('../../../bench/', import.meta.url));
  if (!existsSync(`${dir}harness.js`))
    throw new UnsupportedError(
      'the benchmarks run from a source checkout of glimpse (its bench/ folder): `pnpm bench` there',
    );
  const chosen =
    names.length > 0
      ? names
      : [
          'matmul',
          'attention',
          'wgsl',
          'dump',
          ...(o.quick ? [] : ['report', 'peers', 'peers-report']),
        ];
  for (const n of chosen)
    if (!Object.hasOwn(BENCHES, n))
      throw new AttrError(`unknown benchmark '${n}' (${Object.keys(BENCHES).join(', ')})`);
  for (const n of chosen) {
    const args = [
      `${dir}${BENCHES[n as keyof typeof BENCHES]}`,
      ...(o.quick && !n.endsWith('report') ? ['--quick'] : []),
    ];
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (r.status !== 0) return r.status ?? 1;
  }
  return 0;
}
