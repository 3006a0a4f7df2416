/**
 * Schema-strict ONNX: a node outside its operator's schema (a wrong-typed, unknown, missing
 * or repeated attribute; more inputs or outputs than the op takes; an op newer than the
 * model's opset), a name defined or listed twice, a domain imported twice and a Constant
 * with two values are refused in one line naming the file, node, op and what was expected
 * — never imported with an attribute silently defaulted. Op types that are Object's member
 * names are unsupported ops like any other. Each case is built here, small, and fails
 * without the check it is named after.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '@glimpse/cli';
import { CONVERTERS, hasSchema, importOnnx, onnx, tensorToProto } from '@glimpse/onnx';
import { cli, cliProcess } from '../cli.js';
import { tensor } from '../helpers.js';

const F = onnx.TensorProto.DataType.FLOAT;
const T = onnx.AttributeProto.AttributeType;

const vi = (name: string, dims: (number | string)[] = [2, 3]) => ({
  name,
  type: {
    tensorType: {
      elemType: F,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
});

/** A model with input x [2,3], output y, the given nodes and opset imports. */
function model(o: {
  nodes: object[];
  inits?: object[];
  inputs?: object[];
  outputs?: string[];
  opsets?: { domain: string; version: number }[];
}): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 9,
    opsetImport: o.opsets ?? [{ domain: '', version: 17 }],
    graph: {
      name: 'strict',
      input: o.inputs ?? [vi('x')],
      output: (o.outputs ?? ['y']).map((n) => vi(n)),
      node: o.nodes,
      initializer: o.inits ?? [],
    },
  }).finish();
}

const softmax = (...attribute: object[]) => ({
  opType: 'Softmax',
  name: 'sm',
  input: ['x'],
  output: ['y'],
  attribute,
});
const relu = (extra: Partial<{ input: string[]; output: string[] }> = {}) => ({
  opType: 'Relu',
  name: 'r',
  input: ['x'],
  output: ['y'],
  ...extra,
});
const w = (name = 'w') => ({ name, dataType: F, dims: [3], floatData: [1, 2, 3] });

function save(bytes: Uint8Array): string {
  const f = join(mkdtempSync(join(tmpdir(), 'glimpse-strict-')), 'm.onnx');
  writeFileSync(f, bytes);
  return f;
}

/** `glimpse run` refuses the model: exit 2, this one line (after the file), nothing else. */
async function refused(bytes: Uint8Array, line: string) {
  const f = save(bytes);
  const r = await cli('run', f);
  expect({ code: r.code, out: r.out, err: r.err }).toEqual({
    code: 2,
    out: '',
    err: `glimpse: error: ${f}${line}\n`,
  });
}

describe('attributes of the schema type', () => {
  it('the well-typed baseline runs', async () => {
    expect(
      (await cli('run', save(model({ nodes: [softmax({ name: 'axis', type: T.INT, i: 1 })] }))))
        .code,
    ).toBe(0);
  });
  it('Softmax axis as a FLOAT or a STRING (was imported as axis=0)', async () => {
    await refused(
      model({ nodes: [softmax({ name: 'axis', type: T.FLOAT, f: 1 })] }),
      `, node %sm (Softmax): attribute 'axis' must be INT, got FLOAT`,
    );
    await refused(
      model({
        nodes: [softmax({ name: 'axis', type: T.STRING, s: new TextEncoder().encode('1') })],
      }),
      `, node %sm (Softmax): attribute 'axis' must be INT, got STRING`,
    );
  });
  it('an attribute without a type is of the field it fills', async () => {
    await refused(
      model({ nodes: [softmax({ name: 'axis', f: 1 })] }),
      `, node %sm (Softmax): attribute 'axis' must be INT, got FLOAT`,
    );
  });
  it('ReduceMean axes as one INT instead of INTS (was ignored)', async () => {
    await refused(
      model({
        opsets: [{ domain: '', version: 13 }],
        nodes: [
          {
            opType: 'ReduceMean',
            name: 'mean',
            input: ['x'],
            output: ['y'],
            attribute: [{ name: 'axes', type: T.INT, i: 1 }],
          },
        ],
      }),
      `, node %mean (ReduceMean): attribute 'axes' must be INTS, got INT`,
    );
  });
  it('an attribute the op does not have', async () => {
    await refused(
      model({ nodes: [softmax({ name: 'axes', type: T.INT, i: 1 })] }),
      `, node %sm (Softmax): Softmax has no attribute 'axes' (it takes axis)`,
    );
  });
  it('an attribute twice', async () => {
    await refused(
      model({
        nodes: [softmax({ name: 'axis', type: T.INT, i: 1 }, { name: 'axis', type: T.INT, i: 0 })],
      }),
      `, node %sm (Softmax): attribute 'axis' is given twice`,
    );
  });
  it('a required attribute missing', async () => {
    await refused(
      model({ nodes: [{ opType: 'Cast', name: 'c', input: ['x'], output: ['y'] }] }),
      `, node %c (Cast): attribute 'to' (INT) is required`,
    );
  });
  it('a Constant with two values', async () => {
    await refused(
      model({
        nodes: [
          {
            opType: 'Constant',
            name: 'k',
            output: ['k'],
            attribute: [
              { name: 'value', type: T.TENSOR, t: { dataType: F, dims: [], floatData: [2] } },
              { name: 'value_float', type: T.FLOAT, f: 3 },
            ],
          },
          { opType: 'Mul', name: 'm', input: ['x', 'k'], output: ['y'] },
        ],
      }),
      `, node %k (Constant): a Constant takes exactly one value attribute, got value, value_float`,
    );
  });
});

describe('inputs, outputs and ops within the schema', () => {
  it('more inputs than the op takes', async () => {
    await refused(
      model({ nodes: [relu({ input: ['x', 'x'] })] }),
      `, node %r (Relu): Relu takes 1 input, got 2`,
    );
    await refused(
      model({
        nodes: [{ opType: 'Clip', name: 'clip', input: ['x', '', '', 'x'], output: ['y'] }],
      }),
      `, node %clip (Clip): Clip takes 1 to 3 inputs, got 4`,
    );
  });
  it('more outputs than the op takes', async () => {
    await refused(
      model({ nodes: [relu({ output: ['y', 'z'] })] }),
      `, node %r (Relu): Relu takes 1 output, got 2`,
    );
  });
  it('an op newer than the model’s opset', async () => {
    await refused(
      model({ nodes: [{ opType: 'Gelu', name: 'g', input: ['x'], output: ['y'] }] }),
      `, node %g (Gelu): Gelu is not in opset 17 of 'ai.onnx' (it is from 20)`,
    );
  });
  it('every op glimpse converts has a schema to be checked against', () => {
    expect(Object.keys(CONVERTERS).filter((k) => !hasSchema(k))).toEqual([]);
  });
});

describe('names and imports once', () => {
  it('an initializer twice', async () => {
    await refused(
      model({
        nodes: [{ opType: 'Add', name: 'a', input: ['x', 'w'], output: ['y'] }],
        inits: [w(), w()],
      }),
      `: initializer 'w' is listed twice`,
    );
  });
  it('a graph input twice', async () => {
    await refused(
      model({ nodes: [relu()], inputs: [vi('x'), vi('x')] }),
      `: graph input 'x' is listed twice`,
    );
  });
  it('a graph output twice', async () => {
    await refused(
      model({ nodes: [relu()], outputs: ['y', 'y'] }),
      `: graph output 'y' is listed twice`,
    );
  });
  it('a value defined twice: by two nodes, or by a node and a graph input', async () => {
    await refused(
      model({ nodes: [relu({ output: ['y'] }), { ...relu(), name: 'r2' }] }),
      `, node %r2 (Relu): 'y' is defined twice`,
    );
    await refused(
      model({ nodes: [relu({ output: ['x'] })], outputs: ['x'] }),
      `, node %r (Relu): 'x' is defined twice`,
    );
  });
  it('the default domain imported twice, by either of its names', async () => {
    await refused(
      model({
        nodes: [relu()],
        opsets: [
          { domain: '', version: 13 },
          { domain: '', version: 17 },
        ],
      }),
      `: domain 'ai.onnx' is imported twice (opsets 13 and 17)`,
    );
    await refused(
      model({
        nodes: [relu()],
        opsets: [
          { domain: 'ai.onnx', version: 17 },
          { domain: '', version: 9 },
        ],
      }),
      `: domain 'ai.onnx' is imported twice (opsets 17 and 9)`,
    );
  });
});

describe("Object's member names are names like any other", () => {
  it('op types __proto__, constructor, toString, hasOwnProperty are unsupported ops', async () => {
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
    await refused(
      model({
        nodes: names.map((op, i) => ({
          opType: op,
          name: `n${i}`,
          input: [i === 0 ? 'x' : `v${i - 1}`],
          output: [i === names.length - 1 ? 'y' : `v${i}`],
        })),
      }),
      `: unsupported ONNX ops: __proto__ (node 'n0'), constructor (node 'n1'), toString (node 'n2'), hasOwnProperty (node 'n3')`,
    );
  });
  it('a dim_param named constructor stays a symbol (not Object, read from the --shape sizes)', () => {
    const g = importOnnx(model({ nodes: [relu()], inputs: [vi('x', ['constructor', 3])] }), {
      shapes: {},
    });
    expect(g.inputs[0]!.type.shape).toEqual(['constructor', 3]);
  });
  it('dim_params __proto__ and constructor are sized from input_0.pb like any other', () => {
    const dir = mkdtempSync(join(tmpdir(), 'glimpse-strict-'));
    const f = join(dir, 'm.onnx');
    writeFileSync(f, model({ nodes: [relu()], inputs: [vi('x', ['__proto__', 'constructor'])] }));
    const x = tensor('f32', [5, 3], 1);
    writeFileSync(join(dir, 'input_0.pb'), onnx.TensorProto.encode(tensorToProto(x, 'x')).finish());
    const loaded = loadModel(f, dir);
    expect(loaded.graph.inputs[0]!.type.shape).toEqual([5, 3]);
    expect([...loaded.fixed!].sort()).toEqual(['__proto__', 'constructor']);
    // Without input files, constructor is a symbol of the graph, not a fixed size.
    expect([...loadModel(f).fixed!]).toEqual([]);
  });
});

describe('through the glimpse binary', () => {
  it('a wrong-typed attribute: exit 2, one line, no stack', () => {
    const f = save(model({ nodes: [softmax({ name: 'axis', type: T.FLOAT, f: 1 })] }));
    const r = cliProcess('run', f);
    expect(r).toEqual({
      code: 2,
      out: '',
      err: `glimpse: error: ${f}, node %sm (Softmax): attribute 'axis' must be INT, got FLOAT\n`,
    });
  });
  it('an op type __proto__: exit 2, one line', () => {
    const f = save(model({ nodes: [{ ...relu(), opType: '__proto__' }] }));
    expect(cliProcess('run', f)).toEqual({
      code: 2,
      out: '',
      err: `glimpse: error: ${f}: unsupported ONNX ops: __proto__ (node 'r')\n`,
    });
  });
});
