import type { Graph, Node } from '@glimpse/ir';
import { Graph as G, programOfOp, sameShape } from '@glimpse/ir';
import { deadCodeElimination, matchEnv } from '../env.js';
import type { Pass } from '../pass.js';

type Program = readonly (number | string)[];

/**
 * Programs longer than this many tokens are not grown further: a kernel per 512 tokens
 * costs one pass over memory, while one huge program makes backends compile huge functions.
 */
const MAX_PROGRAM = 512;

/** A float elementwise node as a program over its own inputs (IR's programOfOp), or undefined. */
function programOf(n: Node, g: Graph): Program | undefined {
  if (!['f32', 'f16'].includes(g.typeOf(n.outputs[0]!).dtype)) return undefined;
  return programOfOp(n.op, n.attrs);
}

const inputIndex = (t: number | string) =>
  typeof t === 'string' && t.startsWith('$') ? Number(t.slice(1)) : -1;

/**
 * Chains and trees of elementwise ops → one `elementwise` node: a producer whose only use is
 * another elementwise op of the same output shape is inlined into its consumer's program.
 * One pass over memory instead of one per op, and no intermediate buffers. The fused node
 * keeps the consumer's name; its inputs are the values the program reads, in the order it
 * first reads them.
 *
 * Linear in the graph: groups are formed in one sweep from the consumers back (a single-use
 * producer belongs to exactly one consumer), then each group's program is written once.
 */
export const fuseElementwise: Pass = {
  name: 'fuse-elementwise',
  description: 'chains of elementwise ops → one elementwise node',
  exact:
    'the program applies the same scalar functions to the same operands in the same order. The JS backend keeps its intermediates in float64 (an intermediate that overflowed f32 as written may stay finite); WGSL reads a repeated input through an opaque identity so that the shader compiler cannot factor x·a + x·b',
  run: (g, ctx) => {
    const env = matchEnv(g);
    const programs = new Map<Node, Program>();
    for (const n of g.nodes) {
      const p = programOf(n, g);
      if (p !== undefined) programs.set(n, p);
    }
    /** Producer nodes inlined into their consumer. */
    const inlined = new Set<Node>();
    const fused = new Map<Node, Node>();
    for (let idx = g.nodes.length - 1; idx >= 0; idx--) {
      const root = g.nodes[idx]!;
      if (inlined.has(root) || !programs.has(root)) continue;
      const shape = g.typeOf(root.outputs[0]!).shape;
      // Grow the group breadth-first from the root while the program stays within bounds.
      let size = programs.get(root)!.length;
      const members = new Set<Node>();
      const frontier = [root];
      for (let f = 0; f < frontier.length; f++) {
        for (const x of frontier[f]!.inputs) {
          const p = env.producer(x);
          if (
            p === undefined ||
            !programs.has(p) ||
            inlined.has(p) ||
            env.uses(x) !== 1 ||
            env.isOutput(x) ||
            !sameShape(g.typeOf(x).shape, shape) ||
            size + programs.get(p)!.length > MAX_PROGRAM
          )
            continue;
          size += programs.get(p)!.length - 1;
          inlined.add(p);
          members.add(p);
          frontier.push(p);
        }
      }
      if (members.size === 0) continue;
      const { program, inputs } = writeProgram(root, programs, members, env.producer);
      fused.set(root, {
        op: 'elementwise',
        inputs,
        outputs: [...root.outputs],
        attrs: { program },
      });
      const text = program.join(' ');
      ctx.trace({
        pass: 'fuse-elementwise',
        rule: 'fuse-elementwise',
        node: root.outputs[0]!,
        op: root.op,
        replacement: `elementwise(${text.length > 200 ? `${text.slice(0, 200)} …` : text})`,
      });
    }
    if (fused.size === 0) return g;
    return deadCodeElimination(
      G.create({ ...g.toSpec(), nodes: g.nodes.map((n) => fused.get(n) ?? n) }),
    );
  },
};

/** The group's program in postfix, member programs inlined where their value is read. */
function writeProgram(
  root: Node,
  programs: ReadonlyMap<Node, Program>,
  members: ReadonlySet<Node>,
  producer: (v: string) => Node | undefined,
): { program: (number | string)[]; inputs: string[] } {
  const program: (number | string)[] = [];
  const inputs: string[] = [];
  const index = new Map<string, number>();
  // Iterative, so a 50,000-op chain cannot overflow the stack.
  const stack: [Node, number][] = [[root, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [n, at] = top;
    const p = programs.get(n)!;
    if (at === p.length) {
      stack.pop();
      continue;
    }
    top[1]++;
    const t = p[at]!;
    const j = inputIndex(t);
    if (j < 0) {
      program.push(t);
      continue;
    }
    const x = n.inputs[j]!;
    const inner = producer(x);
    if (inner !== undefined && members.has(inner)) {
      stack.push([inner, 0]);
      continue;
    }
    let k = index.get(x);
    if (k === undefined) index.set(x, (k = inputs.push(x) - 1));
    program.push(`$${k}`);
  }
  return { program, inputs };
}
