// Hashes WRITE payloads for the journal with its payload hash (core/payload-hash.ts). xxh3, the default, and xxh64
// cost about 0.1 ms per MiB: they run inline, cheaper than handing the payload to another thread. sha256
// (--journal-hash sha256) costs about 0.75 ms per MiB, so it runs off the event loop, lest the reply to the next
// WRITE be delayed. A payload in a SharedArrayBuffer (the server's pooled records) is
// read by the worker in place: the caller keeps it unchanged and alive until the digest resolves, then lets go
// (`release`). Otherwise the payload is copied into a pooled SharedArrayBuffer (about 0.1 ms per MiB); when every
// pooled buffer is busy the hash runs inline.
import { Worker } from 'node:worker_threads';
import { payloadHash, type PayloadHashName } from '../core/payload-hash';

// The worker hashes with the same module as everyone else (core/payload-hash.ts).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { payloadHash } = require(${JSON.stringify(require.resolve('../core/payload-hash'))});
parentPort.on('message', (m) => {
  const v = Buffer.from(m.sab, m.off || 0, m.len);
  parentPort.postMessage({ id: m.id, hash: payloadHash(m.algo, v) });
});
`;

export interface Digest {
  data_hash: string;
  head_hex: string;
}

/** The hash (hex) of a payload and its first 16 bytes (hex): the journal's two data columns. */
export function payloadDigest(algo: PayloadHashName, data: Buffer): Digest {
  return { data_hash: payloadHash(algo, data), head_hex: data.subarray(0, 16).toString('hex') };
}

/** Hashes that cost less inline than a hand-off to the worker (a postMessage each way and a thread wake-up). */
const INLINE: Record<PayloadHashName, boolean> = { xxh3: true, xxh64: true, sha256: false };

export class PayloadHasher {
  private worker: Worker | null = null;
  private readonly free: SharedArrayBuffer[] = [];
  private readonly pending = new Map<number, { sab?: SharedArrayBuffer; resolve: (h: string) => void }>();
  private nextId = 0;
  private allocated = 0;
  private closed = false;

  constructor(
    readonly algo: PayloadHashName,
    /** payloads larger than this are hashed inline (WRITE payloads are at most wtmax) */
    private readonly slotBytes = 1024 * 1024,
    private readonly maxSlots = 8,
    /** below this size the copy costs more than the hash: hash inline */
    private readonly inlineBelow = 16 * 1024,
  ) {}

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    w.on('message', (m: { id: number; hash: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (p.sab) this.free.push(p.sab);
      p.resolve(m.hash);
    });
    w.on('error', () => this.failAll());
    this.worker = w;
    return w;
  }

  /**
   * Digest of `data`. The caller keeps `data` unchanged until this returns (a copy is taken synchronously) or,
   * when `data` lives in a SharedArrayBuffer and `release` is given, until `release` is called (the worker read
   * it in place).
   */
  digest(data: Buffer, release?: () => void): Promise<Digest> | Digest {
    if (INLINE[this.algo] || data.length < this.inlineBelow || this.closed || !(release && data.buffer instanceof SharedArrayBuffer)) {
      const d = INLINE[this.algo] || data.length < this.inlineBelow || this.closed ? payloadDigest(this.algo, data) : this.copied(data);
      release?.(); // read or copied by now
      return d;
    }
    const head_hex = data.subarray(0, 16).toString('hex');
    const id = this.nextId++;
    return new Promise<Digest>((resolve) => {
      this.pending.set(id, {
        resolve: (h) => {
          release();
          resolve({ data_hash: h, head_hex });
        },
      });
      this.start().postMessage({ id, algo: this.algo, sab: data.buffer, off: data.byteOffset, len: data.length });
    });
  }

  private copied(data: Buffer): Promise<Digest> | Digest {
    if (data.length > this.slotBytes) return payloadDigest(this.algo, data);
    let sab = this.free.pop();
    if (!sab && this.allocated < this.maxSlots) {
      sab = new SharedArrayBuffer(this.slotBytes);
      this.allocated++;
    }
    if (!sab) return payloadDigest(this.algo, data);
    Buffer.from(sab, 0, data.length).set(data);
    const head_hex = data.subarray(0, 16).toString('hex');
    const id = this.nextId++;
    const slot = sab;
    return new Promise<Digest>((resolve) => {
      this.pending.set(id, { sab: slot, resolve: (h) => resolve({ data_hash: h, head_hex }) });
      this.start().postMessage({ id, algo: this.algo, sab: slot, len: data.length });
    });
  }

  private failAll(): void {
    // A dead worker: answer pending hashes as unknown rather than never.
    for (const [, p] of this.pending) p.resolve('');
    this.pending.clear();
    this.worker = null;
  }

  /** Resolves once every pending hash is back. */
  async drain(): Promise<void> {
    while (this.pending.size) await new Promise((r) => setTimeout(r, 5));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
    await this.worker?.terminate();
    this.worker = null;
  }
}
