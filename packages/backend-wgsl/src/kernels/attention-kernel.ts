/** What one attention kernel's WGSL depends on, and its uniform layout (attention.ts builds it, attention-rows.ts reads it). */
import type { AttentionAttrs, AttentionGeometry } from '@glimpse/ir';
import { uniforms, type UniformNames } from '../uniforms.js';

/**
 * The uniform layout: sizes, the per-tensor strides (lead, head, row) of q, k, v and the
 * output, the lead dims, and the mask's strides (lead axes, then head, query row, key)
 * when there is a mask.
 */
export function attentionUniforms(nl: number, mask: boolean) {
  return uniforms({
    nLead: 'u32',
    Hq: 'u32',
    Hkv: 'u32',
    T: 'u32',
    S: 'u32',
    dh: 'u32',
    dv: 'u32',
    /** Prefill workgroups per (lead, head): ⌈T / BR⌉. */
    qTiles: 'u32',
    scale: 'f32',
    softcap: 'f32',
    maskFill: 'f32',
    causalOffset: 'i32',
    /** causal_fill (when it is not -inf): the hidden keys' score before the mask. */
    causalFill: 'f32',
    q: ['u32', 3],
    k: ['u32', 3],
    v: ['u32', 3],
    o: ['u32', 3],
    lead: ['u32', nl],
    ...(mask ? { maskLead: ['u32', nl], maskH: 'u32', maskT: 'u32', maskS: 'u32' } : {}),
  } as const);
}
type AttentionUniforms = ReturnType<typeof attentionUniforms>;

/** What the WGSL of one attention kernel depends on: fixed by shapes, dtypes and attributes. */
export interface AttentionKernel {
  readonly g: AttentionGeometry;
  readonly a: AttentionAttrs;
  /** The mask's storage type, if there is a mask (a bool mask is u32 on the GPU). */
  readonly maskType: 'u32' | 'f32' | undefined;
  readonly decode: boolean;
  /** masked_rows=mask: rows track whether any key was open, and v's bad columns are scanned. */
  readonly byMask: boolean;
  /** A causal mask whose hidden keys are -inf after the mask: tiles past a row's end are skipped. */
  readonly causal: boolean;
  /** A causal mask with a causal_fill other than -inf: hidden keys score it before the mask. */
  readonly causalFill: boolean;
  /** vec4s per row of q/k (DH4) and v/o (DV4), zero-padded past dh and dv. */
  readonly DH4: number;
  readonly DV4: number;
  /** Query rows per invocation, and invocations per workgroup. */
  readonly R: number;
  readonly WG: number;
  /** Keys per K/V tile in workgroup memory. */
  readonly bc: number;
  readonly layout: AttentionUniforms;
  /** The uniform fields' WGSL names. */
  readonly u: UniformNames<AttentionUniforms['spec']>;
}
