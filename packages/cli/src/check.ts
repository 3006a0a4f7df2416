import type { Tensor } from '@glimpse/ir';
import { toNumbers } from '@glimpse/ir';

export interface CheckReport {
  ok: boolean;
  shapeOk: boolean;
  maxAbs: number;
  maxRel: number;
  bad: number;
  firstBad?: { index: number; got: number; want: number };
}

/**
 * docs/design.md's rule: |got − want| ≤ atol + rtol·|want|; NaN matches only NaN; ±Inf only the
 * same Inf; shapes must agree.
 */
export function compare(
  got: Tensor,
  want: Tensor,
  tol: { rtol: number; atol: number },
): CheckReport {
  const shapeOk =
    got.shape.length === want.shape.length && got.shape.every((d, i) => d === want.shape[i]);
  if (!shapeOk) return { ok: false, shapeOk, maxAbs: NaN, maxRel: NaN, bad: -1 };
  const g = toNumbers(got);
  const w = toNumbers(want);
  let maxAbs = 0;
  let maxRel = 0;
  let bad = 0;
  let firstBad: CheckReport['firstBad'];
  for (let i = 0; i < g.length; i++) {
    const a = g[i]!;
    const b = w[i]!;
    let pass: boolean;
    if (Number.isNaN(b) || Number.isNaN(a)) pass = Number.isNaN(a) && Number.isNaN(b);
    else if (!Number.isFinite(b) || !Number.isFinite(a)) pass = a === b;
    else {
      const d = Math.abs(a - b);
      maxAbs = Math.max(maxAbs, d);
      if (b !== 0) maxRel = Math.max(maxRel, d / Math.abs(b));
      pass = d <= tol.atol + tol.rtol * Math.abs(b);
    }
    if (!pass) {
      bad++;
      firstBad ??= { index: i, got: a, want: b };
    }
  }
  return { ok: bad === 0, shapeOk, maxAbs, maxRel, bad, ...(firstBad ? { firstBad } : {}) };
}

export function formatReport(name: string, r: CheckReport): string {
  if (!r.shapeOk) return `${name}: FAIL shape differs\n`;
  const s = `${name}: max abs err ${r.maxAbs.toExponential(2)}, max rel err ${r.maxRel.toExponential(2)}`;
  if (r.ok) return `${s}, ok\n`;
  const f = r.firstBad!;
  return `${s}, FAIL: ${r.bad} values out of tolerance (first at ${f.index}: got ${f.got}, want ${f.want})\n`;
}
