// RFC 1813 §3.3.3 LOOKUP: one component, looked up through the directory's descriptor and never followed; the
// caller needs search permission on the directory (nfsd_lookup: NFSD_MAY_EXEC). ".." at the export root is the
// root itself, as nfsd_lookup_dentry answers it ("/* .. == . just like at / */"; it steps above the export only
// for a NFSv4 client or a nohide export, neither modelled): the answer comes from the root's own descriptor and
// nothing above the export is ever looked at.
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
        const self = name === '.' || (name === '..' && dir.rel === '');
        const parent = () => (dir.rel.includes('/') ? dir.rel.slice(0, dir.rel.lastIndexOf('/')) : '');
        const found = self ? await x.describeFd(dir.rel, dir.fd) : await x.describeAt(dir, name, name === '..' ? parent() : x.child(dir, name));
        return { status: 0, object: found.fh, objAttributes: found.attrs, dirAttributes };
      } catch (e) {
        return { status: nfsError(e).status, dirAttributes } as LookupRes;
      }
    },
    fail: (status) => ({ status }) as LookupRes,
  };
}
