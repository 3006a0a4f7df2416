import type { Binding, Graph, Node, Tensor } from '@glimpse/ir';
import { GlimpseError, UnsupportedError } from '@glimpse/ir';
import type { InputValue, RunOptions } from './inputs.js';

/** What every backend reports of one binding's memory, in bytes. */
export interface MemoryReport {
  /** Planned peak of intermediate values (slots reused across lifetimes). */
  readonly peakBytes: number;
  /** What one buffer per intermediate value would need, for comparison. */
  readonly unplannedBytes: number;
  /** Params and constants the executable holds (shared by every binding). */
  readonly paramBytes: number;
  /** Kernel scratch, shared by all steps of a binding. */
  readonly scratchBytes: number;
}

/** A graph compiled by a backend. */
export interface Executable {
  /** The backend's name, as registered. */
  readonly backend: string;
  /** The graph it runs (after optimisation and legalisation). */
  readonly graph: Graph;
  /** Run with boundary tensors (or bare typed arrays shaped by the graph and `shapes`). */
  run(
    inputs: Readonly<Record<string, InputValue>>,
    options?: RunOptions,
  ): Promise<Record<string, Tensor>>;
  /** The memory plan of a binding of the graph's symbols. */
  memory(binding: Binding): Promise<MemoryReport>;
  /**
   * Free what the executable holds (buffers, per-binding instances, worker threads). A
   * later `run` builds them again.
   */
  release(): Promise<void>;
}

/**
 * A backend's options, each with one line saying what it takes (`{ threads: 'worker
 * threads, ...' }`): what `compile()` lists when it refuses a key the backend does not take.
 */
export type OptionDocs<O extends object> = { readonly [K in keyof O]-?: string };

/**
 * A backend: one package that plugs into `compile()`. Register it with `registerBackend`;
 * `compile(graph, { backend: name })` optimises the graph, lowers the nodes the backend
 * `declines`, refuses options it does not declare (`checkBackendOptions`), then calls
 * `compile` with the backend's own options `O` only.
 */
export interface Backend<E extends Executable = Executable, O extends object = {}> {
  readonly name: string;
  /** One line for `glimpse --help` and errors. */
  readonly description: string;
  /** The options `compile` takes (none when absent); any other key is refused. */
  readonly options?: OptionDocs<O>;
  compile(graph: Graph, options?: O): Promise<E>;
  /**
   * A reason when the backend runs `node` badly and would rather have it lowered to the
   * ops it is made of (a fused attention with a head too wide for its kernel); undefined
   * to take it. Only ops with a lowering are asked.
   */
  declines?(node: Node, graph: Graph): string | undefined;
}

/** An option a backend does not take, or a value it refuses: names the backend and the option. */
export class BackendOptionError extends GlimpseError {
  constructor(
    readonly backend: string,
    readonly option: string,
    detail: string,
  ) {
    super('E_ATTR', detail);
  }
}
Object.defineProperty(BackendOptionError.prototype, 'name', { value: 'BackendOptionError' });

/** The option names a backend declares. */
export function optionNames(b: Backend): string[] {
  return Object.keys(b.options ?? {});
}

/**
 * Refuse a key of `options` that backend `b` does not declare, in one line naming the key
 * and the options it does take. Keys whose value is undefined count as absent.
 */
export function checkBackendOptions(b: Backend, options: object): void {
  const known = optionNames(b);
  for (const [k, v] of Object.entries(options))
    if (v !== undefined && !known.includes(k))
      throw new BackendOptionError(
        b.name,
        k,
        `backend '${b.name}' has no option '${k}' (${known.length ? `its options: ${known.join(', ')}` : 'it takes none'})`,
      );
}

const REGISTRY = new Map<string, Backend>();

/** Make a backend available to `compile()` by its name. */
export function registerBackend(b: Backend): void {
  const had = REGISTRY.get(b.name);
  if (had !== undefined && had !== b)
    throw new UnsupportedError(`a different backend named '${b.name}' is already registered`);
  REGISTRY.set(b.name, b);
}

/** Remove a backend (a test's toy one). */
export function unregisterBackend(name: string): void {
  REGISTRY.delete(name);
}

export function backendNames(): string[] {
  return [...REGISTRY.keys()];
}

export function getBackend(name: string): Backend {
  const b = REGISTRY.get(name);
  if (b === undefined)
    throw new UnsupportedError(
      `unknown backend '${name}' (available: ${backendNames().join(', ') || 'none registered'})`,
    );
  return b;
}
