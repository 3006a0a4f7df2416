import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Graph, Tensor } from '@glimpse/ir';
import { importOnnx, readTensorPb } from '@glimpse/onnx';
import { expect } from 'vitest';
import { cli, ROOT } from '../cli.js';

/**
 * ONNX test data made outside the test code (read-only): ONNX's node tests and PyTorch
 * exports, copied into test/fixtures/testdata (its README says from where, under which
 * licence).
 */
export const TESTDATA = `${ROOT}test/fixtures/testdata`;

export const FOLDERS: string[] = existsSync(TESTDATA)
  ? ['onnx-node', 'torch'].flatMap((d) =>
      readdirSync(`${TESTDATA}/${d}`)
        .filter((f) => existsSync(`${TESTDATA}/${d}/${f}/model.onnx`))
        .map((f) => `${d}/${f}`),
    )
  : [];

export interface Case {
  graph: Graph;
  inputs: Record<string, Tensor>;
  outputs: Tensor[];
}

/** A folder's model and its test_data_set_0 (input_N.pb / output_N.pb in graph order). */
export function loadCase(folder: string): Case {
  const dir = `${TESTDATA}/${folder}`;
  const graph = importOnnx(readFileSync(`${dir}/model.onnx`), { file: `${folder}/model.onnx` });
  const ds = `${dir}/test_data_set_0`;
  const pb = (f: string) => readTensorPb(readFileSync(`${ds}/${f}`), f);
  return {
    graph,
    inputs: Object.fromEntries(graph.inputs.map((inp, i) => [inp.name, pb(`input_${i}.pb`)])),
    outputs: graph.outputs.map((_, i) => pb(`output_${i}.pb`)),
  };
}

/**
 * `glimpse run MODEL --inputs DATA --check DATA` on each backend at each level: every
 * output within tolerance, exit 0.
 */
export async function expectRunsChecked(
  model: string,
  data: string,
  backends: readonly string[],
  what: string,
  levels: readonly string[] = ['0', '2'],
) {
  for (const backend of backends)
    for (const level of levels) {
      const r = await cli(
        'run',
        model,
        '--backend',
        backend,
        '--level',
        level,
        '--inputs',
        data,
        '--check',
        data,
      );
      const msg = `${what} on ${backend} -O${level}: ${r.err}${r.out}`;
      expect(r.err, msg).toBe('');
      expect(r.out, msg).toMatch(/: max abs err .*, ok$/m);
      expect(r.out, msg).not.toMatch(/FAIL/);
      expect(r.code, msg).toBe(0);
    }
}
