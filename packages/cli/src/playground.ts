import { AttrError } from '@glimpse/ir';
import { servePlayground, writePlayground } from '@glimpse/playground';
import type { Io } from './io.js';

/**
 * `glimpse playground`: serve the page on 127.0.0.1 until interrupted, or with --build
 * write it as static files for any web host.
 */
export async function playgroundCommand(
  io: Io,
  o: { port: string; build?: string },
): Promise<number> {
  if (o.build !== undefined) {
    const files = await writePlayground(o.build);
    io.out(
      `wrote ${files.join(', ')} to ${o.build} (serve them with the two cross-origin isolation headers of _headers: the wasm backend's threads need them)\n`,
    );
    return 0;
  }
  const port = Number(o.port);
  if (!/^\d{1,5}$/.test(o.port) || port > 65535)
    throw new AttrError(`--port takes a port number from 0 to 65535, got '${o.port}'`);
  let url: string;
  try {
    ({ url } = await servePlayground(port));
  } catch (e) {
    throw new AttrError(`--port ${port}: ${(e as Error).message}`);
  }
  io.out(`glimpse playground at ${url} (127.0.0.1 only; Ctrl-C stops it)\n`);
  // Serves until the process is interrupted.
  return new Promise<number>(() => {});
}
