import { broadcastStrides, numel } from '@glimpse/ir';
import type { KernelFactory } from './types.js';

/**
 * Fused attention, one query row at a time: the S scores of a row live in a scratch vector,
 * so memory is O(S), never T×S. (The tiled flash kernel with online softmax belongs to the
 * optimizer issue; this one is the correct baseline it is measured against.)
 */
export const attention: KernelFactory<'attention'> = (a, ctx) => {
  const [qs, ks, vs] = ctx.inShapes as [number[], number[], number[]];
  const r = qs.length;
  const T = qs[r - 2]!;
  const dh = qs[r - 1]!;
  const S = ks[r - 2]!;
  const dv = vs[r - 1]!;
  const Hq = r >= 3 ? qs[r - 3]! : 1;
  const Hkv = r >= 3 ? ks[r - 3]! : 1;
  const group = Hq / Hkv;
  const nLead = numel(qs.slice(0, Math.max(0, r - 3)));
  const scale = a.scale ?? 1 / Math.sqrt(dh);
  const softcap = a.softcap;
  const causal = a.causal !== 'none';
  const offset = a.causal === 'bottom_right' ? S - T : 0;
  const hasMask = ctx.inShapes.length > 3;
  const boolMask = hasMask && ctx.inTypes[3] === 'bool';
  const fill = a.mask_fill;
  const zeroRows = a.masked_rows === 'zero';
  // Mask strides over the scores' shape [..., Hq, T, S]; (lead·Hq) flattens the leading axes.
  const ms = hasMask ? broadcastStrides(ctx.inShapes[3]!, [...qs.slice(0, -1), S]) : [];
  const leadShape = qs.slice(0, -2);
  const leadStrides = ms.slice(0, -2);
  const mT = hasMask ? ms[r - 2]! : 0;
  const mS = hasMask ? ms[r - 1]! : 0;
  const s = new Float64Array(S);
  const acc = new Float64Array(dv);
  return ([qb, kb, vb, mb], [yb]) => {
    const q = qb as Float32Array;
    const k = kb as Float32Array;
    const v = vb as Float32Array;
    const y = yb as Float32Array;
    for (let l = 0; l < nLead * Hq; l++) {
      const h = l % Hq;
      const kvHead = Math.floor(l / Hq) * Hkv + Math.floor(h / group);
      const qBase = l * T * dh;
      const kBase = kvHead * S * dh;
      const vBase = kvHead * S * dv;
      let mBase = 0;
      if (hasMask)
        for (let ax = leadShape.length - 1, rem = l; ax >= 0; ax--) {
          mBase += (rem % leadShape[ax]!) * leadStrides[ax]!;
          rem = Math.floor(rem / leadShape[ax]!);
        }
      for (let i = 0; i < T; i++) {
        const qo = qBase + i * dh;
        let m = -Infinity;
        const jEnd = causal ? Math.min(S, Math.max(0, i + offset + 1)) : S;
        for (let j = 0; j < S; j++) {
          let x = -Infinity;
          if (j < jEnd) {
            x = 0;
            for (let c = 0, ko = kBase + j * dh; c < dh; c++) x += q[qo + c]! * k[ko + c]!;
            x *= scale;
            if (softcap > 0) x = softcap * Math.tanh(x / softcap);
            if (hasMask) {
              const mv = mb![mBase + i * mT + j * mS]!;
              if (boolMask) x = mv ? x : fill;
              else x += mv;
            }
          }
          s[j] = x;
          m = x > m || x !== x ? x : m;
        }
        const yo = (l * T + i) * dv;
        if (m === -Infinity) {
          y.fill(zeroRows ? 0 : NaN, yo, yo + dv);
          continue;
        }
        acc.fill(0);
        let sum = 0;
        // Every key takes part, masked ones with weight 0, so that a NaN or Inf in a masked
        // row of v propagates exactly as in the unfused softmax(s)·v.
        for (let j = 0; j < S; j++) {
          const p = Math.exp(s[j]! - m);
          sum += p;
          for (let c = 0, vo = vBase + j * dv; c < dv; c++) acc[c]! += p * v[vo + c]!;
        }
        for (let c = 0; c < dv; c++) y[yo + c] = acc[c]! / sum;
      }
    }
  };
};
