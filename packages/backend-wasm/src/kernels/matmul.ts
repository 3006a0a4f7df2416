import { numel } from '@glimpse/ir';
import { bmmGeometry, walk } from '@glimpse/kernels-cpu';
import type { ArgValues } from './args.js';
import { writeArgs } from './args.js';
import type { ModuleBuilder } from '@glimpse/asm';
import type { Node } from '@glimpse/ir';
import { GEMM_ARGS, gemmTask, gemmTasks, NR, PACK_ARGS, packedBytes, ROW_PANELS } from './gemm.js';
import { epilogueOf } from './map.js';
import type { WasmCtx, WasmKernel, WasmPrepare, WasmRun } from './types.js';

const panelsOf = (N: number) => Math.ceil(N / NR);

/** Write a GEMM's argument block (and its epilogue's operands) and run its tasks on `fn`. */
function runGemm(
  r: WasmRun,
  fn: number,
  args: number,
  g: ArgValues<typeof GEMM_ARGS.fields>,
  epilogue: readonly number[] = [],
): void {
  writeArgs(r, args, GEMM_ARGS, g);
  epilogue.forEach((at, j) => (r.i32[(args >>> 2) + GEMM_ARGS.words + j] = at));
  r.parallel(fn, gemmTasks(g.M, g.N), args);
}

/** Pack B(k, n) at src + k·sbk + n·sbn (bytes) into panels at dst, over the threads. */
function runPack(
  r: WasmRun,
  ctx: WasmCtx,
  args: number,
  p: ArgValues<typeof PACK_ARGS.fields>,
): void {
  writeArgs(r, args, PACK_ARGS, p);
  r.parallel(ctx.fn('pack_task'), panelsOf(p.N), args);
}

/**
 * Pack a weight held by the executable once, into the fixed region: B(k, n) at element
 * w/4 + k·sk + n·sn into packed B's layout (gemm.ts; columns past N are zero). Returns its
 * offset.
 */
function packFixed(
  p: WasmPrepare,
  w: number,
  K: number,
  N: number,
  sn: number,
  sk: number,
): number {
  const width = ROW_PANELS * NR; // columns of a group
  return p.pack(packedBytes(K, N), (f32, at) => {
    const src = w >>> 2;
    const dst = at >>> 2;
    f32.fill(0, dst, dst + packedBytes(K, N) / 4);
    for (let n = 0; n < N; n++) {
      const base = dst + Math.floor(n / width) * K * width + (n % width);
      for (let k = 0; k < K; k++) f32[base + k * width] = f32[src + n * sn + k * sk]!;
    }
  });
}

/** Epilogue task functions already in a module, by their epilogue's key. */
const epilogueTasks = new WeakMap<ModuleBuilder, Map<string, string>>();

interface PreparedLinear {
  /** Offset of W packed at compile time (a param or constant), else undefined. */
  readonly packed: number | undefined;
  /** The task function: gemm_task, or one of this node's with its consumer as epilogue. */
  readonly task: string;
  /** The consumer this node computes in its epilogue, and that consumer's other operands. */
  readonly absorbs?: Node;
  readonly others: readonly string[];
}

/**
 * linear: x·Wᵀ + b. A weight held by the executable (a param or constant) is packed once,
 * into the fixed region; a computed one is packed on every run. The only reader of the
 * output, when it is an elementwise program the GEMM can apply to its tiles (GELU, a
 * residual add), is absorbed as the epilogue: the step then reads that consumer's other
 * operands after its own and writes the consumer's output.
 */
export const linear: WasmKernel<'linear'> = {
  prepare(_a, node, p): PreparedLinear {
    const w = p.fixedOffset(node.inputs[1]!);
    const t = p.graph.typeOf(node.inputs[1]!);
    const [N, K] = t.shape as [number, number];
    const epi =
      p.consumer && typeof N === 'number' && p.graph.typeOf(node.outputs[0]!).dtype === 'f32'
        ? epilogueOf(p.consumer, p, node.outputs[0]!, N)
        : undefined;
    // One task function per distinct epilogue in a module (a transformer's blocks share theirs).
    let task = 'gemm_task';
    if (epi) {
      const made = (epilogueTasks.get(p.module) ??
        epilogueTasks.set(p.module, new Map()).get(p.module))!;
      task = made.get(epi.key) ?? `gemm_task_${p.id}`;
      if (!made.has(epi.key)) {
        gemmTask(p.module, p.micro, task, epi.emit);
        made.set(epi.key, task);
      }
    }
    const base = { task, absorbs: epi && p.consumer, others: epi?.others ?? [] };
    if (w === undefined || t.dtype !== 'f32') return { packed: undefined, ...base };
    // B(k, n) = W[n][k]: row by row of W, contiguous reads.
    const packed = packFixed(p, w, K, N, K, 1);
    return { packed, ...base };
  },
  bind(_a, ctx, prepared) {
    const { packed, task, others } = prepared as PreparedLinear;
    if (ctx.inTypes[0] !== 'f32' && ctx.inTypes[0] !== 'f16') return undefined;
    const [N, K] = ctx.inShapes[1] as [number, number];
    const M = K === 0 ? numel(ctx.outShapes[0]!) / (N || 1) : numel(ctx.inShapes[0]!) / K;
    const args = ctx.alloc(4 * (GEMM_ARGS.words + others.length));
    const dst = packed ?? ctx.alloc(packedBytes(K, N));
    const own = ctx.inShapes.length;
    const hasBias = own > 2;
    const fn = ctx.fn(task);
    return (r) => {
      if (packed === undefined)
        runPack(r, ctx, args, { K, N, src: r.ins[1]!, sbk: 4, sbn: 4 * K, dst });
      runGemm(
        r,
        fn,
        args,
        {
          M,
          N,
          K,
          a: r.ins[0]!,
          sam: 4 * K,
          sak: 4,
          b: dst,
          c: r.outs[0]!,
          ldc: 4 * N,
          bias: hasBias ? r.ins[2]! : 0,
        },
        r.ins.slice(own),
      );
    };
  },
};

/**
 * bmm over broadcast batch dims, either side read transposed: B packed per batch — once, at
 * compile time, when it is a rank-2 weight the executable holds (an ONNX MatMul by an
 * initializer), as linear packs its weight.
 */
export const bmm: WasmKernel<'bmm'> = {
  prepare(a, node, p): number | undefined {
    const w = p.fixedOffset(node.inputs[1]!);
    const t = p.graph.typeOf(node.inputs[1]!);
    if (w === undefined || t.dtype !== 'f32' || t.shape.length !== 2) return undefined;
    const [r, c] = t.shape as [number, number];
    // B(k, n) = W[k][n], or W[n][k] read transposed.
    return a.transpose_b ? packFixed(p, w, c, r, c, 1) : packFixed(p, w, r, c, 1, c);
  },
  bind(at, ctx, prepared) {
    const packed = prepared as number | undefined;
    const { M, N, K, batch, ...e } = bmmGeometry(at, ctx.inShapes, ctx.outShapes[0]!);
    // In bytes.
    const strides = e.strides.map((st) => st.map((x) => 4 * x));
    const [sam, sak, sbk, sbn] = [e.aRs, e.aCs, e.bRs, e.bCs].map((x) => 4 * x) as [
      number,
      number,
      number,
      number,
    ];
    // One block for both jobs, the packing's and the GEMM's (room for either).
    const args = ctx.alloc(64);
    const dst = packed ?? ctx.alloc(packedBytes(K, N));
    const task = ctx.fn('gemm_task');
    return (r) =>
      walk(batch, strides, (i, [oa, ob]) => {
        if (packed === undefined)
          runPack(r, ctx, args, { K, N, src: r.ins[1]! + ob!, sbk, sbn, dst });
        runGemm(r, task, args, {
          M,
          N,
          K,
          a: r.ins[0]! + oa!,
          sam,
          sak,
          b: dst,
          c: r.outs[0]! + i * M * N * 4,
          ldc: 4 * N,
          bias: 0,
        });
      });
  },
};
