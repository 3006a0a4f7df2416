import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy } from '@glimpse/ir';
import { FIXTURE_MODELS, runFixture } from './cli.js';
import { assertClose } from './helpers.js';

/**
 * Every built-in model on an f32 backend, at -O0 and -O2, equals PyTorch (the committed
 * fixtures, through `glimpse run --backend B --check`, docs/design.md's default tolerances)
 * and the JS backend (both runs' outputs written with --outputs and compared within F32_TOL).
 */
export function defineModelSuite(
  backend: string,
  describeFn: typeof describe | typeof describe.skip = describe,
) {
  describeFn(`built-in models on ${backend} ≡ PyTorch and ≡ the JS backend`, () => {
    for (const name of Object.keys(FIXTURE_MODELS))
      for (const level of ['0', '2']) {
        it(`${name} at -O${level}`, async () => {
          const out = mkdtempSync(join(tmpdir(), `glimpse-${backend}-`));
          const run = (backend: string) =>
            runFixture(
              name,
              '--backend',
              backend,
              '--level',
              level,
              '--outputs',
              join(out, backend),
            );
          const w = await run(backend);
          expect(w.err).toBe('');
          expect(w.out).toMatch(/^y: max abs err .*, ok$/m);
          expect(w.code).toBe(0);
          expect((await run('js')).code).toBe(0);
          const read = (b: string) => readNpy(readFileSync(join(out, b, 'y.npy')));
          const [js, got] = [read('js'), read(backend)];
          assertClose(
            { dtype: 'f32', shape: got.shape, data: got.data as Float32Array },
            { dtype: 'f32', shape: js.shape, data: Float64Array.from(js.data as Float32Array) },
            undefined,
            `${backend} vs js`,
            10,
          );
        });
      }
  });
}
