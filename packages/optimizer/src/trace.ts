/** What passes record as they go: the rule firings and declines that instruments print. */

export interface TraceEntry {
  readonly pass: string;
  readonly rule: string;
  /** The matched root value. */
  readonly node: string;
  readonly op: string;
  /** What replaced it: `op(inputs)` of the new root, or `%value`. */
  readonly replacement: string;
}

/** A rule whose pattern matched a root that is still in the final graph, but declined. */
export interface DeclineEntry {
  readonly pass: string;
  readonly rule: string;
  readonly node: string;
  readonly op: string;
  readonly reason: string;
}
