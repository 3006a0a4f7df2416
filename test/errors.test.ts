/**
 * Bad input gets a typed error that names where (node, value, file), and the CLI prints one
 * `glimpse: error:` line and exits 2 — never a stack trace, never a hang.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@glimpse/ir';
import {
  buildGraph,
  fromNumbers,
  GlimpseError,
  InputError,
  interpret,
  ParseError,
  RuntimeError,
  ShapeError,
  VerifyError,
  parseGraph,
  readSafetensors,
  writeNpy,
  writeSafetensors,
} from '@glimpse/ir';
import { compileJs } from '@glimpse/backend-js';
import { models } from '@glimpse/models';
import { cli, cliProcess, FIXTURES } from './cli.js';
import { assertClose, tensor } from './helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'glimpse-err-'));

/** The CLI contract for user errors: exit 2, exactly one line on stderr, nothing on stdout. */
async function expectUserError(argv: string[], pattern: RegExp) {
  const r = await cli(...argv);
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/^glimpse: error: .+\n$/);
  expect(r.err.split('\n')).toHaveLength(2);
  expect(r.err).toMatch(pattern);
  return r;
}

function catchErr(fn: () => unknown): GlimpseError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GlimpseError);
    return e as GlimpseError;
  }
  throw new Error('expected an error');
}

const GOOD = `graph @g(%x: f32[B,4]) params(%w: f32[3,4] = uniform(-1, 1)) {
  %h: f32[B,3] = linear %x, %w
  %y: f32[B,3] = relu %h
  return %y
}
`;

describe('typed errors', () => {
  it('a shape mismatch in the builder names node, op and shapes', () => {
    const e = catchErr(() =>
      buildGraph('bad', (b) => {
        const x = b.input('x', 'f32', ['B', 8]);
        const w = b.param('w', 'f32', [4, 5], { kind: 'fill', value: 0 });
        return b.linear(x, w, undefined, 'proj');
      }),
    );
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.code).toBe('E_SHAPE');
    expect(e.where).toMatchObject({ node: 'proj', op: 'linear' });
    expect(e.message).toContain('node %proj (linear): x has 8 features but weight expects 5');
    expect(e.message).toContain('f32[B,8], f32[4,5]');
  });

  it('an unknown op in a .glimpse file names file, line and column', () => {
    const e = catchErr(() => parseGraph(GOOD.replace('relu', 'frobnicate'), { file: 'm.glimpse' }));
    expect(e).toBeInstanceOf(ParseError);
    expect(e.message).toBe("m.glimpse:3:18: unknown op 'frobnicate'");
  });

  it('an undefined value names the value, node and line', () => {
    const e = catchErr(() =>
      parseGraph(GOOD.replace('relu %h', 'relu %nope'), { file: 'm.glimpse' }),
    );
    expect(e).toBeInstanceOf(VerifyError);
    expect(e.message).toBe(
      'm.glimpse:3, node %y (relu), value %nope: value %nope is used but never defined',
    );
  });

  it('a cycle is reported with the values on it', () => {
    const src = `graph @c(%x: f32[2]) {
  %a: f32[2] = add %x, %b
  %b: f32[2] = relu %a
  return %b
}`;
    const e = catchErr(() => parseGraph(src));
    expect(e).toBeInstanceOf(VerifyError);
    expect(e.message).toMatch(/cycle: %(a|b) -> %(a|b) -> %(a|b)/);
  });

  it('a declared type that differs from inference is an error', () => {
    const e = catchErr(() => parseGraph(GOOD.replace('%y: f32[B,3]', '%y: f32[B,4]')));
    expect(e.message).toContain('declared type f32[B,4] of %y differs from inferred f32[B,3]');
  });

  it('wrong dtype, wrong length, missing and unknown inputs at run', () => {
    const exe = compileJs(parseGraph(GOOD));
    const x = tensor('f32', [2, 4], 1);
    expect(() => exe.runSync({ x: { ...x, dtype: 'i32' } })).toThrow(InputError);
    expect(() => exe.runSync({ x: { ...x, dtype: 'i32' } })).toThrow(
      "input 'x' has dtype i32, expected f32",
    );
    expect(() => exe.runSync({ x: { ...x, shape: [3, 4] } })).toThrow(
      "input 'x': 8 elements do not fill shape [3,4] (12)",
    );
    expect(() => exe.runSync({ x: { ...x, shape: [2, 5], data: new Float32Array(10) } })).toThrow(
      "input 'x': expected [B,4], got [2,5] (axis 1)",
    );
    expect(() => exe.runSync({ x: { ...x, data: new Float64Array(8) as never } })).toThrow(
      'f32 data must be a Float32Array, got Float64Array',
    );
    expect(() => exe.runSync({})).toThrow("missing input 'x' (f32[B,4])");
    expect(() => exe.runSync({ x, z: x })).toThrow("unknown input 'z'");
  });

  it('a symbol bound inconsistently across inputs is an error', () => {
    const g = models.crossAttention({ dim: 8, heads: 2, mdim: 4 });
    const exe = compileJs(g);
    expect(() =>
      exe.runSync({ x: tensor('f32', [2, 3, 8], 1), memory: tensor('f32', [3, 5, 4], 2) }),
    ).toThrow("input 'memory': symbol B is 2 elsewhere but 3 here");
  });

  it('an embedding index out of range names the node, in the backend and the reference', () => {
    const g = models.contextAttention({ contexts: 5, seq: 4, dim: 2, out: 2 });
    const inputs: Record<string, Tensor> = {
      x: tensor('f32', [2, 4, 2], 1),
      context: fromNumbers('i32', [2], [1, 5]),
    };
    const e = catchErr(() => compileJs(g).runSync(inputs));
    expect(e).toBeInstanceOf(RuntimeError);
    expect(e.message).toBe(
      'node %scores (embedding): embedding index 5 out of range [0, 5) at position 1',
    );
    expect(() => interpret(g, inputs)).toThrow(RuntimeError);
    inputs.context = fromNumbers('i32', [2], [-1, 0]);
    expect(() => compileJs(g).runSync(inputs)).toThrow('embedding index -1 out of range');
  });

  it('NaN and ±Inf inputs propagate exactly as in the reference', () => {
    for (const g of [
      models.selfAttention({ dim: 8 }),
      models.transformerBlock({ dim: 8, heads: 2, hidden: 16 }),
      models.causalSelfAttention({ dim: 8, heads: 2 }),
    ]) {
      for (const seed of [1, 2, 3]) {
        const x = tensor('f32', [2, 5, 8], seed, 1, 0.05);
        assertClose(compileJs(g).runSync({ x }).y!, interpret(g, { x }).y!, undefined, g.name, 4);
      }
    }
  });
});

describe('CLI user errors: one line, exit 2', () => {
  it('unknown model, bad option values, unknown flags', async () => {
    await expectUserError(['run', 'nope'], /unknown model 'nope' \(built-in: self-attention, /);
    await expectUserError(
      ['run', 'self-attention:dim=0'],
      /model option dim=0 must be an integer in 1\.\.65536/,
    );
    await expectUserError(
      ['run', 'self-attention:heads=2'],
      /model self-attention has no option 'heads' \(options: dim\)/,
    );
    await expectUserError(
      ['run', 'multi-head-attention:dim=10,heads=3'],
      /dim 10 is not divisible by heads 3/,
    );
    await expectUserError(['run', 'self-attention', '--bogus'], /unknown option '--bogus'/);
    await expectUserError(['run', 'self-attention', '--shape', 'Q=3'], /the graph has no symbol Q/);
    await expectUserError(
      ['run', 'self-attention', '--shape', 'T=x'],
      /--shape takes SYMBOL=SIZE, got 'T=x'/,
    );
    await expectUserError(
      ['run', 'self-attention', '--seed', '-1'],
      /--seed takes a non-negative integer/,
    );
    await expectUserError(
      ['run', 'self-attention', '--backend', 'webgl'],
      /argument 'webgl' is invalid\. Allowed choices are wasm, js, wgsl/,
    );
    await expectUserError(['dump'], /missing required argument 'model'/);
  });

  it('a bad .glimpse file: unknown op, undefined value, a cycle, missing file', async () => {
    const d = tmp();
    writeFileSync(join(d, 'bad.glimpse'), GOOD.replace('relu', 'frobnicate'));
    await expectUserError(
      ['run', join(d, 'bad.glimpse')],
      /bad\.glimpse:3:18: unknown op 'frobnicate'/,
    );
    writeFileSync(join(d, 'undef.glimpse'), GOOD.replace('relu %h', 'relu %nope'));
    await expectUserError(
      ['dump', join(d, 'undef.glimpse')],
      /undef\.glimpse:3, node %y \(relu\), value %nope: value %nope is used but never defined/,
    );
    writeFileSync(
      join(d, 'cycle.glimpse'),
      'graph @c(%x: f32[2]) {\n  %a: f32[2] = add %x, %b\n  %b: f32[2] = relu %a\n  return %b\n}\n',
    );
    await expectUserError(
      ['run', join(d, 'cycle.glimpse')],
      /cycle\.glimpse, node %b \(relu\): cycle: %a -> %b -> %a/,
    );
    await expectUserError(
      ['run', join(d, 'missing.glimpse')],
      /cannot read .*missing\.glimpse: no such file/,
    );
  });

  const sa = `${FIXTURES}/self-attention`;
  const spec = 'self-attention:dim=32';
  function editedWeights(edit: (m: Map<string, Tensor>) => void): string {
    const m = readSafetensors(readFileSync(`${sa}/weights.safetensors`));
    edit(m);
    const p = join(tmp(), 'w.safetensors');
    writeFileSync(p, writeSafetensors(m));
    return p;
  }

  it('safetensors with a missing, extra or mis-shaped tensor, or a truncated header', async () => {
    await expectUserError(
      ['run', spec, '--weights', editedWeights((m) => m.delete('key.bias'))],
      /w\.safetensors: param 'key\.bias' is missing/,
    );
    await expectUserError(
      ['run', spec, '--weights', editedWeights((m) => m.set('extra', tensor('f32', [2], 1)))],
      /tensor 'extra' is not a param of self_attention/,
    );
    await expectUserError(
      ['run', spec, '--weights', editedWeights((m) => m.set('key.bias', tensor('f32', [31], 1)))],
      /tensor 'key\.bias' has shape \[31\], the model needs \[32\]/,
    );
    const p = join(tmp(), 'trunc.safetensors');
    writeFileSync(p, readFileSync(`${sa}/weights.safetensors`).subarray(0, 40));
    await expectUserError(
      ['run', spec, '--weights', p],
      /trunc\.safetensors: header length \d+ runs past the end of the file \(40 bytes\)/,
    );
    writeFileSync(p, new Uint8Array(3));
    await expectUserError(
      ['run', spec, '--weights', p],
      /truncated: 3 bytes, the header length alone needs 8/,
    );
  });

  it('inputs: wrong shape, lossy dtype, missing file; embedding index out of range', async () => {
    const d = tmp();
    writeFileSync(join(d, 'x.npy'), writeNpy(tensor('f32', [2, 7, 31], 1)));
    await expectUserError(
      ['run', spec, '--inputs', d],
      /input 'x': expected \[B,T,32\], got \[2,7,31\] \(axis 2\)/,
    );
    await expectUserError(['run', spec, '--inputs', tmp()], /x\.npy: missing input file for 'x'/);
    const c = tmp();
    copyFileSync(`${FIXTURES}/context-attention/x.npy`, join(c, 'x.npy'));
    writeFileSync(join(c, 'context.npy'), writeNpy(fromNumbers('f32', [4], [0, 1.5, 2, 3])));
    const ctxSpec = 'context-attention:contexts=5,seq=7,dim=16,out=3';
    await expectUserError(
      ['run', ctxSpec, '--inputs', c],
      /context\.npy: holds f32 value 1\.5 at index 1, which i32 cannot hold exactly/,
    );
    writeFileSync(join(c, 'context.npy'), writeNpy(fromNumbers('i64', [4], [0, 1, 7, 3])));
    await expectUserError(
      ['run', ctxSpec, '--inputs', c],
      /node %scores \(embedding\): embedding index 7 out of range \[0, 5\) at position 2/,
    );
  });

  it('the real binary: one line on stderr, exit 2, no stack trace', () => {
    const r = cliProcess('run', 'self-attention', '--weights', '/nonexistent.safetensors');
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'glimpse: error: /nonexistent.safetensors: cannot read /nonexistent.safetensors: no such file\n',
    );
    expect(r.out).toBe('');
  });
});
