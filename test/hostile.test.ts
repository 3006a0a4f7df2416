/**
 * Hostile names. The JS backend never evaluates text taken from a model. It generates no code at all: it
 * builds closures. This test compiles and runs a model whose graph name, value names and
 * string attributes are JavaScript meant to escape, with `eval` and `Function` replaced by
 * traps, and checks the result against the reference. Names that are Object's members
 * (`__proto__`, `constructor`, `toString`) are names like any other wherever a table is keyed
 * by a user's string: passes, model options, --shape symbols, attributes, dtypes, .npy
 * header keys, graph inputs, outputs and symbols.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkTensor,
  concreteShape,
  graphFromJSON,
  graphToJSON,
  interpret,
  parseGraph,
  printGraph,
  readNpy,
  readSafetensors,
  writeNpy,
  writeSafetensors,
} from '@glimpse/ir';
import { compileJs } from '@glimpse/backend-js';
import { buildModel, compile } from 'glimpse';
import { optimize } from '@glimpse/optimizer';
import { cli, cliProcess, ROOT } from './cli.js';
import { assertClose, tensor } from './helpers.js';

const g = globalThis as Record<string, unknown>;
const PAYLOAD = `"); globalThis.__pwned = 1; ("`;

const SRC = `graph @${JSON.stringify(`x${PAYLOAD}`)}(%${JSON.stringify(`in${PAYLOAD}`)}: f32[B,T,4])
    params(%${JSON.stringify('w`${globalThis.__pwned=1}`')}: f32[4,4] = uniform(-0.5, 0.5)) {
  %${JSON.stringify('q\u2028}; globalThis.__pwned = 1; {')}: f32[B,T,4] = linear %${JSON.stringify(`in${PAYLOAD}`)}, %${JSON.stringify('w`${globalThis.__pwned=1}`')}
  %${JSON.stringify('constructor')}: f32[B,T,4] = reshape[shape=[B,T,4]] %${JSON.stringify('q\u2028}; globalThis.__pwned = 1; {')}
  %${JSON.stringify('__proto__')}: f32[B,T,T] = bmm[transpose_b=true] %${JSON.stringify('constructor')}, %${JSON.stringify('constructor')}
  %${JSON.stringify('</script><script>globalThis.__pwned=1</script>')}: f32[B,T,T] = softmax %${JSON.stringify('__proto__')}
  return %${JSON.stringify('</script><script>globalThis.__pwned=1</script>')}
}
`;

describe('hostile names and attrs', () => {
  const saved = { eval: g.eval, Function: g.Function };
  afterEach(() => {
    g.eval = saved.eval;
    g.Function = saved.Function;
    delete g.__pwned;
  });

  it('compiles and runs with eval and Function trapped, and equals the reference', () => {
    const graph = parseGraph(SRC);
    expect(graph.name).toContain('globalThis.__pwned');
    const x = tensor('f32', [2, 3, 4], 5);
    const inputs = { [graph.inputs[0]!.name]: x };
    const want = interpret(graph, inputs);
    const trap = () => {
      throw new Error('the backend evaluated text');
    };
    g.eval = trap;
    g.Function = trap;
    const got = compileJs(graph).runSync(inputs);
    g.eval = saved.eval;
    g.Function = saved.Function;
    expect(g.__pwned).toBeUndefined();
    const out = graph.outputs[0]!;
    assertClose(got[out]!, want[out]!);
    // The hostile names survive both formats unchanged.
    expect(printGraph(parseGraph(printGraph(graph)))).toBe(printGraph(graph));
    expect(graphFromJSON(JSON.stringify(graphToJSON(graph))).outputs).toEqual(graph.outputs);
  });

  it('the JS backend source has no code generation', () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) files.push(p);
      }
    };
    for (const pkg of ['backend-js', 'kernels-cpu', 'asm'])
      walk(join(ROOT, 'packages', pkg, 'src'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files)
      expect(readFileSync(f, 'utf8'), f).not.toMatch(
        /\beval\s*\(|new\s+Function\b|\bFunction\s*\(/,
      );
  });
});

const tmp = () => mkdtempSync(join(tmpdir(), 'glimpse-hostile-'));
const PASS_LIST =
  'canonicalize, constant-folding, cse, dce, fuse-attention, fuse-elementwise, fuse-norm, fuse-qkv-projection, fuse-rotary, fold-scale, fold-transpose, gqa-rows, sink-layout';

/** A version 1.0 .npy file with this header dict and data. */
function npy(header: string, data: Uint8Array): Uint8Array {
  const pad = 64 - ((10 + header.length + 1) % 64);
  const h = new TextEncoder().encode(`${header}${' '.repeat(pad % 64)}\n`);
  const out = new Uint8Array(10 + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 255, h.length >> 8]);
  out.set(h, 10);
  out.set(data, 10 + h.length);
  return out;
}

describe("Object's member names as user strings", () => {
  it('--passes, model options and --shape through the binary: exit 2, one line', () => {
    expect(cliProcess('run', 'self-attention', '--passes', '__proto__')).toEqual({
      code: 2,
      out: '',
      err: `glimpse: error: unknown pass '__proto__' (passes: ${PASS_LIST})\n`,
    });
    expect(cliProcess('run', 'self-attention:__proto__=1')).toEqual({
      code: 2,
      out: '',
      err: `glimpse: error: model self-attention has no option '__proto__' (options: dim)\n`,
    });
    expect(cliProcess('run', 'self-attention', '--shape', '__proto__=3')).toEqual({
      code: 2,
      out: '',
      err: `glimpse: error: --shape __proto__: the graph has no symbol __proto__ (symbols: B, T)\n`,
    });
  });
  it('other member names, and a symbol given twice', async () => {
    const err = async (...argv: string[]) => {
      const r = await cli(...argv);
      expect(r.code, r.err).toBe(2);
      return r.err;
    };
    expect(await err('run', 'self-attention', '--passes', 'constructor')).toBe(
      `glimpse: error: unknown pass 'constructor' (passes: ${PASS_LIST})\n`,
    );
    expect(await err('dump', 'self-attention:toString=1')).toBe(
      `glimpse: error: model self-attention has no option 'toString' (options: dim)\n`,
    );
    expect(await err('dump', 'self-attention', '--shape', '__proto__=3')).toBe(
      'glimpse: error: --shape __proto__: the graph has no symbol __proto__ (symbols: B, T)\n',
    );
    expect(await err('dump', 'self-attention', '--shape', 'hasOwnProperty=3')).toMatch(
      /^glimpse: error: --shape hasOwnProperty: the graph has no symbol hasOwnProperty/,
    );
    expect(await err('run', 'self-attention', '--shape', 'T=4,T=5')).toBe(
      'glimpse: error: --shape gives T twice\n',
    );
    expect(await err('bench', 'constructor')).toMatch(
      /^glimpse: error: unknown benchmark 'constructor' \(/,
    );
    expect(() => buildModel('self-attention:valueOf=1')).toThrow(
      "model self-attention has no option 'valueOf' (options: dim)",
    );
    expect(() => optimize(buildModel('self-attention').graph, { passes: ['toString'] })).toThrow(
      "unknown pass 'toString'",
    );
  });
  it('attributes named __proto__ or constructor, in text and JSON, are unknown attributes', () => {
    const text = (a: string) =>
      `graph @g(%x: f32[2,4]) {\n  %y: f32[2,4] = softmax[${a}] %x\n  return %y\n}\n`;
    expect(() => parseGraph(text('constructor=1'))).toThrow(
      "node %y (softmax): unknown attribute 'constructor' (softmax takes axis)",
    );
    expect(() => parseGraph(text('__proto__=[1]'))).toThrow(
      "node %y (softmax): unknown attribute '__proto__' (softmax takes axis)",
    );
    const json = JSON.stringify(graphToJSON(parseGraph(text('axis=0'))));
    expect(() => graphFromJSON(json.replace('"axis":0', '"__proto__":1'))).toThrow(
      "unknown attribute '__proto__' (softmax takes axis)",
    );
    // "inf", "-inf" and "nan" stand for numbers in JSON; "constructor" does not.
    expect(() => graphFromJSON(json.replace('"axis":0', '"axis":"constructor"'))).toThrow(/axis/);
  });
  it('a graph with input __proto__, symbols constructor and __proto__, output toString runs', async () => {
    const src = `graph @g(%__proto__: f32[constructor, __proto__]) {
  %toString: f32[constructor, __proto__] = relu %__proto__
  %constructor: f32[constructor, __proto__] = softmax %toString
  return %toString, %constructor
}
`;
    const g = parseGraph(src);
    expect(() => interpret(g, {})).toThrow("missing input '__proto__'");
    expect(() => concreteShape(['constructor', 4], {})).toThrow(
      'symbol constructor of value is not bound',
    );
    const inputs = { ['__proto__']: tensor('f32', [3, 4], 7) };
    const want = interpret(g, inputs);
    for (const backend of ['js', 'wasm'] as const) {
      const got = await (await compile(g, { backend, level: 2 })).run(inputs);
      for (const o of ['toString', 'constructor']) {
        expect(Object.hasOwn(got, o), `${backend} %${o}`).toBe(true);
        assertClose(got[o]!, want[o]!);
      }
    }
    // Through the CLI: sizes from --shape, from the defaults, and from an input file.
    const dir = tmp();
    const f = join(dir, 'g.glimpse');
    writeFileSync(f, src);
    const run = async (...extra: string[]) => {
      const r = await cli('run', f, '--backend', 'js', ...extra);
      expect(r.err).toBe('');
      return r.out;
    };
    expect(await run('--shape', 'constructor=2,__proto__=4')).toMatch(
      /^toString: f32\[2,4\] .*\nconstructor: f32\[2,4\] /,
    );
    expect(await run()).toMatch(/^toString: f32\[16,16\] /);
    writeFileSync(join(dir, '__proto__.npy'), writeNpy(tensor('f32', [5, 3], 1)));
    expect(await run('--inputs', dir)).toMatch(/^toString: f32\[5,3\] /);
  });
  it('.npy: a header key twice, an unknown key, a dtype named constructor', () => {
    const data = new Uint8Array(8);
    const h = (descr: string, extra = '') =>
      `{'descr': '${descr}', 'fortran_order': False, 'shape': (2,), ${extra}}`;
    expect(readNpy(npy(h('<f4'), data)).shape).toEqual([2]);
    expect(() => readNpy(npy(h('<f4', "'descr': '<i4', "), data), 'x.npy')).toThrow(
      "x.npy: header gives 'descr' twice",
    );
    expect(() => readNpy(npy(h('<f4', "'shape': (1, 2), "), data), 'x.npy')).toThrow(
      "x.npy: header gives 'shape' twice",
    );
    expect(() => readNpy(npy(h('<f4', "'__proto__': 1, "), data), 'x.npy')).toThrow(
      "x.npy: header key '__proto__' is not one of numpy's (descr, fortran_order, shape)",
    );
    expect(() => readNpy(npy(h('constructor'), data), 'x.npy')).toThrow(
      "x.npy: unsupported dtype 'constructor'",
    );
  });
  it('.npy with a key twice through the binary: exit 2, one line', () => {
    const dir = tmp();
    const header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 128, 64), 'shape': (1, 1, 1), }";
    writeFileSync(join(dir, 'x.npy'), npy(header, new Uint8Array(4 * 128 * 64)));
    expect(cliProcess('run', 'self-attention', '--inputs', dir)).toEqual({
      code: 2,
      out: '',
      err: `glimpse: error: ${join(dir, 'x.npy')}: header gives 'shape' twice\n`,
    });
  });
  it('safetensors: a dtype named constructor; a tensor named __proto__ round-trips', () => {
    const header = JSON.stringify({
      w: { dtype: 'constructor', shape: [1], data_offsets: [0, 4] },
    });
    const b = new Uint8Array(8 + header.length + 4);
    new DataView(b.buffer).setBigUint64(0, BigInt(header.length), true);
    b.set(new TextEncoder().encode(header), 8);
    expect(() => readSafetensors(b, 'w.safetensors')).toThrow(
      'w.safetensors: tensor \'w\': unsupported dtype "constructor"',
    );
    const t = tensor('f32', [2], 3);
    const back = readSafetensors(writeSafetensors(new Map([['__proto__', t]])));
    expect([...back.keys()]).toEqual(['__proto__']);
    expect(back.get('__proto__')!.data).toEqual(t.data);
  });
  it('a tensor whose dtype is constructor is not a tensor', () => {
    expect(() =>
      checkTensor({ dtype: 'constructor', shape: [1], data: new Float32Array(1) } as never, 'x'),
    ).toThrow('x: expected { dtype, shape, data } with dtype one of');
  });
});
