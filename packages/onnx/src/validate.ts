/**
 * What a model must be before any node converts, as ONNX's checker and onnxruntime hold
 * it: one opset import per domain; every name defined once (initializers, graph inputs,
 * node outputs) and every graph output listed once; each node within its operator's schema
 * — no more inputs or outputs than it takes, its required attributes present, no attribute
 * twice, none the op does not have, each of the schema's type; a Constant with exactly one
 * value. A file that breaks one of these is refused, naming the node, op and attribute:
 * converters read attributes by name and would otherwise default a wrong-typed one.
 */
import { FormatError } from '@glimpse/ir';
import type { AttributeProto, ModelProto, NodeProto } from './proto.js';
import { int, onnx } from './proto.js';
import { firstVersion, schemaOf } from './schema.js';

const DEFAULT_DOMAIN = 'ai.onnx';
const domainOf = (d: string | null | undefined) => (d ? d : DEFAULT_DOMAIN);

/** ONNX's attribute type names by number (AttributeProto.AttributeType). */
const TYPE_NAMES = new Map<number, string>(
  Object.entries(onnx.AttributeProto.AttributeType).map(([k, v]) => [Number(v), k]),
);
/** Where each type keeps its value: a scalar field, or a repeated one. */
const FIELDS: readonly (readonly [keyof AttributeProto, string])[] = [
  ['f', 'FLOAT'],
  ['i', 'INT'],
  ['s', 'STRING'],
  ['t', 'TENSOR'],
  ['g', 'GRAPH'],
  ['sparseTensor', 'SPARSE_TENSOR'],
  ['tp', 'TYPE_PROTO'],
  ['floats', 'FLOATS'],
  ['ints', 'INTS'],
  ['strings', 'STRINGS'],
  ['tensors', 'TENSORS'],
  ['graphs', 'GRAPHS'],
  ['sparseTensors', 'SPARSE_TENSORS'],
  ['typeProtos', 'TYPE_PROTOS'],
];

/** The type an attribute declares, or (files that leave `type` unset) the field it fills. */
export function attrType(a: AttributeProto): string {
  if (a.type) return TYPE_NAMES.get(a.type) ?? `type ${a.type}`;
  const filled = FIELDS.filter(([f]) => {
    const v = a[f];
    return Array.isArray(v) ? v.length > 0 : Object.hasOwn(a, f) && v !== null && v !== undefined;
  });
  return filled.length === 1 ? filled[0]![1] : filled.length === 0 ? 'no value' : 'several';
}

/** The version of each domain the model imports; two imports of one domain are refused. */
export function opsetVersions(model: ModelProto): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of model.opsetImport ?? []) {
    const d = domainOf(o.domain);
    const v = int(o.version, `opset of '${d}'`);
    if (out.has(d))
      throw new FormatError(`domain '${d}' is imported twice (opsets ${out.get(d)} and ${v})`);
    out.set(d, v);
  }
  return out;
}

function once(names: readonly string[], what: string) {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new FormatError(`${what} '${n}' is listed twice`);
    seen.add(n);
  }
}

/** The converter key of a node (its op, prefixed by its domain when not the default). */
export function opKey(n: NodeProto): string {
  return domainOf(n.domain) === DEFAULT_DOMAIN ? (n.opType ?? '') : `${n.domain}.${n.opType}`;
}

/** Check a model's graph as the module comment says; throws the first break it finds. */
export function validateModel(model: ModelProto, opsets: ReadonlyMap<string, number>) {
  const g = model.graph!;
  const inits = (g.initializer ?? []).map((t) => t.name ?? '');
  once(inits, 'initializer');
  once(
    (g.input ?? []).map((i) => i.name ?? ''),
    'graph input',
  );
  once(
    (g.output ?? []).map((o) => o.name ?? ''),
    'graph output',
  );
  // Names defined so far: an initializer may also be listed as a graph input (a weight).
  const defined = new Set([...inits, ...(g.input ?? []).map((i) => i.name ?? '')]);
  for (const node of g.node ?? []) {
    const name = node.name || node.output?.[0] || node.opType || '';
    const where = { node: name, op: opKey(node) };
    for (const o of node.output ?? []) {
      if (o === '') continue;
      if (defined.has(o)) throw new FormatError(`'${o}' is defined twice`, where);
      defined.add(o);
    }
    const key = opKey(node);
    const schema = schemaOf(key, opsets.get(domainOf(node.domain)) ?? 1);
    // An op the registry does not know is reported as unsupported (or is a converter's).
    if (schema === undefined) continue;
    if (schema === null)
      throw new FormatError(
        `${key} is not in opset ${opsets.get(domainOf(node.domain)) ?? 1} of '${domainOf(node.domain)}' (it is from ${firstVersion(key)})`,
        where,
      );
    checkArity('inputs', node.input?.length ?? 0, schema.inputs, where);
    checkArity('outputs', node.output?.length ?? 0, schema.outputs, where);
    const seen = new Set<string>();
    for (const a of node.attribute ?? []) {
      const n = a.name ?? '';
      if (seen.has(n)) throw new FormatError(`attribute '${n}' is given twice`, where);
      seen.add(n);
      const spec = schema.attrs.get(n);
      // ONNX reserves names starting with __ for tools; its checker lets them pass.
      if (!spec) {
        if (n.startsWith('__')) continue;
        throw new FormatError(
          `${key} has no attribute '${n}' (it takes ${[...schema.attrs.keys()].join(', ') || 'none'})`,
          where,
        );
      }
      const given = attrType(a);
      if (given !== spec.type)
        throw new FormatError(`attribute '${n}' must be ${spec.type}, got ${given}`, where);
    }
    for (const [n, spec] of schema.attrs)
      if (spec.required && !seen.has(n))
        throw new FormatError(`attribute '${n}' (${spec.type}) is required`, where);
    if (key === 'Constant' && seen.size !== 1)
      throw new FormatError(
        `a Constant takes exactly one value attribute, got ${[...seen].join(', ') || 'none'}`,
        where,
      );
  }
}

function checkArity(
  what: string,
  n: number,
  [lo, hi]: readonly [number, number],
  where: { node: string; op: string },
) {
  if (n >= lo && n <= hi) return;
  const count = lo === hi ? `${lo}` : hi === Infinity ? `at least ${lo}` : `${lo} to ${hi}`;
  throw new FormatError(
    `${where.op} takes ${count} ${hi === 1 ? what.slice(0, -1) : what}, got ${n}`,
    where,
  );
}
