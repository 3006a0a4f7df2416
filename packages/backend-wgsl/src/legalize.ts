import type { AttentionAttrs, Graph, Node } from '@glimpse/ir';
import { DECODE_T, rowsPerInvocation } from './kernels/attention.js';

/**
 * The nodes WGSL would rather have lowered (`Backend.declines`). A fused attention whose
 * prefill kernel would hold one query row per invocation (q and o of a wide head fill the
 * register budget): each K/V element read from workgroup memory then serves one row, and
 * the unfused matmuls are faster (bench/wgsl.js, head-size sweep: dh = 256 and 512 at
 * T = 512). Decode (T ≤ DECODE_T, split-K) keeps the fused kernel at any head size.
 */
export function declinesWgsl(n: Node, g: Graph): string | undefined {
  if (n.op !== 'attention') return undefined;
  // The feature axis is the last one in either layout; T is the row axis of q.
  const q = g.typeOf(n.inputs[0]!).shape;
  const dh = q.at(-1);
  const dv = g.typeOf(n.inputs[2]!).shape.at(-1);
  if (typeof dh !== 'number' || typeof dv !== 'number') return undefined;
  const T = (n.attrs as unknown as AttentionAttrs).layout === 'bshd' ? q[1] : q.at(-2);
  if (typeof T === 'number' && T <= DECODE_T) return undefined;
  if (rowsPerInvocation(Math.ceil(dh / 4), Math.ceil(dv / 4)) > 1) return undefined;
  return `head size dh=${dh}, dv=${dv}: the WGSL prefill kernel would keep one query row per invocation, slower than the unfused matmuls`;
}
