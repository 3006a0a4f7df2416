/**
 * What the CLI prints about a file is safe to print: names from a model reach the terminal
 * with their control characters escaped (an escape sequence must not retitle or clear it),
 * and an error line stays under MAX_LINE however long the names or lists behind it are.
 * Run as users run it: the built binary in a child process, its real streams.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boundLine, cutList, escapeControls, MAX_LINE } from '@glimpse/ir';
import { cliProcess } from './cli.js';
import { model } from './onnx/ort-model.js';

const dir = mkdtempSync(join(tmpdir(), 'hygiene-'));
const file = (name: string, body: string | Uint8Array) => {
  const f = join(dir, name);
  writeFileSync(f, body);
  return f;
};
/** Every control character but line feed, as the bytes a terminal would act on. */
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('names from a file are printed escaped', () => {
  // OSC 0 (set the window title), BEL, ED (clear the screen), a C1 CSI and a bidi override.
  const evil = 'y\u001b]0;pwned\u0007\u001b[2J\u009b31m\u202e';

  it('run prints an output named with escape sequences escaped', () => {
    const g = file(
      'evil.glimpse',
      `graph @g(%x: f32[2]) {\n  %${JSON.stringify(evil)}: f32[2] = relu %x\n  return %${JSON.stringify(evil)}\n}\n`,
    );
    const r = cliProcess('run', g);
    expect(r.code, r.err).toBe(0);
    expect(r.out).not.toMatch(CONTROLS);
    expect(r.out).toContain('y\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m\\u202e: f32[2]');
  });

  it('dump quotes and escapes it, and the text still parses back to the same name', () => {
    const g = file(
      'evil2.glimpse',
      `graph @g(%x: f32[2]) {\n  %${JSON.stringify(evil)}: f32[2] = relu %x\n  return %${JSON.stringify(evil)}\n}\n`,
    );
    const r = cliProcess('dump', g);
    expect(r.code, r.err).toBe(0);
    expect(r.out).not.toMatch(CONTROLS);
    const again = cliProcess('run', file('again.glimpse', r.out));
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain('\\u009b31m\\u202e: f32[2]');
  });

  it('an error naming such a node is one escaped line', () => {
    const g = file(
      'evil3.glimpse',
      `graph @g(%x: f32[2]) {\n  return %${JSON.stringify(evil)}\n}\n`,
    );
    const r = cliProcess('run', g);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')).toHaveLength(2); // one line and its end
    expect(r.err).not.toMatch(CONTROLS);
  });
});

describe('error lines are bounded', () => {
  it('a 100 000-character name', () => {
    const long = 'n'.repeat(100_000);
    const r = cliProcess(
      'run',
      file('long.glimpse', `graph @g(%x: f32[2]) {\n  return %${long}\n}\n`),
    );
    expect(r.code).toBe(2);
    const line = r.err.trimEnd();
    expect(line.split('\n')).toHaveLength(1);
    expect(line.length).toBeLessThanOrEqual(MAX_LINE + 'glimpse: error: '.length);
    expect(line).toMatch(/… \(\d+ more characters\)$/);
  });

  it('20 000 unsupported ONNX ops', () => {
    const nodes = Array.from({ length: 20_000 }, (_, i) => ({
      opType: `NoSuchOp${i}`,
      input: ['x'],
      output: [i === 19_999 ? 'y' : `t${i}`],
    }));
    const m = model(17, [{ name: 'x', dtype: 'f32', shape: [2] }], nodes, [
      { name: 'y', dtype: 'f32' },
    ]);
    const r = cliProcess('run', file('many.onnx', m));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^glimpse: error: .*unsupported ONNX ops: NoSuchOp0 \(node 'n0'\)/);
    expect(r.err.trimEnd().length).toBeLessThanOrEqual(MAX_LINE + 'glimpse: error: '.length);
  });
});

describe('the helpers', () => {
  it('escape every C0/C1 control, DEL and bidi control, nothing else', () => {
    for (let c = 0; c < 0x3000; c++) {
      const s = String.fromCharCode(c);
      const unsafe =
        c < 0x20 ||
        (c >= 0x7f && c <= 0x9f) ||
        c === 0x200e ||
        c === 0x200f ||
        (c >= 0x202a && c <= 0x202e) ||
        (c >= 0x2066 && c <= 0x2069);
      expect(escapeControls(s), `U+${c.toString(16)}`).toBe(
        unsafe ? `\\u${c.toString(16).padStart(4, '0')}` : s,
      );
    }
    // A quoted escaped name still parses as JSON to the same string.
    const name = 'a\u0085b\u202ec\u007f';
    expect(JSON.parse(escapeControls(JSON.stringify(name)))).toBe(name);
  });

  it('bound a line and cut a list', () => {
    expect(boundLine('x'.repeat(10), 10)).toBe('x'.repeat(10));
    const cut = boundLine('x'.repeat(5000));
    expect(cut.length).toBeLessThanOrEqual(MAX_LINE);
    const kept = cut.indexOf(' …');
    expect(cut).toBe(`${'x'.repeat(kept)} … (${5000 - kept} more characters)`);
    expect(cutList(['a', 'b', 'c'], 3)).toBe('a, b, c');
    expect(cutList(['a', 'b', 'c', 'd'], 2)).toBe('a, b and 2 more');
  });
});
