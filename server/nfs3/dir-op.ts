// The shape CREATE, MKDIR, SYMLINK and MKNOD share (RFC 1813 §3.3.8-§3.3.11): resolve the directory, check the
// name, create through the directory's descriptor, answer the new object's handle and attributes plus the
// directory's wcc_data. Failures keep the directory's wcc_data so the client's cache stays right.
import fs from 'node:fs';
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import type { CreateRes, DirOpArgs } from '../../xdr/nfs3/types';
import { O_NOFOLLOW, O_PATH, atPath, fdPath, fstatBig, openAsync } from '../fs-at';
import type { Resolved } from '../handles';
import type { CallContext } from '../rpc/program';
import { fail, nfsError } from './errno';
import type { Nfs3Export } from './export';
import { checkName } from './limits';

/** What a create step made: the new (or, for CREATE UNCHECKED, existing) object, held by a verified descriptor. */
export interface Made {
  obj: Resolved;
  /** false when CREATE found the file already there (nothing of it is changed but what nfsd changes) */
  created: boolean;
}

export async function createIn(x: Nfs3Export, ctx: CallContext, where: DirOpArgs, make: (dir: Resolved, name: string, rel: string) => Promise<Made>): Promise<CreateRes> {
  const dir = await x.resolveDir(ctx, where.dir);
  ctx.note.path = dir.rel;
  try {
    checkName(where.name, 'create');
    const rel = x.child(dir, where.name);
    const { obj, created } = await make(dir, where.name, rel);
    // Root squash: what squashed root creates belongs to the anonymous id, not to the server's user.
    if (created && ctx.squashed && ctx.auth) await fs.promises.chown(fdPath(obj.fd), ctx.auth.uid, ctx.auth.gid);
    const made = await x.describeFd(rel, obj.fd);
    return { status: 0, obj: made.fh, objAttributes: made.attrs, dirWcc: await x.wcc(dir) };
  } catch (e) {
    return { status: nfsError(e).status, dirWcc: await x.wcc(dir) } as CreateRes;
  }
}

export const createFail = (status: number): CreateRes => ({ status, dirWcc: {} }) as CreateRes;

/** Opens (O_PATH, never following) what `name` in `dir` is now, held for the call. */
export async function holdAt(x: Nfs3Export, ctx: CallContext, dir: Resolved, name: string, rel: string, flags = 0): Promise<Resolved> {
  const fd = await openAsync(atPath(dir.fd, name), O_PATH | O_NOFOLLOW | flags);
  x.hold(ctx, fd);
  return { rel, fd, stats: await fstatBig(fd) };
}

/**
 * MKDIR and SYMLINK create by name and can only then open what they made: between the two a client allowed to
 * rename in the directory could put another object under the name, and the server would set attributes (and
 * the owner) of that one. The object found must therefore carry the marks of the one just made (`ours`: type,
 * the server's own uid, mode 0 for a directory ...), and the server makes these objects one at a time, so no
 * other of its own creations can pass for it. One that does not is left alone: NFS3ERR_SERVERFAULT, as nfsd
 * answers when the dentry it created is not the one it finds (nfsd_create_locked).
 */
export async function holdCreated(x: Nfs3Export, ctx: CallContext, dir: Resolved, name: string, rel: string, flags: number, ours: (st: fs.BigIntStats) => boolean): Promise<Resolved> {
  const obj = await holdAt(x, ctx, dir, name, rel, flags);
  if (!ours(obj.stats)) fail(NFSSTAT3.NFS3ERR_SERVERFAULT, `${rel} was replaced while it was being created`);
  return obj;
}

/** The uid the server's own creations get (the kernel gives them the server's fsuid). */
export const serverUid = (): bigint => BigInt(process.geteuid?.() ?? -1);
