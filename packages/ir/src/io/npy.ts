import type { DType } from '../dtype.js';
import { BYTES } from '../dtype.js';
import { FormatError } from '../errors.js';
import { MAX_ELEMENTS, numel } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { arrayFor } from '../tensor.js';
import { own } from '../own.js';

/** numpy descr strings we read, and the dtype each becomes. f64 is read into f32. */
const DESCR: Record<string, DType | 'f64' | 'u8'> = {
  '<f4': 'f32',
  '<f8': 'f64',
  '<f2': 'f16',
  '<i4': 'i32',
  '<i8': 'i64',
  '|b1': 'bool',
  '|u1': 'u8',
};
const WRITE_DESCR: Record<DType, string> = {
  f32: '<f4',
  f16: '<f2',
  i32: '<i4',
  i64: '<i8',
  bool: '|b1',
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** What a .npy file holds; `f64` and `u8` data are kept as read for the caller to convert. */
export interface NpyArray {
  readonly descr: DType | 'f64' | 'u8';
  readonly shape: number[];
  readonly data:
    Float32Array | Float64Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;
}

/**
 * Read a .npy file (format 1.0–3.0, little-endian, C order). The header is parsed as the
 * small Python literal it is (never evaluated), and its shape is checked against the file's
 * length before anything is allocated.
 */
export function readNpy(bytes: Uint8Array, file = '<npy>'): NpyArray {
  const err = (m: string): never => {
    throw new FormatError(m, { file });
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) err('not a .npy file (bad magic)');
  const major = bytes[6]!;
  if (major < 1 || major > 3) err(`unsupported .npy version ${major}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hl =
    major === 1
      ? dv.getUint16(8, true)
      : bytes.length >= 12
        ? dv.getUint32(8, true)
        : err('truncated header');
  const start = major === 1 ? 10 : 12;
  if (start + (hl as number) > bytes.length)
    err(`header length ${hl} runs past the end of the file (${bytes.length} bytes)`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(start, start + (hl as number)),
  );
  const fields = parseHeader(header, err);
  const descr = fields.get('descr');
  const fortran = fields.get('fortran_order');
  const shape = fields.get('shape');
  if (typeof descr !== 'string' || typeof fortran !== 'boolean' || !Array.isArray(shape))
    err('malformed header (needs descr, fortran_order, shape)');
  if (fortran) err('Fortran-order arrays are not supported; save with C order');
  const kind = own(DESCR, descr as string);
  if (kind === undefined)
    err(`unsupported dtype '${descr}' (supported: ${Object.keys(DESCR).join(' ')})`);
  const dims = shape as number[];
  const n = numel(dims);
  if (!(n <= MAX_ELEMENTS)) err(`shape (${dims.join(', ')}) is too large`);
  const item = kind === 'f64' ? 8 : kind === 'u8' ? 1 : BYTES[kind as DType];
  const dataStart = start + (hl as number);
  const need = n * item;
  if (bytes.length - dataStart !== need)
    err(
      `data is ${bytes.length - dataStart} bytes, shape (${dims.join(', ')}) of ${descr} needs ${need}`,
    );
  // An aligned copy we own (a Node Buffer's slice() would be a view into a shared pool).
  const copy = new Uint8Array(need);
  copy.set(bytes.subarray(dataStart, dataStart + need));
  const buf = copy.buffer;
  const Ctor =
    kind === 'f64'
      ? Float64Array
      : kind === 'u8'
        ? Uint8Array
        : (arrayFor(kind as DType, 0).constructor as new (b: ArrayBuffer) => NpyArray['data']);
  const data = new Ctor(buf);
  if (kind === 'bool')
    for (const b of data as Uint8Array) if (b > 1) err('bool data holds a byte other than 0 or 1');
  return { descr: kind!, shape: dims, data };
}

/** Write a tensor as .npy (version 1.0). */
export function writeNpy(t: Tensor): Uint8Array {
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${WRITE_DESCR[t.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + t.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 10 + header.length);
  return out;
}

type HeaderValue = string | boolean | number[];
const HEADER_KEYS = ['descr', 'fortran_order', 'shape'];

/**
 * The header dict — `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` — read as
 * the Python literal it is: string keys, each once and one of numpy's three; values a
 * string, True / False or a tuple of dims.
 */
function parseHeader(text: string, err: (m: string) => never): Map<string, HeaderValue> {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const expect = (c: string) => {
    ws();
    if (text[i] !== c) err(`malformed header: expected '${c}' at character ${i}`);
    i++;
  };
  const str = (): string => {
    ws();
    const q = text[i];
    if (q !== "'" && q !== '"') return err(`malformed header: expected a string at character ${i}`);
    const end = text.indexOf(q, i + 1);
    if (end < 0) err('malformed header: unterminated string');
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  const value = (): HeaderValue => {
    ws();
    for (const [word, v] of [
      ['True', true],
      ['False', false],
    ] as const)
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    if (text[i] !== '(') return str();
    i++;
    const dims: number[] = [];
    for (ws(); text[i] !== ')'; ws()) {
      const m = /^\d{1,10}/.exec(text.slice(i, i + 11));
      if (!m) err(`bad dim '${text.slice(i, i + 12).split(/[,)]/)[0]}' in shape`);
      dims.push(Number(m![0]));
      i += m![0].length;
      ws();
      if (text[i] === ',') i++;
      else if (text[i] !== ')') err(`malformed header: expected ',' or ')' at character ${i}`);
    }
    i++;
    return dims;
  };
  const out = new Map<string, HeaderValue>();
  expect('{');
  for (ws(); text[i] !== '}'; ws()) {
    const k = str();
    if (!HEADER_KEYS.includes(k))
      err(`header key '${k}' is not one of numpy's (${HEADER_KEYS.join(', ')})`);
    if (out.has(k)) err(`header gives '${k}' twice`);
    expect(':');
    out.set(k, value());
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') err(`malformed header: expected ',' or '}' at character ${i}`);
  }
  i++;
  ws();
  if (i !== text.length) err(`malformed header: text after the dict at character ${i}`);
  return out;
}
