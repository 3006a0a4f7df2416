/**
 * docs/ops.md and docs/passes.md are generated from the op definitions and the passes, so
 * they cannot drift: this test fails when they differ. The `glimpse bisect` sessions shown
 * in docs/bisect.md are run and must print what the page shows. `GLIMPSE_UPDATE_DOCS=1 npx vitest run test/docs.test.ts`
 * rewrites it. docs/design.md's lists of packages, commands, models and ops, and the model
 * count of the README and docs/architecture.md, are read against the code.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AttrSpec } from '@glimpse/ir';
import { fmtNumber, OP_NAMES, OPS } from '@glimpse/ir';
import { MODEL_NAMES } from '@glimpse/models';
import { PASSES, PIPELINES } from '@glimpse/optimizer';
import { commandNames } from '@glimpse/cli';
import { cli, ROOT } from './cli.js';

function fmt(v: unknown): string {
  if (typeof v === 'number') return fmtNumber(v);
  if (Array.isArray(v)) return `[${v.map(fmt).join(',')}]`;
  return String(v);
}

function opReference(): string {
  const lines = [
    '# Op reference',
    '',
    'Generated from `packages/ir/src/ops/` by `test/docs.test.ts`; do not edit by hand.',
    'Inputs marked `?` are optional; `…` repeats. Attributes without a default are required',
    'unless marked optional.',
    '',
  ];
  for (const name of [...OP_NAMES].sort()) {
    const def = OPS[name];
    const variadic = 'variadic' in def && def.variadic === true;
    const ins = def.inputs.map(
      (i, k) =>
        `${i.name}${i.optional ? '?' : ''}${variadic && k === def.inputs.length - 1 ? '…' : ''}${i.dtypes ? `: ${i.dtypes.join('|')}` : ''}`,
    );
    lines.push(
      `## \`${name}\``,
      '',
      def.doc,
      '',
      `Inputs: ${ins.length ? ins.map((s) => `\`${s}\``).join(', ') : 'none'}`,
      '',
    );
    const attrs = Object.entries(def.attrs as Record<string, AttrSpec>);
    if (attrs.length > 0) {
      lines.push('| attr | kind | default | meaning |', '|---|---|---|---|');
      for (const [k, a] of attrs) {
        const kind = a.kind === 'enum' ? a.values!.join(' \\| ') : a.kind;
        const dflt =
          a.default !== undefined ? `\`${fmt(a.default)}\`` : a.required ? 'required' : 'optional';
        lines.push(`| \`${k}\` | ${kind} | ${dflt} | ${a.doc} |`);
      }
      lines.push('');
    }
  }
  return lines.join('\n');
}

function passReference(): string {
  const lines = [
    '# Pass reference',
    '',
    'Generated from `packages/optimizer/src/` by `test/docs.test.ts`; do not edit by hand.',
    'A pass name is also its command-line spelling (`glimpse dump m --passes a,b`).',
    '',
    '| level | pipeline |',
    '|---|---|',
    ...Object.entries(PIPELINES).map(
      ([l, ps]) => `| -O${l} | ${ps.map((p) => `\`${p.name}\``).join(' → ') || '(none)'} |`,
    ),
    '',
  ];
  lines.push(
    'Every pass gives what the graph as written gives — NaN, ±inf and −0 included (docs/design.md); each',
    'section says why, and each rule either is an identity for every value or declines (its',
    'reason shows in `glimpse dump --trace-rewrites`). Finite results follow the precision',
    'contract. The special-value tests (test/special-values.property.test.ts and its WGSL twin)',
    'check every pass alone and every level against the graph as written.',
    '',
  );
  for (const [name, pass] of Object.entries(PASSES).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`## \`${name}\``, '', pass.description, '', `Exact: ${pass.exact}.`, '');
    const { rules, ruleExact } = pass as {
      rules?: { name: string; pattern: { describe: string } }[];
      ruleExact?: Record<string, string>;
    };
    if (rules) {
      expect(Object.keys(ruleExact ?? {}).sort(), `exactness notes of ${name}`).toEqual(
        rules.map((r) => r.name).sort(),
      );
      lines.push('| rule | pattern | exact because |', '|---|---|---|');
      for (const r of rules)
        lines.push(
          `| \`${r.name}\` | \`${r.pattern.describe.replace(/\|/g, '\\|')}\` | ${ruleExact![r.name]} |`,
        );
      lines.push('');
    }
  }
  return lines.join('\n');
}

describe('docs', () => {
  it('docs/passes.md matches the passes', () => {
    const path = `${ROOT}docs/passes.md`;
    const want = passReference();
    if (process.env.GLIMPSE_UPDATE_DOCS === '1') writeFileSync(path, want);
    expect(readFileSync(path, 'utf8')).toBe(want);
  });

  it('docs/ops.md matches the op definitions', () => {
    const path = `${ROOT}docs/ops.md`;
    const want = opReference();
    if (process.env.GLIMPSE_UPDATE_DOCS === '1') writeFileSync(path, want);
    expect(readFileSync(path, 'utf8')).toBe(want);
  });

  it('docs/bisect.md shows what glimpse bisect prints', async () => {
    const doc = readFileSync(`${ROOT}docs/bisect.md`, 'utf8');
    const sessions = [...doc.matchAll(/```\n\$ (glimpse bisect [^\n]+)\n([\s\S]*?)```/g)];
    expect(sessions.length).toBeGreaterThanOrEqual(3);
    for (const [, command, shown] of sessions) {
      const r = await cli(...command!.split(' ').slice(1));
      expect(r.out, command).toBe(shown);
    }
  });
});

/** The text under a `## heading` of a markdown page, up to the next `## `. */
function section(doc: string, heading: string): string {
  const start = doc.indexOf(`\n## ${heading}\n`);
  expect(start, `a section '## ${heading}'`).toBeGreaterThanOrEqual(0);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** Every `code` span of a text. */
const spans = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

const NUMBERS = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
];

/** The workspace's packages, by the names in packages/*\/package.json. */
const PACKAGE_NAMES = readdirSync(`${ROOT}packages`).map(
  (d) =>
    (JSON.parse(readFileSync(`${ROOT}packages/${d}/package.json`, 'utf8')) as { name: string })
      .name,
);

describe('docs/design.md agrees with the code', () => {
  const design = readFileSync(`${ROOT}docs/design.md`, 'utf8');

  it('names every package, and no other', () => {
    const named = spans(section(design, 'Packages')).filter(
      (s) => s === 'glimpse' || /^@glimpse\/[a-z-]+$/.test(s),
    );
    expect(sorted(named)).toEqual(sorted(PACKAGE_NAMES));
  });

  it('lists the commands of the glimpse program', () => {
    const line = /`glimpse ([a-z]+(?: \| [a-z]+)*)`/.exec(section(design, 'Command line'));
    expect(line, 'a `glimpse a | b | ...` list').not.toBeNull();
    expect(sorted(line![1]!.split(' | '))).toEqual(sorted(commandNames()));
  });

  it('names every built-in model', () => {
    const named = spans(section(design, 'Built-in models')).filter((s) =>
      /^[a-z]+(-[a-z]+)+$|^transformer$/.test(s),
    );
    expect(sorted(named)).toEqual(sorted(MODEL_NAMES));
  });

  it('lists every op of the IR (OP_NAMES), and no other', () => {
    const ir = section(design, 'IR');
    const start = ir.indexOf('\n- Ops, named as printed:');
    expect(start, 'the bullet "- Ops, named as printed:"').toBeGreaterThanOrEqual(0);
    const end = ir.indexOf('\n- ', start + 1);
    const bullet = ir.slice(start, end < 0 ? undefined : end);
    expect(sorted(spans(bullet))).toEqual(sorted(OP_NAMES));
  });
});

describe('the README and docs/architecture.md count the built-in models right', () => {
  for (const page of ['README.md', 'docs/architecture.md'])
    it(page, () => {
      const text = readFileSync(`${ROOT}${page}`, 'utf8');
      const counts = [...text.matchAll(/\b([a-z]+|\d+) built-in models\b/gi)]
        .map((m) => m[1]!.toLowerCase())
        .filter((w) => /^\d+$/.test(w) || NUMBERS.includes(w))
        .map((w) => (/^\d+$/.test(w) ? Number(w) : NUMBERS.indexOf(w)));
      expect(counts.length, `${page} says how many built-in models there are`).toBeGreaterThan(0);
      for (const n of counts) expect(n, page).toBe(MODEL_NAMES.length);
    });

  it('docs/architecture.md has a row for every package', () => {
    const doc = readFileSync(`${ROOT}docs/architecture.md`, 'utf8');
    const rows = [...section(doc, 'Packages').matchAll(/^\| `([^`]+)` +\|/gm)].map((m) => m[1]!);
    expect(sorted(rows)).toEqual(sorted(PACKAGE_NAMES));
  });

  it("the README's CLI synopsis has every command", () => {
    const readme = readFileSync(`${ROOT}README.md`, 'utf8');
    const synopsis = /## CLI\n\n```\n([\s\S]*?)```/.exec(readme);
    expect(synopsis, "the README's CLI block").not.toBeNull();
    const shown = [...synopsis![1]!.matchAll(/^glimpse ([a-z]+)/gm)].map((m) => m[1]!);
    expect(sorted(shown)).toEqual(sorted(commandNames()));
  });
});
