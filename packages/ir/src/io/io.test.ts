import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DType } from '../dtype.js';
import { fromNumbers } from '../tensor.js';
import { readNpy, writeNpy } from './npy.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';

const dtypes: DType[] = ['f32', 'f16', 'i32', 'i64', 'bool'];
const tensorArb = fc
  .tuple(
    fc.constantFrom(...dtypes),
    fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    fc.integer(),
  )
  .map(([dtype, shape, seed]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return fromNumbers(
      dtype,
      shape,
      Array.from({ length: n }, (_, i) =>
        dtype === 'bool' ? (i + seed) % 2 : ((i * 31 + seed) % 200) - 100,
      ),
    );
  });

describe('npy and safetensors', () => {
  it('npy round-trips every dtype and shape, scalars included', () => {
    fc.assert(
      fc.property(tensorArb, (t) => {
        const r = readNpy(writeNpy(t));
        expect(r.descr).toBe(t.dtype);
        expect(r.shape).toEqual(t.shape);
        expect(Array.from(r.data as ArrayLike<number>)).toEqual(
          Array.from(t.data as ArrayLike<number>),
        );
      }),
    );
  });
  it('safetensors round-trips a set of tensors', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s !== '__metadata__'),
          tensorArb,
          { maxKeys: 5 },
        ),
        (d) => {
          const m = new Map(Object.entries(d));
          const back = readSafetensors(writeSafetensors(m));
          expect([...back.keys()].sort()).toEqual([...m.keys()].sort());
          for (const [k, t] of m) {
            expect(back.get(k)!.shape).toEqual(t.shape);
            expect(back.get(k)!.data).toEqual(t.data);
          }
        },
      ),
    );
  });
  it('safetensors refuses overlapping and gapped data', () => {
    const mk = (offs: [number, number][]) => {
      const h: Record<string, unknown> = {};
      offs.forEach((o, i) => (h[`t${i}`] = { dtype: 'F32', shape: [1], data_offsets: o }));
      const hb = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + hb.length + 8);
      new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
      out.set(hb, 8);
      return out;
    };
    expect(() =>
      readSafetensors(
        mk([
          [0, 4],
          [0, 4],
        ]),
      ),
    ).toThrow(/overlaps/);
    expect(() => readSafetensors(mk([[4, 8]]))).toThrow(/leaves a hole/);
    expect(() => readSafetensors(mk([[0, 4]]))).toThrow(/4 trailing data bytes/);
  });
});
