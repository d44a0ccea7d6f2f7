// Thin file adapters: stream a capture file (plain, bzip2 via the `bzip2 -dc` program, gzip via zlib) into a
// sans-IO reader. Only this file and inspect.ts touch the file system.
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { CaptureError } from '../core/errors';
import { MALLOC_DATA_PHASE } from '../core/buffer-pool';
import { CapturedPacket, CaptureReader, TrailingData } from './readers/packet';
import { compressionOf, Compression, readerFor } from './readers/open';

export interface ReadResult {
  format: 'pcap' | 'pcapng';
  compression: Compression;
  packets: number;
  trailing: TrailingData | null;
  /** pcapng section comments */
  comments: readonly string[];
}

// Read size (issue 20; a read stream allocates a fresh Buffer per read): reading the 221 MB bench capture under
// contention cost the main thread 20-40 ms in 512 KiB reads, 16 in 1 MiB reads, 6-9 in 4 MiB reads; the process 87-141,
// 66-104 and 50-107 ms. 4 MiB reads raised inspect's peak RSS by 25 MiB (more memory in chunks waiting for the
// collector) for a few ms: 1 MiB.
const CHUNK = 1024 * 1024;
const PAGE = 4096;

/**
 * A compressed capture may unpack to at most this many times its size (and at least MIN_UNPACKED_LIMIT), unless
 * the caller says otherwise: real NFS captures of zero-filled WRITEs reach ~360x (eth-ipv4-tcp-nfsv3.pcap.bz2),
 * a hostile 3 KB .bz2 unpacked to 4 GiB (issue 15).
 */
export const MAX_UNPACK_RATIO = 1024;
export const MIN_UNPACKED_LIMIT = 64 * 1024 * 1024;

export interface ReadOptions {
  /** most bytes a compressed file may unpack to (default: MAX_UNPACK_RATIO x its size, at least MIN_UNPACKED_LIMIT) */
  maxUnpacked?: number;
  /** the consumer says when a chunk's packets are no longer referenced, and the chunk is read into again */
  recycle?: ChunkRecycler;
}

/**
 * Lets readAhead read into a chunk it handed out before, once the consumer holds nothing of it (issue 20: a fresh
 * 1 MiB Buffer per read grows V8's external memory, which requests a full collection every ~35 MB of input; on
 * the 221 MB bench capture reusing chunks left 2 of 6). After a chunk's packets were handed to onPacket, mark()
 * is taken; free(mark) says that nothing handed to onPacket up to that mark is still referenced. Only a pcap file
 * read from disk recycles: the pcap reader copies a packet split across chunks, the pcapng reader queues views.
 */
export interface ChunkRecycler {
  mark(): number;
  free(mark: number): boolean;
}

/**
 * A fresh read chunk whose first byte sits on a page boundary, as the page cache's bytes do: the kernel copies
 * them with `rep movsb`, which costs several times as much when the destination lies a few bytes past the
 * source modulo 4 KiB (core/buffer-pool.ts, page phase), where glibc puts a large allocation's data (measured
 * here: 87 ms of the thread pool's CPU per 210 MB read at that phase, 18 ms page-aligned).
 */
function pageAligned(): Buffer {
  return Buffer.allocUnsafeSlow(CHUNK + PAGE).subarray(PAGE - MALLOC_DATA_PHASE, PAGE - MALLOC_DATA_PHASE + CHUNK);
}

/** Chunks waiting for their consumer to let go of them; beyond this many the oldest is left to the GC. */
const MAX_SPENT = 64;

async function firstBytes(path: string): Promise<Buffer> {
  const fh = await fs.promises.open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new CaptureError('CAPTURE_IO', `cannot open ${path}: ${err.code ?? err.message}`, { path, errno: err.code });
  });
  try {
    // inspect reads a capture twice (the second pass fetches the payloads it shows, captures/inspect.ts), and
    // peeks at its magic with a positional read: a pipe, socket or device cannot be read again (ESPIPE).
    const st = await fh.stat();
    if (!st.isFile()) throw new CaptureError('CAPTURE_IO', `${path} is not a regular file (a pipe, socket or device): inspect reads a capture twice, so save it to a file first`, { path });
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Reads ahead of the parser: reads issued before they are needed (issue 20; see READ_AHEAD). */
export const READ_AHEAD = 4;

/**
 * A regular file's bytes in CHUNK-sized reads, READ_AHEAD of them in flight on the thread pool: a read stream
 * issues the next read only when the previous one has been consumed, so a parser faster than one read waited
 * (7% of inspect's main thread idle on the 221 MB bench capture, in 1 MiB reads). Nothing writes a chunk again
 * while the consumer holds any of it (readers/packet.ts ownership): it is fresh, or one `recycle` says was let
 * go. Positional reads: only for regular files, where a short read means the end (the caller checked).
 */
async function* readAhead(path: string, recycle?: ChunkRecycler): AsyncGenerator<Buffer> {
  const fh = await fs.promises.open(path, 'r');
  const inFlight: Array<Promise<Buffer>> = [];
  /** chunks handed out and consumed, oldest first, with the consumer's mark taken then */
  const spent: Array<{ chunk: Buffer; mark: number }> = [];
  let pos = 0;
  const issue = () => {
    const at = pos;
    pos += CHUNK;
    const reuse = spent.length > 0 && recycle!.free(spent[0].mark) ? spent.shift()!.chunk : null;
    inFlight.push(fh.read(reuse ?? pageAligned(), 0, CHUNK, at).then((r) => r.buffer.subarray(0, r.bytesRead)));
  };
  try {
    for (let i = 0; i < READ_AHEAD; i++) issue();
    for (;;) {
      const b = await inFlight.shift()!;
      if (b.length === 0) return;
      issue();
      yield b;
      if (b.length < CHUNK) return;
      // The consumer has parsed b (for-await resumes the generator after its loop body).
      if (recycle) {
        spent.push({ chunk: Buffer.from(b.buffer, b.byteOffset, CHUNK), mark: recycle.mark() });
        if (spent.length > MAX_SPENT) spent.shift();
      }
    }
  } finally {
    // Reads still in flight finish before the file is closed; their errors no longer matter.
    await Promise.allSettled(inFlight);
    await fh.close();
  }
}

/** Streams the decompressed bytes of `path`. */
function open(path: string, compression: Compression, recycle?: ChunkRecycler): { chunks: AsyncIterable<Buffer>; destroy: () => void; done: Promise<void>; stop?: () => void } {
  if (compression === 'bzip2') {
    // No read stream of our own here: one opened and destroyed at once still opened the file later, and failed
    // with ENOENT when the caller had removed it after an early error (test reliability-inspect-memory).
    const child = spawn('bzip2', ['-dc', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const done = new Promise<void>((resolve, reject) => {
      child.on('error', (e: NodeJS.ErrnoException) => reject(new CaptureError('CAPTURE_BZIP2', `cannot run bzip2: ${e.code ?? e.message}`)));
      child.on('close', (code) => (code === 0 ? resolve() : reject(new CaptureError('CAPTURE_BZIP2', `bzip2 -dc ${path} failed (${code}): ${err.trim()}`, { path, status: code }))));
    });
    // Stopped by its PID when reading ends early (an error, the unpacked-size limit).
    return { chunks: child.stdout, destroy: () => child.stdout.destroy(), done, stop: () => child.exitCode === null && child.signalCode === null && child.kill() };
  }
  if (!compression && fs.statSync(path).isFile()) return { chunks: readAhead(path, recycle), destroy: () => undefined, done: Promise.resolve() };
  const file = fs.createReadStream(path, { highWaterMark: CHUNK });
  if (compression === 'gzip') {
    // node:zlib only for a .gz capture: loading it cost every inspect run 1-4 ms of startup (issue 20)
    const gz = (require('node:zlib') as typeof import('node:zlib')).createGunzip({ chunkSize: CHUNK });
    file.pipe(gz);
    return { chunks: gz, destroy: () => gz.destroy(), done: Promise.resolve() };
  }
  return { chunks: file, destroy: () => file.destroy(), done: Promise.resolve() };
}

/** Reads one capture file, handing every packet to onPacket in file order. */
export async function readCaptureFile(path: string, onPacket: (p: CapturedPacket) => void, o: ReadOptions = {}): Promise<ReadResult> {
  const compression = compressionOf(await firstBytes(path));
  let reader: CaptureReader | null = null;
  const r = o.recycle;
  const recycle: ChunkRecycler | undefined = r && { mark: () => r.mark(), free: (m) => reader?.format === 'pcap' && r.free(m) };
  const { chunks, destroy, done, stop } = open(path, compression, recycle);
  const limit = compression ? (o.maxUnpacked ?? Math.max(MIN_UNPACKED_LIMIT, MAX_UNPACK_RATIO * fs.statSync(path).size)) : Infinity;
  let unpacked = 0;
  let ended = false;
  // Settled early so that a decompressor failure after a reader error is not an unhandled rejection.
  const status = done.then(
    () => null,
    (e: unknown) => e,
  );
  let head: Buffer = Buffer.alloc(0);
  let packets = 0;
  const count = (p: CapturedPacket) => {
    packets++;
    onPacket(p);
  };
  try {
    for await (const chunk of chunks) {
      unpacked += chunk.length;
      if (unpacked > limit) {
        throw new CaptureError('CAPTURE_UNPACKED_LIMIT', `${path} unpacks to more than ${limit} bytes (${compression}); a capture this compressible is refused unless --max-unpacked says how much to read`, { path, limit });
      }
      if (!reader) {
        head = head.length ? Buffer.concat([head, chunk]) : chunk;
        if (head.length < 4) continue;
        reader = readerFor(head);
        reader.push(head, count);
        continue;
      }
      reader.push(chunk, count);
    }
  } catch (err) {
    if (err instanceof CaptureError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new CaptureError('CAPTURE_IO', `reading ${path}: ${e.code ?? e.message}`, { path });
    ended = true;
  } finally {
    destroy();
    if (!ended) stop?.();
  }
  const failed = await status;
  // A decompressor stopped early (we destroyed its output) fails too: the reader's error is the one to report.
  if (failed && unpacked <= limit) throw failed;
  if (!reader) readerFor(head); // throws CAPTURE_SHORT_HEADER / CAPTURE_MAGIC
  const trailing = reader!.end();
  return { format: reader!.format, compression, packets, trailing, comments: reader!.comments ?? [] };
}
