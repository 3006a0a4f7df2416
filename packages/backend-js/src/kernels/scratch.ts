import { GemmScratch } from './gemm.js';

/**
 * Scratch memory shared by the kernels of one instance. Kernels run one after another, so
 * one set of buffers serves them all: a factory declares what it needs (`need`), the
 * instance allocates once, and the closure fetches the buffer when it runs.
 */
export class Scratch {
  private gemmScratch: GemmScratch | undefined;
  private readonly sizes = new Map<string, number>();
  private readonly bufs = new Map<string, Float64Array | Float32Array>();

  /** Declare that a kernel will use buffer `key` of at least n elements (f32 keys end in `:f32`). */
  need(key: string, n: number): void {
    this.sizes.set(key, Math.max(this.sizes.get(key) ?? 0, n));
  }

  private get(key: string, f32: boolean): Float64Array | Float32Array {
    let b = this.bufs.get(key);
    if (b === undefined) {
      const n = this.sizes.get(key) ?? 0;
      b = f32 ? new Float32Array(n) : new Float64Array(n);
      this.bufs.set(key, b);
    }
    return b;
  }

  /** The float64 buffer `key` (allocated on first use at its declared size). */
  f64(key: string): Float64Array {
    return this.get(key, false) as Float64Array;
  }

  /** The float32 buffer `key`, which must be declared with a name ending in `:f32`. */
  f32(key: `${string}:f32`): Float32Array {
    return this.get(key, true) as Float32Array;
  }

  /** The packing buffers of gemm. */
  get gemm(): GemmScratch {
    return (this.gemmScratch ??= new GemmScratch());
  }

  needGemm(): void {
    this.need('gemm', 0);
  }

  /** Bytes this scratch holds once every declared buffer exists. */
  get bytes(): number {
    let n = 0;
    for (const [k, v] of this.sizes)
      n += k === 'gemm' ? GemmScratch.BYTES : v * (k.endsWith(':f32') ? 4 : 8);
    return n;
  }
}
