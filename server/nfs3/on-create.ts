// RFC 1813 §3.3.8 CREATE. UNCHECKED: create or reuse; GUARDED: NFS3ERR_EXIST if present; EXCLUSIVE: the 8-byte
// verifier is stored in the new file's atime/mtime seconds (as Linux nfsd does), so a retransmitted EXCLUSIVE
// CREATE finds its own file and succeeds while anyone else's gets NFS3ERR_EXIST.
import fs from 'node:fs';
import { NfsStatusError } from '../../core/errors';
import { CREATEMODE3, NFSSTAT3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { CreateArgs, CreateRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import type { Nfs3Export } from './context';
import { applyInitial, createFail, createIn } from './dir-op';

const { O_CREAT, O_EXCL, O_WRONLY, O_NOFOLLOW } = fs.constants;

/** createverf3 -> (atime, mtime) seconds, 31 bits each so every filesystem keeps them exactly. */
export function verifierTimes(verf: Buffer): { atime: number; mtime: number } {
  return { atime: verf.readUInt32BE(0) & 0x7fffffff, mtime: verf.readUInt32BE(4) & 0x7fffffff };
}

export function onCreate(x: Nfs3Export): ProcEntry<CreateArgs, CreateRes> {
  return {
    codec: NFS3.CREATE,
    run: (ctx, a) =>
      createIn(x, ctx, a.where, async (abs) => {
        const how = a.how;
        if (how.mode === CREATEMODE3.EXCLUSIVE) {
          const t = verifierTimes(how.verf);
          try {
            await (await fs.promises.open(abs, O_CREAT | O_EXCL | O_WRONLY, 0o644)).close();
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
            const st = await fs.promises.lstat(abs);
            const mine = st.isFile() && Math.floor(st.atimeMs / 1000) === t.atime && Math.floor(st.mtimeMs / 1000) === t.mtime;
            if (!mine) throw new NfsStatusError(NFSSTAT3.NFS3ERR_EXIST, 'exists with another verifier');
            return;
          }
          await fs.promises.utimes(abs, t.atime, t.mtime);
          return;
        }
        const flags = O_CREAT | O_WRONLY | O_NOFOLLOW | (how.mode === CREATEMODE3.GUARDED ? O_EXCL : 0);
        await (await fs.promises.open(abs, flags, how.attributes.mode ?? 0o644)).close();
        await applyInitial(x, abs, how.attributes);
      }),
    fail: createFail,
  };
}
