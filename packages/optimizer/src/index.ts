export { optimize, optimizeWithResults, resolvePipeline } from './optimize.js';
export type { OptimizeOptions, OptimizeResult } from './optimize.js';
export type { Instrument, Pass, PassContext, PassResult } from './pass.js';
export { PASSES, PIPELINES } from './pipelines.js';
export { rewritePass, applyRules } from './rewrite.js';
export { rule, RewriteCtx, decline, isDecline } from './rule.js';
export type { Rule, Decline, RewriteResult } from './rule.js';
export type { TraceEntry, DeclineEntry } from './trace.js';
export { op, val, splat, oneOf, anyValue, matchAt, capture } from './pattern.js';
export type {
  Bindings,
  CapturesOf,
  Match,
  MatchEnv,
  NodeCapture,
  NodesOf,
  OpNode,
  Pattern,
} from './pattern.js';
export { matchEnv, deadCodeElimination } from './env.js';
export { graphStats, formatStats } from './stats.js';
export type { GraphStats } from './stats.js';
export {
  banner,
  printAfter,
  printAfterFailure,
  timing,
  traceLines,
  traceRewrites,
  verifyEach,
} from './instruments.js';
export { lowerDeclined } from './legalize.js';
export type { Lowered } from './legalize.js';
