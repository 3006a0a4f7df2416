/**
 * The JS backend never evaluates text taken from a model. It generates no code at all: it
 * builds closures. This test compiles and runs a model whose graph name, value names and
 * string attributes are JavaScript meant to escape, with `eval` and `Function` replaced by
 * traps, and checks the result against the reference.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { graphFromJSON, graphToJSON, interpret, parseGraph, printGraph } from '@glimpse/ir';
import { compileJs } from '@glimpse/backend-js';
import { ROOT } from './cli.js';
import { assertClose, tensor } from './helpers.js';

const g = globalThis as Record<string, unknown>;
const PAYLOAD = `"); globalThis.__pwned = 1; ("`;

const SRC = `graph @${JSON.stringify(`x${PAYLOAD}`)}(%${JSON.stringify(`in${PAYLOAD}`)}: f32[B,T,4])
    params(%${JSON.stringify('w`${globalThis.__pwned=1}`')}: f32[4,4] = uniform(-0.5, 0.5)) {
  %${JSON.stringify('q\u2028}; globalThis.__pwned = 1; {')}: f32[B,T,4] = linear %${JSON.stringify(`in${PAYLOAD}`)}, %${JSON.stringify('w`${globalThis.__pwned=1}`')}
  %${JSON.stringify('constructor')}: f32[B,T,4] = reshape[shape=[B,T,4]] %${JSON.stringify('q\u2028}; globalThis.__pwned = 1; {')}
  %${JSON.stringify('__proto__')}: f32[B,T,T] = bmm[transpose_b=true] %${JSON.stringify('constructor')}, %${JSON.stringify('constructor')}
  %${JSON.stringify('</script><script>globalThis.__pwned=1</script>')}: f32[B,T,T] = softmax %${JSON.stringify('__proto__')}
  return %${JSON.stringify('</script><script>globalThis.__pwned=1</script>')}
}
`;

describe('hostile names and attrs', () => {
  const saved = { eval: g.eval, Function: g.Function };
  afterEach(() => {
    g.eval = saved.eval;
    g.Function = saved.Function;
    delete g.__pwned;
  });

  it('compiles and runs with eval and Function trapped, and equals the reference', () => {
    const graph = parseGraph(SRC);
    expect(graph.name).toContain('globalThis.__pwned');
    const x = tensor('f32', [2, 3, 4], 5);
    const inputs = { [graph.inputs[0]!.name]: x };
    const want = interpret(graph, inputs);
    const trap = () => {
      throw new Error('the backend evaluated text');
    };
    g.eval = trap;
    g.Function = trap;
    const got = compileJs(graph).runSync(inputs);
    g.eval = saved.eval;
    g.Function = saved.Function;
    expect(g.__pwned).toBeUndefined();
    const out = graph.outputs[0]!;
    assertClose(got[out]!, want[out]!);
    // The hostile names survive both formats unchanged.
    expect(printGraph(parseGraph(printGraph(graph)))).toBe(printGraph(graph));
    expect(graphFromJSON(JSON.stringify(graphToJSON(graph))).outputs).toEqual(graph.outputs);
  });

  it('the JS backend source has no code generation', () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) files.push(p);
      }
    };
    for (const pkg of ['backend-js', 'kernels-cpu', 'asm'])
      walk(join(ROOT, 'packages', pkg, 'src'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files)
      expect(readFileSync(f, 'utf8'), f).not.toMatch(
        /\beval\s*\(|new\s+Function\b|\bFunction\s*\(/,
      );
  });
});
