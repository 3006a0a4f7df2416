/**
 * The operator schemas of onnxruntime's registry (schemas.ts, generated): per op and
 * version, how many inputs and outputs a node may have and each attribute's type.
 */
import { SCHEMA_TABLE } from './schemas.js';

/** One version of an op's schema. */
export interface Schema {
  readonly since: number;
  readonly inputs: readonly [number, number];
  readonly outputs: readonly [number, number];
  /** Attribute name → its ONNX type name (INT, FLOATS, ...) and whether it is required. */
  readonly attrs: ReadonlyMap<string, { readonly type: string; readonly required: boolean }>;
}

let table: Map<string, Schema[]> | undefined;

function parseTable(): Map<string, Schema[]> {
  const range = (s: string): [number, number] => {
    const [lo, hi] = s.split('-');
    return [Number(lo), hi === '*' ? Infinity : Number(hi)];
  };
  const out = new Map<string, Schema[]>();
  for (const line of SCHEMA_TABLE.split('\n')) {
    const [op, ...versions] = line.split(' ');
    if (!op) continue;
    out.set(
      op,
      versions.map((v) => {
        const [since, ins, outs, attrs] = v.split(':');
        return {
          since: Number(since),
          inputs: range(ins!),
          outputs: range(outs!),
          attrs: new Map(
            attrs!
              .split(',')
              .filter((a) => a !== '')
              .map((a) => {
                const [name, type] = a.split('=');
                return [name!, { type: type!.replace('!', ''), required: type!.endsWith('!') }];
              }),
          ),
        };
      }),
    );
  }
  return out;
}

/** Whether the registry knows the op at all (a converter key: `com.microsoft.X` or `X`). */
export function hasSchema(op: string): boolean {
  table ??= parseTable();
  return table.has(op);
}

/**
 * The schema of `op` at domain version `version`: the newest at or before it; `undefined`
 * for an op the registry does not know, `null` for one introduced after `version`.
 */
export function schemaOf(op: string, version: number): Schema | null | undefined {
  table ??= parseTable();
  const versions = table.get(op);
  if (!versions) return undefined;
  let found: Schema | null = null;
  for (const s of versions) if (s.since <= version) found = s;
  return found;
}

/** The first version of `op` in the registry (for errors). */
export function firstVersion(op: string): number | undefined {
  table ??= parseTable();
  return table.get(op)?.[0]?.since;
}
