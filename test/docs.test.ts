/**
 * docs/ops.md and docs/passes.md are generated from the op definitions and the passes, so
 * they cannot drift: this test fails when they differ. The `glimpse bisect` sessions shown
 * in docs/bisect.md are run and must print what the page shows. `GLIMPSE_UPDATE_DOCS=1 npx vitest run test/docs.test.ts`
 * rewrites it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AttrSpec } from '@glimpse/ir';
import { fmtNumber, OP_NAMES, OPS } from '@glimpse/ir';
import { PASSES, PIPELINES } from '@glimpse/optimizer';
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
