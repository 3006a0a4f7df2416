import type { DType } from './dtype.js';
import type { Shape } from './shape.js';
import { shapeToString } from './shape.js';

export interface TensorType {
  readonly dtype: DType;
  readonly shape: Shape;
}

export function typeToString(t: TensorType): string {
  return `${t.dtype}${shapeToString(t.shape)}`;
}

/** Attribute values as they appear in text and JSON. */
export type AttrValue = number | boolean | string | readonly (number | string)[];
export type Attrs = Readonly<Record<string, AttrValue>>;
