import { hasSimd, ModuleBuilder } from '@glimpse/asm';
import { UnsupportedError } from '@glimpse/ir';

/**
 * The matmul micro-kernel as WebAssembly SIMD: micro(kc, pa, pb, pc, ldc, acc) computes the
 * 4×4 float64 tile C (+)= A·B over kc steps from packed operands in the module's memory — A
 * and B each as kc×4 doubles (32 bytes a step) — with C's rows ldc bytes apart. Eight f64x2
 * accumulators, one splat of A per row. Float64 like the scalar JS micro-kernel it replaces
 * (same sums in the same order, so the same results to the bit), at ~8.5 GFLOP/s on one core
 * here against ~3.5. The f32x4 kernels of the fast CPU path are @glimpse/backend-wasm's.
 */
function moduleBytes(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder({ initialPages: 1, maximumPages: 65536, shared: false });
  m.func('micro', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (c) => {
    const [kc, pa, pb, pc, ldc, accumulate] = [0, 1, 2, 3, 4, 5].map((i) => c.param(i));
    const k = c.local('i32');
    const rows = [pc!, c.local('i32'), c.local('i32'), c.local('i32')];
    // Accumulator 2r+h holds row r, columns 2h..2h+1.
    const C = Array.from({ length: 8 }, () => c.local('v128'));
    const a = c.local('v128');
    const [b0, b1] = [c.local('v128'), c.local('v128')];
    for (let r = 1; r < 4; r++)
      c.get(rows[r - 1]!)
        .get(ldc!)
        .i32.add()
        .set(rows[r]!);
    c.get(accumulate!).if(
      (c) =>
        C.forEach((acc, i) =>
          c
            .get(rows[i >> 1]!)
            .v128.load(16 * (i & 1))
            .set(acc),
        ),
      (c) => C.forEach((acc) => c.v128.const(new Array<number>(16).fill(0)).set(acc)),
    );
    c.block((c) =>
      c.loop((c) => {
        c.get(k).get(kc!).i32.ge_s().brIf(1);
        c.get(pb!).v128.load(0).set(b0);
        c.get(pb!).v128.load(16).set(b1);
        for (let r = 0; r < 4; r++) {
          c.get(pa!)
            .f64.load(8 * r)
            .f64x2.splat()
            .set(a);
          for (const [b, i] of [
            [b0, 2 * r],
            [b1, 2 * r + 1],
          ] as const)
            c.get(C[i]!).get(a).get(b).f64x2.mul().f64x2.add().set(C[i]!);
        }
        c.get(pa!).i32.const(32).i32.add().set(pa!);
        c.get(pb!).i32.const(32).i32.add().set(pb!);
        c.get(k).i32.const(1).i32.add().set(k).br(0);
      }),
    );
    C.forEach((acc, i) =>
      c
        .get(rows[i >> 1]!)
        .get(acc)
        .v128.store(16 * (i & 1)),
    );
  });
  return m.bytes();
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
    if (typeof WebAssembly === 'undefined' || !hasSimd())
      throw new UnsupportedError(
        'the js backend needs WebAssembly SIMD (Node ≥ 16.4, Chrome ≥ 91, Firefox ≥ 89, Safari ≥ 16.4)',
      );
    compiled = new WebAssembly.Module(moduleBytes());
  }
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
  const inst = new WebAssembly.Instance(compiled, { env: { memory } });
  return { micro: inst.exports.micro as SimdMicro['micro'], memory };
}
