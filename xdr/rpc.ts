// ONC RPC v2 messages (RFC 5531 §9 and §8.2 AUTH_SYS). Sans-IO: header encoders write into an XdrWriter,
// decoders read from an XdrReader and leave it positioned at the procedure arguments / results.
import { XdrError } from '../core/errors';
import { XdrReader, enumSet } from './reader';
import { XdrWriter } from './writer';

export const RPC_VERSION = 2;

// RFC 5531 §9: enum msg_type
export const MSG_TYPE = { CALL: 0, REPLY: 1 } as const;
// RFC 5531 §9: enum reply_stat
export const REPLY_STAT = { MSG_ACCEPTED: 0, MSG_DENIED: 1 } as const;
// RFC 5531 §9: enum accept_stat
export const ACCEPT_STAT = {
  SUCCESS: 0,
  PROG_UNAVAIL: 1,
  PROG_MISMATCH: 2,
  PROC_UNAVAIL: 3,
  GARBAGE_ARGS: 4,
  SYSTEM_ERR: 5,
} as const;
// RFC 5531 §9: enum reject_stat
export const REJECT_STAT = { RPC_MISMATCH: 0, AUTH_ERROR: 1 } as const;
// RFC 5531 §9: enum auth_stat
export const AUTH_STAT = {
  AUTH_OK: 0,
  AUTH_BADCRED: 1,
  AUTH_REJECTEDCRED: 2,
  AUTH_BADVERF: 3,
  AUTH_REJECTEDVERF: 4,
  AUTH_TOOWEAK: 5,
  AUTH_INVALIDRESP: 6,
  AUTH_FAILED: 7,
  AUTH_KERB_GENERIC: 8,
  AUTH_TIMEEXPIRE: 9,
  AUTH_TKT_FILE: 10,
  AUTH_DECODE: 11,
  AUTH_NET_ADDR: 12,
  RPCSEC_GSS_CREDPROBLEM: 13,
  RPCSEC_GSS_CTXPROBLEM: 14,
} as const;
// RFC 5531 §8.2 and the IANA registry: auth_flavor
export const AUTH_FLAVOR = { AUTH_NONE: 0, AUTH_SYS: 1, AUTH_SHORT: 2, AUTH_DH: 3, RPCSEC_GSS: 6 } as const;

const MSG_TYPES = enumSet(MSG_TYPE);
const REPLY_STATS = enumSet(REPLY_STAT);
const ACCEPT_STATS = enumSet(ACCEPT_STAT);
const REJECT_STATS = enumSet(REJECT_STAT);
const AUTH_STATS = enumSet(AUTH_STAT);

/** RFC 5531 §8.2: opaque_auth body is at most 400 bytes. */
export const MAX_AUTH_BYTES = 400;
/** RFC 5531 §8.2 (authsys_parms): machinename<255>, gids<16>. */
export const MAX_MACHINE_NAME = 255;
export const MAX_AUTH_SYS_GIDS = 16;

export interface OpaqueAuth {
  flavor: number;
  /** view into the message buffer on decode */
  body: Buffer;
}

export interface AuthSys {
  stamp: number;
  machinename: string;
  uid: number;
  gid: number;
  gids: number[];
}

export const AUTH_NONE: OpaqueAuth = Object.freeze({ flavor: AUTH_FLAVOR.AUTH_NONE, body: Buffer.alloc(0) }) as OpaqueAuth;

export interface RpcCall {
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  cred: OpaqueAuth;
  verf: OpaqueAuth;
}

export type RpcReply =
  | { xid: number; stat: 'accepted'; verf: OpaqueAuth; acceptStat: number; mismatch?: { low: number; high: number } }
  | { xid: number; stat: 'denied'; rejectStat: number; mismatch?: { low: number; high: number }; authStat?: number };

export type RpcMessage = { type: 'call'; call: RpcCall } | { type: 'reply'; reply: RpcReply };

function readAuth(r: XdrReader): OpaqueAuth {
  const flavor = r.u32();
  const body = r.opaque(MAX_AUTH_BYTES, 'opaque_auth body');
  return { flavor, body };
}

function writeAuth(w: XdrWriter, a: OpaqueAuth): void {
  w.u32(a.flavor).opaque(a.body, MAX_AUTH_BYTES);
}

export function encodeAuthSys(p: AuthSys): OpaqueAuth {
  if (p.gids.length > MAX_AUTH_SYS_GIDS) throw new XdrError('XDR_LIMIT', `AUTH_SYS allows at most ${MAX_AUTH_SYS_GIDS} gids`);
  const w = new XdrWriter({ refThreshold: Infinity });
  w.u32(p.stamp >>> 0).string(p.machinename, MAX_MACHINE_NAME).u32(p.uid >>> 0).u32(p.gid >>> 0);
  w.array(p.gids, (w2, g) => w2.u32(g >>> 0), MAX_AUTH_SYS_GIDS);
  return { flavor: AUTH_FLAVOR.AUTH_SYS, body: w.toBuffer() };
}

/** RFC 5531 §8.2 authsys_parms; throws XdrError on a malformed body. */
export function decodeAuthSys(body: Buffer): AuthSys {
  const r = new XdrReader(body);
  const stamp = r.u32();
  const machinename = r.string(MAX_MACHINE_NAME, 'machinename');
  const uid = r.u32();
  const gid = r.u32();
  const gids = r.array(MAX_AUTH_SYS_GIDS, (x) => x.u32(), 'gids');
  r.expectEnd('authsys_parms');
  return { stamp, machinename, uid, gid, gids };
}

/** Writes the call header (xid .. verf); the caller appends the procedure arguments. */
export function encodeCallHeader(w: XdrWriter, c: RpcCall): XdrWriter {
  return writeCallHeader(w, c.xid, c.prog, c.vers, c.proc, c.cred, c.verf);
}

/** encodeCallHeader with positional fields (hot path: no RpcCall object per message). */
export function writeCallHeader(w: XdrWriter, xid: number, prog: number, vers: number, proc: number, cred: OpaqueAuth, verf: OpaqueAuth): XdrWriter {
  w.u32(xid >>> 0).u32(MSG_TYPE.CALL).u32(RPC_VERSION).u32(prog).u32(vers).u32(proc);
  writeAuth(w, cred);
  writeAuth(w, verf);
  return w;
}

/** Writes the reply header; for an accepted SUCCESS the caller appends the results. */
export function encodeReplyHeader(w: XdrWriter, rep: RpcReply): XdrWriter {
  w.u32(rep.xid >>> 0).u32(MSG_TYPE.REPLY);
  if (rep.stat === 'accepted') {
    w.u32(REPLY_STAT.MSG_ACCEPTED);
    writeAuth(w, rep.verf);
    w.u32(rep.acceptStat);
    // RFC 5531 §9: PROG_MISMATCH carries the supported version range.
    if (rep.acceptStat === ACCEPT_STAT.PROG_MISMATCH) w.u32(rep.mismatch?.low ?? 0).u32(rep.mismatch?.high ?? 0);
  } else {
    w.u32(REPLY_STAT.MSG_DENIED).u32(rep.rejectStat);
    if (rep.rejectStat === REJECT_STAT.RPC_MISMATCH) w.u32(rep.mismatch?.low ?? RPC_VERSION).u32(rep.mismatch?.high ?? RPC_VERSION);
    else w.u32(rep.authStat ?? AUTH_STAT.AUTH_FAILED);
  }
  return w;
}

/**
 * Decodes a call or reply header. For a call, rpcvers must be 2 (RFC 5531 §9); a caller that wants to answer
 * RPC_MISMATCH instead catches code RPC_VERSION (the xid is in details).
 */
export function decodeMessage(r: XdrReader): RpcMessage {
  const xid = r.u32();
  const type = r.enumOf(MSG_TYPES, 'msg_type');
  if (type === MSG_TYPE.CALL) return { type: 'call', call: decodeCallBody(r, xid) };
  return { type: 'reply', reply: decodeReplyBody(r, xid) };
}

/** The call header after xid and msg_type CALL (RFC 5531 §9 call_body). */
export function decodeCallBody(r: XdrReader, xid: number): RpcCall {
  const rpcvers = r.u32();
  if (rpcvers !== RPC_VERSION) throw new XdrError('RPC_VERSION', `rpcvers ${rpcvers} is not 2`, { xid, rpcvers });
  const prog = r.u32();
  const vers = r.u32();
  const proc = r.u32();
  const cred = readAuth(r);
  const verf = readAuth(r);
  return { xid, prog, vers, proc, cred, verf };
}

/** The reply header after xid and msg_type REPLY (RFC 5531 §9 reply_body); results follow for SUCCESS. */
export function decodeReplyBody(r: XdrReader, xid: number): RpcReply {
  const stat = r.enumOf(REPLY_STATS, 'reply_stat');
  if (stat === REPLY_STAT.MSG_ACCEPTED) {
    const verf = readAuth(r);
    const acceptStat = r.enumOf(ACCEPT_STATS, 'accept_stat');
    // RFC 5531 §9: PROG_MISMATCH carries the supported version range
    const mismatch = acceptStat === ACCEPT_STAT.PROG_MISMATCH ? { low: r.u32(), high: r.u32() } : undefined;
    return mismatch ? { xid, stat: 'accepted', verf, acceptStat, mismatch } : { xid, stat: 'accepted', verf, acceptStat };
  }
  const rejectStat = r.enumOf(REJECT_STATS, 'reject_stat');
  if (rejectStat === REJECT_STAT.RPC_MISMATCH) return { xid, stat: 'denied', rejectStat, mismatch: { low: r.u32(), high: r.u32() } };
  return { xid, stat: 'denied', rejectStat, authStat: r.enumOf(AUTH_STATS, 'auth_stat') };
}

/** Reads only the xid and message type of a record (proxies and trackers); null when too short. */
export function peekXid(rec: Buffer): { xid: number; type: number } | null {
  if (rec.length < 8) return null;
  return { xid: rec.readUInt32BE(0), type: rec.readUInt32BE(4) };
}
