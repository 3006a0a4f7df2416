import { createTwoFilesPatch } from 'diff';
import type { Binding, Graph } from '@glimpse/ir';
import { printGraph } from '@glimpse/ir';
import type { GraphStats, PassResult } from '@glimpse/optimizer';
import { banner, formatStats, graphStats, traceLines } from '@glimpse/optimizer';
import { planGraph } from '@glimpse/runtime';
import { CLASS_COLOURS, graphToDot } from './dot.js';
import { dotToSvg } from './svg.js';

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface ReportOptions {
  title?: string;
  /** Stats per pass (counts, FLOPs, bytes moved, planned peak) at this binding of the symbols. */
  binding?: Binding;
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; display: flex; color: #212529; }
nav { width: 260px; flex: none; position: sticky; top: 0; height: 100vh; overflow: auto; background: #f8f9fa; border-right: 1px solid #dee2e6; padding: 12px; box-sizing: border-box; }
nav a { display: block; padding: 3px 6px; color: inherit; text-decoration: none; border-radius: 4px; font-size: 13px; }
nav a:hover { background: #e9ecef; }
nav .same { color: #adb5bd; }
main { flex: 1; min-width: 0; padding: 16px 24px; }
section.pass { border-bottom: 1px solid #dee2e6; padding-bottom: 16px; margin-bottom: 16px; }
h2 { font: 600 14px ui-monospace, monospace; }
.graph { overflow: auto; max-height: 80vh; border: 1px solid #e9ecef; border-radius: 6px; background: #fff; }
.graph svg { max-width: none; }
pre { font: 12px/1.35 ui-monospace, monospace; background: #f8f9fa; padding: 8px; overflow: auto; max-height: 60vh; }
.add { color: #2b8a3e; } .del { color: #c92a2a; } .hunk { color: #1971c2; }
table.stats { border-collapse: collapse; font: 12px ui-monospace, monospace; }
.legend span { display: inline-block; padding: 1px 6px; margin-right: 4px; border-radius: 3px; font-size: 12px; }
`;

/** A graph's stats (counts, FLOPs, bytes moved) and planned peak at a binding of its symbols. */
export function statsAt(g: Graph, binding: Binding): { stats: GraphStats; peakBytes: number } {
  return { stats: graphStats(g, binding), peakBytes: planGraph(g, binding).peakBytes };
}

function diffHtml(prev: string, cur: string, from: string, to: string): string {
  if (prev === cur) return '<p>no change</p>';
  const patch = createTwoFilesPatch(from, to, prev, cur, '', '', { context: 2 });
  const lines = patch.split('\n').slice(2); // drop the file header lines
  return `<pre class="diff">${lines
    .map((l) => {
      const cls = l.startsWith('+')
        ? 'add'
        : l.startsWith('-')
          ? 'del'
          : l.startsWith('@@')
            ? 'hunk'
            : '';
      return cls ? `<span class="${cls}">${esc(l)}</span>` : esc(l);
    })
    .join('\n')}</pre>`;
}

/**
 * One self-contained HTML file (works offline: no scripts, fonts or images from anywhere):
 * the pass list, then per pass its banner, the graph as SVG, the text IR, a diff against the
 * previous pass, its rewrites and declined matches with their reasons, and the stats. The
 * input graph is section 0.
 */
export async function renderReport(
  input: Graph,
  results: readonly PassResult[],
  options: ReportOptions = {},
): Promise<string> {
  const stages = [
    { name: 'input', title: '// ----- input -----', graph: input, changed: true },
    ...results.map((r) => ({
      name: r.pass.name,
      title: banner(r),
      graph: r.after,
      changed: r.changed,
    })),
  ];
  const texts = stages.map((s) => printGraph(s.graph));
  let lastSvg = '';
  const sections: string[] = [];
  for (let i = 0; i < stages.length; i++) {
    const s = stages[i]!;
    // Unchanged passes reuse the previous picture: rendering is the slow part of a report.
    const svg =
      i === 0 || s.changed
        ? await dotToSvg(graphToDot(s.graph, { title: `${String(i).padStart(2, '0')} ${s.name}` }))
        : lastSvg;
    lastSvg = svg;
    const st = options.binding && statsAt(s.graph, options.binding);
    const trace = i > 0 ? traceLines(results[i - 1]!) : [];
    sections.push(`<section class="pass" id="pass-${i}" data-pass="${esc(s.name)}">
<h2>${esc(s.title)}</h2>
<div class="graph">${svg}</div>
<details open><summary>IR</summary><pre class="ir">${esc(texts[i]!)}</pre></details>
${i > 0 ? `<details ${s.changed ? 'open' : ''}><summary>diff against ${esc(stages[i - 1]!.name)}</summary>${diffHtml(texts[i - 1]!, texts[i]!, stages[i - 1]!.name, s.name)}</details>` : ''}
${trace.length > 0 ? `<details><summary>rewrites and declines (${trace.length})</summary><pre class="trace">${esc(trace.join('\n'))}</pre></details>` : ''}
${st ? `<details><summary>stats</summary><pre class="stats">${esc(formatStats([{ title: s.name, ...st }]))}</pre></details>` : ''}
</section>`);
  }
  const nav = stages
    .map(
      (s, i) =>
        `<a href="#pass-${i}" class="${s.changed ? '' : 'same'}">${String(i).padStart(2, '0')} ${esc(s.name)}${s.changed ? '' : ' (no change)'}</a>`,
    )
    .join('\n');
  const legend = Object.entries(CLASS_COLOURS)
    .map(([k, c]) => `<span style="background:${c}">${k}</span>`)
    .join('');
  const title = esc(options.title ?? `glimpse: ${input.name}`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title><style>${STYLE}</style></head>
<body><nav><strong>${title}</strong><p class="legend">${legend}</p>${nav}</nav>
<main>${sections.join('\n')}</main></body></html>
`;
}
