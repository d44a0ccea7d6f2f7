// What the export accepts: names (one component, RFC 1813 §2.5), transfer sizes (FSINFO) and offsets.
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import { fail } from './errno';

/** RFC 1813 §3.3.7/§3.3.21: READ/WRITE transfer sizes advertised by FSINFO (nfsd's svc_max_payload). */
export const RTMAX = 1024 * 1024;
export const WTMAX = 1024 * 1024;
/** RFC 1813 §3.3.20 PATHCONF name_max, enforced on every name argument. */
export const NAME_MAX = 255;

export type NameUse = 'lookup' | 'create' | 'remove';

/**
 * Name checks that keep every operation inside the export: a filename3 is one path component (RFC 1813 §2.5).
 * "/" or NUL inside, or an empty name: NFS3ERR_ACCES (what Linux's lookup_one_len gives nfsd). Longer than
 * NAME_MAX bytes: NFS3ERR_NAMETOOLONG. "." and ".." cannot be created (NFS3ERR_EXIST) or removed/renamed
 * (NFS3ERR_INVAL); LOOKUP handles them itself.
 */
export function checkName(name: string, use: NameUse): void {
  if (name.length === 0 || name.includes('/') || name.includes('\0')) fail(NFSSTAT3.NFS3ERR_ACCES, `bad name ${JSON.stringify(name)}`);
  if (Buffer.byteLength(name) > NAME_MAX) fail(NFSSTAT3.NFS3ERR_NAMETOOLONG, 'name too long');
  if (name === '.' || name === '..') {
    if (use === 'create') fail(NFSSTAT3.NFS3ERR_EXIST, `cannot create "${name}"`);
    if (use === 'remove') fail(NFSSTAT3.NFS3ERR_INVAL, `cannot remove or rename "${name}"`);
  }
}

/** Offsets index real files through Node numbers: beyond 2^53 is NFS3ERR_FBIG. */
export function fileOffset(off: bigint): number {
  if (off > BigInt(Number.MAX_SAFE_INTEGER)) fail(NFSSTAT3.NFS3ERR_FBIG, `offset ${off} too large`);
  return Number(off);
}
