// Open descriptors of regular files for READ, WRITE and COMMIT, kept per inode as Linux nfsd's file cache keeps
// them (fs/nfsd/filecache.c). A slot is only ever filled by opening the very inode its handle names (export.ts
// reopens a descriptor verified against the handle), and is keyed by inode and generation: the cache never hands
// out a descriptor of another file, whatever was renamed over the name meanwhile.
import { closeFd } from '../fs-at';

interface FdSlot {
  /** the handle's generation (birth time) the descriptor was opened for */
  gen: bigint;
  fd: Promise<number>;
  writable: boolean;
  users: number;
  doomed: boolean;
  /** performance.now() when users last fell to 0 */
  idleSince: number;
  /** the file's pages are memory (tmpfs, ramfs: fs-at memoryBacked, asked once per device by the export) */
  inMemory: boolean;
}

export class FdCache {
  private readonly slots = new Map<bigint, FdSlot>();
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly maxFds = 256,
    /**
     * A cached descriptor unused this long (real ms) is closed, as Linux nfsd's file cache closes NFSv3 files
     * idle for 2 s (fs/nfsd/filecache.c, NFSD_LAUNDRETTE_DELAY): an open descriptor keeps a file that was
     * removed outside NFS from being freed, and a server holding hundreds of such files runs out of space.
     */
    private readonly idleMs = 2000,
  ) {}

  /** The cached descriptor of (ino, gen), usable for writing when `write`; taken (release with put). */
  take(ino: bigint, gen: bigint, write: boolean): FdSlot | undefined {
    const slot = this.slots.get(ino);
    if (!slot || slot.gen !== gen || slot.doomed || (write && !slot.writable)) return undefined;
    slot.users++;
    return slot;
  }

  /**
   * Caches the descriptor `open()` gives for (ino, gen) and takes it. A slot of an older generation (the inode
   * was freed and reused) or a read-only one when writing is needed is retired first.
   */
  add(ino: bigint, gen: bigint, write: boolean, open: () => Promise<number>, inMemory: boolean): FdSlot {
    const old = this.slots.get(ino);
    if (old) {
      if (old.gen === gen && !old.doomed && (old.writable || !write)) {
        this.slots.delete(ino); // least recently used goes last
        this.slots.set(ino, old);
        old.users++;
        return old;
      }
      this.retire(ino, old);
    }
    const slot: FdSlot = { gen, fd: open(), writable: write, users: 1, doomed: false, idleSince: 0, inMemory };
    this.slots.set(ino, slot);
    this.sweeper ??= setInterval(() => this.closeIdle(), Math.max(10, this.idleMs / 2)).unref();
    slot.fd.catch(() => this.slots.get(ino) === slot && this.slots.delete(ino));
    this.trim();
    return slot;
  }

  /** Gives back a slot taken by take() or add(). */
  put(slot: FdSlot): void {
    if (--slot.users > 0) return;
    slot.idleSince = performance.now();
    if (slot.doomed) void slot.fd.then((fd) => closeFd(fd)).catch(() => {});
  }

  /** Closes the cached descriptor of an inode (after REMOVE, RENAME over it ...). */
  drop(ino: bigint): void {
    const slot = this.slots.get(ino);
    if (slot) this.retire(ino, slot);
  }

  private retire(ino: bigint, slot: FdSlot): void {
    if (this.slots.get(ino) === slot) this.slots.delete(ino);
    slot.doomed = true;
    if (slot.users === 0) void slot.fd.then((fd) => closeFd(fd)).catch(() => {});
  }

  /** Closes descriptors idle for idleMs; the sweep stops when none is cached. */
  private closeIdle(): void {
    const before = performance.now() - this.idleMs;
    for (const [ino, slot] of this.slots) if (slot.users === 0 && slot.idleSince <= before) this.retire(ino, slot);
    if (this.slots.size === 0) this.stopSweeper();
  }

  private stopSweeper(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private trim(): void {
    if (this.slots.size <= this.maxFds) return;
    for (const [ino, slot] of this.slots) {
      if (this.slots.size <= this.maxFds) break;
      if (slot.users === 0) this.retire(ino, slot);
    }
  }

  /**
   * Closes every cached descriptor (server shutdown). One still in use by a call closes when that call is done:
   * closing it under the call would let the number be reused by another file and the write land there.
   */
  async closeAll(): Promise<void> {
    this.stopSweeper();
    const idle = [...this.slots.entries()].filter(([, s]) => s.users === 0);
    for (const [ino, slot] of this.slots) if (slot.users > 0) this.retire(ino, slot);
    this.slots.clear();
    await Promise.all(idle.map(([, s]) => s.fd.then((fd) => closeFd(fd)).catch(() => {})));
  }
}

export type { FdSlot };
