// RFC 1813 §3.3.3 LOOKUP: one component, looked up through the directory's descriptor and never followed; the
// caller needs search permission on the directory (nfsd_lookup: NFSD_MAY_EXEC); ".." at the export root is
// NFS3ERR_ACCES (nothing above the export is reachable).
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { LookupArgs, LookupRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { fattr } from './attrs';
import { fail, nfsError } from './errno';
import type { Nfs3Export } from './export';
import { checkName } from './limits';
import { MAY, inodeOf, nfsdPermission } from './permission';

export function onLookup(x: Nfs3Export): ProcEntry<LookupArgs, LookupRes> {
  return {
    codec: NFS3.LOOKUP,
    subject: (a) => ({ fh: a.what.dir, name: a.what.name }),
    async run(ctx, a) {
      const dir = await x.resolveDir(ctx, a.what.dir);
      const dirAttributes = fattr(dir.stats);
      const name = a.what.name;
      try {
        checkName(name, 'lookup');
        const who = x.who(ctx);
        const denied = nfsdPermission(who, inodeOf(dir.stats), MAY.EXEC);
        if (denied) fail(denied, `${dir.rel}: no search permission for uid ${who.uid}`);
        let rel: string;
        if (name === '.') rel = dir.rel;
        else if (name === '..') {
          if (dir.rel === '') fail(NFSSTAT3.NFS3ERR_ACCES, '".." at the export root');
          rel = dir.rel.includes('/') ? dir.rel.slice(0, dir.rel.lastIndexOf('/')) : '';
        } else rel = x.child(dir, name);
        const found = await x.describeAt(dir, name, rel);
        return { status: 0, object: found.fh, objAttributes: found.attrs, dirAttributes };
      } catch (e) {
        return { status: nfsError(e).status, dirAttributes } as LookupRes;
      }
    },
    fail: (status) => ({ status }) as LookupRes,
  };
}
