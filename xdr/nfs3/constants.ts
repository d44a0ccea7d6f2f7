// NFSv3 (RFC 1813) wire constants (MOUNT v3 and PORTMAP v2 have theirs in xdr/mount.ts and xdr/portmap.ts).
// Explicit values, never auto-numbered (go-nfs issue #154); test/xdr-constants.test.ts pins them to the RFCs.

export const NFS_PROGRAM = 100003;
export const NFS_V3 = 3;

// RFC 1813 §2.4 sizes
export const NFS3_FHSIZE = 64;
export const NFS3_COOKIEVERFSIZE = 8;
export const NFS3_CREATEVERFSIZE = 8;
export const NFS3_WRITEVERFSIZE = 8;

// RFC 1813 §3: procedure numbers
export const NFSPROC3 = {
  NULL: 0,
  GETATTR: 1,
  SETATTR: 2,
  LOOKUP: 3,
  ACCESS: 4,
  READLINK: 5,
  READ: 6,
  WRITE: 7,
  CREATE: 8,
  MKDIR: 9,
  SYMLINK: 10,
  MKNOD: 11,
  REMOVE: 12,
  RMDIR: 13,
  RENAME: 14,
  LINK: 15,
  READDIR: 16,
  READDIRPLUS: 17,
  FSSTAT: 18,
  FSINFO: 19,
  PATHCONF: 20,
  COMMIT: 21,
} as const;

// RFC 1813 §2.6: enum nfsstat3
export const NFSSTAT3 = {
  NFS3_OK: 0,
  NFS3ERR_PERM: 1,
  NFS3ERR_NOENT: 2,
  NFS3ERR_IO: 5,
  NFS3ERR_NXIO: 6,
  NFS3ERR_ACCES: 13,
  NFS3ERR_EXIST: 17,
  NFS3ERR_XDEV: 18,
  NFS3ERR_NODEV: 19,
  NFS3ERR_NOTDIR: 20,
  NFS3ERR_ISDIR: 21,
  NFS3ERR_INVAL: 22,
  NFS3ERR_FBIG: 27,
  NFS3ERR_NOSPC: 28,
  NFS3ERR_ROFS: 30,
  NFS3ERR_MLINK: 31,
  NFS3ERR_NAMETOOLONG: 63,
  NFS3ERR_NOTEMPTY: 66,
  NFS3ERR_DQUOT: 69,
  NFS3ERR_STALE: 70,
  NFS3ERR_REMOTE: 71,
  NFS3ERR_BADHANDLE: 10001,
  NFS3ERR_NOT_SYNC: 10002,
  NFS3ERR_BAD_COOKIE: 10003,
  NFS3ERR_NOTSUPP: 10004,
  NFS3ERR_TOOSMALL: 10005,
  NFS3ERR_SERVERFAULT: 10006,
  NFS3ERR_BADTYPE: 10007,
  NFS3ERR_JUKEBOX: 10008,
} as const;

// RFC 1813 §2.6: enum ftype3
export const FTYPE3 = { NF3REG: 1, NF3DIR: 2, NF3BLK: 3, NF3CHR: 4, NF3LNK: 5, NF3SOCK: 6, NF3FIFO: 7 } as const;
// RFC 1813 §3.3.7: enum stable_how
export const STABLE_HOW = { UNSTABLE: 0, DATA_SYNC: 1, FILE_SYNC: 2 } as const;
// RFC 1813 §3.3.8: enum createmode3
export const CREATEMODE3 = { UNCHECKED: 0, GUARDED: 1, EXCLUSIVE: 2 } as const;
// RFC 1813 §2.6: enum time_how
export const TIME_HOW = { DONT_CHANGE: 0, SET_TO_SERVER_TIME: 1, SET_TO_CLIENT_TIME: 2 } as const;
// RFC 1813 §3.3.4: ACCESS3 bits
export const ACCESS3 = { READ: 0x0001, LOOKUP: 0x0002, MODIFY: 0x0004, EXTEND: 0x0008, DELETE: 0x0010, EXECUTE: 0x0020 } as const;
// RFC 1813 §3.3.19: FSINFO properties
export const FSF3 = { LINK: 0x0001, SYMLINK: 0x0002, HOMOGENEOUS: 0x0008, CANSETTIME: 0x0010 } as const;

export type Nfsstat3 = (typeof NFSSTAT3)[keyof typeof NFSSTAT3];
export type Nfs3Err = Exclude<Nfsstat3, 0>;
