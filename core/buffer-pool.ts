// Reusable slabs for receive paths that read straight into memory they choose (the server's record framer,
// the netem relay). Fresh 1 MiB-scale Buffers are costly in Node twice over: V8 counts them as external memory
// and runs a major GC every few dozen MiB allocated (measured: about a third of the server's CPU during a
// 256 MiB nfs-cp), and the kernel page-faults and zeroes every fresh page. A slab taken from here was
// allocated once.
//
// Ownership: take(n) returns a Buffer of n bytes over a slab that belongs to the caller alone until it passes
// that Buffer (or any view of the same slab) to release(), exactly once. After that nobody may read or write
// it: the next take() hands the same memory out again. release() of a Buffer this pool did not make is a no-op,
// so callers holding either kind may release unconditionally.
// With `shared`, slabs are SharedArrayBuffers, so a worker thread can read them without a copy (the journal's
// hasher); they can never be transferred (detached) by mistake.

export interface BufferPoolOptions {
  /** slab sizes are n rounded up to a multiple of this */
  granule: number;
  /** bytes of released slabs kept for reuse; beyond it released slabs are left to the GC */
  maxIdleBytes: number;
  /** allocate SharedArrayBuffers (readable from workers without a copy) */
  shared?: boolean;
}

export class BufferPool {
  private readonly free = new Map<number, ArrayBufferLike[]>();
  // Weak: a slab whose holder forgot to release it is collected, not leaked.
  private readonly busy = new WeakSet<ArrayBufferLike>();
  private taken = 0;
  /** bytes in released slabs waiting for reuse */
  idleBytes = 0;
  /** slabs ever allocated (a steady workload stops growing this) */
  allocations = 0;

  constructor(private readonly o: BufferPoolOptions) {}

  take(n: number): Buffer {
    const size = Math.max(this.o.granule, Math.ceil(n / this.o.granule) * this.o.granule);
    let slab = this.free.get(size)?.pop();
    if (slab) this.idleBytes -= size;
    else {
      slab = this.o.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
      this.allocations++;
    }
    this.busy.add(slab);
    this.taken++;
    return Buffer.from(slab, 0, n);
  }

  release(buf: Buffer): void {
    const slab = buf.buffer;
    if (!this.busy.delete(slab)) return;
    this.taken--;
    if (this.idleBytes + slab.byteLength > this.o.maxIdleBytes) return;
    let list = this.free.get(slab.byteLength);
    if (!list) this.free.set(slab.byteLength, (list = []));
    list.push(slab);
    this.idleBytes += slab.byteLength;
  }

  /** Slabs taken and not released (forgotten ones included until collected). */
  get inUse(): number {
    return this.taken;
  }
}
