import { checkAllocation, RuntimeError } from '@glimpse/ir';

const PAGE = 65536;
/** WebAssembly memories are 32-bit: 65536 pages of 64 KiB. */
export const MAX_BYTES = 65536 * PAGE;
/** Bytes past the last allocation that loads may touch (a micro-kernel's full 8-lane row). */
const GUARD = 64;

export const align16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * One WebAssembly.Memory per executable, shared with the workers when there are threads.
 * Layout: control words, then the fixed region (params, constants, packed weights: once),
 * then the binding region every binding reuses from the same base (runs are sequential,
 * so one binding's values never outlive its run).
 */
export class Arena {
  readonly memory: WebAssembly.Memory;
  private fixedEnd: number;

  constructor(
    readonly shared: boolean,
    reserved: number,
  ) {
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared } as never);
    this.fixedEnd = align16(reserved);
  }

  /** Reserve `bytes` of the fixed region; returns their offset. */
  fixed(bytes: number, what: string): number {
    const at = this.fixedEnd;
    this.fixedEnd = align16(at + bytes);
    this.ensure(this.fixedEnd, what);
    return at;
  }

  /** Where every binding's region starts. */
  get bindingBase(): number {
    return this.fixedEnd;
  }

  /**
   * Grow to hold `end` bytes (plus the guard); past the memory budget or 4 GiB is a clear
   * error, not a crash.
   */
  ensure(end: number, what: string): void {
    const need = end + GUARD;
    if (need > MAX_BYTES)
      throw new RuntimeError(
        `${what} needs ${need} bytes of WebAssembly memory; a WebAssembly memory holds at most 4 GiB`,
      );
    checkAllocation(need, `${what} (WebAssembly memory)`);
    const have = this.memory.buffer.byteLength;
    if (need > have) this.memory.grow(Math.ceil((need - have) / PAGE));
  }

  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }
}
