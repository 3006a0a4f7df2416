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
  | 'E_DEVICE' // no usable GPU adapter, a lost device, or a shader the driver rejects
  | 'E_MEMORY' // a size from a file is past the memory budget (budget.ts)
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
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly where: ErrorWhere = {},
  ) {
    super(formatMessage(detail, where));
  }
}

/** A subclass per code, so callers can `catch (e) { if (e instanceof ShapeError) ... }`. */
function errorClass(name: string, code: ErrorCode) {
  const C = class extends GlimpseError {
    constructor(detail: string, where: ErrorWhere = {}) {
      super(code, detail, where);
    }
  };
  Object.defineProperty(C.prototype, 'name', { value: name });
  Object.defineProperty(C, 'name', { value: name });
  return C;
}

export const ShapeError = errorClass('ShapeError', 'E_SHAPE');
export const AttrError = errorClass('AttrError', 'E_ATTR');
export const VerifyError = errorClass('VerifyError', 'E_VERIFY');
export const ParseError = errorClass('ParseError', 'E_PARSE');
export const FormatError = errorClass('FormatError', 'E_FORMAT');
export const InputError = errorClass('InputError', 'E_INPUT');
export const RuntimeError = errorClass('RuntimeError', 'E_RUNTIME');
export const UnsupportedError = errorClass('UnsupportedError', 'E_UNSUPPORTED');
export const DeviceError = errorClass('DeviceError', 'E_DEVICE');
export type ShapeError = InstanceType<typeof ShapeError>;
export type AttrError = InstanceType<typeof AttrError>;
export type VerifyError = InstanceType<typeof VerifyError>;
export type ParseError = InstanceType<typeof ParseError>;
export type DeviceError = InstanceType<typeof DeviceError>;
export type FormatError = InstanceType<typeof FormatError>;
export type InputError = InstanceType<typeof InputError>;
export type RuntimeError = InstanceType<typeof RuntimeError>;
export type UnsupportedError = InstanceType<typeof UnsupportedError>;

Object.defineProperty(GlimpseError.prototype, 'name', { value: 'GlimpseError' });

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
