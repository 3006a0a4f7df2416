import { RuntimeError } from '@glimpse/ir';

/**
 * Control words at `ctrlOffset` of the shared memory (worker.mjs reads the same):
 * gen (job generation, workers wait on it), fn (export index), n (tasks), args (argument
 * block), next (the next unclaimed task), done (workers finished), stop, error (a trap).
 */
const CTRL = { gen: 0, fn: 1, n: 2, args: 3, next: 4, done: 5, stop: 6, error: 7 } as const;
export const CTRL_BYTES = 64;
/**
 * Polls of a control word before a thread sleeps on it (worker.mjs has the same): a run's
 * jobs follow each other within microseconds, and a wake-up costs tens of them per job.
 */
const SPIN = 20000;

/**
 * The parent's Node flags a worker may take: those about the parent's own entry point
 * (--input-type, -e/-p and their script) are left out, as a worker started from a file
 * refuses them; so is each that Node refuses per thread — V8's (--expose-gc,
 * --max-old-space-size, --experimental-wasm-relaxed-simd) and the process's (--title) —
 * which apply to every thread without being passed. Which those are Node does not list: each
 * flag is tried once on a worker that runs nothing (the constructor refuses it at once).
 */
let argvForWorkers: string[] | undefined;
function workerArgv(Worker: typeof import('node:worker_threads').Worker): string[] {
  if (argvForWorkers) return argvForWorkers;
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    // execArgv holds only options: an argument that is not one is the value of the last.
    const value = argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-') ? [argv[i + 1]!] : [];
    i += value.length;
    const name = a.split('=')[0]!;
    if (['-e', '--eval', '-p', '--print', '--input-type'].includes(name)) continue;
    try {
      void new Worker('', { eval: true, execArgv: [a, ...value] }).terminate();
      out.push(a, ...value);
    } catch {
      // ERR_WORKER_INVALID_EXEC_ARGV: a process-wide flag, already in effect here.
    }
  }
  return (argvForWorkers = out);
}

/** What a task function is: (task index, argument block offset, thread index) → void. */
export type TaskFn = (task: number, args: number, thread: number) => void;

interface WorkerLike {
  terminate(): unknown;
  unref?(): void;
}

/**
 * The threads of one executable over one shared WebAssembly.Memory: the main thread and
 * `threads − 1` workers claim the tasks of a job from a shared counter (dynamic
 * scheduling: uneven tasks, such as causal attention's, balance themselves). Workers are
 * unref'd: a process whose work is done exits without `release()`.
 */
export class Pool {
  private workers: WorkerLike[] = [];
  private started: Promise<void> | undefined;
  private readonly ctrl: Int32Array;

  constructor(
    readonly threads: number,
    private readonly memory: WebAssembly.Memory,
    private readonly module: WebAssembly.Module,
    private readonly names: readonly string[],
    private readonly fns: readonly TaskFn[],
    private readonly ctrlOffset: number,
  ) {
    this.ctrl = new Int32Array(memory.buffer, ctrlOffset, CTRL_BYTES / 4);
  }

  /** Worker threads running now (the main thread is the other one). */
  get workerCount(): number {
    return this.workers.length;
  }

  /** Start the workers (once). */
  start(): Promise<void> {
    this.started ??= this.spawn();
    return this.started;
  }

  private async spawn(): Promise<void> {
    if (this.threads <= 1) return;
    const url = new URL('../worker.mjs', import.meta.url);
    const data = {
      module: this.module,
      memory: this.memory,
      names: this.names,
      ctrlOffset: this.ctrlOffset,
    };
    // Each worker says when it is ready: the main thread may block in a job afterwards,
    // and a worker still starting could need it (its event loop) to start.
    const ready: Promise<void>[] = [];
    if (typeof process !== 'undefined' && process.versions?.node) {
      const { Worker } = await import('node:worker_threads');
      for (let i = 1; i < this.threads; i++) {
        const w = new Worker(url, {
          workerData: { ...data, thread: i },
          execArgv: workerArgv(Worker),
        });
        ready.push(
          new Promise((resolve, reject) => {
            w.once('message', () => resolve());
            w.once('error', reject);
          }),
        );
        this.workers.push(w);
      }
    } else {
      for (let i = 1; i < this.threads; i++) {
        const w = new Worker(url, { type: 'module' });
        ready.push(
          new Promise((resolve, reject) => {
            w.addEventListener('message', () => resolve(), { once: true });
            w.addEventListener(
              'error',
              (e) => reject(new RuntimeError(`a worker failed: ${e.message}`)),
              { once: true },
            );
          }),
        );
        w.postMessage({ ...data, thread: i });
        this.workers.push(w);
      }
    }
    await Promise.all(ready);
    // Unref'd only now: while they start, a pending start must keep the process alive.
    for (const w of this.workers) w.unref?.();
  }

  /** Run tasks 0..n−1 of export `fn` with argument block `args`, on every thread. */
  run(fn: number, n: number, args: number): void {
    const f = this.fns[fn]!;
    const helpers = this.workers.length;
    if (helpers === 0 || n <= 1) {
      for (let t = 0; t < n; t++) f(t, args, 0);
      return;
    }
    const c = this.ctrl;
    Atomics.store(c, CTRL.fn, fn);
    Atomics.store(c, CTRL.n, n);
    Atomics.store(c, CTRL.args, args);
    Atomics.store(c, CTRL.next, 0);
    Atomics.store(c, CTRL.done, 0);
    Atomics.store(c, CTRL.error, 0);
    Atomics.add(c, CTRL.gen, 1);
    Atomics.notify(c, CTRL.gen);
    let trap: unknown;
    try {
      for (let t = Atomics.add(c, CTRL.next, 1); t < n; t = Atomics.add(c, CTRL.next, 1))
        f(t, args, 0);
    } catch (e) {
      trap = e;
      Atomics.store(c, CTRL.next, n); // the others stop claiming
    }
    // Wait for the workers (Atomics.wait is allowed on Node's main thread; a browser's
    // main thread may not block, so it spins).
    const canWait = typeof process !== 'undefined' && !!process.versions?.node;
    for (let i = 0; i < SPIN && Atomics.load(c, CTRL.done) < helpers; i++);
    for (let d = Atomics.load(c, CTRL.done); d < helpers; d = Atomics.load(c, CTRL.done))
      if (canWait) Atomics.wait(c, CTRL.done, d, 1000);
    if (trap !== undefined) throw trap;
    if (Atomics.load(c, CTRL.error) !== 0)
      throw new RuntimeError('a WebAssembly kernel trapped in a worker thread');
  }

  /** Stop and terminate the workers. */
  async close(): Promise<void> {
    if (this.started) await this.started;
    Atomics.store(this.ctrl, CTRL.stop, 1);
    Atomics.add(this.ctrl, CTRL.gen, 1);
    Atomics.notify(this.ctrl, CTRL.gen);
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
    this.started = undefined;
    Atomics.store(this.ctrl, CTRL.stop, 0);
  }
}
