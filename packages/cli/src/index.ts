export { main, EXIT } from './main.js';
export type { Io } from './main.js';
export { loadModel } from './load.js';
export { releaseGpu } from 'glimpse';
