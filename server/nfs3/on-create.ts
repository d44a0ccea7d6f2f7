// RFC 1813 §3.3.8 CREATE, as nfsd3_create_file (fs/nfsd/nfs3proc.c) does it. A new file is made with
// open(O_CREAT|O_EXCL|O_NOFOLLOW) through the directory's descriptor, and everything after (owner, mode, size,
// times) is done on the descriptor that open returned: nothing can be redirected to another file. An existing
// name: UNCHECKED answers the object there (a regular file gets only the size applied, anything else nothing),
// GUARDED is NFS3ERR_EXIST, EXCLUSIVE succeeds only for its own file (the 8-byte verifier stored in mtime/atime
// seconds, size 0), so a retransmitted EXCLUSIVE CREATE finds its file while anyone else's gets NFS3ERR_EXIST.
import fs from 'node:fs';
import { promisify } from 'node:util';
import { CREATEMODE3, NFSSTAT3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { CreateArgs, CreateRes } from '../../xdr/nfs3/types';
import { O_CREAT, O_EXCL, O_NOCTTY, O_NOFOLLOW, O_RDWR, atPath, fstatBig, lstatAt, openAsync } from '../fs-at';
import type { Resolved } from '../handles';
import type { CallContext, ProcEntry } from '../rpc/program';
import { isReg } from './attrs';
import { createFail, createIn, createSetattr, giveToCaller, holdAt } from './dir-op';
import { fail } from './errno';
import type { Nfs3Export } from './export';
import type { Identity } from './identity';
import { MAY, inodeOf, mayCreate, newMode } from './permission';
import { setattrAs } from './setattr';

const fchmod = promisify(fs.fchmod);

/**
 * createverf3 -> (mtime, atime) seconds as nfsd3_create_file stores them: the verifier's two 32-bit words in
 * host order (x86-64: little endian), high bit cleared ("Solaris 7 gets confused ... xfs without bigtime").
 */
export function verifierTimes(verf: Buffer): { atime: number; mtime: number } {
  return { mtime: verf.readUInt32LE(0) & 0x7fffffff, atime: verf.readUInt32LE(4) & 0x7fffffff };
}

export function onCreate(x: Nfs3Export): ProcEntry<CreateArgs, CreateRes> {
  return {
    codec: NFS3.CREATE,
    subject: (a) => ({ fh: a.where.dir, name: a.where.name }),
    run: (ctx, a) =>
      createIn(x, ctx, a.where, MAY.EXEC, a.how.mode === CREATEMODE3.EXCLUSIVE ? undefined : a.how.attributes, async (dir, name, rel, who) => {
        // Another client may create the name between the look and the O_EXCL open: then look again.
        for (let tries = 0; ; tries++) {
          const existing = await lstatAt(dir.fd, name);
          if (existing) return { obj: await found(x, ctx, a, who, dir, name, rel), created: false };
          // nfsd3_create_file: only a name that does not exist yet needs NFSD_MAY_CREATE.
          const denied = mayCreate(who, inodeOf(dir.stats));
          if (denied) fail(denied, `${dir.rel}: no create permission for uid ${who.uid}`);
          try {
            return { obj: await create(x, ctx, a, who, dir, name, rel), created: true };
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) throw e;
          }
        }
      }),
    fail: createFail,
  };
}

/** The name exists: what nfsd3_create_file answers for each createmode3. */
async function found(x: Nfs3Export, ctx: CallContext, a: CreateArgs, who: Identity, dir: Resolved, name: string, rel: string): Promise<Resolved> {
  const how = a.how;
  if (how.mode === CREATEMODE3.GUARDED) fail(NFSSTAT3.NFS3ERR_EXIST, `${rel} exists`);
  const obj = await holdAt(x, ctx, dir, name, rel);
  if (how.mode === CREATEMODE3.EXCLUSIVE) {
    const t = verifierTimes(how.verf);
    const mine = isReg(obj.stats) && obj.stats.size === 0n && Number(obj.stats.mtimeNs / 1_000_000_000n) === t.mtime && Number(obj.stats.atimeNs / 1_000_000_000n) === t.atime;
    if (!mine) fail(NFSSTAT3.NFS3ERR_EXIST, 'exists with another verifier');
    return obj;
  }
  // UNCHECKED: a regular file gets its size set (only that, with SETATTR's checks), anything else is answered as it is.
  if (isReg(obj.stats) && how.attributes.size !== undefined) await setattrAs(who, obj, { size: how.attributes.size });
  return obj;
}

/**
 * A new file: made with mode 0 (no one can open it meanwhile), given to the caller, then its mode (umask 0, as
 * nfsd() sets current->fs->umask = 0; no mode is mode 0) and its other attributes, through the descriptor open
 * returned.
 */
async function create(x: Nfs3Export, ctx: CallContext, a: CreateArgs, who: Identity, dir: Resolved, name: string, rel: string): Promise<Resolved> {
  const fd = await openAsync(atPath(dir.fd, name), O_CREAT | O_EXCL | O_NOFOLLOW | O_RDWR | O_NOCTTY, 0);
  x.hold(ctx, fd);
  const obj: Resolved = { rel, fd, stats: await fstatBig(fd) };
  await giveToCaller(who, dir, obj);
  const how = a.how;
  if (how.mode === CREATEMODE3.EXCLUSIVE) {
    // nfsd3_create_file: no attributes but the verifier in the times (mode 0); the client sends SETATTR afterwards.
    const t = verifierTimes(how.verf);
    await createSetattr(who, obj, { atime: { seconds: t.atime, nseconds: 0 }, mtime: { seconds: t.mtime, nseconds: 0 } });
  } else {
    await fchmod(fd, newMode(who, inodeOf(dir.stats), how.attributes.mode ?? 0, false));
    obj.stats = await fstatBig(fd);
    await createSetattr(who, obj, how.attributes);
  }
  return obj;
}
