import type { Attrs, AttrsOf, Node, NodeSpec, OpName, TensorType } from '@glimpse/ir';
import { inferNode, OPS, resolveAttrs, uniqueName } from '@glimpse/ir';
import type {
  CapturesOf,
  Match,
  MatchEnv,
  NodeCapture,
  NodesOf,
  OpNode,
  Pattern,
} from './pattern.js';

/** A rewrite's answer when it matched but will not fire: why, in words a user can act on. */
export interface Decline {
  readonly declined: string;
}
export const decline = (reason: string): Decline => ({ declined: reason });
export const isDecline = (r: unknown): r is Decline =>
  typeof r === 'object' && r !== null && 'declined' in r;

/**
 * What a rewrite may do: look at the graph (through the match env) and emit new nodes.
 * Emitted nodes are type-checked at once; a shape error aborts the rewrite (a decline that
 * quotes the error).
 */
export class RewriteCtx {
  readonly nodes: NodeSpec[] = [];
  private readonly types = new Map<string, TensorType>();
  constructor(
    readonly env: MatchEnv,
    private readonly root: string,
    /** Names in use: the graph's, and those of earlier rewrites. */
    private readonly taken: Set<string>,
  ) {}

  typeOf(v: string): TensorType {
    return this.types.get(v) ?? this.env.typeOf(v);
  }

  /** A fresh value name derived from the root's, so dumps stay readable. */
  fresh(hint: string): string {
    return uniqueName(`${this.root}.${hint}`, this.taken);
  }

  /** Emit a single-output op; throws a GlimpseError if it does not type-check. */
  emit<K extends OpName>(
    opName: K,
    inputs: readonly string[],
    attrs: Partial<AttrsOf<K>>,
    hint: string = opName,
  ): string {
    return this.emitN(opName, inputs, attrs, [hint])[0]!;
  }

  /** Emit a node of `like`'s op with its attributes, reading `inputs` (a captured node moved). */
  emitLike(like: OpNode, inputs: readonly string[], hint: string = like.op): string {
    return this.emitN(like.op, inputs, like.attrs as Partial<AttrsOf<OpName>>, [hint])[0]!;
  }

  emitN<K extends OpName>(
    opName: K,
    inputs: readonly string[],
    attrs: Partial<AttrsOf<K>>,
    hints: readonly string[],
  ): string[] {
    const outputs = hints.map((h) => this.fresh(h));
    const node: Node = {
      op: opName,
      inputs,
      outputs,
      attrs: resolveAttrs(OPS[opName] as never, attrs as Attrs),
    };
    const types = inferNode(node, (v) => this.typeOf(v));
    outputs.forEach((o, i) => this.types.set(o, types[i]!));
    this.nodes.push(node);
    return outputs;
  }

  /** Types of the emitted values. */
  emittedType(v: string): TensorType | undefined {
    return this.types.get(v);
  }
}

/** What a rewrite returns: the value that replaces the root, a decline, or no match. */
export type RewriteResult = string | Decline | undefined;

/** A named rewrite rule: a pattern matched at a node's first output, and a rewrite. */
export interface Rule<C extends string = string, N extends NodeCapture = NodeCapture> {
  readonly name: string;
  readonly pattern: Pattern<C, N>;
  /** The value that replaces the matched root; a decline (with its reason); or undefined. */
  readonly rewrite: (m: Match<C, N>, ctx: RewriteCtx) => RewriteResult;
}

// P is left unconstrained on purpose: a `Pattern<string>` constraint makes TypeScript infer
// the `as` capture of an inline op() from the constraint (string) instead of its literal.
export function rule<P>(
  name: string,
  pattern: P,
  rewrite: (m: Match<CapturesOf<P>, NodesOf<P>>, ctx: RewriteCtx) => RewriteResult,
): Rule {
  return { name, pattern: pattern as Pattern<string>, rewrite } as unknown as Rule;
}
