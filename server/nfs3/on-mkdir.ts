// RFC 1813 §3.3.9 MKDIR.
import fs from 'node:fs';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { MkdirArgs, MkdirRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import type { Nfs3Export } from './context';
import { applyInitial, createFail, createIn } from './dir-op';

export function onMkdir(x: Nfs3Export): ProcEntry<MkdirArgs, MkdirRes> {
  return {
    codec: NFS3.MKDIR,
    run: (ctx, a) =>
      createIn(x, ctx, a.where, async (abs) => {
        await fs.promises.mkdir(abs, a.attributes.mode ?? 0o755);
        await applyInitial(x, abs, a.attributes);
      }),
    fail: createFail,
  };
}
