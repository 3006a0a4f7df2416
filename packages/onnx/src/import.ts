import type { Dim, Graph, Tensor, Val } from '@glimpse/ir';
import {
  cutList,
  FormatError,
  GraphBuilder,
  own,
  ShapeError,
  UnsupportedError,
  withWhere,
} from '@glimpse/ir';
import type { AttributeProto, ModelProto, NodeProto } from './proto.js';
import { decodeModel, int } from './proto.js';
import type { Operand } from './operand.js';
import { constFromTensor, valOf, withImportTally } from './operand.js';
import type { Cx } from './convert/index.js';
import { converterOf } from './convert/index.js';
import { convertIf } from './convert/control.js';
import { dtypeOf, tensorFromProto } from './tensor.js';
import { opKey, opsetVersions, validateModel } from './validate.js';

/**
 * Opsets of the default domain glimpse imports (25 changed none of the ops here but for
 * added types; ONNX's own tests of Reshape and Transpose are stored at 25). Where an op
 * changed between them, its converter reads `cx.opset`: attributes that became inputs
 * (Slice 10, Pad and Clip 11, Squeeze / Unsqueeze / Split / ReduceSum 13, the other
 * reductions 18, read by axesOf either way) and Softmax's flattening before 13.
 */
export const OPSETS = { min: 7, max: 25 } as const;
/** Declared input dims at or past this are refused before anything is sized by them. */
const MAX_DIM = 2 ** 31 - 1;

export interface ImportOptions {
  /** The file name, for errors. */
  file?: string;
  /** Graph name (default: the ONNX graph's). */
  name?: string;
  /**
   * Values of graph inputs that determine shapes (a Reshape's shape, Expand's, Slice's
   * bounds, ... fed as inputs, as ONNX's node tests do): asked for only those inputs, by
   * name and position among the model's inputs; they fold into constants and leave the
   * graph. Other inputs stay inputs.
   */
  constants?: (name: string, index: number) => Tensor | undefined;
  /** Filled with the ONNX node (its name, else its first output) each glimpse value was made for. */
  origins?: Map<string, string>;
  /**
   * Sizes for the model's symbolic dims, by their name in the file (`dim_param`, or the
   * identifier glimpse makes of it), fixed at import as onnxruntime's free dimension
   * overrides are: ops that need static shapes (Conv, the pools) then import.
   */
  shapes?: Readonly<Record<string, number>>;
}

/** Operands a converter needs as constants (shape-like), by op: their input positions. */
const SHAPE_OPERANDS = new Map<string, readonly number[]>([
  ['Reshape', [1]],
  ['Expand', [1]],
  ['Slice', [1, 2, 3, 4]],
  ['ConstantOfShape', [0]],
  ['Unsqueeze', [1]],
  ['Squeeze', [1]],
  ['Split', [1]],
  ['ReduceSum', [1]],
  ['ReduceMean', [1]],
  ['ReduceMax', [1]],
  ['ReduceMin', [1]],
  ['Range', [0, 1, 2]],
  ['If', [0]],
  ['Tile', [1]],
]);

/** Graph inputs that shape operands read, directly or through other nodes. */
function shapeInputs(nodes: readonly NodeProto[]): Set<string> {
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const need = nodes.flatMap((n) =>
    (SHAPE_OPERANDS.get(opKey(n)) ?? []).map((i) => n.input?.[i] ?? ''),
  );
  const seen = new Set<string>();
  const inputs = new Set<string>();
  while (need.length > 0) {
    const v = need.pop()!;
    if (v === '' || seen.has(v)) continue;
    seen.add(v);
    const p = producer.get(v);
    // Shape and Size read only the (static) shape of their input, not its values.
    if (p && p.opType !== 'Shape' && p.opType !== 'Size') need.push(...(p.input ?? []));
    else if (!p) inputs.add(v);
  }
  return inputs;
}

const SYMBOL = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The glimpse symbol of a `dim_param`: itself when an identifier; else (Paddle's exports
 * name dims 'p2o.DynamicDimension.0') `s_` and the name with other characters as '_'.
 */
export function onnxSymbol(dimParam: string): string {
  return SYMBOL.test(dimParam) ? dimParam : `s_${dimParam.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** The `dim_param`s of a model's graph inputs. */
export function onnxDimParams(model: ModelProto): string[] {
  return (model.graph?.input ?? []).flatMap((i) =>
    (i.type?.tensorType?.shape?.dim ?? []).flatMap((d) => (d.dimParam ? [d.dimParam] : [])),
  );
}

/** The names of a model's graph inputs (initializers excluded), in order. */
export function onnxInputNames(model: ModelProto): string[] {
  const g = model.graph;
  const inits = new Set((g?.initializer ?? []).map((t) => t.name ?? ''));
  return (g?.input ?? []).map((i) => i.name ?? '').filter((n) => !inits.has(n));
}

/** Decode an ONNX file once (for onnxInputNames and importOnnx both). */
export function decodeOnnx(bytes: Uint8Array, file = '<onnx>'): ModelProto {
  return decodeModel(bytes, file);
}

/**
 * An ONNX model as a glimpse graph. Initializers become params holding their data (frozen
 * weights); `dim_param`s become symbols; the shape arithmetic of exporters (Shape, Gather,
 * Concat, Unsqueeze, … on static shapes) folds to constants while importing. Every
 * unsupported op is reported at once, with its node names.
 */
export function importOnnx(model: Uint8Array | ModelProto, options: ImportOptions = {}): Graph {
  const file = options.file ?? '<onnx>';
  try {
    const m = model instanceof Uint8Array ? decodeModel(model, file) : model;
    return withImportTally(() =>
      importModel(
        m,
        options.name,
        options.constants ?? (() => undefined),
        options.origins,
        options.shapes ?? {},
      ),
    );
  } catch (e) {
    throw withWhere(e, { file });
  }
}

function importModel(
  model: ModelProto,
  name: string | undefined,
  constants: (name: string, index: number) => Tensor | undefined,
  origins: Map<string, string> | undefined,
  shapes: Readonly<Record<string, number>>,
): Graph {
  const g = model.graph;
  if (!g) throw new FormatError('the model has no graph');
  const opsets = opsetVersions(model);
  const opset = opsets.get('ai.onnx') ?? 0;
  if (opset < OPSETS.min || opset > OPSETS.max)
    throw new UnsupportedError(
      `opset ${opset || 'none'} of the default domain is not supported (glimpse imports opsets ${OPSETS.min}–${OPSETS.max})`,
    );
  const nodes = g.node ?? [];
  checkSupported(nodes);
  validateModel(model, opsets);

  const b = new GraphBuilder(name ?? (g.name || 'onnx_model'));
  const env = new Map<string, Operand>();
  for (const init of g.initializer ?? []) {
    const n = init.name ?? '';
    env.set(n, constFromTensor(tensorFromProto(init, `initializer '${n}'`), n));
  }
  let anon = 0;
  const foldable = shapeInputs(nodes);
  let index = 0; // position among the model's inputs (initializers listed as inputs excluded)
  for (const inp of g.input ?? []) {
    const n = inp.name ?? '';
    if (env.has(n)) continue; // an initializer listed as an input (older exporters): a weight
    const value = foldable.has(n) ? constants(n, index) : undefined;
    index++;
    if (value) {
      env.set(n, constFromTensor(value));
      continue;
    }
    const tt = inp.type?.tensorType;
    if (!tt) throw new UnsupportedError(`input '${n}' is not a tensor`);
    const dtype = dtypeOf(tt.elemType ?? 0, `input '${n}'`);
    const shape: Dim[] = (tt.shape?.dim ?? []).map((d, i) => {
      if (d.dimParam) {
        const sym = onnxSymbol(d.dimParam);
        const fixed = own(shapes, d.dimParam) ?? own(shapes, sym);
        if (fixed !== undefined) {
          if (!Number.isInteger(fixed) || fixed < 0 || fixed >= MAX_DIM)
            throw new ShapeError(`shape ${d.dimParam}=${fixed} is not a dim size`, { value: n });
          return fixed;
        }
        return sym;
      }
      if (d.dimValue === null || d.dimValue === undefined) return `unk_${anon++}`;
      const v = int(d.dimValue, `input '${n}' dim ${i}`);
      if (v < 0 || v >= MAX_DIM)
        throw new ShapeError(
          `input '${n}' declares dim ${i} = ${v}: dims must be in [0, ${MAX_DIM})`,
          { value: n },
        );
      return v;
    });
    if (!tt.shape) throw new UnsupportedError(`input '${n}' has no shape (rank unknown)`);
    env.set(n, { kind: 'val', val: b.input(n, dtype, shape) });
  }

  convertNodes(nodes, env, { b, opset, origins });

  for (const o of g.output ?? []) {
    const n = o.name ?? '';
    const v = env.get(n);
    if (!v) throw new FormatError(`graph output '${n}' is never defined`);
    b.output(named(b, v, n));
  }
  return b.build();
}

/** Every node glimpse cannot convert, named, before any work: one line. */
function checkSupported(nodes: readonly NodeProto[]): void {
  const bad = nodes.filter((n) => !converterOf(opKey(n)) && opKey(n) !== 'If');
  if (bad.length > 0)
    throw new UnsupportedError(
      `unsupported ONNX ops: ${cutList(bad.map((n) => `${opKey(n)} (node '${n.name || n.output?.[0]}')`))}`,
    );
}

interface Scope {
  readonly b: GraphBuilder;
  readonly opset: number;
  readonly origins: Map<string, string> | undefined;
}

/** Convert `nodes` in order, reading and extending `env` (ONNX name → operand). */
function convertNodes(nodes: readonly NodeProto[], env: Map<string, Operand>, sc: Scope): void {
  const { b, opset, origins } = sc;
  // A branch of an If sees the names of the graph around it; what it defines stays inside.
  const branch = (g: NonNullable<AttributeProto['g']>): Operand[] => {
    const inner = new Map(env);
    for (const init of g.initializer ?? [])
      inner.set(
        init.name ?? '',
        constFromTensor(tensorFromProto(init, `initializer '${init.name}'`), init.name ?? ''),
      );
    checkSupported(g.node ?? []);
    convertNodes(g.node ?? [], inner, sc);
    return (g.output ?? []).map((o) => {
      const v = inner.get(o.name ?? '');
      if (!v) throw new FormatError(`branch output '${o.name}' is never defined`);
      return v;
    });
  };
  for (const node of nodes) {
    const op = node.opType!;
    const nodeName = node.name || node.output?.[0] || op;
    const ins = (node.input ?? []).map((i) => {
      if (i === '') return undefined;
      const o = env.get(i);
      if (!o)
        throw new FormatError(
          `node '${nodeName}' (${op}) reads '${i}', which nothing defines before it`,
          {
            node: nodeName,
            op,
          },
        );
      return o;
    });
    const attrs = new Map<string, AttributeProto>(
      (node.attribute ?? []).map((a) => [a.name ?? '', a]),
    );
    const cx: Cx = { b, name: nodeName, op, opset, attrs, outputs: node.output ?? [] };
    let outs: Operand[];
    const mark = b.nodeCount;
    try {
      outs = opKey(node) === 'If' ? convertIf(ins, cx, branch) : converterOf(opKey(node))!(ins, cx);
    } catch (e) {
      throw withWhere(e, { node: nodeName, op });
    }
    if (origins) for (const v of b.valuesSince(mark)) origins.set(v, nodeName);
    (node.output ?? []).forEach((o, i) => {
      if (o !== '' && outs[i]) env.set(o, outs[i]!);
    });
  }
}

/** The graph value of an output under exactly its ONNX name (a free view where it differs). */
function named(b: GraphBuilder, o: Operand, n: string): Val {
  const v = valOf(b, o, n);
  return v.name === n ? v : b.reshape(v, v.type.shape, n);
}

export type { NodeProto };
