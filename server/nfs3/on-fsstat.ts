// RFC 1813 §3.3.18 FSSTAT: statfs(2) of the filesystem holding the export.
import fs from 'node:fs';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { FsstatArgs, FsstatRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { Nfs3Export, fattr, nfsError } from './context';

export function onFsstat(x: Nfs3Export): ProcEntry<FsstatArgs, FsstatRes> {
  return {
    codec: NFS3.FSSTAT,
    async run(ctx, a) {
      const obj = await x.resolve(a.fsroot);
      ctx.note.path = obj.rel;
      try {
        const s = await fs.promises.statfs(obj.abs, { bigint: true });
        return {
          status: 0,
          objAttributes: fattr(obj.stats),
          tbytes: s.blocks * s.bsize,
          fbytes: s.bfree * s.bsize,
          abytes: s.bavail * s.bsize,
          tfiles: s.files,
          ffiles: s.ffree,
          afiles: s.ffree,
          invarsec: 0,
        };
      } catch (e) {
        return { status: nfsError(e).status, objAttributes: fattr(obj.stats) } as FsstatRes;
      }
    },
    fail: (status) => ({ status }) as FsstatRes,
  };
}
