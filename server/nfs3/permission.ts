// What Linux nfsd lets an identity (identity.ts) do to an inode, modelled function by function: nfsd_permission
// (fs/nfsd/vfs.c) over generic_permission (fs/namei.c), the sticky-directory rule of may_delete, the attribute
// rules of setattr_prepare/notify_change (fs/attr.c) as nfsd_setattr and nfsd_sanitize_attrs drive them, the
// set-id bits a write drops (setattr_should_drop_suidgid), and the owner and mode a new object gets
// (inode_init_owner, mode_strip_sgid). The server runs as root and acts for the caller, so these checks are the
// only thing between a caller and a file: each returns the nfsstat3 nfsd would answer, or 0. Not modelled: POSIX
// ACLs (the mode bits decide), and the immutable/append-only attributes, which the kernel enforces on the
// server's own calls anyway (EPERM -> NFS3ERR_PERM, as nfsd answers).
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import type { Sattr3 } from '../../xdr/nfs3/types';
import { Identity, inGroup } from './identity';

/** The inode fields a check reads (from a BigIntStats or a Stats). */
export interface Inode {
  mode: number;
  uid: number;
  gid: number;
}
export const inodeOf = (st: { mode: number | bigint; uid: number | bigint; gid: number | bigint }): Inode => ({ mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid) });

/** NFSD_MAY_* (fs/nfsd/vfs.h); EXEC, WRITE and READ equal MAY_EXEC, MAY_WRITE, MAY_READ and the rwx mode bits. */
export const MAY = {
  NOP: 0,
  EXEC: 0x001,
  WRITE: 0x002,
  READ: 0x004,
  SATTR: 0x008,
  TRUNC: 0x010,
  MASK: 0x03f,
  OWNER_OVERRIDE: 0x040,
  READ_IF_EXEC: 0x800,
  CREATE: 0x001 | 0x002,
  REMOVE: 0x001 | 0x002 | 0x010,
} as const;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const S_IXGRP = 0o010;
const S_IXUGO = 0o111;
const isDirMode = (m: number) => (m & S_IFMT) === S_IFDIR;
const isRegMode = (m: number) => (m & S_IFMT) === S_IFREG;

/**
 * generic_permission (fs/namei.c): acl_permission_check takes the owner's bits if the caller owns the inode,
 * else the group's if it is in the group, else the others'; failing that, CAP_DAC_READ_SEARCH grants reading
 * and searching, CAP_DAC_OVERRIDE everything on a directory and everything but executing a file no one may
 * execute. `mask` is MAY_READ|MAY_WRITE|MAY_EXEC bits.
 */
export function inodePermission(who: Identity, ino: Inode, mask: number): boolean {
  mask &= 7;
  let mode = ino.mode;
  if (who.uid === ino.uid) mode >>= 6;
  else if (inGroup(who, ino.gid)) mode >>= 3;
  if ((mask & ~mode & 7) === 0) return true;
  if (!who.capable) return false;
  if (isDirMode(ino.mode)) return true;
  if (mask === MAY.READ) return true;
  return (mask & MAY.EXEC) === 0 || (ino.mode & S_IXUGO) !== 0;
}

/**
 * nfsd_permission: NOP is always allowed; with OWNER_OVERRIDE the owner always is ("file access work[s] even
 * when the client has done a fchmod(fd, 0)"); else the mode bits, and a regular file that may not be read but
 * may be executed can still be READ ("Allow read access to binaries even when mode 111").
 */
export function nfsdPermission(who: Identity, ino: Inode, acc: number): number {
  if ((acc & MAY.MASK) === MAY.NOP) return 0;
  if ((acc & MAY.OWNER_OVERRIDE) !== 0 && ino.uid === who.uid) return 0;
  if (inodePermission(who, ino, acc)) return 0;
  if (isRegMode(ino.mode) && (acc === (MAY.READ | MAY.OWNER_OVERRIDE) || acc === (MAY.READ | MAY.READ_IF_EXEC)) && inodePermission(who, ino, MAY.EXEC)) return 0;
  return NFSSTAT3.NFS3ERR_ACCES;
}

/**
 * may_delete's checks on a name in `dir` (fs/namei.c): write and search on the directory (ACCES); in a sticky
 * directory only the victim's owner, the directory's owner or CAP_FOWNER may remove or rename it (check_sticky:
 * PERM).
 */
export function mayDelete(who: Identity, dir: Inode, victim: Inode): number {
  if (!inodePermission(who, dir, MAY.WRITE | MAY.EXEC)) return NFSSTAT3.NFS3ERR_ACCES;
  if ((dir.mode & S_ISVTX) !== 0 && victim.uid !== who.uid && dir.uid !== who.uid && !who.capable) return NFSSTAT3.NFS3ERR_PERM;
  return 0;
}

/** may_create: write and search on the directory. */
export const mayCreate = (who: Identity, dir: Inode): number => (inodePermission(who, dir, MAY.WRITE | MAY.EXEC) ? 0 : NFSSTAT3.NFS3ERR_ACCES);

/** The NFSD_MAY_* nfsd_setattr asks fh_verify for: times set to the server's clock need write permission. */
export function setattrAccess(s: Sattr3): number {
  let acc: number = MAY.SATTR;
  if (s.size !== undefined) acc |= MAY.WRITE | MAY.OWNER_OVERRIDE;
  if (s.atime !== undefined || s.mtime !== undefined) {
    acc |= MAY.OWNER_OVERRIDE;
    const explicit = (s.atime !== undefined && s.atime !== 'server') || (s.mtime !== undefined && s.mtime !== 'server');
    if (!explicit) acc |= MAY.WRITE;
  }
  return acc;
}

/**
 * nfsd_sanitize_attrs, then setattr_prepare's checks of everything but the size: returns the status and the
 * attributes to apply (mode of a symlink dropped; set-id bits a chown or a non-member's chmod clears).
 * - chown_ok: only CAP_CHOWN changes the owner (the owner may "change" it to itself);
 * - chgrp_ok: the owner may give the file to a group it is in;
 * - a mode change, or times set explicitly, need the owner or CAP_FOWNER (PERM);
 * - setting S_ISGID needs membership of the (new) group or CAP_FSETID, else the bit is quietly dropped.
 */
export function setattrRules(who: Identity, ino: Inode, s: Sattr3): { status: number; attrs: Sattr3 } {
  const a: Sattr3 = { ...s, size: undefined };
  const owner = who.uid === ino.uid;
  if ((ino.mode & S_IFMT) === S_IFLNK) a.mode = undefined;
  const chown = a.uid !== undefined || a.gid !== undefined;
  if (a.mode !== undefined) {
    a.mode &= 0o7777;
    if (chown && !isDirMode(ino.mode)) {
      // "we're setting mode too, just clear the s*id bits"
      a.mode &= ~S_ISUID;
      if (a.mode & S_IXGRP) a.mode &= ~S_ISGID;
    }
  }
  const perm = { status: NFSSTAT3.NFS3ERR_PERM, attrs: a };
  if (a.uid !== undefined && !(owner && a.uid === ino.uid) && !who.capable) return perm;
  if (a.gid !== undefined && !(owner && (inGroup(who, a.gid) || a.gid === ino.gid)) && !who.capable) return perm;
  if (a.mode !== undefined) {
    if (!owner && !who.capable) return perm;
    if (!inGroup(who, a.gid ?? ino.gid) && !who.capable) a.mode &= ~S_ISGID;
  }
  const explicitTime = (a.atime !== undefined && a.atime !== 'server') || (a.mtime !== undefined && a.mtime !== 'server');
  if (explicitTime && !owner && !who.capable) return perm;
  return { status: 0, attrs: a };
}

/**
 * setattr_should_drop_suidgid (fs/attr.c), what file_remove_privs clears before a write to a regular file by a
 * caller without CAP_FSETID: S_ISUID always; S_ISGID with group execute, or without it when the caller is not in
 * the file's group. Returns the mode to set, or undefined when nothing is to be cleared.
 */
export function modeAfterWrite(who: Identity, ino: Inode): number | undefined {
  if (who.capable || !isRegMode(ino.mode)) return undefined;
  let kill = 0;
  if (ino.mode & S_ISUID) kill |= S_ISUID;
  if (ino.mode & S_ISGID && (ino.mode & S_IXGRP || !inGroup(who, ino.gid))) kill |= S_ISGID;
  return kill ? ino.mode & 0o7777 & ~kill : undefined;
}

/**
 * inode_init_owner: a new object belongs to the caller's fsuid and fsgid, or to the directory's group when the
 * directory is set-group-ID (a new directory then inherits S_ISGID too).
 */
export function newOwner(who: Identity, dir: Inode): { uid: number; gid: number } {
  return { uid: who.uid, gid: dir.mode & S_ISGID ? dir.gid : who.gid };
}

/**
 * The mode a new object gets from the mode requested: a directory keeps the permission and sticky bits
 * (vfs_mkdir) plus S_ISGID from a set-group-ID parent; a file keeps all twelve, but mode_strip_sgid drops a
 * group-executable S_ISGID in a set-group-ID directory whose group the caller is not in.
 */
export function newMode(who: Identity, dir: Inode, requested: number, directory: boolean): number {
  const sgidDir = (dir.mode & S_ISGID) !== 0;
  if (directory) return (requested & 0o1777) | (sgidDir ? S_ISGID : 0);
  let mode = requested & 0o7777;
  if ((mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP) && sgidDir && !inGroup(who, dir.gid) && !who.capable) mode &= ~S_ISGID;
  return mode;
}
