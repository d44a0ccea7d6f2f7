// RFC 1813 §3.3.18 FSSTAT: statfs(2) of the filesystem holding the object (through its descriptor).
import fs from 'node:fs';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { FsstatArgs, FsstatRes } from '../../xdr/nfs3/types';
import { fdPath } from '../fs-at';
import type { ProcEntry } from '../rpc/program';
import { fattr } from './attrs';
import { nfsError } from './errno';
import type { Nfs3Export } from './export';

export function onFsstat(x: Nfs3Export): ProcEntry<FsstatArgs, FsstatRes> {
  return {
    codec: NFS3.FSSTAT,
    subject: (a) => ({ fh: a.fsroot }),
    async run(ctx, a) {
      const obj = await x.resolve(ctx, a.fsroot);
      try {
        const s = await fs.promises.statfs(fdPath(obj.fd), { bigint: true });
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
