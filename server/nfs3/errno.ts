// errno -> nfsstat3, as Linux nfsd's nfserrno() (fs/nfsd/vfs.c) maps the errors its VFS calls return.
import { NfsStatusError } from '../../core/errors';
import { NFSSTAT3 } from '../../xdr/nfs3/constants';

const ERRNO_TO_NFS: Record<string, number> = {
  EPERM: NFSSTAT3.NFS3ERR_PERM,
  ENOENT: NFSSTAT3.NFS3ERR_NOENT,
  EIO: NFSSTAT3.NFS3ERR_IO,
  ENXIO: NFSSTAT3.NFS3ERR_NXIO,
  EACCES: NFSSTAT3.NFS3ERR_ACCES,
  EBADF: NFSSTAT3.NFS3ERR_ACCES,
  EEXIST: NFSSTAT3.NFS3ERR_EXIST,
  EXDEV: NFSSTAT3.NFS3ERR_XDEV,
  ENODEV: NFSSTAT3.NFS3ERR_NODEV,
  ENOTDIR: NFSSTAT3.NFS3ERR_NOTDIR,
  EISDIR: NFSSTAT3.NFS3ERR_ISDIR,
  EINVAL: NFSSTAT3.NFS3ERR_INVAL,
  ELOOP: NFSSTAT3.NFS3ERR_INVAL,
  EFBIG: NFSSTAT3.NFS3ERR_FBIG,
  ENOSPC: NFSSTAT3.NFS3ERR_NOSPC,
  EROFS: NFSSTAT3.NFS3ERR_ROFS,
  EMLINK: NFSSTAT3.NFS3ERR_MLINK,
  ENAMETOOLONG: NFSSTAT3.NFS3ERR_NAMETOOLONG,
  ENOTEMPTY: NFSSTAT3.NFS3ERR_NOTEMPTY,
  EDQUOT: NFSSTAT3.NFS3ERR_DQUOT,
  ESTALE: NFSSTAT3.NFS3ERR_STALE,
  ENOTSUP: NFSSTAT3.NFS3ERR_NOTSUPP,
  EOPNOTSUPP: NFSSTAT3.NFS3ERR_NOTSUPP,
};

/** Turns a filesystem error into the NfsStatusError the procedure answers with (unknown errno: NFS3ERR_IO). */
export function nfsError(e: unknown): NfsStatusError {
  if (e instanceof NfsStatusError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  return new NfsStatusError(code ? ERRNO_TO_NFS[code] ?? NFSSTAT3.NFS3ERR_IO : NFSSTAT3.NFS3ERR_IO, (e as Error)?.message);
}

/** Throws the NfsStatusError for `status` (the procedure turns it into its failure body). */
export const fail = (status: number, why: string): never => {
  throw new NfsStatusError(status, why);
};
