import type { Tensor } from '@glimpse/ir';
import { fromNumbers, randomStream } from '@glimpse/ir';

/** The model and inputs of the browser check, shared by the page and the Node side. */
export const PAGE_MODEL = { dim: 32 };
export const PAGE_SHAPE = [2, 9, 32];

export function pageInputs(): Record<string, Tensor> {
  const rnd = randomStream(7, 'browser');
  const n = PAGE_SHAPE.reduce((a, b) => a * b, 1);
  return {
    x: fromNumbers(
      'f32',
      PAGE_SHAPE,
      Array.from({ length: n }, () => rnd() * 2 - 1),
    ),
  };
}
