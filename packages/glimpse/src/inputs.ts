import type { Binding, Graph, Tensor } from '@glimpse/ir';
import type { OptimizeOptions } from '@glimpse/optimizer';
import {
  AttrError,
  boundLine,
  concreteShape,
  dict,
  fromNumbers,
  numel,
  randomStream,
  SYMBOL_RE,
  toNumbers,
} from '@glimpse/ir';

/** Seeded random inputs: floats uniform in [-1, 1), ids valid for the embedding they feed. */
export function randomInputs(g: Graph, binding: Binding, seed: number): Record<string, Tensor> {
  const out = dict<Tensor>();
  for (const inp of g.inputs) {
    const shape = concreteShape(inp.type.shape, binding, `input '${inp.name}'`);
    const rnd = randomStream(seed, `input:${inp.name}`);
    const n = numel(shape);
    const vals = new Float64Array(n);
    const emb = g.nodes.find((nd) => nd.op === 'embedding' && nd.inputs[0] === inp.name);
    const hi = emb ? (g.typeOf(emb.inputs[1]!).shape[0] as number) : 2;
    const isFloat = inp.type.dtype === 'f32' || inp.type.dtype === 'f16';
    for (let i = 0; i < n; i++) vals[i] = isFloat ? rnd() * 2 - 1 : Math.floor(rnd() * hi);
    out[inp.name] = fromNumbers(inp.type.dtype, shape, vals);
  }
  return out;
}

/** Symbol bindings written `B=2,T=10` (`what` names the option in the error). */
export function parseBinding(text: string, what = 'shape'): Record<string, number> {
  const out = dict<number>();
  for (const a of text.split(',').filter((x) => x.trim() !== '')) {
    const m = /^([^=]+)=(\d{1,9})$/.exec(a.trim());
    if (!m || !SYMBOL_RE.test(m[1]!)) throw new AttrError(`${what} takes SYMBOL=SIZE, got '${a}'`);
    if (Object.hasOwn(out, m[1]!)) throw new AttrError(`${what} gives ${m[1]} twice`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** One line about a tensor: dtype and shape, mean, min, max and its first values. */
export function summarize(name: string, t: Tensor): string {
  const v = toNumbers(t);
  let mn = Infinity;
  let mx = -Infinity;
  let sum = 0;
  for (const x of v) {
    mn = Math.min(mn, x);
    mx = Math.max(mx, x);
    sum += x;
  }
  const head = Array.from(v.subarray(0, 4), (x) => x.toPrecision(5)).join(', ');
  return `${boundLine(name, 200)}: ${t.dtype}[${t.shape.join(',')}]  mean ${(sum / (v.length || 1)).toPrecision(5)}  min ${mn.toPrecision(5)}  max ${mx.toPrecision(5)}  [${head}${v.length > 4 ? ', ...' : ''}]`;
}

/**
 * A pipeline as written on a command line or a form: `passes` (`cse, dce`) when given, else
 * the level.
 */
export function pipelineOf(level: string | number, passes?: string): OptimizeOptions {
  if (passes !== undefined)
    return {
      passes: passes
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p !== ''),
    };
  return { level: Number(level) as 0 | 1 | 2 };
}
