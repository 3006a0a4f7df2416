/** Converters of ONNX's constants, shape computations and layout ops. */
import type { Dim } from '@glimpse/ir';
import { normAxis, numel, sliceRange } from '@glimpse/ir';
import { int } from '../proto.js';
import type { Const, Operand } from '../operand.js';
import {
  checkSymbolic,
  constFromTensor,
  constOf,
  dimsOf,
  dtypeOfOperand,
  evalOp,
  filledConst,
  ints,
  reserveConst,
  shapeOf,
  symbolElement,
  symbolsIn,
} from '../operand.js';
import { tensorFromProto } from '../tensor.js';

import {
  arange,
  attr,
  attrFloat,
  attrInt,
  attrInts,
  dyn,
  emit,
  fresh,
  isConst,
  need,
  needConst,
  out,
  staticShape,
  unsupported,
  val,
} from './context.js';
import type { Converter } from './context.js';
import { axesOf, padIndices, pick, reshapeTo, steppedIndices } from './indices.js';

export const LAYOUT: Record<string, Converter> = {
  Constant: (_ins, cx) => {
    const a = [...cx.attrs.values()][0];
    if (!a) unsupported(cx, 'without a value');
    switch (a.name) {
      case 'value':
        return [constFromTensor(tensorFromProto(a.t!, `${cx.name}.value`))];
      case 'value_float':
        return [constOf('f32', [], [a.f ?? 0])];
      case 'value_floats':
        return [constOf('f32', [a.floats?.length ?? 0], a.floats ?? [])];
      case 'value_int':
        return [constOf('i64', [], [int(a.i, cx.name)])];
      case 'value_ints':
        return [
          constOf(
            'i64',
            [a.ints?.length ?? 0],
            (a.ints ?? []).map((v) => int(v, cx.name)),
          ),
        ];
      default:
        return unsupported(cx, `attribute ${a.name} is not supported`);
    }
  },
  ConstantOfShape: (ins, cx) => {
    const dims = dimsOf(needConst(cx, ins, 0, 'shape'));
    const v = attr(cx, 'value');
    const fill = v?.t
      ? constFromTensor(tensorFromProto(v.t, `${cx.name}.value`))
      : constOf('f32', [1], [0]);
    // A symbolic shape: the fill broadcast at run time.
    if (dims.some((d) => typeof d !== 'number')) {
      const one = constOf(fill.dtype, [], [fill.data[0] ?? 0]);
      return [dyn(cx.b.op('expand', [val(cx, one, 'fill')], { shape: dims }, out(cx)))];
    }
    return [filledConst(fill.dtype, dims as number[], fill.data[0] ?? 0)];
  },
  Range: (ins, cx) => {
    const ops = [0, 1, 2].map((i) => need(cx, ins, i));
    if (!ops.every(isConst))
      unsupported(
        cx,
        'with bounds computed at run time is not supported: the length of its output would depend on their values',
      );
    // Range(0, S, 1) of a symbolic dim S: its indices, computed at run time.
    const [start, limit, delta] = ops as [Const, Const, Const];
    checkSymbolic('Range', [start, delta]);
    if (symbolsIn(limit).length > 0) {
      if (start.data[0] !== 0 || delta.data[0] !== 1)
        unsupported(
          cx,
          `from ${start.data[0]} by ${delta.data[0]} to the symbolic ${symbolsIn(limit)[0]}: its length would be arithmetic on a symbol (only Range(0, S, 1) is supported)`,
        );
      return [dyn(arange(cx, dimsOf(limit)[0]!, start.dtype, out(cx)))];
    }
    const [s, l, d] = ops.map((c) => (c as Const).data[0]!) as [number, number, number];
    const n = Math.max(0, Math.ceil((l - s) / d));
    if (n > 2 ** 24) unsupported(cx, `of ${n} elements is too large to fold`);
    return [
      constOf(
        start.dtype,
        [n],
        Array.from({ length: n }, (_, i) => s + i * d),
      ),
    ];
  },
  Shape: (ins, cx) => {
    // Symbolic dims stay symbols (see operand.ts): reshapes and expands read them back.
    const s = shapeOf(need(cx, ins, 0)).map((d) => (typeof d === 'number' ? d : symbolElement(d)));
    const r = s.length;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const dims = s.slice(clamp(attrInt(cx, 'start', 0)), clamp(attrInt(cx, 'end', r)));
    return [constOf('i64', [dims.length], dims)];
  },
  Size: (ins, cx) => [constOf('i64', [], [numel(staticShape(cx, need(cx, ins, 0), 'an input'))])],
  Reshape: (ins, cx) => {
    const x = need(cx, ins, 0);
    const target = dimsOf(needConst(cx, ins, 1, 'shape'));
    const allowzero = attrInt(cx, 'allowzero', 0) === 1;
    const s = shapeOf(x);
    if (allowzero && target.includes(0)) {
      // A literal 0 dim: the result is empty (glimpse's 0 means "copy the input dim").
      if (target.includes(-1)) unsupported(cx, 'with allowzero, 0 and -1 together');
      if (target.some((d) => typeof d !== 'number'))
        unsupported(cx, `with allowzero to an empty symbolic shape [${target.join(',')}]`);
      return [constOf(dtypeOfOperand(x), target as number[], [])];
    }
    return [
      reshapeTo(
        cx,
        x,
        target.map((d, i) => (d === 0 ? s[i]! : d)),
      ),
    ];
  },
  Flatten: (ins, cx) => {
    const x = need(cx, ins, 0);
    const s = staticShape(cx, x, 'an input');
    const a = attrInt(cx, 'axis', 1);
    const ax = a < 0 ? a + s.length : a;
    if (ax < 0 || ax > s.length) unsupported(cx, `axis ${a} out of range for rank ${s.length}`);
    const p = (a: number[]) => a.reduce((m, d) => m * d, 1);
    return [reshapeTo(cx, x, [p(s.slice(0, ax)), p(s.slice(ax))])];
  },
  Unsqueeze: (ins, cx) => {
    const x = need(cx, ins, 0);
    const s = shapeOf(x);
    const axes = axesOf(
      cx,
      ins,
      1,
      s.length + (attrInts(cx, 'axes') ?? ints(needConst(cx, ins, 1, 'axes'))).length,
    )!;
    const t: Dim[] = [];
    let k = 0;
    for (let i = 0; i < s.length + axes.length; i++) t.push(axes.includes(i) ? 1 : s[k++]!);
    return [reshapeTo(cx, x, t)];
  },
  Squeeze: (ins, cx) => {
    const x = need(cx, ins, 0);
    const s = shapeOf(x);
    const axes = axesOf(cx, ins, 1, s.length) ?? s.flatMap((d, i) => (d === 1 ? [i] : []));
    if (axes.some((a) => s[a] !== 1))
      unsupported(cx, `axes [${axes.join(',')}] are not all of size 1 in [${s.join(',')}]`);
    return [
      reshapeTo(
        cx,
        x,
        s.filter((_, i) => !axes.includes(i)),
      ),
    ];
  },
  Transpose: (ins, cx) => {
    const x = need(cx, ins, 0);
    const r = shapeOf(x).length;
    const perm = attrInts(cx, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    // A transposed weight stays a param and a node (folded at -O2 with frozen weights).
    if (isConst(x) && x.param !== undefined)
      return [dyn(cx.b.transpose(val(cx, x), perm, out(cx)))];
    return [emit(cx, 'transpose', [x], { perm })];
  },
  Concat: (ins, cx) => {
    const xs = ins.filter((o): o is Operand => o !== undefined);
    const r = shapeOf(xs[0]!).length;
    const ax = normAxis(attrInt(cx, 'axis', 0), r);
    if (ax === undefined) unsupported(cx, `axis out of range for rank ${r}`);
    return [emit(cx, 'concat', xs, { axis: ax })];
  },
  Split: (ins, cx) => {
    const x = need(cx, ins, 0);
    const s = shapeOf(x);
    const ax = normAxis(attrInt(cx, 'axis', 0), s.length);
    if (ax === undefined) unsupported(cx, `axis out of range for rank ${s.length}`);
    const dim = s[ax];
    if (typeof dim !== 'number') unsupported(cx, `along the symbolic axis ${dim}`);
    const n = cx.outputs.length;
    const sizes = ins[1]
      ? ints(needConst(cx, ins, 1, 'split'))
      : (attrInts(cx, 'split') ??
        Array.from({ length: n }, (_, i) => {
          const each = Math.ceil(dim / n);
          return Math.max(0, Math.min(each, dim - i * each));
        }));
    if (isConst(x)) return evalOp('split', [x], { axis: ax, sizes }, sizes.length);
    return cx.b
      .opN(
        'split',
        [val(cx, x)],
        { axis: ax, sizes },
        cx.outputs.map((o, i) => o || `${cx.name}_${i}`),
      )
      .map(dyn);
  },
  Slice: (ins, cx) => {
    let x = need(cx, ins, 0);
    const s = shapeOf(x);
    // Opsets 1–9 give starts, ends and axes as attributes; 10 on as inputs.
    const bounds = (i: number, name: string) =>
      cx.opset < 10 ? (attrInts(cx, name) ?? []) : ints(needConst(cx, ins, i, name));
    const starts = bounds(1, 'starts');
    const ends = bounds(2, 'ends');
    if (starts.length !== ends.length)
      unsupported(cx, `has ${starts.length} starts but ${ends.length} ends`);
    const axes = axesOf(cx, ins, 3, s.length) ?? starts.map((_, i) => i);
    const steps = ins[4] ? ints(needConst(cx, ins, 4, 'steps')) : starts.map(() => 1);
    axes.forEach((ax, i) => {
      const d = shapeOf(x)[ax]!;
      const step = steps[i]!;
      if (step === 0) unsupported(cx, 'with a step of 0');
      if (typeof d !== 'number') {
        if (step === 1 && starts[i] === 0 && ends[i]! >= 2 ** 31 - 1) return; // the whole symbolic axis
        unsupported(cx, `of the symbolic axis ${d}`);
      }
      const name = i === axes.length - 1 ? out(cx) : fresh(cx, `s${i}`);
      if (step === 1) {
        const [start, end] = sliceRange(d, starts[i]!, ends[i]!);
        if (start === 0 && end === d) return;
        x = emit(cx, 'slice', [x], { axis: ax, start, end }, name);
      } else x = pick(cx, x, ax, steppedIndices(d, starts[i]!, ends[i]!, step), name);
    });
    return [x];
  },
  Pad: (ins, cx) => {
    const x = need(cx, ins, 0);
    const s = shapeOf(x);
    const r = s.length;
    // Opsets 2–10 give pads and the fill value as attributes; 11 on as inputs.
    const old = cx.opset < 11;
    const pads = old ? (attrInts(cx, 'pads') ?? []) : ints(needConst(cx, ins, 1, 'pads'));
    const axes = axesOf(cx, ins, 3, r) ?? [...Array(r).keys()];
    if (pads.length !== 2 * axes.length)
      unsupported(cx, `pads has ${pads.length} entries for ${axes.length} axes`);
    const a = cx.attrs.get('mode');
    const mode = a?.s ? new TextDecoder().decode(a.s) : 'constant';
    if (!['constant', 'edge', 'reflect', 'wrap'].includes(mode))
      unsupported(cx, `mode '${mode}' is not supported`);
    const dtype = dtypeOfOperand(x);
    const fillOp = old ? undefined : ins[2];
    if (fillOp && !isConst(fillOp)) unsupported(cx, 'with a computed constant_value');
    const fill = old ? attrFloat(cx, 'value', 0) : fillOp ? ((fillOp as Const).data[0] ?? 0) : 0;
    let y = x;
    axes.forEach((ax, i) => {
      const [before, after] = [pads[i]!, pads[i + axes.length]!];
      if (before === 0 && after === 0) return;
      const d = shapeOf(y)[ax]!;
      if (typeof d !== 'number') unsupported(cx, `along the symbolic axis ${d}`);
      if (d + before + after < 0 || (mode !== 'constant' && d === 0))
        unsupported(cx, `pads [${before}, ${after}] on an axis of ${d}`);
      if (mode === 'reflect' && (before >= d || after >= d) && d > 1)
        unsupported(cx, `reflect pads [${before}, ${after}] reach past an axis of ${d}`);
      const name = fresh(cx, `p${i}`);
      if (mode !== 'constant') {
        reserveConst('i64', [d + before + after]); // the index list, before it is made
        y = pick(cx, y, ax, padIndices(mode, d, before, after), name);
        return;
      }
      // Constant: crop (negative pads), then concatenate blocks of the fill value.
      const [lo, hi] = [Math.max(0, -before), d - Math.max(0, -after)];
      if (lo > 0 || hi < d)
        y = emit(cx, 'slice', [y], { axis: ax, start: lo, end: Math.max(lo, hi) }, name);
      const block = (n: number, hint: string): Operand[] => {
        if (n <= 0) return [];
        const shape = shapeOf(y).map((e, k) => (k === ax ? n : e));
        const one = constOf(dtype, [], [fill]);
        if (shape.every((e) => typeof e === 'number'))
          return [filledConst(dtype, shape as number[], fill)];
        return [dyn(cx.b.op('expand', [val(cx, one, hint)], { shape }, fresh(cx, `${hint}`)))];
      };
      const parts = [...block(before, 'before'), y, ...block(after, 'after')];
      if (parts.length > 1) y = emit(cx, 'concat', parts, { axis: ax }, fresh(cx, `c${i}`));
    });
    return [y];
  },
  Gather: (ins, cx) => {
    const [x, idx] = [need(cx, ins, 0), need(cx, ins, 1)];
    const s = shapeOf(x);
    const ax = normAxis(attrInt(cx, 'axis', 0), s.length);
    if (ax === undefined) unsupported(cx, `axis out of range for rank ${s.length}`);
    return [emit(cx, 'gather', [x, idx], { axis: ax })];
  },
  Expand: (ins, cx) => {
    const [x, shape] = [need(cx, ins, 0), dimsOf(needConst(cx, ins, 1, 'shape'))];
    // A constant expanded to a symbolic shape cannot fold: a node, sized at run time.
    if (isConst(x) && shape.some((d) => typeof d !== 'number'))
      return [dyn(cx.b.op('expand', [val(cx, x)], { shape }, out(cx)))];
    return [emit(cx, 'expand', [x], { shape })];
  },
};
