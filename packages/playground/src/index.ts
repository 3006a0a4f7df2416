export { HEADERS, playgroundFiles, servePlayground, writePlayground } from './server.js';
export type { PlaygroundFiles } from './server.js';
