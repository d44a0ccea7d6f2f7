// The capture file written with O_DIRECT from one reused, page-aligned staging slab (issue 20): the payload is
// copied once in user space (into the slab) instead of once by the kernel into the page cache, and the slab goes
// to the device in large, block-aligned writes. Measured against buffered writev of the same records: 0.44-0.63x
// of the CPU (README, "Targets on CPU cost").
//
// Kernel rules this relies on (Linux 6.x): ext4_dio_write_iter() hands an O_DIRECT write to iomap_dio_rw(), whose
// iomap_dio_bio_iter() answers -EINVAL when the file position or the length is not a multiple of the device's
// logical block size, or the user buffer is not aligned to the queue's dma_alignment (bdev_iter_is_aligned(); 511
// on this machine's virtio disk). Every write here starts at a multiple of DIRECT_BLOCK (4 KiB, the largest
// logical block size in common use) of the file and of the slab, whose first byte is on a page boundary, and is a
// multiple of DIRECT_BLOCK long; the tail of the last, partial block is written padded with zeros, then
// ftruncate() cuts the file to its true length. ext4_dio_write_checks() takes the inode lock exclusively for a
// write that extends the file, and ext4_handle_inode_extension() sets i_size when it completes, so each
// synchronous write leaves the file with every byte before its end on disk.
import fs from 'node:fs';
import { MALLOC_DATA_PHASE } from '../../core/buffer-pool';

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
declare const WebAssembly: { Memory: new (d: { initial: number; maximum?: number }) => { buffer: ArrayBuffer } };

/**
 * `bytes` of memory whose first byte is on a page boundary. Node's Buffers come from malloc, which puts a large
 * allocation 16 bytes past a page (core/buffer-pool.ts) or anywhere in its heap; WebAssembly memory is mapped by
 * V8 with mmap (BackingStore::TryAllocateWasmMemory -> AllocatePages), so its byte 0 is page-aligned. Should V8
 * refuse the memory (its address-space reservation), the slab is cut from a malloc'd one at the offset its chunk
 * header implies; if that guess is wrong, the first O_DIRECT write answers EINVAL and `auto` writes buffered.
 */
export function pageAlignedBuffer(bytes: number): Buffer {
  try {
    const pages = Math.ceil(bytes / WASM_PAGE);
    const mem = new WebAssembly.Memory({ initial: pages, maximum: pages });
    return Buffer.from(mem.buffer, 0, bytes);
  } catch {
    return Buffer.from(new ArrayBuffer(bytes + DIRECT_BLOCK), DIRECT_BLOCK - MALLOC_DATA_PHASE, bytes);
  }
}

/**
 * Appends to a file opened with O_DIRECT. Ownership: write() copies the bytes of `parts` into its slab before it
 * returns, so the caller may reuse them at once; the slab is this object's alone.
 */
export class DirectFile {
  private readonly slab: Buffer;
  /** file offset of slab[0] (a multiple of DIRECT_BLOCK) */
  private base = 0;
  /** bytes staged in the slab */
  private fill = 0;
  /** slab[0, clean) is on disk as it is now (a multiple of DIRECT_BLOCK): a flush writes from here */
  private clean = 0;
  /** length the file was cut to by the last flush (-1: not flushed since the last write) */
  private flushedAt = -1;
  /** for copies whose source and destination page phases collide (copyIn) */
  private bounce?: Buffer;

  /** `fd`: opened with O_DIRECT, empty, owned by this object from now on (close() closes it). */
  constructor(
    private readonly fd: number,
    slabBytes = DIRECT_SLAB,
  ) {
    this.slab = pageAlignedBuffer(Math.max(DIRECT_BLOCK, Math.ceil(slabBytes / DIRECT_BLOCK) * DIRECT_BLOCK));
  }

  /** Bytes written so far (the file's length after the next flush). */
  get length(): number {
    return this.base + this.fill;
  }

  /** Stages the parts, writing each slab as it fills (synchronously: a slow disk slows the caller). */
  write(parts: readonly Buffer[]): number {
    let total = 0;
    for (const p of parts) {
      for (let o = 0; o < p.length; ) {
        const n = this.copyIn(p, o);
        this.fill += n;
        o += n;
        if (this.fill === this.slab.length) this.spill();
      }
      total += p.length;
    }
    if (total) this.flushedAt = -1;
    return total;
  }

  /**
   * Makes the file a valid pcap up to the last complete record written: the staged tail is written padded to the
   * block, then the file is cut to its true length. Cheap when nothing was written since the last flush.
   */
  flush(): void {
    const len = this.length;
    if (this.flushedAt === len) return;
    const end = Math.ceil(this.fill / DIRECT_BLOCK) * DIRECT_BLOCK;
    this.slab.fill(0, this.fill, end); // the padding: zeros, cut off by the ftruncate below
    this.pwriteAll(this.clean, end);
    fs.ftruncateSync(this.fd, len);
    this.clean = Math.floor(this.fill / DIRECT_BLOCK) * DIRECT_BLOCK;
    this.flushedAt = len;
  }

  /** Flushes and closes the file. */
  close(): void {
    try {
      this.flush();
    } finally {
      fs.closeSync(this.fd);
    }
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
    const n = Math.min(p.length - o, this.slab.length - this.fill);
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
        return b.copy(this.slab, this.fill);
      }
    }
    return p.copy(this.slab, this.fill, o, o + n);
  }

  private spill(): void {
    this.pwriteAll(this.clean, this.slab.length);
    this.base += this.slab.length;
    this.fill = 0;
    this.clean = 0;
  }

  /** pwrite(2) slab[from, to) at its file offset until all of it is written. */
  private pwriteAll(from: number, to: number): void {
    for (let o = from; o < to; ) {
      const n = fs.writeSync(this.fd, this.slab, o, to - o, this.base + o);
      if (n <= 0) throw new Error(`O_DIRECT write of ${to - o} bytes at ${this.base + o} wrote ${n}`);
      o += n;
    }
  }
}
