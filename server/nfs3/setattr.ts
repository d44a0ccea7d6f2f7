// Applying a sattr3 (RFC 1813 §2.6) to an object held by a verified descriptor: every change goes through the
// descriptor (fs-at.ts), never through a name, so an object swapped for a symlink after the handle was checked
// cannot redirect it. Order as nfsd_setattr (fs/nfsd/vfs.c): the size first, then owner, mode and times.
import fs from 'node:fs';
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import type { Sattr3, SetTime } from '../../xdr/nfs3/types';
import { O_NOCTTY, fdPath } from '../fs-at';
import type { Resolved } from '../handles';
import { isDir, isLnk, isReg } from './attrs';
import { fail, nfsError } from './errno';
import { fileOffset } from './limits';

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
