// RFC 1813 §3.3.4 ACCESS: which of the requested rights the caller's AUTH_SYS identity has by the mode bits
// (uid 0 gets everything but EXECUTE on files with no x bit, as Linux's permission()).
import { ACCESS3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { AccessArgs, AccessRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { fattr, isDir } from './attrs';
import type { Nfs3Export } from './export';

export function onAccess(x: Nfs3Export): ProcEntry<AccessArgs, AccessRes> {
  return {
    codec: NFS3.ACCESS,
    async run(ctx, a) {
      const obj = await x.resolve(ctx, a.object);
      ctx.note.path = obj.rel;
      const attrs = fattr(obj.stats);
      const uid = ctx.auth?.uid ?? 65534;
      const gids = ctx.auth ? [ctx.auth.gid, ...ctx.auth.gids] : [];
      const m = attrs.mode;
      const bits = uid === 0 ? 7 : uid === attrs.uid ? (m >> 6) & 7 : gids.includes(attrs.gid) ? (m >> 3) & 7 : m & 7;
      const r = uid === 0 || (bits & 4) !== 0;
      const w = uid === 0 || (bits & 2) !== 0;
      const xbit = uid === 0 ? (m & 0o111) !== 0 || isDir(obj.stats) : (bits & 1) !== 0;
      let allowed = 0;
      if (r) allowed |= ACCESS3.READ;
      if (w) allowed |= ACCESS3.MODIFY | ACCESS3.EXTEND;
      if (isDir(obj.stats)) {
        if (xbit) allowed |= ACCESS3.LOOKUP;
        if (w) allowed |= ACCESS3.DELETE;
      } else if (xbit) allowed |= ACCESS3.EXECUTE;
      return { status: 0, objAttributes: attrs, access: a.access & allowed };
    },
    fail: (status) => ({ status }) as AccessRes,
  };
}
