import type { Graph, Node, NodeSpec } from '@glimpse/ir';
import { BINARY_OPS, Graph as G, sameShape } from '@glimpse/ir';
import { deadCodeElimination, matchEnv } from '../env.js';
import type { Pass } from '../pass.js';

const UNARY = new Set(['relu', 'gelu', 'tanh', 'exp', 'sqrt']);
type Program = readonly (number | string)[];

/** A float elementwise node as a program over its own inputs, or undefined. */
function programOf(n: Node, g: Graph): Program | undefined {
  if (!['f32', 'f16'].includes(g.typeOf(n.outputs[0]!).dtype)) return undefined;
  if (UNARY.has(n.op)) return ['$0', n.op];
  if (n.op === 'scale') return ['$0', n.attrs.factor as number, 'mul'];
  if ((BINARY_OPS as readonly string[]).includes(n.op)) return ['$0', '$1', n.op];
  if (n.op === 'elementwise') return n.attrs.program as Program;
  return undefined;
}

const shift = (p: Program, map: (i: number) => number): Program =>
  p.map((t) => (typeof t === 'string' && t.startsWith('$') ? `$${map(Number(t.slice(1)))}` : t));

/**
 * Chains of elementwise ops → one `elementwise` node: a producer whose only use is another
 * elementwise op of the same output shape is inlined into its consumer's program. One pass
 * over memory instead of one per op, and no intermediate buffers. The fused node keeps the
 * consumer's name.
 */
export const fuseElementwise: Pass = {
  name: 'fuse-elementwise',
  description: 'chains of elementwise ops → one elementwise node',
  run: (g0, ctx) => {
    let g = g0;
    for (;;) {
      const env = matchEnv(g);
      let merged: { at: Node; node: NodeSpec } | undefined;
      for (const n of g.nodes) {
        const prog = programOf(n, g);
        if (prog === undefined) continue;
        const out = g.typeOf(n.outputs[0]!).shape;
        const i = n.inputs.findIndex((x) => {
          const p = env.producer(x);
          return (
            p !== undefined &&
            env.uses(x) === 1 &&
            !g.outputs.includes(x) &&
            programOf(p, g) !== undefined &&
            sameShape(g.typeOf(x).shape, out)
          );
        });
        if (i < 0) continue;
        const e = env.producer(n.inputs[i]!)!;
        // Inputs: the consumer's others, then the producer's (each value once).
        const inputs: string[] = n.inputs.filter((_, j) => j !== i);
        const index = (v: string) => (inputs.includes(v) ? inputs.indexOf(v) : inputs.push(v) - 1);
        const outer = shift(prog, (j) => (j === i ? -1 : j < i ? j : j - 1));
        const inner = shift(programOf(e, g)!, (j) => index(e.inputs[j]!));
        const program = outer.flatMap((t) => (t === '$-1' ? inner : [t]));
        merged = {
          at: n,
          node: { op: 'elementwise', inputs, outputs: [...n.outputs], attrs: { program } },
        };
        ctx.trace({
          pass: 'fuse-elementwise',
          rule: 'fuse-elementwise',
          node: n.outputs[0]!,
          op: n.op,
          replacement: `elementwise(${program.join(' ')})`,
        });
        break;
      }
      if (merged === undefined) return g;
      g = deadCodeElimination(
        G.create({
          ...g.toSpec(),
          nodes: g.nodes.map((n) => (n === merged!.at ? merged!.node : n)) as Node[],
        }),
      );
    }
  },
};
