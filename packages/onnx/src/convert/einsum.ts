/**
 * ONNX Einsum, lowered at import onto transpose, reshape, bmm, mul and reduce_sum: the
 * operands contracted left to right, each pair as one batched matmul (or, with nothing to
 * contract, a broadcast product), labels no later operand or the output needs summed first.
 */
import type { Dim } from '@glimpse/ir';
import type { Operand } from '../operand.js';
import { dtypeOfOperand, shapeOf } from '../operand.js';

import { attr, emit, fresh, isIntType, need, out, unsupported } from './context.js';
import type { Converter, Cx } from './context.js';

/** An operand with one label per axis. */
interface Term {
  readonly x: Operand;
  readonly labels: readonly string[];
}

/** Labels an ellipsis stands for: characters no equation may hold, right-aligned. */
const ellipsisLabel = (i: number) => String.fromCharCode(0x100 + i);

/** One term of the equation ('bhid', '...ij') as labels, its ellipsis expanded to `e` axes. */
function labelsOf(term: string, rank: number | undefined, ell: number, fail: (w: string) => never) {
  const parts = term.split('...');
  if (parts.length > 2) fail(`'${term}' has more than one ellipsis`);
  const letters = parts.join('');
  if (!/^[a-zA-Z]*$/.test(letters)) fail(`'${term}' holds a character other than letters`);
  const n = parts.length === 2 ? (rank ?? ell + letters.length) - letters.length : 0;
  if (n < 0 || (rank !== undefined && parts.length === 1 && letters.length !== rank))
    fail(`'${term}' does not match an operand of rank ${rank}`);
  const dots = Array.from({ length: n }, (_, i) => ellipsisLabel(ell - n + i));
  return parts.length === 2 ? [...parts[0]!, ...dots, ...parts[1]!] : [...letters];
}

/** The product of some dims, while it is a dim: numbers, or one symbol among 1s. */
function product(dims: readonly Dim[], fail: (w: string) => never): Dim {
  const syms = dims.filter((d) => typeof d !== 'number');
  const n = dims.reduce<number>((p, d) => p * (typeof d === 'number' ? d : 1), 1);
  if (syms.length === 0) return n;
  if (syms.length === 1 && n === 1) return syms[0]!;
  return fail(`needs the product of dims [${dims.join(',')}], which glimpse's dims cannot hold`);
}

export const EINSUM: Record<string, Converter> = {
  Einsum: (ins, cx) => {
    const a = attr(cx, 'equation');
    const eq = new TextDecoder().decode(a?.s ?? new Uint8Array()).replace(/\s/g, '');
    const fail = (what: string): never => unsupported(cx, `equation '${eq}': ${what}`);
    const [lhs, rhs] = eq.split('->') as [string, string | undefined];
    const terms = lhs.split(',');
    if (terms.length !== ins.length)
      fail(`${terms.length} operands in the equation, ${ins.length} given`);
    const xs = terms.map((_, i) => need(cx, ins, i));
    // (A reshape's 0 copies the input dim: an empty group could not be written.)
    if (xs.some((x) => shapeOf(x).includes(0))) fail('an empty operand is not supported');
    // The ellipsis's rank: the most axes it stands for in any operand.
    const ell = Math.max(
      0,
      ...terms.map((t, i) =>
        t.includes('...') ? shapeOf(xs[i]!).length - t.replace('...', '').length : 0,
      ),
    );
    const inputs: Term[] = terms.map((t, i) => ({
      x: xs[i]!,
      labels: labelsOf(t, shapeOf(xs[i]!).length, ell, fail),
    }));
    for (const t of inputs)
      if (new Set(t.labels).size !== t.labels.length)
        fail('a label repeated in one operand (a diagonal) is not supported');
    const all = inputs.flatMap((t) => t.labels);
    const once = [...new Set(all)].filter((l) => all.indexOf(l) === all.lastIndexOf(l));
    // Implicit output: the ellipsis, then the letters seen once, in alphabetical order.
    const output =
      rhs === undefined
        ? [
            ...Array.from({ length: ell }, (_, i) => ellipsisLabel(i)),
            ...once.filter((l) => l < '\u0100').sort(),
          ]
        : labelsOf(rhs, undefined, ell, fail);
    for (const l of output) if (!all.includes(l)) fail(`output label '${l}' is in no operand`);
    if (new Set(output).size !== output.length) fail('an output label repeated');
    let acc = inputs[0]!;
    for (let i = 1; i < inputs.length; i++) {
      const later = new Set([...output, ...inputs.slice(i + 1).flatMap((t) => t.labels)]);
      acc = contract(cx, acc, inputs[i]!, later, fail);
    }
    return [arrange(cx, acc, output, out(cx))];
  },
};

/** `t` summed over the labels not in `keep`. */
function sumOut(cx: Cx, t: Term, keep: (l: string) => boolean): Term {
  const axes = t.labels.flatMap((l, i) => (keep(l) ? [] : [i]));
  if (axes.length === 0) return t;
  const x = emit(cx, 'reduce_sum', [t.x], { axes, keepdims: false }, fresh(cx, 'sum'));
  return { x, labels: t.labels.filter(keep) };
}

/** `t` with its labels in the order `order` (a subset of them after summing the rest). */
function arrange(cx: Cx, t: Term, order: readonly string[], name = fresh(cx, 'perm')): Operand {
  const s = sumOut(cx, t, (l) => order.includes(l));
  const perm = order.map((l) => s.labels.indexOf(l));
  if (perm.every((p, i) => p === i)) return s.x;
  return emit(cx, 'transpose', [s.x], { perm }, name);
}

/** `t`'s axes in label order `order`, then reshaped to `dims` (when that changes the shape). */
function grouped(cx: Cx, t: Term, order: readonly string[], dims: readonly Dim[]): Operand {
  const x = arrange(cx, t, order);
  const s = shapeOf(x);
  if (s.length === dims.length && s.every((d, i) => d === dims[i])) return x;
  return emit(cx, 'reshape', [x], { shape: [...dims] }, fresh(cx, 'group'));
}

/** The contraction of `a` and `b`, keeping the labels of `keep` (later operands', the output's). */
function contract(
  cx: Cx,
  a0: Term,
  b0: Term,
  keep: ReadonlySet<string>,
  fail: (w: string) => never,
): Term {
  const a = sumOut(cx, a0, (l) => keep.has(l) || b0.labels.includes(l));
  const b = sumOut(cx, b0, (l) => keep.has(l) || a0.labels.includes(l));
  const inB = (l: string) => b.labels.includes(l);
  const batch = a.labels.filter((l) => inB(l) && keep.has(l));
  const inner = a.labels.filter((l) => inB(l) && !keep.has(l));
  const aOnly = a.labels.filter((l) => !inB(l));
  const bOnly = b.labels.filter((l) => !a.labels.includes(l));
  const dimA = (l: string) => shapeOf(a.x)[a.labels.indexOf(l)]!;
  const dimB = (l: string) => shapeOf(b.x)[b.labels.indexOf(l)]!;
  // A label in both operands has one size, but for a batch label of size 1 on one side.
  for (const l of [...batch, ...inner]) {
    const [da, db] = [dimA(l), dimB(l)];
    if (da !== db && !(batch.includes(l) && (da === 1 || db === 1)))
      fail(`label '${l}' is ${da} in one operand and ${db} in the other`);
  }
  const labels = [...batch, ...aOnly, ...bOnly];
  if (inner.length === 0) {
    // Nothing summed: a broadcast product, exact.
    const ones = (ls: readonly string[]) => ls.map(() => 1);
    const xa = grouped(
      cx,
      a,
      [...batch, ...aOnly],
      [...batch.map(dimA), ...aOnly.map(dimA), ...ones(bOnly)],
    );
    const xb = grouped(
      cx,
      b,
      [...batch, ...bOnly],
      [...batch.map(dimB), ...ones(aOnly), ...bOnly.map(dimB)],
    );
    return { x: emit(cx, 'mul', [xa, xb], {}, fresh(cx, 'mul')), labels };
  }
  if (isIntType(dtypeOfOperand(a.x)))
    fail('a contraction of integers is not supported (glimpse matmuls floats)');
  // [batch, M, K]·[batch, K, N]; each side read transposed where its axes already come so.
  const [m, k, n] = [aOnly.map(dimA), inner.map(dimA), bOnly.map(dimB)].map((d) =>
    product(d, fail),
  );
  const ta = a.labels.indexOf(inner[0]!) < a.labels.indexOf(aOnly[0] ?? inner[0]!);
  const tb = b.labels.indexOf(bOnly[0] ?? inner[0]!) < b.labels.indexOf(inner[0]!);
  const xa = ta
    ? grouped(cx, a, [...batch, ...inner, ...aOnly], [...batch.map(dimA), k!, m!])
    : grouped(cx, a, [...batch, ...aOnly, ...inner], [...batch.map(dimA), m!, k!]);
  const xb = tb
    ? grouped(cx, b, [...batch, ...bOnly, ...inner], [...batch.map(dimB), n!, k!])
    : grouped(cx, b, [...batch, ...inner, ...bOnly], [...batch.map(dimB), k!, n!]);
  const y = emit(cx, 'bmm', [xa, xb], { transpose_a: ta, transpose_b: tb }, fresh(cx, 'mm'));
  const ys = shapeOf(y);
  const full = [...ys.slice(0, batch.length), ...aOnly.map(dimA), ...bOnly.map(dimB)];
  if (full.length === ys.length && full.every((d, i) => d === ys[i])) return { x: y, labels };
  return { x: emit(cx, 'reshape', [y], { shape: full }, fresh(cx, 'ungroup')), labels };
}
