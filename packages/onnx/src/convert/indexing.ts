/**
 * Converters of ONNX's indexing ops beyond Gather: GatherElements (one glimpse op), and
 * GatherND, ScatterND and Tile, each an exact lowering onto glimpse's moves (gather,
 * concat, reshape, expand) and integer arithmetic. A lowering moves elements only, so its
 * values are the op's bit for bit; each index it reads goes through a `gather`, which
 * checks its range (an index outside [-d, d) is the gather's run-time error, never a read
 * out of bounds).
 */
import { numel } from '@glimpse/ir';
import type { Operand } from '../operand.js';
import { constOf, dtypeOfOperand, ints, shapeOf } from '../operand.js';
import { attr, attrInt, emit, fresh, isConst, need, staticShape, unsupported } from './context.js';
import type { Converter, Cx } from './context.js';
import { reshapeTo } from './indices.js';

/** The constant 0, 1, …, n − 1 as i64 of `shape` (numel n). */
const iota = (n: number, shape: readonly number[] = [n]) =>
  constOf(
    'i64',
    shape,
    Array.from({ length: n }, (_, i) => i),
  );

/**
 * GatherND with `batch_dims` b: data [B…, D…(k), R…], indices [B…, M…, k] → [B…, M…, R…].
 * Lowered to one row gather of data viewed as [ΠB·ΠD, ΠR]: each of the k index components
 * is checked and made non-negative by a gather of 0…d−1 at it (the op's range rule, as
 * gather's run-time error), then weighted by its stride in the flattened D and offset by
 * its batch's first row. Constant indices fold to constant rows at import.
 */
function gatherND(ins: readonly (Operand | undefined)[], cx: Cx): Operand[] {
  const [data, idx] = [need(cx, ins, 0), need(cx, ins, 1)];
  const b = attrInt(cx, 'batch_dims', 0);
  const ds = staticShape(cx, data, 'data');
  const is = shapeOf(idx);
  const k = is[is.length - 1];
  if (typeof k !== 'number') unsupported(cx, 'with a symbolic index depth (last dim of indices)');
  if (!(b >= 0 && b < is.length && k >= 1 && b + k <= ds.length))
    unsupported(cx, `batch_dims ${b} and index depth ${k} do not fit data of rank ${ds.length}`);
  if (is.slice(0, b).some((d, i) => d !== ds[i]))
    unsupported(
      cx,
      `indices' batch dims [${is.slice(0, b)}] differ from data's [${ds.slice(0, b)}]`,
    );
  const [B, D, R] = [ds.slice(0, b), ds.slice(b, b + k), ds.slice(b + k)];
  const dt = dtypeOfOperand(idx);
  if (dt !== 'i32' && dt !== 'i64') unsupported(cx, `indices of type ${dt}`);
  const idx64 = dt === 'i64' ? idx : emit(cx, 'cast', [idx], { to: 'i64' }, fresh(cx, 'idx64'));
  let row: Operand = constOf('i64', [], [0]);
  let stride = numel(D);
  D.forEach((d, c) => {
    stride /= d;
    const comp = emit(
      cx,
      'slice',
      [idx64],
      { axis: is.length - 1, start: c, end: c + 1 },
      fresh(cx, `comp${c}`),
    );
    const norm = emit(cx, 'gather', [iota(d), comp], { axis: 0 }, fresh(cx, `norm${c}`));
    const term = emit(cx, 'mul', [norm, constOf('i64', [], [stride])], {}, fresh(cx, `term${c}`));
    row = emit(cx, 'add', [row, term], {}, fresh(cx, `row${c}`));
  });
  if (b > 0) {
    // Batch j's rows start at j·ΠD: an offset shaped [B…, 1…] over the index positions.
    const offsets = constOf(
      'i64',
      [...B, ...is.slice(b).map(() => 1)],
      Array.from({ length: numel(B) }, (_, j) => j * numel(D)),
    );
    row = emit(cx, 'add', [row, offsets], {}, fresh(cx, 'batched'));
  }
  const lead = is.slice(0, -1);
  const rows = reshapeTo(cx, row, lead, fresh(cx, 'rows'));
  const flat = reshapeTo(cx, data, [numel(B) * numel(D), numel(R)], fresh(cx, 'flat'));
  const picked = emit(cx, 'gather', [flat, rows], { axis: 0 }, fresh(cx, 'picked'));
  return [reshapeTo(cx, picked, [...lead, ...R])];
}

/**
 * ScatterND (reduction none) with constant indices: the output's rows are data's but for
 * the ones the indices name, which are updates' — one gather of data's rows and updates'
 * rows concatenated, at source rows computed at import (a later update of a row wins, as
 * onnxruntime applies them in order). Data and updates may be computed.
 */
function scatterND(ins: readonly (Operand | undefined)[], cx: Cx): Operand[] {
  const [data, indices, updates] = [0, 1, 2].map((i) => need(cx, ins, i)) as Operand[];
  const red = attr(cx, 'reduction');
  if (red?.s && new TextDecoder().decode(red.s) !== 'none')
    unsupported(cx, `reduction '${new TextDecoder().decode(red.s)}' is not supported`);
  if (!isConst(indices))
    unsupported(
      cx,
      'with computed (non-constant) indices is not supported: the positions written must be constant or fold to one',
    );
  const ds = staticShape(cx, data!, 'data');
  const is = indices.shape;
  const k = is[is.length - 1] ?? 0;
  if (is.length === 0 || k > ds.length)
    unsupported(cx, `indices of shape [${is}] into data of rank ${ds.length}`);
  const want = [...is.slice(0, -1), ...ds.slice(k)];
  if (shapeOf(updates!).join(',') !== want.join(','))
    unsupported(cx, `updates of shape [${shapeOf(updates!)}]; indices and data need [${want}]`);
  const [P, inner, N] = [numel(ds.slice(0, k)), numel(ds.slice(k)), numel(is.slice(0, -1))];
  const src = Array.from({ length: P }, (_, p) => p);
  const at = ints(indices);
  for (let n = 0; n < N; n++) {
    let p = 0;
    for (let j = 0; j < k; j++) {
      const [d, raw] = [ds[j]!, at[n * k + j]!];
      if (!(raw >= -d && raw < d))
        unsupported(cx, `index ${raw} out of range [${-d}, ${d}) for dim ${j} (row ${n})`);
      p = p * d + (raw < 0 ? raw + d : raw);
    }
    src[p] = P + n;
  }
  if (N === 0) return [data!];
  const rows = emit(
    cx,
    'concat',
    [
      reshapeTo(cx, data!, [P, inner], fresh(cx, 'data_rows')),
      reshapeTo(cx, updates!, [N, inner], fresh(cx, 'update_rows')),
    ],
    { axis: 0 },
    fresh(cx, 'rows'),
  );
  const picked = emit(
    cx,
    'gather',
    [rows, constOf('i64', [P], src)],
    { axis: 0 },
    fresh(cx, 'picked'),
  );
  return [reshapeTo(cx, picked, ds)];
}

/**
 * Tile with constant repeats r: x [d…] viewed as [1, d₀, 1, d₁, …], expanded to
 * [r₀, d₀, r₁, d₁, …] and viewed as [r₀·d₀, …] (an axis repeated once keeps its dim, so a
 * symbolic one may pass). Computed repeats would make the output's shape depend on values
 * at run time: refused.
 */
function tile(ins: readonly (Operand | undefined)[], cx: Cx): Operand[] {
  const [x, rep] = [need(cx, ins, 0), need(cx, ins, 1)];
  if (!isConst(rep))
    unsupported(
      cx,
      'with computed (non-constant) repeats is not supported: the output shape would depend on values at run time',
    );
  const s = shapeOf(x);
  const r = ints(rep);
  if (r.length !== s.length || r.some((v) => v < 0))
    unsupported(
      cx,
      `repeats [${r}] for input of rank ${s.length}: one non-negative count per axis`,
    );
  if (r.every((v) => v === 1)) return [x];
  const split = s.flatMap((d, i) => (r[i] === 1 ? [d] : [1, d]));
  const wide = s.flatMap((d, i) => (r[i] === 1 ? [d] : [r[i]!, d]));
  const outShape = s.map((d, i) => {
    if (r[i] === 1) return d;
    if (typeof d !== 'number')
      unsupported(cx, `repeating symbolic dim ${d} (${r[i]} times) is not supported`);
    return d * r[i]!;
  });
  const v = reshapeTo(cx, x, split, fresh(cx, 'split'));
  const e = emit(cx, 'expand', [v], { shape: wide }, fresh(cx, 'wide'));
  return [reshapeTo(cx, e, outShape)];
}

export const INDEXING: Record<string, Converter> = {
  GatherElements: (ins, cx) => [
    emit(cx, 'gather_elements', [need(cx, ins, 0), need(cx, ins, 1)], {
      axis: attrInt(cx, 'axis', 0),
    }),
  ],
  GatherND: gatherND,
  ScatterND: scatterND,
  Tile: tile,
};
