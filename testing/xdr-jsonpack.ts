// Adapters between our NFSv3/MOUNT value shapes (xdr/nfs3/types.ts) and @jsonjoy.com/json-pack's message
// classes, so json-pack can serve as an independent oracle (and as the benchmark yardstick).
// Only value shapes are translated here; every byte is produced or parsed by json-pack itself.
import { Reader } from '@jsonjoy.com/buffers/lib/Reader';
import * as J from '@jsonjoy.com/json-pack/lib/nfs/v3';
import * as JM from '@jsonjoy.com/json-pack/lib/nfs/v3/mount/messages';
import * as JMS from '@jsonjoy.com/json-pack/lib/nfs/v3/mount/structs';
import { MountDecoder } from '@jsonjoy.com/json-pack/lib/nfs/v3/mount/MountDecoder';
import { MountEncoder } from '@jsonjoy.com/json-pack/lib/nfs/v3/mount/MountEncoder';
import type * as T from '../xdr/nfs3/types';
import type { ExportEntry, MountEntry } from '../xdr/mount';

type Any = any; // json-pack's message unions are wide; the adapters are checked by the round trips instead

const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

// --- ours -> json-pack ---
const jTime = (t: T.NfsTime) => new J.Nfsv3Time(t.seconds, t.nseconds);
const jFh = (fh: Buffer) => new J.Nfsv3Fh(fh);
const jSpec = (s: T.Specdata3) => new J.Nfsv3SpecData(s.specdata1, s.specdata2);
const jFattr = (a: T.Fattr3) =>
  new J.Nfsv3Fattr(a.type, a.mode, a.nlink, a.uid, a.gid, a.size, a.used, jSpec(a.rdev), a.fsid, a.fileid, jTime(a.atime), jTime(a.mtime), jTime(a.ctime));
const jPost = (a?: T.Fattr3) => new J.Nfsv3PostOpAttr(a !== undefined, a && jFattr(a));
const jWcc = (w: T.WccData) =>
  new J.Nfsv3WccData(new J.Nfsv3PreOpAttr(w.before !== undefined, w.before && new J.Nfsv3WccAttr(w.before.size, jTime(w.before.mtime), jTime(w.before.ctime))), jPost(w.after));
const jPostFh = (fh?: Buffer) => new J.Nfsv3PostOpFh(fh !== undefined, fh && jFh(fh));
const jHow = (t: T.SetTime, mk: (how: number, t?: J.Nfsv3Time) => Any) => (t === undefined ? mk(0) : t === 'server' ? mk(1) : mk(2, jTime(t)));
const jSattr = (s: T.Sattr3) =>
  new J.Nfsv3Sattr(
    new J.Nfsv3SetMode(s.mode !== undefined, s.mode),
    new J.Nfsv3SetUid(s.uid !== undefined, s.uid),
    new J.Nfsv3SetGid(s.gid !== undefined, s.gid),
    new J.Nfsv3SetSize(s.size !== undefined, s.size),
    jHow(s.atime, (h, t) => new J.Nfsv3SetAtime(h, t)),
    jHow(s.mtime, (h, t) => new J.Nfsv3SetMtime(h, t)),
  );
const jDirop = (d: T.DirOpArgs) => new J.Nfsv3DirOpArgs(jFh(d.dir), d.name);
function jList<E, N>(items: readonly E[], node: (e: E, next: N | undefined) => N): N | undefined {
  let next: N | undefined;
  for (let i = items.length - 1; i >= 0; i--) next = node(items[i], next);
  return next;
}

/** Our procedure args -> json-pack request. */
export function toJpArgs(name: string, a: Any): Any {
  switch (name) {
    case 'GETATTR': return new J.Nfsv3GetattrRequest(jFh(a.object));
    case 'SETATTR': return new J.Nfsv3SetattrRequest(jFh(a.object), jSattr(a.newAttributes), new J.Nfsv3SattrGuard(a.guard !== undefined, a.guard && jTime(a.guard)));
    case 'LOOKUP': return new J.Nfsv3LookupRequest(jDirop(a.what));
    case 'ACCESS': return new J.Nfsv3AccessRequest(jFh(a.object), a.access);
    case 'READLINK': return new J.Nfsv3ReadlinkRequest(jFh(a.symlink));
    case 'READ': return new J.Nfsv3ReadRequest(jFh(a.file), a.offset, a.count);
    case 'WRITE': return new J.Nfsv3WriteRequest(jFh(a.file), a.offset, a.count, a.stable, a.data);
    case 'CREATE':
      return new J.Nfsv3CreateRequest(jDirop(a.where), a.how.mode === 2 ? new J.Nfsv3CreateHow(2, undefined, a.how.verf) : new J.Nfsv3CreateHow(a.how.mode, jSattr(a.how.attributes)));
    case 'MKDIR': return new J.Nfsv3MkdirRequest(jDirop(a.where), jSattr(a.attributes));
    case 'SYMLINK': return new J.Nfsv3SymlinkRequest(jDirop(a.where), jSattr(a.symlink.attributes), a.symlink.data);
    case 'MKNOD': {
      const w = a.what as T.MknodData;
      const dev = 'spec' in w ? new J.Nfsv3DeviceData(jSattr(w.attributes), jSpec(w.spec)) : undefined;
      const attrs = 'attributes' in w ? jSattr(w.attributes) : undefined;
      return new J.Nfsv3MknodRequest(
        jDirop(a.where),
        new J.Nfsv3MknodData(w.type, w.type === 4 ? dev : undefined, w.type === 3 ? dev : undefined, w.type === 6 ? attrs : undefined, w.type === 7 ? attrs : undefined),
      );
    }
    case 'REMOVE': return new J.Nfsv3RemoveRequest(jDirop(a.object));
    case 'RMDIR': return new J.Nfsv3RmdirRequest(jDirop(a.object));
    case 'RENAME': return new J.Nfsv3RenameRequest(jDirop(a.from), jDirop(a.to));
    case 'LINK': return new J.Nfsv3LinkRequest(jFh(a.file), jDirop(a.link));
    case 'READDIR': return new J.Nfsv3ReaddirRequest(jFh(a.dir), a.cookie, a.cookieverf, a.count);
    case 'READDIRPLUS': return new J.Nfsv3ReaddirplusRequest(jFh(a.dir), a.cookie, a.cookieverf, a.dircount, a.maxcount);
    case 'FSSTAT': return new J.Nfsv3FsstatRequest(jFh(a.fsroot));
    case 'FSINFO': return new J.Nfsv3FsinfoRequest(jFh(a.fsroot));
    case 'PATHCONF': return new J.Nfsv3PathconfRequest(jFh(a.object));
    case 'COMMIT': return new J.Nfsv3CommitRequest(jFh(a.file), a.offset, a.count);
  }
  throw new Error(`no json-pack request for ${name}`);
}

/** Our procedure results -> json-pack response (resok / resfail by status). */
export function toJpRes(name: string, r: Any): Any {
  const ok = r.status === 0;
  const s = r.status;
  switch (name) {
    case 'GETATTR': return new J.Nfsv3GetattrResponse(s, ok ? new J.Nfsv3GetattrResOk(jFattr(r.objAttributes)) : undefined);
    case 'SETATTR': return ok ? new J.Nfsv3SetattrResponse(s, new J.Nfsv3SetattrResOk(jWcc(r.objWcc))) : new J.Nfsv3SetattrResponse(s, undefined, new J.Nfsv3SetattrResFail(jWcc(r.objWcc)));
    case 'LOOKUP':
      return ok
        ? new J.Nfsv3LookupResponse(s, new J.Nfsv3LookupResOk(jFh(r.object), jPost(r.objAttributes), jPost(r.dirAttributes)))
        : new J.Nfsv3LookupResponse(s, undefined, new J.Nfsv3LookupResFail(jPost(r.dirAttributes)));
    case 'ACCESS':
      return ok ? new J.Nfsv3AccessResponse(s, new J.Nfsv3AccessResOk(jPost(r.objAttributes), r.access)) : new J.Nfsv3AccessResponse(s, undefined, new J.Nfsv3AccessResFail(jPost(r.objAttributes)));
    case 'READLINK':
      return ok
        ? new J.Nfsv3ReadlinkResponse(s, new J.Nfsv3ReadlinkResOk(jPost(r.symlinkAttributes), r.data))
        : new J.Nfsv3ReadlinkResponse(s, undefined, new J.Nfsv3ReadlinkResFail(jPost(r.symlinkAttributes)));
    case 'READ':
      return ok
        ? new J.Nfsv3ReadResponse(s, new J.Nfsv3ReadResOk(jPost(r.fileAttributes), r.count, r.eof, r.data))
        : new J.Nfsv3ReadResponse(s, undefined, new J.Nfsv3ReadResFail(jPost(r.fileAttributes)));
    case 'WRITE':
      return ok
        ? new J.Nfsv3WriteResponse(s, new J.Nfsv3WriteResOk(jWcc(r.fileWcc), r.count, r.committed, r.verf))
        : new J.Nfsv3WriteResponse(s, undefined, new J.Nfsv3WriteResFail(jWcc(r.fileWcc)));
    case 'CREATE':
      return ok
        ? new J.Nfsv3CreateResponse(s, new J.Nfsv3CreateResOk(jPostFh(r.obj), jPost(r.objAttributes), jWcc(r.dirWcc)))
        : new J.Nfsv3CreateResponse(s, undefined, new J.Nfsv3CreateResFail(jWcc(r.dirWcc)));
    case 'MKDIR':
      return ok
        ? new J.Nfsv3MkdirResponse(s, new J.Nfsv3MkdirResOk(jPostFh(r.obj), jPost(r.objAttributes), jWcc(r.dirWcc)))
        : new J.Nfsv3MkdirResponse(s, undefined, new J.Nfsv3MkdirResFail(jWcc(r.dirWcc)));
    case 'SYMLINK':
      return ok
        ? new J.Nfsv3SymlinkResponse(s, new J.Nfsv3SymlinkResOk(jPostFh(r.obj), jPost(r.objAttributes), jWcc(r.dirWcc)))
        : new J.Nfsv3SymlinkResponse(s, undefined, new J.Nfsv3SymlinkResFail(jWcc(r.dirWcc)));
    case 'MKNOD':
      return ok
        ? new J.Nfsv3MknodResponse(s, new J.Nfsv3MknodResOk(jPostFh(r.obj), jPost(r.objAttributes), jWcc(r.dirWcc)))
        : new J.Nfsv3MknodResponse(s, undefined, new J.Nfsv3MknodResFail(jWcc(r.dirWcc)));
    case 'REMOVE': return ok ? new J.Nfsv3RemoveResponse(s, new J.Nfsv3RemoveResOk(jWcc(r.dirWcc))) : new J.Nfsv3RemoveResponse(s, undefined, new J.Nfsv3RemoveResFail(jWcc(r.dirWcc)));
    case 'RMDIR': return ok ? new J.Nfsv3RmdirResponse(s, new J.Nfsv3RmdirResOk(jWcc(r.dirWcc))) : new J.Nfsv3RmdirResponse(s, undefined, new J.Nfsv3RmdirResFail(jWcc(r.dirWcc)));
    case 'RENAME':
      return ok
        ? new J.Nfsv3RenameResponse(s, new J.Nfsv3RenameResOk(jWcc(r.fromDirWcc), jWcc(r.toDirWcc)))
        : new J.Nfsv3RenameResponse(s, undefined, new J.Nfsv3RenameResFail(jWcc(r.fromDirWcc), jWcc(r.toDirWcc)));
    case 'LINK':
      return ok
        ? new J.Nfsv3LinkResponse(s, new J.Nfsv3LinkResOk(jPost(r.fileAttributes), jWcc(r.linkDirWcc)))
        : new J.Nfsv3LinkResponse(s, undefined, new J.Nfsv3LinkResFail(jPost(r.fileAttributes), jWcc(r.linkDirWcc)));
    case 'READDIR': {
      if (!ok) return new J.Nfsv3ReaddirResponse(s, undefined, new J.Nfsv3ReaddirResFail(jPost(r.dirAttributes)));
      const list = jList<T.Entry3, J.Nfsv3Entry>(r.entries, (e, next) => new J.Nfsv3Entry(e.fileid, e.name, e.cookie, next));
      return new J.Nfsv3ReaddirResponse(s, new J.Nfsv3ReaddirResOk(jPost(r.dirAttributes), r.cookieverf, new J.Nfsv3DirList(r.eof, list)));
    }
    case 'READDIRPLUS': {
      if (!ok) return new J.Nfsv3ReaddirplusResponse(s, undefined, new J.Nfsv3ReaddirplusResFail(jPost(r.dirAttributes)));
      const list = jList<T.EntryPlus3, J.Nfsv3EntryPlus>(
        r.entries,
        (e, next) => new J.Nfsv3EntryPlus(e.fileid, e.name, e.cookie, jPost(e.nameAttributes), jPostFh(e.nameHandle), next),
      );
      return new J.Nfsv3ReaddirplusResponse(s, new J.Nfsv3ReaddirplusResOk(jPost(r.dirAttributes), r.cookieverf, new J.Nfsv3DirListPlus(r.eof, list)));
    }
    case 'FSSTAT':
      return ok
        ? new J.Nfsv3FsstatResponse(s, new J.Nfsv3FsstatResOk(jPost(r.objAttributes), r.tbytes, r.fbytes, r.abytes, r.tfiles, r.ffiles, r.afiles, r.invarsec))
        : new J.Nfsv3FsstatResponse(s, undefined, new J.Nfsv3FsstatResFail(jPost(r.objAttributes)));
    case 'FSINFO':
      return ok
        ? new J.Nfsv3FsinfoResponse(
            s,
            new J.Nfsv3FsinfoResOk(jPost(r.objAttributes), r.rtmax, r.rtpref, r.rtmult, r.wtmax, r.wtpref, r.wtmult, r.dtpref, r.maxfilesize, r.timeDelta, r.properties),
          )
        : new J.Nfsv3FsinfoResponse(s, undefined, new J.Nfsv3FsinfoResFail(jPost(r.objAttributes)));
    case 'PATHCONF':
      return ok
        ? new J.Nfsv3PathconfResponse(
            s,
            new J.Nfsv3PathconfResOk(jPost(r.objAttributes), r.linkmax, r.nameMax, r.noTrunc, r.chownRestricted, r.caseInsensitive, r.casePreserving),
          )
        : new J.Nfsv3PathconfResponse(s, undefined, new J.Nfsv3PathconfResFail(jPost(r.objAttributes)));
    case 'COMMIT':
      return ok ? new J.Nfsv3CommitResponse(s, new J.Nfsv3CommitResOk(jWcc(r.fileWcc), r.verf)) : new J.Nfsv3CommitResponse(s, undefined, new J.Nfsv3CommitResFail(jWcc(r.fileWcc)));
  }
  throw new Error(`no json-pack response for ${name}`);
}

// --- json-pack -> ours ---
const oTime = (t: Any): T.NfsTime => ({ seconds: t.seconds, nseconds: t.nseconds });
const oFh = (fh: Any): Buffer => buf(fh.data);
const oSpec = (s: Any): T.Specdata3 => ({ specdata1: s.specdata1, specdata2: s.specdata2 });
const oFattr = (a: Any): T.Fattr3 => ({
  type: a.type, mode: a.mode, nlink: a.nlink, uid: a.uid, gid: a.gid, size: a.size, used: a.used, rdev: oSpec(a.rdev),
  fsid: a.fsid, fileid: a.fileid, atime: oTime(a.atime), mtime: oTime(a.mtime), ctime: oTime(a.ctime),
});
const oPost = (p: Any): T.Fattr3 | undefined => (p.attributesFollow ? oFattr(p.attributes) : undefined);
const oWcc = (w: Any): T.WccData => ({
  before: w.before.attributesFollow ? { size: w.before.attributes.size, mtime: oTime(w.before.attributes.mtime), ctime: oTime(w.before.attributes.ctime) } : undefined,
  after: oPost(w.after),
});
const oPostFh = (p: Any): Buffer | undefined => (p.handleFollows ? oFh(p.handle) : undefined);
const oSetTime = (how: number, t: Any): T.SetTime => (how === 0 ? undefined : how === 1 ? 'server' : oTime(t));
function oSattr(s: Any): T.Sattr3 {
  const out: T.Sattr3 = {};
  if (s.mode.set) out.mode = s.mode.mode;
  if (s.uid.set) out.uid = s.uid.uid;
  if (s.gid.set) out.gid = s.gid.gid;
  if (s.size.set) out.size = s.size.size;
  const at = oSetTime(s.atime.how, s.atime.atime);
  if (at !== undefined) out.atime = at;
  const mt = oSetTime(s.mtime.how, s.mtime.mtime);
  if (mt !== undefined) out.mtime = mt;
  return out;
}
const oDirop = (d: Any): T.DirOpArgs => ({ dir: oFh(d.dir), name: d.name });
function oList<N extends { nextentry?: N }, E>(head: N | undefined, f: (n: N) => E): E[] {
  const out: E[] = [];
  for (let n = head; n; n = n.nextentry) out.push(f(n));
  return out;
}

/** json-pack request -> our args. */
export function fromJpArgs(name: string, m: Any): Any {
  switch (name) {
    case 'GETATTR': return { object: oFh(m.object) };
    case 'SETATTR': {
      const a: Any = { object: oFh(m.object), newAttributes: oSattr(m.newAttributes) };
      if (m.guard.check) a.guard = oTime(m.guard.objCtime);
      return a;
    }
    case 'LOOKUP': return { what: oDirop(m.what) };
    case 'ACCESS': return { object: oFh(m.object), access: m.access };
    case 'READLINK': return { symlink: oFh(m.symlink) };
    case 'READ': return { file: oFh(m.file), offset: m.offset, count: m.count };
    case 'WRITE': return { file: oFh(m.file), offset: m.offset, count: m.count, stable: m.stable, data: buf(m.data) };
    case 'CREATE': return { where: oDirop(m.where), how: m.how.mode === 2 ? { mode: 2, verf: buf(m.how.verf) } : { mode: m.how.mode, attributes: oSattr(m.how.objAttributes) } };
    case 'MKDIR': return { where: oDirop(m.where), attributes: oSattr(m.attributes) };
    case 'SYMLINK': return { where: oDirop(m.where), symlink: { attributes: oSattr(m.symlinkAttributes), data: m.symlinkData } };
    case 'MKNOD': {
      const w = m.what;
      const dev = w.chr ?? w.blk;
      const pipe = w.sock ?? w.pipe;
      const what = dev ? { type: w.type, attributes: oSattr(dev.devAttributes), spec: oSpec(dev.spec) } : pipe ? { type: w.type, attributes: oSattr(pipe) } : { type: w.type };
      return { where: oDirop(m.where), what };
    }
    case 'REMOVE':
    case 'RMDIR': return { object: oDirop(m.object) };
    case 'RENAME': return { from: oDirop(m.from), to: oDirop(m.to) };
    case 'LINK': return { file: oFh(m.file), link: oDirop(m.link) };
    case 'READDIR': return { dir: oFh(m.dir), cookie: m.cookie, cookieverf: buf(m.cookieverf), count: m.count };
    case 'READDIRPLUS': return { dir: oFh(m.dir), cookie: m.cookie, cookieverf: buf(m.cookieverf), dircount: m.dircount, maxcount: m.maxcount };
    case 'FSSTAT':
    case 'FSINFO': return { fsroot: oFh(m.fsroot) };
    case 'PATHCONF': return { object: oFh(m.object) };
    case 'COMMIT': return { file: oFh(m.file), offset: m.offset, count: m.count };
  }
  throw new Error(`no json-pack request for ${name}`);
}

/** json-pack response -> our results. */
export function fromJpRes(name: string, m: Any): Any {
  const s = m.status;
  const ok = m.resok;
  const bad = m.resfail;
  switch (name) {
    case 'GETATTR': return s === 0 ? { status: s, objAttributes: oFattr(ok.objAttributes) } : { status: s };
    case 'SETATTR': return { status: s, objWcc: oWcc((ok ?? bad).objWcc) };
    case 'LOOKUP': return ok ? { status: s, object: oFh(ok.object), objAttributes: oPost(ok.objAttributes), dirAttributes: oPost(ok.dirAttributes) } : { status: s, dirAttributes: oPost(bad.dirAttributes) };
    case 'ACCESS': return ok ? { status: s, objAttributes: oPost(ok.objAttributes), access: ok.access } : { status: s, objAttributes: oPost(bad.objAttributes) };
    case 'READLINK': return ok ? { status: s, symlinkAttributes: oPost(ok.symlinkAttributes), data: ok.data } : { status: s, symlinkAttributes: oPost(bad.symlinkAttributes) };
    case 'READ': return ok ? { status: s, fileAttributes: oPost(ok.fileAttributes), count: ok.count, eof: ok.eof, data: buf(ok.data) } : { status: s, fileAttributes: oPost(bad.fileAttributes) };
    case 'WRITE': return ok ? { status: s, fileWcc: oWcc(ok.fileWcc), count: ok.count, committed: ok.committed, verf: buf(ok.verf) } : { status: s, fileWcc: oWcc(bad.fileWcc) };
    case 'CREATE':
    case 'MKDIR':
    case 'SYMLINK':
    case 'MKNOD': return ok ? { status: s, obj: oPostFh(ok.obj), objAttributes: oPost(ok.objAttributes), dirWcc: oWcc(ok.dirWcc) } : { status: s, dirWcc: oWcc(bad.dirWcc) };
    case 'REMOVE':
    case 'RMDIR': return { status: s, dirWcc: oWcc((ok ?? bad).dirWcc) };
    case 'RENAME': return { status: s, fromDirWcc: oWcc((ok ?? bad).fromDirWcc), toDirWcc: oWcc((ok ?? bad).toDirWcc) };
    case 'LINK': return { status: s, fileAttributes: oPost((ok ?? bad).fileAttributes), linkDirWcc: oWcc((ok ?? bad).linkDirWcc) };
    case 'READDIR':
      return ok
        ? { status: s, dirAttributes: oPost(ok.dirAttributes), cookieverf: buf(ok.cookieverf), entries: oList(ok.reply.entries, (e: Any) => ({ fileid: e.fileid, name: e.name, cookie: e.cookie })), eof: ok.reply.eof }
        : { status: s, dirAttributes: oPost(bad.dirAttributes) };
    case 'READDIRPLUS':
      return ok
        ? {
            status: s,
            dirAttributes: oPost(ok.dirAttributes),
            cookieverf: buf(ok.cookieverf),
            entries: oList(ok.reply.entries, (e: Any) => ({ fileid: e.fileid, name: e.name, cookie: e.cookie, nameAttributes: oPost(e.nameAttributes), nameHandle: oPostFh(e.nameHandle) })),
            eof: ok.reply.eof,
          }
        : { status: s, dirAttributes: oPost(bad.dirAttributes) };
    case 'FSSTAT':
      return ok
        ? { status: s, objAttributes: oPost(ok.objAttributes), tbytes: ok.tbytes, fbytes: ok.fbytes, abytes: ok.abytes, tfiles: ok.tfiles, ffiles: ok.ffiles, afiles: ok.afiles, invarsec: ok.invarsec }
        : { status: s, objAttributes: oPost(bad.objAttributes) };
    case 'FSINFO':
      return ok
        ? {
            status: s, objAttributes: oPost(ok.objAttributes), rtmax: ok.rtmax, rtpref: ok.rtpref, rtmult: ok.rtmult, wtmax: ok.wtmax, wtpref: ok.wtpref,
            wtmult: ok.wtmult, dtpref: ok.dtpref, maxfilesize: ok.maxfilesize, timeDelta: oTime(ok.timeDelta), properties: ok.properties,
          }
        : { status: s, objAttributes: oPost(bad.objAttributes) };
    case 'PATHCONF':
      return ok
        ? {
            status: s, objAttributes: oPost(ok.objAttributes), linkmax: ok.linkmax, nameMax: ok.namemax, noTrunc: ok.noTrunc,
            chownRestricted: ok.chownRestricted, caseInsensitive: ok.caseInsensitive, casePreserving: ok.casePreserving,
          }
        : { status: s, objAttributes: oPost(bad.objAttributes) };
    case 'COMMIT': return ok ? { status: s, fileWcc: oWcc(ok.fileWcc), verf: buf(ok.verf) } : { status: s, fileWcc: oWcc(bad.fileWcc) };
  }
  throw new Error(`no json-pack response for ${name}`);
}

// --- MOUNT v3 ---
export function toJpMount(name: string, isRequest: boolean, v: Any): Any {
  if (isRequest) {
    if (name === 'MNT') return new JM.MountMntRequest(v.dirpath);
    if (name === 'UMNT') return new JM.MountUmntRequest(v.dirpath);
    throw new Error(`no json-pack MOUNT request for ${name}`);
  }
  switch (name) {
    case 'MNT': {
      if (v.status !== 0) return new JM.MountMntResponse(v.status);
      const fh = new Reader(v.fhandle);
      return new JM.MountMntResponse(0, new JM.MountMntResOk(new JMS.MountFhandle3(fh), v.authFlavors));
    }
    case 'DUMP': return new JM.MountDumpResponse(jList<MountEntry, JMS.MountBody>(v, (e, next) => new JMS.MountBody(e.hostname, e.directory, next)));
    case 'EXPORT':
      return new JM.MountExportResponse(
        jList<ExportEntry, JMS.MountExportNode>(v, (e, next) => new JMS.MountExportNode(e.dir, jList<string, JMS.MountGroupNode>(e.groups, (g, n) => new JMS.MountGroupNode(g, n)), next)),
      );
  }
  throw new Error(`no json-pack MOUNT response for ${name}`);
}

function nodes<N extends { next?: N }, E>(head: N | undefined, f: (n: N) => E): E[] {
  const out: E[] = [];
  for (let n = head; n; n = n.next) out.push(f(n));
  return out;
}

export function fromJpMount(name: string, isRequest: boolean, m: Any): Any {
  if (isRequest) return { dirpath: m.dirpath };
  switch (name) {
    case 'MNT': {
      if (m.status !== 0) return { status: m.status };
      const fh: Reader = m.mountinfo.fhandle.data;
      return { status: 0, fhandle: buf(fh.uint8.subarray(fh.x, fh.end)), authFlavors: m.mountinfo.authFlavors };
    }
    case 'DUMP': return nodes(m.mountlist, (n: Any) => ({ hostname: n.hostname, directory: n.directory }));
    case 'EXPORT': return nodes(m.exports, (n: Any) => ({ dir: n.dir, groups: nodes(n.groups, (g: Any) => g.name) }));
  }
  throw new Error(`no json-pack MOUNT response for ${name}`);
}

// --- byte-level helpers ---
const nfsEnc = new J.Nfsv3Encoder();
const nfsDec = new J.Nfsv3Decoder();
const mntEnc = new MountEncoder();
const mntDec = new MountDecoder();

/**
 * json-pack 18.28 bug worked around here: XdrEncoder.writeStr reserves the 4-byte length by bumping writer.x, and
 * when Writer.utf8 then grows the buffer (strings >= 42 chars near the end of the 64 KiB slab) grow() rebases
 * offsets to x0, so the length lands at a stale offset and the string's length word stays 0. Reserving room
 * before each message means no growth happens mid-message. Our own codec is not involved in this.
 */
export const JP_HEADROOM = 256 * 1024;

export function jpEncode(prog: 'nfs' | 'mount', proc: number, isRequest: boolean, msg: Any): Buffer {
  (prog === 'nfs' ? nfsEnc : mntEnc).writer.ensureCapacity(JP_HEADROOM);
  const u = prog === 'nfs' ? nfsEnc.encodeMessage(msg, proc, isRequest) : mntEnc.encodeMessage(msg, proc, isRequest);
  return Buffer.from(u); // json-pack reuses its writer's memory: copy before the next call
}

export function jpDecode(prog: 'nfs' | 'mount', proc: number, isRequest: boolean, bytes: Uint8Array): Any {
  const r = new Reader(bytes);
  const m = prog === 'nfs' ? nfsDec.decodeMessage(r, proc, isRequest) : mntDec.decodeMessage(r, proc, isRequest);
  if (m === undefined) throw new Error('json-pack: truncated input');
  if (r.x !== bytes.length) throw new Error(`json-pack left ${bytes.length - r.x} bytes unread`);
  return m;
}
