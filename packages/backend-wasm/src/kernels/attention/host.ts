// The host's part of attention, around the kernel's tasks: how many key splits to run,
// combining their partial results, and the keys a row never visits.

import type { attentionGeometry } from '@glimpse/ir';
import type { WasmRun } from '../types.js';
import type { Spec } from './spec.js';
import { BC, BR, partFloats } from './spec.js';

/**
 * Key splits (split-K) for short queries: when heads × row blocks are too few to keep
 * threads busy over a long key axis, each row's keys are cut into splits computed as
 * separate tasks and combined after. Chosen from the shapes alone (never the thread
 * count), so that every thread count gives the same result to the bit.
 */
export function keySplits(
  heads: number,
  T: number,
  S: number,
): { splits: number; splitKeys: number } {
  const units = heads * Math.ceil(T / BR);
  if (units >= 16 || S < 4 * BC) return { splits: 1, splitKeys: Math.max(1, S) };
  const want = Math.min(Math.ceil(16 / units), Math.floor(S / (2 * BC)));
  const splitKeys = Math.ceil(Math.ceil(S / want) / BC) * BC;
  return { splits: Math.ceil(S / splitKeys), splitKeys };
}

/**
 * Combine the key splits of every row (in float64): m = max mᵢ, weights wᵢ = e^(mᵢ − m),
 * out = Σ accᵢ·wᵢ / Σ lᵢ·wᵢ — the online softmax's own rescaling, across splits. A split
 * that saw only -inf scores has weight 0 (its acc, Σ 0·v, still carries a NaN of v); a row
 * empty by masked_rows (zero: m = -inf; mask: no split saw a visible key) is 0 and flagged.
 */
export function combineSplits(
  r: WasmRun,
  g: ReturnType<typeof attentionGeometry>,
  spec: Spec,
  /** One weight per split (its length is the number of splits), reused across runs. */
  wts: Float64Array,
  part: number,
  flags: number,
) {
  const splits = wts.length;
  const rec = partFloats(g.dv);
  for (let hh = 0; hh < g.nLead * g.Hq; hh++) {
    const [l, h] = [Math.floor(hh / g.Hq), hh % g.Hq];
    for (let i = 0; i < g.T; i++) {
      const base = (part >>> 2) + (hh * g.T + i) * splits * rec;
      let m = -Infinity;
      let open = false;
      for (let k = 0; k < splits; k++) {
        const mk = r.f32[base + k * rec]!;
        if (Number.isNaN(mk) || Number.isNaN(m)) m = NaN;
        else if (mk > m) m = mk;
        open ||= r.f32[base + k * rec + 2] !== 0;
      }
      const empty = spec.byMask ? !open : spec.zeroRows && m === -Infinity;
      if (flags) r.i32[(flags >>> 2) + hh * g.T + i] = empty ? 1 : 0;
      const o = (r.outs[0]! >>> 2) + l * g.o[0] + h * g.o[1] + i * g.o[2];
      if (empty) {
        r.f32.fill(0, o, o + g.dv);
        continue;
      }
      const mUse = m === -Infinity ? 0 : m;
      let sum = 0;
      for (let k = 0; k < splits; k++) {
        wts[k] = Math.exp(r.f32[base + k * rec]! - mUse);
        sum += r.f32[base + k * rec + 1]! * wts[k]!;
      }
      for (let c = 0; c < g.dv; c++) {
        let acc = 0;
        for (let k = 0; k < splits; k++) acc += r.f32[base + k * rec + 3 + c]! * wts[k]!;
        r.f32[o + c] = acc / sum;
      }
    }
  }
}

/** Whether a row of kv head hk's query heads (in lead l) was flagged empty. */
function someFlagged(
  r: WasmRun,
  g: ReturnType<typeof attentionGeometry>,
  flags: number,
  l: number,
  hk: number,
): boolean {
  if (flags === 0) return false;
  const at = (flags >>> 2) + (l * g.Hq + hk * g.group) * g.T;
  for (let i = 0; i < g.group * g.T; i++) if (r.i32[at + i] !== 0) return true;
  return false;
}

/**
 * Keys the kernel never visits still multiply their v row by 0 in the unfused graph: a
 * non-finite v there makes the output column NaN. Under a causal mask a row stops early
 * (NaN where the last key holding a non-finite value in a column lies past the row's end);
 * a row empty by masked_rows=mask is Σ 0·v over every key (NaN in any column of v with a
 * non-finite value). Rows empty by masked_rows=zero stay 0. Scans v per kv head — and only
 * for a head with a row to fix: without a causal mask, a flagged one (a decoding step's
 * masked attention would otherwise scan the whole cache every step).
 */
export function fixKeysNotVisited(
  r: WasmRun,
  g: ReturnType<typeof attentionGeometry>,
  spec: Spec,
  lastBad: Int32Array,
  flags: number,
) {
  const off = g.causalOffset ?? 0;
  const vb = r.ins[2]! >>> 2;
  const ob = r.outs[0]! >>> 2;
  for (let l = 0; l < g.nLead; l++)
    for (let hk = 0; hk < g.Hkv; hk++) {
      if (!spec.causal && !someFlagged(r, g, flags, l, hk)) continue;
      lastBad.fill(-1);
      let any = false;
      for (let j = 0; j < g.S; j++) {
        const row = vb + l * g.v[0] + hk * g.v[1] + j * g.v[2];
        for (let c = 0; c < g.dv; c++)
          if (!Number.isFinite(r.f32[row + c]!)) {
            lastBad[c] = j;
            any = true;
          }
      }
      if (!any) continue;
      for (let h = hk * g.group; h < (hk + 1) * g.group; h++)
        for (let i = 0; i < g.T; i++) {
          const flagged = flags !== 0 && r.i32[(flags >>> 2) + (l * g.Hq + h) * g.T + i] !== 0;
          if (flagged && spec.zeroRows) continue;
          // Empty by mask: every key counts; else the keys past the row's causal end.
          const end = flagged || !spec.causal ? 0 : Math.min(g.S, Math.max(0, i + off + 1));
          if (!flagged && !spec.causal) continue;
          const o = ob + l * g.o[0] + h * g.o[1] + i * g.o[2];
          for (let c = 0; c < g.dv; c++) if (lastBad[c]! >= end) r.f32[o + c] = NaN;
        }
    }
}
