// Whole RPC messages (RFC 5531 §9) for one procedure codec: call = header + args, reply = header + results.
// encodeCall/encodeReply/encodeErrorReply give the message without record mark (frame it with encodeRecord);
// encodeCallRecord/encodeReplyRecord give it framed. Payload Buffers inside args or results are referenced, not
// copied (xdr/writer.ts ownership note); decoded Buffers are views of the record (xdr/reader.ts).
import { RpcError } from '../core/errors';
import type { ProcCodec } from './procedure';
import { XdrReader, enumSet } from './reader';
import { MAX_FRAGMENT_LENGTH, encodeRecord } from './record';
import {
  ACCEPT_STAT,
  AUTH_NONE,
  REJECT_STAT,
  type OpaqueAuth,
  type RpcCall,
  type RpcReply,
  MSG_TYPE,
  decodeCallBody,
  decodeReplyBody,
  writeCallHeader,
  encodeReplyHeader,
} from './rpc';
import { XdrWriter, type WriterOptions } from './writer';

/** Call header fields; prog/vers/proc default to the codec's, cred/verf to AUTH_NONE. */
export type CallHeader = { xid: number } & Partial<Omit<RpcCall, 'xid'>>;

export function encodeCall<A>(call: CallHeader, codec: ProcCodec<A, any>, args: A, opts?: WriterOptions): Buffer[] {
  const w = opts ? new XdrWriter(opts) : borrow();
  writeCall(w, call, codec);
  codec.encodeArgs(w, args);
  return opts ? w.finish() : giveBack(w);
}

function writeCall(w: XdrWriter, call: CallHeader, codec: ProcCodec<any, any>): void {
  writeCallHeader(w, call.xid, call.prog ?? codec.prog, call.vers ?? codec.vers, call.proc ?? codec.proc, call.cred ?? AUTH_NONE, call.verf ?? AUTH_NONE);
}

/**
 * The call framed as a record (RFC 5531 §11): like encodeRecord(encodeCall(...)), but the record mark is written
 * into the header chunk instead of a separate Buffer when the message fits in one fragment.
 */
export function encodeCallRecord<A>(call: CallHeader, codec: ProcCodec<A, any>, args: A, maxFragment = MAX_FRAGMENT_LENGTH, opts?: WriterOptions): Buffer[] {
  const w = opts ? new XdrWriter(opts) : borrow();
  w.u32(0); // record mark placeholder
  writeCall(w, call, codec);
  codec.encodeArgs(w, args);
  return markRecord(w, maxFragment, !opts);
}

/** The SUCCESS reply framed as a record; see encodeCallRecord. */
export function encodeReplyRecord<R>(xid: number, codec: ProcCodec<any, R>, res: R, verf: OpaqueAuth = AUTH_NONE, maxFragment = MAX_FRAGMENT_LENGTH): Buffer[] {
  const w = borrow();
  w.u32(0); // record mark placeholder
  encodeReplyHeader(w, { xid, stat: 'accepted', verf, acceptStat: ACCEPT_STAT.SUCCESS });
  codec.encodeRes(w, res);
  return markRecord(w, maxFragment, true);
}

const MSG_TYPES = enumSet(MSG_TYPE);

// One idle writer is kept for reuse: finish(true) leaves a writer empty, holding only the not yet used rest of its
// region, so the next message starts right after the last one. A codec that throws leaves `spare` empty and the
// next call makes a new writer.
let spare: XdrWriter | undefined;
function borrow(): XdrWriter {
  const w = spare ?? new XdrWriter();
  spare = undefined;
  return w;
}

/** Finishes a borrowed writer and keeps it (with the rest of its region) for the next message. */
function giveBack(w: XdrWriter): Buffer[] {
  const parts = w.finish(true);
  spare = w;
  return parts;
}

function markRecord(w: XdrWriter, maxFragment: number, reusable: boolean): Buffer[] {
  const body = w.length - 4;
  const parts = reusable ? giveBack(w) : w.finish();
  // parts[0] begins with the placeholder: the writer's first chunk always starts where its first write went.
  if (body <= maxFragment) {
    const h = parts[0];
    h[0] = 0x80 | (body >>> 24); // RFC 5531 §11: last-fragment bit and the 31-bit length, big-endian
    h[1] = body >>> 16;
    h[2] = body >>> 8;
    h[3] = body;
    return parts;
  }
  parts[0] = parts[0].subarray(4);
  return encodeRecord(parts, maxFragment);
}

/** Accepted SUCCESS reply carrying the procedure's results. */
export function encodeReply<R>(xid: number, codec: ProcCodec<any, R>, res: R, verf: OpaqueAuth = AUTH_NONE, opts?: WriterOptions): Buffer[] {
  const w = opts ? new XdrWriter(opts) : borrow();
  encodeReplyHeader(w, { xid, stat: 'accepted', verf, acceptStat: ACCEPT_STAT.SUCCESS });
  codec.encodeRes(w, res);
  return opts ? w.finish() : giveBack(w);
}

/** Every reply that is not an accepted SUCCESS (RFC 5531 §9 accepted_reply / rejected_reply arms). */
export type ErrorReply =
  | { kind: 'PROG_UNAVAIL' | 'PROC_UNAVAIL' | 'GARBAGE_ARGS' | 'SYSTEM_ERR' }
  | { kind: 'PROG_MISMATCH'; low: number; high: number }
  | { kind: 'RPC_MISMATCH'; low?: number; high?: number }
  | { kind: 'AUTH_ERROR'; authStat: number };

export function encodeErrorReply(xid: number, err: ErrorReply, verf: OpaqueAuth = AUTH_NONE): Buffer[] {
  const w = new XdrWriter();
  let rep: RpcReply;
  switch (err.kind) {
    case 'RPC_MISMATCH':
      rep = { xid, stat: 'denied', rejectStat: REJECT_STAT.RPC_MISMATCH, mismatch: { low: err.low ?? 2, high: err.high ?? 2 } };
      break;
    case 'AUTH_ERROR':
      rep = { xid, stat: 'denied', rejectStat: REJECT_STAT.AUTH_ERROR, authStat: err.authStat };
      break;
    case 'PROG_MISMATCH':
      rep = { xid, stat: 'accepted', verf, acceptStat: ACCEPT_STAT.PROG_MISMATCH, mismatch: { low: err.low, high: err.high } };
      break;
    default:
      rep = { xid, stat: 'accepted', verf, acceptStat: ACCEPT_STAT[err.kind] };
  }
  encodeReplyHeader(w, rep);
  return w.finish();
}

/** Accepted non-SUCCESS reply by raw accept_stat value (for servers that already hold the number). */
export function encodeAcceptedError(xid: number, acceptStat: number, mismatch?: { low: number; high: number }, verf: OpaqueAuth = AUTH_NONE): Buffer[] {
  const w = new XdrWriter();
  encodeReplyHeader(w, { xid, stat: 'accepted', verf, acceptStat, mismatch });
  return w.finish();
}

/** A decoded call: header plus a reader positioned at the arguments (views alias `record`). */
export function decodeCall(record: Buffer): { call: RpcCall; args: XdrReader } {
  const r = new XdrReader(record);
  const xid = r.u32();
  const type = r.enumOf(MSG_TYPES, 'msg_type');
  if (type !== MSG_TYPE.CALL) throw new RpcError('RPC_NOT_CALL', `xid ${xid}: expected a call, got a reply`, { xid });
  return { call: decodeCallBody(r, xid), args: r };
}

/** Decodes a call's arguments with a codec; trailing bytes are GARBAGE_ARGS material (XDR_TRAILING). */
export function decodeCallArgs<A>(args: XdrReader, codec: ProcCodec<A, any>): A {
  const a = codec.decodeArgs(args);
  args.expectEnd(`${codec.name} args`);
  return a;
}

/**
 * Decodes a reply record. For an accepted SUCCESS the results are decoded with `codec` (and must fill the
 * record exactly); otherwise `res` is undefined and `reply` says why.
 */
export function decodeReply<R>(record: Buffer, codec: ProcCodec<any, R>): { reply: RpcReply; res?: R } {
  const r = new XdrReader(record);
  const xid = r.u32();
  const type = r.enumOf(MSG_TYPES, 'msg_type');
  if (type !== MSG_TYPE.REPLY) throw new RpcError('RPC_NOT_REPLY', `xid ${xid}: expected a reply, got a call`, { xid });
  const reply = decodeReplyBody(r, xid);
  if (reply.stat !== 'accepted' || reply.acceptStat !== ACCEPT_STAT.SUCCESS) {
    r.expectEnd('rpc reply');
    return { reply };
  }
  const res = codec.decodeRes(r);
  r.expectEnd(`${codec.name} results`);
  return { reply, res };
}
