// What every NFSv3 procedure shares: the export (handles, attributes, name checks, errno -> nfsstat3), the
// per-file descriptor cache and the write verifier. The procedures themselves live one per file (on-<proc>.ts).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { NfsStatusError } from '../../core/errors';
import type { Logger } from '../../core/log';
import { FTYPE3, NFSSTAT3 } from '../../xdr/nfs3/constants';
import type { Fattr3, NfsTime, Sattr3, SetTime, WccAttr, WccData } from '../../xdr/nfs3/types';
import { FileHandles, Resolved } from '../handles';
import { WriteBehind } from './write-behind';

export const pread = (fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> =>
  new Promise((resolve, reject) => fs.read(fd, buf, off, len, pos, (e, n) => (e ? reject(e) : resolve(n))));
export const fstatBig = promisify((fd: number, cb: (e: NodeJS.ErrnoException | null, s: fs.BigIntStats) => void) => fs.fstat(fd, { bigint: true }, cb));
export const fsyncFd = promisify(fs.fsync);
export const fdatasyncFd = promisify(fs.fdatasync);
const closeFd = promisify(fs.close);
const openFd = promisify(fs.open) as (p: string, flags: number, mode?: number) => Promise<number>;

/** RFC 1813 §3.3.7/§3.3.21: READ/WRITE transfer sizes advertised by FSINFO. */
export const RTMAX = 1024 * 1024;
export const WTMAX = 1024 * 1024;
/** RFC 1813 §3.3.20 PATHCONF name_max, enforced on every name argument. */
export const NAME_MAX = 255;

const ERRNO_TO_NFS: Record<string, number> = {
  EPERM: NFSSTAT3.NFS3ERR_PERM,
  ENOENT: NFSSTAT3.NFS3ERR_NOENT,
  EIO: NFSSTAT3.NFS3ERR_IO,
  ENXIO: NFSSTAT3.NFS3ERR_NXIO,
  EACCES: NFSSTAT3.NFS3ERR_ACCES,
  EBADF: NFSSTAT3.NFS3ERR_ACCES,
  EEXIST: NFSSTAT3.NFS3ERR_EXIST,
  EXDEV: NFSSTAT3.NFS3ERR_XDEV,
  ENODEV: NFSSTAT3.NFS3ERR_NODEV,
  ENOTDIR: NFSSTAT3.NFS3ERR_NOTDIR,
  EISDIR: NFSSTAT3.NFS3ERR_ISDIR,
  EINVAL: NFSSTAT3.NFS3ERR_INVAL,
  ELOOP: NFSSTAT3.NFS3ERR_INVAL,
  EFBIG: NFSSTAT3.NFS3ERR_FBIG,
  ENOSPC: NFSSTAT3.NFS3ERR_NOSPC,
  EROFS: NFSSTAT3.NFS3ERR_ROFS,
  EMLINK: NFSSTAT3.NFS3ERR_MLINK,
  ENAMETOOLONG: NFSSTAT3.NFS3ERR_NAMETOOLONG,
  ENOTEMPTY: NFSSTAT3.NFS3ERR_NOTEMPTY,
  EDQUOT: NFSSTAT3.NFS3ERR_DQUOT,
  ESTALE: NFSSTAT3.NFS3ERR_STALE,
  ENOTSUP: NFSSTAT3.NFS3ERR_NOTSUPP,
  EOPNOTSUPP: NFSSTAT3.NFS3ERR_NOTSUPP,
};

/** Turns a filesystem error into the NfsStatusError the procedure answers with (unknown errno: NFS3ERR_IO). */
export function nfsError(e: unknown): NfsStatusError {
  if (e instanceof NfsStatusError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  return new NfsStatusError(code ? ERRNO_TO_NFS[code] ?? NFSSTAT3.NFS3ERR_IO : NFSSTAT3.NFS3ERR_IO, (e as Error)?.message);
}

const fail = (status: number, why: string): never => {
  throw new NfsStatusError(status, why);
};

export type NameUse = 'lookup' | 'create' | 'remove';

/**
 * Name checks that keep every operation inside the export: a filename3 is one path component (RFC 1813 §2.5).
 * "/" or NUL inside, or an empty name: NFS3ERR_ACCES (what Linux's lookup_one_len gives nfsd). Longer than
 * NAME_MAX bytes: NFS3ERR_NAMETOOLONG. "." and ".." cannot be created (NFS3ERR_EXIST) or removed/renamed
 * (NFS3ERR_INVAL); LOOKUP handles them itself.
 */
export function checkName(name: string, use: NameUse): void {
  if (name.length === 0 || name.includes('/') || name.includes('\0')) fail(NFSSTAT3.NFS3ERR_ACCES, `bad name ${JSON.stringify(name)}`);
  if (Buffer.byteLength(name) > NAME_MAX) fail(NFSSTAT3.NFS3ERR_NAMETOOLONG, 'name too long');
  if (name === '.' || name === '..') {
    if (use === 'create') fail(NFSSTAT3.NFS3ERR_EXIST, `cannot create "${name}"`);
    if (use === 'remove') fail(NFSSTAT3.NFS3ERR_INVAL, `cannot remove or rename "${name}"`);
  }
}

function ftype(mode: bigint): number {
  switch (Number(mode) & fs.constants.S_IFMT) {
    case fs.constants.S_IFREG: return FTYPE3.NF3REG;
    case fs.constants.S_IFDIR: return FTYPE3.NF3DIR;
    case fs.constants.S_IFLNK: return FTYPE3.NF3LNK;
    case fs.constants.S_IFBLK: return FTYPE3.NF3BLK;
    case fs.constants.S_IFCHR: return FTYPE3.NF3CHR;
    case fs.constants.S_IFSOCK: return FTYPE3.NF3SOCK;
    default: return FTYPE3.NF3FIFO;
  }
}

function nfsTime(ns: bigint): NfsTime {
  return { seconds: Number(ns / 1_000_000_000n) >>> 0, nseconds: Number(ns % 1_000_000_000n) };
}

/** RFC 1813 §2.6 fattr3 from an lstat/fstat. */
export function fattr(st: fs.BigIntStats): Fattr3 {
  const rdev = st.rdev;
  // Linux dev_t encoding (major: bits 8-19 and 32-43, minor: bits 0-7 and 20-31).
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)) >>> 0;
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)) >>> 0;
  return {
    type: ftype(st.mode),
    mode: Number(st.mode) & 0o7777,
    nlink: Number(st.nlink),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: st.size,
    used: st.blocks * 512n,
    rdev: { specdata1: major, specdata2: minor },
    fsid: st.dev,
    fileid: st.ino,
    atime: nfsTime(st.atimeNs),
    mtime: nfsTime(st.mtimeNs),
    ctime: nfsTime(st.ctimeNs),
  };
}

export function wccAttr(st: fs.BigIntStats): WccAttr {
  return { size: st.size, mtime: nfsTime(st.mtimeNs), ctime: nfsTime(st.ctimeNs) };
}

export const isDir = (st: fs.BigIntStats): boolean => (Number(st.mode) & fs.constants.S_IFMT) === fs.constants.S_IFDIR;
export const isReg = (st: fs.BigIntStats): boolean => (Number(st.mode) & fs.constants.S_IFMT) === fs.constants.S_IFREG;
export const isLnk = (st: fs.BigIntStats): boolean => (Number(st.mode) & fs.constants.S_IFMT) === fs.constants.S_IFLNK;

export async function lstatOrUndefined(abs: string): Promise<fs.BigIntStats | undefined> {
  try {
    return await fs.promises.lstat(abs, { bigint: true });
  } catch {
    return undefined;
  }
}

/** Offsets index real files through Node numbers: beyond 2^53 is NFS3ERR_FBIG. */
export function fileOffset(off: bigint): number {
  if (off > BigInt(Number.MAX_SAFE_INTEGER)) fail(NFSSTAT3.NFS3ERR_FBIG, `offset ${off} too large`);
  return Number(off);
}

interface FdSlot {
  gen: bigint;
  fd: Promise<number>;
  writable: boolean;
  users: number;
  doomed: boolean;
  /** performance.now() when users last fell to 0 */
  idleSince: number;
}

/** The export as the procedures use it. */
export class Nfs3Export {
  /**
   * RFC 1813 §3.3.7: fixed for this server instance, different after a restart, and changed in place when a
   * deferred write failed (write-behind.ts), so clients resend what they have not committed.
   */
  readonly writeVerifier: Buffer;
  /** UNSTABLE WRITEs executed behind their reply (off unless the server sets a limit) */
  writeBehind = new WriteBehind(0);
  private readonly fds = new Map<bigint, FdSlot>();
  private sweeper?: NodeJS.Timeout;
  /** per inode: the status of a deferred write that failed, reported by the file's next COMMIT */
  private readonly writeErrors = new Map<bigint, number>();

  constructor(
    readonly handles: FileHandles,
    readonly logger: Logger,
    private readonly maxFds = 256,
    /**
     * A cached descriptor unused this long (real ms) is closed, as Linux nfsd's file cache closes NFSv3 files
     * idle for 2 s (fs/nfsd/filecache.c, NFSD_LAUNDRETTE_DELAY): an open descriptor keeps a file that was
     * removed outside NFS from being freed, and a server holding hundreds of such files runs out of space.
     */
    private readonly fdIdleMs = 2000,
  ) {
    this.writeVerifier = crypto.randomBytes(8);
  }

  /** A deferred write failed after its reply: new verifier, and the file's next COMMIT reports `e`. */
  deferredWriteFailed(fh: Buffer, e: unknown): void {
    const status = nfsError(e).status;
    try {
      this.writeErrors.set(this.handles.parse(fh).ino, status);
    } catch {
      // an unparsable handle never reaches the queue
    }
    crypto.randomFillSync(this.writeVerifier);
    this.logger.log('error', 'deferred write failed: write verifier changed', { status, err: (e as Error)?.message, verifier: this.writeVerifier.toString('hex') });
  }

  /** The status of a deferred write of this file that failed since its last COMMIT (then forgotten). */
  takeWriteError(fh: Buffer): number | undefined {
    const { ino } = this.handles.parse(fh);
    const status = this.writeErrors.get(ino);
    this.writeErrors.delete(ino);
    return status;
  }

  get root(): string {
    return this.handles.root;
  }

  resolve(fh: Buffer): Promise<Resolved> {
    return this.handles.resolve(fh);
  }

  async resolveDir(fh: Buffer): Promise<Resolved> {
    const d = await this.handles.resolve(fh);
    if (!isDir(d.stats)) fail(NFSSTAT3.NFS3ERR_NOTDIR, `${d.rel} is not a directory`);
    return d;
  }

  /** The export-relative and absolute path of `name` inside directory `dir` (name already checked). */
  child(dir: Resolved, name: string): { rel: string; abs: string } {
    const rel = dir.rel === '' ? name : `${dir.rel}/${name}`;
    return { rel, abs: this.handles.abs(rel) };
  }

  /** Handle and attributes of an object the procedure just created or found. */
  async describe(rel: string, abs: string): Promise<{ fh: Buffer; attrs: Fattr3; stats: fs.BigIntStats }> {
    const st = await fs.promises.lstat(abs, { bigint: true });
    return { fh: this.handles.make(rel, st), attrs: fattr(st), stats: st };
  }

  /** Attributes of a path now, or undefined (post_op_attr "attributes_follow FALSE"). */
  async attrsOf(abs: string): Promise<Fattr3 | undefined> {
    const st = await lstatOrUndefined(abs);
    return st && fattr(st);
  }

  /** wcc_data around a directory change: `before` is the lstat taken before, `after` taken now. */
  async wcc(abs: string, before?: fs.BigIntStats): Promise<WccData> {
    return { before: before && wccAttr(before), after: await this.attrsOf(abs) };
  }

  /**
   * Runs fn with a cached descriptor of a regular file (opened O_NOFOLLOW: the server never follows a symlink
   * itself). Descriptors are kept per inode, least recently used closed beyond maxFds.
   */
  async withFd<T>(obj: Resolved, write: boolean, fn: (fd: number) => Promise<T>): Promise<T> {
    if (!isReg(obj.stats)) fail(isDir(obj.stats) ? NFSSTAT3.NFS3ERR_ISDIR : NFSSTAT3.NFS3ERR_INVAL, `${obj.rel} is not a regular file`);
    const ino = obj.stats.ino;
    let slot = this.fds.get(ino);
    if (slot && write && !slot.writable) {
      this.retire(ino, slot);
      slot = undefined;
    }
    if (!slot) {
      const flags = fs.constants.O_NOFOLLOW | (write ? fs.constants.O_RDWR : fs.constants.O_RDONLY);
      slot = { gen: BigInt.asUintN(64, obj.stats.birthtimeNs), fd: openFd(obj.abs, flags), writable: write, users: 0, doomed: false, idleSince: 0 };
      this.fds.set(ino, slot);
      this.sweeper ??= setInterval(() => this.closeIdleFds(), Math.max(10, this.fdIdleMs / 2)).unref();
      slot.fd.catch(() => this.fds.get(ino) === slot && this.fds.delete(ino));
      this.trimFds();
    } else {
      this.fds.delete(ino);
      this.fds.set(ino, slot);
    }
    slot.users++;
    try {
      return await fn(await slot.fd);
    } catch (e) {
      throw nfsError(e);
    } finally {
      this.unuse(slot);
    }
  }

  /**
   * READ/WRITE/COMMIT entry point: with a cached descriptor for the handle's inode and generation the lstat is
   * skipped (the descriptor is the object; REMOVE and RENAME-over close it). Otherwise resolve, then withFd.
   * Returns the export-relative path too (for the journal).
   */
  async withFile<T>(fh: Buffer, write: boolean, fn: (fd: number) => Promise<T>): Promise<{ rel: string; value: T }> {
    const { ino, gen } = this.handles.parse(fh);
    const slot = this.fds.get(ino);
    const rel = this.handles.pathOf(fh);
    if (slot && slot.gen === gen && (slot.writable || !write) && !slot.doomed && rel !== undefined) {
      slot.users++;
      try {
        return { rel, value: await fn(await slot.fd) };
      } catch (e) {
        throw nfsError(e);
      } finally {
        this.unuse(slot);
      }
    }
    const obj = await this.resolve(fh);
    return { rel: obj.rel, value: await this.withFd(obj, write, fn) };
  }

  /** Closes the cached descriptor of an inode (after REMOVE, RENAME over it ...). */
  dropFd(ino: bigint): void {
    const slot = this.fds.get(ino);
    if (slot) this.retire(ino, slot);
  }

  private retire(ino: bigint, slot: FdSlot): void {
    if (this.fds.get(ino) === slot) this.fds.delete(ino);
    slot.doomed = true;
    if (slot.users === 0) void slot.fd.then((fd) => closeFd(fd)).catch(() => {});
  }

  private unuse(slot: FdSlot): void {
    if (--slot.users > 0) return;
    slot.idleSince = performance.now();
    if (slot.doomed) void slot.fd.then((fd) => closeFd(fd)).catch(() => {});
  }

  /** Closes descriptors idle for fdIdleMs; the sweep stops when none is cached. */
  private closeIdleFds(): void {
    const before = performance.now() - this.fdIdleMs;
    for (const [ino, slot] of this.fds) if (slot.users === 0 && slot.idleSince <= before) this.retire(ino, slot);
    if (this.fds.size === 0) this.stopSweeper();
  }

  private stopSweeper(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private trimFds(): void {
    if (this.fds.size <= this.maxFds) return;
    for (const [ino, slot] of this.fds) {
      if (this.fds.size <= this.maxFds) break;
      if (slot.users === 0) this.retire(ino, slot);
    }
  }

  /**
   * Closes every cached descriptor (server shutdown). One still in use by a call closes when that call is done:
   * closing it under the call would let the number be reused by another file and the write land there.
   */
  async closeAll(): Promise<void> {
    this.stopSweeper();
    const idle = [...this.fds.entries()].filter(([, s]) => s.users === 0);
    for (const [ino, slot] of this.fds) if (slot.users > 0) this.retire(ino, slot);
    this.fds.clear();
    await Promise.all(idle.map(([, s]) => s.fd.then((fd) => closeFd(fd)).catch(() => {})));
  }

  /**
   * Applies a sattr3 (RFC 1813 §2.6) to a path without following a final symlink. Size applies to regular
   * files only (NFS3ERR_INVAL otherwise, NFS3ERR_ISDIR for a directory).
   */
  async applySattr(abs: string, st: fs.BigIntStats, s: Sattr3): Promise<void> {
    try {
      if (s.uid !== undefined || s.gid !== undefined) await fs.promises.lchown(abs, s.uid ?? -1, s.gid ?? -1);
      if (s.mode !== undefined && !isLnk(st)) await fs.promises.chmod(abs, s.mode & 0o7777);
      if (s.size !== undefined) {
        if (!isReg(st)) fail(isDir(st) ? NFSSTAT3.NFS3ERR_ISDIR : NFSSTAT3.NFS3ERR_INVAL, 'size applies to regular files');
        await fs.promises.truncate(abs, fileOffset(s.size));
      }
      if (s.atime !== undefined || s.mtime !== undefined) {
        await fs.promises.lutimes(abs, toSeconds(s.atime, st.atimeNs), toSeconds(s.mtime, st.mtimeNs));
      }
    } catch (e) {
      throw nfsError(e);
    }
  }
}

function toSeconds(t: SetTime, currentNs: bigint): number {
  if (t === undefined) return Number(currentNs) / 1e9;
  if (t === 'server') return Date.now() / 1000;
  return t.seconds + t.nseconds / 1e9;
}
