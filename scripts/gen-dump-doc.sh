#!/usr/bin/env bash
# Regenerate docs/dump.md with real output of the CLI (run after `tsc -b`).
set -euo pipefail
cd "$(dirname "$0")/.."
G="node packages/cli/bin/glimpse.js"
block() { echo '```'; "$@"; echo '```'; }
{
cat <<'EOF'
# The dump tool

`glimpse dump` shows a model's graph and what every optimiser pass did to it — as MLIR's
`--print-ir-after-all`, XLA's dump folder and TorchInductor's traces do for theirs. All
output below is real (`scripts/gen-dump-doc.sh` regenerates this page), from the built-in
`self-attention` model, the seed.

## Before and after fusion

`glimpse dump self-attention` (as written, -O0):

EOF
block $G dump self-attention
cat <<'EOF'

`glimpse dump self-attention --level 2`:

EOF
block $G dump self-attention --level 2
cat <<'EOF'

## Per-pass sections

`--print-after-all`, `--print-after PASS` (repeatable), `--print-after-change` (only passes
that changed the graph). Every section starts with a comment banner naming the pass and
the rules that fired (`dce` counts the nodes a rewrite left dead), so each section — and
the whole dump — parses back as a `.glimpse` file.

`glimpse dump self-attention --level 2 --print-after-change`:

EOF
block $G dump self-attention --level 2 --print-after-change
cat <<'EOF'

`--print-after-failure`: if a pass throws, the graph before it is printed with the
pipeline that reproduces the failure (`// reproduce: glimpse dump FILE --passes p,...`).

## Rewrite traces

`glimpse dump self-attention --level 2 --trace-rewrites`:

EOF
block $G dump self-attention --level 2 --trace-rewrites
cat <<'EOF'

### Why didn't it fuse?

A rule whose pattern matches and that then declines says why, in the same trace: every
`fuse-attention` near miss (softmax over another axis, probabilities used elsewhere, scores
that are not q·kᵀ, a causal mask of another alignment, a scale of 0 or inf on q, ...), and
the other rules' (a division with no exact reciprocal, scales on both sides of 1, a scale
that may not move past a matmul). [examples/why-not-fused.glimpse](examples/why-not-fused.glimpse)
is attention with its softmax over the queries:

`glimpse dump docs/examples/why-not-fused.glimpse --level 2 --trace-rewrites`:

EOF
echo '```'; $G dump docs/examples/why-not-fused.glimpse --level 2 --trace-rewrites | grep '^//'; echo '```'
cat <<'EOF'

## Statistics per pass

`glimpse dump self-attention --level 2 --stats --shape T=512`: nodes per op, FLOPs, bytes
moved and the JS backend's planned peak of intermediate memory at the given binding, for
the input and after each pass that changed the graph:

EOF
block $G dump self-attention --level 2 --stats --shape T=512
cat <<'EOF'

## Formats and files

- `--format text` (default) and `json` (the graph formats of [ir.md](ir.md)).
- `--format dot`: Graphviz DOT — boxes coloured by op class (matmul, attention,
  elementwise, normalisation, layout, source), fused ops (`attention`, `elementwise`) with a
  double border, edges labelled with shapes, params and constants folded into the node that
  reads them so large models stay readable.
- `--format svg`: that DOT laid out by Graphviz compiled to WebAssembly
  (`@hpcc-js/wasm-graphviz`; no system binary).
- `--format html -o report.html`: one self-contained file (no scripts, no fetched assets;
  works offline) — the pass list, then per pass its banner, graph as SVG, text IR, a diff
  against the previous pass and its stats.
- `-o DIR/` (a path ending in `/`, or an existing directory): one file per pass,
  `NN-pass.ext`, like MLIR's tree dump.

EOF
rm -rf /tmp/glimpse-doc-out/
echo '```'
echo '$ glimpse dump self-attention --level 2 --format svg -o out/'
$G dump self-attention --level 2 --format svg -o /tmp/glimpse-doc-out/ | sed 's#/tmp/glimpse-doc-out/#out/#'
echo '$ ls out/'
ls /tmp/glimpse-doc-out/
echo '```'
cat <<'EOF'

The HTML report of `transformer-block` at -O2, in Chromium (the test in
`test/dump.test.ts` opens it headless and saves this screenshot):

![HTML report](img/report-transformer-block.png)

A 24-block GPT-style stack (dim 768, 624 nodes) dumps to HTML in 2.1 s (median of `node
bench/dump.js`): unchanged passes reuse the previous picture and large graphs get bounded
Graphviz layout iterations.

## The same from the API

```ts
import { optimizeWithResults, printAfter, printAfterFailure, traceRewrites } from '@glimpse/optimizer';
import { renderGraph, renderReport } from 'glimpse';

let log = '';
const { graph, results, trace } = optimizeWithResults(g, {
  level: 2,
  instrument: [printAfter((s) => (log += s), { changed: true }), traceRewrites(console.log), printAfterFailure(console.error)],
});
const svg = await renderGraph(graph, 'svg'); // 'text' | 'json' | 'dot' | 'svg'
const html = await renderReport(g, results); // the report above
```

An instrument is an object with optional `beforePass(pass, graph, i)`,
`afterPass(result, i)` (`result` has `before`, `after`, `changed`, `ms`, `rewrites`) and
`onFailure(pass, graph, error, pipeline)`; passes themselves never print.
EOF
} > docs/dump.md
