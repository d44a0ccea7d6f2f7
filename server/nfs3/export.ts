// The export as the NFSv3 procedures use it: handles resolved to descriptors verified against the handle (held
// for the call, closed when its procedure returns), the descriptor cache for READ/WRITE/COMMIT, the write
// verifier and the failures of deferred writes. The procedures themselves live one per file (on-<proc>.ts).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import type { Logger } from '../../core/log';
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import type { Fattr3, WccData } from '../../xdr/nfs3/types';
import { O_NOCTTY, O_RDONLY, O_RDWR, atPath, fdPath, fstatBig, memoryBacked, openAsync } from '../fs-at';
import { FileHandles, Resolved } from '../handles';
import type { CallContext } from '../rpc/program';
import { fattr, isDir, isReg, wccAttr } from './attrs';
import { fail, nfsError } from './errno';
import { FdCache } from './fd-cache';
import { DEFAULT_SQUASH, Identity, SquashPolicy, identityOf } from './identity';
import { RTMAX } from './limits';
import { MAY, inodeOf, modeAfterWrite, nfsdPermission } from './permission';
import { WriteBehind } from './write-behind';

/**
 * How READ, WRITE and COMMIT use a file: the descriptor they need and the access nfsd_file_acquire checks
 * (nfsd_read: NFSD_MAY_READ, nfsd_write: NFSD_MAY_WRITE, nfsd_commit: NFSD_MAY_WRITE, each with the owner
 * override nfsd_file_do_acquire adds).
 */
const fchmod = promisify(fs.fchmod);

export type FileUse = 'read' | 'write' | 'commit';
const FILE_USE: Record<FileUse, { write: boolean; acc: number }> = {
  read: { write: false, acc: MAY.READ | MAY.OWNER_OVERRIDE },
  write: { write: true, acc: MAY.WRITE | MAY.OWNER_OVERRIDE },
  commit: { write: false, acc: MAY.WRITE | MAY.OWNER_OVERRIDE },
};

export class Nfs3Export {
  /**
   * RFC 1813 §3.3.7: fixed for this server instance, different after a restart, and changed in place when a
   * deferred write failed (write-behind.ts), so clients resend what they have not committed.
   */
  readonly writeVerifier: Buffer;
  /** UNSTABLE WRITEs executed behind their reply (off unless the server sets a limit) */
  writeBehind = new WriteBehind(0);
  /** root_squash, all_squash, anonuid/anongid (identity.ts) */
  squash: SquashPolicy = DEFAULT_SQUASH;
  /** largest READ/WRITE payload and READDIR reply: what the record limit allows (limits.ts maxPayload) */
  maxPayload = RTMAX;
  private readonly fds: FdCache;
  /** per inode: the status of a deferred write that failed, reported by the file's next COMMIT */
  private readonly writeErrors = new Map<bigint, number>();
  /** tail of the creations that must not overlap (serially()) */
  private creating: Promise<unknown> = Promise.resolve();
  /** descriptors each call resolved, closed by release() once its procedure has returned (nfs3/index.ts) */
  private readonly held = new WeakMap<CallContext, number[]>();
  /**
   * Per device (st_dev): whether its file system's pages are memory (fs-at memoryBacked). One statfs per device
   * for the server's life, not one per opened file: an open is then no slower than before, which matters beyond
   * CPU, since a modelled run's packet timing follows the server's latency (an extra thread-pool round trip per
   * open moved test/captures-crosscheck's stall phase: 24 major timeouts instead of 153). A mount inside the
   * export has its own device and is asked on its own. Should an anonymous device number be reused by another
   * mount, a stale answer only moves a file's I/O between the event loop and the thread pool, never its bytes.
   */
  private readonly memoryDevs = new Map<bigint, boolean>();

  constructor(
    readonly handles: FileHandles,
    readonly logger: Logger,
    maxFds = 256,
    fdIdleMs = 2000,
  ) {
    this.writeVerifier = crypto.randomBytes(8);
    this.fds = new FdCache(maxFds, fdIdleMs);
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

  /** Who the call acts as (nfsd_setuser). */
  who(ctx: CallContext): Identity {
    return identityOf(ctx.auth, this.squash);
  }

  /** A call begins (nfs3/index.ts): the root descriptor stays open until it is released. */
  begin(): void {
    this.handles.enter();
  }

  /** Keeps `fd` open until the call's procedure has returned. */
  hold(ctx: CallContext, fd: number): void {
    const list = this.held.get(ctx);
    if (list) list.push(fd);
    else this.held.set(ctx, [fd]);
  }

  /** Closes what the call held (its procedure has returned; nothing it started still uses the numbers). */
  release(ctx: CallContext): void {
    const list = this.held.get(ctx);
    if (list) {
      this.held.delete(ctx);
      for (const fd of list) this.handles.release(fd);
    }
    this.handles.leave();
  }

  /** Runs fn after every earlier serially() call settled (MKDIR and SYMLINK creation, dir-op.ts holdCreated). */
  serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.creating.then(fn, fn);
    this.creating = run.catch(() => undefined);
    return run;
  }

  /** The handle's object, held by a verified descriptor for this call (handles.ts). */
  async resolve(ctx: CallContext, fh: Buffer): Promise<Resolved> {
    const obj = await this.handles.resolve(fh);
    this.hold(ctx, obj.fd);
    return obj;
  }

  async resolveDir(ctx: CallContext, fh: Buffer): Promise<Resolved> {
    const d = await this.resolve(ctx, fh);
    if (!isDir(d.stats)) fail(NFSSTAT3.NFS3ERR_NOTDIR, `${d.rel} is not a directory`);
    return d;
  }

  /** The export-relative path of `name` inside directory `dir` (name already checked). */
  child(dir: Resolved, name: string): string {
    return dir.rel === '' ? name : `${dir.rel}/${name}`;
  }

  /** Handle and attributes of `name` in `dir` as it is now (never following a symlink), for LOOKUP and listings. */
  async describeAt(dir: Resolved, name: string, rel: string): Promise<{ fh: Buffer; attrs: Fattr3; stats: fs.BigIntStats }> {
    const st = await fs.promises.lstat(atPath(dir.fd, name), { bigint: true });
    return { fh: this.handles.make(rel, st), attrs: fattr(st), stats: st };
  }

  /** Handle and attributes of an object held by a descriptor (one the procedure created and verified). */
  async describeFd(rel: string, fd: number): Promise<{ fh: Buffer; attrs: Fattr3; stats: fs.BigIntStats }> {
    const st = await fstatBig(fd);
    return { fh: this.handles.make(rel, st), attrs: fattr(st), stats: st };
  }

  /** Attributes of a held object now, or undefined (post_op_attr "attributes_follow FALSE"). */
  async attrsOf(obj: Resolved): Promise<Fattr3 | undefined> {
    try {
      return fattr(await fstatBig(obj.fd));
    } catch {
      return undefined;
    }
  }

  /** wcc_data around a change of a held object: before is its stat when resolved, after is taken now. */
  async wcc(obj: Resolved): Promise<WccData> {
    return { before: wccAttr(obj.stats), after: await this.attrsOf(obj) };
  }

  /**
   * READ/WRITE/COMMIT: runs fn with a cached descriptor of the handle's regular file, once the caller may use it
   * so (nfsd_permission against the inode as it is now; a WRITE by a caller without CAP_FSETID first drops the
   * set-id bits, as file_remove_privs). A cached descriptor for the handle's inode and generation skips the
   * resolution (the descriptor is the object; REMOVE and RENAME-over retire it); otherwise the handle is resolved
   * to a verified descriptor and the file reopened through it, so the cache only ever holds the handle's own
   * inode. fn also learns whether the file's pages are memory (FdSlot.inMemory). Returns the export-relative path
   * too (for the journal).
   */
  async withFile<T>(ctx: CallContext, fh: Buffer, use: FileUse, fn: (fd: number, inMemory: boolean) => Promise<T>): Promise<{ rel: string; value: T }> {
    const { write, acc } = FILE_USE[use];
    const { ino, gen } = this.handles.parse(fh);
    const rel = this.handles.pathOf(fh);
    let slot = rel === undefined ? undefined : this.fds.take(ino, gen, write);
    let where = rel;
    let stats: fs.BigIntStats | undefined;
    if (!slot) {
      const obj = await this.resolve(ctx, fh);
      if (!isReg(obj.stats)) fail(isDir(obj.stats) ? NFSSTAT3.NFS3ERR_ISDIR : NFSSTAT3.NFS3ERR_INVAL, `${obj.rel} is not a regular file`);
      // The O_PATH descriptor is held until this call returns, so the reopen through it names this inode.
      let inMemory = this.memoryDevs.get(obj.stats.dev);
      if (inMemory === undefined) this.memoryDevs.set(obj.stats.dev, (inMemory = memoryBacked(obj.fd)));
      slot = this.fds.add(ino, gen, write, () => openAsync(fdPath(obj.fd), (write ? O_RDWR : O_RDONLY) | O_NOCTTY), inMemory);
      where = obj.rel;
      stats = obj.stats;
    }
    try {
      const fd = await slot.fd;
      const who = this.who(ctx);
      // nfsd's CAP_DAC_OVERRIDE lets fsuid 0 read and write any regular file: the bulk path skips the fstat.
      if (!who.capable) {
        const ino = inodeOf(stats ?? fs.fstatSync(fd));
        const status = nfsdPermission(who, ino, acc);
        if (status) fail(status, `${where}: ${use} not permitted for uid ${who.uid}`);
        const mode = use === 'write' ? modeAfterWrite(who, ino) : undefined;
        if (mode !== undefined) await fchmod(fd, mode);
      }
      return { rel: where!, value: await fn(fd, slot.inMemory) };
    } catch (e) {
      throw nfsError(e);
    } finally {
      this.fds.put(slot);
    }
  }

  /** Closes the cached descriptor of an inode (after REMOVE, RENAME over it ...). */
  dropFd(ino: bigint): void {
    this.fds.drop(ino);
  }

  /** Closes every cached descriptor and the root's (server shutdown). */
  async closeAll(): Promise<void> {
    await this.fds.closeAll();
    await this.handles.close();
  }
}
