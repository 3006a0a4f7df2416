import type { DType } from './dtype.js';
import { VerifyError, withWhere } from './errors.js';
import type { GraphInput, NodeSpec, Param, ParamInit } from './graph.js';
import { Graph, inferNode } from './graph.js';
import type { AttrsOf, OpName } from './ops/index.js';
import { OPS, resolveAttrs } from './ops/index.js';
import type { Dim, Shape } from './shape.js';
import { uniqueName } from './shape.js';
import type { Attrs, TensorType } from './types.js';

/** A value under construction: its name and inferred type. */
export interface Val {
  readonly name: string;
  readonly type: TensorType;
}

/**
 * Builds a graph op by op, inferring types as it goes so that a shape error points at the
 * line that made it. Names given are kept (made unique with a suffix if taken).
 */
export class GraphBuilder {
  private readonly inputs: GraphInput[] = [];
  private readonly params: Param[] = [];
  private readonly nodes: NodeSpec[] = [];
  private readonly types = new Map<string, TensorType>();
  private readonly outputs: string[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh name based on `hint` (`hint_1`, `hint_2`, ... when taken). */
  fresh(hint: string): string {
    return uniqueName(hint, this.types, '_');
  }

  input(name: string, dtype: DType, shape: Shape): Val {
    if (this.types.has(name))
      throw new VerifyError(`input %${name} is defined twice`, { value: name });
    const type = { dtype, shape: [...shape] };
    this.inputs.push({ name, type });
    this.types.set(name, type);
    return { name, type };
  }

  param(name: string, dtype: DType, shape: readonly number[], init: ParamInit): Val {
    if (this.types.has(name))
      throw new VerifyError(`param %${name} is defined twice`, { value: name });
    const type = { dtype, shape: [...shape] };
    this.params.push({ name, type, init });
    this.types.set(name, type);
    return { name, type };
  }

  /** Apply a single-output op. */
  op<K extends OpName>(
    op: K,
    inputs: readonly Val[],
    attrs: Partial<AttrsOf<K>> = {},
    name?: string,
  ): Val {
    return this.opN(op, inputs, attrs, [name ?? `${op}_${this.counter++}`])[0]!;
  }

  /** Apply an op with several outputs (split), named from `names`. */
  opN<K extends OpName>(
    op: K,
    inputs: readonly Val[],
    attrs: Partial<AttrsOf<K>>,
    names: readonly string[],
  ): Val[] {
    const outputs = names.map((n) => this.fresh(n));
    const where = { node: outputs[0] ?? '?', op };
    try {
      const resolved = resolveAttrs(OPS[op] as never, attrs as Attrs);
      const node = { op, inputs: inputs.map((v) => v.name), outputs, attrs: resolved };
      const types = inferNode(node, (n) => this.types.get(n)!);
      outputs.forEach((o, i) => this.types.set(o, types[i]!));
      this.nodes.push(node);
      return outputs.map((o, i) => ({ name: o, type: types[i]! }));
    } catch (e) {
      throw withWhere(e, where);
    }
  }

  /** Nodes added so far (a mark for `valuesSince`). */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Values defined by the nodes added since `mark`. */
  valuesSince(mark: number): string[] {
    return this.nodes.slice(mark).flatMap((n) => n.outputs);
  }

  output(v: Val): void {
    this.outputs.push(v.name);
  }

  build(seed = 0): Graph {
    return Graph.create({
      name: this.name,
      inputs: this.inputs,
      params: this.params,
      nodes: this.nodes,
      outputs: this.outputs,
      seed,
    });
  }

  /** Convenience wrappers for the ops models use most. */
  linear(x: Val, w: Val, b?: Val, name?: string) {
    return this.op('linear', b ? [x, w, b] : [x, w], {}, name);
  }
  bmm(a: Val, b: Val, attrs: Partial<AttrsOf<'bmm'>> = {}, name?: string) {
    return this.op('bmm', [a, b], attrs, name);
  }
  transpose(x: Val, perm: readonly number[], name?: string) {
    return this.op('transpose', [x], { perm }, name);
  }
  reshape(x: Val, shape: readonly Dim[], name?: string) {
    return this.op('reshape', [x], { shape }, name);
  }
  constant(
    value: number | readonly number[],
    dtype: DType = 'f32',
    shape: readonly number[] = [],
    name?: string,
  ) {
    return this.op(
      'constant',
      [],
      { value: typeof value === 'number' ? [value] : value, dtype, shape },
      name,
    );
  }
}

/**
 * Build a graph with a callback: `fn` receives the builder and returns the output value(s).
 * Errors carry the node and op that failed.
 */
export function buildGraph(
  name: string,
  fn: (b: GraphBuilder) => Val | readonly Val[],
  options: { seed?: number } = {},
): Graph {
  const b = new GraphBuilder(name);
  const out = fn(b);
  for (const v of Array.isArray(out) ? out : [out as Val]) b.output(v);
  return b.build(options.seed ?? 0);
}
