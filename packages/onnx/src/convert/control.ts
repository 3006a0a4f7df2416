/**
 * ONNX's If, which the importer runs here rather than as a converter because its branches
 * are graphs of their own (converted by the caller's `branch`, in a scope that sees the
 * outer graph's names).
 */
import type { Operand } from '../operand.js';
import { dtypeOfOperand, shapeOf } from '../operand.js';
import type { AttributeProto } from '../proto.js';
import { emit, fresh, isConst, need, out, unsupported } from './context.js';
import type { Cx } from './context.js';

type Branch = NonNullable<AttributeProto['g']>;

/** An operand's type, for messages: `f32[2,S]`. */
const typeText = (o: Operand) => `${dtypeOfOperand(o)}[${shapeOf(o).join(',')}]`;

/**
 * If: a condition known at import (a constant, or one folded from shapes, as DeBERTa's
 * `query.size(-2) != key.size(-2)`) picks its branch, which is inlined. A condition
 * computed at run time runs both branches and picks each output with `where` — exact, as a
 * branch only computes values (ONNX graphs have no side effects) — where the two outputs
 * have the same type; otherwise it is refused. (An index out of range in the branch not
 * taken is then still an error, as any run-time error of a node.)
 */
export function convertIf(
  ins: readonly (Operand | undefined)[],
  cx: Cx,
  branch: (g: Branch) => Operand[],
): Operand[] {
  const cond = need(cx, ins, 0);
  const n = shapeOf(cond).reduce<number>((p, d) => p * (typeof d === 'number' ? d : NaN), 1);
  if (n !== 1 || dtypeOfOperand(cond) !== 'bool')
    unsupported(cx, `condition of type ${typeText(cond)}: it must be a single bool`);
  const graphOf = (which: string) => {
    const g = cx.attrs.get(which)?.g;
    if (!g) unsupported(cx, `has no ${which}`);
    return g;
  };
  if (isConst(cond)) {
    const which = cond.data[0] ? 'then_branch' : 'else_branch';
    return branch(graphOf(which));
  }
  const [yes, no] = (['then_branch', 'else_branch'] as const).map((w) => branch(graphOf(w)));
  if (yes!.length !== no!.length)
    unsupported(cx, `branches with ${yes!.length} and ${no!.length} outputs`);
  const c = emit(cx, 'reshape', [cond], { shape: [] }, fresh(cx, 'cond'));
  return yes!.map((t, i) => {
    const e = no![i]!;
    if (typeText(t) !== typeText(e))
      unsupported(
        cx,
        `with a condition computed at run time is not supported where the branches' outputs differ in type (output ${i}: ${typeText(t)} and ${typeText(e)})`,
      );
    return emit(cx, 'where', [c, t, e], {}, out(cx, i));
  });
}
