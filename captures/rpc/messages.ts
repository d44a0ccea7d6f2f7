// One RPC message (a TCP record or a UDP datagram) to a call or reply summary. Headers by xdr/rpc.ts
// decodeMessage, NFSv3 WRITE arguments by the shared codec table; the WRITE data stay a view (no copy).
import { XdrReader } from '../../xdr/reader';
import { decodeMessage, ACCEPT_STAT } from '../../xdr/rpc';
import { NFS3, NFS3_PROCS } from '../../xdr/nfs3/procs';
import { MOUNT3_PROCS } from '../../xdr/mount';
import { PMAP2, PMAP2_PROCS } from '../../xdr/portmap';
import type { WriteArgs } from '../../xdr/nfs3/types';
import { PROG } from './plausible';

export interface CallSummary {
  kind: 'call';
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  /** procedure arguments (view) */
  args: Buffer;
  write?: WriteArgs;
  /** PORTMAP GETPORT arguments, to learn NFS/MOUNT ports */
  getport?: { prog: number; vers: number; prot: number };
}

export interface ReplySummary {
  kind: 'reply';
  xid: number;
  accepted: boolean;
  acceptStat: number | null;
  /** results (view) */
  body: Buffer;
}

export type MessageSummary = CallSummary | ReplySummary;

export function procName(prog: number, vers: number, proc: number): string {
  const table = prog === PROG.NFS && vers === 3 ? NFS3_PROCS : prog === PROG.MOUNT && vers === 3 ? MOUNT3_PROCS : prog === PROG.PORTMAP && vers === 2 ? PMAP2_PROCS : null;
  const name = table?.[proc]?.name;
  const p = prog === PROG.NFS ? 'NFS' : prog === PROG.MOUNT ? 'MOUNT' : prog === PROG.PORTMAP ? 'PORTMAP' : String(prog);
  return name ? `${p}${vers}.${name}` : `${p}${vers}.proc${proc}`;
}

/** Throws XdrError (with a code) on a malformed header or WRITE arguments. */
export function summarize(rec: Buffer): MessageSummary {
  // Captures are read leniently: non-zero XDR padding does not hide a message.
  const r = new XdrReader(rec, 0, rec.length, false);
  const m = decodeMessage(r);
  if (m.type === 'call') {
    const c = m.call;
    const s: CallSummary = { kind: 'call', xid: c.xid, prog: c.prog, vers: c.vers, proc: c.proc, args: r.rest() };
    if (c.prog === PROG.NFS && c.vers === 3 && c.proc === NFS3.WRITE.proc) s.write = NFS3.WRITE.decodeArgs(r);
    else if (c.prog === PROG.PORTMAP && c.vers === 2 && c.proc === PMAP2.GETPORT.proc) {
      const a = PMAP2.GETPORT.decodeArgs(r) as { prog: number; vers: number; prot: number };
      s.getport = { prog: a.prog, vers: a.vers, prot: a.prot };
    }
    return s;
  }
  const rep = m.reply;
  const accepted = rep.stat === 'accepted';
  return { kind: 'reply', xid: rep.xid, accepted, acceptStat: accepted ? rep.acceptStat : null, body: r.rest() };
}

export const SUCCESS = ACCEPT_STAT.SUCCESS;
