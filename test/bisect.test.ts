/**
 * `glimpse bisect` finds the node where a result goes wrong. Faults are injected: a backend
 * registered here runs the float64 reference node by node except for one op whose kernel is
 * wrong (softmax with one element off); a cancellation in f32 on the real wasm backend; a
 * broken optimiser pass. Each must be blamed on the right node (or pass), with what comes
 * after it reported as inherited, and a kernel fault told apart from amplified rounding.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Executable, Graph, Node, Pass, RefTensor, Tensor } from 'glimpse';
import {
  bisect,
  bisectPasses,
  formatBisect,
  buildModel,
  concreteShapes,
  evalNode,
  paramValues,
  parseGraph,
  refToTensor,
  registerBackend,
  toNumbers,
  unregisterBackend,
} from 'glimpse';
import { prepareInputs } from '@glimpse/runtime';
import { cli, FIXTURES } from './cli.js';
import { tensor } from './helpers.js';

/** The reference, node by node, with `fault` applied to the outputs of one op. */
function faulty(op: string, fault: (data: Float64Array) => void): Backend {
  return {
    name: `faulty-${op}`,
    description: `the reference with a wrong ${op} kernel`,
    async compile(graph: Graph): Promise<Executable> {
      return {
        backend: `faulty-${op}`,
        graph,
        async run(inputs, options) {
          const { tensors, binding } = prepareInputs(graph, inputs, options);
          const shapes = concreteShapes(graph, binding);
          const env = new Map<string, RefTensor>();
          for (const i of graph.inputs) {
            const t = tensors[i.name]!;
            env.set(i.name, {
              dtype: t.dtype,
              shape: [...t.shape],
              data: Float64Array.from(toNumbers(t)),
            });
          }
          for (const p of graph.params)
            env.set(p.name, {
              dtype: p.type.dtype,
              shape: p.type.shape as number[],
              data: paramValues(p, graph.seed),
            });
          for (const n of graph.nodes as readonly Node[]) {
            const outs = evalNode(
              n,
              n.inputs.map((v) => env.get(v)!),
              n.outputs.map((o) => shapes.get(o)!),
            );
            if (n.op === op) outs.forEach((o) => fault(o.data));
            n.outputs.forEach((o, i) => env.set(o, outs[i]!));
          }
          return Object.fromEntries(
            graph.outputs.map((o) => [o, refToTensor(env.get(o)!) as Tensor]),
          );
        },
        async memory() {
          return { peakBytes: 0, unplannedBytes: 0, paramBytes: 0, scratchBytes: 0 };
        },
        async release() {},
      };
    },
  };
}

const softmaxOff = faulty('softmax', (d) => (d[3] = d[3]! + 0.1));

beforeAll(() => registerBackend(softmaxOff));
afterAll(() => unregisterBackend(softmaxOff.name));

const selfAttention = buildModel('self-attention:dim=16').graph;
const x = { x: tensor('f32', [1, 6, 16], 3) };

describe('bisect a backend against the reference', () => {
  it('blames the faulty kernel, not what comes before or after it', async () => {
    const r = await bisect(selfAttention, x, {
      backend: softmaxOff.name,
      level: 0,
      shapes: { B: 1, T: 6 },
    });
    expect(r.first?.op).toBe('softmax');
    const at = r.values.indexOf(r.first!);
    expect(r.values.slice(0, at).every((v) => v.status === 'ok')).toBe(true);
    // Everything after it that reads it, directly or not, inherits; the output included.
    expect(r.values.filter((v) => v.status === 'diverges')).toHaveLength(1);
    expect(r.values.find((v) => v.value === 'y')!.status).toBe('inherited');
    // Run on the reference from the backend's own inputs, the kernel still differs: a fault.
    expect(r.first!.local!.ok).toBe(false);
    expect(r.first!.comparison.firstBad!.index).toBe(3);
  });

  it('finds nothing where nothing is wrong, and the same in small chunks', async () => {
    const r = await bisect(selfAttention, x, { backend: 'js', level: 2, shapes: { B: 1, T: 6 } });
    expect(r.first).toBeUndefined();
    expect(r.values.every((v) => v.status === 'ok')).toBe(true);
    const one = await bisect(selfAttention, x, {
      backend: softmaxOff.name,
      level: 0,
      shapes: { B: 1, T: 6 },
    });
    const chunked = await bisect(selfAttention, x, {
      backend: softmaxOff.name,
      level: 0,
      shapes: { B: 1, T: 6 },
      chunkBytes: 1, // one value per run
    });
    expect(chunked.values.map((v) => [v.value, v.status])).toEqual(
      one.values.map((v) => [v.value, v.status]),
    );
  });

  it('tells a cancellation in f32 on wasm from a kernel fault', async () => {
    const g = parseGraph(`graph @cancel(%x: f32[64]) {
  %big: f32[] = constant[value=[100000000]]
  %a: f32[64] = add %x, %big
  %y: f32[64] = sub %a, %big
  return %y
}`);
    const r = await bisect(
      g,
      { x: tensor('f32', [64], 1) },
      { backend: 'wasm', level: 0, threads: 1 },
    );
    expect(r.values.find((v) => v.value === 'a')!.status).toBe('ok');
    expect(r.first?.value).toBe('y');
    // The sub is exact on the rounded sum it was given: the rounding was amplified.
    expect(r.first!.local!.ok).toBe(true);
    expect(r.first!.local!.maxAbs).toBe(0);
  });

  it('says when f32 overflows inside a node, and reports progress per chunk', async () => {
    // Scores of 1e20·1e20 overflow f32 inside the fused attention (NaN out), not float64.
    const g = parseGraph(`graph @big(%q: f32[1,2,4], %k: f32[1,2,4], %v: f32[1,2,4]) {
  %y: f32[1,2,4] = attention %q, %k, %v
  return %y
}`);
    const fill = (x: number) =>
      refToTensor({ dtype: 'f32', shape: [1, 2, 4], data: new Float64Array(8).fill(x) });
    const progress: [number, number][] = [];
    const r = await bisect(
      g,
      { q: fill(1e20), k: fill(1e20), v: fill(1) },
      { backend: 'wasm', level: 0, threads: 1, onProgress: (d, t) => progress.push([d, t]) },
    );
    expect(progress).toEqual([[1, 1]]);
    expect(r.first?.value).toBe('y');
    expect(r.first!.inputMaxAbs).toBe(Math.fround(1e20));
    const text = formatBisect(r, 'big', '-O0');
    expect(text).toMatch(/leaves f32's range .* not necessarily a kernel fault/);
    expect(text).not.toMatch(/kernel of wasm is wrong/);
    // Moderate inputs and a wrong kernel still get the kernel verdict (the test above).
  });

  it('does not blame an f32 or f16 sum for overflowing where float64 does not', async () => {
    // GPT-2's eager causal mask: where(causal, s, finfo.min) + (1 − mask)·finfo.min is
    // −6.8e38 in float64 and −inf in f32, as a correctly rounded f32 add gives. The f16
    // add past 65504 is +inf. Neither is a divergence (compareValues rounds the reference
    // to the value's dtype).
    const g = parseGraph(`graph @overflow(%x: f32[4], %h: f16[4]) {
  %min: f32[] = constant[value=[-3.4028234663852886e38]]
  %a: f32[4] = add %x, %min
  %big: f16[] = constant[dtype=f16, value=[60000]]
  %b: f16[4] = add %h, %big
  return %a, %b
}`);
    const inputs = {
      x: refToTensor({
        dtype: 'f32',
        shape: [4],
        data: Float64Array.from([-3.4028234663852886e38, 0, 1, -2]),
      }),
      h: refToTensor({ dtype: 'f16', shape: [4], data: Float64Array.from([60000, 1, -60000, 8]) }),
    };
    const r = await bisect(g, inputs, { backend: 'wasm', level: 0, threads: 1 });
    expect(r.values.map((v) => [v.value, v.status])).toEqual([
      ['a', 'ok'],
      ['b', 'ok'],
    ]);
  });
  it('compares with a second backend', async () => {
    const r = await bisect(selfAttention, x, {
      backend: softmaxOff.name,
      against: 'js',
      level: 0,
      shapes: { B: 1, T: 6 },
    });
    expect(r.against).toBe('js');
    expect(r.first?.op).toBe('softmax');
  });
});

describe('bisect the optimiser', () => {
  it('names the pass after which the outputs leave the tolerance', async () => {
    // A broken pass: every scale factor 1% off.
    const broken: Pass = {
      name: 'broken-scale',
      description: 'a pass with a bug, for this test',
      exact: 'it is not',
      run: (g) =>
        g.with({
          nodes: g.nodes.map((n) =>
            n.op === 'scale'
              ? { ...n, attrs: { ...n.attrs, factor: (n.attrs.factor as number) * 1.01 } }
              : n,
          ),
        }),
    };
    const r = await bisectPasses(selfAttention, x, {
      backend: 'js',
      passes: ['cse', broken, 'dce'],
      shapes: { B: 1, T: 6 },
    });
    expect(r.passes.map((p) => [p.pass, p.ok])).toEqual([
      ['as written', true],
      ['cse', true],
      ['broken-scale', false],
      ['dce', false],
    ]);
    expect(r.first?.pass).toBe('broken-scale');
  });
});

/** `glimpse bisect` of the seed's self-attention, as written, on the faulty backend. */
const bisectFaulty = (...extra: string[]) =>
  cli(
    'bisect',
    'self-attention:dim=16',
    '--backend',
    softmaxOff.name,
    '--level',
    '0',
    '--shape',
    'B=1,T=6',
    ...extra,
  );
/** `glimpse run` of a repro in `dir`, checked against its reference output, on `backend`. */
const runRepro = (dir: string, backend: string) =>
  cli('run', join(dir, 'repro.glimpse'), '--inputs', dir, '--check', dir, '--backend', backend);

describe('glimpse bisect (CLI)', () => {
  it('prints each value and the first divergence, exits 1, writes a repro that fails alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bisect-'));
    const r = await bisectFaulty('-o', `${dir}/`);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^first divergence: %\S+ \(softmax\)$/m);
    expect(r.out).toMatch(/the softmax kernel of faulty-softmax is wrong here/);
    expect(r.out).toMatch(/inherited/);
    expect(readFileSync(join(dir, 'repro.glimpse'), 'utf8')).toMatch(/= softmax/);
    const onFaulty = await runRepro(dir, softmaxOff.name);
    expect(onFaulty.code).toBe(1);
    const onJs = await runRepro(dir, 'js');
    expect(onJs.out).toMatch(/ok/);
    expect(onJs.code).toBe(0);
  });

  it('--format json parses, with the culprit', async () => {
    const r = await bisectFaulty('--format', 'json');
    const j = JSON.parse(r.out) as { first: { op: string }; values: { status: string }[] };
    expect(j.first.op).toBe('softmax');
    expect(j.values.length).toBeGreaterThan(5);
  });

  it('no divergence exits 0; --optimizer bisects the passes', async () => {
    const ok = await cli(
      'bisect',
      'self-attention:dim=16',
      '--backend',
      'js',
      '--shape',
      'B=1,T=6',
    );
    expect(ok.out).toMatch(/^no divergence: every value is within tolerance$/m);
    expect(ok.code).toBe(0);
    const passes = await cli(
      'bisect',
      'self-attention:dim=16',
      '--backend',
      'wasm',
      '--threads',
      '1',
      '--optimizer',
      '--shape',
      'B=1,T=6',
    );
    expect(passes.out).toMatch(/fuse-attention/);
    expect(passes.out).toMatch(/^no divergence: every pass keeps the outputs within tolerance$/m);
    expect(passes.code).toBe(0);
  });

  it("shows the ONNX node names beside glimpse's", async () => {
    const model = `${FIXTURES}/onnx-dynamic/self_attention/model.onnx`;
    const r = await cli(
      'bisect',
      model,
      '--backend',
      softmaxOff.name,
      '--level',
      '0',
      '--inputs',
      `${FIXTURES}/onnx-dynamic/self_attention/test_data_set_0`,
    );
    expect(r.out).toMatch(/first divergence: %\S+ \(softmax\), ONNX node '[^']+'/);
  });

  it('bad input is one line and exit 2', async () => {
    const r = await cli('bisect', 'self-attention', '--rtol', 'x');
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});
