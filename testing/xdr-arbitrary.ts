// Seeded random values for every NFSv3 / MOUNT v3 / PORTMAP v2 argument and result type, for property tests.
// core/prng.ts (mulberry32) keeps runs reproducible: same seed, same values.
import { FTYPE3, NFSSTAT3 } from '../xdr/nfs3/constants';
import type * as T from '../xdr/nfs3/types';
import { Prng } from '../core/prng';
import { MOUNTSTAT3 } from '../xdr/mount';
import type { PmapMapping } from '../xdr/portmap';

export class Rng extends Prng {
  /** integer in [0, n) */
  int(n: number): number {
    return this.u32() % n;
  }
  bool(): boolean {
    return (this.u32() & 1) === 1;
  }
  u64(): bigint {
    // bias toward edge values: they are where sign and width bugs hide
    switch (this.int(4)) {
      case 0:
        return 0n;
      case 1:
        return 0xffffffffffffffffn;
      default:
        return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
    }
  }
  pick<V>(xs: readonly V[]): V {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
  maybe<V>(f: () => V): V | undefined {
    return this.bool() ? f() : undefined;
  }
  list<V>(max: number, f: () => V): V[] {
    const n = this.int(max + 1);
    const out: V[] = [];
    for (let i = 0; i < n; i++) out.push(f());
    return out;
  }
}

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-';
const ERRS = Object.values(NFSSTAT3).filter((v) => v !== 0) as T.Result<{}, {}>['status'][];
const MNT_ERRS = Object.values(MOUNTSTAT3).filter((v) => v !== 0);

export function name(g: Rng, max = 40): string {
  const n = 1 + g.int(max);
  let s = '';
  for (let i = 0; i < n; i++) s += NAME_CHARS[g.int(NAME_CHARS.length)];
  return s;
}

export const fh = (g: Rng): Buffer => g.bytes(g.int(65));
export const time = (g: Rng): T.NfsTime => ({ seconds: g.u32(), nseconds: g.int(1e9) });
export const spec = (g: Rng): T.Specdata3 => ({ specdata1: g.u32(), specdata2: g.u32() });
export const fattr = (g: Rng): T.Fattr3 => ({
  type: g.pick(Object.values(FTYPE3)),
  mode: g.int(0o10000),
  nlink: g.u32(),
  uid: g.u32(),
  gid: g.u32(),
  size: g.u64(),
  used: g.u64(),
  rdev: spec(g),
  fsid: g.u64(),
  fileid: g.u64(),
  atime: time(g),
  mtime: time(g),
  ctime: time(g),
});
export const postOp = (g: Rng): T.Fattr3 | undefined => g.maybe(() => fattr(g));
export const wccAttr = (g: Rng): T.WccAttr => ({ size: g.u64(), mtime: time(g), ctime: time(g) });
export const wcc = (g: Rng): T.WccData => ({ before: g.maybe(() => wccAttr(g)), after: postOp(g) });
const setTime = (g: Rng): T.SetTime => g.pick([undefined, 'server', time(g)] as T.SetTime[]);
export function sattr(g: Rng): T.Sattr3 {
  const s: T.Sattr3 = {};
  if (g.bool()) s.mode = g.int(0o10000);
  if (g.bool()) s.uid = g.u32();
  if (g.bool()) s.gid = g.u32();
  if (g.bool()) s.size = g.u64();
  const a = setTime(g);
  if (a !== undefined) s.atime = a;
  const m = setTime(g);
  if (m !== undefined) s.mtime = m;
  return s;
}
export const dirop = (g: Rng): T.DirOpArgs => ({ dir: fh(g), name: name(g) });
const status = (g: Rng) => g.pick(ERRS);
const data = (g: Rng): Buffer => g.bytes(g.pick([0, 1, 3, 4, 511, 512, 513, 4096]));

/** Results: half NFS3_OK, half a random error with the procedure's resfail body. */
function result<Ok extends object, Fail extends object>(g: Rng, ok: () => Ok, failBody: () => Fail): T.Result<Ok, Fail> {
  return g.bool() ? ({ status: 0, ...ok() } as T.Result<Ok, Fail>) : ({ status: status(g), ...failBody() } as T.Result<Ok, Fail>);
}

const createRes = (g: Rng): T.CreateRes => result(g, () => ({ obj: g.maybe(() => fh(g)), objAttributes: postOp(g), dirWcc: wcc(g) }), () => ({ dirWcc: wcc(g) }));

function mknodData(g: Rng): T.MknodData {
  const type = g.pick(Object.values(FTYPE3));
  if (type === 3 || type === 4) return { type, attributes: sattr(g), spec: spec(g) };
  if (type === 6 || type === 7) return { type, attributes: sattr(g) };
  return { type: type as 1 | 2 | 5 };
}

type Gen = { args: (g: Rng) => unknown; res: (g: Rng) => unknown };

/** Generators by NFSv3 procedure name. */
export const NFS3_GEN: Record<string, Gen> = {
  NULL: { args: () => undefined, res: () => undefined },
  GETATTR: { args: (g) => ({ object: fh(g) }), res: (g) => result(g, () => ({ objAttributes: fattr(g) }), () => ({})) },
  SETATTR: {
    args: (g) => {
      const guard = g.maybe(() => time(g));
      return guard ? { object: fh(g), newAttributes: sattr(g), guard } : { object: fh(g), newAttributes: sattr(g) };
    },
    res: (g) => ({ status: g.pick([0, status(g)]), objWcc: wcc(g) }),
  },
  LOOKUP: {
    args: (g) => ({ what: dirop(g) }),
    res: (g) => result(g, () => ({ object: fh(g), objAttributes: postOp(g), dirAttributes: postOp(g) }), () => ({ dirAttributes: postOp(g) })),
  },
  ACCESS: {
    args: (g) => ({ object: fh(g), access: g.int(64) }),
    res: (g) => result(g, () => ({ objAttributes: postOp(g), access: g.int(64) }), () => ({ objAttributes: postOp(g) })),
  },
  READLINK: {
    args: (g) => ({ symlink: fh(g) }),
    res: (g) => result(g, () => ({ symlinkAttributes: postOp(g), data: name(g, 200) }), () => ({ symlinkAttributes: postOp(g) })),
  },
  READ: {
    args: (g) => ({ file: fh(g), offset: g.u64(), count: g.int(1 << 20) }),
    res: (g) =>
      result(
        g,
        () => {
          const d = data(g);
          return { fileAttributes: postOp(g), count: d.length, eof: g.bool(), data: d };
        },
        () => ({ fileAttributes: postOp(g) }),
      ),
  },
  WRITE: {
    args: (g) => {
      const d = data(g);
      return { file: fh(g), offset: g.u64(), count: d.length, stable: g.int(3), data: d };
    },
    res: (g) => result(g, () => ({ fileWcc: wcc(g), count: g.u32(), committed: g.int(3), verf: g.bytes(8) }), () => ({ fileWcc: wcc(g) })),
  },
  CREATE: {
    args: (g) => ({ where: dirop(g), how: g.bool() ? { mode: 2, verf: g.bytes(8) } : { mode: g.int(2), attributes: sattr(g) } }),
    res: createRes,
  },
  MKDIR: { args: (g) => ({ where: dirop(g), attributes: sattr(g) }), res: createRes },
  SYMLINK: { args: (g) => ({ where: dirop(g), symlink: { attributes: sattr(g), data: name(g, 300) } }), res: createRes },
  MKNOD: { args: (g) => ({ where: dirop(g), what: mknodData(g) }), res: createRes },
  REMOVE: { args: (g) => ({ object: dirop(g) }), res: (g) => ({ status: g.pick([0, status(g)]), dirWcc: wcc(g) }) },
  RMDIR: { args: (g) => ({ object: dirop(g) }), res: (g) => ({ status: g.pick([0, status(g)]), dirWcc: wcc(g) }) },
  RENAME: { args: (g) => ({ from: dirop(g), to: dirop(g) }), res: (g) => ({ status: g.pick([0, status(g)]), fromDirWcc: wcc(g), toDirWcc: wcc(g) }) },
  LINK: { args: (g) => ({ file: fh(g), link: dirop(g) }), res: (g) => ({ status: g.pick([0, status(g)]), fileAttributes: postOp(g), linkDirWcc: wcc(g) }) },
  READDIR: {
    args: (g) => ({ dir: fh(g), cookie: g.u64(), cookieverf: g.bytes(8), count: g.u32() }),
    res: (g) =>
      result(
        g,
        () => ({ dirAttributes: postOp(g), cookieverf: g.bytes(8), entries: g.list(8, () => ({ fileid: g.u64(), name: name(g), cookie: g.u64() })), eof: g.bool() }),
        () => ({ dirAttributes: postOp(g) }),
      ),
  },
  READDIRPLUS: {
    args: (g) => ({ dir: fh(g), cookie: g.u64(), cookieverf: g.bytes(8), dircount: g.u32(), maxcount: g.u32() }),
    res: (g) =>
      result(
        g,
        () => ({
          dirAttributes: postOp(g),
          cookieverf: g.bytes(8),
          entries: g.list(8, () => ({ fileid: g.u64(), name: name(g), cookie: g.u64(), nameAttributes: postOp(g), nameHandle: g.maybe(() => fh(g)) })),
          eof: g.bool(),
        }),
        () => ({ dirAttributes: postOp(g) }),
      ),
  },
  FSSTAT: {
    args: (g) => ({ fsroot: fh(g) }),
    res: (g) =>
      result(
        g,
        () => ({ objAttributes: postOp(g), tbytes: g.u64(), fbytes: g.u64(), abytes: g.u64(), tfiles: g.u64(), ffiles: g.u64(), afiles: g.u64(), invarsec: g.u32() }),
        () => ({ objAttributes: postOp(g) }),
      ),
  },
  FSINFO: {
    args: (g) => ({ fsroot: fh(g) }),
    res: (g) =>
      result(
        g,
        () => ({
          objAttributes: postOp(g),
          rtmax: g.u32(), rtpref: g.u32(), rtmult: g.u32(),
          wtmax: g.u32(), wtpref: g.u32(), wtmult: g.u32(),
          dtpref: g.u32(), maxfilesize: g.u64(), timeDelta: time(g), properties: g.int(32),
        }),
        () => ({ objAttributes: postOp(g) }),
      ),
  },
  PATHCONF: {
    args: (g) => ({ object: fh(g) }),
    res: (g) =>
      result(
        g,
        () => ({ objAttributes: postOp(g), linkmax: g.u32(), nameMax: g.u32(), noTrunc: g.bool(), chownRestricted: g.bool(), caseInsensitive: g.bool(), casePreserving: g.bool() }),
        () => ({ objAttributes: postOp(g) }),
      ),
  },
  COMMIT: {
    args: (g) => ({ file: fh(g), offset: g.u64(), count: g.u32() }),
    res: (g) => result(g, () => ({ fileWcc: wcc(g), verf: g.bytes(8) }), () => ({ fileWcc: wcc(g) })),
  },
};

const mapping = (g: Rng): PmapMapping => ({ prog: g.u32(), vers: g.u32(), prot: g.pick([6, 17]), port: g.int(65536) });

export const MOUNT3_GEN: Record<string, Gen> = {
  NULL: { args: () => undefined, res: () => undefined },
  MNT: {
    args: (g) => ({ dirpath: '/' + name(g, 100) }),
    res: (g) => (g.bool() ? { status: 0, fhandle: fh(g), authFlavors: g.list(4, () => g.pick([0, 1, 6, 390003])) } : { status: g.pick(MNT_ERRS) }),
  },
  DUMP: { args: () => undefined, res: (g) => g.list(5, () => ({ hostname: name(g), directory: '/' + name(g, 100) })) },
  UMNT: { args: (g) => ({ dirpath: '/' + name(g, 100) }), res: () => undefined },
  UMNTALL: { args: () => undefined, res: () => undefined },
  EXPORT: { args: () => undefined, res: (g) => g.list(5, () => ({ dir: '/' + name(g, 100), groups: g.list(4, () => name(g)) })) },
};

export const PMAP2_GEN: Record<string, Gen> = {
  NULL: { args: () => undefined, res: () => undefined },
  SET: { args: mapping, res: (g) => g.bool() },
  UNSET: { args: mapping, res: (g) => g.bool() },
  GETPORT: { args: mapping, res: (g) => g.int(65536) },
  DUMP: { args: () => undefined, res: (g) => g.list(6, () => mapping(g)) },
  CALLIT: {
    args: (g) => ({ prog: g.u32(), vers: g.u32(), proc: g.u32(), args: g.bytes(g.int(40)) }),
    res: (g) => ({ port: g.int(65536), res: g.bytes(g.int(40)) }),
  },
};

/** Drops undefined members and turns Buffers into hex so values compare structurally. */
export function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return { hex: v.toString('hex') };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = plain(x);
    return out;
  }
  return v;
}
