import type { Graph } from '@glimpse/ir';
import { AttrError, GlimpseError, withWhere } from '@glimpse/ir';
import type { Instrument, Pass, PassContext, PassResult } from './pass.js';
import { PASSES, PIPELINES } from './pipelines.js';
import type { DeclineEntry, TraceEntry } from './trace.js';

export interface OptimizeOptions {
  /** Pipeline -O0, -O1 or -O2 (default 2). Ignored when `passes` is given. */
  level?: 0 | 1 | 2;
  /** Explicit pipeline: pass names (as `--passes a,b`) or pass objects. */
  passes?: readonly (string | Pass)[];
  instrument?: Instrument | readonly Instrument[];
  /** Params may be folded as constants (their values are final). */
  frozenParams?: boolean;
}

export interface OptimizeResult {
  readonly graph: Graph;
  readonly results: readonly PassResult[];
  readonly trace: readonly TraceEntry[];
  /** Every decline of every pass, in pipeline order. */
  readonly declines: readonly DeclineEntry[];
}

export function resolvePipeline(options: OptimizeOptions): Pass[] {
  if (options.passes === undefined) {
    const level = options.level ?? 2;
    if (!Object.hasOwn(PIPELINES, level))
      throw new AttrError(`unknown optimisation level ${String(level)} (0, 1 or 2)`);
    return [...PIPELINES[level]];
  }
  return options.passes.map((p) => {
    if (typeof p !== 'string') return p;
    const pass = Object.hasOwn(PASSES, p) ? PASSES[p] : undefined;
    if (pass === undefined)
      throw new AttrError(`unknown pass '${p}' (passes: ${Object.keys(PASSES).join(', ')})`);
    return pass;
  });
}

/** Run a pipeline with instrumentation; returns the final graph and what each pass did. */
export function optimizeWithResults(g: Graph, options: OptimizeOptions = {}): OptimizeResult {
  return runPipeline(g, options, true);
}

/**
 * The pass manager. With `keep`, every intermediate graph is kept (results); without, only
 * the current one and what the idempotence check needs, so a 50,000-node graph is not held
 * fifteen times over.
 */
function runPipeline(g: Graph, options: OptimizeOptions, keep: boolean): OptimizeResult {
  const pipeline = resolvePipeline(options);
  const instruments =
    options.instrument === undefined
      ? []
      : Array.isArray(options.instrument)
        ? options.instrument
        : [options.instrument as Instrument];
  const trace: TraceEntry[] = [];
  const declines: DeclineEntry[] = [];
  const results: PassResult[] = [];
  let cur = g;
  /** What each idempotent pass last produced: running it on that again is a no-op. */
  const lastOutput = new Map<Pass, Graph>();
  pipeline.forEach((pass, index) => {
    const rewrites: TraceEntry[] = [];
    const declined: DeclineEntry[] = [];
    // Without results or instruments nobody reads traces: passes skip making them.
    const ctx: PassContext = !keep
      ? { frozenParams: options.frozenParams === true, trace: () => {} }
      : {
          decline: (d) => {
            declined.push(d);
            declines.push(d);
          },
          frozenParams: options.frozenParams === true,
          trace: (e) => {
            rewrites.push(e);
            trace.push(e);
          },
        };
    for (const i of instruments) i.beforePass?.(pass, cur, index);
    const t0 = performance.now();
    let after: Graph;
    try {
      after = pass.idempotent && lastOutput.get(pass) === cur ? cur : pass.run(cur, ctx);
    } catch (e) {
      for (const i of instruments)
        i.onFailure?.(
          pass,
          cur,
          e,
          pipeline.map((p) => p.name),
        );
      throw e instanceof GlimpseError ? withWhere(e, {}) : e;
    }
    const result: PassResult = {
      pass,
      before: cur,
      after,
      changed: after !== cur,
      ms: performance.now() - t0,
      rewrites,
      declines: declined,
    };
    if (keep) results.push(result);
    lastOutput.set(pass, after);
    for (const i of instruments) i.afterPass?.(result, index);
    cur = after;
  });
  return { graph: cur, results, trace, declines };
}

/** Optimise a graph (docs/design.md: `optimize(g, { level, passes, instrument })`). */
export function optimize(g: Graph, options: OptimizeOptions = {}): Graph {
  const instrumented =
    options.instrument !== undefined &&
    (!Array.isArray(options.instrument) || options.instrument.length > 0);
  return runPipeline(g, options, instrumented).graph;
}
