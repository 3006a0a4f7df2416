import type { Graph } from './graph.js';
import type { Binding } from './shape.js';
import { bindShape, concreteShape, numel, shapeToString } from './shape.js';
import { InputError } from './errors.js';
import { own } from './own.js';
import type { Tensor } from './tensor.js';
import { checkTensor } from './tensor.js';

/**
 * Bind symbols from the given inputs (and explicit `shapes`), checking dtype, rank, sizes
 * and that every input is present. Shared by the interpreter and the backends.
 */
export function bindInputs(
  g: Graph,
  inputs: Readonly<Record<string, Tensor>>,
  shapes: Binding = {},
): Record<string, number> {
  const binding: Record<string, number> = { ...shapes };
  for (const [k, v] of Object.entries(binding))
    if (!Number.isInteger(v) || v < 0)
      throw new InputError(`symbol ${k} bound to ${v}: must be an integer ≥ 0`);
  for (const name of Object.keys(inputs))
    if (!g.inputs.some((i) => i.name === name))
      throw new InputError(
        `unknown input '${name}' (graph inputs: ${g.inputs.map((i) => i.name).join(', ')})`,
        { value: name },
      );
  for (const inp of g.inputs) {
    const x = own(inputs, inp.name);
    if (x === undefined)
      throw new InputError(
        `missing input '${inp.name}' (${inp.type.dtype}${shapeToString(inp.type.shape)})`,
        { value: inp.name },
      );
    if (x.dtype !== inp.type.dtype)
      throw new InputError(`input '${inp.name}' has dtype ${x.dtype}, expected ${inp.type.dtype}`, {
        value: inp.name,
      });
    checkTensor(x, `input '${inp.name}'`);
    const msg = bindShape(inp.type.shape, x.shape, binding);
    if (msg !== undefined) throw new InputError(`input '${inp.name}': ${msg}`, { value: inp.name });
  }
  return binding;
}

/** Concrete shapes of every value under a binding. */
export function concreteShapes(g: Graph, binding: Binding): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const name of g.valueNames())
    m.set(name, concreteShape(g.typeOf(name).shape, binding, `%${name}`));
  // Reshape targets with symbols must agree with the bound sizes (e.g. [B,T,4,16] from 64 features).
  for (const n of g.nodes)
    if (n.op === 'reshape') {
      const inN = numel(m.get(n.inputs[0]!)!);
      const outN = numel(m.get(n.outputs[0]!)!);
      if (inN !== outN)
        throw new InputError(`reshape %${n.outputs[0]} gets ${inN} elements, needs ${outN}`);
    }
  return m;
}
