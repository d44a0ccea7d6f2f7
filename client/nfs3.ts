// NFSv3 client API (RFC 1813) over an RpcTransport: one typed async method per procedure, MOUNT v3 and PORTMAP
// GETPORT, mount(), and helpers that split large ranges into wsize/rsize calls. An NFS status is a result value
// (`res.status`), never an exception; transport problems reject with RpcError (codes in client/rpc/transport.ts).
//
// Buffer ownership: write()/writeRange() lend `data` to the transport until the returned promise settles; what
// the transport does with it meanwhile is the retransmit policy's decision. Buffers in results are views of the
// reply record and belong to the caller. UncommittedWrites keeps offsets, counts and verifiers only, never data:
// commitWrites() asks the caller for the bytes of a range it must send again.
import { TestbedError } from '../core/errors';
import { NFS_PROGRAM, NFS_V3, STABLE_HOW } from '../xdr/nfs3/constants';
import { NFS3 } from '../xdr/nfs3/procs';
import type * as T from '../xdr/nfs3/types';
import { MOUNT3, MOUNTSTAT3, MOUNT_PROGRAM, MOUNT_V3, type ExportEntry, type MntRes } from '../xdr/mount';
import { enumName } from '../xdr/reader';
import { PMAP2, IPPROTO } from '../xdr/portmap';
import { AUTH_NONE } from '../xdr/rpc';
import { RpcTransport, type CallInfo, type TransportOptions } from './rpc/transport';

export class Nfs3Client {
  /** The server's FSINFO transfer maxima, once mount() read them; writeRange/readRange refuse larger calls. */
  ioLimits?: { rtmax: number; wtmax: number };

  constructor(readonly rpc: RpcTransport) {}

  // RFC 1813 §3.3.0 - §3.3.21, in procedure-number order.
  null(): Promise<void> { return this.rpc.call(NFS3.NULL, undefined); }
  getattr(a: T.GetattrArgs): Promise<T.GetattrRes> { return this.rpc.call(NFS3.GETATTR, a); }
  setattr(a: T.SetattrArgs): Promise<T.SetattrRes> { return this.rpc.call(NFS3.SETATTR, a); }
  lookup(a: T.LookupArgs): Promise<T.LookupRes> { return this.rpc.call(NFS3.LOOKUP, a); }
  access(a: T.AccessArgs): Promise<T.AccessRes> { return this.rpc.call(NFS3.ACCESS, a); }
  readlink(a: T.ReadlinkArgs): Promise<T.ReadlinkRes> { return this.rpc.call(NFS3.READLINK, a); }
  read(a: T.ReadArgs): Promise<T.ReadRes> { return this.rpc.call(NFS3.READ, a); }
  /** WRITE: `a.data` is lent to the transport until the promise settles. */
  write(a: T.WriteArgs): Promise<T.WriteRes> { return this.rpc.call(NFS3.WRITE, a, { borrowed: [a.data] }); }
  /** WRITE, also giving the XID and its per-XID counters. */
  writeInfo(a: T.WriteArgs): Promise<CallInfo<T.WriteRes>> { return this.rpc.callInfo(NFS3.WRITE, a, { borrowed: [a.data] }); }
  create(a: T.CreateArgs): Promise<T.CreateRes> { return this.rpc.call(NFS3.CREATE, a); }
  mkdir(a: T.MkdirArgs): Promise<T.MkdirRes> { return this.rpc.call(NFS3.MKDIR, a); }
  symlink(a: T.SymlinkArgs): Promise<T.SymlinkRes> { return this.rpc.call(NFS3.SYMLINK, a); }
  mknod(a: T.MknodArgs): Promise<T.MknodRes> { return this.rpc.call(NFS3.MKNOD, a); }
  remove(a: T.RemoveArgs): Promise<T.RemoveRes> { return this.rpc.call(NFS3.REMOVE, a); }
  rmdir(a: T.RmdirArgs): Promise<T.RmdirRes> { return this.rpc.call(NFS3.RMDIR, a); }
  rename(a: T.RenameArgs): Promise<T.RenameRes> { return this.rpc.call(NFS3.RENAME, a); }
  link(a: T.LinkArgs): Promise<T.LinkRes> { return this.rpc.call(NFS3.LINK, a); }
  readdir(a: T.ReaddirArgs): Promise<T.ReaddirRes> { return this.rpc.call(NFS3.READDIR, a); }
  readdirplus(a: T.ReaddirplusArgs): Promise<T.ReaddirplusRes> { return this.rpc.call(NFS3.READDIRPLUS, a); }
  fsstat(a: T.FsstatArgs): Promise<T.FsstatRes> { return this.rpc.call(NFS3.FSSTAT, a); }
  fsinfo(a: T.FsinfoArgs): Promise<T.FsinfoRes> { return this.rpc.call(NFS3.FSINFO, a); }
  pathconf(a: T.PathconfArgs): Promise<T.PathconfRes> { return this.rpc.call(NFS3.PATHCONF, a); }
  commit(a: T.CommitArgs): Promise<T.CommitRes> { return this.rpc.call(NFS3.COMMIT, a); }

  /** LOOKUP each component of a '/'-separated path from `dir`; the first failing status is returned. */
  async lookupPath(dir: T.Fh, path: string): Promise<{ status: 0; fh: T.Fh; attributes?: T.Fattr3 } | { status: number; failedAt: string }> {
    let fh = dir;
    let attributes: T.Fattr3 | undefined;
    for (const name of path.split('/').filter((c) => c && c !== '.')) {
      const r = await this.lookup({ what: { dir: fh, name } });
      if (r.status !== 0) return { status: r.status, failedAt: name };
      fh = r.object;
      attributes = r.objAttributes;
    }
    return { status: 0, fh, attributes };
  }

  /**
   * CREATE (UNCHECKED unless `guarded`) with the given attributes (default mode 0644, size 0: an existing file
   * is truncated), then LOOKUP when the server returned no handle (post_op_fh3 is optional, RFC 1813 §3.3.8).
   */
  async createFile(dir: T.Fh, name: string, opts: { mode?: number; guarded?: boolean; size?: bigint } = {}): Promise<{ status: 0; fh: T.Fh } | { status: number }> {
    const attributes: T.Sattr3 = { mode: opts.mode ?? 0o644, size: opts.size ?? 0n };
    const r = await this.create({ where: { dir, name }, how: { mode: opts.guarded ? 1 : 0, attributes } });
    if (r.status !== 0) return { status: r.status };
    if (r.obj) return { status: 0, fh: r.obj };
    const l = await this.lookup({ what: { dir, name } });
    return l.status === 0 ? { status: 0, fh: l.object } : { status: l.status };
  }

  /**
   * Writes `data` at `offset` as WRITE calls of at most `wsize` bytes, all in flight at once, each referencing a
   * slice of `data` (Linux nfs_direct_write_schedule). Short writes are continued. Resolves when every call
   * completed: from then on the caller may reuse `data`.
   */
  async writeRange(fh: T.Fh, offset: bigint, data: Buffer, opts: { wsize: number; stable?: number; uncommitted?: UncommittedWrites }): Promise<WriteRangeResult> {
    checkIoSize('wsize', opts.wsize, this.ioLimits?.wtmax);
    const stable = opts.stable ?? STABLE_HOW.UNSTABLE;
    const out: WriteRangeResult = { status: 0, count: 0, committed: STABLE_HOW.FILE_SYNC, calls: 0, xids: [] };
    const one = async (start: number, end: number): Promise<void> => {
      while (start < end && out.status === 0) {
        const slice = data.subarray(start, end);
        out.calls++;
        const info = await this.writeInfo({ file: fh, offset: offset + BigInt(start), count: slice.length, stable, data: slice });
        out.xids.push(info.xid);
        const r = info.res;
        if (r.status !== 0) {
          out.status = r.status;
          return;
        }
        if (r.count === 0) throw new TestbedError('NFS_WRITE_ZERO', `WRITE at ${offset + BigInt(start)} wrote 0 bytes`);
        out.count += r.count;
        out.committed = Math.min(out.committed, r.committed);
        out.verf = r.verf;
        opts.uncommitted?.written(fh, offset + BigInt(start), r.count, r.committed, r.verf);
        start += r.count;
      }
    };
    const jobs: Promise<void>[] = [];
    for (let s = 0; s < data.length; s += opts.wsize) jobs.push(one(s, Math.min(data.length, s + opts.wsize)));
    await Promise.all(jobs);
    return out;
  }

  /**
   * COMMIT the whole file (RFC 1813 §3.3.21) and make sure every range `uncommitted` holds for it is durable: a
   * range whose WRITE reply carried a verifier other than the COMMIT's was written to a server instance that has
   * since restarted and may have lost it (§3.3.7), so it is written again (UNSTABLE, bytes from `source`) and the
   * file committed again, until the COMMIT verifier equals the verifier of every write since (Linux:
   * nfs_commit_release_pages redirties such pages). Ranges written while a COMMIT is in flight wait for the next.
   * `source` returns a Buffer the transport may borrow until the resend completes.
   */
  async commitWrites(fh: T.Fh, uncommitted: UncommittedWrites, source: (offset: bigint, count: number) => Buffer, opts: { wsize: number; maxRounds?: number }): Promise<CommitWritesResult> {
    const out: CommitWritesResult = { status: 0, commits: 0, resent: [] };
    const maxRounds = opts.maxRounds ?? 8;
    for (;;) {
      const covered = uncommitted.ranges(fh);
      const c = await this.commit({ file: fh, offset: 0n, count: 0 });
      out.commits++;
      if (c.status !== 0) {
        out.status = c.status;
        return out;
      }
      out.verf = c.verf;
      const lost = uncommitted.committed(fh, covered, c.verf);
      if (lost.length === 0) return out;
      if (out.commits >= maxRounds) {
        throw new TestbedError('NFS_VERIFIER_UNSTABLE', `COMMIT verifier still differs from the writes' after ${out.commits} rounds of resending`, { ranges: lost.length });
      }
      const writes = await Promise.all(lost.map((r) => this.writeRange(fh, r.offset, source(r.offset, r.count), { wsize: opts.wsize, stable: STABLE_HOW.UNSTABLE, uncommitted })));
      out.resent.push(...lost.map((r) => ({ offset: r.offset, count: r.count })));
      const failed = writes.find((w) => w.status !== 0);
      if (failed) {
        out.status = failed.status;
        return out;
      }
    }
  }

  /** Reads `length` bytes from `offset` as READ calls of at most `rsize`, `parallel` at a time; stops at EOF. */
  async readRange(fh: T.Fh, offset: bigint, length: number, opts: { rsize: number; parallel?: number }): Promise<{ status: number; data: Buffer }> {
    checkIoSize('rsize', opts.rsize, this.ioLimits?.rtmax);
    const out = Buffer.alloc(length);
    let got = 0;
    let status = 0;
    let next = 0;
    const worker = async () => {
      while (status === 0 && next < length) {
        const start = next;
        next = Math.min(length, next + opts.rsize);
        let pos = start;
        while (pos < next && status === 0) {
          const r = await this.read({ file: fh, offset: offset + BigInt(pos), count: Math.min(opts.rsize, start + opts.rsize - pos) });
          if (r.status !== 0) {
            status = r.status;
            return;
          }
          r.data.copy(out, pos);
          pos += r.data.length;
          got = Math.max(got, pos);
          if (r.eof || r.data.length === 0) return;
        }
      }
    };
    await Promise.all(Array.from({ length: opts.parallel ?? 4 }, worker));
    return { status, data: out.subarray(0, got) };
  }
}

export interface WriteRangeResult {
  status: number;
  count: number;
  /** the weakest stable_how the server reported */
  committed: number;
  verf?: Buffer;
  calls: number;
  xids: number[];
}

export interface CommitWritesResult {
  /** the first failing nfsstat3 of a COMMIT or a resent WRITE, else 0 */
  status: number;
  /** COMMIT calls made */
  commits: number;
  /** ranges written again because the verifier changed (one entry per resend) */
  resent: Array<{ offset: bigint; count: number }>;
  /** the last COMMIT verifier */
  verf?: Buffer;
}

/** One WRITE reply's range that is not known to be on stable storage yet, with the verifier that reply carried. */
export interface UncommittedRange {
  offset: bigint;
  count: number;
  verf: Buffer;
}

/**
 * Per file, the ranges written UNSTABLE or DATA_SYNC (RFC 1813 §3.3.7: anything but FILE_SYNC needs a COMMIT)
 * since the last COMMIT that covered them, each with its WRITE reply's verifier. Ranges are keyed by offset: a
 * later write at the same offset replaces the earlier one. Holds no data. Also counts verifier changes: a WRITE
 * or COMMIT reply whose verifier differs from the previous reply's (the server restarted in between).
 */
export class UncommittedWrites {
  verifierChanges = 0;
  private lastVerf?: Buffer;
  private readonly files = new Map<string, Map<bigint, UncommittedRange>>();

  /** Notes a successful WRITE reply. */
  written(fh: T.Fh, offset: bigint, count: number, committed: number, verf: Buffer): void {
    this.observe(verf);
    const key = fh.toString('hex');
    let file = this.files.get(key);
    if (committed === STABLE_HOW.FILE_SYNC) {
      // Durable already; an uncommitted range with the same start is superseded only when this one covers it.
      const old = file?.get(offset);
      if (old && old.count <= count) file!.delete(offset);
      return;
    }
    if (!file) this.files.set(key, (file = new Map()));
    file.set(offset, { offset, count, verf: Buffer.from(verf) });
  }

  /** Notes a verifier from any reply (WRITE or COMMIT). */
  observe(verf: Buffer): void {
    if (this.lastVerf && !this.lastVerf.equals(verf)) this.verifierChanges++;
    if (!this.lastVerf || !this.lastVerf.equals(verf)) this.lastVerf = Buffer.from(verf);
  }

  /** The file's uncommitted ranges now (a snapshot: what a COMMIT sent now covers). */
  ranges(fh: T.Fh): UncommittedRange[] {
    return [...(this.files.get(fh.toString('hex'))?.values() ?? [])];
  }

  /** Bytes of the file not committed yet. */
  pendingBytes(fh: T.Fh): number {
    return this.ranges(fh).reduce((n, r) => n + r.count, 0);
  }

  /**
   * A COMMIT covering `covered` (taken with ranges() before it was sent) answered with `verf`: ranges written
   * with that verifier are durable and forgotten; the ones written with another verifier are returned, to be
   * written again (they stay tracked until a later write replaces them). Ranges rewritten meanwhile are left alone.
   */
  committed(fh: T.Fh, covered: readonly UncommittedRange[], verf: Buffer): UncommittedRange[] {
    this.observe(verf);
    const file = this.files.get(fh.toString('hex'));
    const lost: UncommittedRange[] = [];
    for (const r of covered) {
      if (file?.get(r.offset) !== r) continue;
      if (r.verf.equals(verf)) file.delete(r.offset);
      else lost.push(r);
    }
    if (file?.size === 0) this.files.delete(fh.toString('hex'));
    return lost;
  }
}

/** MOUNT v3 (RFC 1813 Appendix I) calls on a transport connected to the MOUNT service. */
export class MountClient {
  constructor(readonly rpc: RpcTransport) {}
  mnt(dirpath: string): Promise<MntRes> { return this.rpc.call(MOUNT3.MNT, { dirpath }); }
  umnt(dirpath: string): Promise<void> { return this.rpc.call(MOUNT3.UMNT, { dirpath }); }
  export(): Promise<ExportEntry[]> { return this.rpc.call(MOUNT3.EXPORT, undefined); }
}

/** PORTMAP v2 GETPORT (RFC 1833 §3.2) over TCP; 0 means not registered. */
export async function pmapGetport(host: string, prog: number, vers: number, opts: { port?: number; transport?: Partial<TransportOptions> } = {}): Promise<number> {
  const t = new RpcTransport({ ...opts.transport, host, port: opts.port ?? 111, cred: AUTH_NONE, label: 'portmap' });
  try {
    await t.connect();
    return await t.call(PMAP2.GETPORT, { prog, vers, prot: IPPROTO.TCP, port: 0 });
  } finally {
    await t.close();
  }
}

/** include/linux/nfs_fs.h: the client's I/O size bounds. */
export const NFS_MAX_FILE_IO_SIZE = 1 << 20;
const NFS_DEF_FILE_IO_SIZE = 4096;
const NFS_MIN_FILE_IO_SIZE = 1024;

/**
 * fs/nfs/internal.h nfs_block_size() as in 6.1: below NFS_MIN_FILE_IO_SIZE the default, above the maximum the
 * maximum, otherwise rounded down to a power of two (nfs_block_bits). 6.2+ nfs_io_size() rounds to PAGE_SIZE.
 */
export function nfsBlockSize(bsize: number): number {
  if (bsize < NFS_MIN_FILE_IO_SIZE) return NFS_DEF_FILE_IO_SIZE;
  if (bsize >= NFS_MAX_FILE_IO_SIZE) return NFS_MAX_FILE_IO_SIZE;
  return 2 ** Math.floor(Math.log2(bsize));
}

/**
 * The transfer size a mount uses for `requested` bytes given the server's FSINFO maximum `tmax` (RFC 1813
 * §3.3.19 rtmax/wtmax): fs/nfs/client.c nfs_server_set_fsinfo() clamps to nfs_block_size(tmax) when the server
 * names a maximum of at least 512, and never exceeds NFS_MAX_FILE_IO_SIZE.
 */
export function clampIoSize(requested: number, tmax: number): number {
  let size = requested;
  if (tmax >= 512 && size > tmax) size = nfsBlockSize(tmax);
  return Math.min(size, NFS_MAX_FILE_IO_SIZE);
}

/** A call larger than the server's FSINFO maximum fails at once: such a record is refused by the server (nfsd
 * closes the connection, "RPC fragment too large") and a hard mount would resend it forever. */
function checkIoSize(name: 'wsize' | 'rsize', size: number, tmax: number | undefined): void {
  if (tmax !== undefined && tmax >= 512 && size > tmax) {
    throw new TestbedError('IO_SIZE_EXCEEDS_SERVER_MAX', `${name} ${size} exceeds the server's FSINFO ${name === 'wsize' ? 'wtmax' : 'rtmax'} ${tmax}; use clampIoSize() or a smaller --${name}`, { size, tmax });
  }
}

export interface MountOptions {
  host: string;
  /** NFS port; found through PORTMAP when omitted and `portmap` is set */
  port?: number;
  exportPath: string;
  /** MOUNT port; omitted: MOUNT calls go over the NFS connection (same port), unless `portmap` finds one */
  mountPort?: number;
  /** ask PORTMAP (at this port, default 111) for the ports not given */
  portmap?: boolean | number;
  /** policy, timers, time scale, seed ... for the NFS transport (the MOUNT transport shares them) */
  transport?: Partial<TransportOptions>;
}

export interface NfsMount {
  nfs: Nfs3Client;
  mount: MountClient;
  root: T.Fh;
  authFlavors: number[];
  host: string;
  port: number;
  mountPort: number;
  /** the export root's FSINFO (RFC 1813 §3.3.19) read at mount, as Linux nfs_probe_fsinfo does; undefined when
   * the server answered it with an error */
  fsinfo?: { rtmax: number; rtpref: number; wtmax: number; wtpref: number };
  /** UMNT and close both transports */
  unmount(): Promise<void>;
}

/** MNT `exportPath` and connect the NFS transport. Throws TestbedError MNT_FAILED naming the mountstat3 (MNT3ERR_NOENT ...). */
export async function mount(opts: MountOptions): Promise<NfsMount> {
  let port = opts.port;
  let mountPort = opts.mountPort;
  if (opts.portmap) {
    const pm = { port: typeof opts.portmap === 'number' ? opts.portmap : 111, transport: { timeScale: opts.transport?.timeScale } };
    if (port === undefined) port = await pmapGetport(opts.host, NFS_PROGRAM, NFS_V3, pm);
    if (mountPort === undefined) mountPort = await pmapGetport(opts.host, MOUNT_PROGRAM, MOUNT_V3, pm);
    if (!port || !mountPort) throw new TestbedError('PMAP_NOT_REGISTERED', `portmap at ${opts.host} has no TCP registration for ${!port ? 'NFS v3' : 'MOUNT v3'}`);
  }
  if (port === undefined) throw new TestbedError('NFS_PORT_MISSING', 'no NFS port given and portmap not asked');
  const nfsRpc = new RpcTransport({ ...opts.transport, host: opts.host, port, label: 'nfs' });
  await nfsRpc.connect();
  const separate = mountPort !== undefined && mountPort !== port;
  const mountRpc = separate ? new RpcTransport({ ...opts.transport, host: opts.host, port: mountPort!, label: 'mount', policy: 'linux-2008' }) : nfsRpc;
  try {
    if (separate) await mountRpc.connect();
    const m = new MountClient(mountRpc);
    const r = await m.mnt(opts.exportPath);
    if (r.status !== 0) throw new TestbedError('MNT_FAILED', `MNT ${opts.exportPath} on ${opts.host}: ${enumName(MOUNTSTAT3, r.status)} (mountstat3 ${r.status})`, { status: r.status, statusName: enumName(MOUNTSTAT3, r.status) });
    const nfs = new Nfs3Client(nfsRpc);
    const root = Buffer.from(r.fhandle);
    // fs/nfs/client.c nfs_probe_fsinfo: the transfer sizes come from the server before the first I/O.
    const fi = await nfs.fsinfo({ fsroot: root });
    const fsinfo = fi.status === 0 ? { rtmax: fi.rtmax, rtpref: fi.rtpref, wtmax: fi.wtmax, wtpref: fi.wtpref } : undefined;
    if (fsinfo) nfs.ioLimits = { rtmax: fsinfo.rtmax, wtmax: fsinfo.wtmax };
    return {
      nfs,
      fsinfo,
      mount: m,
      root,
      authFlavors: r.authFlavors,
      host: opts.host,
      port,
      mountPort: mountPort ?? port,
      async unmount() {
        try {
          await m.umnt(opts.exportPath);
        } finally {
          if (separate) await mountRpc.close();
          await nfsRpc.close();
        }
      },
    };
  } catch (e) {
    if (separate) await mountRpc.close();
    await nfsRpc.close();
    throw e;
  }
}
