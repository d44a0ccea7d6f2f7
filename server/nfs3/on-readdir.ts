// RFC 1813 §3.3.16 READDIR: names and fileids from a cookie, within `count` bytes of reply, clamped to the
// largest reply the server sends (nfsd3_init_dirlist_pages: svc_max_payload): a huge count gets a short listing.
// The caller needs read permission on the directory (nfsd_readdir -> nfsd_open, NFSD_MAY_READ).
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { Entry3, ReaddirArgs, ReaddirRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { fattr } from './attrs';
import { nfsError } from './errno';
import type { Nfs3Export } from './export';
import { DIRLIST_FIXED_BYTES, entryBytes, listable, page } from './dir-list';


export function onReaddir(x: Nfs3Export): ProcEntry<ReaddirArgs, ReaddirRes> {
  return {
    codec: NFS3.READDIR,
    subject: (a) => ({ fh: a.dir }),
    async run(ctx, a) {
      const dir = await x.resolveDir(ctx, a.dir);
      const dirAttributes = fattr(dir.stats);
      try {
        listable(x, ctx, dir);
        const count = Math.min(a.count, x.maxPayload);
        const p = await page(x, dir, a.cookie, a.cookieverf);
        const entries: Entry3[] = [];
        let size = DIRLIST_FIXED_BYTES;
        let eof = true;
        for await (const e of p.entries) {
          const n = entryBytes(e.name);
          if (size + n > count) {
            eof = false;
            break;
          }
          size += n;
          entries.push({ fileid: e.stats.ino, name: e.name, cookie: e.cookie });
        }
        if (!eof && entries.length === 0) return { status: NFSSTAT3.NFS3ERR_TOOSMALL, dirAttributes };
        return { status: 0, dirAttributes, cookieverf: p.verf, entries, eof };
      } catch (e) {
        return { status: nfsError(e).status, dirAttributes } as ReaddirRes;
      }
    },
    fail: (status) => ({ status }) as ReaddirRes,
  };
}
