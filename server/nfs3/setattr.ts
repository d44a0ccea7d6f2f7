// SETATTR's work, as nfsd_setattr (fs/nfsd/vfs.c) does it for the caller: the checks of permission.ts in nfsd's
// order, then the changes, each through the object's verified descriptor (fs-at.ts), never through a name, so an
// object swapped for a symlink after the handle was checked cannot redirect it. The size first (nfsd splits it
// into its own notify_change), then owner, mode and times.
import fs from 'node:fs';
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import type { NfsTime, Sattr3, SetTime } from '../../xdr/nfs3/types';
import { O_NOCTTY, fdPath } from '../fs-at';
import type { Resolved } from '../handles';
import { isDir, isLnk, isReg, wccAttr } from './attrs';
import { fail, nfsError } from './errno';
import type { Identity } from './identity';
import { fileOffset } from './limits';
import { inodeOf, nfsdPermission, setattrAccess, setattrRules } from './permission';

/**
 * nfstime3.nseconds of 10^9 or more is well-formed XDR but no time: NFS3ERR_INVAL from the procedure, the
 * status RFC 1813 §3.3.2 gives for a value the server cannot store (Chuck Lever's review of "nfsd: validate
 * nfstime3 nseconds", linux-nfs: not GARBAGE_ARGS, and a guard's ctime is only compared, so it stays NOT_SYNC).
 */
export function checkTimes(s: Sattr3): void {
  const bad = (t: SetTime) => t !== undefined && t !== 'server' && t.nseconds >= 1_000_000_000;
  if (bad(s.atime) || bad(s.mtime)) fail(NFSSTAT3.NFS3ERR_INVAL, 'nseconds out of range');
}

/**
 * nfsd_setattr: fh_verify with the access setattrAccess names (a size needs a regular file, ISDIR/INVAL
 * otherwise), the guard, the size, then setattr_prepare's rules for the rest (PERM after the size was set, as
 * in nfsd), then the changes.
 */
export async function setattrAs(who: Identity, obj: Resolved, s: Sattr3, guard?: NfsTime): Promise<void> {
  if (s.size !== undefined) checkSizeTarget(obj);
  const ino = inodeOf(obj.stats);
  const denied = nfsdPermission(who, ino, setattrAccess(s));
  if (denied) fail(denied, `${obj.rel}: SETATTR not permitted for uid ${who.uid}`);
  if (guard) {
    const c = wccAttr(obj.stats).ctime;
    if (c.seconds !== guard.seconds || c.nseconds !== guard.nseconds) fail(NFSSTAT3.NFS3ERR_NOT_SYNC, 'guard ctime differs');
  }
  if (s.size !== undefined) await applySattr(obj, { size: s.size });
  const { status, attrs } = setattrRules(who, ino, s);
  if (status) fail(status, `${obj.rel}: owner, mode or times not changeable by uid ${who.uid}`);
  await applySattr(obj, attrs);
}

/** Size applies to regular files only: NFS3ERR_ISDIR for a directory, NFS3ERR_INVAL otherwise (nfsd_mode_check). */
export function checkSizeTarget(obj: Resolved): void {
  if (!isReg(obj.stats)) fail(isDir(obj.stats) ? NFSSTAT3.NFS3ERR_ISDIR : NFSSTAT3.NFS3ERR_INVAL, 'size applies to regular files');
}

/** ftruncate through a descriptor reopened from the held one (an O_PATH descriptor cannot be truncated). */
export async function truncateHeld(obj: Resolved, size: bigint): Promise<void> {
  const h = await fs.promises.open(fdPath(obj.fd), fs.constants.O_WRONLY | O_NOCTTY);
  try {
    await h.truncate(fileOffset(size));
  } finally {
    await h.close();
  }
}

/**
 * Applies `s` to `obj` (permission already checked). Mode is ignored on a symlink, as nfsd_sanitize_attrs does
 * (chmod of a link is not possible on Linux); owner and times of a symlink apply to the link itself.
 */
export async function applySattr(obj: Resolved, s: Sattr3): Promise<void> {
  const at = fdPath(obj.fd);
  try {
    if (s.size !== undefined) {
      checkSizeTarget(obj);
      await truncateHeld(obj, s.size);
    }
    if (s.uid !== undefined || s.gid !== undefined) await fs.promises.chown(at, s.uid ?? -1, s.gid ?? -1);
    if (s.mode !== undefined && !isLnk(obj.stats)) await fs.promises.chmod(at, s.mode & 0o7777);
    if (s.atime !== undefined || s.mtime !== undefined) {
      await fs.promises.utimes(at, toSeconds(s.atime, obj.stats.atimeNs), toSeconds(s.mtime, obj.stats.mtimeNs));
    }
  } catch (e) {
    throw nfsError(e);
  }
}

/** Node's utimes takes seconds as a double: nanoseconds survive to about 0.25 µs at today's epoch seconds. */
function toSeconds(t: SetTime, currentNs: bigint): number {
  if (t === undefined) return Number(currentNs) / 1e9;
  if (t === 'server') return Date.now() / 1000;
  return t.seconds + t.nseconds / 1e9;
}
