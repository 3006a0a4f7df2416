import type { AttentionAttrs } from '@glimpse/ir';
import { attentionGeometry, maskLeadOffset } from '@glimpse/ir';
import { writeArgs } from './args.js';
import { emitAttention } from './attention/emit.js';
import { combineSplits, fixKeysNotVisited, keySplits } from './attention/host.js';
import type { Spec } from './attention/spec.js';
import { ATTN, BR, operandArgs, partFloats, scratchBytes } from './attention/spec.js';
import type { WasmKernel } from './types.js';

export { keySplits } from './attention/host.js';

interface Prepared {
  readonly name: string;
  readonly spec: Spec;
}

/**
 * The attention op as flash attention: a function per node (attention/emit.ts and its
 * phases), run as tasks of one head's chunk of query rows (and one split of its keys); the
 * host then combines key splits and fixes the keys a row never visited (attention/host.ts).
 */
export const attention: WasmKernel<'attention'> = {
  prepare(a, node, p) {
    const q = p.graph.typeOf(node.inputs[0]!);
    const v = p.graph.typeOf(node.inputs[2]!);
    const dh = q.shape.at(-1);
    const dv = v.shape.at(-1);
    const m = node.inputs[3];
    if (typeof dh !== 'number' || typeof dv !== 'number') return undefined;
    const spec: Spec = {
      dh,
      dv,
      mask: m === undefined ? 'none' : p.graph.typeOf(m).dtype === 'bool' ? 'bool' : 'additive',
      causal: a.causal !== 'none' && a.causal_fill === -Infinity,
      causalFill: a.causal !== 'none' && a.causal_fill !== -Infinity ? a.causal_fill : undefined,
      softcap: a.softcap,
      fill: a.mask_fill,
      zeroRows: a.masked_rows === 'zero',
      byMask: a.masked_rows === 'mask',
    };
    const name = `attn_${p.id}`;
    emitAttention(p.module, name, spec, p.micro, p.vexp, p.vexp2);
    return { name, spec } satisfies Prepared;
  },
  bind(a, ctx, prepared) {
    if (prepared === undefined) return undefined;
    const { name, spec } = prepared as Prepared;
    const g = attentionGeometry(ctx.inShapes, ctx.outShapes[0]!, a as AttentionAttrs);
    const fn = ctx.fn(name);
    const heads = g.nLead * g.Hq;
    // Enough tasks to balance the threads: chunks of rows, each at least one block.
    // Causal rows differ in work (row i sees i + 1 keys): more, smaller chunks balance them.
    const want = (spec.causal ? 16 : 4) * ctx.threads;
    const chunks = Math.max(1, Math.min(Math.ceil(g.T / BR), Math.ceil(want / Math.max(1, heads))));
    const chunkRows = Math.ceil(Math.ceil(g.T / chunks) / BR) * BR;
    const { splits, splitKeys } = keySplits(heads, g.T, g.S);
    const per = scratchBytes(spec);
    const scratch = ctx.alloc(per * ctx.threads);
    const args = ctx.alloc(4 * ATTN.words);
    const part = splits > 1 ? ctx.alloc(heads * g.T * splits * partFloats(g.dv) * 4) : 0;
    const flags = spec.zeroRows || spec.byMask ? ctx.alloc(heads * g.T * 4) : 0;
    const elem = spec.mask === 'bool' ? 1 : 4;
    const leadTable = ctx.alloc(4 * Math.max(1, g.nLead));
    const lastBad = new Int32Array(g.dv);
    const weights = new Float64Array(splits);
    return (r) => {
      if (heads === 0 || g.T === 0 || g.dv === 0) return;
      if (g.mask)
        for (let l = 0; l < g.nLead; l++)
          r.i32[(leadTable >>> 2) + l] = maskLeadOffset(g, l) * elem;
      // Without a mask its words are 0 (the function of an unmasked node never reads them).
      writeArgs(r, args, ATTN, {
        T: g.T,
        S: g.S,
        Hq: g.Hq,
        group: g.group,
        chunks,
        chunkRows,
        ...operandArgs('q', r.ins[0]!, g.q),
        ...operandArgs('k', r.ins[1]!, g.k),
        ...operandArgs('v', r.ins[2]!, g.v),
        ...operandArgs('o', r.outs[0]!, g.o),
        mask: g.mask ? r.ins[3]! : 0,
        maskLead: g.mask ? leadTable : 0,
        mH: (g.mask?.h ?? 0) * elem,
        mT: (g.mask?.t ?? 0) * elem,
        mS: (g.mask?.s ?? 0) * elem,
        offset: g.causalOffset ?? g.causalFill?.offset ?? 0,
        scratch,
        scratchPerThread: per,
        scale: g.scale,
        splits,
        splitKeys,
        part,
        flags,
      });
      if (g.S === 0) {
        // An empty softmax·v is an empty sum: 0 (masked_rows=zero gives 0 too).
        for (let l = 0; l < g.nLead; l++)
          for (let h = 0; h < g.Hq; h++)
            for (let i = 0; i < g.T; i++) {
              const o = (r.outs[0]! >>> 2) + l * g.o[0] + h * g.o[1] + i * g.o[2];
              r.f32.fill(0, o, o + g.dv);
            }
        return;
      }
      r.parallel(fn, heads * chunks * splits, args);
      if (splits > 1) combineSplits(r, g, spec, weights, part, flags);
      if (spec.causal || spec.byMask) fixKeysNotVisited(r, g, spec, lastBad, flags);
    };
  },
};
