// NFSv3 shared structures (RFC 1813 §2.5–§2.6): one reader and one writer per XDR type, in RFC field order.
// Decoded Buffers (file handles, verifiers, data) are views into the record (xdr/reader.ts ownership note).
import { XdrError } from '../../core/errors';
import { XdrReader, enumSet } from '../reader';
import { XdrWriter } from '../writer';
import { FTYPE3, NFS3_COOKIEVERFSIZE, NFS3_CREATEVERFSIZE, NFS3_FHSIZE, NFS3_WRITEVERFSIZE, NFSSTAT3, STABLE_HOW, TIME_HOW } from './constants';
import type { DirOpArgs, Fattr3, Fh, NfsTime, Sattr3, SetTime, Specdata3, WccAttr, WccData } from './types';

/**
 * Decode caps, checked before anything is allocated. Mutable on purpose so a server or test can tighten them;
 * the codecs read them at call time.
 */
export const NFS3_LIMITS = {
  /** READ/WRITE data opaque and count3 fields (RFC 1813 leaves it to rtmax/wtmax). */
  maxData: 4 * 1024 * 1024,
  /** filename3 in replies and in what the client encodes; in call arguments nfsd's 255 (readArgName). */
  maxName: 1024,
  /** nfspath3 in READLINK replies (SYMLINK arguments: readSymlinkData). */
  maxPath: 4096,
};

export const NFSSTAT3_SET = enumSet(NFSSTAT3);
const FTYPE3_SET = enumSet(FTYPE3);
const STABLE_HOW_SET = enumSet(STABLE_HOW);
const TIME_HOW_SET = enumSet(TIME_HOW);

// --- scalars ---

export function readStatus(r: XdrReader): number {
  return r.enumOf(NFSSTAT3_SET, 'nfsstat3');
}

export function readFtype(r: XdrReader): number {
  return r.enumOf(FTYPE3_SET, 'ftype3');
}

export function readStableHow(r: XdrReader): number {
  return r.enumOf(STABLE_HOW_SET, 'stable_how');
}

export function writeStableHow(w: XdrWriter, v: number): void {
  if (!STABLE_HOW_SET.has(v)) throw new XdrError('XDR_ENUM', `unknown stable_how value ${v}`, { value: v, enum: 'stable_how' });
  w.u32(v);
}

/** count3 for READ/WRITE: bounded by NFS3_LIMITS.maxData. */
export function readDataCount(r: XdrReader): number {
  const at = r.pos;
  const n = r.u32();
  if (n > NFS3_LIMITS.maxData) throw new XdrError('XDR_LIMIT', `count3 ${n} exceeds limit ${NFS3_LIMITS.maxData}`, { offset: at, count: n, max: NFS3_LIMITS.maxData });
  return n;
}

// --- RFC 1813 §2.5 basic data types ---

/** nfs_fh3: opaque data<NFS3_FHSIZE>. Over 64 bytes is XDR_LIMIT both ways. */
export function readFh(r: XdrReader): Fh {
  return r.opaque(NFS3_FHSIZE, 'nfs_fh3');
}

export function writeFh(w: XdrWriter, fh: Fh): void {
  w.opaque(fh, NFS3_FHSIZE);
}

export function readName(r: XdrReader): string {
  return r.string(NFS3_LIMITS.maxName, 'filename3');
}

export function writeName(w: XdrWriter, name: string): void {
  w.string(name, NFS3_LIMITS.maxName);
}

export function readPath(r: XdrReader): string {
  return r.string(NFS3_LIMITS.maxPath, 'nfspath3');
}

export function writePath(w: XdrWriter, path: string): void {
  w.string(path, NFS3_LIMITS.maxPath);
}

/**
 * symlinkdata3's nfspath3 in SYMLINK arguments, as Linux 6.1's nfs3svc_decode_symlinkargs takes it: with
 * xdr_inline_decode, so a target longer than a page, which always spans a page boundary of the received request,
 * does not fit the one-page scratch buffer (svcxdr_init_decode) and fails the decode: GARBAGE_ARGS, before
 * nfsd3_proc_symlink could answer NFS3ERR_NAMETOOLONG (kernels before "NFSD: Use xdr_inline_decode() to decode
 * NFSv3 symlinks", 6.1, only checked that the bytes were there, and did). The real 6.1 nfsd agrees
 * (test/security-permissions-nfsd.test.ts). So the cap is that page, NFS3_MAXPATHLEN's 4096 bytes.
 */
export function readSymlinkData(r: XdrReader): string {
  return r.string(NFS3_LIMITS.maxPath, 'nfspath3');
}

/** Written without a cap, so a client can send what nfsd refuses. */
export function writeSymlinkData(w: XdrWriter, path: string): void {
  w.string(path);
}

function fixed(w: XdrWriter, buf: Buffer, size: number, what: string): void {
  if (buf.length !== size) throw new XdrError('XDR_RANGE', `${what} must be ${size} bytes, got ${buf.length}`);
  w.opaqueFixed(buf);
}

export const readCookieVerf = (r: XdrReader): Buffer => r.opaqueFixed(NFS3_COOKIEVERFSIZE);
export const writeCookieVerf = (w: XdrWriter, v: Buffer): void => fixed(w, v, NFS3_COOKIEVERFSIZE, 'cookieverf3');
export const readCreateVerf = (r: XdrReader): Buffer => r.opaqueFixed(NFS3_CREATEVERFSIZE);
export const writeCreateVerf = (w: XdrWriter, v: Buffer): void => fixed(w, v, NFS3_CREATEVERFSIZE, 'createverf3');
export const readWriteVerf = (r: XdrReader): Buffer => r.opaqueFixed(NFS3_WRITEVERFSIZE);
export const writeWriteVerf = (w: XdrWriter, v: Buffer): void => fixed(w, v, NFS3_WRITEVERFSIZE, 'writeverf3');

// --- RFC 1813 §2.6 ---

export function readTime(r: XdrReader): NfsTime {
  return { seconds: r.u32(), nseconds: r.u32() };
}

export function writeTime(w: XdrWriter, t: NfsTime): void {
  w.u32(t.seconds).u32(t.nseconds);
}

export function readSpecdata(r: XdrReader): Specdata3 {
  return { specdata1: r.u32(), specdata2: r.u32() };
}

export function writeSpecdata(w: XdrWriter, s: Specdata3): void {
  w.u32(s.specdata1).u32(s.specdata2);
}

/** fattr3 is 84 bytes of fixed layout (RFC 1813 §2.6): one bounds check, then direct reads. (Writing field by
 * field measured faster than the mirror image of this, so writeFattr stays plain.) */
const FATTR3_SIZE = 84;

export function readFattr(r: XdrReader): Fattr3 {
  const at = r.take(FATTR3_SIZE);
  const v = r.view;
  const type = v.getInt32(at);
  if (!FTYPE3_SET.has(type)) throw new XdrError('XDR_ENUM', `unknown ftype3 value ${type}`, { offset: at, value: type, enum: 'ftype3' });
  return {
    type,
    mode: v.getUint32(at + 4),
    nlink: v.getUint32(at + 8),
    uid: v.getUint32(at + 12),
    gid: v.getUint32(at + 16),
    size: v.getBigUint64(at + 20),
    used: v.getBigUint64(at + 28),
    rdev: { specdata1: v.getUint32(at + 36), specdata2: v.getUint32(at + 40) },
    fsid: v.getBigUint64(at + 44),
    fileid: v.getBigUint64(at + 52),
    atime: { seconds: v.getUint32(at + 60), nseconds: v.getUint32(at + 64) },
    mtime: { seconds: v.getUint32(at + 68), nseconds: v.getUint32(at + 72) },
    ctime: { seconds: v.getUint32(at + 76), nseconds: v.getUint32(at + 80) },
  };
}

export function writeFattr(w: XdrWriter, a: Fattr3): void {
  w.u32(a.type).u32(a.mode).u32(a.nlink).u32(a.uid).u32(a.gid).u64(a.size).u64(a.used);
  writeSpecdata(w, a.rdev);
  w.u64(a.fsid).u64(a.fileid);
  writeTime(w, a.atime);
  writeTime(w, a.mtime);
  writeTime(w, a.ctime);
}

/** post_op_attr: bool attributes_follow, then fattr3. undefined = FALSE. */
export function readPostOpAttr(r: XdrReader): Fattr3 | undefined {
  return r.bool() ? readFattr(r) : undefined;
}

export function writePostOpAttr(w: XdrWriter, a: Fattr3 | undefined): void {
  w.optional(a, writeFattr);
}

export function readWccAttr(r: XdrReader): WccAttr {
  const at = r.take(24);
  const v = r.view;
  return {
    size: v.getBigUint64(at),
    mtime: { seconds: v.getUint32(at + 8), nseconds: v.getUint32(at + 12) },
    ctime: { seconds: v.getUint32(at + 16), nseconds: v.getUint32(at + 20) },
  };
}

export function writeWccAttr(w: XdrWriter, a: WccAttr): void {
  w.u64(a.size);
  writeTime(w, a.mtime);
  writeTime(w, a.ctime);
}

/** pre_op_attr: bool attributes_follow, then wcc_attr. */
export function readPreOpAttr(r: XdrReader): WccAttr | undefined {
  return r.bool() ? readWccAttr(r) : undefined;
}

export function writePreOpAttr(w: XdrWriter, a: WccAttr | undefined): void {
  w.optional(a, writeWccAttr);
}

export function readWccData(r: XdrReader): WccData {
  const before = readPreOpAttr(r);
  const after = readPostOpAttr(r);
  return { before, after };
}

export function writeWccData(w: XdrWriter, d: WccData): void {
  writePreOpAttr(w, d.before);
  writePostOpAttr(w, d.after);
}

/** post_op_fh3: bool handle_follows, then nfs_fh3. */
export function readPostOpFh(r: XdrReader): Fh | undefined {
  return r.bool() ? readFh(r) : undefined;
}

export function writePostOpFh(w: XdrWriter, fh: Fh | undefined): void {
  w.optional(fh, writeFh);
}

/** set_atime / set_mtime: union switch (time_how). */
function readSetTime(r: XdrReader): SetTime {
  const how = r.enumOf(TIME_HOW_SET, 'time_how');
  if (how === TIME_HOW.SET_TO_CLIENT_TIME) return readTime(r);
  return how === TIME_HOW.SET_TO_SERVER_TIME ? 'server' : undefined;
}

function writeSetTime(w: XdrWriter, t: SetTime): void {
  if (t === undefined) w.u32(TIME_HOW.DONT_CHANGE);
  else if (t === 'server') w.u32(TIME_HOW.SET_TO_SERVER_TIME);
  else {
    w.u32(TIME_HOW.SET_TO_CLIENT_TIME);
    writeTime(w, t);
  }
}

/** sattr3: each member is a union switch (bool set_it). */
export function readSattr(r: XdrReader): Sattr3 {
  const s: Sattr3 = {};
  if (r.bool()) s.mode = r.u32();
  if (r.bool()) s.uid = r.u32();
  if (r.bool()) s.gid = r.u32();
  if (r.bool()) s.size = r.u64();
  const atime = readSetTime(r);
  if (atime !== undefined) s.atime = atime;
  const mtime = readSetTime(r);
  if (mtime !== undefined) s.mtime = mtime;
  return s;
}

export function writeSattr(w: XdrWriter, s: Sattr3): void {
  w.optional(s.mode, (x, v) => x.u32(v));
  w.optional(s.uid, (x, v) => x.u32(v));
  w.optional(s.gid, (x, v) => x.u32(v));
  w.optional(s.size, (x, v) => x.u64(v));
  writeSetTime(w, s.atime);
  writeSetTime(w, s.mtime);
}

/** NFS3_MAXNAMLEN (include/uapi/linux/nfs3.h): the longest filename3 nfsd decodes. */
export const NFS3_MAXNAMLEN = 255;

/**
 * A filename3 in call arguments (diropargs3: every name a call carries), decoded as nfsd's
 * svcxdr_decode_filename3 does: an empty name, one longer than NFS3_MAXNAMLEN bytes, or one containing NUL or "/"
 * fails the decode, so the call gets GARBAGE_ARGS and no procedure sees it (a name is one path component, RFC
 * 1813 §2.5). Names in replies (READDIR entries) are read with readName's looser cap.
 */
export function readArgName(r: XdrReader): string {
  const at = r.pos;
  const name = r.string(NFS3_MAXNAMLEN, 'filename3');
  if (name.length === 0 || name.includes('/') || name.includes('\0')) {
    throw new XdrError('XDR_BAD_NAME', `filename3 ${JSON.stringify(name)}: empty, or contains "/" or NUL`, { offset: at });
  }
  return name;
}

export function readDirOpArgs(r: XdrReader): DirOpArgs {
  const dir = readFh(r);
  const name = readArgName(r);
  return { dir, name };
}

export function writeDirOpArgs(w: XdrWriter, d: DirOpArgs): void {
  writeFh(w, d.dir);
  writeName(w, d.name);
}
