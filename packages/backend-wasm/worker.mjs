// A thread of @glimpse/backend-wasm's pool (Node worker_threads; in a browser, a module
// Worker). It instantiates the executable's module over the shared memory, then runs the
// tasks of each job the main thread posts through the control words (pool.ts says what
// they hold), until told to stop. A trap is recorded, never left to hang the main thread.
const CTRL = { gen: 0, fn: 1, n: 2, args: 3, next: 4, done: 5, stop: 6, error: 7 };
/** Polls of the job counter before a worker sleeps (pool.ts's SPIN, the same). */
const SPIN = 20000;

function serve({ module, memory, names, ctrlOffset, thread }, ready) {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  const fns = names.map((n) => inst.exports[n]);
  const ctrl = new Int32Array(memory.buffer, ctrlOffset, 16);
  // The main thread waits for this before it posts the first job: it may then block.
  ready();
  let gen = 0;
  for (;;) {
    // A run posts its jobs back to back: spin a little before sleeping, so that the next
    // one starts without a wake-up's latency (tens of microseconds, per job).
    for (let i = 0; i < SPIN && Atomics.load(ctrl, CTRL.gen) === gen; i++);
    Atomics.wait(ctrl, CTRL.gen, gen);
    gen = Atomics.load(ctrl, CTRL.gen);
    if (Atomics.load(ctrl, CTRL.stop) !== 0) return;
    const f = fns[Atomics.load(ctrl, CTRL.fn)];
    const n = Atomics.load(ctrl, CTRL.n);
    const args = Atomics.load(ctrl, CTRL.args);
    try {
      for (let t = Atomics.add(ctrl, CTRL.next, 1); t < n; t = Atomics.add(ctrl, CTRL.next, 1))
        f(t, args, thread);
    } catch {
      Atomics.store(ctrl, CTRL.error, 1);
    }
    Atomics.add(ctrl, CTRL.done, 1);
    Atomics.notify(ctrl, CTRL.done);
  }
}

if (typeof process !== 'undefined' && process.versions?.node) {
  const { workerData, parentPort } = await import('node:worker_threads');
  serve(workerData, () => parentPort.postMessage('ready'));
} else {
  self.onmessage = (e) => serve(e.data, () => self.postMessage('ready'));
}
