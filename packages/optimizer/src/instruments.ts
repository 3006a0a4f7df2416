import type { Graph } from '@glimpse/ir';
import { Graph as G, printGraph } from '@glimpse/ir';
import type { Instrument, PassResult } from './pass.js';

/** `// ----- after fuse-attention (fuse-attention×2) -----`: a comment, so a dump parses back. */
export function banner(r: PassResult): string {
  const counts = new Map<string, number>();
  for (const t of r.rewrites) counts.set(t.rule, (counts.get(t.rule) ?? 0) + 1);
  const rules = [...counts].map(([k, n]) => `${k}×${n}`).join(', ');
  return `// ----- after ${r.pass.name}${rules ? ` (${rules})` : r.changed ? '' : ' (no change)'} -----`;
}

/** Print the graph after every pass, after the named ones, or only after passes that changed it. */
export function printAfter(
  write: (s: string) => void,
  which: { all?: boolean; passes?: readonly string[]; changed?: boolean } = { all: true },
): Instrument {
  return {
    afterPass: (r) => {
      const want =
        which.all === true ||
        which.passes?.includes(r.pass.name) === true ||
        (which.changed === true && r.changed);
      if (want) write(`${banner(r)}\n${printGraph(r.after)}`);
    },
  };
}

/** Wall time per pass. */
export function timing(write: (s: string) => void): Instrument {
  return { afterPass: (r) => write(`// ${r.pass.name}: ${r.ms.toFixed(2)} ms\n`) };
}

/** Re-verify the graph from scratch after each pass (types re-inferred, order re-checked). */
export function verifyEach(): Instrument {
  return { afterPass: (r) => void G.create(r.after.toSpec()) };
}

export type { Graph };

/**
 * When a pass throws: the graph before it (a valid .glimpse file) and the pipeline that
 * reproduces the failure, as comments.
 */
export function printAfterFailure(write: (s: string) => void): Instrument {
  return {
    onFailure: (pass, g, error, pipeline) => {
      const msg = error instanceof Error ? error.message : String(error);
      write(
        `// ----- before ${pass.name} (failed: ${msg.split('\n')[0]}) -----\n// reproduce: glimpse dump FILE --passes ${pipeline.slice(pipeline.indexOf(pass.name)).join(',')}\n${printGraph(g)}`,
      );
    },
  };
}

/**
 * Each rule firing: rule, the node it matched, what replaced it; then each match a rule
 * declined, with its reason (so "why did this not fuse?" has an answer).
 */
export function traceRewrites(write: (s: string) => void): Instrument {
  return { afterPass: (r) => traceLines(r).forEach((l) => write(`${l}\n`)) };
}

/** A pass's rule firings, then its declined matches with their reasons, one line each. */
export function traceLines(r: PassResult): string[] {
  return [
    ...r.rewrites.map((t) => `// ${t.pass}: ${t.rule} at %${t.node} (${t.op}) -> ${t.replacement}`),
    ...r.declines.map(
      (d) => `// ${d.pass}: ${d.rule} declined at %${d.node} (${d.op}): ${d.reason}`,
    ),
  ];
}
