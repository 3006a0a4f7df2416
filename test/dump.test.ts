/**
 * The dump tool: per-pass sections (golden text, and every section parses back to the graph
 * at that point), rewrite traces, failures, stats, dot/svg, one file per pass, and the HTML
 * report in a real headless Chromium.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Graph } from '@glimpse/ir';
import { parseGraph, printGraph } from '@glimpse/ir';
import { buildModel, MODEL_NAMES } from '@glimpse/models';
import type { Pass } from '@glimpse/optimizer';
import { optimizeWithResults, printAfter, printAfterFailure, PASSES } from '@glimpse/optimizer';
import { graphToDot, renderGraph } from 'glimpse';
import { launchChromium } from './chromium.js';
import { cli, FIXTURES, ROOT } from './cli.js';

const SEED = `${FIXTURES}/graphs/seed-attention.glimpse`;
const OUT = `${ROOT}test-output`;

/** Split a dump into (banner, section text) pairs. */
function sections(dump: string): [string, string][] {
  const parts = dump.split(/^(?=\/\/ ----- )/m).filter((s) => s.trim() !== '');
  return parts.map((p) => [p.slice(0, p.indexOf('\n')), p]);
}

describe('per-pass dumps', () => {
  it('--print-after-all: banners with the rules that fired, and the IR after each pass (golden)', async () => {
    const r = await cli(
      'dump',
      SEED,
      '--passes',
      'canonicalize,fuse-attention,canonicalize,dce',
      '--print-after-all',
    );
    expect(r.err).toBe('');
    expect(r.out).toBe(`// ----- after canonicalize (no change) -----
graph @attn(%q: f32[B,T,8], %k: f32[B,T,8], %v: f32[B,T,8]) {
  %kt: f32[B,8,T] = transpose[perm=[0,2,1]] %k
  %s: f32[B,T,T] = bmm %q, %kt
  %c: f32[] = constant[value=[2.8284271247461903]]
  %s1: f32[B,T,T] = div %s, %c
  %p: f32[B,T,T] = softmax %s1
  %y: f32[B,T,8] = bmm %p, %v
  return %y
}
// ----- after fuse-attention (fuse-attention×1, dce×4) -----
graph @attn(%q: f32[B,T,8], %k: f32[B,T,8], %v: f32[B,T,8]) {
  %kt: f32[B,8,T] = transpose[perm=[0,2,1]] %k
  %y.t: f32[B,T,8] = transpose[perm=[0,2,1]] %kt
  %y: f32[B,T,8] = attention[scale=0.3535533966440824] %q, %y.t, %v
  return %y
}
// ----- after canonicalize (transpose-of-transpose×1, dce×1, identity-transpose×1) -----
graph @attn(%q: f32[B,T,8], %k: f32[B,T,8], %v: f32[B,T,8]) {
  %y: f32[B,T,8] = attention[scale=0.3535533966440824] %q, %k, %v
  return %y
}
// ----- after dce (no change) -----
graph @attn(%q: f32[B,T,8], %k: f32[B,T,8], %v: f32[B,T,8]) {
  %y: f32[B,T,8] = attention[scale=0.3535533966440824] %q, %k, %v
  return %y
}
`);
  });

  it('--print-after PASS (repeatable) and --print-after-change select sections', async () => {
    const one = await cli(
      'dump',
      SEED,
      '--passes',
      'canonicalize,fuse-attention,dce',
      '--print-after',
      'fuse-attention',
      '--print-after',
      'dce',
    );
    expect(sections(one.out).map(([b]) => b)).toEqual([
      '// ----- after fuse-attention (fuse-attention×1, dce×4) -----',
      '// ----- after dce (no change) -----',
    ]);
    const changed = await cli('dump', SEED, '--level', '2', '--print-after-change');
    const banners = sections(changed.out).map(([b]) => b);
    expect(banners.length).toBeGreaterThan(1);
    expect(banners.some((b) => b.includes('no change'))).toBe(false);
    const bad = await cli('dump', SEED, '--passes', 'dce', '--print-after', 'fuse-attention');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--print-after fuse-attention: no such pass in the pipeline \(dce\)/);
  });

  it('every section of every built-in model at -O2 parses back and equals the graph at that point', () => {
    for (const m of MODEL_NAMES) {
      const g = buildModel(m).graph;
      let dump = '';
      const { results } = optimizeWithResults(g, {
        level: 2,
        instrument: printAfter((s) => (dump += s)),
      });
      const secs = sections(dump);
      expect(secs).toHaveLength(results.length);
      secs.forEach(([, text], i) => {
        const back = parseGraph(text);
        const want: Graph = results[i]!.after;
        expect(back.nodes).toEqual(want.nodes);
        expect(back.outputs).toEqual(want.outputs);
        for (const v of want.valueNames()) expect(back.typeOf(v)).toEqual(want.typeOf(v));
      });
    }
  });

  it('--trace-rewrites: each firing with rule, node and replacement, and each decline with its reason', async () => {
    const r = await cli(
      'dump',
      SEED,
      '--passes',
      'canonicalize,fuse-attention',
      '--trace-rewrites',
    );
    expect(r.out.split('\n').filter((l) => l.startsWith('//'))).toEqual([
      '// canonicalize: div-by-constant declined at %s1 (div): 1/2.8284270763397217 is not exact in f32: x/2.8284270763397217 and x·(1/2.8284270763397217) round differently',
      '// fuse-attention: fuse-attention at %y (bmm) -> attention(%q, %y.t, %v)',
      '// fuse-attention: dce at %p (softmax) -> (removed)',
      '// fuse-attention: dce at %s1 (div) -> (removed)',
      '// fuse-attention: dce at %c (constant) -> (removed)',
      '// fuse-attention: dce at %s (bmm) -> (removed)',
    ]);
  });

  it('--print-after-failure: the graph before the failing pass and the pipeline to reproduce it', () => {
    const boom: Pass = {
      name: 'boom',
      description: 'always fails',
      exact: 'never runs to the end',
      run: () => {
        throw new Error('kaboom');
      },
    };
    let dump = '';
    const g = parseGraph(readFileSync(SEED, 'utf8'));
    expect(() =>
      optimizeWithResults(g, {
        passes: [PASSES['canonicalize']!, boom, PASSES['dce']!],
        instrument: printAfterFailure((s) => (dump += s)),
      }),
    ).toThrow('kaboom');
    expect(dump.split('\n').slice(0, 2)).toEqual([
      '// ----- before boom (failed: kaboom) -----',
      '// reproduce: glimpse dump FILE --passes boom,dce',
    ]);
    expect(printGraph(parseGraph(dump))).toContain('%s1: f32[B,T,T] = div %s, %c');
  });

  it('--stats: one column per pass that changed the graph', async () => {
    const r = await cli(
      'dump',
      'causal-self-attention',
      '--level',
      '2',
      '--stats',
      '--shape',
      'T=256',
    );
    const header = r.out.split('\n')[1]!;
    expect(header.trim().split(/\s{2,}/)).toEqual([
      'input',
      '2 canonicalize',
      '7 fuse-attention',
      '8 canonicalize',
      '11 fold-transpose',
      '13 canonicalize',
    ]);
    expect(r.out).toMatch(/^softmax\s+1\s+1\s+0\s+0\s+0\s+0$/m);
    expect(r.out).toMatch(/^planned peak/m);
  });
});

describe('dot, svg, files per pass', () => {
  it('DOT: op-coloured boxes, fused ops double-bordered, shapes on edges, params folded, names escaped', () => {
    const g = parseGraph(`graph @d(%"x \\"q\\"": f32[2,4]) params(%w: f32[3,4] = fill(1)) {
  %h: f32[2,3] = linear %"x \\"q\\"", %w
  %y: f32[2,3] = elementwise[program=["$0",relu]] %h
  return %y
}`);
    expect(graphToDot(g)).toBe(`digraph "d" {
  graph [rankdir=TB, fontname="Helvetica", fontsize=11, label="d", labelloc=t];
  node [fontname="Helvetica", fontsize=10, shape=box, style="rounded,filled", fillcolor="#ffffff"];
  edge [fontname="Helvetica", fontsize=8, color="#868e96"];
  in0 [shape=ellipse, fillcolor="#e9ecef", label="x \\"q\\"\\nf32[2,4]"];
  n0 [label="linear\\n%h\\nw f32[3,4]", fillcolor="#cfe2ff", tooltip="linear (matmul)"];
  n1 [label="elementwise\\n%y", fillcolor="#d3f9d8", tooltip="elementwise (elementwise)", peripheries=2, penwidth=1.5];
  in0 -> n0 [label="f32[2,4]"];
  n0 -> n1 [label="f32[2,3]"];
  out0 [shape=ellipse, fillcolor="#e9ecef", label="y\\nf32[2,3]"];
  n1 -> out0;
}
`);
  });

  it('SVG through Graphviz (wasm): one group per node, labels as text', async () => {
    const svg = await renderGraph(buildModel('self-attention').graph, 'svg');
    expect(svg.startsWith('<svg')).toBe(true);
    expect((svg.match(/class="node"/g) ?? []).length).toBe(1 + 8 + 1); // x, 8 ops, y
    expect(svg).toContain('>softmax<');
  });

  it('-o DIR/ writes NN-pass.ext per pass, each a valid file', async () => {
    const dir = join(tmpdir(), `glimpse-dump-${process.pid}/`);
    const r = await cli('dump', 'causal-self-attention', '--level', '2', '-o', dir);
    expect(r.code).toBe(0);
    const files = readdirSync(dir).sort();
    expect(files[0]).toBe('00-input.glimpse');
    expect(files).toContain('07-fuse-attention.glimpse');
    for (const f of files) parseGraph(readFileSync(join(dir, f), 'utf8'), { file: f });
  });
});

describe('HTML report in headless Chromium', () => {
  it('transformer-block: a section and a rendered SVG per pass; screenshot saved', async () => {
    mkdirSync(OUT, { recursive: true });
    const file = `${OUT}/transformer-block.html`;
    const r = await cli(
      'dump',
      'transformer-block',
      '--level',
      '2',
      '--format',
      'html',
      '-o',
      file,
    );
    expect(r.code).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script|<link|src="http|href="http/); // self-contained, offline
    const browser = await launchChromium(['--disable-gpu']);
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(`file://${file}`);
      const passes = optimizeWithResults(buildModel('transformer-block').graph, { level: 2 })
        .results.length;
      expect(await page.locator('section.pass').count()).toBe(passes + 1);
      for (let i = 0; i <= passes; i++) {
        const sec = page.locator(`#pass-${i}`);
        expect(await sec.locator('svg').count()).toBe(1);
        expect(await sec.locator('svg g.node').count()).toBeGreaterThan(3);
        expect(await sec.locator('pre.ir').innerText()).toMatch(/^graph @transformer_block/);
      }
      // The fuse-attention section: its banner, its fused node in the picture, the diff.
      const fused = page.locator('section[data-pass="fuse-attention"]');
      expect(await fused.locator('h2').innerText()).toMatch(
        /after fuse-attention \(fuse-attention×1/,
      );
      expect(await fused.locator('svg g.node', { hasText: 'attention' }).count()).toBe(1);
      expect(await fused.locator('pre.diff .add', { hasText: 'attention[' }).count()).toBe(1);
      await fused.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${OUT}/transformer-block-report.png` });
      expect(existsSync(`${OUT}/transformer-block-report.png`)).toBe(true);
    } finally {
      await browser.close();
    }
  });
});
