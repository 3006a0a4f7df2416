import { UnsupportedError } from '@glimpse/ir';

/**
 * The matmul micro-kernel as WebAssembly SIMD: micro(kc, pa, pb, pc, ldc, acc) computes the
 * 4×4 float64 tile C (+)= A·B over kc steps from packed operands in the module's memory — A
 * and B each as kc×4 doubles (32 bytes a step) — with C's rows ldc bytes apart. Eight f64x2
 * accumulators, one splat of A per row. Float64 like the scalar JS micro-kernel it replaces
 * (same sums in the same order, so the same results to the bit), at ~8.5 GFLOP/s on one core
 * here against ~3.5; an f32x4 variant reached ~17 but rounds the scores of attention to f32,
 * which the reference comparisons of ±1e4 logits do not tolerate.
 *
 * The module is assembled from the constant bytes below (no text from any model is ever
 * part of it); it is the only code the backend generates.
 */
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const simd = (op: number) => [0xfd, ...uleb(op)];
const V128_LOAD = 0x00;
const V128_STORE = 0x0b;
const V128_CONST = 0x0c;
const F64X2_SPLAT = 0x14;
const F64X2_ADD = 0xf0;
const F64X2_MUL = 0xf2;
const F64_LOAD = 0x2b;
const I32 = 0x7f;
const V128 = 0x7b;
const memarg = (alignLog2: number, offset: number) => [...uleb(alignLog2), ...uleb(offset)];
const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => vec([...s].map((c) => [c.charCodeAt(0)]));
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const addConst = (local: number, n: number) => [
  ...get(local),
  0x41,
  ...uleb(n),
  0x6a,
  ...set(local),
];

function moduleBytes(): Uint8Array<ArrayBuffer> {
  // Params: 0 kc, 1 pa, 2 pb, 3 pc, 4 ldc (bytes between rows of C), 5 accumulate.
  // Locals: 6 k; 7, 8, 9 addresses of C's rows 1..3; 10..17 accumulators (row r, columns
  // 2h..2h+1 in accumulator 2r+h); 18 a; 19, 20 b.
  const [K, A, B0, B1] = [6, 18, 19, 20];
  const C = (i: number) => 10 + i;
  const row = (r: number) => (r === 0 ? 3 : 6 + r);
  const body: number[] = [];
  for (let r = 1; r < 4; r++) body.push(...get(row(r - 1)), ...get(4), 0x6a, ...set(row(r)));
  body.push(...get(5), 0x04, 0x40); // if accumulate: start from C
  for (let i = 0; i < 8; i++)
    body.push(...get(row(i >> 1)), ...simd(V128_LOAD), ...memarg(4, 16 * (i & 1)), ...set(C(i)));
  body.push(0x05); // else: from zero
  for (let i = 0; i < 8; i++)
    body.push(...simd(V128_CONST), ...new Array<number>(16).fill(0), ...set(C(i)));
  body.push(0x0b);
  body.push(0x02, 0x40, 0x03, 0x40); // block, loop
  body.push(...get(K), ...get(0), 0x4e, 0x0d, 0x01); // if k >= kc: break
  body.push(...get(2), ...simd(V128_LOAD), ...memarg(4, 0), ...set(B0));
  body.push(...get(2), ...simd(V128_LOAD), ...memarg(4, 16), ...set(B1));
  for (let r = 0; r < 4; r++) {
    body.push(...get(1), F64_LOAD, ...memarg(3, 8 * r), ...simd(F64X2_SPLAT), ...set(A)); // a = splat(A[k][r])
    for (const [b, c] of [
      [B0, 2 * r],
      [B1, 2 * r + 1],
    ] as const)
      body.push(
        ...get(C(c)),
        ...get(A),
        ...get(b),
        ...simd(F64X2_MUL),
        ...simd(F64X2_ADD),
        ...set(C(c)),
      );
  }
  body.push(...addConst(1, 32), ...addConst(2, 32), ...addConst(K, 1));
  body.push(0x0c, 0x00, 0x0b, 0x0b); // br loop; end loop; end block
  for (let i = 0; i < 8; i++)
    body.push(...get(row(i >> 1)), ...get(C(i)), ...simd(V128_STORE), ...memarg(4, 16 * (i & 1)));
  body.push(0x0b);
  const func = [
    ...vec([
      [...uleb(4), I32],
      [...uleb(11), V128],
    ]),
    ...body,
  ];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), ...vec([])]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, ...uleb(1)]])),
    ...section(
      7,
      vec([
        [...name('micro'), 0x00, 0],
        [...name('mem'), 0x02, 0],
      ]),
    ),
    ...section(10, vec([[...uleb(func.length), ...func]])),
  ]);
}

let compiled: WebAssembly.Module | undefined;

export interface SimdMicro {
  /**
   * micro(kc, pa, pb, pc, ldc, accumulate): byte offsets of packed A, packed B and C's first
   * row, the byte stride between C's rows; C (+)= A·B for the 4×4 tile.
   */
  readonly micro: (
    kc: number,
    pa: number,
    pb: number,
    pc: number,
    ldc: number,
    accumulate: number,
  ) => void;
  readonly memory: WebAssembly.Memory;
}

/** A fresh instance (own memory). Throws UnsupportedError where WebAssembly SIMD is missing. */
export function instantiateMicro(): SimdMicro {
  if (compiled === undefined) {
    const bytes = moduleBytes();
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes))
      throw new UnsupportedError(
        'the js backend needs WebAssembly SIMD (Node ≥ 16.4, Chrome ≥ 91, Firefox ≥ 89, Safari ≥ 16.4)',
      );
    compiled = new WebAssembly.Module(bytes);
  }
  const inst = new WebAssembly.Instance(compiled, {});
  return {
    micro: inst.exports.micro as SimdMicro['micro'],
    memory: inst.exports.mem as WebAssembly.Memory,
  };
}
