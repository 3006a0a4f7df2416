import { join } from 'node:path';
import type { Graph, Tensor } from '@glimpse/ir';
import {
  AttrError,
  bindShape,
  dict,
  graphToJSON,
  InputError,
  own,
  printGraph,
  setOwn,
} from '@glimpse/ir';
import { MODELS } from '@glimpse/models';
import { exportOnnx, onnxSymbol } from '@glimpse/onnx';
import type { OptimizeOptions } from '@glimpse/optimizer';
import { optimize } from '@glimpse/optimizer';
import {
  adapterDescription,
  compile,
  parseBinding,
  pipelineOf,
  randomInputs,
  summarize,
  WasmExecutable,
} from 'glimpse';
import { compare, formatReport } from './check.js';
import {
  ensureDir,
  existsSync,
  loadWeights,
  outputPath,
  pbPath,
  readTensorAs,
  writeFile,
  writeTensor,
} from './files.js';
import type { Loaded } from './load.js';
import { loadModel, OTHER_SYMBOL_DEFAULT } from './load.js';
import type { Io } from './io.js';

export function modelsCommand(io: Io) {
  for (const m of Object.values(MODELS)) {
    const opts = Object.entries(m.options)
      .map(([k, v]) => `${k}=${v.default}`)
      .join(',');
    io.out(`${m.name}:${opts}\n    ${m.doc}\n`);
    for (const [k, v] of Object.entries(m.options))
      io.out(`    ${k.padEnd(9)} ${v.doc} (default ${v.default})\n`);
  }
}

/** `--shape T=128 B=2` or `--shape B=2,T=10`. */
export function parseShapes(args: readonly string[] | undefined): Record<string, number> {
  return parseBinding((args ?? []).join(','), '--shape');
}

export interface PipelineFlags {
  level: string;
  passes?: string;
}

/** --level / --passes as optimizer options (unknown pass names are errors that list them). */
export function pipeline(o: PipelineFlags): OptimizeOptions {
  return pipelineOf(o.level, o.passes);
}

export function checkShapeSymbols(g: Graph, shapes: Record<string, number>) {
  const syms = g.symbols();
  for (const k of Object.keys(shapes))
    if (!syms.includes(k))
      throw new AttrError(
        `--shape ${k}: the graph has no symbol ${k} (symbols: ${syms.join(', ') || 'none'})`,
      );
}

export function convertCommand(
  io: Io,
  model: string,
  o: PipelineFlags & { output: string; weights?: string },
) {
  let { graph } = loadModel(model);
  if (o.weights !== undefined) graph = loadWeights(graph, o.weights);
  graph = optimize(graph, pipeline(o));
  if (o.output.endsWith('.glimpse')) writeFile(o.output, printGraph(graph));
  else if (o.output.endsWith('.json'))
    writeFile(o.output, JSON.stringify(graphToJSON(graph, { weights: true }), null, 2) + '\n');
  else if (o.output.endsWith('.onnx')) writeFile(o.output, exportOnnx(graph));
  else throw new AttrError(`-o ${o.output}: the extension must be .glimpse, .json or .onnx`);
  io.out(`wrote ${o.output}\n`);
}

interface RunOpts extends PipelineFlags, InputFlags, BackendFlags {
  backend: string;
  outputs?: string;
  check?: string;
  rtol: string;
  atol: string;
  time?: boolean;
}

const threadsText = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;

function parseNumber(flag: string, v: string, integer = false): number {
  const n = Number(v);
  if (
    v.trim() === '' ||
    !Number.isFinite(n) ||
    n < 0 ||
    (integer && (!Number.isInteger(n) || n > 2 ** 32 - 1))
  )
    throw new AttrError(
      `${flag} takes a ${integer ? 'non-negative integer' : 'number ≥ 0'}, got '${v}'`,
    );
  return n;
}

/**
 * Inputs read from `dir` — NAME.npy per input, or ONNX's input_N.pb in input order —
 * converted exactly to the graph's dtypes.
 */
function readInputs(g: Graph, dir: string, onnxInputs?: string[]): Record<string, Tensor> {
  const out = dict<Tensor>();
  g.inputs.forEach((inp, i) => {
    // input_N.pb are numbered in the ONNX model's input order (some may have folded away).
    const n = onnxInputs ? onnxInputs.indexOf(inp.name) : i;
    const path = pbPath(dir, 'input', n) ?? join(dir, `${inp.name}.npy`);
    if (!existsSync(path))
      throw new InputError(`missing input file for '${inp.name}'`, { file: path });
    out[inp.name] = readTensorAs(path, inp.type.dtype);
  });
  return out;
}

/** The --shape sizes an ONNX import did not fix (those are no longer symbols of the graph). */
export function unfixed(loaded: Loaded, shapes: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(shapes).filter(([k]) => !loaded.fixed?.has(onnxSymbol(k))),
  );
}

/** Fix every symbol: from input files, then --shape, then the model's defaults. */
export function resolveBinding(
  loaded: Loaded,
  given: Record<string, number>,
  inputs: Record<string, Tensor> | undefined,
): Record<string, number> {
  const g = loaded.graph;
  const b: Record<string, number> = { ...given };
  if (inputs)
    for (const inp of g.inputs) {
      const msg = bindShape(inp.type.shape, inputs[inp.name]!.shape, b);
      if (msg !== undefined)
        throw new InputError(`input '${inp.name}': ${msg}`, { value: inp.name });
    }
  for (const s of g.symbols())
    if (own(b, s) === undefined)
      setOwn(b, s, own(loaded.symbolDefaults, s) ?? OTHER_SYMBOL_DEFAULT);
  return b;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** What `run` and `bisect` take to make a model's inputs. */
export interface InputFlags {
  weights?: string;
  inputs?: string;
  seed?: string;
  shape?: string[];
}

/** What `run` and `bisect` pass on to the backend. */
export interface BackendFlags {
  threads?: string;
}

/**
 * The backend options the flags spell (`--threads 2` → `{ threads: 2 }`), for `compile()`
 * to check against the backend: one it does not take, or a value out of its range, is its
 * error (the wasm backend says what `threads` takes).
 */
export function backendOptions(o: BackendFlags): { threads?: number } {
  if (o.threads === undefined) return {};
  const n = Number(o.threads);
  if (o.threads.trim() === '' || Number.isNaN(n))
    throw new AttrError(`--threads takes a number, got '${o.threads}'`);
  return { threads: n };
}

/**
 * A model loaded with its weights and seed, its symbols bound and its inputs read from
 * --inputs or made from the seed: what `run` and `bisect` start from.
 */
export function prepareModel(
  model: string,
  o: InputFlags,
): {
  loaded: Loaded;
  graph: Graph;
  binding: Record<string, number>;
  inputs: Record<string, Tensor>;
} {
  const shapes = parseShapes(o.shape);
  const loaded = loadModel(model, o.inputs, shapes);
  let g = loaded.graph;
  if (o.weights !== undefined) g = loadWeights(g, o.weights);
  // --seed replaces the graph's own seed (0 for built-in models, [seed=N] in files).
  if (o.seed !== undefined) {
    const seed = parseNumber('--seed', o.seed, true);
    if (seed !== g.seed) g = g.with({ seed });
  }
  const given = unfixed(loaded, shapes);
  checkShapeSymbols(g, given);
  const fileInputs =
    o.inputs !== undefined ? readInputs(g, o.inputs, loaded.onnxInputs) : undefined;
  const binding = resolveBinding({ ...loaded, graph: g }, given, fileInputs);
  const inputs = fileInputs ?? randomInputs(g, binding, g.seed);
  return { loaded, graph: g, binding, inputs };
}

/** --rtol and --atol, checked. */
export function tolerance(o: { rtol: string; atol: string }): { rtol: number; atol: number } {
  return { rtol: parseNumber('--rtol', o.rtol), atol: parseNumber('--atol', o.atol) };
}

export async function runCommand(io: Io, model: string, o: RunOpts): Promise<number> {
  const { rtol, atol } = tolerance(o);
  const { graph: g, binding, inputs } = prepareModel(model, o);

  const t0 = performance.now();
  // Params are final for the life of a run (seeded or loaded): the optimizer may fold them.
  const exe = await compile(g, {
    backend: o.backend,
    ...pipeline(o),
    frozenParams: true,
    ...backendOptions(o),
  });
  try {
    const t1 = performance.now();
    const outputs = await exe.run(inputs, { shapes: binding });
    const t2 = performance.now();
    for (const [name, t] of Object.entries(outputs)) io.out(`${summarize(name, t)}\n`);
    if (o.time) {
      const runs: number[] = [t2 - t1];
      const until = performance.now() + 2000;
      while (runs.length < 5 || (runs.length < 50 && performance.now() < until)) {
        const s = performance.now();
        await exe.run(inputs, { shapes: binding });
        runs.push(performance.now() - s);
        if (performance.now() > until && runs.length >= 3) break;
      }
      const mem = await exe.memory(binding);
      io.out(
        `time${o.backend === 'wgsl' ? ` (wgsl on ${await adapterDescription()})` : exe instanceof WasmExecutable ? ` (wasm, ${threadsText(exe.threads)})` : ''}: compile ${(t1 - t0).toFixed(2)} ms, first run ${(t2 - t1).toFixed(2)} ms, run median ${median(runs.slice(1)).toFixed(2)} ms of ${runs.length - 1}; planned peak ${(mem.peakBytes / 1024).toFixed(1)} KiB (unplanned ${(mem.unplannedBytes / 1024).toFixed(1)} KiB)\n`,
      );
    }
    if (o.outputs !== undefined) {
      ensureDir(o.outputs);
      for (const [name, t] of Object.entries(outputs)) writeTensor(outputPath(o.outputs, name), t);
    }
    if (o.check !== undefined) {
      let ok = true;
      for (const [i, [name, t]] of Object.entries(outputs).entries()) {
        const want = readTensorAs(
          pbPath(o.check, 'output', i) ?? outputPath(o.check, name),
          t.dtype,
        );
        const r = compare(t, want, { rtol, atol });
        io.out(formatReport(name, r));
        ok &&= r.ok;
      }
      return ok ? 0 : 1;
    }
    return 0;
  } finally {
    // Buffers, GPU memory and worker threads go: the process exits by itself.
    await exe.release();
  }
}
