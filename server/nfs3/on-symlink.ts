// RFC 1813 §3.3.10 SYMLINK: the target is stored as given, even if it points outside the export; the server
// never follows symlinks itself (LOOKUP, READ, WRITE, SETATTR all work on the link or refuse), so a link
// cannot take the server anywhere.
import fs from 'node:fs';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { SymlinkArgs, SymlinkRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import type { Nfs3Export } from './context';
import { createFail, createIn } from './dir-op';

export function onSymlink(x: Nfs3Export): ProcEntry<SymlinkArgs, SymlinkRes> {
  return {
    codec: NFS3.SYMLINK,
    run: (ctx, a) =>
      createIn(x, ctx, a.where, async (abs) => {
        await fs.promises.symlink(a.symlink.data, abs);
      }),
    fail: createFail,
  };
}
