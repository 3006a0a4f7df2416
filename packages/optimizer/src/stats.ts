import type { Binding, Graph } from '@glimpse/ir';
import { BYTES, concreteShapes, numel, traitsOf, VIEW_OPS } from '@glimpse/ir';

export interface GraphStats {
  /** Nodes per op. */
  readonly ops: Readonly<Record<string, number>>;
  readonly nodes: number;
  /** Floating-point operations (a multiply-add counts 2). */
  readonly flops: number;
  /** Bytes read and written by all nodes (views excluded). */
  readonly bytes: number;
}

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
    flops += traitsOf(n.op).flops?.(ins, outs, n.attrs) ?? 0;
    if (VIEW_OPS.has(n.op)) continue; // no bytes move
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
