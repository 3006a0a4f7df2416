/**
 * One error tree for all of glimpse. Every error carries a stable `code` (scripts match on
 * it) and, where known, *where* it happened: file, node, op, value and the shapes involved.
 * The CLI prints `message` as one line; nothing here should need a stack trace to act on.
 */
export type ErrorCode =
  | 'E_SHAPE' // shape/dtype inference failed
  | 'E_ATTR' // an attribute is missing, of the wrong kind or out of range
  | 'E_VERIFY' // the graph is malformed (undefined value, cycle, duplicate name, ...)
  | 'E_PARSE' // text or JSON graph could not be read
  | 'E_FORMAT' // a binary file (safetensors, npy) is malformed
  | 'E_INPUT' // a run-time input, binding or weight is wrong
  | 'E_RUNTIME' // a kernel found bad data (e.g. an index out of range)
  | 'E_UNSUPPORTED' // valid request that this component does not handle
  | 'E_USAGE'; // the command line is wrong

export interface ErrorWhere {
  file?: string;
  node?: string;
  op?: string;
  value?: string;
  line?: number;
  column?: number;
  shapes?: string[];
}

export class GlimpseError extends Error {
  override readonly name: string = 'GlimpseError';
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly where: ErrorWhere = {},
  ) {
    super(formatMessage(detail, where));
  }
}

export class ShapeError extends GlimpseError {
  override readonly name = 'ShapeError';
  constructor(detail: string, where: ErrorWhere = {}) {
    super('E_SHAPE', detail, where);
  }
}
export class AttrError extends GlimpseError {
  override readonly name = 'AttrError';
  constructor(detail: string, where: ErrorWhere = {}) {
    super('E_ATTR', detail, where);
  }
}
export class VerifyError extends GlimpseError {
  override readonly name = 'VerifyError';
  constructor(detail: string, where: ErrorWhere = {}) {
    super('E_VERIFY', detail, where);
  }
}
export class ParseError extends GlimpseError {
  override readonly name = 'ParseError';
  constructor(detail: string, where: ErrorWhere = {}) {
    super('E_PARSE', detail, where);
  }
}
export class FormatError extends GlimpseError {
  override readonly name = 'FormatError';
  constructor(detail: string, where: ErrorWhere = {}) {
    super('E_FORMAT', detail, where);
  }
}
export class InputError extends GlimpseError {
  override readonly name = 'InputError';
  constructor(detail: string, where: ErrorWhere = {}) {
    super('E_INPUT', detail, where);
  }
}
export class RuntimeError extends GlimpseError {
  override readonly name = 'RuntimeError';
  constructor(detail: string, where: ErrorWhere = {}) {
    super('E_RUNTIME', detail, where);
  }
}
export class UnsupportedError extends GlimpseError {
  override readonly name = 'UnsupportedError';
  constructor(detail: string, where: ErrorWhere = {}) {
    super('E_UNSUPPORTED', detail, where);
  }
}

function formatMessage(detail: string, w: ErrorWhere): string {
  const parts: string[] = [];
  if (w.file !== undefined) {
    let loc = w.file;
    if (w.line !== undefined) loc += `:${w.line}`;
    if (w.line !== undefined && w.column !== undefined) loc += `:${w.column}`;
    parts.push(loc);
  } else if (w.line !== undefined) {
    parts.push(`line ${w.line}${w.column !== undefined ? `:${w.column}` : ''}`);
  }
  if (w.node !== undefined) parts.push(`node %${w.node}${w.op !== undefined ? ` (${w.op})` : ''}`);
  else if (w.op !== undefined) parts.push(`op ${w.op}`);
  if (w.value !== undefined && w.value !== w.node) parts.push(`value %${w.value}`);
  let msg = parts.length > 0 ? `${parts.join(', ')}: ${detail}` : detail;
  if (w.shapes !== undefined && w.shapes.length > 0) msg += ` [shapes: ${w.shapes.join(', ')}]`;
  return msg;
}

/** Re-raise `e` with more location (e.g. the file) filled in, keeping its class and code. */
export function withWhere(e: unknown, more: ErrorWhere): unknown {
  if (!(e instanceof GlimpseError)) return e;
  const merged: ErrorWhere = { ...more, ...e.where };
  const copy = Object.create(Object.getPrototypeOf(e) as object) as GlimpseError;
  Object.assign(copy, e, { where: merged, message: formatMessage(e.detail, merged) });
  Object.defineProperty(copy, 'stack', { value: e.stack, configurable: true });
  return copy;
}
