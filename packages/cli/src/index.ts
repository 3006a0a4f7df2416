export { commandNames, main } from './main.js';
export { EXIT } from './io.js';
export type { Io } from './io.js';
export { loadModel } from './load.js';
export { releaseGpu } from 'glimpse';
