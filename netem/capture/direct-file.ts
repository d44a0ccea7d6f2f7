// The capture file written with O_DIRECT from a ring of page-aligned staging slabs (issue 20): the payload is
// copied once in user space (into a slab) instead of once by the kernel into the page cache, and each full slab
// goes to the device in large, block-aligned writes made by a writer thread (direct-writer-thread.ts), so the relay
// thread waits for the device only when every slab is still held. Measured against buffered writev of the same
// records: README, "Targets on CPU cost".
//
// Kernel rules this relies on (Linux 6.x): ext4_dio_write_iter() hands an O_DIRECT write to iomap_dio_rw(), whose
// iomap_dio_bio_iter() answers -EINVAL when the file position or the length is not a multiple of the device's
// logical block size, or the user buffer is not aligned to the queue's dma_alignment (bdev_iter_is_aligned(); 511
// on this machine's virtio disk). Every write here starts at a multiple of DIRECT_BLOCK (4 KiB, the largest
// logical block size in common use) of the file and of the ring, whose first byte is on a page boundary (slabs are
// multiples of DIRECT_BLOCK), and is a multiple of DIRECT_BLOCK long; the tail of the last, partial block is
// written padded with zeros, then ftruncate() cuts the file to its true length. ext4_dio_write_checks() takes the
// inode lock exclusively for a write that extends the file, and ext4_handle_inode_extension() sets i_size when it
// completes, so each synchronous write leaves the file with every byte before its end on disk; the writer thread
// makes them one at a time, in order.
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { MALLOC_DATA_PHASE } from '../../core/buffer-pool';
import { CMD, CMD_FIELDS, CTRL, CTRL_SLOTS, ERROR_BYTES, EXIT, NO_TRUNC, runCommand, WRITER_THREAD_SOURCE, type WriterThreadData } from './direct-writer-thread';

/** Alignment of every O_DIRECT write: file offset, length and buffer address. */
export const DIRECT_BLOCK = 4096;
/** Bytes staged before a write: large writes for the device, small enough to stay in the CPU's caches. */
export const DIRECT_SLAB = 1 << 20;

const WASM_PAGE = 65_536;
const PAGE = 4096;
/** glibc's default M_MMAP_THRESHOLD: larger allocations are mmap'd, their data 16 bytes past a page */
const MMAP_THRESHOLD = 128 * 1024;
/** below this, memcpy runs vector loops, not `rep movsb` (glibc's rep_movsb_threshold is 2-8 KiB) */
const ALIAS_MIN = 2048;
const BOUNCE = 64 * 1024;
/** The one WebAssembly API used here (the project's lib settings declare no WebAssembly types). */
declare const WebAssembly: { Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => { buffer: ArrayBuffer | SharedArrayBuffer } };

/**
 * `bytes` of memory whose first byte is on a page boundary. Node's Buffers come from malloc, which puts a large
 * allocation 16 bytes past a page (core/buffer-pool.ts) or anywhere in its heap; WebAssembly memory is mapped by
 * V8 with mmap (BackingStore::TryAllocateWasmMemory -> AllocatePages), so its byte 0 is page-aligned. Should V8
 * refuse the memory (its address-space reservation), the slab is cut from a malloc'd one at the offset its chunk
 * header implies; if that guess is wrong, the first O_DIRECT write answers EINVAL and `auto` writes buffered.
 */
export function pageAlignedBuffer(bytes: number, shared = false): Buffer {
  try {
    const pages = Math.ceil(bytes / WASM_PAGE);
    const mem = new WebAssembly.Memory({ initial: pages, maximum: pages, shared });
    return Buffer.from(mem.buffer, 0, bytes);
  } catch {
    const ab = shared ? new SharedArrayBuffer(bytes + DIRECT_BLOCK) : new ArrayBuffer(bytes + DIRECT_BLOCK);
    return Buffer.from(ab, DIRECT_BLOCK - MALLOC_DATA_PHASE, bytes);
  }
}

/** below this, TypedArray#set's per-call cost is lower than Buffer#fill's (measured: 70 bytes 0.15 µs against 0.2) */
const FILL_MIN = 256;

/**
 * Copies `src` into the shared `ring` at `at`; returns src.length. Not with Buffer#copy: its TypedArray#set runs,
 * for a SharedArrayBuffer, V8's relaxed_memmove (word by word, byte by byte when source and destination are
 * misaligned: 0.34 ms/MB measured, against 0.03 for memcpy), and the perf profile of the relay showed it on top.
 * Buffer#fill with a Buffer value as long as the range copies it with one memcpy (node_buffer.cc, Fill()).
 */
function copyToShared(src: Buffer, ring: Buffer, at: number): number {
  if (src.length < FILL_MIN) return src.copy(ring, at);
  ring.fill(src, at, at + src.length);
  return src.length;
}

/** How a DirectFile stages and hands over: slab size, slabs in its ring, and whether a writer thread writes them. */
export interface DirectFileOptions {
  /** bytes per slab (rounded up to DIRECT_BLOCK) */
  slabBytes?: number;
  /** slabs in the staging ring */
  slabs?: number;
  /** false: every write on the caller's thread, as it is handed over (the probe, and where no thread starts) */
  thread?: boolean;
  /**
   * The file already holds `length` bytes (written through the page cache: capture-io.ts AutoFile) and `tail` is
   * its last length mod DIRECT_BLOCK of them: staging starts at `length`, and the first write rewrites the partial
   * block from its start (an O_DIRECT write over cached pages: iomap_dio_rw() writes back and invalidates the
   * range first, so the file stays coherent).
   */
  resume?: { length: number; tail: Buffer };
}

/** Slabs in the ring: 8 MiB staged before the relay waits for the device (a repro's bursts fit in it). */
export const DIRECT_SLABS = 8;

/**
 * Appends to a file opened with O_DIRECT. Ownership: write() copies the bytes of `parts` into its ring before it
 * returns, so the caller may reuse them at once; the ring is this object's and its writer thread's alone.
 *
 * The ring is `slabs` slabs of `slabBytes`, file offset f staged at ring position f mod the ring's size. A full
 * slab is handed to the writer thread (direct-writer-thread.ts) and the caller goes on staging into the next one;
 * it waits (Atomics.wait) only when the next slab is still being written: a disk that cannot keep up slows the
 * relay, and nothing is dropped. A flush hands over the staged tail of the current slab, padded with zeros to
 * DIRECT_BLOCK, and the cut to the true length; the caller keeps appending past the tail meanwhile (those bytes
 * lie beyond the cut, and the next flush or spill rewrites their block).
 */
export class DirectFile {
  private readonly ring: Buffer;
  private readonly slabBytes: number;
  /** file offset of the current slab's first byte (a multiple of slabBytes) */
  private base = 0;
  /** ring position of the current slab (base modulo the ring's size) */
  private at = 0;
  /** bytes staged in the current slab */
  private fill = 0;
  /** the current slab's [0, clean) is handed over as it is now (a multiple of DIRECT_BLOCK): a flush writes from here */
  private clean = 0;
  /** length the file was cut to by the last flush (-1: not flushed since the last write) */
  private flushedAt = -1;
  /** for copies whose source and destination page phases collide (copyIn) */
  private bounce?: Buffer;
  /** per slab, the sequence number of the last command that reads it (-1: none) */
  private readonly lastCmd: number[];
  /** commands published */
  private head = 0;
  private readonly thread?: WriterThread;
  private closing?: Promise<void>;

  /** `fd`: opened with O_DIRECT, empty, owned by this object from now on (close() closes it). */
  constructor(
    private readonly fd: number,
    opts: DirectFileOptions = {},
  ) {
    this.slabBytes = Math.max(DIRECT_BLOCK, Math.ceil((opts.slabBytes ?? DIRECT_SLAB) / DIRECT_BLOCK) * DIRECT_BLOCK);
    const slabs = opts.thread === false ? 1 : Math.max(2, opts.slabs ?? DIRECT_SLABS);
    this.ring = pageAlignedBuffer(this.slabBytes * slabs, opts.thread !== false);
    this.lastCmd = new Array<number>(slabs).fill(-1);
    if (opts.thread !== false) this.thread = new WriterThread(fd, this.ring, 4 * slabs + 8);
    if (opts.resume) {
      const { length, tail } = opts.resume;
      if (tail.length !== length % DIRECT_BLOCK) throw new RangeError(`resume: a tail of ${length % DIRECT_BLOCK} bytes, got ${tail.length}`);
      this.base = Math.floor(length / this.slabBytes) * this.slabBytes;
      this.at = this.base % this.ring.length;
      this.fill = length - this.base;
      this.clean = this.fill - tail.length;
      tail.copy(this.ring, this.at + this.clean);
      this.flushedAt = length;
    }
  }

  /** Bytes written so far (the file's length after the next flush). */
  get length(): number {
    return this.base + this.fill;
  }

  /** Whether a writer thread writes the slabs (false: the caller's thread does). */
  get threaded(): boolean {
    return this.thread !== undefined;
  }

  /** Commands (slabs and flushes) handed to the writer thread and not yet written. */
  get inFlight(): number {
    return this.head - (this.thread?.done ?? this.head);
  }

  /** Stages the parts, handing each slab over as it fills; waits only for a slab still being written. */
  write(parts: readonly Buffer[]): number {
    this.thread?.check();
    let total = 0;
    for (const p of parts) {
      for (let o = 0; o < p.length; ) {
        const n = this.copyIn(p, o);
        this.fill += n;
        o += n;
        if (this.fill === this.slabBytes) this.spill();
      }
      total += p.length;
    }
    if (total) this.flushedAt = -1;
    return total;
  }

  /**
   * Makes the file a valid pcap up to the last complete record written: the staged tail is written padded to the
   * block, then the file is cut to its true length. With `wait` (the control API, close) that is done when this
   * returns; without (the sink's timer) the writer thread does it after what it holds, and the caller goes on.
   * Cheap when nothing was written since the last flush.
   */
  flush(wait = true): void {
    const len = this.length;
    if (this.flushedAt !== len) {
      const end = Math.ceil(this.fill / DIRECT_BLOCK) * DIRECT_BLOCK;
      const at = this.at;
      this.ring.fill(0, at + this.fill, at + end); // the padding: zeros, cut off by the ftruncate
      this.publish(at + this.clean, end - this.clean, this.base + this.clean, len);
      this.clean = Math.floor(this.fill / DIRECT_BLOCK) * DIRECT_BLOCK;
      this.flushedAt = len;
    }
    if (wait) this.thread?.waitDone(this.head);
  }

  /** Flushes, ends the writer thread (waiting for it to exit), and closes the file. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        this.flush(false);
      } finally {
        try {
          await this.thread?.stop();
        } finally {
          fs.closeSync(this.fd);
        }
      }
    })();
    return this.closing;
  }

  /**
   * Copies p[o..] into the slab at `fill` (as much as fits); returns the bytes copied. Page phase: glibc's memcpy
   * runs `rep movsb` for large copies, which on this AMD EPYC costs 10-100x when the destination lies 1 to 31
   * bytes past the source modulo 4 KiB (measured: 3-6 ms/MB against 0.03-0.15; the kernel's copies have the same
   * window, core/buffer-pool.ts). The destination's phase is known (the slab is page-aligned); the source's is
   * known for a Buffer over an ArrayBuffer malloc placed with mmap (16 bytes past a page: the relay's pooled
   * slabs). Such a copy goes through a bounce buffer half a page away from both, a second copy of the bytes, in
   * about 1 copy in 130.
   */
  private copyIn(p: Buffer, o: number): number {
    const n = Math.min(p.length - o, this.slabBytes - this.fill);
    if (n >= ALIAS_MIN && p.buffer.byteLength >= MMAP_THRESHOLD) {
      const src = (MALLOC_DATA_PHASE + p.byteOffset + o) % PAGE;
      const dst = this.fill % PAGE;
      const ahead = (dst - src + PAGE) % PAGE;
      if (ahead >= 1 && ahead <= 31) {
        this.bounce ??= pageAlignedBuffer(BOUNCE + PAGE);
        const m = Math.min(n, BOUNCE);
        const at = (dst + PAGE / 2) % PAGE;
        const b = this.bounce.subarray(at, at + m);
        p.copy(b, 0, o, o + m);
        return copyToShared(b, this.ring, this.at + this.fill);
      }
    }
    return copyToShared(p.subarray(o, o + n), this.ring, this.at + this.fill);
  }

  /** Hands the full slab over and moves to the next, waiting until the writer thread has written what it held. */
  private spill(): void {
    this.publish(this.at + this.clean, this.slabBytes - this.clean, this.base + this.clean, NO_TRUNC);
    this.base += this.slabBytes;
    this.fill = 0;
    this.clean = 0;
    this.at = (this.at + this.slabBytes) % this.ring.length;
    this.thread?.waitDone(this.lastCmd[this.at / this.slabBytes] + 1);
  }

  /** A command on the current slab: to the writer thread, or run here. */
  private publish(pos: number, len: number, off: number, trunc: number): void {
    this.lastCmd[this.at / this.slabBytes] = this.head;
    if (this.thread) this.thread.publish(this.head, pos, len, off, trunc);
    else runCommand(this.fd, this.ring, pos, len, off, trunc);
    this.head++;
  }
}

/** The relay thread's side of the command queue (direct-writer-thread.ts runs the other). */
class WriterThread {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(CTRL_SLOTS * 4));
  private readonly cmds: Float64Array;
  private readonly error = new SharedArrayBuffer(ERROR_BYTES);
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(fd: number, ring: Buffer, private readonly queue: number) {
    this.cmds = new Float64Array(new SharedArrayBuffer(queue * CMD_FIELDS * 8));
    const data: WriterThreadData = {
      directCaptureWriter: true,
      fd,
      ring: ring.buffer as SharedArrayBuffer,
      ringOffset: ring.byteOffset,
      ringBytes: ring.length,
      writeMax: ring.length / 2, // the relay refills one half of the ring while the other half is written
      ctrl: this.ctrl.buffer as SharedArrayBuffer,
      cmds: this.cmds.buffer as SharedArrayBuffer,
      error: this.error,
    };
    this.worker = new Worker(WRITER_THREAD_SOURCE, { eval: true, workerData: data });
    this.worker.unref(); // an open capture does not keep the process alive (the sink's timer is unref'd too)
    this.exited = new Promise((res) => this.worker.once('exit', () => res()));
    this.worker.on('error', () => {
      /* the loop's finally set EXITED: the next wait or check says so */
    });
  }

  /** Commands completed. */
  get done(): number {
    return Atomics.load(this.ctrl, CTRL.DONE);
  }

  /** Publishes command `seq` (after the one before it); waits first if the queue is full. */
  publish(seq: number, pos: number, len: number, off: number, trunc: number): void {
    this.waitFor(seq - this.queue + 1);
    const i = (seq % this.queue) * CMD_FIELDS;
    this.cmds[i + CMD.POS] = pos;
    this.cmds[i + CMD.LEN] = len;
    this.cmds[i + CMD.OFF] = off;
    this.cmds[i + CMD.TRUNC] = trunc;
    // The store publishes the fields above and the ring's bytes (a seq-cst store the thread's load synchronizes with).
    Atomics.store(this.ctrl, CTRL.HEAD, seq + 1);
    Atomics.notify(this.ctrl, CTRL.HEAD);
  }

  /** Blocks until `n` commands are done (the device's pace), then throws the thread's error if one failed. */
  waitDone(n: number): void {
    this.waitFor(n);
    this.check();
  }

  /** Blocks until `n` commands are done (a failed one counts: the thread goes on counting, unwritten). */
  private waitFor(n: number): void {
    for (let done = Atomics.load(this.ctrl, CTRL.DONE); done < n; done = Atomics.load(this.ctrl, CTRL.DONE)) {
      if (Atomics.load(this.ctrl, CTRL.EXITED) && Atomics.load(this.ctrl, CTRL.DONE) < n) {
        this.check();
        throw new Error('the capture writer thread has exited');
      }
      Atomics.wait(this.ctrl, CTRL.DONE, done, 1000);
    }
  }

  /** Throws the error a command met (the file is then incomplete: the capture stops, as with an inline write). */
  check(): void {
    if (Atomics.load(this.ctrl, CTRL.FAILED) === 0) return;
    const text = Buffer.from(this.error).toString('utf8').replace(/\0+$/, '');
    let e: { code?: string; message?: string } = {};
    try {
      e = JSON.parse(text) as typeof e;
    } catch {
      e = { message: text };
    }
    throw Object.assign(new Error(e.message ?? 'O_DIRECT write failed'), { code: e.code });
  }

  /** Ends the thread after the commands it holds and resolves when it has exited. */
  async stop(): Promise<void> {
    this.worker.ref();
    const seq = Atomics.load(this.ctrl, CTRL.HEAD);
    if (!Atomics.load(this.ctrl, CTRL.EXITED)) this.publish(seq, EXIT, 0, 0, NO_TRUNC);
    await this.exited;
    this.check();
  }
}
