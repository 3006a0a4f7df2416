/**
 * The playground page (bundled for the browser by esbuild; server.ts serves it): a model
 * from the built-ins, pasted text IR or a dropped .onnx file; the passes of a level (or a
 * pipeline) as glimpse's HTML report — each pass's picture, IR, diff, rewrites and declines
 * with their reasons, stats; a run on wasm, js or WebGPU with timings; bisect with one
 * button. The URL keeps the state, so a view can be shared. What the page did is left in
 * `window.glimpsePlayground` for tests.
 */
import type { Binding, Executable, Graph, OptimizeOptions } from 'glimpse';
import {
  backends,
  bisect,
  buildModel,
  compile,
  DEFAULT_BACKEND,
  formatBisect,
  MODEL_NAMES,
  MODELS,
  own,
  optimizeWithResults,
  parseBinding,
  parseGraph,
  pipelineOf,
  randomInputs,
  renderReport,
  summarize,
  toNumbers,
} from 'glimpse';
import { importOnnx } from '@glimpse/onnx';

const FIELDS = ['model', 'opts', 'text', 'level', 'passes', 'shape', 'backend'] as const;
type State = Record<(typeof FIELDS)[number], string>;
const DEFAULTS: State = {
  model: 'self-attention',
  opts: '',
  text: '',
  level: '2',
  passes: '',
  shape: '',
  backend: DEFAULT_BACKEND,
};

/** What tests read: the passes shown, the last run's outputs, the last bisect. */
interface Shown {
  ready: boolean;
  error?: string;
  graph?: string;
  passes?: { name: string; changed: boolean }[];
  run?: { backend: string; outputs: Record<string, number[]>; firstMs: number; medianMs: number };
  bisect?: { first: string | null; text: string };
}
const shown: Shown = { ready: false };
(window as unknown as { glimpsePlayground: Shown }).glimpsePlayground = shown;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const field = (k: keyof State) => $<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(k);
const status = (s: string) => ($('status').textContent = s);

/** A dropped ONNX model (not kept in the URL: its bytes are the user's). */
let onnx: { file: string; graph: Graph } | undefined;

function state(): State {
  return Object.fromEntries(FIELDS.map((k) => [k, field(k).value])) as State;
}

/** The URL holds every field that differs from its default. */
function saveUrl(s: State) {
  const q = new URLSearchParams();
  for (const k of FIELDS) if (s[k] !== DEFAULTS[k]) q.set(k, s[k]);
  const search = q.toString();
  history.replaceState(null, '', search ? `?${search}` : location.pathname);
}

function source(s: State): { graph: Graph; defaults: Binding } {
  if (onnx) return { graph: onnx.graph, defaults: {} };
  if (s.text.trim() !== '') return { graph: parseGraph(s.text, { file: 'pasted' }), defaults: {} };
  const { graph, info } = buildModel(s.opts.trim() ? `${s.model}:${s.opts.trim()}` : s.model);
  return { graph, defaults: info.symbolDefaults };
}

/** Symbols from the shape field, else the model's defaults, else 8. */
function bindingOf(g: Graph, defaults: Binding, s: State): Binding {
  const given = parseBinding(s.shape);
  return Object.fromEntries(g.symbols().map((k) => [k, own(given, k) ?? own(defaults, k) ?? 8]));
}

/** The passes field when filled, else the level. */
const pipeline = (s: State): OptimizeOptions => pipelineOf(s.level, s.passes.trim() || undefined);

function current() {
  const s = state();
  const { graph, defaults } = source(s);
  return { s, graph, binding: bindingOf(graph, defaults, s) };
}

async function showPasses() {
  shown.ready = false;
  try {
    const { s, graph, binding } = current();
    saveUrl(s);
    const { results } = optimizeWithResults(graph, { ...pipeline(s), frozenParams: true });
    $<HTMLIFrameElement>('report').srcdoc = await renderReport(graph, results, {
      binding,
      title: `glimpse: ${graph.name}`,
    });
    const fired = results.filter((r) => r.changed).map((r) => r.pass.name);
    status(
      `${graph.name}: ${graph.nodes.length} nodes, ${results.length} passes` +
        (fired.length ? ` (changed by ${[...new Set(fired)].join(', ')})` : '') +
        `; ${Object.entries(binding)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`,
    );
    shown.graph = graph.name;
    shown.passes = results.map((r) => ({ name: r.pass.name, changed: r.changed }));
    delete shown.error;
  } catch (e) {
    shown.error = (e as Error).message;
    status(`error: ${shown.error}`);
  }
  shown.ready = true;
}

async function run() {
  $('result').textContent = 'running…';
  let exe: Executable | undefined;
  try {
    const { s, graph, binding } = current();
    const inputs = randomInputs(graph, binding, graph.seed);
    const t0 = performance.now();
    exe = await compile(graph, { backend: s.backend, ...pipeline(s), frozenParams: true });
    const t1 = performance.now();
    const out = await exe.run(inputs, { shapes: binding });
    const firstMs = performance.now() - t1;
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const a = performance.now();
      await exe.run(inputs, { shapes: binding });
      times.push(performance.now() - a);
    }
    const medianMs = times.sort((a, b) => a - b)[2]!;
    $('result').textContent =
      Object.entries(out)
        .map(([k, t]) => summarize(k, t))
        .join('\n') +
      `\n${s.backend}: compile ${(t1 - t0).toFixed(1)} ms, first run ${firstMs.toFixed(1)} ms, run median ${medianMs.toFixed(2)} ms of 5`;
    shown.run = {
      backend: s.backend,
      outputs: Object.fromEntries(
        Object.entries(out).map(([k, t]) => [k, Array.from(toNumbers(t))]),
      ),
      firstMs,
      medianMs,
    };
  } catch (e) {
    $('result').textContent = `error: ${(e as Error).message}`;
    shown.error = (e as Error).message;
  } finally {
    await exe?.release();
  }
}

async function runBisect() {
  $('result').textContent = 'bisecting…';
  try {
    const { s, graph, binding } = current();
    const r = await bisect(graph, randomInputs(graph, binding, graph.seed), {
      backend: s.backend,
      ...pipeline(s),
      frozenParams: true,
      shapes: binding,
    });
    const text = formatBisect(
      r,
      onnx?.file ?? graph.name,
      s.passes.trim() ? `passes ${s.passes}` : `-O${s.level}`,
    );
    $('result').textContent = text;
    shown.bisect = { first: r.first?.value ?? null, text };
  } catch (e) {
    $('result').textContent = `error: ${(e as Error).message}`;
    shown.error = (e as Error).message;
  }
}

async function takeOnnx(file: File) {
  try {
    onnx = {
      file: file.name,
      graph: importOnnx(new Uint8Array(await file.arrayBuffer()), { file: file.name }),
    };
    $('source').textContent = `ONNX: ${file.name}`;
  } catch (e) {
    onnx = undefined;
    status(`error: ${(e as Error).message}`);
    return;
  }
  await showPasses();
}

function init() {
  const model = field('model') as HTMLSelectElement;
  for (const name of MODEL_NAMES) model.add(new Option(`${name}: ${MODELS[name].doc}`, name));
  const backend = field('backend') as HTMLSelectElement;
  for (const b of backends()) backend.add(new Option(b, b));
  const q = new URLSearchParams(location.search);
  for (const k of FIELDS) field(k).value = q.get(k) ?? DEFAULTS[k];
  for (const k of FIELDS)
    field(k).addEventListener('change', () => {
      if (k === 'model' || k === 'opts' || k === 'text') onnx = undefined;
      $('source').textContent = '';
      void showPasses();
    });
  $('run').addEventListener('click', () => void run());
  $('bisect').addEventListener('click', () => void runBisect());
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => e.preventDefault());
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files[0];
    if (f) void takeOnnx(f);
  });
  $<HTMLInputElement>('file').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void takeOnnx(f);
  });
  void showPasses();
}

init();
