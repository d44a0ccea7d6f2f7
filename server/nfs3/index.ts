// The NFS program (100003) version 3 dispatch table: one entry per procedure, RFC 1813 §3 order.
import { NFS_PROGRAM, NFS_V3, NFSPROC3 } from '../../xdr/nfs3/constants';
import { ProcEntry, Program, procedures } from '../rpc/program';
import type { Nfs3Export } from './export';
import { onAccess } from './on-access';
import { onCommit } from './on-commit';
import { onCreate } from './on-create';
import { onFsinfo } from './on-fsinfo';
import { onFsstat } from './on-fsstat';
import { onGetattr } from './on-getattr';
import { onLink } from './on-link';
import { onLookup } from './on-lookup';
import { onMkdir } from './on-mkdir';
import { onMknod } from './on-mknod';
import { onNull } from './on-null';
import { onPathconf } from './on-pathconf';
import { onRead } from './on-read';
import { onReaddir } from './on-readdir';
import { onReaddirplus } from './on-readdirplus';
import { onReadlink } from './on-readlink';
import { onRemove } from './on-remove';
import { onRename } from './on-rename';
import { onRmdir } from './on-rmdir';
import { onSetattr } from './on-setattr';
import { onSymlink } from './on-symlink';
import { onWrite } from './on-write';

export function nfs3Program(x: Nfs3Export): Program {
  const v3 = procedures([
    onNull(),
    onGetattr(x),
    onSetattr(x),
    onLookup(x),
    onAccess(x),
    onReadlink(x),
    onRead(x),
    onWrite(x),
    onCreate(x),
    onMkdir(x),
    onSymlink(x),
    onMknod(x),
    onRemove(x),
    onRmdir(x),
    onRename(x),
    onLink(x),
    onReaddir(x),
    onReaddirplus(x),
    onFsstat(x),
    onFsinfo(x),
    onPathconf(x),
    onCommit(x),
  ]);
  const procs = v3.procs.map((e) => (!e || e.codec.proc === NFSPROC3.NULL ? e : scoped(x, e, e.codec.proc !== NFSPROC3.WRITE)));
  return { prog: NFS_PROGRAM, name: 'NFS', versions: new Map([[NFS_V3, { procs }]]) };
}

/**
 * Every procedure but NULL runs in a scope: the descriptors it resolves are closed once it has returned. With
 * `ordered` (all but WRITE, which orders itself) it first waits for the deferred writes queued before it arrived,
 * so it sees every WRITE already answered (write-behind.ts).
 */
function scoped(x: Nfs3Export, e: ProcEntry, ordered: boolean): ProcEntry {
  return {
    ...e,
    async run(ctx, a) {
      x.begin();
      try {
        const b = ordered ? x.writeBehind.barrier() : undefined;
        if (b) await b;
        return await e.run(ctx, a);
      } finally {
        x.release(ctx);
      }
    },
  };
}
