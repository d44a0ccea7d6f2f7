// RFC 1813 §3.3.0 NULL: do nothing, answer (clients ping with it).
import { NFS3 } from '../../xdr/nfs3/procs';
import type { ProcEntry } from '../rpc/program';

export function onNull(): ProcEntry<void, void> {
  return { codec: NFS3.NULL, run: () => undefined };
}
