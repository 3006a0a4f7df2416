import { Command, CommanderError, Option } from 'commander';
import { displayLine, GlimpseError, parseBytes, setMemoryBudget } from '@glimpse/ir';
import { backends, DEFAULT_BACKEND } from 'glimpse';
import { convertCommand, modelsCommand, runCommand } from './commands.js';
import { benchCommand } from './bench.js';
import { bisectCommand } from './bisect.js';
import { playgroundCommand } from './playground.js';
import { dumpCommand } from './dump.js';
import type { Io } from './io.js';
import { defaultIo, EXIT } from './io.js';

/** --max-memory, on every command that loads a model. */
const maxMemory = () =>
  new Option(
    '--max-memory <size>',
    "memory budget for what a file asks for: bytes, or 512MB, 2GiB (default: a quarter of the machine's memory, or GLIMPSE_MAX_MEMORY)",
  );

/** The memory budget of this command: --max-memory where it takes it, else the default. */
function applyBudget(cmd: Command): void {
  const v = (cmd.opts() as { maxMemory?: string }).maxMemory;
  setMemoryBudget(v === undefined ? undefined : parseBytes(v, '--max-memory'));
}

function program(io: Io, setCode: (c: number) => void): Command {
  const p = new Command('glimpse')
    .description('a computation-graph compiler for attention models')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: () => {} })
    .showSuggestionAfterError(true)
    .hook('preAction', (_p, cmd) => applyBudget(cmd));
  const level = (dflt: string) =>
    new Option('--level <n>', 'optimisation level').choices(['0', '1', '2']).default(dflt);
  const passes = () => new Option('--passes <a,b,...>', 'run these passes instead of a level');
  const shape = () => new Option('--shape <bindings...>', 'bind symbols, e.g. T=128 or B=2,T=10');

  p.command('models')
    .description('list built-in models, their options and defaults')
    .action(() => modelsCommand(io));

  p.command('dump')
    .description(
      'print a model graph, per pass if asked, as text, json, dot, svg or an html report',
    )
    .argument('<model>', 'built-in name[:k=v,...], or a .glimpse/.json/.onnx file')
    .addOption(level('0'))
    .addOption(passes())
    .addOption(
      new Option('--format <fmt>', 'output format')
        .choices(['text', 'json', 'dot', 'svg', 'html'])
        .default('text'),
    )
    .option(
      '-o, --output <file|dir/>',
      'write to a file; a directory (ending in /) gets one file per pass, NN-pass.ext',
    )
    .option('--with-weights', 'inline param values in json')
    .option('--print-after-all', 'print the graph after every pass (each section parses back)')
    .option(
      '--print-after <pass>',
      'print the graph after this pass (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--print-after-change', 'print the graph after each pass that changed it')
    .option(
      '--print-after-failure',
      'if a pass throws, print the graph before it and the pipeline that reproduces it',
    )
    .option('--trace-rewrites', 'print every rule firing: rule, node, replacement')
    .option('--stats', 'per pass: node counts per op, FLOPs, bytes moved, planned peak memory')
    .addOption(shape())
    .addOption(maxMemory())
    .action((model: string, o) => dumpCommand(io, model, o));

  p.command('run')
    .description('compile and run a model')
    .argument('<model>', 'built-in name[:k=v,...], or a .glimpse/.json/.onnx file')
    .addOption(new Option('--backend <b>', 'backend').choices(backends()).default(DEFAULT_BACKEND))
    .option('--threads <n>', 'threads for the wasm backend (default: the cores)')
    .addOption(level('2'))
    .addOption(passes())
    .option('--weights <file>', 'load params from a .safetensors file by name')
    .option('--inputs <dir>', 'read NAME.npy for each graph input')
    .option('--outputs <dir>', 'write NAME.npy for each graph output')
    .option('--check <dir>', 'compare outputs with NAME.npy; exit 1 on mismatch')
    .option('--rtol <r>', 'relative tolerance for --check', '1e-3')
    .option('--atol <a>', 'absolute tolerance for --check', '1e-5')
    .option(
      '--seed <n>',
      "seed of random params and inputs (default: the graph's, 0 for built-ins)",
    )
    .addOption(shape())
    .option('--time', 'time compile and run (median of several runs)')
    .addOption(maxMemory())
    .action(async (model: string, o) => setCode(await runCommand(io, model, o)));

  p.command('bisect')
    .description(
      'find the first node whose result on a backend leaves the tolerance of the float64 reference (or of another backend)',
    )
    .argument('<model>', 'built-in name[:k=v,...], or a .glimpse/.json/.onnx file')
    .addOption(
      new Option('--backend <b>', 'backend under test')
        .choices(backends())
        .default(DEFAULT_BACKEND),
    )
    .addOption(
      new Option('--against <b>', "what it is compared with: 'ref' (float64) or a backend")
        .choices(['ref', ...backends()])
        .default('ref'),
    )
    .option('--threads <n>', 'threads for the wasm backend (default: the cores)')
    .addOption(level('2'))
    .addOption(passes())
    .option('--weights <file>', 'load params from a .safetensors file by name')
    .option('--inputs <dir>', 'read NAME.npy for each graph input')
    .option(
      '--seed <n>',
      "seed of random params and inputs (default: the graph's, 0 for built-ins)",
    )
    .addOption(shape())
    .option('--rtol <r>', 'relative tolerance', '1e-3')
    .option('--atol <a>', 'absolute tolerance', '1e-5')
    .addOption(
      new Option('--format <fmt>', 'output format').choices(['text', 'json']).default('text'),
    )
    .option(
      '-o, --output <dir/>',
      'write the first diverging node as a repro: repro.glimpse, its inputs and the reference output',
    )
    .option(
      '--optimizer',
      'bisect the optimiser: run the graph after each pass on the backend and name the first pass after which an output leaves the tolerance',
    )
    .addOption(maxMemory())
    .action(async (model: string, o) => setCode(await bisectCommand(io, model, o)));

  p.command('playground')
    .description(
      'serve the playground page on 127.0.0.1: models, passes, runs and bisect in a browser',
    )
    .option('--port <n>', 'port (0: any free one)', '8080')
    .option('--build <dir/>', 'write the page as static files instead of serving it')
    .action(async (o: { port: string; build?: string }) => setCode(await playgroundCommand(io, o)));

  p.command('bench')
    .description(
      'run the benchmarks of bench/ (matmul, attention, wgsl, dump, report, peers, peers-report); see bench/results/',
    )
    .argument('[names...]', 'which benchmarks (default: all)')
    .option('--quick', 'tiny sizes, one run each (a smoke test)')
    .addOption(maxMemory())
    .action((names: string[], o: { quick?: boolean }) => setCode(benchCommand(names, o)));

  p.command('convert')
    .description('write a model as a .glimpse text file, a .json graph or an .onnx model')
    .argument('<model>', 'built-in name[:k=v,...], or a .glimpse/.json/.onnx file')
    .requiredOption('-o, --output <file>', 'FILE.glimpse, FILE.json or FILE.onnx')
    .addOption(level('0'))
    .addOption(passes())
    .option('--weights <file>', 'load params from a .safetensors file (kept in .json)')
    .addOption(maxMemory())
    .action((model: string, o) => convertCommand(io, model, o));
  return p;
}

/** The commands of the `glimpse` program, in the order `--help` lists them. */
export function commandNames(): string[] {
  return program(defaultIo, () => {}).commands.map((c) => c.name());
}

/**
 * Run the CLI with `argv` (without node and script). Returns the exit code: user errors
 * print one `glimpse: error: ...` line and give 2; a stack trace only with GLIMPSE_DEBUG=1.
 */
export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  let code: number = EXIT.ok;
  try {
    await program(io, (c) => (code = c)).parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return EXIT.ok; // --help, --version
      io.err(`glimpse: error: ${displayLine(e.message.replace(/^error: /, '').split('\n')[0]!)}\n`);
      return EXIT.usage;
    }
    const debug = process.env.GLIMPSE_DEBUG === '1';
    if (e instanceof GlimpseError) {
      io.err(`glimpse: error: ${displayLine(e.message.split('\n')[0]!)}\n`);
      if (debug) io.err(`${e.stack}\n`);
      return EXIT.usage;
    }
    io.err(
      `glimpse: internal error: ${displayLine(e instanceof Error ? e.message.split('\n')[0]! : String(e))} (GLIMPSE_DEBUG=1 shows the stack)\n`,
    );
    if (debug && e instanceof Error) io.err(`${e.stack}\n`);
    return EXIT.internal;
  }
}
