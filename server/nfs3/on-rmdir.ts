// RFC 1813 §3.3.13 RMDIR: remove an empty directory (NFS3ERR_NOTEMPTY otherwise).
import fs from 'node:fs';
import type { RmdirArgs, RmdirRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import type { Nfs3Export } from './export';
import { removeEntry } from './on-remove';

export function onRmdir(x: Nfs3Export): ProcEntry<RmdirArgs, RmdirRes> {
  return removeEntry(x, 'RMDIR', (p) => fs.promises.rmdir(p));
}
