import { numel, stridesOf } from '@glimpse/ir';
import type { Storage } from '../wgsl.js';
import { offsetExpr, Params, shader, unravel } from '../wgsl.js';
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
  const P = new Params();
  P.u32(n);
  const dimsAt = P.u32(...m.shape);
  const ops = [...m.ins, m.out].map((o) => ({
    base: P.u32(o.base ?? 0),
    strides: P.u32(...o.strides),
  }));
  const xs = m.ins.map((_, i) => `x${i}`);
  const ks = (m.consts ?? []).map((v) => `pf(${P.f32(v)}u)`);
  const at = (i: number) => (flat ? 'gid' : offsetExpr(r, ops[i]!.base, ops[i]!.strides));
  const body = [
    `let gid = wg * ${WG}u + lid;`,
    `if (gid >= p(0u)) { return; }`,
    flat ? '' : unravel('gid', r, dimsAt),
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
    paramWords: P.words.length,
    workgroupSize: WG,
    body,
  });
  return {
    wgsl,
    bindings: [...m.ins.map((o) => o.ref), m.out.ref],
    params: P,
    workgroups: Math.ceil(n / WG),
  };
}
