// Directory paging shared by READDIR and READDIRPLUS (RFC 1813 §3.3.16-17). Entries are ".", ".." and the names
// in byte order; the cookie of the entry at index i is i + 1, so cookie c resumes at index c. The cookie
// verifier is the directory's mtime in ns: a client resuming with a verifier from before a change gets
// NFS3ERR_BAD_COOKIE (a zero verifier, as sent with cookie 0 or by clients that ignore it, is accepted).
import fs from 'node:fs';
import { NfsStatusError } from '../../core/errors';
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import { fdPath, lstatAt } from '../fs-at';
import type { Resolved } from '../handles';
import type { CallContext } from '../rpc/program';
import { fail } from './errno';
import type { Nfs3Export } from './export';
import { MAY, inodeOf, nfsdPermission } from './permission';

export interface Listed {
  name: string;
  cookie: bigint;
  rel: string;
  stats: fs.BigIntStats;
}

export interface Page {
  verf: Buffer;
  /** yields entries from the cookie on; the caller stops when its reply is full */
  entries: AsyncGenerator<Listed>;
  total: number;
}

export function cookieVerifier(dir: Resolved): Buffer {
  const v = Buffer.alloc(8);
  v.writeBigUInt64BE(BigInt.asUintN(64, dir.stats.mtimeNs));
  return v;
}

/**
 * READDIR and READDIRPLUS open the directory for reading (nfsd_readdir: NFSD_MAY_READ, no owner override for
 * directories): NFS3ERR_ACCES otherwise. Returns whether the caller may also search it (the entries' lookups).
 */
export function listable(x: Nfs3Export, ctx: CallContext, dir: Resolved): boolean {
  const who = x.who(ctx);
  const ino = inodeOf(dir.stats);
  const denied = nfsdPermission(who, ino, MAY.READ);
  if (denied) fail(denied, `${dir.rel}: no read permission for uid ${who.uid}`);
  return nfsdPermission(who, ino, MAY.EXEC) === 0;
}

export async function page(x: Nfs3Export, dir: Resolved, cookie: bigint, verf: Buffer): Promise<Page> {
  const mine = cookieVerifier(dir);
  if (cookie !== 0n && !verf.equals(Buffer.alloc(8)) && !verf.equals(mine)) {
    throw new NfsStatusError(NFSSTAT3.NFS3ERR_BAD_COOKIE, 'directory changed since the cookie was issued');
  }
  const names = (await fs.promises.readdir(fdPath(dir.fd))).sort(); // exactly the held directory
  const all = ['.', '..', ...names];
  if (cookie > BigInt(all.length)) throw new NfsStatusError(NFSSTAT3.NFS3ERR_BAD_COOKIE, `cookie ${cookie} past the end`);
  const parentRel = dir.rel.includes('/') ? dir.rel.slice(0, dir.rel.lastIndexOf('/')) : '';
  async function* gen(): AsyncGenerator<Listed> {
    for (let i = Number(cookie); i < all.length; i++) {
      const name = all[i];
      const rel = name === '.' ? dir.rel : name === '..' ? parentRel : x.child(dir, name);
      // ".." of the export root is the root itself, as nfsd_lookup_dentry answers: never the directory above.
      const stats = name === '.' || (name === '..' && dir.rel === '') ? dir.stats : await lstatAt(dir.fd, name);
      if (!stats) continue; // removed while listing
      yield { name, cookie: BigInt(i + 1), rel, stats };
    }
  }
  return { verf: mine, entries: gen(), total: all.length };
}

/** XDR bytes of an entry's fileid, name and cookie plus its list link (RFC 4506 §4.19). */
export function entryBytes(name: string): number {
  return 4 + 8 + 4 + ((Buffer.byteLength(name) + 3) & ~3) + 8;
}

/**
 * Bytes of a READDIR/READDIRPLUS reply besides its entries (RFC 1813 §3.3.16/§3.3.17): status, post_op_attr
 * (bool + fattr3), cookieverf, the list's end marker, eof.
 */
export const DIRLIST_FIXED_BYTES = 4 + 4 + 84 + 8 + 4 + 4;
