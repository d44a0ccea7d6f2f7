// The client bench's floor: raw TCP into a file, with no RPC at all. Run as its own process
// (`node dist/bench/file-sink.js DIR [--keep]`); prints `ready PORT`. Per connection it creates a fresh file in DIR, reads
// the stream straight into 1 MiB slabs (no 64 KiB chunks, no reassembly copy: what our server's DirectFramer does
// for a record) and writes each full slab at its offset, contiguous slabs batched into one pwritev of up to 8 MiB
// on the thread pool (what write-behind does), with no more than 64 MiB read and not yet written (write-behind's
// limit; past it, reading pauses). When the sender half-closes, it waits for the writes and ends its side (the
// sender's clock stops at that FIN), then removes the file, as our bench removes its file after COMMIT.
//
// Every byte thus costs what it must cost a server here: one copy out of the socket and one into the file's
// pages. Our server does the same plus framing, decoding, the DRC and a reply per call, so this is its ceiling,
// and "ours / this" is what our client, RPC and NFS layers cost. (Writing synchronously on the event loop
// instead measured about 1.08x this in a scratch run; a server cannot, as every other call would wait.)
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { BufferPool } from '../core/buffer-pool';
import { adoptWithOnread } from '../core/onread-socket';
import { pwritevAll } from '../server/nfs3/write-behind';

const SLAB = 1 << 20;
const MAX_BATCH = 8;
/** Bytes read and not yet written before reading pauses: our server's write-behind limit. */
const LIMIT = 64 * SLAB;

function serve(dir: string, keep: boolean, raw: net.Socket, id: number): void {
  const file = path.join(dir, `sink-${process.pid}-${id}.bin`);
  const fd = fs.openSync(file, 'w+');
  const pool = new BufferPool({ granule: SLAB, maxIdleBytes: 80 * SLAB });
  const queue: { buf: Buffer; pos: number }[] = [];
  let cur = pool.take(SLAB);
  let filled = 0;
  let received = 0;
  let writing = false;
  let ended = false;
  let paused = false;
  // FIN first, then the removal: our bench's clock stops at COMMIT's reply, before its REMOVE.
  const finish = () => {
    sock.end();
    fs.closeSync(fd);
    if (!keep) fs.rmSync(file, { force: true });
  };
  const pump = () => {
    if (writing) return;
    if (!queue.length) return ended ? finish() : undefined;
    const batch = [queue.shift()!];
    while (queue.length && batch.length < MAX_BATCH && queue[0].pos === batch[batch.length - 1].pos + batch[batch.length - 1].buf.length) batch.push(queue.shift()!);
    writing = true;
    pwritevAll(fd, batch.map((b) => b.buf), batch[0].pos).then(
      () => {
        for (const b of batch) pool.release(b.buf);
        writing = false;
        if (paused && (queue.length + 1) * SLAB < LIMIT) {
          paused = false;
          sock.resume();
        }
        pump();
      },
      (e: Error) => {
        console.error(`file-sink: ${e.message}`);
        sock.destroy();
      },
    );
  };
  const flush = () => {
    if (filled) queue.push({ buf: cur.subarray(0, filled), pos: received - filled });
    cur = pool.take(SLAB);
    filled = 0;
    pump();
  };
  const adopted = adoptWithOnread(raw, () => cur.subarray(filled), (n) => {
    filled += n;
    received += n;
    if (filled < SLAB) return true;
    flush();
    // Backpressure, as our server applies it: past the limit the sender waits in TCP's window.
    paused = (queue.length + 1) * SLAB >= LIMIT;
    return !paused;
  }, { allowHalfOpen: true });
  if (!adopted) throw new Error('file-sink: this Node cannot read into chosen Buffers');
  const sock = adopted;
  sock.on('error', () => undefined);
  sock.on('end', () => {
    ended = true;
    flush();
  });
  sock.resume();
}

function main(): void {
  const [dir, opt] = process.argv.slice(2);
  if (!dir || !fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() || (opt !== undefined && opt !== '--keep')) {
    console.error('usage: node file-sink.js DIR [--keep]   (--keep: leave each connection\'s file, for tests)');
    process.exit(2);
  }
  let ids = 0;
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (raw) => serve(dir, opt === '--keep', raw, ++ids));
  server.listen(0, '127.0.0.1', () => console.log(`ready ${(server.address() as net.AddressInfo).port}`));
  process.on('SIGTERM', () => process.exit(0));
}

main();
