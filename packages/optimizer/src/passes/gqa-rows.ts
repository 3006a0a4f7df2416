/**
 * Grouped-query attention read once per key/value head: the g query heads that share a
 * key/value head become g rows of one head. A decoding step has one query row per head, so
 * a kernel that works on blocks of rows (wasm: 8 lanes) would otherwise fill one row of
 * each block and read each key/value head g times.
 */
import type { AttentionAttrs, Dim, TensorType } from '@glimpse/ir';
import { op, val } from '../pattern.js';
import type { OpNode } from '../pattern.js';
import type { RewriteCtx, RewriteResult } from '../rule.js';
import { rewritePass } from '../rewrite.js';
import { decline, rule } from '../rule.js';

/** [..., H, T, d] (bhsd) or [B, T, H, d] (bshd): heads, rows, and the head axis. */
function geometry(t: TensorType, a: AttentionAttrs) {
  const s = t.shape;
  const r = s.length;
  return a.layout === 'bshd'
    ? { H: s[2]!, T: s[1]!, lead: s.slice(0, 1) }
    : { H: s[r - 3]!, T: s[r - 2]!, lead: s.slice(0, r - 3) };
}

function foldGroups(
  m: { q: string; k: string; v: string; m?: string; $out: OpNode<'attention'> },
  ctx: RewriteCtx,
): RewriteResult {
  const a = m.$out.attrs;
  const qt = ctx.typeOf(m.q);
  if (qt.shape.length < 3) return undefined;
  const q = geometry(qt, a);
  const k = geometry(ctx.typeOf(m.k), a);
  if (typeof q.H !== 'number' || typeof k.H !== 'number' || q.H === k.H) return undefined;
  const g = q.H / k.H;
  const T = q.T;
  // One row per head (decoding) in either layout; several only bhsd without a causal mask
  // (the rows of g heads would share one causal frontier).
  if (T !== 1 && (a.layout === 'bshd' || a.causal !== 'none'))
    return decline(
      a.layout === 'bshd'
        ? `${T} query rows in layout bshd (the heads' rows would interleave)`
        : `a causal mask over ${T} query rows (the ${g} heads' rows would share one frontier)`,
    );
  // T = 1: the last key aligned to the only row is every key; the first is one key.
  if (a.causal === 'top_left')
    return decline('top_left causal on one query row (it sees only the first key)');
  if (typeof T !== 'number') return decline(`a symbolic number of query rows (${T})`);
  // The mask [..., H|1, T|1, S]: a head axis splits as q's does; without one, the rows of
  // the g heads need the same mask row, which one query row (or a row axis of 1) gives.
  let mask = m.m;
  if (mask !== undefined) {
    const ms = ctx.typeOf(mask).shape;
    const r = ms.length;
    const [mh, mt] = [r >= 3 ? ms[r - 3]! : 1, r >= 2 ? ms[r - 2]! : 1];
    if (mh !== 1) {
      if (mt !== T) return decline(`a per-head mask whose row axis (${mt}) broadcasts over ${T}`);
      mask = ctx.emit(
        'reshape',
        [mask],
        { shape: [...ms.slice(0, r - 3), k.H, g * T, ms[r - 1]!] },
        'mask_rows',
      );
    } else if (mt !== 1)
      return decline(`a mask of shape [${ms.join(',')}] that varies over query rows but not heads`);
  }
  // One row sees every key: no causal mask is left, nor its fill.
  const attrs = { ...a, causal: 'none' as const, causal_fill: -Infinity };
  const d = (t: TensorType) => t.shape[t.shape.length - 1]!;
  const dv = d(ctx.typeOf(m.v));
  const extra = mask !== undefined ? [mask] : [];
  if (a.layout === 'bshd') {
    // [B, 1, Hq, d] → [B, Hkv, g, d] → [B, g, Hkv, d]: g rows of each kv head.
    const heads = ctx.emit('reshape', [m.q], { shape: [...q.lead, k.H, g, d(qt)] }, 'q_groups');
    const rows = ctx.emit('transpose', [heads], { perm: [0, 2, 1, 3] }, 'q_rows');
    const y = ctx.emit('attention', [rows, m.k, m.v, ...extra], attrs, 'grouped');
    const back = ctx.emit('transpose', [y], { perm: [0, 2, 1, 3] }, 'y_groups');
    return ctx.emit('reshape', [back], { shape: [...q.lead, 1, q.H, dv] as Dim[] }, 'y');
  }
  // [..., Hq, T, d] → [..., Hkv, g·T, d]: head hk·g + j's rows follow hk's, j-major.
  const rows = ctx.emit('reshape', [m.q], { shape: [...q.lead, k.H, g * T, d(qt)] }, 'q_rows');
  const y = ctx.emit('attention', [rows, m.k, m.v, ...extra], attrs, 'grouped');
  return ctx.emit('reshape', [y], { shape: [...q.lead, q.H, T, dv] }, 'y');
}

const EXACT =
  'layout only: every query row meets the same keys, values, mask row and scale; one causal row sees every key either way';

export const gqaRows = rewritePass(
  'gqa-rows',
  "grouped-query attention's query heads as rows of their key/value head (decoding reads each key/value head once)",
  { pass: EXACT, rules: { 'gqa-rows': EXACT, 'gqa-rows-mask': EXACT } },
  [
    rule('gqa-rows', op('attention', [val('q'), val('k'), val('v')], { as: 'out' }), foldGroups),
    rule(
      'gqa-rows-mask',
      op('attention', [val('q'), val('k'), val('v'), val('m')], { as: 'out' }),
      foldGroups,
    ),
  ],
);
