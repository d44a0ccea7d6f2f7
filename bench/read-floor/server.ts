// The READ floor's Node side (bench/read-floor.ts): the least a Node server does to answer one READ-shaped call,
// the same work as read-floor/server.c. The request (16 bytes: u64 offset, u32 count, big-endian) is read into a
// buffer the socket owns (core/onread-socket.ts, as our server's framer reads), the bytes are pread synchronously on
// the event loop into a pooled slab at the file position's page phase (what server/nfs3/on-read.ts does for a file
// in memory), and a 132-byte header and the data go out as one writev (cork, two writes, uncork), the slab lent
// until the write completes. No RPC, no XDR, no DRC, no promise: whatever our server costs above this is its own
// layers; whatever this costs above the C server is Node's.
//
// Run as its own process: `node dist/bench/read-floor/server.js FILE`; prints `ready PORT`.
import fs from 'node:fs';
import net from 'node:net';
import { BufferPool } from '../../core/buffer-pool';
import { adoptWithOnread } from '../../core/onread-socket';

const HEADER = 132;
const MAX_COUNT = 1 << 20;
const REQUEST = 16;

function serve(file: number, pool: BufferPool, raw: net.Socket): void {
  const req = Buffer.alloc(64 * REQUEST);
  let have = 0;
  let sock: net.Socket;
  const answer = (off: number, count: number): void => {
    const data = pool.take(count, off % 4096);
    let n = 0;
    while (n < count) {
      const r = fs.readSync(file, data, n, count - n, off + n);
      if (r === 0) break;
      n += r;
    }
    const h = Buffer.alloc(HEADER);
    h.writeUInt32BE(n, HEADER - 4);
    sock.cork();
    sock.write(h);
    sock.write(data.subarray(0, n), () => pool.release(data));
    sock.uncork();
  };
  const adopted = adoptWithOnread(raw, () => req.subarray(have), (n) => {
    have += n;
    let at = 0;
    for (; have - at >= REQUEST; at += REQUEST) {
      const count = req.readUInt32BE(at + 8);
      if (count > MAX_COUNT) {
        sock.destroy();
        return false;
      }
      answer(Number(req.readBigUInt64BE(at)), count);
    }
    req.copyWithin(0, at, have);
    have -= at;
    return true;
  });
  if (!adopted) throw new Error('read-floor: this Node cannot read into chosen Buffers');
  sock = adopted;
  sock.setNoDelay(true);
  sock.on('error', () => undefined);
  sock.resume();
}

function main(): void {
  const [path] = process.argv.slice(2);
  if (!path || process.argv.length !== 3) {
    console.error('usage: node read-floor/server.js FILE');
    process.exit(2);
  }
  const file = fs.openSync(path, 'r');
  const pool = new BufferPool({ granule: 64 * 1024, maxIdleBytes: 4 * (MAX_COUNT + 64 * 1024) });
  const server = net.createServer((raw) => serve(file, pool, raw));
  server.listen(0, '127.0.0.1', () => console.log(`ready ${(server.address() as net.AddressInfo).port}`));
}

main();
