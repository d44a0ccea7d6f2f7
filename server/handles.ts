// NFSv3 file handles (RFC 1813 §2.3.3, at most NFS3_FHSIZE = 64 bytes): opaque to clients, stable across server
// restarts, unforgeable. Layout (38 bytes):
//   0      u8   'N' magic          1  u8  layout version (1)
//   2..6   u32  export id (from the export's secret)
//   6..14  u64  inode number       14..22 u64 generation (birth time in ns, low 64 bits; tells a reused inode)
//   22..38      HMAC-SHA256(secret, bytes 0..22) truncated to 16 bytes
// The per-export secret lives on disk (stateDir/handle-secret) so handles survive a restart.
// Node cannot open by inode, so the table maps inode -> export-relative path, a hint only: resolving a handle walks
// that path from a descriptor of the export root, one component at a time with O_PATH|O_NOFOLLOW (a symlink
// swapped in anywhere on the way stops the walk; nothing outside is opened, not even for a stat), and the object
// reached counts only if its inode and generation are the handle's. A miss (a rename behind our back, a restart)
// rescans the export once, by the same descriptor walk. A handle that authenticates but whose object is gone is
// NFS3ERR_STALE; one that does not authenticate (or has the wrong shape) is NFS3ERR_BADHANDLE.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NfsStatusError } from '../core/errors';
import { NFSSTAT3 } from '../xdr/nfs3/constants';
import { O_DIRECTORY, O_NOFOLLOW, O_PATH, atPath, checkProcFd, closeQuietly, fdPath, fstatBig, openAsync } from './fs-at';

const MAGIC = 0x4e;
const LAYOUT = 1;
const BODY = 22;
/** verified handles remembered (the whole set is dropped when full: a flood of distinct handles costs HMACs only) */
const VERIFIED_MAX = 4096;
const MAC = 16;
export const HANDLE_BYTES = BODY + MAC;

/** An object a handle names, held by a descriptor verified against the handle. */
export interface Resolved {
  /** export-relative path, '' for the root, '/'-separated, never containing '..' (where it was found) */
  rel: string;
  /**
   * O_PATH descriptor of exactly the handle's object, owned by whoever resolved it (the export's root
   * descriptor for the root: never close that one). Act on it through fdPath/atPath (fs-at.ts).
   */
  fd: number;
  /** its fstat when resolved */
  stats: fs.BigIntStats;
}

const sameObject = (st: fs.BigIntStats, ino: bigint, gen: bigint): boolean => st.ino === ino && BigInt.asUintN(64, st.birthtimeNs) === gen;
/** A directory that was removed (rmdir leaves its inode with no links) is gone for NFS, though we hold it. */
const removedDir = (st: fs.BigIntStats): boolean => st.nlink === 0n && st.isDirectory();

export class FileHandles {
  private readonly byIno = new Map<bigint, string>();
  /** handles (as latin1 strings) whose MAC was checked, and what they name */
  private readonly verified = new Map<string, Readonly<{ ino: bigint; gen: bigint }>>();
  private scanning: Promise<void> | null = null;
  /** calls between enter() and leave(): the root descriptor stays open until none is left */
  private users = 0;
  private closed?: () => void;

  private constructor(
    readonly root: string,
    private readonly secret: Buffer,
    readonly exportId: number,
    /** O_PATH descriptor of the export root, held for the server's life: every walk starts here */
    readonly rootFd: number,
  ) {}

  /** Loads (or creates, mode 0600) the export's secret in `stateDir` and indexes the root. */
  static async open(root: string, stateDir: string): Promise<FileHandles> {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const file = path.join(stateDir, 'handle-secret');
    let secret: Buffer;
    try {
      secret = fs.readFileSync(file);
      if (secret.length !== 32) throw new Error('bad secret length');
    } catch {
      secret = crypto.randomBytes(32);
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, secret, { mode: 0o600 });
      fs.renameSync(tmp, file);
    }
    const exportId = crypto.createHmac('sha256', secret).update('export-id').digest().readUInt32BE(0);
    checkProcFd(root);
    const rootFd = fs.openSync(root, O_PATH | O_DIRECTORY | O_NOFOLLOW);
    const h = new FileHandles(root, secret, exportId, rootFd);
    h.byIno.set(fs.fstatSync(rootFd, { bigint: true }).ino, '');
    return h;
  }

  /** A call that may use the root descriptor begins (every NFS and MOUNT call that resolves anything). */
  enter(): void {
    this.users++;
  }

  leave(): void {
    if (--this.users === 0 && this.closed) this.closed();
  }

  /**
   * Closes the root descriptor once no call uses it (server shutdown: connections are gone, but a procedure may
   * still be running; closed under it, the number could name another file by the time it walks from it).
   */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.closed = () => {
        fs.closeSync(this.rootFd);
        resolve();
      };
      if (this.users === 0) this.closed();
    });
  }

  /** Where `rel` is on the local filesystem (logs and reports only: the server itself never acts on this path). */
  abs(rel: string): string {
    return rel === '' ? this.root : path.join(this.root, rel);
  }

  /**
   * Walks `rel` from the root descriptor, one component at a time, never following a symlink: every component
   * but the last must be a real directory (ENOTDIR otherwise). Returns an O_PATH descriptor of what the last
   * component names (the root descriptor itself for ''), which the caller owns.
   */
  async walk(rel: string): Promise<number> {
    if (rel === '') return this.rootFd;
    const parts = rel.split('/');
    let fd = this.rootFd;
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      let next: number;
      try {
        next = await openAsync(atPath(fd, parts[i]), O_PATH | O_NOFOLLOW | (last ? 0 : O_DIRECTORY));
      } finally {
        if (fd !== this.rootFd) closeQuietly(fd);
      }
      fd = next;
    }
    return fd;
  }

  /** Closes a descriptor walk() or resolve() gave out (the root's stays open). */
  release(fd: number): void {
    if (fd !== this.rootFd) closeQuietly(fd);
  }

  /** Makes the handle for an object at `rel` whose lstat is `st`, and remembers where it lives. */
  make(rel: string, st: fs.BigIntStats): Buffer {
    this.byIno.set(st.ino, rel);
    const fh = Buffer.allocUnsafe(HANDLE_BYTES);
    fh[0] = MAGIC;
    fh[1] = LAYOUT;
    fh.writeUInt32BE(this.exportId, 2);
    fh.writeBigUInt64BE(st.ino, 6);
    fh.writeBigUInt64BE(BigInt.asUintN(64, st.birthtimeNs), 14);
    this.mac(fh.subarray(0, BODY)).copy(fh, BODY);
    return fh;
  }

  private mac(body: Buffer): Buffer {
    return crypto.createHmac('sha256', this.secret).update(body).digest().subarray(0, MAC);
  }

  /** Checks shape and MAC; NFS3ERR_BADHANDLE otherwise. Returns the inode and generation. */
  parse(fh: Buffer): { ino: bigint; gen: bigint } {
    if (fh.length !== HANDLE_BYTES || fh[0] !== MAGIC || fh[1] !== LAYOUT || fh.readUInt32BE(2) !== this.exportId) {
      throw new NfsStatusError(NFSSTAT3.NFS3ERR_BADHANDLE, 'not one of our handles');
    }
    // Handles whose MAC checked out before (same bytes, same secret) skip the HMAC: a bulk WRITE or READ stream
    // presents one handle per call.
    const key = fh.toString('latin1');
    let ids = this.verified.get(key);
    if (!ids) {
      if (!crypto.timingSafeEqual(this.mac(fh.subarray(0, BODY)), fh.subarray(BODY))) {
        throw new NfsStatusError(NFSSTAT3.NFS3ERR_BADHANDLE, 'handle MAC mismatch');
      }
      if (this.verified.size >= VERIFIED_MAX) this.verified.clear();
      ids = Object.freeze({ ino: fh.readBigUInt64BE(6), gen: fh.readBigUInt64BE(14) });
      this.verified.set(key, ids);
    }
    return ids;
  }

  /** Export-relative path last known for a handle (no I/O; journal and logs). */
  pathOf(fh: Buffer): string | undefined {
    if (fh.length !== HANDLE_BYTES) return undefined;
    return this.byIno.get(fh.readBigUInt64BE(6));
  }

  /**
   * Finds the object and opens it (O_PATH, verified against the handle: the caller must release() the
   * descriptor); NFS3ERR_BADHANDLE for a forged handle, NFS3ERR_STALE for a vanished object.
   */
  async resolve(fh: Buffer): Promise<Resolved> {
    const { ino, gen } = this.parse(fh);
    const hit = await this.open(ino, gen);
    if (hit) return hit;
    await this.rescan();
    const again = await this.open(ino, gen);
    if (again) return again;
    throw new NfsStatusError(NFSSTAT3.NFS3ERR_STALE, `object ${ino} is gone`);
  }

  private async open(ino: bigint, gen: bigint): Promise<Resolved | null> {
    const rel = this.byIno.get(ino);
    if (rel === undefined) return null;
    let fd: number | undefined;
    try {
      fd = await this.walk(rel);
      const stats = await fstatBig(fd);
      if (sameObject(stats, ino, gen) && !removedDir(stats)) return { rel, fd, stats };
    } catch {
      /* moved or removed: fall through */
    }
    if (fd !== undefined) this.release(fd);
    if (this.byIno.get(ino) === rel) this.byIno.delete(ino);
    return null;
  }

  /** Walks the export (without following symlinks) and re-learns every inode's path. One walk at a time. */
  rescan(): Promise<void> {
    if (!this.scanning) {
      this.scanning = this.scan().finally(() => {
        this.scanning = null;
      });
    }
    return this.scanning;
  }

  /** Depth first from the root descriptor, subdirectories opened O_NOFOLLOW: never leaves the export. */
  private async scan(): Promise<void> {
    const visit = async (dirFd: number, rel: string): Promise<void> => {
      let names: string[];
      try {
        names = await fs.promises.readdir(fdPath(dirFd));
      } catch {
        return;
      }
      for (const name of names) {
        const childRel = rel === '' ? name : `${rel}/${name}`;
        let sub: number;
        try {
          const st = await fs.promises.lstat(atPath(dirFd, name), { bigint: true });
          this.byIno.set(st.ino, childRel);
          if (!st.isDirectory()) continue;
          sub = await openAsync(atPath(dirFd, name), O_PATH | O_NOFOLLOW | O_DIRECTORY);
        } catch {
          continue; // raced with a removal or a swap
        }
        try {
          await visit(sub, childRel);
        } finally {
          closeQuietly(sub);
        }
      }
    };
    await visit(this.rootFd, '');
  }

  /** After a rename: the object and, for a directory, everything below it moved. */
  renamed(fromRel: string, toRel: string): void {
    const prefix = fromRel + '/';
    for (const [ino, rel] of this.byIno) {
      if (rel === fromRel) this.byIno.set(ino, toRel);
      else if (rel.startsWith(prefix)) this.byIno.set(ino, toRel + rel.slice(fromRel.length));
    }
  }

  forget(ino: bigint): void {
    this.byIno.delete(ino);
  }
}
