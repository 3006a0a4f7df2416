import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main } from '@glimpse/cli';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = `${ROOT}packages/cli/bin/glimpse.js`;
export const FIXTURES = `${ROOT}test/fixtures`;

/** Run the CLI in-process (source build), capturing its streams. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

/** Run the real `glimpse` binary in a child process (the built dist, as users run it). */
export function cliProcess(...argv: string[]): { code: number; out: string; err: string } {
  return cliProcessEnv({}, ...argv);
}

/** `cliProcess` with extra environment variables. */
export function cliProcessEnv(
  env: Record<string, string>,
  ...argv: string[]
): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...argv], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** The committed PyTorch fixtures: model name → built-in spec (test/fixtures/manifest.json). */
export const FIXTURE_MODELS = (
  JSON.parse(readFileSync(`${FIXTURES}/manifest.json`, 'utf8')) as {
    models: Record<string, string>;
  }
).models;

/** `glimpse run` of a fixture model with its weights and inputs, checked against PyTorch's output. */
export function runFixture(name: string, ...extra: string[]) {
  const dir = `${FIXTURES}/${name}`;
  return cli(
    'run',
    FIXTURE_MODELS[name]!,
    '--weights',
    `${dir}/weights.safetensors`,
    '--inputs',
    dir,
    '--check',
    dir,
    ...extra,
  );
}
