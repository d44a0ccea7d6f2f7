// The shape CREATE, MKDIR, SYMLINK and MKNOD share (RFC 1813 §3.3.8-§3.3.11): resolve the directory, check the
// name, create through the directory's descriptor, answer the new object's handle and attributes plus the
// directory's wcc_data. Failures keep the directory's wcc_data so the client's cache stays right.
import fs from 'node:fs';
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import type { CreateRes, DirOpArgs, Sattr3 } from '../../xdr/nfs3/types';
import { O_NOFOLLOW, O_PATH, atPath, fdPath, fstatBig, openAsync } from '../fs-at';
import type { Resolved } from '../handles';
import type { CallContext } from '../rpc/program';
import { fail, nfsError } from './errno';
import type { Nfs3Export } from './export';
import type { Identity } from './identity';
import { checkName } from './limits';
import { inodeOf, newOwner, nfsdPermission } from './permission';
import { checkTimes, setattrAs } from './setattr';

/** What a create step made: the new (or, for CREATE UNCHECKED, existing) object, held by a verified descriptor. */
export interface Made {
  obj: Resolved;
  /** false when CREATE found the file already there (nothing of it is changed but what nfsd changes) */
  created: boolean;
}

/**
 * `need` is the access the directory must grant before anything is made (nfsd: NFSD_MAY_CREATE for MKDIR,
 * SYMLINK and MKNOD; CREATE asks NFSD_MAY_EXEC and checks creation itself, as an existing name needs less);
 * `attrs` the sattr3 the call carries (its times are checked before anything is made).
 */
export async function createIn(
  x: Nfs3Export,
  ctx: CallContext,
  where: DirOpArgs,
  need: number,
  attrs: Sattr3 | undefined,
  make: (dir: Resolved, name: string, rel: string, who: Identity) => Promise<Made>,
): Promise<CreateRes> {
  const dir = await x.resolveDir(ctx, where.dir);
  try {
    checkName(where.name, 'create');
    if (attrs) checkTimes(attrs);
    const who = x.who(ctx);
    const denied = nfsdPermission(who, inodeOf(dir.stats), need);
    if (denied) fail(denied, `${dir.rel}: no create permission for uid ${who.uid}`);
    const rel = x.child(dir, where.name);
    const { obj } = await make(dir, where.name, rel, who);
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

/**
 * The server made `obj` as itself; nfsd would have made it as the caller (inode_init_owner: the caller's fsuid,
 * and its fsgid or a set-group-ID directory's group). Only root can give it away: a server run as another user
 * leaves its objects its own (the permission checks still model the caller). Refreshes obj.stats.
 */
export async function giveToCaller(who: Identity, dir: Resolved, obj: Resolved): Promise<void> {
  const o = newOwner(who, inodeOf(dir.stats));
  if (process.geteuid?.() === 0 && (BigInt(o.uid) !== obj.stats.uid || BigInt(o.gid) !== obj.stats.gid)) {
    await fs.promises.chown(fdPath(obj.fd), o.uid, o.gid);
    obj.stats = await fstatBig(obj.fd);
  }
}

/**
 * nfsd_create_setattr: what a create's sattr3 sets once the object exists, as the caller (its owner by now):
 * not the mode (set at creation), the owner only when the caller is root, a size of 0 never (a new file has it).
 */
export async function createSetattr(who: Identity, obj: Resolved, s: Sattr3): Promise<void> {
  const rest: Sattr3 = { ...s, mode: undefined, size: s.size === 0n ? undefined : s.size };
  if (!who.capable) {
    rest.uid = undefined;
    rest.gid = undefined;
  }
  if (Object.values(rest).some((v) => v !== undefined)) await setattrAs(who, obj, rest);
}
