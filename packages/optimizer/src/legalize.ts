import type { AttentionAttrs, Graph, Node, NodeSpec } from '@glimpse/ir';
import { buildGraph, Graph as G, GlimpseError, uniqueName, writtenAttention } from '@glimpse/ir';

/** A node a backend declined, and why. */
export interface Lowered {
  readonly node: string;
  readonly op: string;
  readonly reason: string;
}

/**
 * The ops `n` stands for, as a graph whose inputs are named as `n`'s inputs and whose one
 * output is named as `n`'s output; undefined when the op has no lowering (or this node's
 * cannot be written out: causal bottom_right over symbolic lengths).
 */
function loweringOf(n: Node, g: Graph): Graph | undefined {
  if (n.op !== 'attention') return undefined;
  try {
    return buildGraph('lowered', (b) => {
      const [q, k, v, mask] = n.inputs.map((i) => b.input(i, g.typeOf(i).dtype, g.typeOf(i).shape));
      const a = n.attrs as unknown as AttentionAttrs;
      return b.op(
        'scale',
        [writtenAttention(b, q!, k!, v!, mask, a).y],
        { factor: 1 },
        n.outputs[0],
      );
    });
  } catch (e) {
    if (e instanceof GlimpseError) return undefined;
    throw e;
  }
}

/**
 * Legalisation for a backend: every node it declines (`declines` returns a reason) that
 * has a lowering is replaced by the plain ops it stands for (for `attention`, the IR's
 * `writtenAttention`: the plain computation the fused op is held to, so answers stay within
 * the precision contract and special values as written). Fresh names for the new values;
 * the lowered node's output keeps its name. Returns the graph and what was lowered.
 */
export function lowerDeclined(
  g: Graph,
  declines: (n: Node, g: Graph) => string | undefined,
): { graph: Graph; lowered: Lowered[] } {
  const lowered: Lowered[] = [];
  const taken = new Set(g.valueNames());
  const nodes: NodeSpec[] = [];
  for (const n of g.nodes) {
    const reason = n.op === 'attention' ? declines(n, g) : undefined;
    const sub = reason === undefined ? undefined : loweringOf(n, g);
    if (sub === undefined) {
      nodes.push({ op: n.op, inputs: n.inputs, outputs: n.outputs, attrs: n.attrs });
      continue;
    }
    lowered.push({ node: n.outputs[0]!, op: n.op, reason: reason! });
    const rename = new Map<string, string>(sub.inputs.map((i) => [i.name, i.name]));
    rename.set(n.outputs[0]!, n.outputs[0]!);
    const name = (v: string) => {
      let r = rename.get(v);
      if (r === undefined) rename.set(v, (r = uniqueName(`${n.outputs[0]}.${v}`, taken, '_')));
      return r;
    };
    // The written-out form ends in scale(·, 1) only to carry the output's name: the
    // scale's input takes the name instead.
    const last = sub.nodes.at(-1)!;
    rename.set(last.inputs[0]!, n.outputs[0]!);
    for (const s of sub.nodes.slice(0, -1))
      nodes.push({
        op: s.op,
        inputs: s.inputs.map(name),
        outputs: s.outputs.map(name),
        attrs: s.attrs,
      });
  }
  if (lowered.length === 0) return { graph: g, lowered };
  return { graph: G.create({ ...g.toSpec(), nodes }), lowered };
}
