import type { Tensor } from '@glimpse/ir';
import { toNumbers } from '@glimpse/ir';
import type { Comparison } from 'glimpse';
import { compareValues } from 'glimpse';

export type CheckReport = Comparison;

/** A tensor against the one it should equal, by glimpse's one rule (`compareValues`). */
export function compare(
  got: Tensor,
  want: Tensor,
  tol: { rtol: number; atol: number },
): CheckReport {
  return compareValues(
    { shape: got.shape, values: toNumbers(got) },
    { shape: want.shape, values: toNumbers(want) },
    tol,
  );
}

export function formatReport(name: string, r: CheckReport): string {
  if (!r.shapeOk) return `${name}: FAIL shape differs\n`;
  const s = `${name}: max abs err ${r.maxAbs.toExponential(2)}, max rel err ${r.maxRel.toExponential(2)}`;
  if (r.ok) return `${s}, ok\n`;
  const f = r.firstBad!;
  return `${s}, FAIL: ${r.bad} values out of tolerance (first at ${f.index}: got ${f.got}, want ${f.want})\n`;
}
