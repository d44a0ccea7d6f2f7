// NFSv3 argument and result types (RFC 1813), field order as in the RFC.
// Names are the RFC's in camelCase. Results are discriminated on `status` (0 = NFS3_OK).
// Buffers in decoded values are views into the record they came from (see xdr/reader.ts ownership note).
import type { Nfs3Err } from './constants';

/** nfs_fh3 data (<= NFS3_FHSIZE bytes). */
export type Fh = Buffer;

export interface NfsTime {
  seconds: number;
  nseconds: number;
}

export interface Specdata3 {
  specdata1: number;
  specdata2: number;
}

/** RFC 1813 §2.6 fattr3 */
export interface Fattr3 {
  type: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: bigint;
  used: bigint;
  rdev: Specdata3;
  fsid: bigint;
  fileid: bigint;
  atime: NfsTime;
  mtime: NfsTime;
  ctime: NfsTime;
}

/** RFC 1813 §2.6 wcc_attr */
export interface WccAttr {
  size: bigint;
  mtime: NfsTime;
  ctime: NfsTime;
}

/** RFC 1813 §2.6 wcc_data: pre_op_attr before, post_op_attr after (undefined = attributes_follow FALSE). */
export interface WccData {
  before?: WccAttr;
  after?: Fattr3;
}

/** set_atime / set_mtime: undefined = DONT_CHANGE, 'server' = SET_TO_SERVER_TIME, NfsTime = SET_TO_CLIENT_TIME. */
export type SetTime = undefined | 'server' | NfsTime;

/** RFC 1813 §2.6 sattr3 (undefined member = set_it FALSE) */
export interface Sattr3 {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: bigint;
  atime?: SetTime;
  mtime?: SetTime;
}

/** RFC 1813 §2.6 diropargs3 */
export interface DirOpArgs {
  dir: Fh;
  name: string;
}

export type Result<Ok, Fail> = ({ status: 0 } & Ok) | ({ status: Nfs3Err } & Fail);

// --- procedure arguments and results (RFC 1813 §3.3.x) ---
export interface GetattrArgs { object: Fh }
export type GetattrRes = Result<{ objAttributes: Fattr3 }, {}>;

export interface SetattrArgs { object: Fh; newAttributes: Sattr3; /** sattrguard3: check ctime when set */ guard?: NfsTime }
export type SetattrRes = Result<{ objWcc: WccData }, { objWcc: WccData }>;

export interface LookupArgs { what: DirOpArgs }
export type LookupRes = Result<{ object: Fh; objAttributes?: Fattr3; dirAttributes?: Fattr3 }, { dirAttributes?: Fattr3 }>;

export interface AccessArgs { object: Fh; access: number }
export type AccessRes = Result<{ objAttributes?: Fattr3; access: number }, { objAttributes?: Fattr3 }>;

export interface ReadlinkArgs { symlink: Fh }
export type ReadlinkRes = Result<{ symlinkAttributes?: Fattr3; data: string }, { symlinkAttributes?: Fattr3 }>;

export interface ReadArgs { file: Fh; offset: bigint; count: number }
export type ReadRes = Result<{ fileAttributes?: Fattr3; count: number; eof: boolean; data: Buffer }, { fileAttributes?: Fattr3 }>;

export interface WriteArgs { file: Fh; offset: bigint; count: number; stable: number; data: Buffer }
export type WriteRes = Result<{ fileWcc: WccData; count: number; committed: number; verf: Buffer }, { fileWcc: WccData }>;

/** RFC 1813 §3.3.8 createhow3 */
export type CreateHow =
  | { mode: 0 | 1; attributes: Sattr3 } // UNCHECKED, GUARDED
  | { mode: 2; verf: Buffer }; // EXCLUSIVE, createverf3 (8 bytes)
export interface CreateArgs { where: DirOpArgs; how: CreateHow }
/** CREATE, MKDIR, SYMLINK, MKNOD share this result shape. obj = post_op_fh3. */
export type CreateRes = Result<{ obj?: Fh; objAttributes?: Fattr3; dirWcc: WccData }, { dirWcc: WccData }>;

export interface MkdirArgs { where: DirOpArgs; attributes: Sattr3 }
export type MkdirRes = CreateRes;

export interface SymlinkArgs { where: DirOpArgs; symlink: { attributes: Sattr3; data: string } }
export type SymlinkRes = CreateRes;

/** RFC 1813 §3.3.11 mknoddata3 */
export type MknodData =
  | { type: 3 | 4; attributes: Sattr3; spec: Specdata3 } // NF3BLK, NF3CHR
  | { type: 6 | 7; attributes: Sattr3 } // NF3SOCK, NF3FIFO
  | { type: 1 | 2 | 5 }; // others: void
export interface MknodArgs { where: DirOpArgs; what: MknodData }
export type MknodRes = CreateRes;

export interface RemoveArgs { object: DirOpArgs }
export type RemoveRes = Result<{ dirWcc: WccData }, { dirWcc: WccData }>;
export type RmdirArgs = RemoveArgs;
export type RmdirRes = RemoveRes;

export interface RenameArgs { from: DirOpArgs; to: DirOpArgs }
export type RenameRes = Result<{ fromDirWcc: WccData; toDirWcc: WccData }, { fromDirWcc: WccData; toDirWcc: WccData }>;

export interface LinkArgs { file: Fh; link: DirOpArgs }
export type LinkRes = Result<{ fileAttributes?: Fattr3; linkDirWcc: WccData }, { fileAttributes?: Fattr3; linkDirWcc: WccData }>;

export interface ReaddirArgs { dir: Fh; cookie: bigint; cookieverf: Buffer; count: number }
export interface Entry3 { fileid: bigint; name: string; cookie: bigint }
export type ReaddirRes = Result<{ dirAttributes?: Fattr3; cookieverf: Buffer; entries: Entry3[]; eof: boolean }, { dirAttributes?: Fattr3 }>;

export interface ReaddirplusArgs { dir: Fh; cookie: bigint; cookieverf: Buffer; dircount: number; maxcount: number }
export interface EntryPlus3 { fileid: bigint; name: string; cookie: bigint; nameAttributes?: Fattr3; nameHandle?: Fh }
export type ReaddirplusRes = Result<{ dirAttributes?: Fattr3; cookieverf: Buffer; entries: EntryPlus3[]; eof: boolean }, { dirAttributes?: Fattr3 }>;

export interface FsstatArgs { fsroot: Fh }
export type FsstatRes = Result<
  { objAttributes?: Fattr3; tbytes: bigint; fbytes: bigint; abytes: bigint; tfiles: bigint; ffiles: bigint; afiles: bigint; invarsec: number },
  { objAttributes?: Fattr3 }
>;

export interface FsinfoArgs { fsroot: Fh }
export type FsinfoRes = Result<
  {
    objAttributes?: Fattr3;
    rtmax: number; rtpref: number; rtmult: number;
    wtmax: number; wtpref: number; wtmult: number;
    dtpref: number; maxfilesize: bigint; timeDelta: NfsTime; properties: number;
  },
  { objAttributes?: Fattr3 }
>;

export interface PathconfArgs { object: Fh }
export type PathconfRes = Result<
  { objAttributes?: Fattr3; linkmax: number; nameMax: number; noTrunc: boolean; chownRestricted: boolean; caseInsensitive: boolean; casePreserving: boolean },
  { objAttributes?: Fattr3 }
>;

export interface CommitArgs { file: Fh; offset: bigint; count: number }
export type CommitRes = Result<{ fileWcc: WccData; verf: Buffer }, { fileWcc: WccData }>;
