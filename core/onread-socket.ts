// Sockets whose reads land in Buffers the caller chooses (net.Socket's `onread` option): no fresh 64 KiB chunk
// per read, so no allocation or GC on bulk paths. Node offers `onread` only on sockets it constructs, so an
// accepted socket's handle is re-wrapped; it must still be paused (net.Server's `pauseOnConnect`), or libuv may
// already have read into a chunk of its own.
import net from 'node:net';

/**
 * Re-wraps an accepted socket's handle so that libuv reads into `nextBuffer()` and reports each read to
 * `onRead(n, buf)` (return false to pause reading). Returns null when this Node cannot do it; the caller then
 * keeps `raw` and its 'data' events.
 */
export function adoptWithOnread(
  raw: net.Socket,
  nextBuffer: () => Buffer,
  onRead: (n: number, buf: Buffer) => boolean | void,
  /** more socket options for the new wrapper (e.g. allowHalfOpen, pauseOnCreate) */
  extra: Record<string, unknown> = {},
): net.Socket | null {
  const handle = (raw as unknown as { _handle?: unknown })._handle;
  if (!handle || raw.destroyed) return null;
  try {
    const s = new net.Socket({ ...extra, handle, onread: { buffer: nextBuffer, callback: onRead } } as unknown as net.SocketConstructorOpts);
    (raw as unknown as { _handle: unknown })._handle = null;
    raw.destroy(); // the husk: lets net.Server count the connection as gone
    return s;
  } catch {
    return null;
  }
}
