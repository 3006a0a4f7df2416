import { describe, expect, it } from 'vitest';
import { buildGraph } from '@glimpse/ir';
import { matchEnv } from './env.js';
import { matchAt, op, oneOf, val } from './pattern.js';

const g = buildGraph('captures', (b) => {
  const x = b.input('x', 'f32', [2, 3, 4]);
  const y = b.input('y', 'f32', [2, 4, 3]);
  const s = b.op('scale', [x], { factor: 2 }, 's');
  return b.op('bmm', [s, y], { transpose_b: false }, 'mm');
});
const env = matchEnv(g);

describe('pattern captures', () => {
  it('an op() capture binds the value and, as $name, its node with attributes typed by the op', () => {
    const m = matchAt(
      op('bmm', [op('scale', [val('a')], { as: 's' }), val('b')], { as: 'out' }),
      'mm',
      env,
    )!;
    expect([m.out, m.s, m.a, m.b]).toEqual(['mm', 's', 'x', 'y']);
    expect(m.$out!.op).toBe('bmm');
    const flags: [boolean, boolean] = [m.$out!.attrs.transpose_a, m.$out!.attrs.transpose_b];
    expect(flags).toEqual([false, false]);
    const factor: number = m.$s!.attrs.factor;
    expect(factor).toBe(2);
    // @ts-expect-error a val() capture is a value only: it has no node
    expect(m.$a).toBeUndefined();
  });

  it('the same name twice must be the same value', () => {
    const same = op('bmm', [val('a'), val('a')]);
    expect(matchAt(same, 'mm', env)).toBeUndefined();
    const again = op('bmm', [op('scale', [val('x')], { as: 'x' }), val('y')]);
    expect(matchAt(again, 'mm', env)).toBeUndefined();
  });

  it('oneOf: a capture bound by alternatives of different ops is a node of either', () => {
    const m = matchAt(
      oneOf(op('scale', [val('x')], { as: 'n' }), op('bmm', [val('x'), val('y')], { as: 'n' })),
      'mm',
      env,
    )!;
    const n = m.$n!;
    expect(n.op === 'bmm' ? n.attrs.transpose_b : n.attrs.factor).toBe(false);
  });
});
