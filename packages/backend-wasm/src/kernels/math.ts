import type { Code, Local, ModuleBuilder } from '@glimpse/asm';

/**
 * vexp(x): e^x in each f32 lane (Cephes' expf scheme): x = n·ln2 + r with n = round(x·log2 e)
 * and r from a two-part ln2, e^r by a degree-6 polynomial on |r| ≤ ln2/2, then 2ⁿ applied as
 * two factors 2^⌊n/2⌋·2^⌈n/2⌉ (each a normal f32), so results past FLT_MAX round to +inf
 * and those below FLT_MIN to subnormals or 0 with one rounding. Maximum relative error
 * 2⁻²² on normal results (test/wasm measures it against float64); x is clamped to
 * [−104, 89] first (e^−104 < 2⁻¹⁴⁹/2 is 0, e^89 is inf), so e^−inf = 0 and NaN stays NaN
 * (wasm's min and max propagate it).
 */
export function vexp(m: ModuleBuilder): number {
  return m.func('vexp', ['v128'], ['v128'], (c) => {
    const x = c.param(0);
    const [fx, r, y, n] = [c.local('v128'), c.local('v128'), c.local('v128'), c.local('v128')];
    c.get(x).f32x4.splatConst(89).f32x4.min().f32x4.splatConst(-104).f32x4.max().set(x);
    c.get(x).f32x4.splatConst(Math.LOG2E).f32x4.mul().f32x4.nearest().set(fx);
    c.get(x).get(fx).f32x4.splatConst(0.693359375).f32x4.mul().f32x4.sub();
    c.get(fx).f32x4.splatConst(-2.1219444e-4).f32x4.mul().f32x4.sub().set(r);
    c.f32x4.splatConst(1.98756915e-4);
    for (const k of [
      1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
    ])
      c.get(r).f32x4.mul().f32x4.splatConst(k).f32x4.add();
    c.get(r)
      .get(r)
      .f32x4.mul()
      .f32x4.mul()
      .get(r)
      .f32x4.add()
      .f32x4.splatConst(1)
      .f32x4.add()
      .set(y);
    // 2^n in two halves, each (h + 127) << 23 as the bits of an f32.
    c.get(fx).i32x4.trunc_sat_f32x4_s().set(n);
    const pow2 = (half: () => void) => {
      half();
      c.i32x4.splatConst(127).i32x4.add().i32.const(23).i32x4.shl();
    };
    c.get(y);
    pow2(() => c.get(n).i32.const(1).i32x4.shr_s());
    c.f32x4.mul();
    pow2(() => c.get(n).get(n).i32.const(1).i32x4.shr_s().i32x4.sub());
    c.f32x4.mul();
  });
}

/**
 * vtanh(x): for |x| ≥ 0.0625, sign(x)·(1 − 2/(e^{2|x|} + 1)) (absolute error ≤ 2⁻²³ from
 * the rounding of the quotient); below, the odd Taylor polynomial to x⁷ (truncation
 * < 1e-11 relative), so small arguments keep their relative precision. ±inf → ±1, NaN →
 * NaN, −0 → −0.
 */
export function vtanh(m: ModuleBuilder, vexpFn: number): number {
  return m.func('vtanh', ['v128'], ['v128'], (c) => {
    const x = c.param(0);
    const [a, big, x2, small] = [
      c.local('v128'),
      c.local('v128'),
      c.local('v128'),
      c.local('v128'),
    ];
    c.get(x).f32x4.abs().set(a);
    c.f32x4.splatConst(1).f32x4.splatConst(2);
    c.get(a).f32x4.splatConst(2).f32x4.mul().call(vexpFn).f32x4.splatConst(1).f32x4.add();
    c.f32x4.div().f32x4.sub().set(big);
    // Restore the sign: copy x's sign bit onto |tanh|.
    c.get(big).get(x).i32x4.splatConst(0x7fffffff).v128.bitselect().set(big);
    c.get(x).get(x).f32x4.mul().set(x2);
    c.f32x4
      .splatConst(-17 / 315)
      .get(x2)
      .f32x4.mul()
      .f32x4.splatConst(2 / 15)
      .f32x4.add();
    c.get(x2)
      .f32x4.mul()
      .f32x4.splatConst(-1 / 3)
      .f32x4.add();
    // x·(1 + x²·p): a product with x keeps −0's sign (x + x·(x²·p) would make it +0).
    c.get(x2).f32x4.mul().f32x4.splatConst(1).f32x4.add().get(x).f32x4.mul().set(small);
    // small where |x| < 0.0625 (NaN compares false: it takes `big`, NaN either way).
    c.get(small).get(big).get(a).f32x4.splatConst(0.0625).f32x4.lt().v128.bitselect();
  });
}

/**
 * vgelu(x) = x·Φ(x) = ½x(1 + erf(x/√2)), with erfc(|z|) = (a₁t + … + a₅t⁵)e^{−z²},
 * t = 1/(1 + p|z|) (Abramowitz & Stegun 7.1.26; absolute error ≤ 1.5e-7): 1 + erf(z) is
 * erfc(|z|) for z < 0, computed without the cancellation of 1 − (1 − erfc) (and rounded to
 * float64's grid near 1, as the reference's), and 2 − erfc(|z|) above. x → +inf gives inf, −inf gives NaN (−inf·0, as the reference), NaN
 * stays NaN, −0 stays −0.
 */
export function vgelu(m: ModuleBuilder, vexpFn: number): number {
  return m.func('vgelu', ['v128'], ['v128'], (c) => {
    const x = c.param(0);
    const [z, t, e] = [c.local('v128'), c.local('v128'), c.local('v128')];
    c.get(x).f32x4.splatConst(Math.SQRT1_2).f32x4.mul().f32x4.abs().set(z);
    c.f32x4
      .splatConst(1)
      .f32x4.splatConst(1)
      .get(z)
      .f32x4.splatConst(0.3275911)
      .f32x4.mul()
      .f32x4.add();
    c.f32x4.div().set(t);
    c.get(z).get(z).f32x4.mul().f32x4.neg().call(vexpFn).set(e);
    c.f32x4.splatConst(1.061405429);
    for (const k of [-1.453152027, 1.421413741, -0.284496736, 0.254829592])
      c.get(t).f32x4.mul().f32x4.splatConst(k).f32x4.add();
    c.get(t).f32x4.mul().get(e).f32x4.mul().set(t); // erfc(|z|) = 1 − erf(|z|)
    // 1 + erf(z): erfc(|z|) itself for z < 0 (no cancellation: GELU's tail keeps its
    // relative precision, and its sign), rounded to a multiple of 2⁻⁵³ as the float64
    // 1 + erf of the reference (the op's definition) rounds it — 0 below x ≈ −8.37, so
    // GELU is −0 there as on the reference; 2 − erfc(|z|) for z ≥ 0.
    c.get(t)
      .f32x4.splatConst(2 ** 53)
      .f32x4.mul()
      .f32x4.nearest()
      .f32x4.splatConst(2 ** -53)
      .f32x4.mul();
    c.f32x4.splatConst(2).get(t).f32x4.sub();
    c.get(x).f32x4.splatConst(0).f32x4.lt().v128.bitselect();
    // ½x first: (1 + erf)·x could overflow where the result does not.
    c.get(x).f32x4.splatConst(0.5).f32x4.mul().f32x4.mul();
  });
}

/** 2^f on |f| ≤ ½: a degree-6 fit of 2^f's relative error (f32 Horner: ≤ 9.7e-8 measured). */
const EXP2_POLY = [
  1.0, 0.6931471824645996, 0.24022646248340607, 0.05550328642129898, 0.009618489071726799,
  0.0013399932067841291, 0.00015345806605182588,
];

/**
 * vexp2(x): 2^x for the softmax of attention, whose arguments are (s − max)·log2 e ≤ 0:
 * n = round(x), 2^(x − n) by a degree-6 polynomial (relative error ≤ 1e-7), 2ⁿ as an
 * exponent field. x is clamped to [−127, 127]: 2^−127 and below are 0 (e^−88: weights that
 * small change no f32 sum), so −inf gives 0; NaN stays NaN. Half the work of `vexp`,
 * which handles the whole f32 range.
 */
export function vexp2(m: ModuleBuilder): number {
  return m.func('vexp2', ['v128'], ['v128'], (c) => {
    const n = c.local('v128');
    exp2Inline(c, c.param(0), n);
  });
}

/**
 * `vexp2`'s code in place, on local `x` (overwritten) with scratch local `n`, leaving the
 * result on the stack: the hot loop of attention calls nothing.
 */
export function exp2Inline(c: Code, x: Local, n: Local): void {
  c.get(x).f32x4.splatConst(127).f32x4.min().f32x4.splatConst(-127).f32x4.max().set(x);
  c.get(x).f32x4.nearest().set(n);
  c.get(x).get(n).f32x4.sub().set(x);
  c.f32x4.splatConst(EXP2_POLY[6]!);
  for (let k = 5; k >= 0; k--) c.get(x).f32x4.mul().f32x4.splatConst(EXP2_POLY[k]!).f32x4.add();
  c.get(n).i32x4.trunc_sat_f32x4_s().i32x4.splatConst(127).i32x4.add().i32.const(23).i32x4.shl();
  c.f32x4.mul();
}
