import type { DType } from '@glimpse/ir';
import { storageOf } from '@glimpse/runtime';
import type { UniformLayout } from './uniforms.js';

/**
 * The WGSL builder. A kernel writes its body against a few conventions and `shader()`
 * assembles the module: bindings, the uniform block, and a preamble holding only the
 * helpers the body uses.
 *
 * Conventions every shader shares:
 * - Everything that depends on a binding of the symbols (sizes, strides, offsets, scale
 *   factors) is a named uniform field, read as `u.<name>` through the kernel's
 *   `UniformLayout` (uniforms.ts), so one pipeline serves every T.
 * - `wg` is the linear workgroup index: dispatches past the device's per-dimension limit
 *   (65535) are split over x and y, and shaders check `wg` against their own count. It is
 *   a `let` of main (not a private variable) so that WGSL's uniformity analysis sees it
 *   as uniform and allows barriers after the check.
 */

/** WGSL type of each dtype's storage kind (the runtime's): a bool is a u32 on the GPU. */
export type Storage = 'f32' | 'i32' | 'u32';
const WGSL_STORAGE = { f32: 'f32', i32: 'i32', bool: 'u32' } as const;
export function storageType(d: DType): Storage {
  return WGSL_STORAGE[storageOf(d)];
}

/** Helper functions a body may call; each is emitted only when the body names it. */
const HELPERS: Record<string, string> = {
  is_nan: `fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }`,
  is_finite: `fn is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }`,
  // Non-finite values through private variables: WGSL rejects them in constant expressions.
  neg_inf: `var<private> g_neg_inf: u32 = 0xff800000u;\nfn neg_inf() -> f32 { return bitcast<f32>(g_neg_inf); }`,
  nan_f32: `var<private> g_nan: u32 = 0x7fc00000u;\nfn nan_f32() -> f32 { return bitcast<f32>(g_nan); }`,
  // SwiftShader's exp returns +inf for NaN; the ops' semantics need NaN to stay NaN.
  exp_f32: `fn exp_f32(x: f32) -> f32 { return select(exp(x), x, is_nan(x)); }`,
  // erf: below |x| = 1 its Maclaurin series to x²³ (relative error < 1e-9, so tiny x keep
  // their digits), above it 1 − erfc by Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7 where
  // erf ≥ 0.84); NaN stays NaN, ±inf gives ±1, ±0 gives ±0.
  erf_f32: `fn erf_f32(x: f32) -> f32 {
  let a = abs(x);
  let z = a * a;
  var s = 0.0;
  var c = array<f32, 12>(1.1283791670955126, -0.37612638903183754, 0.11283791670955126, -0.026866170645131252, 0.005223977625442188, -0.0008548327023450853, 0.00012055332981789664, -1.4925650358406251e-05, 1.6462114365889246e-06, -1.6365844691234924e-07, 1.4807192815879218e-08, -1.2290555301717926e-09);
  for (var n = 11; n >= 0; n--) { s = s * z + c[n]; }
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let tail = 1.0 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-z);
  let y = select(a * s, select(tail, 1.0, a > 9.0), a >= 1.0);
  // erf is odd: x's sign on |erf| (so −0 stays −0).
  return select(bitcast<f32>(bitcast<u32>(y) | (bitcast<u32>(x) & 0x80000000u)), x, is_nan(x));
}`,
  // 1/(1 + e^−x), saturated where e^−x would overflow f32 (0 below −88, 1 above 88).
  sigmoid_f32: `fn sigmoid_f32(x: f32) -> f32 { return select(1.0 / (1.0 + exp_f32(-x)), select(0.0, 1.0, x > 0.0), abs(x) > 88.0); }`,
  // |x| by the sign bit: exact for zeros, infinities and NaN on every implementation.
  abs_f32: `fn abs_f32(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) & 0x7fffffffu); }`,
  // WGSL leaves log of 0, negatives, +inf and NaN to the implementation; spelled out.
  log_f32: `fn log_f32(x: f32) -> f32 {
  let y = select(log(x), x, x > 3.4028234663852886e38);
  return select(select(y, neg_inf(), x == 0.0), nan_f32(), x < 0.0 || is_nan(x));
}`,
  // torch.minimum / maximum: NaN if either is; a when strictly smaller (larger), else b.
  min_f32: `fn min_f32(a: f32, b: f32) -> f32 { return select(select(b, a, a < b), nan_f32(), is_nan(a) || is_nan(b)); }`,
  max_f32: `fn max_f32(a: f32, b: f32) -> f32 { return select(select(b, a, a > b), nan_f32(), is_nan(a) || is_nan(b)); }`,
  // gelu through erfc for x < 0: in f32, 1 + erf(x/√2) cancels to 0 or below for x < −5,
  // where x·Φ(x) is a tiny negative number (so sqrt(gelu(x)) is NaN, not a number). A–S
  // 7.1.26's poly·exp(−a²) is erfc(a) itself; it is rounded to a multiple of 2⁻⁵³, as the
  // float64 1 + erf of the reference (the ops' definition) rounds it: 0 below x ≈ −8.3.
  gelu_f32: `fn gelu_f32(x: f32) -> f32 {
  let a = abs(x) * 0.70710678118654752;
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let c = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  let lower = round(c * 9007199254740992.0) * 1.1102230246251565e-16;
  return 0.5 * x * select(2.0 - c, lower, x < 0.0);
}`,
  // ½x(1 + tanh(z)), z = √(2/π)(x + 0.044715x³), with 1 + tanh(z) as 2 / (1 + e^{−2z}):
  // no cancellation for z ≪ 0 (where tanh's own error would be all that is left), then
  // rounded to a multiple of 2⁻⁵³ as the float64 1 + tanh of the reference (the op's
  // definition) rounds it: 0 below z ≈ −19.1, so gelu_tanh is ±0 there as on the reference.
  gelu_tanh_f32: `fn gelu_tanh_f32(x: f32) -> f32 {
  let c = 2.0 / (1.0 + exp_acc(-1.5957691216057308 * (x + 0.044715 * x * x * x)));
  return 0.5 * x * (round(c * 9007199254740992.0) * 1.1102230246251565e-16);
}`,
  // e^y to about 1 ulp: WGSL's exp may be off by 3 + 2|y| ulps, which x / (1 + e^y) passes
  // on whole. n = round(y/ln 2), r = y − n·ln 2 (ln 2 in two parts, n·hi exact), e^r by its
  // Taylor series to r⁸ (|r| ≤ ln 2 / 2), times 2ⁿ; NaN stays NaN, past f32's range ±inf, 0.
  exp_acc: `fn exp_acc(y: f32) -> f32 {
  let n = round(clamp(y, -150.0, 150.0) * 1.4426950408889634);
  let r = (y - n * 0.693145751953125) - n * 1.4286068203094173e-6;
  let p = 1.0 + r * (1.0 + r * (0.5 + r * (0.16666666666666666 + r * (0.041666666666666664 + r * (0.008333333333333333 + r * (0.001388888888888889 + r * (0.0001984126984126984 + r * 0.0000248015873015873)))))));
  let e = select(select(ldexp(p, i32(n)), 0.0, y < -104.0), -neg_inf(), y > 88.8);
  return select(e, y, is_nan(y));
}`,
  // WGSL's tanh may overflow to NaN for large |x|; saturate where f32 is already ±1.
  // ... and SwiftShader's tanh(−0) is +0: zeros pass through with their sign.
  tanh_f32: `fn tanh_f32(x: f32) -> f32 { return select(select(tanh(x), sign(x), abs(x) > 15.0), x, x == 0.0); }`,
  // −0 stays −0 and NaN stays NaN (only x < 0 becomes 0), as PyTorch's relu.
  relu_f32: `fn relu_f32(x: f32) -> f32 { return select(x, 0.0, x < 0.0); }`,
  // cos and sin of any finite f32: |x| ≤ π/4 directly; beyond, x·2/π reduced exactly
  // (Payne–Hanek): x's 24-bit mantissa times the 96 bits of 2/π that reach x's units —
  // the bits above them only add multiples of 4 quadrants — in 32×32-bit products of
  // 16-bit halves (WGSL has no 64-bit integers). The product's low 96 bits hold the
  // quadrant (2 bits) and a fraction exact to 2⁻⁶², so arguments as large as 3e38 or as
  // close to a multiple of π/2 as f32 allows keep their digits; polynomials on [−π/4, π/4]
  // then give cos and sin to about 1 ulp.
  two_over_pi: `fn two_over_pi(i: i32) -> u32 {
  var w = array<u32, 8>(0xa2f9836eu, 0x4e441529u, 0xfc2757d1u, 0xf534ddc0u, 0xdb629599u, 0x3c439041u, 0xfe5163abu, 0xdebbc561u);
  return w[i];
}`,
  two_over_pi_bits: `fn two_over_pi_bits(k: i32) -> u32 {
  // 32 bits of 2/π from its bit k (bit 1 is the first after the point; none before it).
  let t = k - 1;
  if (t <= -32) { return 0u; }
  if (t < 0) { return two_over_pi(0) >> u32(-t); }
  let sh = u32(t % 32);
  let hi = two_over_pi(t / 32);
  if (sh == 0u) { return hi; }
  return (hi << sh) | (two_over_pi(t / 32 + 1) >> (32u - sh));
}`,
  mul_wide: `fn mul_wide(a: u32, b: u32) -> vec2<u32> {
  // a·b as (high word, low word).
  let p00 = (a & 0xffffu) * (b & 0xffffu);
  let p01 = (a & 0xffffu) * (b >> 16u);
  let p10 = (a >> 16u) * (b & 0xffffu);
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>((a >> 16u) * (b >> 16u) + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u), (p00 & 0xffffu) | (mid << 16u));
}`,
  trig_reduce: `fn trig_reduce(ax: f32) -> vec2<f32> {
  // ax = |x| ≥ π/4, finite: (r, q) with ax = q·π/2 + r (mod 2π), |r| ≤ π/4.
  if (ax <= 0.7853981633974483) { return vec2<f32>(ax, 0.0); }
  let bits = bitcast<u32>(ax);
  let k0 = i32(bits >> 23u) - 151;
  let m = (bits & 0x7fffffu) | 0x800000u;
  let p0 = mul_wide(m, two_over_pi_bits(k0));
  let p1 = mul_wide(m, two_over_pi_bits(k0 + 32));
  let p2 = mul_wide(m, two_over_pi_bits(k0 + 64));
  let mid = p2.x + p1.y;
  let top = p1.x + p0.y + select(0u, 1u, mid < p2.x);
  var q = top >> 30u;
  var hi = top & 0x3fffffffu;
  var lo = mid;
  // A fraction of ½ or more is the next quadrant less 1 − f: negated in the integers, where
  // it is exact (in f32, f − 1 would cancel f's rounding into the result).
  let up = hi >= 0x20000000u;
  if (up) {
    lo = ~lo + 1u;
    hi = (~hi & 0x3fffffffu) + select(0u, 1u, lo == 0u);
    q = q + 1u;
  }
  let f = f32(hi) * 9.313225746154785e-10 + f32(lo) * 2.168404344971009e-19;
  return vec2<f32>(select(f, -f, up) * 1.5707963267948966, f32(q & 3u));
}`,
  trig_f32: `fn trig_f32(x: f32, quarter: u32) -> f32 {
  // cos x (quarter 0) or sin x (quarter 1, as cos(x − π/2) of |x|, then x's sign).
  if (!is_finite(x)) { return nan_f32(); }
  let red = trig_reduce(abs(x));
  let r = red.x;
  let z = r * r;
  let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  let s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  let q = (u32(red.y) + 3u * quarter) & 3u;
  let v = select(select(select(s, -c, q == 2u), -s, q == 1u), c, q == 0u);
  return select(v, bitcast<f32>(bitcast<u32>(v) ^ (bitcast<u32>(x) & 0x80000000u)), quarter == 1u);
}`,
  // +0 for ±0, NaN for NaN (WGSL's sign leaves NaN unspecified).
  sign_f32: `fn sign_f32(x: f32) -> f32 { return select(select(select(0.0, 1.0, x > 0.0), -1.0, x < 0.0), x, is_nan(x)); }`,
  // A rounding's result r of x with x's sign where r is zero (ceil(−0.5) = −0) and x where
  // x is NaN: the IEEE results, which a shader compiler need not keep.
  signed_zero: `fn signed_zero(r: f32, x: f32) -> f32 {
  let z = bitcast<f32>(bitcast<u32>(r) | (bitcast<u32>(x) & 0x80000000u));
  return select(select(r, z, r == 0.0), x, is_nan(x));
}`,
  // x rounded to the nearest f16 (ties to even), as a cast to f16 stores it: ±inf past
  // 65504 (from the halfway point 65520 on), f16 subnormals as multiples of 2⁻²⁴, NaN and
  // ±inf as they are. pack2x16float leaves rounding and overflow to the implementation.
  round_f16: `fn round_f16(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  let sign = b & 0x80000000u;
  let a = b & 0x7fffffffu;
  if (a >= 0x7f800000u) { return x; }
  if (a >= 0x477ff000u) { return bitcast<f32>(sign | 0x7f800000u); }
  if (a < 0x38800000u) {
    let r = round(bitcast<f32>(a) * 16777216.0) / 16777216.0;
    return bitcast<f32>(sign | bitcast<u32>(r));
  }
  return bitcast<f32>(sign | ((a + 0x0fffu + ((a >> 13u) & 1u)) & 0xffffe000u));
}`,
  idiv: `fn idiv(a: i32, b: i32) -> i32 { return select(a / select(b, 1, b == 0), 0, b == 0); }`,
  // Remainders by 0 are 0 (the ops' rule), as is INT_MIN by −1 (WGSL's too).
  ifmod: `fn ifmod(a: i32, b: i32) -> i32 { return select(a % select(b, 1, b == 0), 0, b == 0); }`,
  imod: `fn imod(a: i32, b: i32) -> i32 {
  let r = ifmod(a, b);
  return select(r, r + b, r != 0 && (r < 0) != (b < 0));
}`,
  // C's fmod exactly (WGSL's % is a − b·trunc(a/b), rounded): |a| less b·2ᵏ, the largest
  // such multiple not past it, until below |b| — each subtraction exact (s ≤ r < 2s).
  fmod_f32: `fn fmod_f32(a: f32, b: f32) -> f32 {
  let y = abs_f32(b);
  var r = abs_f32(a);
  if (is_nan(a) || is_nan(b) || !is_finite(a) || y == 0.0) { return nan_f32(); }
  if (r < y || !is_finite(b)) { return a; }
  loop {
    if (r < y) { break; }
    var s = ldexp(y, frexp(r).exp - frexp(y).exp);
    if (s > r) { s = s * 0.5; }
    r = r - s;
  }
  return bitcast<f32>(bitcast<u32>(r) | (bitcast<u32>(a) & 0x80000000u));
}`,
  // torch.remainder: fmod plus b where the signs differ (a zero keeps fmod's sign).
  mod_f32: `fn mod_f32(a: f32, b: f32) -> f32 {
  let r = fmod_f32(a, b);
  return select(r, r + b, r != 0.0 && (r < 0.0) != (b < 0.0));
}`,
};

function helperClosure(text: string): string[] {
  const used: string[] = [];
  const visit = (src: string) => {
    for (const name of Object.keys(HELPERS))
      if (!used.includes(name) && new RegExp(`\\b${name}\\(`).test(src)) {
        used.push(name);
        visit(HELPERS[name]!);
      }
  };
  visit(text);
  // Dependencies first.
  return Object.keys(HELPERS).filter((n) => used.includes(n));
}

export interface BindingDecl {
  readonly name: string;
  readonly type: Storage | 'atomic<u32>' | 'vec4<f32>';
  readonly write: boolean;
}

export interface ShaderSpec {
  readonly bindings: readonly BindingDecl[];
  /** The kernel's uniform layout (bound after the storage bindings). */
  readonly uniforms: UniformLayout;
  readonly workgroupSize: number;
  /** Module-scope declarations (workgroup arrays, constants). */
  readonly decls?: string;
  /** Body of `main`; `lid` (local index) and `wg` (linear workgroup index) are available. */
  readonly body: string;
}

/** Assemble a full WGSL module from a kernel's parts. */
export function shader(s: ShaderSpec): string {
  const binds = s.bindings.map(
    (b, i) =>
      `@group(0) @binding(${i}) var<storage, ${b.write ? 'read_write' : 'read'}> ${b.name}: array<${b.type}>;`,
  );
  const pre = s.uniforms.declaration(s.bindings.length);
  const body = [s.decls ?? '', s.body].join('\n');
  const helpers = helperClosure(body).map((h) => HELPERS[h]!);
  return [
    ...binds,
    pre,
    ...helpers,
    s.decls ?? '',
    `@compute @workgroup_size(${s.workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.x + wid.y * nwg.x;
${indent(s.body, 2)}
}`,
  ]
    .filter((x) => x !== '')
    .join('\n');
}

export function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : pad + l))
    .join('\n');
}

/**
 * The one N-d indexing helper: WGSL statements that split a row-major linear index `idx`
 * over `dims` (WGSL expressions, usually uniform fields) into coordinates `c0..c{r-1}`.
 */
export function unravel(idx: string, dims: readonly string[], prefix = 'c'): string {
  const rank = dims.length;
  if (rank === 0) return '';
  const lines = [`var rem_${prefix} = ${idx};`];
  for (let a = rank - 1; a >= 1; a--) {
    lines.push(`let ${prefix}${a} = rem_${prefix} % ${dims[a]};`);
    lines.push(`rem_${prefix} = rem_${prefix} / ${dims[a]};`);
  }
  lines.push(`let ${prefix}0 = rem_${prefix};`);
  return lines.join('\n');
}

/** WGSL expression: base + Σ c_a · strides[a] (WGSL expressions, usually uniform fields). */
export function offsetExpr(base: string, strides: readonly string[], prefix = 'c'): string {
  return [base, ...strides.map((st, a) => `${prefix}${a} * ${st}`)].join(' + ');
}
