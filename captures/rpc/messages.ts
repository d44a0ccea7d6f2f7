// One RPC message (a TCP record or a UDP datagram) to a call or reply summary. Headers by xdr/rpc.ts
// decodeMessage, NFSv3 WRITE arguments by the shared codec table; the WRITE data stay a view (no copy).
import { XdrReader } from '../../xdr/reader';
import { XdrError } from '../../core/errors';
import { decodeMessage, ACCEPT_STAT } from '../../xdr/rpc';
import { NFS3, NFS3_PROCS } from '../../xdr/nfs3/procs';
import { MOUNT3_PROCS } from '../../xdr/mount';
import { PMAP2, PMAP2_PROCS } from '../../xdr/portmap';
import type { WriteArgs } from '../../xdr/nfs3/types';
import { PROG } from './plausible';

/** What a damaged record (framer.ts FramedRecord) lacks. */
export interface Damage {
  /** payload bytes (WRITE data, else the arguments or results) the capture lacks */
  missingBytes: number;
  /** a hole lies in the RPC header or the NFS arguments before the payload: only xid, program, version and procedure are sure */
  headerDamaged: boolean;
  truncated: boolean;
  /** the body was dropped to stay within the memory budget (the capture had it) */
  capped: boolean;
}

export interface CallSummary {
  kind: 'call';
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  /** procedure arguments (view); for a damaged record, what was kept of them */
  args: Buffer;
  write?: WriteArgs;
  /** payload bytes on the wire: WRITE data length, else argument bytes */
  payloadLength: number;
  damage?: Damage;
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
  damage?: Damage;
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
    const args = r.rest();
    const s: CallSummary = { kind: 'call', xid: c.xid, prog: c.prog, vers: c.vers, proc: c.proc, args, payloadLength: args.length };
    if (c.prog === PROG.NFS && c.vers === 3 && c.proc === NFS3.WRITE.proc) {
      s.write = NFS3.WRITE.decodeArgs(r);
      s.payloadLength = s.write.data.length;
    } else if (c.prog === PROG.PORTMAP && c.vers === 2 && c.proc === PMAP2.GETPORT.proc) {
      const a = PMAP2.GETPORT.decodeArgs(r) as { prog: number; vers: number; prot: number };
      s.getport = { prog: a.prog, vers: a.vers, prot: a.prot };
    }
    return s;
  }
  const rep = m.reply;
  const accepted = rep.stat === 'accepted';
  return { kind: 'reply', xid: rep.xid, accepted, acceptStat: accepted ? rep.acceptStat : null, body: r.rest() };
}

/** Bytes of [from, to) covered by the holes. */
function holeBytes(holes: ReadonlyArray<readonly [number, number]>, from: number, to: number): number {
  let n = 0;
  for (const [a, b] of holes) n += Math.max(0, Math.min(b, to) - Math.max(a, from));
  return n;
}

/**
 * A damaged record: `head` holds its first bytes (zeros in holes), `length` its message length (a lower bound
 * when truncated). The first 24 bytes are always there (the framer needs them to recognise a record), so the
 * XID, program, version and procedure are; the WRITE arguments are taken only when no hole lies before the data.
 */
export function summarizeDamaged(head: Buffer, length: number, holes: ReadonlyArray<readonly [number, number]>, truncated: boolean, capped: boolean): MessageSummary {
  const xid = head.readUInt32BE(0);
  const isCall = head.readUInt32BE(4) === 0;
  const firstHole = holes.length ? holes[0][0] : Infinity;
  const damage = (payloadStart: number, payloadLength: number, headerOk: boolean): Damage => {
    const end = payloadStart + payloadLength;
    const beyond = truncated ? Math.max(0, end - Math.max(length, payloadStart)) : 0;
    return { missingBytes: Math.min(payloadLength, holeBytes(holes, payloadStart, end) + beyond), headerDamaged: !headerOk, truncated, capped };
  };
  const r = new XdrReader(head, 0, Math.min(head.length, length), false);
  try {
    const m = decodeMessage(r);
    if (m.type === 'call') {
      const c = m.call;
      const s: CallSummary = { kind: 'call', xid, prog: c.prog, vers: c.vers, proc: c.proc, args: head.subarray(r.pos, Math.min(head.length, length)), payloadLength: length - r.pos };
      if (c.prog === PROG.NFS && c.vers === 3 && c.proc === NFS3.WRITE.proc) {
        // RFC 1813 §3.3.7 WRITE3args up to the data's length word, read by hand: the data are not all here.
        const file = r.opaque(64, 'nfs_fh3');
        const offset = r.u64();
        const count = r.u32();
        const stable = r.u32();
        const dataLen = r.u32();
        const headerOk = firstHole >= r.pos;
        s.payloadLength = dataLen;
        s.damage = damage(r.pos, dataLen, headerOk);
        if (headerOk) s.write = { file, offset, count, stable, data: head.subarray(r.pos, Math.min(head.length, length, r.pos + dataLen)) };
      } else s.damage = damage(r.pos, length - r.pos, firstHole >= r.pos);
      return s;
    }
    const rep = m.reply;
    const accepted = rep.stat === 'accepted';
    return { kind: 'reply', xid, accepted, acceptStat: accepted ? rep.acceptStat : null, body: r.rest(), damage: damage(r.pos, length - r.pos, firstHole >= r.pos) };
  } catch (err) {
    if (!(err instanceof XdrError)) throw err;
    // The header itself runs into a hole or past what was kept: keep what the first 24 bytes say.
    const dmg: Damage = { missingBytes: holeBytes(holes, 24, length), headerDamaged: true, truncated, capped };
    if (!isCall) return { kind: 'reply', xid, accepted: head.readUInt32BE(8) === 0, acceptStat: null, body: Buffer.alloc(0), damage: dmg };
    return { kind: 'call', xid, prog: head.readUInt32BE(12), vers: head.readUInt32BE(16), proc: head.readUInt32BE(20), args: Buffer.alloc(0), payloadLength: Math.max(0, length - 24), damage: dmg };
  }
}

export const SUCCESS = ACCEPT_STAT.SUCCESS;
