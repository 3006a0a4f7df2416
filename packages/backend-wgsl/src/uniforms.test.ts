import { describe, expect, it } from 'vitest';
import { uniforms } from './uniforms.js';

describe('named uniform fields', () => {
  const layout = uniforms({ n: 'u32', dims: ['u32', 3], scale: 'f32', offset: 'i32' });

  it('names every field for WGSL, arrays element by element', () => {
    expect(layout.u.n).toBe('u.n');
    expect(layout.u.dims).toEqual(['u.dims_0', 'u.dims_1', 'u.dims_2']);
    expect(layout.u.scale).toBe('u.scale');
    expect(layout.words).toBe(6);
  });

  it('declares one typed struct field per word, in declaration order', () => {
    expect(layout.declaration(2)).toBe(
      'struct Uniforms { n: u32, dims_0: u32, dims_1: u32, dims_2: u32, scale: f32, offset: i32 }\n' +
        '@group(0) @binding(2) var<uniform> u: Uniforms;',
    );
    expect(uniforms({}).declaration(0)).toContain('struct Uniforms { unused: u32 }');
  });

  it('fills the words at the declared slots, in 16-byte steps', () => {
    const w = layout.fill({ n: 7, dims: [2, 3, 4], scale: -Infinity, offset: -2 });
    expect(w.length).toBe(8);
    expect([...w.slice(0, 4)]).toEqual([7, 2, 3, 4]);
    expect(new Float32Array(w.buffer)[4]).toBe(-Infinity);
    expect(new Int32Array(w.buffer)[5]).toBe(-2);
    expect([...w.slice(6)]).toEqual([0, 0]);
    expect(uniforms({}).fill({}).length).toBe(4);
    // NaN keeps its bits through the f32 field.
    const nan = uniforms({ k: 'f32' }).fill({ k: NaN });
    expect(Number.isNaN(new Float32Array(nan.buffer)[0])).toBe(true);
  });

  it('refuses values that do not fit their field, and fields not in the layout', () => {
    const ok = { n: 1, dims: [1, 1, 1], scale: 1, offset: 0 };
    expect(() => layout.fill({ ...ok, n: -1 })).toThrow(/n = -1 does not fit u32/);
    expect(() => layout.fill({ ...ok, n: 2 ** 32 })).toThrow(/does not fit u32/);
    expect(() => layout.fill({ ...ok, offset: 2 ** 31 })).toThrow(/offset = .* does not fit i32/);
    expect(() => layout.fill({ ...ok, dims: [1, 2] })).toThrow(/'dims' needs 3 numbers/);
    expect(() => layout.fill({ ...ok, extra: 1 } as typeof ok)).toThrow(/extra are not in/);
    expect(() => uniforms({ dims_0: 'u32' })).toThrow(/not \[A-Za-z\]/);
  });
});
