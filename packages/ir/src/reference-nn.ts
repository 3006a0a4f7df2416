/**
 * The reference interpreter's kernels of the neural-network ops — softmax lanes, attention,
 * layer and RMS normalisation — naive and in float64, as reference.ts's table calls them.
 */
import type {
  ArgKind,
  ArgReduceAttrs,
  AttentionAttrs,
  CumsumAttrs,
  TopkAttrs,
} from './ops/index.js';
import { argBetter, attentionGeometry, maskLeadOffset, topkBefore } from './ops/index.js';
import type { RefTensor } from './ref-tensor.js';
import { forEachIndex, refTensor as t } from './ref-tensor.js';
import { normAxis, numel, stridesOf } from './shape.js';

/** Apply `fn` to every 1-d lane along `axis` (read and written through index maps). */
export function lanes(shape: number[], axis: number, fn: (offsets: number[]) => void) {
  const st = stridesOf(shape);
  const n = shape[axis]!;
  const outer = shape.filter((_, i) => i !== axis);
  const ost = st.filter((_, i) => i !== axis);
  forEachIndex(outer, [ost], (_o, [base]) => {
    const offs = Array.from({ length: n }, (_, j) => base! + j * st[axis]!);
    fn(offs);
  });
}

/** argmax / argmin along the axis: each lane's index by the ops' rule (argBetter). */
export function argReduce(x: RefTensor, a: ArgReduceAttrs, kind: ArgKind): RefTensor {
  const ax = normAxis(a.axis, x.shape.length)!;
  const better = argBetter(kind, a.select_last);
  const out = t(
    'i64',
    a.keepdims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax),
  );
  let o = 0;
  lanes(x.shape, ax, (offs) => {
    let best = 0;
    for (let j = 1; j < offs.length; j++)
      if (better(x.data[offs[j]!]!, x.data[offs[best]!]!)) best = j;
    out.data[o++] = best;
  });
  return out;
}

/** topk along the axis: each lane sorted by the ops' order (topkBefore), its first k. */
export function topkRef(x: RefTensor, a: TopkAttrs): [RefTensor, RefTensor] {
  const ax = normAxis(a.axis, x.shape.length)!;
  const shape = x.shape.map((d, i) => (i === ax ? a.k : d));
  const [values, indices] = [t(x.dtype, shape), t('i64', shape)];
  const before = topkBefore(a.largest);
  const sorted: number[][] = [];
  lanes(x.shape, ax, (offs) => {
    const v = offs.map((o) => x.data[o]!);
    const order = [...v.keys()].sort((i, j) => (before(v[i]!, i, v[j]!, j) ? -1 : 1));
    sorted.push(
      order.map((j) => v[j]!),
      order,
    );
  });
  // The output's lanes come in the input's order: lane l's values, then its indices.
  let l = 0;
  lanes(shape, ax, (offs) => {
    const [v, order] = [sorted[2 * l]!, sorted[2 * l + 1]!];
    l++;
    offs.forEach((o, r) => {
      values.data[o] = v[r]!;
      indices.data[o] = order[r]!;
    });
  });
  return [values, indices];
}

/**
 * cumsum along the axis: each lane's running sum, in float64 (integers wrap as int32), as
 * onnxruntime orders it: an inclusive sum starts at the lane's first element (a lone −0
 * stays −0), an exclusive one at +0 (+0 + −0 is +0).
 */
export function cumsumRef(x: RefTensor, a: CumsumAttrs): RefTensor {
  const ax = normAxis(a.axis, x.shape.length)!;
  const out = t(x.dtype, x.shape);
  const int = x.dtype === 'i32' || x.dtype === 'i64';
  lanes(x.shape, ax, (offs) => {
    const order = a.reverse ? [...offs].reverse() : offs;
    let s = 0;
    order.forEach((o, k) => {
      const v = x.data[o]!;
      const next = k === 0 && !a.exclusive ? v : int ? (s + v) | 0 : s + v;
      out.data[o] = a.exclusive ? s : next;
      s = next;
    });
  });
  return out;
}

export function softmaxLane(src: Float64Array, dst: Float64Array, offs: number[]) {
  let m = -Infinity;
  for (const o of offs) m = Math.max(m, src[o]!);
  // NaN anywhere, or every entry -inf, yields NaN as the unfused formula does.
  let s = 0;
  for (const o of offs) s += Math.exp(src[o]! - m);
  for (const o of offs) dst[o] = Math.exp(src[o]! - m) / s;
}

export function attentionRef(ins: RefTensor[], a: AttentionAttrs, outShape: number[]): RefTensor {
  const [q, k, v, mask] = ins as [RefTensor, RefTensor, RefTensor, RefTensor | undefined];
  const g = attentionGeometry(
    ins.map((x) => x.shape),
    outShape,
    a,
  );
  const { T, S, dh, dv } = g;
  const out = t(q.dtype, outShape);
  const s = new Float64Array(S);
  const p = new Float64Array(S);
  const keys = [...Array(S).keys()];
  for (let l = 0; l < g.nLead; l++)
    for (let h = 0; h < g.Hq; h++) {
      const hk = Math.floor(h / g.group);
      const qBase = l * g.q[0] + h * g.q[1];
      const kBase = l * g.k[0] + hk * g.k[1];
      const vBase = l * g.v[0] + hk * g.v[1];
      const oBase = l * g.o[0] + h * g.o[1];
      const mBase = g.mask ? maskLeadOffset(g, l) + h * g.mask.h : 0;
      for (let i = 0; i < T; i++) {
        // masked_rows=mask: does any key escape the masks (causal, -inf bias, false bool)?
        let open = false;
        for (let j = 0; j < S; j++) {
          let x = 0;
          for (let c = 0; c < dh; c++)
            x += q.data[qBase + i * g.q[2] + c]! * k.data[kBase + j * g.k[2] + c]!;
          x *= g.scale;
          if (a.softcap > 0) x = a.softcap * Math.tanh(x / a.softcap);
          let hidden = false;
          if (mask) {
            const m = mask.data[mBase + i * g.mask!.t + j * g.mask!.s]!;
            if (mask.dtype === 'bool') x = m !== 0 ? x : a.mask_fill;
            else x += m;
            hidden = mask.dtype === 'bool' ? m === 0 && a.mask_fill === -Infinity : m === -Infinity;
          }
          if (g.causalOffset !== undefined && j > i + g.causalOffset) {
            x = -Infinity;
            hidden = true;
          }
          if (!hidden) open = true;
          s[j] = x;
        }
        softmaxLane(s, p, keys);
        if (a.masked_rows === 'mask' && !open) p.fill(0);
        const allMasked = s.every((x) => x === -Infinity);
        for (let c = 0; c < dv; c++) {
          let acc = 0;
          for (let j = 0; j < S; j++) acc += p[j]! * v.data[vBase + j * g.v[2] + c]!;
          out.data[oBase + i * g.o[2] + c] = allMasked && a.masked_rows === 'zero' ? 0 : acc;
        }
      }
    }
  return out;
}

/**
 * layer_norm (`centre`: x − mean, biased variance) and rms_norm (x itself, its mean square)
 * over the trailing axes from `a.axis`, then ·w + b.
 */
export function normalise(
  x: RefTensor,
  w: RefTensor | undefined,
  b: RefTensor | undefined,
  a: { axis: number; eps: number },
  centre: boolean,
): RefTensor {
  const inner = numel(x.shape.slice(normAxis(a.axis, x.shape.length)!));
  const out = t(x.dtype, x.shape);
  for (let base = 0; base < x.data.length; base += inner) {
    let mean = 0;
    if (centre) {
      for (let i = 0; i < inner; i++) mean += x.data[base + i]!;
      mean /= inner;
    }
    let v = 0;
    for (let i = 0; i < inner; i++) v += (x.data[base + i]! - mean) ** 2;
    v /= inner;
    const rstd = 1 / Math.sqrt(v + a.eps);
    for (let i = 0; i < inner; i++) {
      let y = (x.data[base + i]! - mean) * rstd;
      if (w) y *= w.data[i]!;
      if (b) y += b.data[i]!;
      out.data[base + i] = y;
    }
  }
  return out;
}
