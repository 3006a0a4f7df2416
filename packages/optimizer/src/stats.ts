import type { Binding, Graph, Node, OpName } from '@glimpse/ir';
import { BYTES, concreteShapes, numel } from '@glimpse/ir';

export interface GraphStats {
  /** Nodes per op. */
  readonly ops: Readonly<Record<string, number>>;
  readonly nodes: number;
  /** Floating-point operations (a multiply-add counts 2). */
  readonly flops: number;
  /** Bytes read and written by all nodes (views excluded). */
  readonly bytes: number;
}

type Cost = (ins: number[][], outs: number[][], n: Node) => number;
const elementwise: Cost = (_i, o) => numel(o[0]!);
const none: Cost = () => 0;
const last = (s: number[], k = 1) => s[s.length - k]!;

/** FLOPs of each op: every op has an entry (the type checker says so). */
const FLOPS: { [K in OpName]: Cost } = {
  linear: (i, o) => 2 * numel(o[0]!) * last(i[0]!) + (i.length > 2 ? numel(o[0]!) : 0),
  bmm: (i, o, n) => 2 * numel(o[0]!) * (n.attrs.transpose_a ? last(i[0]!, 2) : last(i[0]!)),
  attention: (i, o, n) => {
    const [q, k] = [i[0]!, i[1]!];
    const rows = numel(q) / last(q); // batch · heads · T
    const S = n.attrs.layout === 'bshd' ? k[1]! : last(k, 2);
    return rows * S * (2 * last(q) + 2 * last(o[0]!) + 5);
  },
  softmax: (_i, o) => 5 * numel(o[0]!),
  layer_norm: (_i, o) => 8 * numel(o[0]!),
  reduce_sum: (i) => numel(i[0]!),
  reduce_mean: (i) => numel(i[0]!),
  reduce_max: (i) => numel(i[0]!),
  gather: () => 0,
  add: elementwise,
  sub: elementwise,
  mul: elementwise,
  div: elementwise,
  scale: elementwise,
  relu: elementwise,
  gelu: elementwise,
  tanh: elementwise,
  exp: elementwise,
  sqrt: elementwise,
  where: elementwise,
  not: none,
  equal: elementwise,
  less: elementwise,
  and: none,
  elementwise: (_i, o, n) =>
    numel(o[0]!) *
    (n.attrs.program as unknown[]).filter((t) => typeof t === 'string' && !t.startsWith('$'))
      .length,
  cast: none,
  transpose: none,
  reshape: none,
  concat: none,
  split: none,
  slice: none,
  expand: none,
  embedding: none,
  constant: none,
  tril: none,
};

/** Node counts, FLOPs and bytes moved of a graph under a binding of its symbols. */
export function graphStats(g: Graph, binding: Binding): GraphStats {
  const shapes = concreteShapes(g, binding);
  const ops: Record<string, number> = {};
  let flops = 0;
  let bytes = 0;
  for (const n of g.nodes) {
    ops[n.op] = (ops[n.op] ?? 0) + 1;
    const ins = n.inputs.map((i) => shapes.get(i)!);
    const outs = n.outputs.map((o) => shapes.get(o)!);
    flops += FLOPS[n.op](ins, outs, n);
    if (n.op === 'reshape') continue; // a view
    for (const v of [...n.inputs, ...n.outputs])
      bytes += numel(shapes.get(v)!) * BYTES[g.typeOf(v).dtype];
  }
  return { ops, nodes: g.nodes.length, flops, bytes };
}

const human = (n: number, unit: string) => {
  const k = ['', 'K', 'M', 'G', 'T'];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < k.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 2)} ${k[i]}${unit}`;
};

/** A table of stats side by side (columns: e.g. before and after optimisation). */
export function formatStats(
  columns: readonly { title: string; stats: GraphStats; peakBytes?: number }[],
): string {
  const ops = [...new Set(columns.flatMap((c) => Object.keys(c.stats.ops)))].sort();
  const rows: string[][] = [['', ...columns.map((c) => c.title)]];
  for (const o of ops) rows.push([o, ...columns.map((c) => String(c.stats.ops[o] ?? 0))]);
  rows.push(['nodes', ...columns.map((c) => String(c.stats.nodes))]);
  rows.push(['FLOPs', ...columns.map((c) => human(c.stats.flops, 'FLOP'))]);
  rows.push(['bytes moved', ...columns.map((c) => human(c.stats.bytes, 'B'))]);
  if (columns.every((c) => c.peakBytes !== undefined))
    rows.push(['planned peak', ...columns.map((c) => human(c.peakBytes!, 'B'))]);
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!)))
          .join('  '),
      )
      .join('\n') + '\n'
  );
}
