/** Text forms of bisect reports (the CLI's output and the playground's). */
import { printNode } from '@glimpse/ir';
import type { BisectReport, PassBisectReport, ValueReport } from './bisect.js';
import type { Comparison } from './compare.js';

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

/** A bisect report as text: a row per value, then the first divergence. */
export function formatBisect(r: BisectReport, model: string, level: string): string {
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
  if (r.against === 'ref' && r.values.some((v) => v.fused))
    lines.push('* fused: compared with the unfused subgraph it replaced, run on the reference');
  lines.push(r.first ? firstText(r, r.first) : 'no divergence: every value is within tolerance');
  return lines.join('\n') + '\n';
}

/** √(f32 max): past it, a product of two inputs overflows f32. */
const F32_PRODUCT_LIMIT = Math.sqrt(3.4028234663852886e38);

/**
 * A divergence f32's range explains: the backend's first bad value is ±inf or NaN where the
 * reference is finite, and the node's inputs are large enough for a product to overflow.
 */
function leavesF32Range(v: ValueReport): boolean {
  const bad = v.local?.firstBad;
  return (
    bad !== undefined &&
    !Number.isFinite(bad.got) &&
    Number.isFinite(bad.want) &&
    (v.inputMaxAbs ?? 0) >= F32_PRODUCT_LIMIT
  );
}

function firstText(r: BisectReport, v: ValueReport): string {
  const n = r.graph.nodes[v.node]!;
  const ins = [...new Set(n.inputs)]
    .map((i) => {
      const rep = r.values.find((x) => x.value === i);
      return `%${i} ${shapeText(r.firstInputs![i]!)} (${rep ? `max abs ${e(rep.comparison.maxAbs)}` : 'exact'})`;
    })
    .join(', ');
  const local = v.local!;
  const verdict = local.ok
    ? `on the backend's own inputs the reference agrees with it (max abs ${e(local.maxAbs)}): the node amplifies its inputs' rounding (ill-conditioned here), not a kernel fault`
    : leavesF32Range(v)
      ? `on the backend's own inputs the reference still differs (${errors(local)}), but the backend's value is not finite where the float64 reference's is, and the inputs reach |x| = ${e(v.inputMaxAbs!)}: a product or sum inside the node leaves f32's range (±3.4e38) where float64 does not — f32 cannot compute it, not necessarily a kernel fault`
      : `on the backend's own inputs the reference still differs (${errors(local)}): the ${v.op} kernel of ${r.backend} is wrong here`;
  return [
    `first divergence: %${v.value} (${v.op})${v.origin !== undefined ? `, ONNX node '${v.origin}'` : ''}`,
    `  ${printNode(r.graph, n)}`,
    `  reads ${ins || 'nothing'}`,
    `  ${errors(v.comparison)}`,
    `  ${verdict}`,
  ].join('\n');
}

/** An optimiser bisect as text: a row per pass, then the first pass out of tolerance. */
export function formatPassBisect(r: PassBisectReport, model: string): string {
  const lines = [
    `bisect the optimiser on ${model}: the graph after each pass on ${r.backend} against the float64 reference of the graph as written (rtol ${r.tolerance.rtol}, atol ${r.tolerance.atol})`,
  ];
  const width = Math.max(...r.passes.map((p) => p.pass.length));
  for (const p of r.passes) {
    const worst = p.outputs.reduce((a, o) => Math.max(a, o.comparison.maxAbs), 0);
    lines.push(
      `  ${p.pass.padEnd(width)}  ${p.pass === 'as written' ? '         ' : p.changed ? 'changed  ' : 'unchanged'}  max abs ${e(worst)}  ${p.ok ? 'ok' : 'out of tolerance'}`,
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
