// Byte-stream helpers for netem relay tests: a sink server that hashes what it receives per connection, an echo
// server, and a deterministic pseudo-random source.
import crypto from 'node:crypto';
import net from 'node:net';

export interface Sink {
  port: number;
  /** per accepted connection, in order: received bytes so far and a promise of {bytes, sha256} at 'end' */
  conns: Array<{ bytes: number; done: Promise<{ bytes: number; sha256: string }>; socket: net.Socket }>;
  close(): Promise<void>;
}

export async function startServer(onConn: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onConn(s);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((res) => { for (const s of sockets) s.destroy(); server.close(() => res()); }),
  };
}

/** Echoes every byte back and half-closes when the client does. */
export function startEcho() {
  return startServer((s) => s.pipe(s));
}

/** Deterministic bytes: block i of a stream seeded by `seed` (sha256 counter mode, cheap and reproducible). */
export function patternBlock(seed: number, i: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let o = 0; o < size; o += 32) {
    const h = crypto.createHash('sha256').update(`${seed}:${i}:${o}`).digest();
    h.copy(out, o, 0, Math.min(32, size - o));
  }
  return out;
}

/** Writes `total` bytes from a repeating set of blocks with backpressure; resolves with the sha256 of what was sent. */
export function writeStream(sock: net.Socket, total: number, blocks: Buffer[], end = true): Promise<string> {
  const h = crypto.createHash('sha256');
  let sent = 0;
  let i = 0;
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    const pump = () => {
      while (sent < total) {
        let b = blocks[i++ % blocks.length];
        if (b.length > total - sent) b = b.subarray(0, total - sent);
        sent += b.length;
        h.update(b);
        if (!sock.write(b)) return void sock.once('drain', pump);
      }
      if (end) sock.end();
      resolve(h.digest('hex'));
    };
    pump();
  });
}

/** Hashes everything read from a socket until 'end'. */
export function hashUntilEnd(sock: net.Socket): Promise<{ bytes: number; sha256: string }> {
  const h = crypto.createHash('sha256');
  let n = 0;
  return new Promise((resolve, reject) => {
    sock.on('data', (d: Buffer) => {
      n += d.length;
      h.update(d);
    });
    sock.once('end', () => resolve({ bytes: n, sha256: h.digest('hex') }));
    sock.once('error', reject);
  });
}

export function connect(port: number, opts: { allowHalfOpen?: boolean } = {}): Promise<net.Socket> {
  return new Promise((res, rej) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? true }, () => res(s));
    s.once('error', rej);
  });
}
