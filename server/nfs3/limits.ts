// What the export accepts: names (one component, RFC 1813 §2.5), transfer sizes (FSINFO) and offsets.
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import { fail } from './errno';

/**
 * The largest READ/WRITE payload over TCP, whatever the record limit: RPCSVC_MAXPAYLOAD_TCP
 * (include/linux/sunrpc/svc.h), the transport's xcl_max_payload that svc_max_payload never exceeds.
 */
export const RTMAX = 1024 * 1024;
/** PAGE_SIZE on x86-64: FSINFO's rtmult/wtmult, and the headroom nfsd keeps in a record above the payload */
export const PAGE = 4096;

/**
 * The largest payload (READ/WRITE count, READDIR reply) a record limit allows, as nfsd relates the two: nfsd
 * starts from its payload (nfsd_max_blksize) and sizes the largest record it accepts from it, sv_max_mesg =
 * roundup(sv_max_payload + PAGE_SIZE, PAGE_SIZE) (net/sunrpc/svc.c __svc_create; svc_tcp_recvfrom closes the
 * connection on a larger record). Here the record limit is the given one (`server --max-record-size`), so the
 * payload is its inverse: whole pages of the limit, less one page for the RPC and NFS headers, at most
 * RPCSVC_MAXPAYLOAD_TCP (svc_max_payload). FSINFO advertises it (nfsd3_proc_fsinfo), READ and READDIR counts are
 * clamped to it (nfsd3_proc_read, nfsd3_init_dirlist_pages) and a longer WRITE is cut to it
 * (nfs3svc_decode_writeargs). transportLimits refuses a record limit below the one nfsd's smallest payload
 * gives (MIN_RECORD_SIZE, 8 KiB), so the result is at least one page.
 */
export function maxPayload(maxRecordSize: number): number {
  return Math.min(RTMAX, Math.floor(maxRecordSize / PAGE) * PAGE - PAGE);
}

/** RFC 1813 §3.3.20 PATHCONF name_max, enforced on every name argument. */
export const NAME_MAX = 255;

export type NameUse = 'lookup' | 'create' | 'remove' | 'rename';

/** "." or ".." (nfsd's isdotent) */
export const isDotName = (name: string): boolean => name === '.' || name === '..';

/**
 * Name checks that keep every operation inside the export: a filename3 is one path component (RFC 1813 §2.5).
 * Over the wire an empty name, one longer than 255 bytes or one with "/" or NUL never gets here: the decoder
 * refuses it as nfsd's does (GARBAGE_ARGS, xdr/nfs3/structs.ts readArgName); this second line answers
 * NFS3ERR_ACCES (lookup_one_len's EACCES) or NFS3ERR_NAMETOOLONG for a name that came another way. "." and
 * "..", each where nfsd refuses them and with its status: a create is NFS3ERR_EXIST (nfsd_create,
 * nfsd3_create_file, nfsd_symlink, nfsd_link), REMOVE and RMDIR NFS3ERR_ACCES before any permission check
 * (nfsd_unlink); RENAME checks them itself, after the directories' permissions (nfsd_rename: NFS3ERR_PERM), and
 * LOOKUP resolves them (nfsd_lookup_dentry).
 */
export function checkName(name: string, use: NameUse): void {
  if (name.length === 0 || name.includes('/') || name.includes('\0')) fail(NFSSTAT3.NFS3ERR_ACCES, `bad name ${JSON.stringify(name)}`);
  if (Buffer.byteLength(name) > NAME_MAX) fail(NFSSTAT3.NFS3ERR_NAMETOOLONG, 'name too long');
  if (isDotName(name)) {
    if (use === 'create') fail(NFSSTAT3.NFS3ERR_EXIST, `cannot create "${name}"`);
    if (use === 'remove') fail(NFSSTAT3.NFS3ERR_ACCES, `cannot remove "${name}"`);
  }
}

/** Offsets index real files through Node numbers: beyond 2^53 is NFS3ERR_FBIG. */
export function fileOffset(off: bigint): number {
  if (off > BigInt(Number.MAX_SAFE_INTEGER)) fail(NFSSTAT3.NFS3ERR_FBIG, `offset ${off} too large`);
  return Number(off);
}
