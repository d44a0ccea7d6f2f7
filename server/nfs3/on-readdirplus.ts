// RFC 1813 §3.3.17 READDIRPLUS: READDIR plus each entry's attributes and handle. `dircount` bounds the
// READDIR-like part (fileid, name, cookie), `maxcount` the whole reply, clamped to the largest reply the server
// sends (nfsd3_init_dirlist_pages: svc_max_payload), so a huge count gets a short listing, never an error. As
// nfsd_readdir, the caller needs read permission on the directory; an entry's handle and attributes come from a
// lookup (compose_entry_fh), so without search permission the entries carry neither.
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { EntryPlus3, ReaddirplusArgs, ReaddirplusRes } from '../../xdr/nfs3/types';
import { HANDLE_BYTES } from '../handles';
import type { ProcEntry } from '../rpc/program';
import { fattr } from './attrs';
import { nfsError } from './errno';
import type { Nfs3Export } from './export';
import { DIRLIST_FIXED_BYTES, entryBytes, listable, page } from './dir-list';

/** post_op_attr with attributes + post_op_fh3 with a handle */
const PLUS = 4 + 84 + 4 + 4 + ((HANDLE_BYTES + 3) & ~3);

export function onReaddirplus(x: Nfs3Export): ProcEntry<ReaddirplusArgs, ReaddirplusRes> {
  return {
    codec: NFS3.READDIRPLUS,
    subject: (a) => ({ fh: a.dir }),
    async run(ctx, a) {
      const dir = await x.resolveDir(ctx, a.dir);
      const dirAttributes = fattr(dir.stats);
      try {
        const searchable = listable(x, ctx, dir);
        const maxcount = Math.min(a.maxcount, x.maxPayload);
        const p = await page(x, dir, a.cookie, a.cookieverf);
        const entries: EntryPlus3[] = [];
        let size = DIRLIST_FIXED_BYTES;
        let dirSize = 0;
        let eof = true;
        for await (const e of p.entries) {
          const n = entryBytes(e.name);
          if (size + n + PLUS > maxcount || dirSize + n > a.dircount) {
            eof = false;
            break;
          }
          size += n + PLUS;
          dirSize += n;
          entries.push(searchable ? { fileid: e.stats.ino, name: e.name, cookie: e.cookie, nameAttributes: fattr(e.stats), nameHandle: x.handles.make(e.rel, e.stats) } : { fileid: e.stats.ino, name: e.name, cookie: e.cookie });
        }
        if (!eof && entries.length === 0) return { status: NFSSTAT3.NFS3ERR_TOOSMALL, dirAttributes };
        return { status: 0, dirAttributes, cookieverf: p.verf, entries, eof };
      } catch (e) {
        return { status: nfsError(e).status, dirAttributes } as ReaddirplusRes;
      }
    },
    fail: (status) => ({ status }) as ReaddirplusRes,
  };
}
