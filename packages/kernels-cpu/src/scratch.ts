import type { SimdMicro } from './simd.js';
import { instantiateMicro } from './simd.js';

/**
 * Scratch memory shared by the kernels of one instance. Kernels run one after another, so
 * one set of buffers serves them all: a factory declares what it needs, the instance
 * allocates once on first use, and the closure fetches the buffer when it runs.
 *
 * Two kinds: float64 arrays in JS (`need`/`f64`), and float64 regions in the memory of the
 * instance's own SIMD micro-kernel module (`needSimd`/`simd`), where packed matmul operands
 * and output tiles live.
 */
export class Scratch {
  private readonly sizes = new Map<string, number>();
  private readonly bufs = new Map<string, Float64Array>();
  private readonly simdSizes = new Map<string, number>();
  private simdState: SimdScratch | undefined;

  need(key: string, n: number): void {
    this.sizes.set(key, Math.max(this.sizes.get(key) ?? 0, n));
  }

  f64(key: string): Float64Array {
    let b = this.bufs.get(key);
    if (b === undefined) {
      b = new Float64Array(this.sizes.get(key) ?? 0);
      this.bufs.set(key, b);
    }
    return b;
  }

  /** Declare a float64 region of the micro-kernel's memory. */
  needSimd(key: string, n: number): void {
    if (this.simdState !== undefined)
      throw new Error(`scratch region ${key} declared after allocation`);
    this.simdSizes.set(key, Math.max(this.simdSizes.get(key) ?? 0, n));
  }

  /** The micro-kernel and its memory, with every declared region (allocated once). */
  simd(): SimdScratch {
    return (this.simdState ??= new SimdScratch(this.simdSizes));
  }

  get bytes(): number {
    let n = 0;
    for (const v of this.sizes.values()) n += v * 8;
    for (const v of this.simdSizes.values()) n += up2(v) * 8;
    return n;
  }
}

const up2 = (n: number) => n + (n & 1); // 16-byte alignment for v128 loads

export class SimdScratch {
  readonly micro: SimdMicro['micro'];
  /** The module's memory as doubles; region offsets are in doubles. */
  readonly mem: Float64Array;
  private readonly offsets = new Map<string, number>();

  constructor(sizes: ReadonlyMap<string, number>) {
    const m = instantiateMicro();
    let total = 0;
    for (const [k, n] of sizes) {
      this.offsets.set(k, total);
      total += up2(n);
    }
    const pages = Math.ceil((total * 8) / 65536);
    const have = m.memory.buffer.byteLength / 65536;
    if (pages > have) m.memory.grow(pages - have);
    this.micro = m.micro;
    this.mem = new Float64Array(m.memory.buffer);
  }

  /** Offset (in doubles) of a declared region. */
  at(key: string): number {
    const o = this.offsets.get(key);
    if (o === undefined) throw new Error(`scratch region ${key} was not declared`);
    return o;
  }
}
