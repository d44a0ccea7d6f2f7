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
import { createFail, createIn, holdAt } from './dir-op';
import { fail } from './errno';
import type { Nfs3Export } from './export';
import { applySattr } from './setattr';

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
    run: (ctx, a) =>
      createIn(x, ctx, a.where, async (dir, name, rel) => {
        // Another client may create the name between the look and the O_EXCL open: then look again.
        for (let tries = 0; ; tries++) {
          const existing = await lstatAt(dir.fd, name);
          if (existing) return { obj: await found(x, ctx, a, dir, name, rel), created: false };
          try {
            return { obj: await create(x, ctx, a, dir, name, rel), created: true };
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) throw e;
          }
        }
      }),
    fail: createFail,
  };
}

/** The name exists: what nfsd3_create_file answers for each createmode3. */
async function found(x: Nfs3Export, ctx: CallContext, a: CreateArgs, dir: Resolved, name: string, rel: string): Promise<Resolved> {
  const how = a.how;
  if (how.mode === CREATEMODE3.GUARDED) fail(NFSSTAT3.NFS3ERR_EXIST, `${rel} exists`);
  const obj = await holdAt(x, ctx, dir, name, rel);
  if (how.mode === CREATEMODE3.EXCLUSIVE) {
    const t = verifierTimes(how.verf);
    const mine = isReg(obj.stats) && obj.stats.size === 0n && Number(obj.stats.mtimeNs / 1_000_000_000n) === t.mtime && Number(obj.stats.atimeNs / 1_000_000_000n) === t.atime;
    if (!mine) fail(NFSSTAT3.NFS3ERR_EXIST, 'exists with another verifier');
    return obj;
  }
  // UNCHECKED: a regular file gets its size set (only that), anything else is answered as it is.
  if (isReg(obj.stats) && how.attributes.size !== undefined) await applySattr(obj, { size: how.attributes.size });
  return obj;
}

/** A new file: made with mode 0, then given its mode and attributes through the descriptor open returned. */
async function create(x: Nfs3Export, ctx: CallContext, a: CreateArgs, dir: Resolved, name: string, rel: string): Promise<Resolved> {
  const fd = await openAsync(atPath(dir.fd, name), O_CREAT | O_EXCL | O_NOFOLLOW | O_RDWR | O_NOCTTY, 0);
  x.hold(ctx, fd);
  const obj: Resolved = { rel, fd, stats: await fstatBig(fd) };
  const how = a.how;
  if (how.mode === CREATEMODE3.EXCLUSIVE) {
    // nfsd3_create_file: no attributes but the verifier in the times; the client sends SETATTR afterwards.
    const t = verifierTimes(how.verf);
    await applySattr(obj, { atime: { seconds: t.atime, nseconds: 0 }, mtime: { seconds: t.mtime, nseconds: 0 } });
  } else {
    // nfsd creates with the client's mode and umask 0 (nfsd() sets current->fs->umask = 0); no mode is mode 0.
    await fchmod(fd, (how.attributes.mode ?? 0) & 0o7777);
    // nfsd_create_setattr: the other attributes after the mode (a chown then clears set-id bits, as there);
    // a size of 0 on a new file is ignored (nfsd_check_ignore_resizing).
    const { size } = how.attributes;
    await applySattr(obj, { ...how.attributes, mode: undefined, size: size === 0n ? undefined : size });
  }
  obj.stats = await fstatBig(fd);
  return obj;
}
