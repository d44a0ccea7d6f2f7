// MOUNT v3 (RFC 1813 Appendix I): wire constants, types and procedure codecs. Lists (mountlist, exports, groups)
// are XDR linked lists of optional-data (RFC 4506 §4.19) and decode to arrays. Explicit constant values, pinned to
// the RFC by test/xdr-constants.test.ts.
import { readList, writeList } from './list';
import { type XdrReader, enumSet } from './reader';
import type { XdrWriter } from './writer';
import { type ProcBody, type ProcCodec, defineProc, procTable } from './procedure';
import { readFh, writeFh } from './nfs3/structs';
import type { Fh } from './nfs3/types';

// MOUNT v3 (RFC 1813 Appendix I)
export const MOUNT_PROGRAM = 100005;
export const MOUNT_V3 = 3;
// RFC 1813 Appendix I §5.1
export const MNTPATHLEN = 1024;
export const MNTNAMLEN = 255;
// RFC 1813 Appendix I §5.2: MOUNT procedures
export const MOUNTPROC3 = { NULL: 0, MNT: 1, DUMP: 2, UMNT: 3, UMNTALL: 4, EXPORT: 5 } as const;
// RFC 1813 Appendix I §5.1.5: enum mountstat3
export const MOUNTSTAT3 = {
  MNT3_OK: 0,
  MNT3ERR_PERM: 1,
  MNT3ERR_NOENT: 2,
  MNT3ERR_IO: 5,
  MNT3ERR_ACCES: 13,
  MNT3ERR_NOTDIR: 20,
  MNT3ERR_INVAL: 22,
  MNT3ERR_NAMETOOLONG: 63,
  MNT3ERR_NOTSUPP: 10004,
  MNT3ERR_SERVERFAULT: 10006,
} as const;
export type Mountstat3 = (typeof MOUNTSTAT3)[keyof typeof MOUNTSTAT3];

// Types (RFC 1813 Appendix I §5.2), field order as in the RFC.
export interface MntArgs { dirpath: string }
/** mountres3; the failure arm is typed by mountstat3 so `status === 0` narrows. */
export type MntRes = { status: 0; fhandle: Fh; authFlavors: number[] } | { status: Exclude<Mountstat3, 0> };
export interface MountEntry { hostname: string; directory: string }
export interface ExportEntry { dir: string; groups: string[] }

/** auth_flavors<> has no RFC bound; this keeps a hostile count from allocating. */
export const MAX_AUTH_FLAVORS = 64;

const MOUNTSTAT3_SET = enumSet(MOUNTSTAT3);

function mount<A, R>(name: keyof typeof MOUNTPROC3, body: ProcBody): ProcCodec<A, R> {
  return defineProc(MOUNT_PROGRAM, MOUNT_V3, MOUNTPROC3[name], name, body);
}

const none = {
  encode(): void {},
  decode(): void {},
};

const readDirpath = (r: XdrReader): string => r.string(MNTPATHLEN, 'dirpath');
const writeDirpath = (w: XdrWriter, p: string): void => void w.string(p, MNTPATHLEN);
const readMntName = (r: XdrReader): string => r.string(MNTNAMLEN, 'name');
const writeMntName = (w: XdrWriter, n: string): void => void w.string(n, MNTNAMLEN);

const dirpathArgs = {
  encodeArgs: (w: XdrWriter, a: MntArgs) => writeDirpath(w, a.dirpath),
  decodeArgs: (r: XdrReader): MntArgs => ({ dirpath: readDirpath(r) }),
};

const NULL = mount<void, void>('NULL', { encodeArgs: none.encode, decodeArgs: none.decode, encodeRes: none.encode, decodeRes: none.decode });

// RFC 1813 Appendix I §5.2.1: mountres3 switch (mountstat3 fhs_status)
const MNT = mount<MntArgs, MntRes>('MNT', {
  ...dirpathArgs,
  encodeRes(w: XdrWriter, res: MntRes) {
    w.u32(res.status);
    if (res.status !== 0) return;
    writeFh(w, res.fhandle);
    w.array(res.authFlavors, (x, f) => x.i32(f), MAX_AUTH_FLAVORS);
  },
  decodeRes(r: XdrReader): MntRes {
    const status = r.enumOf(MOUNTSTAT3_SET, 'mountstat3') as Mountstat3;
    if (status !== 0) return { status };
    const fhandle = readFh(r);
    return { status, fhandle, authFlavors: r.array(MAX_AUTH_FLAVORS, (x) => x.i32(), 'auth_flavors') };
  },
});

// RFC 1813 Appendix I §5.2.2: mountlist = *mountbody {hostname, directory}
const DUMP = mount<void, MountEntry[]>('DUMP', {
  encodeArgs: none.encode,
  decodeArgs: none.decode,
  encodeRes: (w: XdrWriter, list: MountEntry[]) =>
    writeList(w, list, (x, e) => {
      writeMntName(x, e.hostname);
      writeDirpath(x, e.directory);
    }),
  decodeRes: (r: XdrReader): MountEntry[] =>
    readList(r, (x) => {
      const hostname = readMntName(x);
      return { hostname, directory: readDirpath(x) };
    }),
});

// RFC 1813 Appendix I §5.2.3
const UMNT = mount<MntArgs, void>('UMNT', { ...dirpathArgs, encodeRes: none.encode, decodeRes: none.decode });

// RFC 1813 Appendix I §5.2.4
const UMNTALL = mount<void, void>('UMNTALL', { encodeArgs: none.encode, decodeArgs: none.decode, encodeRes: none.encode, decodeRes: none.decode });

// RFC 1813 Appendix I §5.2.5: exports = *exportnode {ex_dir, groups ex_groups}; groups = *groupnode {gr_name}
const EXPORT = mount<void, ExportEntry[]>('EXPORT', {
  encodeArgs: none.encode,
  decodeArgs: none.decode,
  encodeRes: (w: XdrWriter, list: ExportEntry[]) =>
    writeList(w, list, (x, e) => {
      writeDirpath(x, e.dir);
      writeList(x, e.groups, writeMntName);
    }),
  decodeRes: (r: XdrReader): ExportEntry[] =>
    readList(r, (x) => {
      const dir = readDirpath(x);
      return { dir, groups: readList(x, readMntName) };
    }),
});

/** The MOUNT v3 codec table, by RFC name. */
export const MOUNT3 = Object.freeze({ NULL, MNT, DUMP, UMNT, UMNTALL, EXPORT });

/** Codecs indexed by procedure number. */
export const MOUNT3_PROCS: ReadonlyArray<ProcCodec<any, any>> = procTable(MOUNT3);
