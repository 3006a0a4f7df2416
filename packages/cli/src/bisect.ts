import { join } from 'node:path';
import type { Node } from '@glimpse/ir';
import { buildGraph, printGraph } from '@glimpse/ir';
import type { BisectReport, ValueReport } from 'glimpse';
import { bisect, bisectPasses, formatBisect, formatPassBisect } from 'glimpse';
import type { BackendFlags, InputFlags, PipelineFlags } from './commands.js';
import { backendOptions, pipeline, prepareModel, tolerance } from './commands.js';
import { ensureDir, outputPath, safeName, writeFile, writeTensor } from './files.js';
import type { Io } from './io.js';

interface BisectFlags extends PipelineFlags, InputFlags, BackendFlags {
  backend: string;
  against: string;
  rtol: string;
  atol: string;
  format: 'text' | 'json';
  output?: string;
  optimizer?: boolean;
}

/**
 * The culprit as a graph of its own: its inputs as the backend saw them (NAME.npy), its
 * outputs as the reference computes them from those (NAME.npy), so that `glimpse run
 * DIR/repro.glimpse --inputs DIR --check DIR --backend B` shows the fault alone.
 */
function writeRepro(dir: string, r: BisectReport, v: ValueReport) {
  const n: Node = r.graph.nodes[v.node]!;
  const seen = r.firstInputs!;
  const ins = [...new Set(n.inputs)];
  const repro = buildGraph('repro', (b) => {
    const vals = new Map(
      ins.map((i) => [i, b.input(safeName(i), seen[i]!.dtype, [...seen[i]!.shape])]),
    );
    return b.opN(
      n.op,
      n.inputs.map((i) => vals.get(i)!),
      n.attrs as never,
      n.outputs.map(safeName),
    );
  });
  ensureDir(dir);
  writeFile(join(dir, 'repro.glimpse'), printGraph(repro));
  for (const [name, t] of [...Object.entries(seen), ...Object.entries(r.firstReference!)])
    writeTensor(outputPath(dir, name), t);
}

export async function bisectCommand(io: Io, model: string, o: BisectFlags): Promise<number> {
  const tol = tolerance(o);
  const { loaded, graph, binding, inputs } = prepareModel(model, o);
  let progressed = false;
  const options = {
    backend: o.backend,
    against: o.against,
    ...pipeline(o),
    frozenParams: true,
    shapes: binding,
    tolerance: tol,
    ...backendOptions(o),
    ...(loaded.origins ? { origins: loaded.origins } : {}),
    // A long run (more than one chunk of values) says how far it got, on stderr.
    onProgress: (done: number, total: number) => {
      if (done < total || progressed) {
        progressed = true;
        io.err(`bisect: compared ${done} of ${total} values\n`);
      }
    },
  };
  const level = o.passes !== undefined ? `passes ${o.passes}` : `-O${o.level}`;
  if (o.optimizer) {
    const r = await bisectPasses(graph, inputs, options);
    io.out(o.format === 'json' ? `${JSON.stringify(r, null, 1)}\n` : formatPassBisect(r, model));
    return r.first || r.passes[0]?.ok === false ? 1 : 0;
  }
  const r = await bisect(graph, inputs, options);
  if (o.format === 'json') {
    // The culprit's tensors go to -o's files, not into the JSON.
    const { graph: g, firstInputs: _i, firstReference: _r, ...rest } = r;
    io.out(`${JSON.stringify({ model, level, graph: g.name, ...rest }, null, 1)}\n`);
  } else io.out(formatBisect(r, model, level));
  if (o.output !== undefined && r.first) {
    writeRepro(o.output, r, r.first);
    if (o.format !== 'json')
      io.out(
        `wrote ${join(o.output, 'repro.glimpse')} and its tensors: glimpse run ${join(o.output, 'repro.glimpse')} --inputs ${o.output} --check ${o.output} --backend ${o.backend}\n`,
      );
  }
  return r.first ? 1 : 0;
}
