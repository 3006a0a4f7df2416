/**
 * The readers of untrusted files — the .glimpse and JSON graph parsers, safetensors and
 * .npy — survive fuzzing: random bytes and mutated valid files give a result or a typed
 * GlimpseError, never another exception (TypeError, RangeError, stack overflow) and never
 * a hang. Files that declare huge sizes are refused before anything is allocated from them.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileJs } from '@glimpse/backend-js';
import {
  GlimpseError,
  interpret,
  graphFromJSON,
  graphToJSON,
  parseGraph,
  printGraph,
  readNpy,
  readSafetensors,
  writeNpy,
} from '@glimpse/ir';
import { buildModel, MODEL_NAMES } from '@glimpse/models';
import { FIXTURES } from './cli.js';
import { randomGraph } from './graph-gen.js';
import { tensor } from './helpers.js';

/** Run `fn`; only a GlimpseError may escape. */
function typedOnly(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof GlimpseError))
      throw new Error(`untyped ${(e as Error).name}: ${(e as Error).message}`);
  }
}

const texts = [
  ...MODEL_NAMES.map((m) => printGraph(buildModel(m).graph)),
  printGraph(randomGraph({ seed: 7, nodes: 12, hostileNames: true }).graph),
  // f16 params, constants holding inf and subnormals, casts
  printGraph(randomGraph({ seed: 9, nodes: 12, f16: true, special: true }).graph),
];
const jsons = MODEL_NAMES.map((m) => JSON.stringify(graphToJSON(buildModel(m).graph)));
const safetensors = MODEL_NAMES.map(
  (m) => new Uint8Array(readFileSync(`${FIXTURES}/${m}/weights.safetensors`)),
);
const npys = [
  writeNpy(tensor('f32', [2, 3, 4], 1)),
  writeNpy(tensor('i64', [5], 2)),
  writeNpy(tensor('bool', [3, 1], 3)),
  new Uint8Array(readFileSync(`${FIXTURES}/context-attention/context.npy`)),
];

/** Byte-level mutations: flip, insert, delete, truncate, splice in a tricky token. */
const TOKENS = [
  '%',
  '[',
  ']',
  '{',
  '}',
  '"',
  '\\',
  ',',
  '=',
  '-1',
  '99999999999',
  '2147483647',
  'nan',
  '-inf',
  '1e400',
  '\n',
  ':',
  'f32',
  'graph',
  'return',
  '[[[[[[[[[[',
  'null',
  '{"a":',
];
function mutateText(s: string) {
  return fc
    .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 }), fc.constantFrom(...TOKENS)), {
      minLength: 1,
      maxLength: 6,
    })
    .map((edits) => {
      let t = s;
      for (const [pos, kind, tok] of edits) {
        const p = pos % (t.length + 1);
        if (kind === 0) t = t.slice(0, p) + tok + t.slice(p);
        else if (kind === 1) t = t.slice(0, p) + t.slice(p + tok.length);
        else if (kind === 2) t = t.slice(0, p);
        else t = t.slice(0, p) + tok + t.slice(p + 1);
      }
      return t;
    });
}
function mutateBytes(b: Uint8Array) {
  return fc
    .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 2 })), {
      minLength: 1,
      maxLength: 8,
    })
    .map((edits) => {
      let out = b.slice();
      for (const [pos, val, kind] of edits) {
        const p = pos % Math.max(1, out.length);
        if (kind === 0) out[p] = val;
        else if (kind === 1) out = out.slice(0, p);
        else out = new Uint8Array([...out.subarray(0, p), val, ...out.subarray(p)]);
      }
      return out;
    });
}

describe('fuzzing the readers', () => {
  it('parseGraph: random text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) =>
        typedOnly(() => parseGraph(s)),
      ),
      { numRuns: 2000 },
    );
  });
  it('parseGraph: mutated valid graphs', () => {
    fc.assert(
      fc.property(fc.constantFrom(...texts).chain(mutateText), (s) =>
        typedOnly(() => parseGraph(s)),
      ),
      { numRuns: 2000 },
    );
  });
  it('parseGraph: deep nesting does not overflow the stack', () => {
    const e = (() => {
      try {
        parseGraph(
          `graph @g(%x: f32[2]) { %y: f32[2] = relu[a=${'['.repeat(100000)}] %x return %y }`,
        );
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(GlimpseError);
  });
  it('graphFromJSON: random JSON values and text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => typedOnly(() => graphFromJSON(JSON.stringify(v)))),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => typedOnly(() => graphFromJSON(s))),
      { numRuns: 1000 },
    );
  });
  it('graphFromJSON: mutated valid graphs (text edits and subtree replacement)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...jsons).chain(mutateText), (s) =>
        typedOnly(() => graphFromJSON(s)),
      ),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(fc.constantFrom(...jsons), fc.array(fc.nat()), fc.jsonValue(), (s, path, v) => {
        const root = JSON.parse(s) as unknown;
        let node = root as Record<string, unknown>;
        for (const step of path) {
          const keys = Object.keys(node);
          if (keys.length === 0) break;
          const k = keys[step % keys.length]!;
          const next = node[k];
          if (typeof next !== 'object' || next === null || step % 3 === 0) {
            node[k] = v;
            break;
          }
          node = next as Record<string, unknown>;
        }
        typedOnly(() => graphFromJSON(root as object));
      }),
      { numRuns: 1500 },
    );
  });
  it('readSafetensors: random bytes and mutated valid files', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => typedOnly(() => readSafetensors(b))),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.constantFrom(...safetensors).chain(mutateBytes), (b) =>
        typedOnly(() => readSafetensors(b)),
      ),
      { numRuns: 2000 },
    );
  });
  it('readNpy: random bytes and mutated valid files', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => typedOnly(() => readNpy(b))),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.constantFrom(...npys).chain(mutateBytes), (b) => typedOnly(() => readNpy(b))),
      { numRuns: 2000 },
    );
  });
});

describe('declared sizes are checked before allocating', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  function safetensorsWith(header: object, data = 0) {
    const h = enc(JSON.stringify(header));
    const out = new Uint8Array(8 + h.length + data);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    return out;
  }
  it('safetensors: a 2^63-byte header length, huge shapes, offsets past the end', () => {
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
    expect(() => readSafetensors(huge)).toThrow(
      /header length 9223372036854775808 runs past the end/,
    );
    expect(() =>
      readSafetensors(
        safetensorsWith(
          { w: { dtype: 'F32', shape: [100000, 100000, 100000], data_offsets: [0, 8] } },
          8,
        ),
      ),
    ).toThrow(/shape too large/);
    expect(() =>
      readSafetensors(
        safetensorsWith({ w: { dtype: 'F32', shape: [1000000], data_offsets: [0, 4000000] } }, 8),
      ),
    ).toThrow(/outside the 8 data bytes/);
  });
  it('npy: a shape far larger than the data', () => {
    const f = writeNpy(tensor('f32', [2], 1));
    const text = new TextDecoder('latin1')
      .decode(f)
      .replace("'shape': (2,), ", "'shape': (4000000000,),");
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    expect(() => readNpy(bytes)).toThrow(/too large|needs/);
  });
  it('JSON weights: base64 shorter than the declared shape', () => {
    const g = JSON.parse(jsons[0]!) as { params: { init: unknown; shape: number[] }[] };
    g.params[0]!.shape = [2147483647, 2147483647];
    g.params[0]!.init = { kind: 'data', base64: 'AAAA' };
    expect(() => graphFromJSON(g)).toThrow(/holds 3 bytes, shape needs/);
  });
  it('a graph file declaring huge params is refused at run, not allocated', () => {
    const g = parseGraph(
      'graph @g(%x: f32[4]) params(%w: f32[2147483647,4096] = fill(0)) {\n  %y: f32[4] = relu %x\n  return %y\n}',
    );
    const x = tensor('f32', [4], 1);
    expect(() => compileJs(g).runSync({ x })).toThrow(/too large/);
    expect(() => interpret(g, { x })).toThrow(/too large/);
    const g2 = parseGraph(
      'graph @g(%x: f32[4]) params(%w: f32[20000,20000] = fill(0)) {\n  %y: f32[4] = relu %x\n  return %y\n}',
    );
    process.env.GLIMPSE_MAX_MEMORY = String(2 ** 30);
    try {
      expect(() => compileJs(g2).runSync({ x })).toThrow(
        /needs 1\.49 GiB, more than the memory budget of 1\.00 GiB/,
      );
      expect(() => interpret(g2, { x })).toThrow(/more than the memory budget/);
    } finally {
      delete process.env.GLIMPSE_MAX_MEMORY;
    }
  });
});
