/**
 * Bad ONNX input: truncated or corrupt protobuf, unsupported ops (all listed at once, with
 * node names), unsupported opsets and domains, external data, inconsistent shapes, declared
 * sizes in the billions. Each is a typed error; through the CLI, one line and exit 2. A
 * fuzzer mutates real exports: only typed errors, nothing allocated from unchecked sizes.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GlimpseError } from '@glimpse/ir';
import { importOnnx, onnx } from '@glimpse/onnx';
import { cli } from '../cli.js';
import { TESTDATA } from './testdata.js';

const F = onnx.TensorProto.DataType.FLOAT;

/** A model with one input x [2,3] and the given nodes, initializers and opset. */
function model(o: {
  nodes?: object[];
  initializers?: object[];
  opset?: number;
  domain?: string;
  dims?: number[];
  outputs?: string[];
}): Uint8Array {
  const vi = (name: string, dims: number[]) => ({
    name,
    type: { tensorType: { elemType: F, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 9,
    opsetImport: [{ domain: o.domain ?? '', version: o.opset ?? 17 }],
    graph: {
      name: 'bad',
      input: [vi('x', o.dims ?? [2, 3])],
      output: (o.outputs ?? ['y']).map((n) => vi(n, [2, 3])),
      node: o.nodes ?? [{ opType: 'Relu', input: ['x'], output: ['y'], name: 'r' }],
      initializer: o.initializers ?? [],
    },
  }).finish();
}

async function expectCliError(bytes: Uint8Array, pattern: RegExp) {
  const f = join(mkdtempSync(join(tmpdir(), 'glimpse-onnx-')), 'm.onnx');
  writeFileSync(f, bytes);
  const r = await cli('run', f);
  expect(r.code).toBe(2);
  expect(r.out).toBe('');
  expect(r.err).toMatch(/^glimpse: error: .+\n$/);
  expect(r.err).toMatch(pattern);
}

describe('bad ONNX input: a clear error, exit 2', () => {
  const good = readFileSync(`${TESTDATA}/torch/seed_self_attention/model.onnx`);
  it('a well-formed model runs (the baseline of these cases)', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'glimpse-onnx-')), 'm.onnx');
    writeFileSync(f, model({}));
    expect((await cli('run', f)).code).toBe(0);
  });
  it('truncated protobuf', async () => {
    await expectCliError(good.subarray(0, good.length >> 1), /m\.onnx: not a valid ONNX model: /);
  });
  it('random bytes', async () => {
    await expectCliError(
      Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 255),
      /not a valid ONNX model/,
    );
  });
  it('unsupported ops: every one listed at once, with node names', async () => {
    await expectCliError(
      model({
        nodes: [
          { opType: 'Frobnicate', input: ['x'], output: ['a'], name: 'f1' },
          { opType: 'Relu', input: ['a'], output: ['b'], name: 'ok' },
          { opType: 'FusedGemm', domain: 'com.microsoft', input: ['b'], output: ['y'], name: 'f2' },
        ],
      }),
      /unsupported ONNX ops: Frobnicate \(node 'f1'\), com\.microsoft\.FusedGemm \(node 'f2'\)/,
    );
  });
  it('an opset outside 7–25', async () => {
    await expectCliError(
      model({ opset: 6 }),
      /opset 6 of the default domain is not supported \(glimpse imports opsets 7–25\)/,
    );
    await expectCliError(
      model({ opset: 26 }),
      /opset 26 of the default domain is not supported \(glimpse imports opsets 7–25\)/,
    );
  });
  it('external-data tensors', async () => {
    await expectCliError(
      model({
        nodes: [{ opType: 'Add', input: ['x', 'w'], output: ['y'], name: 'add' }],
        initializers: [
          {
            name: 'w',
            dataType: F,
            dims: [2, 3],
            dataLocation: 1,
            externalData: [{ key: 'location', value: 'w.bin' }],
          },
        ],
      }),
      /initializer 'w': tensors with external data are not supported/,
    );
  });
  it('inconsistent shapes name the node', async () => {
    await expectCliError(
      model({
        nodes: [{ opType: 'Add', input: ['x', 'w'], output: ['y'], name: 'the_add' }],
        initializers: [{ name: 'w', dataType: F, dims: [4], floatData: [1, 2, 3, 4] }],
      }),
      /node %y \(add\): .*do not broadcast/,
    );
  });
  it('declared sizes in the billions are refused before allocation', async () => {
    await expectCliError(
      model({ dims: [2, 5_000_000_000] }),
      /input 'x' declares dim 1 = 5000000000/,
    );
    await expectCliError(
      model({
        nodes: [{ opType: 'Add', input: ['x', 'w'], output: ['y'], name: 'add' }],
        initializers: [
          { name: 'w', dataType: F, dims: [100000, 100000], rawData: new Uint8Array(8) },
        ],
      }),
      /initializer 'w': \[100000,100000\] needs 10000000000 FLOAT values|more than 2147483647/,
    );
  });
});

describe('fuzzing the ONNX importer', () => {
  it('mutated real exports give a graph or a typed error, never another exception', () => {
    const seeds = [
      'torch/seed_self_attention',
      'torch/gpt_causal_block',
      'onnx-node/test_gemm_all_attributes',
    ].map((f) => readFileSync(`${TESTDATA}/${f}/model.onnx`));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.option(fc.nat(), { nil: undefined }),
        (s, flips, cut) => {
          const b = Uint8Array.from(seeds[s]!);
          for (const [at, v] of flips) b[at % b.length] = v;
          const bytes = cut === undefined ? b : b.subarray(0, cut % b.length);
          try {
            importOnnx(bytes);
          } catch (e) {
            if (!(e instanceof GlimpseError))
              throw new Error(`untyped ${(e as Error).name}: ${(e as Error).message}`);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
