import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph } from '@glimpse/ir';
import { AttrError, graphToJSON, printGraph } from '@glimpse/ir';
import type { Instrument, PassResult } from '@glimpse/optimizer';
import {
  formatStats,
  optimizeWithResults,
  printAfter,
  printAfterFailure,
  resolvePipeline,
  traceRewrites,
} from '@glimpse/optimizer';
import { renderGraph, renderReport, statsAt } from 'glimpse';
import type { PipelineFlags } from './commands.js';
import { checkShapeSymbols, parseShapes, pipeline, resolveBinding, unfixed } from './commands.js';
import { ensureDir, writeFile } from './files.js';
import { loadModel } from './load.js';
import type { Io } from './io.js';

export interface DumpFlags extends PipelineFlags {
  format: 'text' | 'json' | 'dot' | 'svg' | 'html';
  output?: string;
  withWeights?: boolean;
  printAfterAll?: boolean;
  printAfter: string[];
  printAfterChange?: boolean;
  printAfterFailure?: boolean;
  traceRewrites?: boolean;
  stats?: boolean;
  shape?: string[];
}

const EXT = { text: 'glimpse', json: 'json', dot: 'dot', svg: 'svg', html: 'html' } as const;

/** -o names a directory when it ends with a slash or already is one. */
const isDir = (p: string) => p.endsWith('/') || (existsSync(p) && statSync(p).isDirectory());

async function render(g: Graph, f: DumpFlags, title?: string): Promise<string> {
  if (f.format === 'json')
    return JSON.stringify(graphToJSON(g, { weights: f.withWeights === true }), null, 2) + '\n';
  if (f.format === 'html')
    throw new AttrError('html is a report of all passes; use it without per-pass flags');
  return renderGraph(g, f.format, title !== undefined ? { title } : {});
}

/**
 * `glimpse dump`: the graph after a pipeline, per-pass sections (print-after-*), rewrite
 * traces, stats per pass, in text/json/dot/svg, an HTML report, or a directory with one
 * file per pass (NN-pass.ext).
 */
export async function dumpCommand(io: Io, model: string, f: DumpFlags): Promise<void> {
  // --shape sizes an ONNX model's symbols at import, where ops that need static shapes read them.
  const shapes = parseShapes(f.shape);
  const loaded = loadModel(model, undefined, shapes);
  const given = unfixed(loaded, shapes);
  checkShapeSymbols(loaded.graph, given);
  const opts = pipeline(f);
  const names = resolvePipeline(opts).map((p) => p.name);
  for (const p of f.printAfter)
    if (!names.includes(p))
      throw new AttrError(
        `--print-after ${p}: no such pass in the pipeline (${names.join(', ') || 'empty'})`,
      );
  let sections = '';
  const out = (s: string) => (sections += s);
  const instruments: Instrument[] = [];
  if (f.printAfterAll || f.printAfter.length > 0 || f.printAfterChange)
    instruments.push(
      printAfter(out, {
        all: f.printAfterAll === true,
        passes: f.printAfter,
        changed: f.printAfterChange === true,
      }),
    );
  if (f.traceRewrites) instruments.push(traceRewrites(out));
  if (f.printAfterFailure) instruments.push(printAfterFailure(out));
  let results: readonly PassResult[];
  let graph: Graph;
  try {
    ({ graph, results } = optimizeWithResults(loaded.graph, { ...opts, instrument: instruments }));
  } catch (e) {
    emit(io, f.output, sections); // what was dumped before the failure is not lost
    throw e;
  }
  const binding = resolveBinding(loaded, given, undefined);
  const statsOf = (g: Graph) => statsAt(g, binding);

  if (f.output !== undefined && isDir(f.output) && f.format !== 'html') {
    ensureDir(f.output);
    const stages = [
      { name: 'input', graph: loaded.graph },
      ...results.map((r) => ({ name: r.pass.name, graph: r.after })),
    ];
    for (const [i, s] of stages.entries())
      writeFile(
        join(f.output, `${String(i).padStart(2, '0')}-${s.name}.${EXT[f.format]}`),
        await render(s.graph, f, `${i} ${s.name}`),
      );
    io.out(`wrote ${stages.length} files to ${f.output}\n`);
    return;
  }
  let text: string;
  if (f.format === 'html') {
    text = await renderReport(loaded.graph, results, { binding });
  } else if (f.stats) {
    // One column per pass that changed the graph (an unchanged pass has its predecessor's).
    const columns = [
      { title: 'input', ...statsOf(loaded.graph) },
      ...results.flatMap((r, i) =>
        r.changed ? [{ title: `${i + 1} ${r.pass.name}`, ...statsOf(r.after) }] : [],
      ),
    ];
    text = `${sections}// stats at ${Object.entries(binding)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}\n${formatStats(columns)}`;
  } else if (sections !== '') {
    text = sections;
  } else {
    text = f.format === 'text' ? printGraph(graph) : await render(graph, f);
  }
  emit(
    io,
    f.output !== undefined && f.format === 'html' && isDir(f.output)
      ? join(f.output, 'report.html')
      : f.output,
    text,
  );
}

function emit(io: Io, output: string | undefined, text: string) {
  if (output !== undefined) writeFile(output, text);
  else io.out(text);
}
