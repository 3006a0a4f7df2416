/**
 * Small ONNX models built in a test (one node or a few, initializers, typed outputs) and
 * their comparison with onnxruntime-node on every glimpse path.
 */
import { expect } from 'vitest';
import type { DType, Tensor } from '@glimpse/ir';
import { f32ToF16, interpret } from '@glimpse/ir';
import { importOnnx, onnx } from '@glimpse/onnx';
import { compile } from 'glimpse';
import { asRef, assertClose } from '../helpers.js';
import { runOrt } from './ort.js';

const ELEM: Record<string, number> = {
  f32: onnx.TensorProto.DataType.FLOAT,
  f16: onnx.TensorProto.DataType.FLOAT16,
  i64: onnx.TensorProto.DataType.INT64,
  i32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
};

export interface In {
  name: string;
  dtype: DType;
  /** Numbers, or names of symbolic dims (ONNX dim_param). */
  shape: (number | string)[];
}
/** An initializer; f16 values are given as numbers and stored as ONNX does, as bit patterns in int32_data. */
export type Init = {
  name: string;
  dtype: 'f32' | 'f16' | 'i64' | 'i32';
  shape: number[];
  v: number[];
};

/** A model of `nodes` at `opset`: inputs fed at run time, initializers, typed outputs. */
export function model(
  opset: number,
  inputs: In[],
  nodes: object[],
  outputs: { name: string; dtype: DType }[],
  inits: Init[] = [],
): Uint8Array {
  const vi = (i: In) => ({
    name: i.name,
    type: {
      tensorType: {
        elemType: ELEM[i.dtype],
        shape: {
          dim: i.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  });
  return onnx.ModelProto.encode({
    irVersion: 7,
    // onnxruntime's own operators (com.microsoft) are declared for the nodes that use them.
    opsetImport: [
      { domain: '', version: opset },
      { domain: 'com.microsoft', version: 1 },
    ],
    graph: {
      name: 'm',
      input: inputs.map(vi),
      output: outputs.map((o) => ({
        name: o.name,
        type: { tensorType: { elemType: ELEM[o.dtype] } },
      })),
      node: nodes.map((n, i) => ({ name: `n${i}`, ...n })),
      initializer: inits.map((t) => ({
        name: t.name,
        dataType: ELEM[t.dtype],
        dims: t.shape,
        ...(t.dtype === 'i64'
          ? { int64Data: t.v }
          : t.dtype === 'i32'
            ? { int32Data: t.v }
            : t.dtype === 'f16'
              ? { int32Data: t.v.map(f32ToF16) }
              : { floatData: t.v }),
      })),
    },
  }).finish();
}

export const attrInts = (name: string, v: number[]) => ({ name, type: 7, ints: v });
export const attrInt = (name: string, v: number) => ({ name, type: 2, i: v });
export const attrFloat = (name: string, v: number) => ({ name, type: 1, f: v });

/**
 * glimpse ≡ onnxruntime on one model: every output, on the reference, JS -O0 / -O2 and
 * wasm -O2; `close` for ops computed through transcendental functions or sums (true:
 * relative 1e-5 of the value, 1e-6 absolute; or the tolerance given), else equal bit for
 * bit (NaN to NaN, −0 to −0) — but for the sign of a zero with `anyZero`. With
 * `everywhere`, wasm -O0 and WGSL -O0 / -O2 too (WebGPU unless GLIMPSE_SKIP_WEBGPU=1).
 * With `oracle`, onnxruntime runs that equivalent model and its inputs instead; `shapes`
 * sizes symbolic dims at import.
 */
export async function sameAsOrt(
  bytes: Uint8Array,
  inputs: Record<string, Tensor>,
  close: boolean | { rtol: number; atol: number } = false,
  anyZero = false,
  everywhere = false,
  {
    oracle,
    shapes,
  }: {
    oracle?: { bytes: Uint8Array; inputs: Record<string, Tensor> };
    shapes?: Record<string, number>;
  } = {},
) {
  const g = importOnnx(bytes, { file: 'case.onnx', ...(shapes ? { shapes } : {}) });
  // onnxruntime runs `oracle` — an equivalent model in a form it has a CPU kernel for —
  // when given; its outputs are named as this model's.
  const want = oracle
    ? await runOrt(oracle.bytes, importOnnx(oracle.bytes), oracle.inputs)
    : await runOrt(bytes, g, inputs);
  const runs: [string, () => Promise<Record<string, Tensor | ReturnType<typeof asRef>>>][] = [
    ['reference', async () => interpret(g, inputs)],
    ['js -O0', async () => (await compile(g, { backend: 'js', level: 0 })).run(inputs)],
    ['js -O2', async () => (await compile(g, { backend: 'js', level: 2 })).run(inputs)],
    ['wasm -O2', async () => (await compile(g, { backend: 'wasm', threads: 1 })).run(inputs)],
  ];
  if (everywhere) {
    runs.push([
      'wasm -O0',
      async () => (await compile(g, { backend: 'wasm', level: 0, threads: 1 })).run(inputs),
    ]);
    if (process.env.GLIMPSE_SKIP_WEBGPU !== '1')
      for (const level of [0, 2] as const)
        runs.push([
          `wgsl -O${level}`,
          async () => (await compile(g, { backend: 'wgsl', level })).run(inputs),
        ]);
  }
  for (const [label, run] of runs) {
    const got = await run();
    for (const o of g.outputs) {
      const w = asRef(want[o]!);
      const gt = got[o]!;
      const gr =
        'data' in gt && ArrayBuffer.isView(gt.data) && !(gt.data instanceof Float64Array)
          ? asRef(gt as Tensor)
          : (gt as ReturnType<typeof asRef>);
      expect(gr.shape, `${label} %${o} shape`).toEqual(w.shape);
      // Float outputs within the tolerance; integer and bool outputs (an index) exactly.
      if (close && (w.dtype === 'f32' || w.dtype === 'f16'))
        assertClose(
          { dtype: 'f32', shape: gr.shape, data: Float32Array.from(gr.data) },
          w,
          close === true ? { rtol: 1e-5, atol: 1e-6 } : close,
          `${label} %${o}`,
        );
      else
        Array.from(w.data).forEach((x, i) =>
          expect(
            Object.is(gr.data[i], x) ||
              (Number.isNaN(gr.data[i]) && Number.isNaN(x)) ||
              (anyZero && gr.data[i] === x),
            `${label} %${o}[${i}]: ${gr.data[i]} vs ${x}`,
          ).toBe(true),
        );
    }
  }
}
