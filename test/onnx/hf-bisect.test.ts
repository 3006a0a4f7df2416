/**
 * `bisect` is clean on every Hugging Face fixture that runs: the wasm backend at -O2 (fused
 * attention, fused programs) agrees with the float64 reference interpreter value by value
 * on its first data set, within bisect's tolerance — no node is blamed. (A node blamed here
 * is a kernel or rewrite that drifts even where the model's outputs still pass.)
 */
import { describe, expect, it } from 'vitest';
import { bisect } from 'glimpse';
import { hfDataSets, RUNS } from './hf.js';

describe('bisect is clean on the Hugging Face fixtures', () => {
  for (const name of Object.keys(RUNS))
    it(name, async () => {
      const { graph, inputs } = hfDataSets(name)[0]!;
      const report = await bisect(graph, inputs, { backend: 'wasm', threads: 1 });
      // Every computed value of the optimised graph compared (constants are read exactly).
      expect(report.values.length, `${name}: values compared`).toBe(
        report.graph.nodes
          .filter((n) => n.op !== 'constant')
          .reduce((n, node) => n + node.outputs.length, 0),
      );
      const first = report.first;
      expect(
        first && `${first.value} (${first.op}) ${JSON.stringify(first.comparison)}`,
        `${name}: first diverging value`,
      ).toBeUndefined();
    });
});
