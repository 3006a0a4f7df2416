#!/usr/bin/env node
// Mutation testing: small semantic mutations of the source, applied one at a time, each
// followed by the test files that should notice (under CI=true: one fixed property-test
// seed). A mutant that leaves its tests green survives — a place where a wrong answer would
// pass. Prints a table and `mutants killed: K/N`; exits 1 when one survives (or does not
// apply: a mutation whose text is gone must be updated, not silently skipped).
//
//   node scripts/mutate.mjs [--only NAME,...] [--dry]   (also: pnpm mutate)
//
// --dry only checks that every mutation still applies (its text occurs once).
//
// The tests run from source (vitest's source condition), so nothing is rebuilt; every
// mutated file is restored after its run, also on Ctrl-C.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const p = (f) => `${ROOT}${f}`;

const JS_ATT = 'packages/kernels-cpu/src/attention.ts';
const WGSL_ATT = 'packages/backend-wgsl/src/kernels/attention.ts';
const ELT = 'packages/ir/src/ops/elementwise.ts';
const CANON = 'packages/optimizer/src/passes/canonicalize.ts';
const FUSE = 'packages/optimizer/src/passes/fuse-attention.ts';
const WGSL_HELPERS = 'packages/backend-wgsl/src/wgsl.ts';
const ATT_GEOMETRY = 'packages/ir/src/ops/attention.ts';

// Test selections: [files, -t pattern].
const T = {
  jsAttention: [['test/ops.property.test.ts'], 'attention'],
  wgslAttention: [['test/wgsl/ops.wgsl.test.ts'], 'attention'],
  oracle: [['test/scalar-oracle.test.ts'], undefined],
  wgslOracle: [['test/wgsl/scalar-oracle.wgsl.test.ts'], undefined],
  optimizer: [['packages/optimizer', 'test/special-values.property.test.ts'], undefined],
  fusion: [['packages/optimizer', 'test/attention-fusion.property.test.ts'], undefined],
  jsOps: [['test/ops.property.test.ts'], undefined],
  gemm: [['packages/kernels-cpu/src/gemm.test.ts', 'test/ops.property.test.ts'], 'gemm|linear|bmm'],
  torch: [['test/models.torch.test.ts', 'test/onnx/tiles.test.ts'], undefined],
};

/** [name, file, text, replacement, tests]: `text` must occur exactly once in `file`. */
const MUTANTS = [
  [
    'js attention output off by 1e-3',
    JS_ATT,
    'mem[o + c]! / sum;',
    'mem[o + c]! / sum + 1e-3;',
    T.jsAttention,
  ],
  ['wgsl attention output off by 1e-3', WGSL_ATT, '/ l${r};`', '/ l${r} + 1e-3;`', T.wgslAttention],
  ['js attention drops the additive mask', JS_ATT, 'else x += mv;', 'else x += 0;', T.jsAttention],
  [
    // The default scale and the causal offset live in the one attention geometry (ir).
    'attention default scale 1/dh',
    ATT_GEOMETRY,
    'scale: a.scale ?? 1 / Math.sqrt(dh),',
    'scale: a.scale ?? 1 / dh,',
    T.jsAttention,
  ],
  [
    'attention causal offset off by one',
    ATT_GEOMETRY,
    "a.causal === 'bottom_right' ? S - T : 0,",
    "a.causal === 'bottom_right' ? S - T + 1 : 0,",
    T.jsAttention,
  ],
  [
    'js attention causal stop off by one (tile edge)',
    JS_ATT,
    'if (j >= lim) x = -Infinity;',
    'if (j > lim) x = -Infinity;',
    T.jsAttention,
  ],
  [
    'js attention GQA maps heads modulo',
    JS_ATT,
    'const hk = Math.floor(h / group);',
    'const hk = h % Hkv;',
    T.jsAttention,
  ],
  [
    'js attention masked_rows zero gives NaN',
    JS_ATT,
    "emptyRow: a.masked_rows === 'zero' ? 0 : NaN,",
    'emptyRow: NaN,',
    T.jsAttention,
  ],
  [
    // (Not the tile's early-stop bound: one key more there is masked anyway — an
    // equivalent mutant. The score's own causal test is what decides.)
    'wgsl attention masks the causal diagonal',
    WGSL_ATT,
    'if (i32(j) > i32(t) + ${u.causalOffset}) { s = neg_inf(); }',
    'if (i32(j) >= i32(t) + ${u.causalOffset}) { s = neg_inf(); }',
    T.wgslAttention,
  ],
  ['fuse-attention ignores a scale factor', FUSE, 'const c = a * f;', 'const c = a;', T.fusion],
  [
    'fuse-attention takes any softmax axis',
    FUSE,
    'return axis === -1 || axis === r - 1;',
    'return r > 0;',
    T.fusion,
  ],
  [
    'fuse-attention drops the mask',
    FUSE,
    'const inputs = [sc.q, k, v, ...(sc.mask !== undefined ? [sc.mask] : [])];',
    'const inputs = [sc.q, k, v];',
    T.fusion,
  ],
  [
    'integer division by zero gives 1',
    ELT,
    'return b === 0 ? 0 : wrapInt(Math.trunc(a / b));',
    'return b === 0 ? 1 : wrapInt(Math.trunc(a / b));',
    T.oracle,
  ],
  [
    'cast of NaN to int gives INT_MIN',
    ELT,
    'return (x) => (x !== x ? 0 : Math.max(-2147483648,',
    'return (x) => (x !== x ? -2147483648 : Math.max(-2147483648,',
    T.oracle,
  ],
  [
    'integer add does not wrap',
    ELT,
    'isInt(d) ? (a, b) => wrapInt(a + b) : (a, b) => a + b,',
    'isInt(d) ? (a, b) => a + b : (a, b) => a + b,',
    T.oracle,
  ],
  [
    'gelu constant √2 → 1.4',
    'packages/ir/src/math.ts',
    'return 0.5 * x * (1 + erf(x / Math.SQRT2));',
    'return 0.5 * x * (1 + erf(x / 1.4));',
    T.oracle,
  ],
  ['relu loses −0', ELT, '  x < 0 ? 0 : x,', '  x <= 0 ? 0 : x,', T.oracle],
  [
    'scale by the float64 factor',
    ELT,
    'const f = Math.fround(a.factor);',
    'const f = a.factor;',
    T.oracle,
  ],
  [
    'wgsl exp loses NaN',
    WGSL_HELPERS,
    'return select(exp(x), x, is_nan(x));',
    'return exp(x);',
    T.wgslOracle,
  ],
  [
    'wgsl tanh loses −0',
    WGSL_HELPERS,
    'select(select(tanh(x), sign(x), abs(x) > 15.0), x, x == 0.0)',
    'select(tanh(x), sign(x), abs(x) > 15.0)',
    T.wgslOracle,
  ],
  [
    'wgsl cast does not saturate',
    'packages/backend-wgsl/src/kernels/scalar.ts',
    '2147483647, ${x} >= 2147483648.0)',
    '2147483647, ${x} >= 4294967296.0)',
    T.wgslOracle,
  ],
  [
    'cse keys with JSON.stringify',
    'packages/optimizer/src/passes/simple.ts',
    'if (k === undefined) attrKeys.set(attrs, (k = canonicalKey(attrs)));',
    'if (k === undefined) attrKeys.set(attrs, (k = JSON.stringify(attrs)));',
    T.optimizer,
  ],
  [
    'div-by-constant fires for any divisor',
    CANON,
    'return ok ? r : decline(',
    'return true ? r : decline(',
    T.optimizer,
  ],
  [
    'scale-of-scale combines across 1',
    CANON,
    'if (Math.abs(a) >= 1 !== Math.abs(b) >= 1)',
    'if (false)',
    T.optimizer,
  ],
  [
    'scale-out-of-bmm moves any finite factor',
    CANON,
    'if (!(isPowerOfTwo(f) && f >= 1))',
    'if (!Number.isFinite(f))',
    T.optimizer,
  ],
  [
    'scale-by-one stops firing',
    CANON,
    'where: (a) => a.factor === 1',
    'where: (a) => a.factor === 2',
    T.optimizer,
  ],
  [
    'constant folding keeps float64',
    'packages/optimizer/src/passes/simple.ts',
    'const data = toNumbers(fromNumbers(t.dtype, shape, evalNode(n, ins, [shape])[0]!.data));',
    'const data = evalNode(n, ins, [shape])[0]!.data;',
    T.optimizer,
  ],
  [
    "a binary op's program swaps its operands",
    'packages/ir/src/ops/index.ts',
    "['$0', '$1', op]",
    "['$1', '$0', op]",
    T.optimizer,
  ],
  [
    'gemm tile edge off by one',
    'packages/kernels-cpu/src/gemm.ts',
    'const mr = Math.min(MR, M - ic);',
    'const mr = Math.min(MR, M - ic - 1);',
    T.gemm,
  ],
  [
    'gemm keeps only the last K block of a sum',
    'packages/kernels-cpu/src/gemm.ts',
    'pc === 0 ? 0 : 1,',
    '0,',
    T.gemm,
  ],
  [
    'layer_norm without eps (js)',
    'packages/kernels-cpu/src/reduce.ts',
    'const rstd = 1 / Math.sqrt(v / inner + eps);',
    'const rstd = 1 / Math.sqrt(v / inner);',
    T.jsOps,
  ],
];

const only = process.argv.includes('--only')
  ? new Set(process.argv[process.argv.indexOf('--only') + 1].split(','))
  : undefined;
const chosen = MUTANTS.filter(([name]) => only === undefined || only.has(name));

let restore;
process.on('SIGINT', () => {
  restore?.();
  process.exit(130);
});

const dry = process.argv.includes('--dry');
const rows = [];
for (const [name, file, text, replacement, [files, pattern]] of chosen) {
  const original = readFileSync(p(file), 'utf8');
  const count = original.split(text).length - 1;
  if (count !== 1) {
    rows.push([name, `NOT APPLIED (the text occurs ${count} times in ${file})`]);
    continue;
  }
  if (dry) {
    rows.push([name, 'killed? (dry run: applies)']);
    continue;
  }
  restore = () => writeFileSync(p(file), original);
  writeFileSync(p(file), original.replace(text, replacement));
  const t0 = Date.now();
  try {
    const args = ['vitest', 'run', ...files, ...(pattern ? ['-t', pattern] : [])];
    const r = spawnSync('npx', args, {
      cwd: ROOT,
      env: { ...process.env, CI: 'true' },
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    const failed = (r.stdout + r.stderr).match(/Tests\s.*?(\d+) failed/)?.[1];
    const status = r.status === 0 ? 'SURVIVED' : `killed (${failed ?? 'the run'} failed)`;
    rows.push([name, `${status}, ${((Date.now() - t0) / 1000).toFixed(0)} s`]);
  } finally {
    restore();
    restore = undefined;
  }
  console.log(`${rows.at(-1)[0]}: ${rows.at(-1)[1]}`);
}

const killed = rows.filter(([, s]) => s.startsWith('killed')).length;
console.log('\n| mutant | result |\n|---|---|');
for (const [n, s] of rows) console.log(`| ${n} | ${s} |`);
console.log(`\nmutants killed: ${killed}/${rows.length}`);
process.exitCode = killed === rows.length ? 0 : 1;
