// NFSv3 procedure codecs (RFC 1813 §3.3.0–§3.3.21): arguments and results of all 22 procedures, RFC field order.
// Results are discriminated on nfsstat3; each failure carries its procedure's own resfail body.
//
// Ownership: WRITE args data and READ res data decode to views of the record and encode by reference (the
// caller's Buffer itself lands in the gather list when >= the writer's refThreshold), see xdr/writer.ts.
import { XdrError } from '../../core/errors';
import type { XdrReader } from '../reader';
import type { XdrWriter } from '../writer';
import { CREATEMODE3, FTYPE3, NFS_PROGRAM, NFS_V3, NFSPROC3, type Nfs3Err } from './constants';
import { type ProcBody, type ProcCodec, defineProc, procTable } from '../procedure';
import {
  NFS3_LIMITS,
  readCookieVerf,
  readCreateVerf,
  readDataCount,
  readDirOpArgs,
  readFattr,
  readFh,
  readName,
  readPath,
  readSymlinkData,
  readPostOpAttr,
  readPostOpFh,
  readSattr,
  readSpecdata,
  readStableHow,
  readStatus,
  readTime,
  readWccData,
  readWriteVerf,
  writeCookieVerf,
  writeCreateVerf,
  writeDirOpArgs,
  writeFattr,
  writeFh,
  writeName,
  writePath,
  writePostOpAttr,
  writePostOpFh,
  writeSattr,
  writeSpecdata,
  writeStableHow,
  writeSymlinkData,
  writeTime,
  writeWccData,
  writeWriteVerf,
} from './structs';
import type * as T from './types';

type Codec<A, R> = ProcCodec<A, R>;

function nfs<A, R>(name: keyof typeof NFSPROC3, body: ProcBody): Codec<A, R> {
  return defineProc(NFS_PROGRAM, NFS_V3, NFSPROC3[name], name, body);
}

/** Narrowing helper: a decoded non-zero nfsstat3. */
const fail = (s: number): Nfs3Err => s as Nfs3Err;

function readDataOpaque(r: XdrReader, what: string): Buffer {
  return r.opaque(NFS3_LIMITS.maxData, what);
}

// Shared result body for CREATE, MKDIR, SYMLINK, MKNOD (RFC 1813 §3.3.8–§3.3.11).
function encodeCreateRes(w: XdrWriter, res: T.CreateRes): void {
  w.u32(res.status);
  if (res.status === 0) {
    writePostOpFh(w, res.obj);
    writePostOpAttr(w, res.objAttributes);
  }
  writeWccData(w, res.dirWcc);
}

function decodeCreateRes(r: XdrReader): T.CreateRes {
  const status = readStatus(r);
  if (status === 0) {
    const obj = readPostOpFh(r);
    const objAttributes = readPostOpAttr(r);
    return { status, obj, objAttributes, dirWcc: readWccData(r) };
  }
  return { status: fail(status), dirWcc: readWccData(r) };
}

/** Results whose only body is post_op_attr on failure (GETATTR excluded: its resfail is void). */
function failAttrs(r: XdrReader, status: number): { status: Nfs3Err; objAttributes?: T.Fattr3 } {
  return { status: fail(status), objAttributes: readPostOpAttr(r) };
}

// RFC 1813 §3.3.0
const NULL = nfs<void, void>('NULL', {
  encodeArgs() {},
  decodeArgs() {},
  encodeRes() {},
  decodeRes() {},
});

// RFC 1813 §3.3.1
const GETATTR = nfs<T.GetattrArgs, T.GetattrRes>('GETATTR', {
  encodeArgs: (w: XdrWriter, a: T.GetattrArgs) => writeFh(w, a.object),
  decodeArgs: (r: XdrReader): T.GetattrArgs => ({ object: readFh(r) }),
  encodeRes(w: XdrWriter, res: T.GetattrRes) {
    w.u32(res.status);
    if (res.status === 0) writeFattr(w, res.objAttributes);
  },
  decodeRes(r: XdrReader): T.GetattrRes {
    const status = readStatus(r);
    return status === 0 ? { status, objAttributes: readFattr(r) } : { status: fail(status) };
  },
});

// RFC 1813 §3.3.2 (sattrguard3: bool check, nfstime3 obj_ctime)
const SETATTR = nfs<T.SetattrArgs, T.SetattrRes>('SETATTR', {
  encodeArgs(w: XdrWriter, a: T.SetattrArgs) {
    writeFh(w, a.object);
    writeSattr(w, a.newAttributes);
    w.optional(a.guard, writeTime);
  },
  decodeArgs(r: XdrReader): T.SetattrArgs {
    const object = readFh(r);
    const newAttributes = readSattr(r);
    const guard = r.bool() ? readTime(r) : undefined;
    return guard ? { object, newAttributes, guard } : { object, newAttributes };
  },
  encodeRes(w: XdrWriter, res: T.SetattrRes) {
    w.u32(res.status);
    writeWccData(w, res.objWcc);
  },
  decodeRes(r: XdrReader): T.SetattrRes {
    const status = readStatus(r);
    return { status, objWcc: readWccData(r) } as T.SetattrRes; // same body for resok and resfail
  },
});

// RFC 1813 §3.3.3
const LOOKUP = nfs<T.LookupArgs, T.LookupRes>('LOOKUP', {
  encodeArgs: (w: XdrWriter, a: T.LookupArgs) => writeDirOpArgs(w, a.what),
  decodeArgs: (r: XdrReader): T.LookupArgs => ({ what: readDirOpArgs(r) }),
  encodeRes(w: XdrWriter, res: T.LookupRes) {
    w.u32(res.status);
    if (res.status === 0) {
      writeFh(w, res.object);
      writePostOpAttr(w, res.objAttributes);
    }
    writePostOpAttr(w, res.dirAttributes);
  },
  decodeRes(r: XdrReader): T.LookupRes {
    const status = readStatus(r);
    if (status === 0) {
      const object = readFh(r);
      const objAttributes = readPostOpAttr(r);
      return { status, object, objAttributes, dirAttributes: readPostOpAttr(r) };
    }
    return { status: fail(status), dirAttributes: readPostOpAttr(r) };
  },
});

// RFC 1813 §3.3.4
const ACCESS = nfs<T.AccessArgs, T.AccessRes>('ACCESS', {
  encodeArgs(w: XdrWriter, a: T.AccessArgs) {
    writeFh(w, a.object);
    w.u32(a.access);
  },
  decodeArgs: (r: XdrReader): T.AccessArgs => ({ object: readFh(r), access: r.u32() }),
  encodeRes(w: XdrWriter, res: T.AccessRes) {
    w.u32(res.status);
    writePostOpAttr(w, res.objAttributes);
    if (res.status === 0) w.u32(res.access);
  },
  decodeRes(r: XdrReader): T.AccessRes {
    const status = readStatus(r);
    if (status === 0) {
      const objAttributes = readPostOpAttr(r);
      return { status, objAttributes, access: r.u32() };
    }
    return failAttrs(r, status);
  },
});

// RFC 1813 §3.3.5
const READLINK = nfs<T.ReadlinkArgs, T.ReadlinkRes>('READLINK', {
  encodeArgs: (w: XdrWriter, a: T.ReadlinkArgs) => writeFh(w, a.symlink),
  decodeArgs: (r: XdrReader): T.ReadlinkArgs => ({ symlink: readFh(r) }),
  encodeRes(w: XdrWriter, res: T.ReadlinkRes) {
    w.u32(res.status);
    writePostOpAttr(w, res.symlinkAttributes);
    if (res.status === 0) writePath(w, res.data);
  },
  decodeRes(r: XdrReader): T.ReadlinkRes {
    const status = readStatus(r);
    const symlinkAttributes = readPostOpAttr(r);
    return status === 0 ? { status, symlinkAttributes, data: readPath(r) } : { status: fail(status), symlinkAttributes };
  },
});

// RFC 1813 §3.3.6
const READ = nfs<T.ReadArgs, T.ReadRes>('READ', {
  encodeArgs(w: XdrWriter, a: T.ReadArgs) {
    writeFh(w, a.file);
    w.u64(a.offset).u32(a.count);
  },
  decodeArgs(r: XdrReader): T.ReadArgs {
    const file = readFh(r);
    const offset = r.u64();
    // RFC 1813 §3.3.6: count is what the client asks for, not data carried: any value decodes, and the server
    // answers at most its rtmax (a short read), as nfsd3_proc_read clamps it to svc_max_payload.
    return { file, offset, count: r.u32() };
  },
  encodeRes(w: XdrWriter, res: T.ReadRes) {
    w.u32(res.status);
    writePostOpAttr(w, res.fileAttributes);
    if (res.status === 0) w.u32(res.count).bool(res.eof).opaque(res.data, NFS3_LIMITS.maxData);
  },
  decodeRes(r: XdrReader): T.ReadRes {
    const status = readStatus(r);
    const fileAttributes = readPostOpAttr(r);
    if (status !== 0) return { status: fail(status), fileAttributes };
    const count = readDataCount(r);
    const eof = r.bool();
    return { status, fileAttributes, count, eof, data: readDataOpaque(r, 'READ data') };
  },
});

// RFC 1813 §3.3.7
const WRITE = nfs<T.WriteArgs, T.WriteRes>('WRITE', {
  encodeArgs(w: XdrWriter, a: T.WriteArgs) {
    writeFh(w, a.file);
    w.u64(a.offset).u32(a.count);
    writeStableHow(w, a.stable);
    w.opaque(a.data, NFS3_LIMITS.maxData);
  },
  decodeArgs(r: XdrReader): T.WriteArgs {
    const file = readFh(r);
    const offset = r.u64();
    const count = readDataCount(r);
    const stable = readStableHow(r);
    return { file, offset, count, stable, data: readDataOpaque(r, 'WRITE data') };
  },
  encodeRes(w: XdrWriter, res: T.WriteRes) {
    w.u32(res.status);
    writeWccData(w, res.fileWcc);
    if (res.status === 0) {
      w.u32(res.count);
      writeStableHow(w, res.committed);
      writeWriteVerf(w, res.verf);
    }
  },
  decodeRes(r: XdrReader): T.WriteRes {
    const status = readStatus(r);
    const fileWcc = readWccData(r);
    if (status !== 0) return { status: fail(status), fileWcc };
    const count = r.u32();
    const committed = readStableHow(r);
    return { status, fileWcc, count, committed, verf: readWriteVerf(r) };
  },
});

// RFC 1813 §3.3.8 createhow3
function writeCreateHow(w: XdrWriter, how: T.CreateHow): void {
  w.u32(how.mode);
  if (how.mode === CREATEMODE3.EXCLUSIVE) writeCreateVerf(w, how.verf);
  else if (how.mode === CREATEMODE3.UNCHECKED || how.mode === CREATEMODE3.GUARDED) writeSattr(w, how.attributes);
  else throw new XdrError('XDR_ENUM', `unknown createmode3 value ${(how as { mode: number }).mode}`, { enum: 'createmode3' });
}

const CREATEMODES = new Set<number>(Object.values(CREATEMODE3));
function readCreateHow(r: XdrReader): T.CreateHow {
  const mode = r.enumOf(CREATEMODES, 'createmode3');
  if (mode === CREATEMODE3.EXCLUSIVE) return { mode, verf: readCreateVerf(r) };
  return { mode: mode as 0 | 1, attributes: readSattr(r) };
}

const CREATE = nfs<T.CreateArgs, T.CreateRes>('CREATE', {
  encodeArgs(w: XdrWriter, a: T.CreateArgs) {
    writeDirOpArgs(w, a.where);
    writeCreateHow(w, a.how);
  },
  decodeArgs(r: XdrReader): T.CreateArgs {
    const where = readDirOpArgs(r);
    return { where, how: readCreateHow(r) };
  },
  encodeRes: encodeCreateRes,
  decodeRes: decodeCreateRes,
});

// RFC 1813 §3.3.9
const MKDIR = nfs<T.MkdirArgs, T.MkdirRes>('MKDIR', {
  encodeArgs(w: XdrWriter, a: T.MkdirArgs) {
    writeDirOpArgs(w, a.where);
    writeSattr(w, a.attributes);
  },
  decodeArgs(r: XdrReader): T.MkdirArgs {
    const where = readDirOpArgs(r);
    return { where, attributes: readSattr(r) };
  },
  encodeRes: encodeCreateRes,
  decodeRes: decodeCreateRes,
});

// RFC 1813 §3.3.10 symlinkdata3
const SYMLINK = nfs<T.SymlinkArgs, T.SymlinkRes>('SYMLINK', {
  encodeArgs(w: XdrWriter, a: T.SymlinkArgs) {
    writeDirOpArgs(w, a.where);
    writeSattr(w, a.symlink.attributes);
    writeSymlinkData(w, a.symlink.data);
  },
  decodeArgs(r: XdrReader): T.SymlinkArgs {
    const where = readDirOpArgs(r);
    const attributes = readSattr(r);
    return { where, symlink: { attributes, data: readSymlinkData(r) } };
  },
  encodeRes: encodeCreateRes,
  decodeRes: decodeCreateRes,
});

// RFC 1813 §3.3.11 mknoddata3: union switch (ftype3)
function writeMknodData(w: XdrWriter, d: T.MknodData): void {
  w.u32(d.type);
  switch (d.type) {
    case FTYPE3.NF3CHR:
    case FTYPE3.NF3BLK:
      writeSattr(w, d.attributes);
      writeSpecdata(w, d.spec);
      break;
    case FTYPE3.NF3SOCK:
    case FTYPE3.NF3FIFO:
      writeSattr(w, d.attributes);
      break;
    case FTYPE3.NF3REG:
    case FTYPE3.NF3DIR:
    case FTYPE3.NF3LNK:
      break;
    default:
      throw new XdrError('XDR_ENUM', `unknown ftype3 value ${(d as { type: number }).type}`, { enum: 'ftype3' });
  }
}

const FTYPES = new Set<number>(Object.values(FTYPE3));
function readMknodData(r: XdrReader): T.MknodData {
  const type = r.enumOf(FTYPES, 'ftype3');
  if (type === FTYPE3.NF3CHR || type === FTYPE3.NF3BLK) {
    const attributes = readSattr(r);
    return { type, attributes, spec: readSpecdata(r) };
  }
  if (type === FTYPE3.NF3SOCK || type === FTYPE3.NF3FIFO) return { type, attributes: readSattr(r) };
  return { type: type as 1 | 2 | 5 };
}

const MKNOD = nfs<T.MknodArgs, T.MknodRes>('MKNOD', {
  encodeArgs(w: XdrWriter, a: T.MknodArgs) {
    writeDirOpArgs(w, a.where);
    writeMknodData(w, a.what);
  },
  decodeArgs(r: XdrReader): T.MknodArgs {
    const where = readDirOpArgs(r);
    return { where, what: readMknodData(r) };
  },
  encodeRes: encodeCreateRes,
  decodeRes: decodeCreateRes,
});

// RFC 1813 §3.3.12 / §3.3.13: REMOVE and RMDIR share wire shapes.
function removeLike(name: 'REMOVE' | 'RMDIR'): Codec<T.RemoveArgs, T.RemoveRes> {
  return nfs<T.RemoveArgs, T.RemoveRes>(name, {
    encodeArgs: (w: XdrWriter, a: T.RemoveArgs) => writeDirOpArgs(w, a.object),
    decodeArgs: (r: XdrReader): T.RemoveArgs => ({ object: readDirOpArgs(r) }),
    encodeRes(w: XdrWriter, res: T.RemoveRes) {
      w.u32(res.status);
      writeWccData(w, res.dirWcc);
    },
    decodeRes(r: XdrReader): T.RemoveRes {
      const status = readStatus(r);
      return { status, dirWcc: readWccData(r) } as T.RemoveRes;
    },
  });
}
const REMOVE = removeLike('REMOVE');
const RMDIR = removeLike('RMDIR');

// RFC 1813 §3.3.14
const RENAME = nfs<T.RenameArgs, T.RenameRes>('RENAME', {
  encodeArgs(w: XdrWriter, a: T.RenameArgs) {
    writeDirOpArgs(w, a.from);
    writeDirOpArgs(w, a.to);
  },
  decodeArgs(r: XdrReader): T.RenameArgs {
    const from = readDirOpArgs(r);
    return { from, to: readDirOpArgs(r) };
  },
  encodeRes(w: XdrWriter, res: T.RenameRes) {
    w.u32(res.status);
    writeWccData(w, res.fromDirWcc);
    writeWccData(w, res.toDirWcc);
  },
  decodeRes(r: XdrReader): T.RenameRes {
    const status = readStatus(r);
    const fromDirWcc = readWccData(r);
    return { status, fromDirWcc, toDirWcc: readWccData(r) } as T.RenameRes;
  },
});

// RFC 1813 §3.3.15
const LINK = nfs<T.LinkArgs, T.LinkRes>('LINK', {
  encodeArgs(w: XdrWriter, a: T.LinkArgs) {
    writeFh(w, a.file);
    writeDirOpArgs(w, a.link);
  },
  decodeArgs(r: XdrReader): T.LinkArgs {
    const file = readFh(r);
    return { file, link: readDirOpArgs(r) };
  },
  encodeRes(w: XdrWriter, res: T.LinkRes) {
    w.u32(res.status);
    writePostOpAttr(w, res.fileAttributes);
    writeWccData(w, res.linkDirWcc);
  },
  decodeRes(r: XdrReader): T.LinkRes {
    const status = readStatus(r);
    const fileAttributes = readPostOpAttr(r);
    return { status, fileAttributes, linkDirWcc: readWccData(r) } as T.LinkRes;
  },
});

// RFC 1813 §3.3.16 dirlist3: entry3 *entries (a linked list of optional-data), bool eof
const READDIR = nfs<T.ReaddirArgs, T.ReaddirRes>('READDIR', {
  encodeArgs(w: XdrWriter, a: T.ReaddirArgs) {
    writeFh(w, a.dir);
    w.u64(a.cookie);
    writeCookieVerf(w, a.cookieverf);
    w.u32(a.count);
  },
  decodeArgs(r: XdrReader): T.ReaddirArgs {
    const dir = readFh(r);
    const cookie = r.u64();
    const cookieverf = readCookieVerf(r);
    return { dir, cookie, cookieverf, count: r.u32() };
  },
  encodeRes(w: XdrWriter, res: T.ReaddirRes) {
    w.u32(res.status);
    writePostOpAttr(w, res.dirAttributes);
    if (res.status !== 0) return;
    writeCookieVerf(w, res.cookieverf);
    for (const e of res.entries) {
      w.u32(1).u64(e.fileid);
      writeName(w, e.name);
      w.u64(e.cookie);
    }
    w.u32(0).bool(res.eof);
  },
  decodeRes(r: XdrReader): T.ReaddirRes {
    const status = readStatus(r);
    const dirAttributes = readPostOpAttr(r);
    if (status !== 0) return { status: fail(status), dirAttributes };
    const cookieverf = readCookieVerf(r);
    const entries: T.Entry3[] = [];
    while (r.bool()) {
      const fileid = r.u64();
      const name = readName(r);
      entries.push({ fileid, name, cookie: r.u64() });
    }
    return { status, dirAttributes, cookieverf, entries, eof: r.bool() };
  },
});

// RFC 1813 §3.3.17 dirlistplus3: entryplus3 adds name_attributes (post_op_attr) and name_handle (post_op_fh3)
const READDIRPLUS = nfs<T.ReaddirplusArgs, T.ReaddirplusRes>('READDIRPLUS', {
  encodeArgs(w: XdrWriter, a: T.ReaddirplusArgs) {
    writeFh(w, a.dir);
    w.u64(a.cookie);
    writeCookieVerf(w, a.cookieverf);
    w.u32(a.dircount).u32(a.maxcount);
  },
  decodeArgs(r: XdrReader): T.ReaddirplusArgs {
    const dir = readFh(r);
    const cookie = r.u64();
    const cookieverf = readCookieVerf(r);
    const dircount = r.u32();
    return { dir, cookie, cookieverf, dircount, maxcount: r.u32() };
  },
  encodeRes(w: XdrWriter, res: T.ReaddirplusRes) {
    w.u32(res.status);
    writePostOpAttr(w, res.dirAttributes);
    if (res.status !== 0) return;
    writeCookieVerf(w, res.cookieverf);
    for (const e of res.entries) {
      w.u32(1).u64(e.fileid);
      writeName(w, e.name);
      w.u64(e.cookie);
      writePostOpAttr(w, e.nameAttributes);
      writePostOpFh(w, e.nameHandle);
    }
    w.u32(0).bool(res.eof);
  },
  decodeRes(r: XdrReader): T.ReaddirplusRes {
    const status = readStatus(r);
    const dirAttributes = readPostOpAttr(r);
    if (status !== 0) return { status: fail(status), dirAttributes };
    const cookieverf = readCookieVerf(r);
    const entries: T.EntryPlus3[] = [];
    while (r.bool()) {
      const fileid = r.u64();
      const name = readName(r);
      const cookie = r.u64();
      const nameAttributes = readPostOpAttr(r);
      entries.push({ fileid, name, cookie, nameAttributes, nameHandle: readPostOpFh(r) });
    }
    return { status, dirAttributes, cookieverf, entries, eof: r.bool() };
  },
});

// RFC 1813 §3.3.18
const FSSTAT = nfs<T.FsstatArgs, T.FsstatRes>('FSSTAT', {
  encodeArgs: (w: XdrWriter, a: T.FsstatArgs) => writeFh(w, a.fsroot),
  decodeArgs: (r: XdrReader): T.FsstatArgs => ({ fsroot: readFh(r) }),
  encodeRes(w: XdrWriter, res: T.FsstatRes) {
    w.u32(res.status);
    writePostOpAttr(w, res.objAttributes);
    if (res.status === 0) w.u64(res.tbytes).u64(res.fbytes).u64(res.abytes).u64(res.tfiles).u64(res.ffiles).u64(res.afiles).u32(res.invarsec);
  },
  decodeRes(r: XdrReader): T.FsstatRes {
    const status = readStatus(r);
    if (status !== 0) return failAttrs(r, status);
    const objAttributes = readPostOpAttr(r);
    return {
      status,
      objAttributes,
      tbytes: r.u64(),
      fbytes: r.u64(),
      abytes: r.u64(),
      tfiles: r.u64(),
      ffiles: r.u64(),
      afiles: r.u64(),
      invarsec: r.u32(),
    };
  },
});

// RFC 1813 §3.3.19
const FSINFO = nfs<T.FsinfoArgs, T.FsinfoRes>('FSINFO', {
  encodeArgs: (w: XdrWriter, a: T.FsinfoArgs) => writeFh(w, a.fsroot),
  decodeArgs: (r: XdrReader): T.FsinfoArgs => ({ fsroot: readFh(r) }),
  encodeRes(w: XdrWriter, res: T.FsinfoRes) {
    w.u32(res.status);
    writePostOpAttr(w, res.objAttributes);
    if (res.status !== 0) return;
    w.u32(res.rtmax).u32(res.rtpref).u32(res.rtmult).u32(res.wtmax).u32(res.wtpref).u32(res.wtmult).u32(res.dtpref).u64(res.maxfilesize);
    writeTime(w, res.timeDelta);
    w.u32(res.properties);
  },
  decodeRes(r: XdrReader): T.FsinfoRes {
    const status = readStatus(r);
    if (status !== 0) return failAttrs(r, status);
    return {
      status,
      objAttributes: readPostOpAttr(r),
      rtmax: r.u32(),
      rtpref: r.u32(),
      rtmult: r.u32(),
      wtmax: r.u32(),
      wtpref: r.u32(),
      wtmult: r.u32(),
      dtpref: r.u32(),
      maxfilesize: r.u64(),
      timeDelta: readTime(r),
      properties: r.u32(),
    };
  },
});

// RFC 1813 §3.3.20
const PATHCONF = nfs<T.PathconfArgs, T.PathconfRes>('PATHCONF', {
  encodeArgs: (w: XdrWriter, a: T.PathconfArgs) => writeFh(w, a.object),
  decodeArgs: (r: XdrReader): T.PathconfArgs => ({ object: readFh(r) }),
  encodeRes(w: XdrWriter, res: T.PathconfRes) {
    w.u32(res.status);
    writePostOpAttr(w, res.objAttributes);
    if (res.status !== 0) return;
    w.u32(res.linkmax).u32(res.nameMax).bool(res.noTrunc).bool(res.chownRestricted).bool(res.caseInsensitive).bool(res.casePreserving);
  },
  decodeRes(r: XdrReader): T.PathconfRes {
    const status = readStatus(r);
    if (status !== 0) return failAttrs(r, status);
    return {
      status,
      objAttributes: readPostOpAttr(r),
      linkmax: r.u32(),
      nameMax: r.u32(),
      noTrunc: r.bool(),
      chownRestricted: r.bool(),
      caseInsensitive: r.bool(),
      casePreserving: r.bool(),
    };
  },
});

// RFC 1813 §3.3.21
const COMMIT = nfs<T.CommitArgs, T.CommitRes>('COMMIT', {
  encodeArgs(w: XdrWriter, a: T.CommitArgs) {
    writeFh(w, a.file);
    w.u64(a.offset).u32(a.count);
  },
  decodeArgs(r: XdrReader): T.CommitArgs {
    const file = readFh(r);
    const offset = r.u64();
    return { file, offset, count: r.u32() };
  },
  encodeRes(w: XdrWriter, res: T.CommitRes) {
    w.u32(res.status);
    writeWccData(w, res.fileWcc);
    if (res.status === 0) writeWriteVerf(w, res.verf);
  },
  decodeRes(r: XdrReader): T.CommitRes {
    const status = readStatus(r);
    const fileWcc = readWccData(r);
    return status === 0 ? { status, fileWcc, verf: readWriteVerf(r) } : { status: fail(status), fileWcc };
  },
});

/** The NFSv3 codec table, by RFC name. */
export const NFS3 = Object.freeze({
  NULL,
  GETATTR,
  SETATTR,
  LOOKUP,
  ACCESS,
  READLINK,
  READ,
  WRITE,
  CREATE,
  MKDIR,
  SYMLINK,
  MKNOD,
  REMOVE,
  RMDIR,
  RENAME,
  LINK,
  READDIR,
  READDIRPLUS,
  FSSTAT,
  FSINFO,
  PATHCONF,
  COMMIT,
});

/** Codecs indexed by procedure number (RFC 1813 §3); built from NFS3 so the two can never disagree. */
export const NFS3_PROCS: ReadonlyArray<ProcCodec<any, any>> = procTable(NFS3);
