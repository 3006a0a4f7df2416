// How a failed case is named: running out of memory shows up differently in each runtime
// (V8, WebAssembly's 4 GiB, C++ std::bad_alloc, tfjs-wasm's out-of-bounds after a failed grow).
export const OOM =
  /out of memory|allocation failed|Array buffer allocation|bad_alloc|Allocation exceeds|memory access out of bounds|RangeError: .*(size|length)/i;

/** 'oom' for a failure that is running out of memory, else the status as recorded. */
export const outcome = (c) => (c.status === 'failed' && OOM.test(c.error ?? '') ? 'oom' : c.status);
