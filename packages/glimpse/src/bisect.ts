/**
 * Bisect: which node makes a backend's result go wrong. The graph runs on the backend with
 * every intermediate value kept (in chunks of values, so that a large graph needs no more
 * than a budget of host memory at once), and on the float64 reference interpreter or a
 * second backend; each value is compared by the one rule `run --check` uses. The culprit
 * is the first node whose result leaves the tolerance while every value it reads is within
 * it; nodes downstream of it are marked as inheriting, not blamed. A culprit is then run
 * on the reference from the backend's own inputs: a large error there is the kernel's
 * fault, a small one means the node amplifies its inputs' rounding (an ill-conditioned
 * computation such as a cancellation).
 */
import type { Binding, Graph, Node, RefTensor, Tensor } from '@glimpse/ir';
import {
  bindInputs,
  concreteShapes,
  evalNode,
  interpret,
  numel,
  paramValues,
  refToTensor,
  toNumbers,
  traitsOf,
} from '@glimpse/ir';
import { lowerDeclined, optimizeWithResults, type OptimizeOptions } from '@glimpse/optimizer';
import type { Backend } from '@glimpse/runtime';
import { checkBackendOptions, getBackend, optionNames } from '@glimpse/runtime';
import type { Comparison, Tolerance, Values } from './compare.js';
import { compareValues } from './compare.js';

export interface BisectOptions {
  /** The backend under test (a registered name). */
  readonly backend: string;
  /** What it is compared with: 'ref' (the float64 reference, default) or a backend's name. */
  readonly against?: string;
  /** The pipeline the graph is optimised with first (default: level 2). */
  readonly level?: 0 | 1 | 2;
  readonly passes?: OptimizeOptions['passes'];
  readonly frozenParams?: boolean;
  readonly shapes?: Binding;
  /** Threads of whichever side takes a `threads` option (the wasm backend). */
  readonly threads?: number;
  readonly tolerance?: Tolerance;
  /** Host bytes of kept values per chunk (default 256 MiB). */
  readonly chunkBytes?: number;
  /** For imported models: the source node each value was made for (ONNX node names). */
  readonly origins?: ReadonlyMap<string, string>;
  /** Called after each chunk of values is compared: how many of how many so far. */
  readonly onProgress?: (compared: number, total: number) => void;
}

export type ValueStatus = 'ok' | 'diverges' | 'inherited';

export interface ValueReport {
  readonly value: string;
  readonly op: string;
  /** Index of the node in the bisected graph. */
  readonly node: number;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly comparison: Comparison;
  readonly status: ValueStatus;
  /** The source model's node (ONNX), when known. */
  readonly origin?: string;
  /** A fused op (attention): the reference runs the unfused subgraph it replaced. */
  readonly fused?: boolean;
  /**
   * Diverging nodes: the node run on the reference from the backend's own inputs, compared
   * with the backend's output (a kernel fault when it fails, amplified rounding when not).
   */
  readonly local?: Comparison;
  /**
   * Diverging nodes: the largest finite |x| among the inputs the backend gave the node —
   * past √(f32 max) ≈ 1.8e19 a product overflows f32 where float64 does not.
   */
  readonly inputMaxAbs?: number;
}

export interface BisectReport {
  readonly graph: Graph;
  readonly backend: string;
  readonly against: string;
  readonly tolerance: Tolerance;
  readonly binding: Binding;
  readonly values: readonly ValueReport[];
  /** The first diverging value, if any. */
  readonly first?: ValueReport;
  /** What the first diverging node read, as the backend saw it (a repro's inputs). */
  readonly firstInputs?: Readonly<Record<string, Tensor>>;
  /** What the reference computes for that node from those inputs (a repro's outputs). */
  readonly firstReference?: Readonly<Record<string, Tensor>>;
}

export const DEFAULT_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-5 };

const asValues = (t: Tensor | RefTensor): Values => ({
  shape: t.shape,
  dtype: t.dtype,
  values: t.data instanceof Float64Array ? t.data : toNumbers(t as Tensor),
});

const asRef = (t: Tensor): RefTensor => ({
  dtype: t.dtype,
  shape: [...t.shape],
  data: Float64Array.from(toNumbers(t)),
});

/** The pipeline a bisect runs first: the passes given, else the level (default 2). */
const optimizeOptions = (o: BisectOptions): OptimizeOptions => ({
  ...(o.passes ? { passes: o.passes } : { level: o.level ?? 2 }),
  frozenParams: o.frozenParams === true,
});

/** The graph lowered so that both sides run it (each declines what it must). */
function legalFor(g: Graph, names: readonly string[]): Graph {
  const declines = names.map((n) => getBackend(n).declines).filter((d) => d !== undefined);
  if (declines.length === 0) return g;
  return lowerDeclined(g, (n: Node, gr: Graph) => {
    for (const d of declines) {
      const why = d(n, gr);
      if (why !== undefined) return why;
    }
    return undefined;
  }).graph;
}

/** `threads` for a backend that takes it; nothing for one that does not. */
function backendOptions(b: Backend, threads: number | undefined): { threads?: number } {
  return threads !== undefined && optionNames(b).includes('threads') ? { threads } : {};
}

/**
 * The backends a bisect compiles for, checked: `threads`, when given, must go to one of
 * them (a backend that takes no threads refuses it, as `compile()` does).
 */
function checkSides(o: BisectOptions, against: string): void {
  const sides = [o.backend, against].filter((n) => n !== 'ref').map(getBackend);
  if (o.threads !== undefined && !sides.some((b) => optionNames(b).includes('threads')))
    checkBackendOptions(sides[0]!, { threads: o.threads });
}

/** Run `g` with `outputs` as its outputs on a backend, or on the reference ('ref'). */
async function runKeeping(
  g: Graph,
  outputs: readonly string[],
  on: string,
  inputs: Readonly<Record<string, Tensor>>,
  binding: Binding,
  threads: number | undefined,
): Promise<Record<string, Tensor | RefTensor>> {
  const sub = g.with({ outputs: [...outputs] });
  if (on === 'ref') return interpret(sub, inputs, { shapes: binding });
  const backend = getBackend(on);
  const exe = await backend.compile(sub, backendOptions(backend, threads));
  try {
    return await exe.run(inputs, { shapes: binding });
  } finally {
    await exe.release();
  }
}

/**
 * Bisect `g` (optimised as asked) on `options.backend` against the reference or another
 * backend: every value compared, the first diverging node named.
 */
export async function bisect(
  g: Graph,
  inputs: Readonly<Record<string, Tensor>>,
  options: BisectOptions,
): Promise<BisectReport> {
  const against = options.against ?? 'ref';
  checkSides(options, against);
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const { graph: optimized } = optimizeWithResults(g, optimizeOptions(options));
  const graph = legalFor(
    optimized,
    against === 'ref' ? [options.backend] : [options.backend, against],
  );
  const binding = bindInputs(graph, inputs, options.shapes);
  const shapes = concreteShapes(graph, binding);
  const nodes = graph.nodes.filter((n) => n.op !== 'constant');
  // Chunks of values in node order, each within the byte budget (at least one value).
  const budget = options.chunkBytes ?? 256 * 2 ** 20;
  const chunks: string[][] = [[]];
  let bytes = 0;
  for (const v of nodes.flatMap((n) => n.outputs)) {
    const b = 12 * numel(shapes.get(v)!); // an f32 copy and a float64 one
    if (bytes + b > budget && chunks.at(-1)!.length > 0) {
      chunks.push([]);
      bytes = 0;
    }
    chunks.at(-1)!.push(v);
    bytes += b;
  }
  // The reference runs fused nodes as the unfused subgraphs they replaced (the lowered
  // node's output keeps its name, so values still pair up by name).
  const written =
    against === 'ref'
      ? lowerDeclined(graph, (n) => (traitsOf(n.op).fused ? 'compared unfused' : undefined)).graph
      : graph;
  // Values the backend reads exactly: graph inputs, params, constants.
  const exact = (name: string): RefTensor => {
    const inp = inputs[name];
    if (inp) return asRef(inp);
    const p = graph.params.find((x) => x.name === name);
    if (p)
      return {
        dtype: p.type.dtype,
        shape: p.type.shape as number[],
        data: paramValues(p, graph.seed),
      };
    const c = graph.nodes.find((n) => n.outputs.includes(name))!;
    return evalNode(c, [], [shapes.get(name)!])[0]!;
  };
  // The backend's values are held only until every node reading them is judged (a
  // diverging node is re-run from them), so the host holds about what a run keeps live.
  const got = new Map<string, Tensor>();
  const comparisons = new Map<string, Comparison>();
  const readers = new Map<string, number>();
  for (const n of nodes)
    for (const v of new Set(n.inputs)) readers.set(v, (readers.get(v) ?? 0) + 1);
  const release = (v: string) => {
    if ((readers.get(v) ?? 0) === 0) got.delete(v);
  };
  const within = (v: string) => comparisons.get(v)?.ok ?? true;
  const values: ValueReport[] = [];
  let first: ValueReport | undefined;
  let firstInputs: Record<string, Tensor> | undefined;
  let firstReference: Record<string, Tensor> | undefined;
  let next = 0;
  /** Judge the nodes whose outputs are all compared, in order. */
  const judge = () => {
    for (; next < graph.nodes.length; next++) {
      const n = graph.nodes[next]!;
      if (n.op === 'constant') continue;
      if (!n.outputs.every((o) => comparisons.has(o))) return;
      const bad = n.outputs.some((o) => !within(o));
      const status: ValueStatus = !bad ? 'ok' : n.inputs.every(within) ? 'diverges' : 'inherited';
      let local: Comparison | undefined;
      let inputMaxAbs = 0;
      if (status === 'diverges') {
        const seen = n.inputs.map((v) => got.get(v) ?? refToTensor(exact(v)));
        for (const t of seen)
          for (const x of toNumbers(t))
            if (Number.isFinite(x)) inputMaxAbs = Math.max(inputMaxAbs, Math.abs(x));
        const outs = evalNode(
          n,
          seen.map(asRef),
          n.outputs.map((o) => shapes.get(o)!),
        );
        // The worst output of the node.
        for (const [i, o] of n.outputs.entries()) {
          const c = compareValues(asValues(got.get(o)!), asValues(outs[i]!), tolerance);
          if (local === undefined || c.maxAbs > local.maxAbs || !c.ok) local = c;
        }
        if (firstInputs === undefined) {
          firstInputs = Object.fromEntries(n.inputs.map((v, i) => [v, seen[i]!]));
          firstReference = Object.fromEntries(n.outputs.map((o, i) => [o, refToTensor(outs[i]!)]));
        }
      }
      for (const o of n.outputs) {
        const report: ValueReport = {
          value: o,
          op: n.op,
          node: next,
          shape: shapes.get(o)!,
          dtype: graph.typeOf(o).dtype,
          comparison: comparisons.get(o)!,
          status,
          ...(options.origins?.get(o) !== undefined ? { origin: options.origins.get(o)! } : {}),
          ...(traitsOf(n.op).fused ? { fused: true } : {}),
          ...(local ? { local, inputMaxAbs } : {}),
        };
        values.push(report);
        if (status === 'diverges') first ??= report;
      }
      for (const v of new Set(n.inputs)) {
        readers.set(v, readers.get(v)! - 1);
        release(v);
      }
      n.outputs.forEach(release);
    }
  };
  const total = chunks.reduce((n, c) => n + c.length, 0);
  let compared = 0;
  for (const chunk of chunks) {
    if (chunk.length === 0) continue;
    const mine = await runKeeping(graph, chunk, options.backend, inputs, binding, options.threads);
    const theirs = await runKeeping(written, chunk, against, inputs, binding, options.threads);
    for (const v of chunk) {
      got.set(v, mine[v] as Tensor);
      comparisons.set(v, compareValues(asValues(mine[v]!), asValues(theirs[v]!), tolerance));
    }
    judge();
    compared += chunk.length;
    options.onProgress?.(compared, total);
  }
  return {
    graph,
    backend: options.backend,
    against,
    tolerance,
    binding,
    values,
    ...(first ? { first, firstInputs, firstReference } : {}),
  };
}

export interface PassReport {
  /** The pass (or 'as written' for the graph before any pass). */
  readonly pass: string;
  readonly changed: boolean;
  /** The graph's outputs on the backend after this pass, against the reference of the graph as written. */
  readonly outputs: readonly { value: string; comparison: Comparison }[];
  readonly ok: boolean;
}

export interface PassBisectReport {
  readonly backend: string;
  readonly tolerance: Tolerance;
  readonly passes: readonly PassReport[];
  /** The first pass after which an output leaves the tolerance (the graph before it within). */
  readonly first?: PassReport;
}

/**
 * Bisect the optimiser: the graph after every pass of the pipeline (from the pass
 * manager's results) runs on the backend, its outputs compared with the float64 reference
 * of the graph as written; the first pass after which they leave the tolerance is named.
 */
export async function bisectPasses(
  g: Graph,
  inputs: Readonly<Record<string, Tensor>>,
  options: BisectOptions,
): Promise<PassBisectReport> {
  checkSides(options, 'ref');
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const { results } = optimizeWithResults(g, optimizeOptions(options));
  const binding = bindInputs(g, inputs, options.shapes);
  const want = interpret(g, inputs, { shapes: binding });
  const stages = [
    { pass: 'as written', changed: true, graph: g },
    ...results.map((r) => ({ pass: r.pass.name, changed: r.changed, graph: r.after })),
  ];
  const passes: PassReport[] = [];
  let last: PassReport | undefined;
  for (const s of stages) {
    // An unchanged graph gives what the one before it gave.
    if (!s.changed && last) {
      passes.push({ ...last, pass: s.pass, changed: false });
      continue;
    }
    const legal = legalFor(s.graph, [options.backend]);
    const out = await runKeeping(
      legal,
      legal.outputs,
      options.backend,
      inputs,
      binding,
      options.threads,
    );
    const outputs = g.outputs.map((o) => ({
      value: o,
      comparison: compareValues(asValues(out[o]!), asValues(want[o]!), tolerance),
    }));
    last = { pass: s.pass, changed: s.changed, outputs, ok: outputs.every((o) => o.comparison.ok) };
    passes.push(last);
  }
  const i = passes.findIndex((p, k) => !p.ok && (k === 0 || passes[k - 1]!.ok));
  return { backend: options.backend, tolerance, passes, ...(i > 0 ? { first: passes[i] } : {}) };
}
