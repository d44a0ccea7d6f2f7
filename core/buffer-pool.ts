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
//
// Page phase (issue 20): the kernel copies between a socket or the page cache and user memory with `rep movsb`,
// which on this machine's AMD EPYC costs 2.7x as much when the destination lies 1 to 31 bytes past the source
// modulo 4 KiB (measured: 0.55 against 0.20 ms per MiB read from tmpfs; 0.41 against 0.14 per MiB received over
// loopback). The page cache and a socket's pages start on page boundaries, and glibc puts a large allocation's
// data 16 bytes past one (the chunk header), so a Buffer at offset 0 of a fresh slab sits in exactly that window.
// take(n, phase) hands out a view placed so that its address is `phase` modulo 4 KiB for such a slab: a READ
// passes its file position, and the copy runs page to page. A slab from elsewhere in the heap has another phase;
// the view then misses the window except for 1 slab in 256.
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

const PAGE = 4096;
/** Where glibc's malloc puts the data of an mmap'd chunk: past its 16-byte header (malloc/malloc.c, mem2chunk). */
export const MALLOC_DATA_PHASE = 16;

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

  /**
   * A Buffer of n bytes. With `phase`, it starts where its address is `phase` modulo 4 KiB for a slab as malloc
   * places it (see the header), at the price of up to 4 KiB more slab.
   */
  take(n: number, phase?: number): Buffer {
    const off = phase === undefined ? 0 : (PAGE - MALLOC_DATA_PHASE + (phase % PAGE)) % PAGE;
    const need = phase === undefined ? n : n + PAGE;
    const size = Math.max(this.o.granule, Math.ceil(need / this.o.granule) * this.o.granule);
    let slab = this.free.get(size)?.pop();
    if (slab) this.idleBytes -= size;
    else {
      slab = this.o.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
      this.allocations++;
    }
    this.busy.add(slab);
    this.taken++;
    return Buffer.from(slab, off, n);
  }

  /**
   * The same slab as `buf` (taken with a phase), viewed at another phase with the same length: a reader reusing
   * one slab for a stream keeps each read at the phase of its stream offset. `buf` itself when it has no room.
   */
  rephase(buf: Buffer, phase: number): Buffer {
    const off = (PAGE - MALLOC_DATA_PHASE + (phase % PAGE)) % PAGE;
    if (off === buf.byteOffset || off + buf.length > buf.buffer.byteLength) return buf;
    return Buffer.from(buf.buffer, off, buf.length);
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
