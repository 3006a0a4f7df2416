/**
 * Checks shared by the backends that compute in f32 (WGSL, wasm): the float64 reference
 * with f32 tolerances, the inputs such computations can take without leaving f32's range,
 * and the plain f32 computation of a fused program.
 */
import type { Graph, RefTensor, Tensor } from '@glimpse/ir';
import { broadcastStrides, compileProgram, fromNumbers, interpret, toNumbers } from '@glimpse/ir';
import { assertClose, F32_TOL, flushSubnormal } from './helpers.js';

/** The inputs with f32 subnormals flushed to ±0, as WGSL may read them. */
export function flushedInputs(inputs: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(
    Object.entries(inputs).map(([k, t]) => [
      k,
      t.dtype === 'f32'
        ? fromNumbers('f32', [...t.shape], Array.from(toNumbers(t), flushSubnormal))
        : t,
    ]),
  );
}

/** What the f32 backends' checks run: a compiled graph. */
export type CompileFn = (g: Graph) => Promise<{
  run(
    inputs: Record<string, Tensor>,
    options?: { shapes?: Record<string, number> },
  ): Promise<Record<string, Tensor>>;
}>;

/**
 * Run a graph on an f32 backend (WGSL, wasm) and on the float64 reference; compare every
 * output. These backends compute in f32 throughout (f32 accumulators, unlike the JS
 * backend's f64), which the same F32_TOL covers for every op at these sizes (K ≤ 40, rows
 * ≤ 125 elements); callers widen `scale` where f32 rounding of large intermediates
 * (logits) is the limit. WGSL may flush subnormals to zero (the spec allows it;
 * SwiftShader does): where an input or a result is subnormal, the reference's result for
 * the inputs flushed to ±0 is accepted too.
 */
export async function checkF32Backend(
  label: string,
  compile: CompileFn,
  g: Graph,
  inputs: Record<string, Tensor>,
  options: {
    shapes?: Record<string, number>;
    scale?: number;
    /** Results also accepted (the plain f32 computation of the graph, when it has one). */
    alternatives?: readonly Record<string, RefTensor>[];
  } = {},
): Promise<Record<string, RefTensor>> {
  const shapes = options.shapes ?? {};
  const ref = interpret(g, inputs, { shapes });
  const ftz = interpret(g, flushedInputs(inputs), { shapes });
  const got = await (await compile(g)).run(inputs, { shapes });
  for (const o of g.outputs)
    assertClose(got[o]!, ref[o]!, F32_TOL, `${label} %${o}`, options.scale ?? 1, [
      ftz[o]!,
      ...(options.alternatives ?? []).map((a) => a[o]!),
    ]);
  return ref;
}

/**
 * Inputs for an op whose f32 intermediates on WGSL can leave f32's range (matmuls,
 * reductions, norms, attention, fused programs, division): finite values beyond ±1e4
 * become ±1e4; NaN, ±inf, ±0 and subnormals stay. Sums and products of values near f32's
 * largest overflow in f32 where the float64 reference does not (and flash attention
 * accumulates unnormalised weights times v): an f32 limit, documented in docs/wgsl.md,
 * not a per-op tolerance.
 */
export function boundedForF32Sums(inputs: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(
    Object.entries(inputs).map(([k, t]) => [
      k,
      t.dtype === 'f32'
        ? fromNumbers(
            'f32',
            [...t.shape],
            Array.from(toNumbers(t), (x) =>
              Number.isFinite(x) && Math.abs(x) > 1e4 ? Math.sign(x) * 1e4 : x,
            ),
          )
        : t,
    ]),
  );
}

/**
 * The plain f32 computation of an `elementwise` graph: its program compiled by the IR with
 * every op's result rounded to f32 — as WGSL computes a fused program (an
 * intermediate that leaves f32's range, exp(100), is inf there and in this).
 */
export function programInF32(g: Graph, inputs: Record<string, Tensor>): Record<string, RefTensor> {
  const node = g.nodes[0]!;
  const program = node.attrs.program as (number | string)[];
  const out = g.typeOf(node.outputs[0]!);
  const shape = [...inputs[node.inputs[0]!]!.shape];
  const n = shape.reduce((a, b) => a * b, 1);
  // Inputs broadcast to the output's shape.
  const vals = node.inputs.map((name) => toNumbers(inputs[name]!));
  const strides = node.inputs.map((name) => broadcastStrides([...inputs[name]!.shape], shape));
  const at = (k: number, i: number) => {
    let off = 0;
    for (let d = shape.length - 1, r = i; d >= 0; d--) {
      off += (r % shape[d]!) * strides[k]![d]!;
      r = Math.floor(r / shape[d]!);
    }
    return vals[k]![off]!;
  };
  const f = compileProgram(program, node.inputs.length, 'f32', Math.fround);
  const xs = new Array<number>(node.inputs.length);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < xs.length; k++) xs[k] = at(k, i);
    data[i] = f(xs);
  }
  return { [node.outputs[0]!]: { dtype: out.dtype, shape, data } };
}
