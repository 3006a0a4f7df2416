import type { DType, TypedArray } from './dtype.js';
import { VerifyError, withWhere } from './errors.js';
import type { OpName } from './ops/index.js';
import { OPS, isOpName, resolveAttrs } from './ops/index.js';
import type { Shape } from './shape.js';
import { sameShape, SYMBOL_RE } from './shape.js';
import type { Attrs, TensorType } from './types.js';
import { typeToString } from './types.js';

/** How a param gets its values when no weights are loaded; `data` holds loaded weights. */
export type ParamInit =
  | { readonly kind: 'uniform'; readonly low: number; readonly high: number }
  | { readonly kind: 'normal'; readonly mean: number; readonly std: number }
  | { readonly kind: 'fill'; readonly value: number }
  | { readonly kind: 'data'; readonly data: TypedArray }
  /** Values must come from outside (a weights file); running without them is an error. */
  | { readonly kind: 'external' };

export interface GraphInput {
  readonly name: string;
  readonly type: TensorType;
}
export interface Param extends GraphInput {
  readonly init: ParamInit;
}

export interface Node {
  readonly op: OpName;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Attributes with defaults filled in. */
  readonly attrs: Attrs;
}

export interface GraphSpec {
  name: string;
  inputs: readonly GraphInput[];
  params: readonly Param[];
  nodes: readonly NodeSpec[];
  outputs: readonly string[];
  seed?: number;
}

/** A node as written by a user or a file: attrs may omit defaults, types may be declared. */
export interface NodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs?: Attrs;
  /** Declared output types (text/JSON); checked against inference. */
  types?: readonly (TensorType | undefined)[];
  /** Source line, for errors from files. */
  line?: number;
}

const NAME_OK = (s: string) => s.length > 0 && s.length <= 4096;

/**
 * An immutable, verified graph in SSA form. Every value has one producer (a graph input, a
 * param or a node output) and a type; nodes are kept in a topological order. Value names
 * are stable: passes keep them so that dumps diff line by line.
 */
export class Graph {
  readonly name: string;
  readonly inputs: readonly GraphInput[];
  readonly params: readonly Param[];
  readonly nodes: readonly Node[];
  readonly outputs: readonly string[];
  /** Seed of the params' deterministic initialisers. */
  readonly seed: number;
  private readonly types: ReadonlyMap<string, TensorType>;

  private constructor(spec: GraphSpec, nodes: Node[], types: Map<string, TensorType>) {
    this.name = spec.name;
    this.inputs = Object.freeze([...spec.inputs]);
    this.params = Object.freeze([...spec.params]);
    this.nodes = Object.freeze(nodes);
    this.outputs = Object.freeze([...spec.outputs]);
    this.seed = spec.seed ?? 0;
    this.types = types;
  }

  /** Verify and build. Throws a VerifyError/ShapeError/AttrError naming node and op. */
  static create(spec: GraphSpec): Graph {
    const types = new Map<string, TensorType>();
    const define = (
      name: string,
      t: TensorType,
      where: { node?: string; op?: string; line?: number },
    ) => {
      if (!NAME_OK(name))
        throw new VerifyError(`invalid value name ${JSON.stringify(name)}`, where);
      if (types.has(name))
        throw new VerifyError(`value %${name} is defined twice`, { ...where, value: name });
      types.set(name, t);
    };
    if (!NAME_OK(spec.name))
      throw new VerifyError(`invalid graph name ${JSON.stringify(spec.name)}`);
    for (const v of [...spec.inputs, ...spec.params]) {
      checkType(v.type, v.name);
      define(v.name, v.type, {});
    }
    for (const p of spec.params) {
      if (p.type.shape.some((d) => typeof d !== 'number'))
        throw new VerifyError(`param %${p.name} must have a fixed shape`, { value: p.name });
      checkInit(p);
    }
    const ordered = topoSort(spec.nodes, new Set(types.keys()));
    const nodes: Node[] = [];
    for (const ns of ordered) {
      const where = {
        node: ns.outputs[0] ?? '?',
        op: ns.op,
        ...(ns.line !== undefined ? { line: ns.line } : {}),
      };
      try {
        const node = makeNode(ns, (n) => types.get(n)!);
        const inferred = inferNode(node, (n) => types.get(n)!);
        node.outputs.forEach((o, i) => {
          const decl = ns.types?.[i];
          const inf = inferred[i]!;
          if (decl !== undefined && (decl.dtype !== inf.dtype || !sameShape(decl.shape, inf.shape)))
            throw new VerifyError(
              `declared type ${typeToString(decl)} of %${o} differs from inferred ${typeToString(inf)}`,
            );
          define(o, inf, where);
        });
        nodes.push(node);
      } catch (e) {
        throw withWhere(e, where);
      }
    }
    for (const o of spec.outputs)
      if (!types.has(o)) throw new VerifyError(`output %${o} is not defined`, { value: o });
    if (spec.outputs.length === 0) throw new VerifyError('graph has no outputs');
    return new Graph(spec, nodes, types);
  }

  typeOf(name: string): TensorType {
    const t = this.types.get(name);
    if (t === undefined) throw new VerifyError(`no value %${name}`, { value: name });
    return t;
  }

  has(name: string): boolean {
    return this.types.has(name);
  }

  /** Every value name in definition order: inputs, params, node outputs. */
  valueNames(): string[] {
    return [...this.types.keys()];
  }

  /** Symbols that occur in input shapes, in first-seen order. */
  symbols(): string[] {
    const s = new Set<string>();
    for (const v of [...this.inputs, ...this.params])
      for (const d of v.type.shape) if (typeof d === 'string') s.add(d);
    return [...s];
  }

  /** A copy with some parts replaced (re-verified). */
  with(parts: Partial<GraphSpec>): Graph {
    return Graph.create({ ...this.toSpec(), ...parts });
  }

  toSpec(): GraphSpec {
    return {
      name: this.name,
      inputs: this.inputs,
      params: this.params,
      nodes: this.nodes,
      outputs: this.outputs,
      seed: this.seed,
    };
  }
}

function checkType(t: TensorType, name: string) {
  for (const d of t.shape) {
    const ok = typeof d === 'number' ? Number.isInteger(d) && d >= 0 : SYMBOL_RE.test(d);
    if (!ok)
      throw new VerifyError(`bad dim ${JSON.stringify(d)} in the type of %${name}`, {
        value: name,
      });
  }
}

function checkInit(p: Param) {
  const i = p.init;
  if (i.kind === 'data') {
    if (p.type.shape.some((d) => typeof d !== 'number'))
      throw new VerifyError(`param %${p.name} has data but a symbolic shape`, { value: p.name });
    const n = (p.type.shape as number[]).reduce((a, b) => a * b, 1);
    if (i.data.length !== n)
      throw new VerifyError(`param %${p.name} has ${i.data.length} values, its shape needs ${n}`, {
        value: p.name,
      });
  } else if (
    p.type.dtype !== 'f32' &&
    p.type.dtype !== 'f16' &&
    (i.kind === 'uniform' || i.kind === 'normal')
  ) {
    throw new VerifyError(`param %${p.name}: random init needs a float dtype`, { value: p.name });
  }
}

function makeNode(ns: NodeSpec, typeOf: (n: string) => TensorType): Node {
  if (!isOpName(ns.op)) throw new VerifyError(`unknown op '${ns.op}'`);
  const def = OPS[ns.op];
  const specs = def.inputs;
  const min = specs.filter((s) => !s.optional).length;
  const variadic = 'variadic' in def && def.variadic === true;
  if (ns.inputs.length < min || (!variadic && ns.inputs.length > specs.length))
    throw new VerifyError(
      `takes ${variadic ? `at least ${min}` : min === specs.length ? min : `${min} to ${specs.length}`} inputs (${specs.map((s) => s.name).join(', ')}), got ${ns.inputs.length}`,
    );
  ns.inputs.forEach((name, i) => {
    const spec = specs[Math.min(i, specs.length - 1)]!;
    const t = typeOf(name);
    if (spec.dtypes !== undefined && !spec.dtypes.includes(t.dtype))
      throw new VerifyError(
        `input ${spec.name} (%${name}) has dtype ${t.dtype}, expected ${spec.dtypes.join(' or ')}`,
        { value: name },
      );
  });
  const attrs = resolveAttrs(def as never, ns.attrs ?? {});
  return { op: ns.op, inputs: [...ns.inputs], outputs: [...ns.outputs], attrs };
}

/** Output types of a node whose inputs are typed; checks the output count. */
export function inferNode(node: Node, typeOf: (n: string) => TensorType): TensorType[] {
  const def = OPS[node.op];
  const out = (def.infer as unknown as (i: TensorType[], a: Attrs) => TensorType[])(
    node.inputs.map(typeOf),
    node.attrs,
  );
  if (out.length !== node.outputs.length)
    throw new VerifyError(`has ${out.length} outputs but ${node.outputs.length} names were given`);
  return out;
}

/**
 * Order nodes so every value is defined before use (stable: keeps the given order when it
 * already is one). An undefined value and a cycle are reported with the nodes involved.
 */
function topoSort(nodes: readonly NodeSpec[], defined: Set<string>): NodeSpec[] {
  // Passes keep graphs in order almost always: check that first (one linear scan).
  const seen = new Set(defined);
  let ordered = true;
  for (const n of nodes) {
    if (!n.inputs.every((i) => seen.has(i))) {
      ordered = false;
      break;
    }
    for (const o of n.outputs) seen.add(o);
  }
  if (ordered) return [...nodes];
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));
  for (const n of nodes)
    for (const i of n.inputs)
      if (!defined.has(i) && !producer.has(i))
        throw new VerifyError(`value %${i} is used but never defined`, {
          node: n.outputs[0] ?? '?',
          op: n.op,
          value: i,
          ...(n.line !== undefined ? { line: n.line } : {}),
        });
  const state = new Uint8Array(nodes.length); // 0 new, 1 on stack, 2 done
  const out: NodeSpec[] = [];
  // Iterative DFS so that a deep graph cannot overflow the JS stack.
  for (let root = 0; root < nodes.length; root++) {
    if (state[root] !== 0) continue;
    const stack: [number, number][] = [[root, 0]];
    state[root] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [idx, k] = top;
      const n = nodes[idx]!;
      if (k < n.inputs.length) {
        top[1]++;
        const p = producer.get(n.inputs[k]!);
        if (p === undefined || defined.has(n.inputs[k]!)) continue;
        if (state[p] === 1) {
          const cyc = stack
            .slice(stack.findIndex(([j]) => j === p))
            .map(([j]) => `%${nodes[j]!.outputs[0]}`);
          throw new VerifyError(`cycle: ${[...cyc, cyc[0]].join(' -> ')}`, {
            node: n.outputs[0] ?? '?',
            op: n.op,
          });
        }
        if (state[p] === 0) {
          state[p] = 1;
          stack.push([p, 0]);
        }
      } else {
        state[idx] = 2;
        out.push(n);
        stack.pop();
      }
    }
  }
  return out;
}
