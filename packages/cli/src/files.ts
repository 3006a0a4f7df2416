import { readTensorPb } from '@glimpse/onnx';
import type { Stats } from 'node:fs';
import { readFileSync, writeFileSync, mkdirSync, existsSync, statSync } from 'node:fs';
import type { DType, Graph, Tensor } from '@glimpse/ir';
import {
  checkAllocation,
  FormatError,
  InputError,
  readNpy,
  readSafetensors,
  writeNpy,
  toNumbers,
  fromNumbers,
} from '@glimpse/ir';
import { join } from 'node:path';

/** Largest file we read whole (weights included); larger is refused with a clear error. */
const MAX_FILE = 2 ** 31 - 1;

/** What a path that is not a regular file is, for the error that refuses it. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * A file read whole (model, weights, inputs). It must be a regular file — after following
 * links: a link to /dev/zero would grow without bound, a FIFO would block forever — whose
 * size fits MAX_FILE and the memory budget, checked before it is opened.
 */
export function readFile(path: string): Uint8Array {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    throw new InputError(`cannot read ${path}: no such file`, { file: path });
  }
  if (!st.isFile()) throw new InputError(`it is ${kindOf(st)}, not a regular file`, { file: path });
  const size = st.size;
  if (size > MAX_FILE)
    throw new InputError(`${path} is larger than ${MAX_FILE} bytes`, { file: path });
  checkAllocation(size, `reading the file (${size} bytes)`, { file: path });
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      file: path,
    });
  }
}

export function readText(path: string): string {
  return new TextDecoder().decode(readFile(path));
}

export function writeFile(path: string, data: Uint8Array | string) {
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw new InputError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      file: path,
    });
  }
}

export function ensureDir(dir: string) {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new InputError(`cannot create ${dir}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      file: dir,
    });
  }
}

/**
 * Convert a tensor read from a file to `want` when that is exact (ids stored as int64 read
 * into i32, integral floats into ints, float64 values that f32 holds exactly); anything
 * lossy is an error that names the file.
 */
export function convertExact(
  t: {
    dtype: DType | 'f64' | 'u8';
    shape: readonly number[];
    data: ArrayLike<number> | BigInt64Array;
  },
  want: DType,
  file: string,
): Tensor {
  if (t.dtype === want) return t as Tensor;
  checkAllocation(t.data.length * 8, `converting ${t.dtype}[${t.shape.join(',')}] to ${want}`, {
    file,
  });
  const vals =
    t.dtype === 'f64' || t.dtype === 'u8'
      ? Float64Array.from(t.data as ArrayLike<number>)
      : toNumbers(t as Tensor);
  const fits = (v: number): boolean => {
    if (Number.isNaN(v)) return want === 'f32' || want === 'f16';
    switch (want) {
      case 'f32':
        return Math.fround(v) === v;
      case 'f16':
        return Math.abs(v) <= 2048 && Number.isInteger(v);
      case 'i32':
        return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;
      case 'i64':
        return Number.isSafeInteger(v);
      case 'bool':
        return v === 0 || v === 1;
    }
  };
  for (let i = 0; i < vals.length; i++)
    if (!fits(vals[i]!))
      throw new FormatError(
        `holds ${t.dtype} value ${vals[i]} at index ${i}, which ${want} cannot hold exactly`,
        { file },
      );
  return fromNumbers(want, t.shape, vals);
}

export function readNpyAs(path: string, want: DType): Tensor {
  const a = readNpy(readFile(path), path);
  return convertExact(
    { dtype: a.descr, shape: a.shape, data: a.data as ArrayLike<number> },
    want,
    path,
  );
}

/** Params from a safetensors file, by name: a missing, extra or mis-shaped tensor is an error. */
export function loadWeights(g: Graph, path: string): Graph {
  const tensors = readSafetensors(readFile(path), path);
  const names = new Set(g.params.map((p) => p.name));
  for (const n of tensors.keys())
    if (!names.has(n))
      throw new InputError(
        `tensor '${n}' is not a param of ${g.name} (params: ${[...names].join(', ')})`,
        { file: path },
      );
  const params = g.params.map((p) => {
    const t = tensors.get(p.name);
    if (t === undefined) throw new InputError(`param '${p.name}' is missing`, { file: path });
    const want = p.type.shape as number[];
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i]))
      throw new InputError(
        `tensor '${p.name}' has shape [${t.shape.join(',')}], the model needs [${want.join(',')}]`,
        { file: path },
      );
    const data = convertExact(t as never, p.type.dtype, `${path}: tensor '${p.name}'`).data;
    return { ...p, init: { kind: 'data' as const, data } };
  });
  return g.with({ params });
}

/**
 * ONNX's test layout: `input_N.pb` / `output_N.pb` (one TensorProto each) numbered in the
 * order of the graph's inputs or outputs. `kind` file N of `dir`, if the folder uses it.
 */
export function pbPath(dir: string, kind: 'input' | 'output', n: number): string | undefined {
  const p = join(dir, `${kind}_${n}.pb`);
  return existsSync(join(dir, `${kind}_0.pb`)) ? p : undefined;
}

/** A tensor from `path` (.npy, or an ONNX TensorProto .pb), converted exactly to `want`. */
export function readTensorAs(path: string, want: DType): Tensor {
  if (!path.endsWith('.pb')) return readNpyAs(path, want);
  return convertExact(readTensorPb(readFile(path), path), want, path);
}

/** A value name as a file name: characters a file system may not like become `_`. */
export const safeName = (name: string) => name.replace(/[^A-Za-z0-9_.-]/g, '_');

export function outputPath(dir: string, name: string): string {
  return join(dir, `${safeName(name)}.npy`);
}

export function writeTensor(path: string, t: Tensor) {
  writeFile(path, writeNpy(t));
}

export { existsSync };
