import { ACTIVATION } from './activation.js';
import { attentionOp } from './attention.js';
import { CONV } from './conv.js';
import { EINSUM } from './einsum.js';
import { MICROSOFT } from './microsoft.js';
import { RESIZE } from './resize.js';
import type { Converter } from './context.js';
import { ELEMENTWISE } from './elementwise.js';
import { INDEXING } from './indexing.js';
import { LAYOUT } from './layout.js';
import { NN } from './nn.js';

export type { Converter, Cx } from './context.js';
export { attrInt } from './context.js';

/**
 * Every ONNX op glimpse imports, by its ONNX name. Look one up with `converterOf`: op types
 * come from files, and `__proto__` or `toString` must not find Object's members here.
 */
export const CONVERTERS: Record<string, Converter> = {
  ...ELEMENTWISE,
  ...ACTIVATION,
  ...CONV,
  ...RESIZE,
  ...MICROSOFT,
  ...LAYOUT,
  ...INDEXING,
  ...NN,
  ...EINSUM,
  Attention: attentionOp,
};

const BY_NAME = new Map(Object.entries(CONVERTERS));

/** The converter of an ONNX op (domain-prefixed outside the default domain), if any. */
export const converterOf = (op: string): Converter | undefined => BY_NAME.get(op);
