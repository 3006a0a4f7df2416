import { join } from 'node:path';
import type { Node, Tensor } from '@glimpse/ir';
import { buildGraph, evalNode, fromNumbers, printGraph, printNode, toNumbers } from '@glimpse/ir';
import type { BisectReport, Comparison, PassBisectReport, ValueReport } from 'glimpse';
import { bisect, bisectPasses } from 'glimpse';
import type { InputFlags, PipelineFlags } from './commands.js';
import { pipeline, prepareModel, tolerance } from './commands.js';
import { ensureDir, outputPath, writeFile, writeTensor } from './files.js';
import type { Io } from './main.js';

interface BisectFlags extends PipelineFlags, InputFlags {
  backend: string;
  against: string;
  rtol: string;
  atol: string;
  format: 'text' | 'json';
  output?: string;
  optimizer?: boolean;
}

const e = (x: number) => (Number.isNaN(x) ? 'nan' : x === 0 ? '0' : x.toExponential(2));
const shapeText = (v: { dtype: string; shape: readonly number[] }) =>
  `${v.dtype}[${v.shape.join(',')}]`;

function errors(c: Comparison): string {
  if (!c.shapeOk) return 'shape differs';
  const f = c.firstBad;
  return `max abs ${e(c.maxAbs)}, max rel ${e(c.maxRel)}, ${c.maxUlp} ulps${
    f ? `; ${c.bad} values out of tolerance, first at ${f.index}: got ${f.got}, want ${f.want}` : ''
  }`;
}

const against = (r: { against: string }) =>
  r.against === 'ref' ? 'the float64 reference' : `the ${r.against} backend`;

function textReport(
  r: BisectReport,
  model: string,
  level: string,
  seen: ReadonlyMap<string, Tensor>,
): string {
  const tol = `rtol ${r.tolerance.rtol}, atol ${r.tolerance.atol}`;
  const bind = Object.entries(r.binding)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const lines = [
    `bisect ${model} (${level}) on ${r.backend} against ${against(r)} (${tol})${bind ? `, ${bind}` : ''}`,
  ];
  const rows = r.values.map((v) => [
    String(v.node),
    `%${v.value}${v.origin !== undefined ? ` (${v.origin})` : ''}`,
    v.op + (v.fused ? '*' : ''),
    shapeText(v),
    v.comparison.shapeOk ? e(v.comparison.maxAbs) : '-',
    v.comparison.shapeOk ? e(v.comparison.maxRel) : '-',
    v.comparison.shapeOk ? String(v.comparison.maxUlp) : '-',
    v.status,
  ]);
  const head = ['node', 'value', 'op', 'type', 'max abs', 'max rel', 'ulps', 'status'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || (i >= 4 && i <= 6) ? c.padStart(width[i]!) : c.padEnd(width[i]!)))
      .join('  ')
      .trimEnd();
  lines.push(fmt(head), ...rows.map(fmt));
  if (r.values.some((v) => v.fused))
    lines.push(
      '* fused: compared with the reference of the fused op, which equals the unfused subgraph it replaced',
    );
  lines.push(
    r.first ? firstText(r, r.first, seen) : 'no divergence: every value is within tolerance',
  );
  return lines.join('\n') + '\n';
}

function firstText(r: BisectReport, v: ValueReport, seen: ReadonlyMap<string, Tensor>): string {
  const n = r.graph.nodes[v.node]!;
  const ins = [...new Set(n.inputs)]
    .map((i) => {
      const rep = r.values.find((x) => x.value === i);
      return `%${i} ${shapeText(seen.get(i)!)} (${rep ? `max abs ${e(rep.comparison.maxAbs)}` : 'exact'})`;
    })
    .join(', ');
  const local = v.local!;
  const verdict = local.ok
    ? `on the backend's own inputs the reference agrees with it (max abs ${e(local.maxAbs)}): the node amplifies its inputs' rounding (ill-conditioned here), not a kernel fault`
    : `on the backend's own inputs the reference still differs (${errors(local)}): the ${v.op} kernel of ${r.backend} is wrong here`;
  return [
    `first divergence: %${v.value} (${v.op})${v.origin !== undefined ? `, ONNX node '${v.origin}'` : ''}`,
    `  ${printNode(r.graph, n)}`,
    `  reads ${ins || 'nothing'}`,
    `  ${errors(v.comparison)}`,
    `  ${verdict}`,
  ].join('\n');
}

function passText(r: PassBisectReport, model: string): string {
  const lines = [
    `bisect the optimiser on ${model}: the graph after each pass on ${r.backend} against the float64 reference of the graph as written (rtol ${r.tolerance.rtol}, atol ${r.tolerance.atol})`,
  ];
  const width = Math.max(...r.passes.map((p) => p.pass.length));
  for (const p of r.passes) {
    const worst = p.outputs.reduce((a, o) => Math.max(a, o.comparison.maxAbs), 0);
    lines.push(
      `  ${p.pass.padEnd(width)}  ${p.changed ? 'changed  ' : 'unchanged'}  max abs ${e(worst)}  ${p.ok ? 'ok' : 'out of tolerance'}`,
    );
  }
  lines.push(
    r.first
      ? `first divergence: after pass ${r.first.pass}`
      : r.passes[0]?.ok === false
        ? `the graph as written is already out of tolerance on ${r.backend}: bisect its nodes (without --optimizer)`
        : 'no divergence: every pass keeps the outputs within tolerance',
  );
  return lines.join('\n') + '\n';
}

/**
 * The culprit as a graph of its own: its inputs as the backend saw them (NAME.npy), its
 * outputs as the reference computes them from those (NAME.npy), so that `glimpse run
 * DIR/repro.glimpse --inputs DIR --check DIR --backend B` shows the fault alone.
 */
function writeRepro(
  dir: string,
  r: BisectReport,
  v: ValueReport,
  seen: ReadonlyMap<string, Tensor>,
) {
  const n: Node = r.graph.nodes[v.node]!;
  const safe = (name: string) => name.replace(/[^A-Za-z0-9_.-]/g, '_');
  const ins = [...new Set(n.inputs)];
  const repro = buildGraph('repro', (b) => {
    const vals = new Map(
      ins.map((i) => [i, b.input(safe(i), seen.get(i)!.dtype, [...seen.get(i)!.shape])]),
    );
    return b.opN(
      n.op,
      n.inputs.map((i) => vals.get(i)!),
      n.attrs as never,
      n.outputs.map(safe),
    );
  });
  ensureDir(dir);
  writeFile(join(dir, 'repro.glimpse'), printGraph(repro));
  for (const i of ins) writeTensor(outputPath(dir, safe(i)), seen.get(i)!);
  const refIns = n.inputs.map((i) => {
    const t = seen.get(i)!;
    return { dtype: t.dtype, shape: [...t.shape], data: Float64Array.from(toNumbers(t)) };
  });
  const shapes = n.outputs.map((o) => [...r.values.find((x) => x.value === o)!.shape]);
  evalNode(n, refIns, shapes).forEach((t, k) =>
    writeTensor(outputPath(dir, safe(n.outputs[k]!)), fromNumbers(t.dtype, t.shape, t.data)),
  );
}

export async function bisectCommand(io: Io, model: string, o: BisectFlags): Promise<number> {
  const tol = tolerance(o);
  const { loaded, graph, binding, inputs, threads } = prepareModel(model, o);
  const options = {
    backend: o.backend,
    against: o.against,
    ...pipeline(o),
    frozenParams: true,
    shapes: binding,
    tolerance: tol,
    ...(threads === undefined ? {} : { threads }),
    ...(loaded.origins ? { origins: loaded.origins } : {}),
  };
  const level = o.passes !== undefined ? `passes ${o.passes}` : `-O${o.level}`;
  if (o.optimizer) {
    const r = await bisectPasses(graph, inputs, options);
    io.out(o.format === 'json' ? `${JSON.stringify(r, null, 1)}\n` : passText(r, model));
    return r.first || r.passes[0]?.ok === false ? 1 : 0;
  }
  const seen = new Map<string, Tensor>();
  const r = await bisect(graph, inputs, { ...options, keep: seen });
  if (o.format === 'json') {
    const { graph: g, ...rest } = r;
    io.out(`${JSON.stringify({ model, level, graph: g.name, ...rest }, null, 1)}\n`);
  } else io.out(textReport(r, model, level, seen));
  if (o.output !== undefined && r.first) {
    writeRepro(o.output, r, r.first, seen);
    if (o.format !== 'json')
      io.out(
        `wrote ${join(o.output, 'repro.glimpse')} and its tensors: glimpse run ${join(o.output, 'repro.glimpse')} --inputs ${o.output} --check ${o.output} --backend ${o.backend}\n`,
      );
  }
  return r.first ? 1 : 0;
}
