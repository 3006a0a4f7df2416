import type { Graph } from '@glimpse/ir';
import type { DeclineEntry, TraceEntry } from './trace.js';

export interface PassContext {
  /** Treat params as constants (their values may be folded into the graph). */
  readonly frozenParams: boolean;
  /** Record a rule firing. */
  trace(entry: TraceEntry): void;
  /** Record a rule that matched a root and declined, with its reason. */
  decline?(entry: DeclineEntry): void;
}

/** A pass: a named graph → graph function. Passes never print; instruments do. */
export interface Pass {
  /** kebab-case; the same string on the command line (`--passes a,b`). */
  readonly name: string;
  readonly description: string;
  /** Why it never changes an answer, NaN, ±inf and −0 included (docs/passes.md). */
  readonly exact: string;
  /**
   * Running it on its own output changes nothing (rule passes run to a fixpoint): the pass
   * manager then skips it when the graph is the one it last produced.
   */
  readonly idempotent?: boolean;
  run(g: Graph, ctx: PassContext): Graph;
}

export interface PassResult {
  readonly pass: Pass;
  readonly before: Graph;
  readonly after: Graph;
  readonly changed: boolean;
  readonly ms: number;
  /** Rule firings of this pass. */
  readonly rewrites: readonly TraceEntry[];
  /** Matches this pass declined, with their reasons (roots still in the graph after it). */
  readonly declines: readonly DeclineEntry[];
}

/**
 * Hooks around each pass (MLIR-style instrumentation): printing, timing, verification and
 * change detection live here, never inside passes.
 */
export interface Instrument {
  beforePass?(pass: Pass, g: Graph, index: number): void;
  afterPass?(result: PassResult, index: number): void;
  /** A pass threw: the graph before it and the pipeline that reproduces the failure. */
  onFailure?(pass: Pass, g: Graph, error: unknown, pipeline: readonly string[]): void;
}
