// Every system the peer benchmarks run, in report order.
import glimpse from './glimpse.js';
import jax from './jax.js';
import ort from './ort.js';
import tfjs from './tfjs.js';

export const SYSTEMS = [...glimpse, ...tfjs, ...ort, ...jax];
