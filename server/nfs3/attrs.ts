// RFC 1813 §2.6 attributes from an lstat/fstat: fattr3, wcc_attr, and the file-type tests the procedures use.
import fs from 'node:fs';
import { FTYPE3 } from '../../xdr/nfs3/constants';
import type { Fattr3, NfsTime, WccAttr } from '../../xdr/nfs3/types';

function ftype(mode: bigint): number {
  switch (Number(mode) & fs.constants.S_IFMT) {
    case fs.constants.S_IFREG: return FTYPE3.NF3REG;
    case fs.constants.S_IFDIR: return FTYPE3.NF3DIR;
    case fs.constants.S_IFLNK: return FTYPE3.NF3LNK;
    case fs.constants.S_IFBLK: return FTYPE3.NF3BLK;
    case fs.constants.S_IFCHR: return FTYPE3.NF3CHR;
    case fs.constants.S_IFSOCK: return FTYPE3.NF3SOCK;
    default: return FTYPE3.NF3FIFO;
  }
}

function nfsTime(ns: bigint): NfsTime {
  return { seconds: Number(ns / 1_000_000_000n) >>> 0, nseconds: Number(ns % 1_000_000_000n) };
}

/** RFC 1813 §2.6 fattr3 from an lstat/fstat. */
export function fattr(st: fs.BigIntStats): Fattr3 {
  const rdev = st.rdev;
  // Linux dev_t encoding (major: bits 8-19 and 32-43, minor: bits 0-7 and 20-31).
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)) >>> 0;
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)) >>> 0;
  return {
    type: ftype(st.mode),
    mode: Number(st.mode) & 0o7777,
    nlink: Number(st.nlink),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: st.size,
    used: st.blocks * 512n,
    rdev: { specdata1: major, specdata2: minor },
    fsid: st.dev,
    fileid: st.ino,
    atime: nfsTime(st.atimeNs),
    mtime: nfsTime(st.mtimeNs),
    ctime: nfsTime(st.ctimeNs),
  };
}

export function wccAttr(st: fs.BigIntStats): WccAttr {
  return { size: st.size, mtime: nfsTime(st.mtimeNs), ctime: nfsTime(st.ctimeNs) };
}

type Moded = { mode: number | bigint };
const fmt = (st: Moded): number => Number(st.mode) & fs.constants.S_IFMT;
export const isDir = (st: Moded): boolean => fmt(st) === fs.constants.S_IFDIR;
export const isReg = (st: Moded): boolean => fmt(st) === fs.constants.S_IFREG;
export const isLnk = (st: Moded): boolean => fmt(st) === fs.constants.S_IFLNK;
