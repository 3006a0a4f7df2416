import type { Binding, Graph, Tensor, TypedArray } from '@glimpse/ir';
import { bindInputs, checkTensor, concreteShape, dict, InputError, own, setOwn } from '@glimpse/ir';

/** What `run` takes per input: a tensor, or a bare typed array shaped by the graph. */
export type InputValue = Tensor | TypedArray;
export interface RunOptions {
  /** Values for symbols the inputs do not fix (needed for bare typed-array inputs). */
  shapes?: Binding;
  /**
   * Arrays to write outputs into, by output name, instead of fresh ones (the returned
   * tensors' data are these arrays): a caller that runs repeatedly keeps one set and the
   * engine allocates nothing per run for them. Each must be the output's dtype's array
   * type (Float32Array for f32, …) of exactly its size.
   */
  outputs?: Readonly<Record<string, TypedArray>>;
}

/**
 * Bare typed arrays become tensors shaped by the graph under the binding given by the
 * other inputs and `shapes`; a length that does not fit is an InputError.
 */
export function normalizeInputs(
  g: Graph,
  inputs: Readonly<Record<string, InputValue>>,
  shapes: Binding,
): Record<string, Tensor> {
  const out = dict<Tensor>();
  const partial: Record<string, number> = { ...shapes };
  const bare: string[] = [];
  for (const [name, v] of Object.entries(inputs)) {
    if (ArrayBuffer.isView(v)) bare.push(name);
    else out[name] = v;
  }
  for (const inp of g.inputs) {
    const t = out[inp.name];
    if (t)
      inp.type.shape.forEach(
        (d, i) =>
          typeof d === 'string' &&
          own(partial, d) === undefined &&
          t.shape[i] !== undefined &&
          setOwn(partial, d, t.shape[i]!),
      );
  }
  for (const name of bare) {
    const inp = g.inputs.find((i) => i.name === name);
    const data = inputs[name] as TypedArray;
    if (inp === undefined) {
      out[name] = { dtype: 'f32', shape: [data.length], data }; // reported as unknown by bindInputs
      continue;
    }
    let shape: number[];
    try {
      shape = concreteShape(inp.type.shape, partial, `input '${name}'`);
    } catch {
      throw new InputError(
        `input '${name}' is a bare array but its shape [${inp.type.shape.join(',')}] is not fixed: pass { dtype, shape, data } or options.shapes`,
        { value: name },
      );
    }
    out[name] = { dtype: inp.type.dtype, shape, data };
  }
  return out;
}

/**
 * A run's inputs as tensors and the binding of the graph's symbols they give, checked
 * (dtype, rank, sizes, every input present): the first thing every backend's `run` does.
 */
export function prepareInputs(
  g: Graph,
  inputs: Readonly<Record<string, InputValue>>,
  options: RunOptions = {},
): { tensors: Record<string, Tensor>; binding: Binding; into: Record<string, TypedArray> } {
  const tensors = normalizeInputs(g, inputs, options.shapes ?? {});
  const binding = bindInputs(g, tensors, options.shapes);
  return { tensors, binding, into: outputArrays(g, binding, options.outputs ?? {}) };
}

/** options.outputs checked against the graph's outputs under the binding, before any work. */
function outputArrays(
  g: Graph,
  binding: Binding,
  given: Readonly<Record<string, TypedArray>>,
): Record<string, TypedArray> {
  for (const name of Object.keys(given)) {
    const t = g.outputs.includes(name) ? g.typeOf(name) : undefined;
    if (t === undefined)
      throw new InputError(
        `options.outputs names '${name}', which is not an output (outputs: ${g.outputs.join(', ')})`,
        { value: name },
      );
    const shape = concreteShape(t.shape, binding, `output '${name}'`);
    checkTensor({ dtype: t.dtype, shape, data: given[name]! }, `options.outputs['${name}']`);
  }
  return dict(Object.entries(given));
}
