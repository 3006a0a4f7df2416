/**
 * Every built-in model equals PyTorch: fixtures made by test/fixtures/gen_fixtures.py
 * (PyTorch 1.13, weights under state_dict names) run through
 * `glimpse run --weights ... --inputs ... --check ...` with docs/design.md's default tolerances
 * (rtol 1e-3, atol 1e-5: f32 vs f32 with different summation orders).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MODEL_NAMES } from '@glimpse/models';
import { cli, FIXTURES, runFixture } from './cli.js';

const manifest = JSON.parse(readFileSync(`${FIXTURES}/manifest.json`, 'utf8')) as {
  models: Record<string, string>;
};

describe('built-in models fuse at -O2', () => {
  // One attention chain per model, except the context network, whose softmax weights the
  // input itself (no q·kᵀ): it must keep its softmax and gain no attention op.
  const chains: Record<string, number> = {
    'self-attention': 1,
    'multi-head-attention': 1,
    'cross-attention': 1,
    'causal-self-attention': 1,
    'transformer-block': 1,
    transformer: 2,
    'context-attention': 0,
  };
  for (const [name, n] of Object.entries(chains)) {
    it(`glimpse dump ${name} --level 2 --format json: ${n} attention, ${n ? 'no' : 'its'} softmax`, async () => {
      const r = await cli('dump', name, '--level', '2', '--format', 'json');
      const g = JSON.parse(r.out) as { nodes: { op: string }[] };
      expect(g.nodes.filter((x) => x.op === 'attention')).toHaveLength(n);
      expect(g.nodes.filter((x) => x.op === 'softmax')).toHaveLength(n ? 0 : 1);
    });
  }
});

describe('built-in models ≡ PyTorch', () => {
  it('has a fixture for every built-in model', () => {
    expect(Object.keys(manifest.models).sort()).toEqual([...MODEL_NAMES].sort());
  });
  for (const name of Object.keys(manifest.models))
    for (const level of ['0', '1', '2']) {
      it(`${name} at -O${level}`, async () => {
        const r = await runFixture(name, '--level', level);
        expect(r.err).toBe('');
        expect(r.out).toMatch(/^y: max abs err .*, ok$/m);
        expect(r.code).toBe(0);
      });
    }
  it('--check fails (exit 1) when the outputs differ: the check can fail', async () => {
    const a = `${FIXTURES}/causal-self-attention`;
    // Same shapes, other values: the transformer block's reference output.
    const r = await cli(
      'run',
      manifest.models['causal-self-attention']!,
      '--weights',
      `${a}/weights.safetensors`,
      '--inputs',
      a,
      '--check',
      `${FIXTURES}/transformer-block`,
    );
    expect(r.out).toMatch(/FAIL: \d+ values out of tolerance/);
    expect(r.code).toBe(1);
  });
  it('--check fails with tolerances too tight for f32', async () => {
    const d = `${FIXTURES}/transformer-block`;
    const r = await cli(
      'run',
      manifest.models['transformer-block']!,
      '--weights',
      `${d}/weights.safetensors`,
      '--inputs',
      d,
      '--check',
      d,
      '--rtol',
      '0',
      '--atol',
      '0',
    );
    expect(r.code).toBe(1);
  });
});
