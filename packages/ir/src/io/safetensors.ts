import type { DType } from '../dtype.js';
import { BYTES } from '../dtype.js';
import { FormatError } from '../errors.js';
import { MAX_ELEMENTS, numel } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { arrayFor } from '../tensor.js';
import { dict, own } from '../own.js';

const ST_DTYPE: Record<string, DType> = {
  F32: 'f32',
  F16: 'f16',
  I32: 'i32',
  I64: 'i64',
  BOOL: 'bool',
};
const ST_NAME: Record<DType, string> = {
  f32: 'F32',
  f16: 'F16',
  i32: 'I32',
  i64: 'I64',
  bool: 'BOOL',
};
/** Headers beyond this are refused before decoding (the reference implementation uses 100 MB). */
const MAX_HEADER = 100_000_000;

/**
 * Read a safetensors file: an 8-byte little-endian header length, a JSON header of
 * `{name: {dtype, shape, data_offsets: [begin, end]}}` (plus optional `__metadata__`), then
 * the data. Every size is checked against the file before allocation; tensors must not
 * overlap or leave holes, as the format requires.
 */
export function readSafetensors(bytes: Uint8Array, file = '<safetensors>'): Map<string, Tensor> {
  const err = (m: string): never => {
    throw new FormatError(m, { file });
  };
  if (bytes.length < 8) err(`truncated: ${bytes.length} bytes, the header length alone needs 8`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlBig = dv.getBigUint64(0, true);
  if (hlBig > BigInt(Math.min(MAX_HEADER, bytes.length - 8)))
    err(`header length ${hlBig} runs past the end of the file (${bytes.length} bytes)`);
  const hl = Number(hlBig);
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + hl)),
    );
  } catch {
    err('header is not valid UTF-8 JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    err('header is not a JSON object');
  const dataLen = bytes.length - 8 - hl;
  const out = new Map<string, Tensor>();
  const spans: [number, number, string][] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const i = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof i !== 'object' || i === null) err(`tensor '${name}': entry is not an object`);
    const dtype = typeof i.dtype === 'string' ? own(ST_DTYPE, i.dtype) : undefined;
    if (dtype === undefined)
      err(`tensor '${name}': unsupported dtype ${JSON.stringify(i.dtype)} (F32 F16 I32 I64 BOOL)`);
    if (!Array.isArray(i.shape) || !i.shape.every((d) => Number.isInteger(d) && d >= 0))
      err(`tensor '${name}': bad shape`);
    const shape = i.shape as number[];
    if (!(numel(shape) <= MAX_ELEMENTS)) err(`tensor '${name}': shape too large`);
    const off = i.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0))
      err(`tensor '${name}': bad data_offsets`);
    const [b, e] = off as [number, number];
    const need = numel(shape) * BYTES[dtype!];
    if (e < b || e > dataLen)
      err(`tensor '${name}': data_offsets [${b}, ${e}] outside the ${dataLen} data bytes`);
    if (e - b !== need)
      err(
        `tensor '${name}': ${e - b} bytes for shape [${shape.join(',')}] of ${i.dtype as string} (needs ${need})`,
      );
    spans.push([b, e, name]);
    const data = arrayFor(dtype!, numel(shape));
    new Uint8Array(data.buffer).set(bytes.subarray(8 + hl + b, 8 + hl + e));
    out.set(name, { dtype: dtype!, shape, data });
  }
  spans.sort((x, y) => x[0] - y[0] || x[1] - y[1]); // empty tensors first at a shared offset
  let pos = 0;
  for (const [b, e, name] of spans) {
    if (b !== pos)
      err(
        `tensor '${name}': data ${b < pos ? 'overlaps the previous tensor' : 'leaves a hole'} at byte ${b}`,
      );
    pos = e;
  }
  if (pos !== dataLen) err(`${dataLen - pos} trailing data bytes belong to no tensor`);
  return out;
}

/** Write tensors as safetensors (names sorted, 8-byte aligned header as the format suggests). */
export function writeSafetensors(tensors: ReadonlyMap<string, Tensor>): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header = dict<unknown>();
  let pos = 0;
  for (const n of names) {
    const t = tensors.get(n)!;
    header[n] = {
      dtype: ST_NAME[t.dtype],
      shape: t.shape,
      data_offsets: [pos, pos + t.data.byteLength],
    };
    pos += t.data.byteLength;
  }
  let h = JSON.stringify(header);
  h += ' '.repeat((8 - ((8 + h.length) % 8)) % 8);
  const hb = new TextEncoder().encode(h);
  const out = new Uint8Array(8 + hb.length + pos);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let o = 8 + hb.length;
  for (const n of names) {
    const d = tensors.get(n)!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), o);
    o += d.byteLength;
  }
  return out;
}
