import { numel, stridesOf } from '@glimpse/ir';
import type { Storage } from '../wgsl.js';
import { uniforms, type UniformValues } from '../uniforms.js';
import { offsetExpr, shader, unravel } from '../wgsl.js';
import type { Dispatch, Ref } from './types.js';

/** An operand of a map: where it lives and how the iteration's coordinates address it. */
export interface MapOperand {
  readonly ref: Ref;
  readonly type: Storage;
  /** Element offset of coordinate 0. */
  readonly base?: number;
  /** Element stride per iteration axis (0 broadcasts). */
  readonly strides: readonly number[];
}

export interface MapSpec {
  /** The iteration space: one invocation per element. */
  readonly shape: readonly number[];
  readonly ins: readonly MapOperand[];
  readonly out: MapOperand;
  /**
   * Float constants the expression uses, passed as uniforms: a literal would let the shader
   * compiler fold `x * 0` to 0 (SwiftShader does), losing NaN and ±inf, and would make
   * one pipeline per constant.
   */
  readonly consts?: readonly number[];
  /** The value written, from the loaded inputs `x0..`, the constants `k0..` (and coordinates `c0..` if used). */
  readonly expr: (xs: string[], ks: string[]) => string;
  /** The expression reads coordinates even when all operands are contiguous. */
  readonly usesCoords?: boolean;
}

const WG = 64;

/**
 * A map's uniforms: the element count, the iteration dims and each operand's base and
 * strides (inputs, then the output: operand i) unless the map is flat, and the constants
 * `k` (if any).
 */
type MapUniforms = {
  n: 'u32';
  dims?: readonly ['u32', number];
  k?: readonly ['f32', number];
  [base: `base${number}`]: 'u32';
  [strides: `strides${number}`]: readonly ['u32', number];
};

/**
 * The strided map: every elementwise op, broadcast, transpose, slice, concat piece and
 * split piece is one. The shader depends on the rank, the operand types and the
 * expression; sizes, strides and offsets are uniforms.
 */
export function mapDispatch(m: MapSpec): Dispatch {
  const r = m.shape.length;
  const n = numel(m.shape);
  const contiguous = stridesOf(m.shape as number[]);
  const flat =
    !m.usesCoords &&
    [...m.ins, m.out].every(
      (o) =>
        (o.base ?? 0) === 0 && o.strides.every((s, i) => s === contiguous[i] || m.shape[i] === 1),
    );
  // Operands 0..: the inputs, then the output. Each has its base and strides.
  const operands = [...m.ins, m.out];
  const consts = m.consts ?? [];
  // A flat map reads only the count (and its constants): one shader serves every rank.
  const spec: MapUniforms = { n: 'u32' };
  if (!flat) {
    spec.dims = ['u32', r];
    operands.forEach((_, i) => {
      spec[`base${i}`] = 'u32';
      spec[`strides${i}`] = ['u32', r];
    });
  }
  if (consts.length > 0) spec.k = ['f32', consts.length];
  const layout = uniforms(spec);
  const { u } = layout;
  const xs = m.ins.map((_, i) => `x${i}`);
  const ks = consts.length > 0 ? [...u.k!] : [];
  const at = (i: number) => (flat ? 'gid' : offsetExpr(u[`base${i}`]!, u[`strides${i}`]!));
  const body = [
    `let gid = wg * ${WG}u + lid;`,
    `if (gid >= ${u.n}) { return; }`,
    flat ? '' : unravel('gid', u.dims!, 'c'),
    ...m.ins.map((_, i) => `let x${i} = in${i}[${at(i)}];`),
    `out0[${at(m.ins.length)}] = ${m.expr(xs, ks)};`,
  ]
    .filter((l) => l !== '')
    .join('\n');
  const wgsl = shader({
    bindings: [
      ...m.ins.map((o, i) => ({ name: `in${i}`, type: o.type, write: false })),
      { name: 'out0', type: m.out.type, write: true },
    ],
    uniforms: layout,
    workgroupSize: WG,
    body,
  });
  const values: UniformValues<MapUniforms> = {
    n,
    ...(flat
      ? {}
      : {
          dims: m.shape,
          ...Object.fromEntries(
            operands.flatMap((o, i) => [
              [`base${i}`, o.base ?? 0],
              [`strides${i}`, o.strides],
            ]),
          ),
        }),
    ...(consts.length > 0 ? { k: consts } : {}),
  };
  return {
    wgsl,
    bindings: operands.map((o) => o.ref),
    uniforms: layout.fill(values),
    workgroups: Math.ceil(n / WG),
  };
}
