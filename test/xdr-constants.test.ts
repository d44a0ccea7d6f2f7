// Every wire constant table pinned to its RFC. The expected values are typed here from the RFC text, not copied
// from xdr/ (go-nfs issue #154: one auto-numbered enum put the wrong error on the wire). deepEqual also fails
// on a missing or an extra member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as C from '../xdr/nfs3/constants';
import * as RPC from '../xdr/rpc';
import { LAST_FRAGMENT, MAX_FRAGMENT_LENGTH } from '../xdr/record';
import { NFS3_PROCS } from '../xdr/nfs3/procs';
import * as M from '../xdr/mount';
import * as P from '../xdr/portmap';

test('RFC 5531 §9: msg_type, reply_stat, accept_stat, reject_stat, auth_stat', () => {
  assert.equal(RPC.RPC_VERSION, 2);
  assert.deepEqual(RPC.MSG_TYPE, { CALL: 0, REPLY: 1 });
  assert.deepEqual(RPC.REPLY_STAT, { MSG_ACCEPTED: 0, MSG_DENIED: 1 });
  assert.deepEqual(RPC.ACCEPT_STAT, { SUCCESS: 0, PROG_UNAVAIL: 1, PROG_MISMATCH: 2, PROC_UNAVAIL: 3, GARBAGE_ARGS: 4, SYSTEM_ERR: 5 });
  assert.deepEqual(RPC.REJECT_STAT, { RPC_MISMATCH: 0, AUTH_ERROR: 1 });
  assert.deepEqual(RPC.AUTH_STAT, {
    AUTH_OK: 0,
    AUTH_BADCRED: 1,
    AUTH_REJECTEDCRED: 2,
    AUTH_BADVERF: 3,
    AUTH_REJECTEDVERF: 4,
    AUTH_TOOWEAK: 5,
    AUTH_INVALIDRESP: 6,
    AUTH_FAILED: 7,
    AUTH_KERB_GENERIC: 8,
    AUTH_TIMEEXPIRE: 9,
    AUTH_TKT_FILE: 10,
    AUTH_DECODE: 11,
    AUTH_NET_ADDR: 12,
    RPCSEC_GSS_CREDPROBLEM: 13,
    RPCSEC_GSS_CTXPROBLEM: 14,
  });
});

test('RFC 5531 §8.2: auth flavors and AUTH_SYS limits', () => {
  assert.deepEqual(RPC.AUTH_FLAVOR, { AUTH_NONE: 0, AUTH_SYS: 1, AUTH_SHORT: 2, AUTH_DH: 3, RPCSEC_GSS: 6 });
  assert.equal(RPC.MAX_AUTH_BYTES, 400);
  assert.equal(RPC.MAX_MACHINE_NAME, 255);
  assert.equal(RPC.MAX_AUTH_SYS_GIDS, 16);
});

test('RFC 5531 §11: record marking', () => {
  assert.equal(LAST_FRAGMENT, 0x80000000);
  assert.equal(MAX_FRAGMENT_LENGTH, 2 ** 31 - 1);
});

test('RFC 1813 §2.4, §3: NFS program, sizes and procedure numbers', () => {
  assert.equal(C.NFS_PROGRAM, 100003);
  assert.equal(C.NFS_V3, 3);
  assert.equal(C.NFS3_FHSIZE, 64);
  assert.equal(C.NFS3_COOKIEVERFSIZE, 8);
  assert.equal(C.NFS3_CREATEVERFSIZE, 8);
  assert.equal(C.NFS3_WRITEVERFSIZE, 8);
  const procs = {
    NULL: 0, GETATTR: 1, SETATTR: 2, LOOKUP: 3, ACCESS: 4, READLINK: 5, READ: 6, WRITE: 7, CREATE: 8, MKDIR: 9, SYMLINK: 10,
    MKNOD: 11, REMOVE: 12, RMDIR: 13, RENAME: 14, LINK: 15, READDIR: 16, READDIRPLUS: 17, FSSTAT: 18, FSINFO: 19, PATHCONF: 20, COMMIT: 21,
  };
  assert.deepEqual(C.NFSPROC3, procs);
  assert.deepEqual(
    NFS3_PROCS.map((c) => [c.name, c.proc, c.prog, c.vers]),
    Object.entries(procs).map(([name, n]) => [name, n, 100003, 3]),
  );
});

test('RFC 1813 §2.6: nfsstat3', () => {
  assert.deepEqual(C.NFSSTAT3, {
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
  });
});

test('RFC 1813 §2.6, §3.3: ftype3, stable_how, createmode3, time_how, ACCESS3 bits, FSINFO properties', () => {
  assert.deepEqual(C.FTYPE3, { NF3REG: 1, NF3DIR: 2, NF3BLK: 3, NF3CHR: 4, NF3LNK: 5, NF3SOCK: 6, NF3FIFO: 7 });
  assert.deepEqual(C.STABLE_HOW, { UNSTABLE: 0, DATA_SYNC: 1, FILE_SYNC: 2 });
  assert.deepEqual(C.CREATEMODE3, { UNCHECKED: 0, GUARDED: 1, EXCLUSIVE: 2 });
  assert.deepEqual(C.TIME_HOW, { DONT_CHANGE: 0, SET_TO_SERVER_TIME: 1, SET_TO_CLIENT_TIME: 2 });
  assert.deepEqual(C.ACCESS3, { READ: 0x01, LOOKUP: 0x02, MODIFY: 0x04, EXTEND: 0x08, DELETE: 0x10, EXECUTE: 0x20 });
  assert.deepEqual(C.FSF3, { LINK: 0x01, SYMLINK: 0x02, HOMOGENEOUS: 0x08, CANSETTIME: 0x10 });
});

test('RFC 1813 Appendix I: MOUNT v3 program, limits, procedures, mountstat3', () => {
  assert.equal(M.MOUNT_PROGRAM, 100005);
  assert.equal(M.MOUNT_V3, 3);
  assert.equal(M.MNTPATHLEN, 1024);
  assert.equal(M.MNTNAMLEN, 255);
  const procs = { NULL: 0, MNT: 1, DUMP: 2, UMNT: 3, UMNTALL: 4, EXPORT: 5 };
  assert.deepEqual(M.MOUNTPROC3, procs);
  assert.deepEqual(
    M.MOUNT3_PROCS.map((c) => [c.name, c.proc, c.prog, c.vers]),
    Object.entries(procs).map(([name, n]) => [name, n, 100005, 3]),
  );
  assert.deepEqual(M.MOUNTSTAT3, {
    MNT3_OK: 0,
    MNT3ERR_PERM: 1,
    MNT3ERR_NOENT: 2,
    MNT3ERR_IO: 5,
    MNT3ERR_ACCES: 13,
    MNT3ERR_NOTDIR: 20,
    MNT3ERR_INVAL: 22,
    MNT3ERR_NAMETOOLONG: 63,
    MNT3ERR_NOTSUPP: 10004,
    MNT3ERR_SERVERFAULT: 10006,
  });
});

test('RFC 1833 §3: PORTMAP v2 program, procedures, protocols', () => {
  assert.equal(P.PMAP_PROGRAM, 100000);
  assert.equal(P.PMAP_V2, 2);
  const procs = { NULL: 0, SET: 1, UNSET: 2, GETPORT: 3, DUMP: 4, CALLIT: 5 };
  assert.deepEqual(P.PMAPPROC, procs);
  assert.deepEqual(
    P.PMAP2_PROCS.map((c) => [c.name, c.proc, c.prog, c.vers]),
    Object.entries(procs).map(([name, n]) => [name, n, 100000, 2]),
  );
  assert.deepEqual(P.IPPROTO, { TCP: 6, UDP: 17 });
});
