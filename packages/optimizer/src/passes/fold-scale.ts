import type { Node, Param } from '@glimpse/ir';
import { paramValues, uniqueName } from '@glimpse/ir';
import { frozenParams, matchEnv, replaceParams } from '../env.js';
import { isPowerOfTwo } from './canonicalize.js';
import type { Pass } from '../pass.js';

/**
 * With frozen params: scale(linear(x, W, b), c) → linear(x, W·c, b·c), the scaled weights
 * stored as new params (the old ones are dropped when nothing else reads them). One pass
 * over the output less, at no cost per run. Without frozen params it does nothing: the
 * weights may still change.
 */
export const foldScale: Pass = {
  name: 'fold-scale',
  description: 'scale after a linear folded into frozen weights',
  exact:
    'only a power of two 0 < c ≤ 1 with every scaled weight exact: every term and partial sum of x·(W·c) + b·c is the written one times c, bit for bit, never larger (no new f32 overflow); other factors round each weight, a negative c would flip the sign of an exactly cancelling sum’s zero, and 0, inf or NaN reach each term differently: those decline',
  run: (g, ctx) => {
    if (!ctx.frozenParams) return g;
    const env = matchEnv(g);
    const params = frozenParams(g);
    const frozen = (v: string) => params.has(v);
    const newParams: Param[] = [];
    const replaced = new Map<Node, Node>();
    const taken = new Set(g.valueNames());
    for (const n of g.nodes) {
      const lin = n.op === 'scale' ? env.producer(n.inputs[0]!) : undefined;
      if (
        lin?.op !== 'linear' ||
        env.uses(lin.outputs[0]!) !== 1 ||
        g.outputs.includes(lin.outputs[0]!)
      )
        continue;
      if (!lin.inputs.slice(1).every(frozen)) continue;
      const c = n.attrs.factor as number;
      // x·(W·c) + b·c forms every partial sum c times the written one: for 0 < c ≤ 1 none is
      // larger (no new f32 overflow); a negative c would flip the sign of an exactly
      // cancelling sum's zero, and 0, inf or NaN reach each term differently.
      if (!(c > 0 && c <= 1 && isPowerOfTwo(c))) {
        ctx.decline?.({
          pass: 'fold-scale',
          rule: 'fold-scale',
          node: n.outputs[0]!,
          op: 'scale',
          reason: `factor ${c}: only a power of two 0 < c ≤ 1 folds into weights exactly (another rounds each weight, and a cancelling sum magnifies that; a larger one could overflow a partial sum the written graph keeps in range; 0, inf, NaN or a sign reach each term differently)`,
        });
        continue;
      }
      // Scaling by 2^-k is exact unless a weight underflows into the subnormals: check.
      const values = lin.inputs.slice(1).map((w) => paramValues(params.get(w)!, g.seed));
      const scaledValues = values.map((v) => Float32Array.from(v, (x) => x * c));
      if (!scaledValues.every((sv, i) => sv.every((y, j) => y / c === values[i]![j]))) {
        ctx.decline?.({
          pass: 'fold-scale',
          rule: 'fold-scale',
          node: n.outputs[0]!,
          op: 'scale',
          reason: `a weight times ${c} underflows: the folded weights would not be exact`,
        });
        continue;
      }
      const scaled = lin.inputs.slice(1).map((w, i) => {
        const p = params.get(w)!;
        const name = uniqueName(`${w}.scaled`, taken);
        const data = scaledValues[i]!;
        newParams.push({ name, type: p.type, init: { kind: 'data', data } });
        return name;
      });
      replaced.set(n, {
        op: 'linear',
        inputs: [lin.inputs[0]!, ...scaled],
        outputs: [...n.outputs],
        attrs: {},
      });
      ctx.trace({
        pass: 'fold-scale',
        rule: 'fold-scale',
        node: n.outputs[0]!,
        op: 'scale',
        replacement: `linear(%${lin.inputs[0]}, ${scaled.map((s) => `%${s}`).join(', ')})`,
      });
    }
    if (replaced.size === 0) return g;
    return replaceParams(
      g,
      newParams,
      g.nodes.map((n) => replaced.get(n) ?? n),
    );
  },
};
