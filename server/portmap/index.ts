// PORTMAP v2 (RFC 1833 §3): answers GETPORT/DUMP for the programs this server serves. SET/UNSET from clients are
// refused (FALSE); CALLIT is not offered (PROC_UNAVAIL) since it only amplifies traffic.
import { NFS_PROGRAM, NFS_V3 } from '../../xdr/nfs3/constants';
import { PMAP2, IPPROTO, PMAP_PROGRAM, PMAP_V2, type PmapMapping } from '../../xdr/portmap';
import { Program, procedures } from '../rpc/program';
import { MOUNT_PROGRAM, MOUNT_V3 } from '../../xdr/mount';

export interface Ports {
  nfs: number;
  mount: number;
  portmap: number;
}

export function portmapProgram(ports: () => Ports): Program {
  const mappings = (): PmapMapping[] => {
    const p = ports();
    return [
      { prog: PMAP_PROGRAM, vers: PMAP_V2, prot: IPPROTO.TCP, port: p.portmap },
      { prog: NFS_PROGRAM, vers: NFS_V3, prot: IPPROTO.TCP, port: p.nfs },
      { prog: MOUNT_PROGRAM, vers: MOUNT_V3, prot: IPPROTO.TCP, port: p.mount },
    ];
  };
  const v2 = procedures([
    { codec: PMAP2.NULL, run: () => undefined },
    { codec: PMAP2.SET, run: () => false },
    { codec: PMAP2.UNSET, run: () => false },
    {
      codec: PMAP2.GETPORT,
      run: (_ctx, q: PmapMapping) => mappings().find((m) => m.prog === q.prog && m.vers === q.vers && m.prot === q.prot)?.port ?? 0,
    },
    { codec: PMAP2.DUMP, run: () => mappings() },
  ]);
  return { prog: PMAP_PROGRAM, name: 'PORTMAP', versions: new Map([[PMAP_V2, v2]]) };
}
