/**
 * A hostile file costs nothing: sizes that come from a file are checked against one memory
 * budget before anything is allocated, and a model, weights or input path must be a
 * regular file. Each case is a file of a few hundred bytes that asked for gigabytes (or a
 * link to /dev/zero, a FIFO); run as users run it — the built CLI in a child process — it
 * is refused with one line in well under 30 s, and the child's peak RSS stays under
 * 1.5 GB. The sizes are refused under `--max-memory 1GiB`, so that the outcome does
 * not depend on the memory of the machine the test runs on (the default is a quarter of
 * it); one case is past any machine's default.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildGraph,
  defaultMemoryBudget,
  GlimpseError,
  memoryBudget,
  parseBytes,
  setMemoryBudget,
  toNumbers,
  writeNpy,
} from '@glimpse/ir';
import { importOnnx } from '@glimpse/onnx';
import { compile, randomInputs } from 'glimpse';
import { BIN, ROOT } from './cli.js';
import { model } from './onnx/ort-model.js';

const dir = mkdtempSync(join(tmpdir(), 'budget-'));
const file = (name: string, body: string | Uint8Array) => {
  const f = join(dir, name);
  writeFileSync(f, body);
  return f;
};

/** The built CLI in a child process: its streams, exit code, wall time and peak RSS (bytes). */
function probe(...argv: string[]) {
  const rss = join(dir, `rss-${Math.random().toString(36).slice(2)}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', `${ROOT}test/rss-probe.mjs`, BIN, ...argv], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, RSS_PROBE_OUT: rss, GLIMPSE_MAX_MEMORY: '' },
  });
  const seconds = (Date.now() - t0) / 1000;
  const peak = Number(readFileSync(rss, 'utf8')) * 1024;
  return { code: r.status, out: r.stdout, err: r.stderr, seconds, peak };
}

/** Refused: exit 2, one `glimpse: error:` line matching `pattern`, quickly, RSS bounded. */
function expectRefused(r: ReturnType<typeof probe>, pattern: RegExp) {
  expect(r.code, r.err).toBe(2);
  expect(r.out).toBe('');
  expect(r.err).toMatch(/^glimpse: error: [^\n]+\n$/);
  expect(r.err).toMatch(pattern);
  expect(r.seconds).toBeLessThan(30);
  expect(r.peak).toBeLessThan(1.5e9);
}

const f32 = (name: string, shape: number[]) => ({ name, dtype: 'f32' as const, shape });
const y = [{ name: 'y', dtype: 'f32' as const }];
/** ConstantOfShape of `dims` (an int64 initializer), into Add with an input x [1] when `add`. */
const constantOfShape = (dims: number[], add = false) =>
  model(
    17,
    add ? [f32('x', [1])] : [],
    [
      { opType: 'ConstantOfShape', name: 'c', input: ['s'], output: [add ? 'z' : 'y'] },
      ...(add ? [{ opType: 'Add', name: 'a', input: ['x', 'z'], output: ['y'] }] : []),
    ],
    y,
    [{ name: 's', dtype: 'i64', shape: [dims.length], v: dims }],
  );

const GiB1 = ['--max-memory', '1GiB'];

describe('a file that asks for gigabytes is refused before they are allocated', () => {
  it('ConstantOfShape of 2³¹ elements (a 100-byte file): run, names file, node, op, shape and bytes', () => {
    const f = file('cos31.onnx', constantOfShape([2 ** 31], true));
    expect(readFileSync(f).length).toBeLessThan(200);
    const r = probe('run', f, ...GiB1);
    expectRefused(
      r,
      /cos31\.onnx, node %c \(ConstantOfShape\): the constant f32\[2147483648\] .*needs 16\.00 GiB, more than the memory budget of 1\.00 GiB/,
    );
  });

  it('ConstantOfShape [20000, 20000] under dump', () => {
    const r = probe('dump', file('cos20k.onnx', constantOfShape([20000, 20000])), ...GiB1);
    expectRefused(r, /node %c \(ConstantOfShape\): the constant f32\[20000,20000\] .*2\.98 GiB/);
  });

  it('Pad by 10⁸', () => {
    const f = file(
      'pad.onnx',
      model(
        17,
        [f32('x', [2, 3])],
        [{ opType: 'Pad', name: 'p', input: ['x', 'pads'], output: ['y'] }],
        y,
        [{ name: 'pads', dtype: 'i64', shape: [4], v: [1e8, 0, 0, 0] }],
      ),
    );
    expectRefused(probe('run', f, ...GiB1), /node %p \(Pad\): the constant f32\[100000000,3\]/);
  });

  it("Pad by 10⁸ in mode 'edge' (an index list at import)", () => {
    const f = file(
      'pad-edge.onnx',
      model(
        17,
        [f32('x', [2, 3])],
        [
          {
            opType: 'Pad',
            name: 'p',
            input: ['x', 'pads'],
            output: ['y'],
            attribute: [{ name: 'mode', type: 3, s: new TextEncoder().encode('edge') }],
          },
        ],
        y,
        [{ name: 'pads', dtype: 'i64', shape: [4], v: [1e8, 0, 0, 0] }],
      ),
    );
    expectRefused(
      probe('run', f, '--max-memory', '100MB'),
      /node %p \(Pad\): the constant i64\[100000002\]/,
    );
  });

  it('Gemm on 30000² inputs: generating the inputs is refused', () => {
    const f = file(
      'gemm.onnx',
      model(
        17,
        [f32('a', [30000, 30000]), f32('b', [30000, 30000])],
        [{ opType: 'Gemm', name: 'g', input: ['a', 'b'], output: ['y'] }],
        y,
      ),
    );
    expectRefused(
      probe('run', f, ...GiB1),
      /gemm\.onnx: generating the inputs \(input 'a' f32\[30000,30000\] and 1 more\) needs 20\.12 GiB/,
    );
  });

  it('a 3 GiB generated input', () => {
    const f = file(
      'big-input.onnx',
      model(
        17,
        [f32('x', [1024, 1024, 768])],
        [{ opType: 'Relu', name: 'r', input: ['x'], output: ['y'] }],
        y,
      ),
    );
    expectRefused(
      probe('run', f, ...GiB1),
      /big-input\.onnx: generating the inputs \(input 'x' f32\[1024,1024,768\]\) needs 9\.00 GiB/,
    );
  });

  it("past any machine's default budget: 2⁴⁴ elements, no --max-memory", () => {
    const r = probe('run', file('cos44.onnx', constantOfShape([2 ** 22, 2 ** 22])));
    const budget = Math.floor(totalmem() / 4);
    expectRefused(r, /the constant f32\[4194304,4194304\] .*needs 131072\.00 GiB/);
    expect(r.err).toContain(`memory budget of ${(budget / 2 ** 30).toFixed(2)} GiB`);
  });

  it('a built-in model refused under --max-memory 10MB runs without it', () => {
    const args = ['run', 'self-attention', '--shape', 'B=16,T=512', '--backend', 'js'];
    expectRefused(
      probe(...args, '--max-memory', '10MB'),
      /more than the memory budget of 9\.5 MiB/,
    );
    const ok = probe(...args);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/^y: f32\[16,512,64\]/);
  });

  it('--max-memory takes a size, on every command that loads a model', () => {
    for (const cmd of ['run', 'dump', 'bisect', 'convert'] as const) {
      const extra = cmd === 'convert' ? ['-o', join(dir, 'x.json')] : [];
      const r = probe(cmd, 'self-attention', ...extra, '--max-memory', '12 parsecs');
      expectRefused(r, /--max-memory takes a size in bytes .*got '12 parsecs'/);
    }
  });
});

describe('model, weights and input paths must be regular files', () => {
  const zero = join(dir, 'zero.onnx');
  symlinkSync('/dev/zero', zero);
  const fifo = join(dir, 'fifo.onnx');
  spawnSync('mkfifo', [fifo]);
  const folder = join(dir, 'folder.onnx');
  mkdirSync(folder);

  it('a link to /dev/zero, a FIFO, a directory as the model', () => {
    expectRefused(probe('run', zero), /zero\.onnx: it is a character device, not a regular file/);
    expectRefused(
      probe('run', fifo),
      /fifo\.onnx: it is a FIFO \(named pipe\), not a regular file/,
    );
    expectRefused(probe('dump', folder), /folder\.onnx: it is a directory, not a regular file/);
  });

  it('a link to /dev/zero as weights, a FIFO as a .npy input', () => {
    const w = join(dir, 'w.safetensors');
    symlinkSync('/dev/zero', w);
    expectRefused(
      probe('run', 'self-attention', '--weights', w),
      /w\.safetensors: it is a character device/,
    );
    const inputs = join(dir, 'inputs');
    mkdirSync(inputs);
    spawnSync('mkfifo', [join(inputs, 'x.npy')]);
    expectRefused(probe('run', 'self-attention', '--inputs', inputs), /x\.npy: it is a FIFO/);
  });

  it('an input file past the budget is refused before it is read', () => {
    const inputs = join(dir, 'big-npy');
    mkdirSync(inputs);
    const x = { dtype: 'f32' as const, shape: [1, 128, 64], data: new Float32Array(128 * 64) };
    writeFileSync(join(inputs, 'x.npy'), writeNpy(x));
    const args = ['run', 'self-attention', '--inputs', inputs];
    expectRefused(
      probe(...args, '--max-memory', '10kB'),
      /x\.npy: reading the file \(32896 bytes\) needs 32\.1 KiB/,
    );
    expect(probe(...args).code).toBe(0);
  });
});

describe('the budget in the library', () => {
  afterEach(() => setMemoryBudget(undefined));

  it('setMemoryBudget changes it for importOnnx and randomInputs: a typed E_MEMORY error', () => {
    const bytes = constantOfShape([1000, 1000]);
    setMemoryBudget('1MB');
    expect(memoryBudget()).toBe(1e6);
    let err: unknown;
    try {
      importOnnx(bytes, { file: 'm.onnx' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GlimpseError);
    expect((err as GlimpseError).code).toBe('E_MEMORY');
    expect((err as GlimpseError).name).toBe('MemoryError');
    expect((err as Error).message).toBe(
      'm.onnx, node %c (ConstantOfShape): the constant f32[1000,1000] (float64 while folded) needs 7.6 MiB, more than the memory budget of 976.6 KiB (--max-memory, or setMemoryBudget)',
    );
    setMemoryBudget(undefined);
    const g = importOnnx(bytes, { file: 'm.onnx' });
    expect(g.outputs).toEqual(['y']);
    const big = importOnnx(
      model(
        17,
        [f32('x', [1000, 1000])],
        [{ opType: 'Relu', name: 'r', input: ['x'], output: ['y'] }],
        y,
      ),
    );
    setMemoryBudget(10e6);
    expect(() => randomInputs(big, {}, 0)).toThrow(/input 'x' f32\[1000,1000\]\) needs 11\.4 MiB/);
    setMemoryBudget(20e6);
    expect(randomInputs(big, {}, 0).x!.shape).toEqual([1000, 1000]);
  });

  it('the planned buffers of a run, js and wasm, are checked against it', async () => {
    // [T] → [T, T] → a sum: at T = 2000 the expanded value is 16 MB.
    const g = buildGraph('big', (b) => {
      const x = b.input('x', 'f32', ['T']);
      const e = b.op('expand', [b.reshape(x, [1, 'T'])], { shape: ['T', 'T'] });
      return b.op('reduce_sum', [e], { axes: [0, 1] }, 'y');
    });
    const x = { dtype: 'f32' as const, shape: [2000], data: new Float32Array(2000).fill(1) };
    for (const backend of ['js', 'wasm'] as const) {
      const exe = await compile(g, { backend, level: 0 });
      try {
        setMemoryBudget('8MB');
        await expect(exe.run({ x }), backend).rejects.toThrow(
          /^'?big'? at \{"T":2000\} .*needs 1\d\.\d MiB, more than the memory budget of 7\.6 MiB/,
        );
        setMemoryBudget(undefined);
        expect(toNumbers((await exe.run({ x })).y!)[0], backend).toBe(4e6);
      } finally {
        await exe.release();
      }
    }
  });

  it('the default is a quarter of the machine; GLIMPSE_MAX_MEMORY and sizes with units', () => {
    const saved = process.env.GLIMPSE_MAX_MEMORY;
    try {
      delete process.env.GLIMPSE_MAX_MEMORY;
      expect(defaultMemoryBudget()).toBe(Math.floor(totalmem() / 4));
      process.env.GLIMPSE_MAX_MEMORY = '3GiB';
      expect(memoryBudget()).toBe(3 * 2 ** 30);
    } finally {
      if (saved === undefined) delete process.env.GLIMPSE_MAX_MEMORY;
      else process.env.GLIMPSE_MAX_MEMORY = saved;
    }
    expect([
      parseBytes('1073741824', 'x'),
      parseBytes('1e9', 'x'),
      parseBytes('512MB', 'x'),
    ]).toEqual([2 ** 30, 1e9, 512e6]);
    expect([parseBytes('2GiB', 'x'), parseBytes('2g', 'x'), parseBytes('1.5 KiB', 'x')]).toEqual([
      2 * 2 ** 30,
      2 * 2 ** 30,
      1536,
    ]);
    for (const bad of ['', '0', '-1', '1x', 'toString', '__proto__', '1 constructor', 'NaN'])
      expect(() => parseBytes(bad, '--max-memory'), bad).toThrow(/--max-memory takes a size/);
  });
});

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
