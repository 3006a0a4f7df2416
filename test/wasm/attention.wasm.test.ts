/**
 * Fused attention on the WebAssembly backend (test/f32-attention.ts), on one thread (test/wasm/threads.wasm.test.ts holds 2 threads to it):
 * random attention graphs fuse and equal their unfused form on wasm under the precision
 * contract; ops sized around the wasm kernel's 8-row blocks and 128-key tiles.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keySplits, WasmExecutable } from '@glimpse/backend-wasm';
import { attentionOpCase, defineAttentionSuite } from '../f32-attention.js';
import { expectAttentionContract } from '../attention-naive.js';

defineAttentionSuite('wasm', async (g) => new WasmExecutable(g, { threads: 1 }));

describe('wasm attention with key splits (short queries over long keys)', () => {
  it('every mask, causal form and masked_rows ≡ reference under the contract', async () => {
    await fc.assert(
      fc.asyncProperty(
        attentionOpCase({
          T: [1, 2, 3, 9],
          S: [512, 700, 1300],
          B: 1,
          Hkv: 1,
          hidden: [0.15, 0.999, 1],
        }),
        async ({ c, graph, x }) => {
          const heads = c.B * c.Hkv * c.group;
          expect(keySplits(heads, c.T, c.S).splits).toBeGreaterThan(1);
          await expectAttentionContract(
            'wasm split-K',
            graph,
            x,
            async (g) => (await new WasmExecutable(g, { threads: 1 }).run(x)).y!,
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('splits come from the shapes alone, whole tiles each, and cover the keys', () => {
    expect(keySplits(32, 1, 4096).splits).toBe(1); // enough heads
    expect(keySplits(1, 1, 300).splits).toBe(1); // too few keys
    for (const [heads, T, S] of [
      [1, 1, 4096],
      [2, 9, 1000],
      [8, 1, 4096],
      [1, 1, 512],
    ] as const) {
      const { splits, splitKeys } = keySplits(heads, T, S);
      expect(splitKeys % 128, `${heads},${T},${S}`).toBe(0);
      expect((splits - 1) * splitKeys).toBeLessThan(S);
      expect(splits * splitKeys).toBeGreaterThanOrEqual(S);
    }
  });
});
