import type { DType, TypedArray } from './dtype.js';
import { BYTES, isDType } from './dtype.js';
import { ParseError, withWhere } from './errors.js';
import type { GraphInput, NodeSpec, Param, ParamInit } from './graph.js';
import { Graph } from './graph.js';
import type { AttrSpec } from './ops/index.js';
import { OPS, isOpName } from './ops/index.js';
import type { Dim } from './shape.js';
import { arrayFor } from './tensor.js';
import type { AttrValue, TensorType } from './types.js';
import { dict, own } from './own.js';

export interface JsonType {
  dtype: DType;
  shape: Dim[];
}
export interface JsonGraph {
  format: 'glimpse-graph';
  version: 1;
  name: string;
  seed?: number;
  inputs: ({ name: string } & JsonType)[];
  params: ({ name: string; init?: unknown } & JsonType)[];
  outputs: string[];
  nodes: {
    id: string;
    op: string;
    inputs: string[];
    outputs: string[];
    attrs: Record<string, unknown>;
    type?: JsonType;
    types?: JsonType[];
  }[];
}

/** JSON has no inf/nan: they travel as the strings "inf", "-inf", "nan". */
function encNum(v: number): number | string {
  return Number.isFinite(v) ? v : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}
const SPECIAL = new Map([
  ['inf', Infinity],
  ['-inf', -Infinity],
  ['nan', NaN],
]);

function encAttr(v: AttrValue): unknown {
  if (typeof v === 'number') return encNum(v);
  if (Array.isArray(v))
    return v.map((x: number | string) => (typeof x === 'number' ? encNum(x) : x));
  return v;
}

function encInit(i: ParamInit, weights: boolean): unknown {
  switch (i.kind) {
    case 'data':
      return weights
        ? { kind: 'data', base64: Buffer.from(bytesOf(i.data)).toString('base64') }
        : { kind: 'external' };
    case 'uniform':
      return { kind: 'uniform', low: encNum(i.low), high: encNum(i.high) };
    case 'normal':
      return { kind: 'normal', mean: encNum(i.mean), std: encNum(i.std) };
    case 'fill':
      return { kind: 'fill', value: encNum(i.value) };
    default:
      return { kind: 'external' };
  }
}

function bytesOf(a: TypedArray): Uint8Array {
  // Little-endian on every platform Node and browsers run on; copy to drop any offset.
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

const typeJson = (t: TensorType): JsonType => ({ dtype: t.dtype, shape: [...t.shape] });

/** The JSON form of docs/design.md; weights (loaded param data) inlined only when asked. */
export function graphToJSON(g: Graph, options: { weights?: boolean } = {}): JsonGraph {
  return {
    format: 'glimpse-graph',
    version: 1,
    name: g.name,
    ...(g.seed !== 0 ? { seed: g.seed } : {}),
    inputs: g.inputs.map((v) => ({ name: v.name, ...typeJson(v.type) })),
    params: g.params.map((p) => ({
      name: p.name,
      ...typeJson(p.type),
      init: encInit(p.init, options.weights === true),
    })),
    outputs: [...g.outputs],
    nodes: g.nodes.map((n) => {
      const types = n.outputs.map((o) => typeJson(g.typeOf(o)));
      return {
        id: n.outputs[0]!,
        op: n.op,
        inputs: [...n.inputs],
        outputs: [...n.outputs],
        attrs: Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [k, encAttr(v)])),
        ...(types.length === 1 ? { type: types[0]! } : { types }),
      };
    }),
  };
}

// ---------------------------------------------------------------- reading

type Obj = Record<string, unknown>;

class Reader {
  constructor(private readonly file: string | undefined) {}
  err(msg: string, path: string): never {
    throw new ParseError(`${path}: ${msg}`, this.file ? { file: this.file } : {});
  }
  obj(v: unknown, path: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      this.err('expected an object', path);
    return v as Obj;
  }
  arr(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.err('expected an array', path);
    return v as unknown[];
  }
  str(v: unknown, path: string): string {
    if (typeof v !== 'string') this.err('expected a string', path);
    return v as string;
  }
  num(v: unknown, path: string): number {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && SPECIAL.has(v)) return SPECIAL.get(v)!;
    return this.err('expected a number', path);
  }
  type(o: Obj, path: string): TensorType {
    const d = this.str(o.dtype, `${path}.dtype`);
    if (!isDType(d)) this.err(`unknown dtype '${d}'`, `${path}.dtype`);
    const shape = this.arr(o.shape, `${path}.shape`).map((x, i): Dim => {
      if (typeof x === 'string') return x;
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 2 ** 31 - 1)
        this.err('expected a dim (integer ≥ 0 or symbol)', `${path}.shape[${i}]`);
      return x as number;
    });
    return { dtype: d as DType, shape };
  }
  attr(v: unknown, path: string): AttrValue {
    if (typeof v === 'number' || typeof v === 'boolean') return v;
    if (typeof v === 'string') return v;
    if (Array.isArray(v))
      return v.map((x, i) => {
        if (typeof x === 'number' || typeof x === 'string') return x;
        return this.err('expected a number or string', `${path}[${i}]`);
      });
    return this.err('expected a number, boolean, string or list', path);
  }
  init(v: unknown, t: TensorType, path: string): ParamInit {
    if (v === undefined) return { kind: 'external' };
    const o = this.obj(v, path);
    const kind = this.str(o.kind, `${path}.kind`);
    switch (kind) {
      case 'uniform':
        return {
          kind,
          low: this.num(o.low, `${path}.low`),
          high: this.num(o.high, `${path}.high`),
        };
      case 'normal':
        return {
          kind,
          mean: this.num(o.mean, `${path}.mean`),
          std: this.num(o.std, `${path}.std`),
        };
      case 'fill':
        return { kind, value: this.num(o.value, `${path}.value`) };
      case 'external':
        return { kind };
      case 'data': {
        const b64 = this.str(o.base64, `${path}.base64`);
        if (t.shape.some((d) => typeof d !== 'number')) this.err('param shape must be fixed', path);
        const n = (t.shape as number[]).reduce((a, b) => a * b, 1);
        // Check the declared size against the text before allocating anything from it.
        const bytes =
          Math.floor((b64.length * 3) / 4) - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
        if (bytes !== n * BYTES[t.dtype])
          this.err(`holds ${bytes} bytes, shape needs ${n * BYTES[t.dtype]}`, path);
        const buf = Buffer.from(b64, 'base64');
        if (buf.length !== bytes) this.err('invalid base64', path);
        const out = arrayFor(t.dtype, n);
        new Uint8Array(out.buffer).set(buf);
        return { kind: 'data', data: out };
      }
      default:
        return this.err(`unknown init kind '${kind}'`, `${path}.kind`);
    }
  }

  graph(v: unknown): Graph {
    const o = this.obj(v, '$');
    if (o.format !== 'glimpse-graph')
      this.err('not a glimpse graph (format must be "glimpse-graph")', '$.format');
    if (o.version !== 1)
      this.err(
        `unsupported version ${JSON.stringify(o.version)} (this reader knows 1)`,
        '$.version',
      );
    const decl = (x: unknown, p: string): GraphInput => {
      const d = this.obj(x, p);
      return { name: this.str(d.name, `${p}.name`), type: this.type(d, p) };
    };
    const inputs = this.arr(o.inputs, '$.inputs').map((x, i) => decl(x, `$.inputs[${i}]`));
    const params: Param[] = this.arr(o.params ?? [], '$.params').map((x, i) => {
      const d = decl(x, `$.params[${i}]`);
      return { ...d, init: this.init((x as Obj).init, d.type, `$.params[${i}].init`) };
    });
    const outputs = this.arr(o.outputs, '$.outputs').map((x, i) => this.str(x, `$.outputs[${i}]`));
    const nodes: NodeSpec[] = this.arr(o.nodes, '$.nodes').map((x, i) => {
      const p = `$.nodes[${i}]`;
      const n = this.obj(x, p);
      const attrsObj = this.obj(n.attrs ?? {}, `${p}.attrs`);
      const attrs = Object.fromEntries(
        Object.entries(attrsObj).map(([k, a]) => [k, this.attr(a, `${p}.attrs.${k}`)]),
      );
      const outs = this.arr(n.outputs, `${p}.outputs`).map((y, j) =>
        this.str(y, `${p}.outputs[${j}]`),
      );
      let types: TensorType[] | undefined;
      if (n.types !== undefined)
        types = this.arr(n.types, `${p}.types`).map((t, j) =>
          this.type(this.obj(t, `${p}.types[${j}]`), `${p}.types[${j}]`),
        );
      else if (n.type !== undefined)
        types = [this.type(this.obj(n.type, `${p}.type`), `${p}.type`)];
      return {
        op: this.str(n.op, `${p}.op`),
        inputs: this.arr(n.inputs, `${p}.inputs`).map((y, j) => this.str(y, `${p}.inputs[${j}]`)),
        outputs: outs,
        attrs: decodeNumbers(String(n.op), attrs),
        ...(types ? { types } : {}),
      };
    });
    const seed = o.seed === undefined ? 0 : this.num(o.seed, '$.seed');
    if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1)
      this.err('seed must be a 32-bit unsigned integer', '$.seed');
    return Graph.create({ name: this.str(o.name, '$.name'), inputs, params, nodes, outputs, seed });
  }
}

/** Float attributes travel with "inf"/"-inf"/"nan" strings; the op's spec says which are floats. */
function decodeNumbers(op: string, attrs: Record<string, AttrValue>): Record<string, AttrValue> {
  if (!isOpName(op)) return attrs; // the verifier reports the unknown op
  const specs = OPS[op].attrs as Record<string, AttrSpec>;
  const dec = (x: number | string) => (typeof x === 'string' ? (SPECIAL.get(x) ?? x) : x);
  const out = dict<AttrValue>();
  for (const [k, v] of Object.entries(attrs)) {
    const kind = own(specs, k)?.kind;
    if (kind === 'float' && typeof v === 'string') out[k] = dec(v);
    else if (kind === 'floats' && Array.isArray(v)) out[k] = v.map(dec);
    else out[k] = v;
  }
  return out;
}

/** Read the JSON graph format; errors name the JSON path and file. */
export function graphFromJSON(src: string | object, options: { file?: string } = {}): Graph {
  const file = options.file;
  let v: unknown = src;
  if (typeof src === 'string') {
    try {
      v = JSON.parse(src);
    } catch (e) {
      throw new ParseError(`invalid JSON: ${(e as Error).message}`, file ? { file } : {});
    }
  }
  try {
    return new Reader(file).graph(v);
  } catch (e) {
    throw withWhere(e, file !== undefined ? { file } : {});
  }
}
