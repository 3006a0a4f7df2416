import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { graphFromJSON, parseGraph, printGraph, readNpy } from '@glimpse/ir';
import { buildModel, MODEL_NAMES } from '@glimpse/models';
import { main } from './main.js';

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('glimpse CLI', () => {
  it('models lists every built-in model with its options and defaults', async () => {
    const r = await cli('models');
    expect(r.code).toBe(0);
    for (const m of MODEL_NAMES) expect(r.out).toContain(`${m}:`);
    expect(r.out).toContain('multi-head-attention:dim=64,heads=4');
  });

  it('dump prints the text IR; --format json gives the same graph', async () => {
    const t = await cli('dump', 'causal-self-attention:dim=16,heads=2');
    expect(t.code).toBe(0);
    const g = buildModel('causal-self-attention:dim=16,heads=2').graph;
    expect(t.out).toBe(printGraph(g));
    const j = await cli('dump', 'causal-self-attention:dim=16,heads=2', '--format', 'json');
    expect(printGraph(graphFromJSON(j.out))).toBe(t.out);
  });

  it('convert writes .glimpse and .json files that run like the model', async () => {
    const d = mkdtempSync(join(tmpdir(), 'glimpse-cli-'));
    for (const ext of ['glimpse', 'json']) {
      const f = join(d, `m.${ext}`);
      expect(
        (await cli('convert', 'transformer-block:dim=16,heads=2,hidden=32', '-o', f)).code,
      ).toBe(0);
      const g =
        ext === 'json'
          ? graphFromJSON(readFileSync(f, 'utf8'))
          : parseGraph(readFileSync(f, 'utf8'));
      expect(printGraph(g)).toBe(
        printGraph(buildModel('transformer-block:dim=16,heads=2,hidden=32').graph),
      );
      const a = await cli('run', f, '--shape', 'T=5', '--outputs', join(d, ext));
      const b = await cli(
        'run',
        'transformer-block:dim=16,heads=2,hidden=32',
        '--shape',
        'T=5',
        '--outputs',
        join(d, `b-${ext}`),
      );
      expect(a.out).toBe(b.out);
      expect(readNpy(readFileSync(join(d, ext, 'y.npy'))).data).toEqual(
        readNpy(readFileSync(join(d, `b-${ext}`, 'y.npy'))).data,
      );
    }
  });

  it('run binds symbols from --shape, seeds differ, --time reports timing and memory', async () => {
    const r = await cli('run', 'self-attention', '--shape', 'B=2,T=10', '--time');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^y: f32\[2,10,64\]/);
    expect(r.out).toMatch(
      /time \(wasm, \d+ threads\): compile [\d.]+ ms, first run [\d.]+ ms, run median [\d.]+ ms of \d+; planned peak/,
    );
    const s1 = await cli('run', 'self-attention', '--shape', 'T=3', '--seed', '1');
    const s2 = await cli('run', 'self-attention', '--shape', 'T=3', '--seed', '2');
    expect(s1.out).not.toBe(s2.out);
    expect((await cli('run', 'self-attention', '--shape', 'T=3', '--seed', '1')).out).toBe(s1.out);
  });

  it('--threads goes to the backend through compile(): checked there, refused where not taken', async () => {
    const m = ['self-attention:dim=8', '--shape', 'B=1,T=3'];
    const two = await cli('run', ...m, '--backend', 'wasm', '--threads', '2', '--time');
    expect(two.code).toBe(0);
    expect(two.out).toMatch(/time \(wasm, 2 threads\)/);
    const refused: [string[], string][] = [
      [
        ['run', ...m, '--backend', 'js', '--threads', '2'],
        "backend 'js' has no option 'threads' (it takes none)",
      ],
      [
        ['run', ...m, '--backend', 'wasm', '--threads', '0'],
        'wasm backend: threads must be an integer from 1 to 64, got 0',
      ],
      [
        ['run', ...m, '--backend', 'wasm', '--threads', '1.5'],
        'wasm backend: threads must be an integer from 1 to 64, got 1.5',
      ],
      [
        ['run', ...m, '--backend', 'wasm', '--threads', 'many'],
        "--threads takes a number, got 'many'",
      ],
      [
        ['bisect', ...m, '--backend', 'js', '--threads', '2'],
        "backend 'js' has no option 'threads' (it takes none)",
      ],
    ];
    for (const [argv, msg] of refused) {
      const r = await cli(...argv);
      expect(r.err, argv.join(' ')).toBe(`glimpse: error: ${msg}\n`);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
    }
    // bisect gives --threads to the side that takes it: here the wasm backend it compares with.
    const against = await cli(
      'bisect',
      ...m,
      '--backend',
      'js',
      '--against',
      'wasm',
      '--threads',
      '1',
    );
    expect(against.code).toBe(0);
  });

  it('bench names its benchmarks and refuses unknown ones', async () => {
    const r = await cli('bench', 'nope');
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      "glimpse: error: unknown benchmark 'nope' (matmul, attention, wgsl, dump, report, peers, peers-report)\n",
    );
  });
});
