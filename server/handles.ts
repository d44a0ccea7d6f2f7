// NFSv3 file handles (RFC 1813 §2.3.3, at most NFS3_FHSIZE = 64 bytes): opaque to clients, stable across server
// restarts, unforgeable. Layout (38 bytes):
//   0      u8   'N' magic          1  u8  layout version (1)
//   2..6   u32  export id (from the export's secret)
//   6..14  u64  inode number       14..22 u64 generation (birth time in ns, low 64 bits; tells a reused inode)
//   22..38      HMAC-SHA256(secret, bytes 0..22) truncated to 16 bytes
// The per-export secret lives on disk (stateDir/handle-secret) so handles survive a restart.
// Node cannot open by inode, so the table maps inode -> export-relative path; a miss (e.g. after a restart)
// rescans the export once. A handle that authenticates but whose object is gone is NFS3ERR_STALE; one that does
// not authenticate (or has the wrong shape) is NFS3ERR_BADHANDLE.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NfsStatusError } from '../core/errors';
import { NFSSTAT3 } from '../xdr/nfs3/constants';

const MAGIC = 0x4e;
const LAYOUT = 1;
const BODY = 22;
/** verified handles remembered (the whole set is dropped when full: a flood of distinct handles costs HMACs only) */
const VERIFIED_MAX = 4096;
const MAC = 16;
export const HANDLE_BYTES = BODY + MAC;

export interface Resolved {
  /** export-relative path, '' for the root, '/'-separated, never containing '..' */
  rel: string;
  /** absolute path on the local filesystem */
  abs: string;
  stats: fs.BigIntStats;
}

export class FileHandles {
  private readonly byIno = new Map<bigint, string>();
  /** handles (as latin1 strings) whose MAC was checked, and what they name */
  private readonly verified = new Map<string, Readonly<{ ino: bigint; gen: bigint }>>();
  private scanning: Promise<void> | null = null;

  private constructor(
    readonly root: string,
    private readonly secret: Buffer,
    readonly exportId: number,
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
    const h = new FileHandles(root, secret, exportId);
    h.byIno.set(fs.lstatSync(root, { bigint: true }).ino, '');
    return h;
  }

  abs(rel: string): string {
    return rel === '' ? this.root : path.join(this.root, rel);
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

  /** Finds the object; NFS3ERR_BADHANDLE for a forged handle, NFS3ERR_STALE for a vanished object. */
  async resolve(fh: Buffer): Promise<Resolved> {
    const { ino, gen } = this.parse(fh);
    const hit = await this.check(ino, gen);
    if (hit) return hit;
    await this.rescan();
    const again = await this.check(ino, gen);
    if (again) return again;
    throw new NfsStatusError(NFSSTAT3.NFS3ERR_STALE, `object ${ino} is gone`);
  }

  private async check(ino: bigint, gen: bigint): Promise<Resolved | null> {
    const rel = this.byIno.get(ino);
    if (rel === undefined) return null;
    const abs = this.abs(rel);
    try {
      const stats = await fs.promises.lstat(abs, { bigint: true });
      if (stats.ino === ino && BigInt.asUintN(64, stats.birthtimeNs) === gen) return { rel, abs, stats };
    } catch {
      /* moved or removed: fall through */
    }
    if (this.byIno.get(ino) === rel) this.byIno.delete(ino);
    return null;
  }

  /** Walks the export (without following symlinks) and re-learns every inode's path. One walk at a time. */
  rescan(): Promise<void> {
    if (!this.scanning) {
      this.scanning = this.walk().finally(() => {
        this.scanning = null;
      });
    }
    return this.scanning;
  }

  private async walk(): Promise<void> {
    const queue = [''];
    while (queue.length) {
      const rel = queue.shift()!;
      let names: fs.Dirent[];
      try {
        names = await fs.promises.readdir(this.abs(rel), { withFileTypes: true });
      } catch {
        continue;
      }
      for (const d of names) {
        const childRel = rel === '' ? d.name : `${rel}/${d.name}`;
        try {
          const st = await fs.promises.lstat(this.abs(childRel), { bigint: true });
          this.byIno.set(st.ino, childRel);
          if (d.isDirectory()) queue.push(childRel);
        } catch {
          /* raced with a removal */
        }
      }
    }
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
