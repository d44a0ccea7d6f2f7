// SHA-1 of large payloads on a worker thread, so that hashing runs on the second core while the main thread parses
// the next packets (issue 20: inspect's wall time against tshark's; SHA-1 was 15% of the main thread's time on the
// 221 MB capture). The payload is copied into a ring in a SharedArrayBuffer, which the worker reads in place: the
// copy into memory that stays mapped costs a few hundredths of a ms per MiB, against SHA-1's half a ms; the
// caller may reuse its bytes at once (the framer's pooled record slabs, pipeline.ts record()). WebCrypto's
// digest() on the thread pool was measured and not kept: it copies each input into fresh memory (0.4 ms per MiB
// of page faults on the main thread) and its jobs queue in front of the file reads on the same thread pool.
//
// The digests are the bytes crypto.hash('sha1') gives on the main thread; only when they are known changes.
// Inputs below OFFLOAD_MIN_BYTES are hashed at once (a message each way costs more than hashing a few KiB), and
// so is an input that finds the ring full: memory is bounded, and the result the same. A worker that fails is
// not trusted with anything further: what it held is hashed here from the ring, where it still lies.
// server/journal-hasher.ts does the same for the server journal's hash, with per-payload slots and a different
// failure rule (an unknown hash is allowed there; here every payload needs its digest).
import crypto from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Inputs shorter than this are hashed on the calling thread. */
export const OFFLOAD_MIN_BYTES = 64 * 1024;
/** Ring of input copies waiting for, or in, the worker. */
export const RING_BYTES = 8 * 1024 * 1024;

/** crypto.hash (one-shot, Node >= 20.12) where available, else a Hash object. */
const oneShot = (crypto as unknown as { hash?: (alg: string, data: Uint8Array, enc: 'hex') => string }).hash;
export function sha1hex(b: Uint8Array): string {
  return oneShot ? oneShot('sha1', b, 'hex') : crypto.createHash('sha1').update(b).digest('hex');
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { sha1hex } = require(${JSON.stringify(__filename)});
const ring = new Uint8Array(workerData.ring);
parentPort.on('message', (m) => parentPort.postMessage(sha1hex(ring.subarray(m.off, m.off + m.len))));
`;

interface Job {
  off: number;
  len: number;
  done: (hex: string) => void;
}

export class Sha1Offload {
  private ring: SharedArrayBuffer | null = null;
  private worker: Worker | null = null;
  /** jobs in ring order; the worker answers them in the order they were posted */
  private jobs: Job[] = [];
  private jobsHead = 0;
  /** next free byte of the ring; the oldest job's offset is where the used region starts */
  private head = 0;
  private failed = false;
  private idle: (() => void) | null = null;
  /** inputs hashed by the worker, and on the calling thread because the ring was full */
  copied = 0;
  inline = 0;

  constructor(
    private readonly minBytes = OFFLOAD_MIN_BYTES,
    private readonly ringBytes = RING_BYTES,
  ) {}

  /** Calls `done` with the hex SHA-1 of `b`: now, or once the worker answers (before settle() resolves). */
  hash(b: Uint8Array, done: (hex: string) => void): void {
    const off = b.length >= this.minBytes && !this.failed ? this.place(b.length) : -1;
    if (off < 0) {
      if (b.length >= this.minBytes) this.inline++;
      done(sha1hex(b));
      return;
    }
    new Uint8Array(this.ring!, off, b.length).set(b);
    this.head = off + b.length;
    this.jobs.push({ off, len: b.length, done });
    this.copied++;
    const w = this.start();
    // Referenced only while it holds work: a worker left idle (an error ended the pass early) never keeps the
    // process alive, and one with jobs does, so that settle() is not left waiting on an empty event loop.
    if (this.jobs.length - this.jobsHead === 1) w.ref();
    w.postMessage({ off, len: b.length });
  }

  /** Offset where `n` bytes fit in the ring after the jobs in flight, or -1. */
  private place(n: number): number {
    if (n > this.ringBytes) return -1;
    this.ring ??= new SharedArrayBuffer(this.ringBytes);
    if (this.jobsHead === this.jobs.length) return (this.head = 0);
    const tail = this.jobs[this.jobsHead].off;
    if (this.head > tail) {
      // used region [tail, head): room after head, else at the start before tail
      if (this.head + n <= this.ringBytes) return this.head;
      return n < tail ? 0 : -1;
    }
    // wrapped: used region [tail, end) and [0, head)
    return this.head + n < tail ? this.head : -1;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { ring: this.ring } });
    w.on('message', (hex: string) => this.answer(hex));
    w.on('error', () => this.fail());
    w.on('exit', () => this.fail());
    this.worker = w;
    return w;
  }

  private answer(hex: string): void {
    const j = this.jobs[this.jobsHead];
    this.jobs[this.jobsHead++] = undefined as unknown as Job;
    if (this.jobsHead === this.jobs.length) {
      this.jobs = [];
      this.jobsHead = 0;
      this.head = 0;
      this.worker?.unref();
      this.idle?.();
    }
    j.done(hex);
  }

  /** The worker is gone: hash what it held from the ring (unchanged: nothing is placed over a job in flight). */
  private fail(): void {
    if (this.failed) return;
    this.failed = true;
    this.worker = null;
    while (this.jobsHead < this.jobs.length) {
      const j = this.jobs[this.jobsHead];
      this.answer(sha1hex(new Uint8Array(this.ring!, j.off, j.len)));
    }
  }

  /** Resolves once every digest has been delivered, then stops the worker. */
  async settle(): Promise<void> {
    if (this.jobsHead < this.jobs.length) await new Promise<void>((resolve) => (this.idle = resolve));
    this.idle = null;
    const w = this.worker;
    this.worker = null;
    this.failed = true; // no further jobs: a later hash() runs inline
    if (w) {
      w.removeAllListeners('exit');
      await w.terminate();
    }
  }
}
