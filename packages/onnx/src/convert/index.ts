import { ACTIVATION } from './activation.js';
import { attentionOp } from './attention.js';
import { CONV } from './conv.js';
import { MICROSOFT } from './microsoft.js';
import { RESIZE } from './resize.js';
import type { Converter } from './context.js';
import { ELEMENTWISE } from './elementwise.js';
import { INDEXING } from './indexing.js';
import { LAYOUT } from './layout.js';
import { NN } from './nn.js';

export type { Converter, Cx } from './context.js';
export { attrInt } from './context.js';

/** Every ONNX op glimpse imports, by its ONNX name. */
export const CONVERTERS: Record<string, Converter> = {
  ...ELEMENTWISE,
  ...ACTIVATION,
  ...CONV,
  ...RESIZE,
  ...MICROSOFT,
  ...LAYOUT,
  ...INDEXING,
  ...NN,
  Attention: attentionOp,
};
