/**
 * The memory budget: the one limit on what glimpse allocates for sizes that come from a
 * file (constants folded at import, initializers, params, generated inputs, planned
 * buffers, the wasm arena, GPU buffers). Every such size is checked here before anything
 * is allocated, so that a file of a few hundred bytes declaring 2³¹ elements gets one line
 * (`MemoryError`) instead of exhausting the machine.
 *
 * The default: a quarter of the machine's memory in Node (room for the copies a run makes
 * beside what it plans: inputs, outputs, the process itself), GLIMPSE_MAX_MEMORY when set;
 * in a browser, where the machine's memory is not known, BROWSER_BUDGET. `--max-memory`
 * on the CLI and `setMemoryBudget` in the library change it.
 */
import { GlimpseError } from './errors.js';
import type { ErrorWhere } from './errors.js';

/** The budget in a browser: what a tab can hold beside the page, on most machines. */
export const BROWSER_BUDGET = 2 * 2 ** 30;

/** The part of the machine's memory the default budget is. */
const MACHINE_FRACTION = 1 / 4;

/** A size past the budget, checked before its allocation. */
export class MemoryError extends GlimpseError {
  constructor(detail: string, where: ErrorWhere = {}) {
    super('E_MEMORY', detail, where);
  }
}
Object.defineProperty(MemoryError.prototype, 'name', { value: 'MemoryError' });

let budget: number | undefined;

/** The machine's memory in Node (without importing node:os, so that the browser bundle loads). */
function machineMemory(): number | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
  const os = p?.getBuiltinModule?.('node:os') as { totalmem?: () => number } | undefined;
  const n = os?.totalmem?.();
  return typeof n === 'number' && n > 0 ? n : undefined;
}

/** The budget when nothing sets one: GLIMPSE_MAX_MEMORY, else from the machine's memory. */
export function defaultMemoryBudget(): number {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const env = p?.env?.GLIMPSE_MAX_MEMORY;
  if (env !== undefined && env.trim() !== '') return parseBytes(env, 'GLIMPSE_MAX_MEMORY');
  const m = machineMemory();
  return m !== undefined ? Math.floor(m * MACHINE_FRACTION) : BROWSER_BUDGET;
}

/** The budget in bytes now. */
export function memoryBudget(): number {
  return budget ?? defaultMemoryBudget();
}

/** Set the budget (bytes, or a size such as `512MB`, `2GiB`); undefined restores the default. */
export function setMemoryBudget(bytes: number | string | undefined): void {
  budget = typeof bytes === 'string' ? parseBytes(bytes, 'the memory budget') : bytes;
  if (budget !== undefined && !(budget > 0 && Number.isFinite(budget)))
    throw new MemoryError(`the memory budget must be a positive number of bytes, got ${bytes}`);
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  k: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gib: 2 ** 30,
  t: 2 ** 40,
  tib: 2 ** 40,
};

/** `1073741824`, `1e9`, `512MB` (10⁶), `2GiB` or `2G` (2³⁰): bytes; `what` names the option. */
export function parseBytes(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m?.[2]!.toLowerCase() ?? '';
  const n = m && Object.hasOwn(UNITS, unit) ? Number(m[1]) * UNITS[unit]! : NaN;
  if (!(n >= 1 && Number.isFinite(n)))
    throw new MemoryError(
      `${what} takes a size in bytes (e.g. 1073741824, 512MB, 2GiB), got '${text.slice(0, 40)}'`,
    );
  return Math.floor(n);
}

/** Bytes as people read them: 1.50 GiB, 12.0 MiB, 100 B. */
export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * Refuse `bytes` for `what` (which says what and of which shape) before allocating it when
 * it is past the budget. Callers add the file, node and op (`withWhere`).
 */
export function checkAllocation(bytes: number, what: string, where: ErrorWhere = {}): void {
  const limit = memoryBudget();
  if (!(bytes <= limit))
    throw new MemoryError(
      `${what} needs ${formatBytes(bytes)}, more than the memory budget of ${formatBytes(limit)} (--max-memory, or setMemoryBudget)`,
      where,
    );
}
