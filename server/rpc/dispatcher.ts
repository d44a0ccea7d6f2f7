// One call in, at most one reply out (RFC 5531 §9): header checks in the RFC's order, then the DRC, then the
// procedure. Never throws: a malformed call gets the error reply the RFC names, or no reply when even the header
// cannot be read.
import { NfsStatusError, XdrError } from '../../core/errors';
import type { Logger } from '../../core/log';
import { XdrReader } from '../../xdr/reader';
import { ACCEPT_STAT, AUTH_FLAVOR, AUTH_STAT, AuthSys, decodeAuthSys, decodeMessage, RpcCall } from '../../xdr/rpc';
import type { DrcDecision, DrcOutcome, DuplicateRequestCache } from '../drc';
import { WithEffect, type CallContext, type ConnInfo, type DispatchTable, type Effect, type ProcEntry, type Subject } from './program';
import { encodeAcceptedError as acceptedError, encodeErrorReply, encodeReply as successReply } from '../../xdr/message';

export interface Reply {
  /** the reply message, no record mark; may reference buffers lent by the procedure */
  parts: Buffer[];
  /** to run once the transport is done with `parts` */
  afterSend: Array<() => void>;
}

/** Everything the server's observers (stats, journal, diagnostics channel) learn about one call. */
export interface CallEvent {
  ctx: CallContext;
  entry: ProcEntry;
  args: unknown;
  /** what the call is about (its procedure's subject()), whether or not it ran */
  subject?: Subject;
  /** the result object when this call executed */
  res?: unknown;
  /** what the procedure reported it did, when it ran and had an effect to report */
  effect?: Effect;
  /** nfsstat3/mountstat3 of the reply sent, -1 when not applicable, undefined when no reply was sent */
  status?: number;
  outcome: DrcOutcome;
}

export interface DispatcherOptions {
  table: DispatchTable;
  drc?: DuplicateRequestCache;
  logger: Logger;
  /** called once per decoded call that reached a procedure (executed, replayed, dropped or waited) */
  onCall?(ev: CallEvent): void;
}

export class Dispatcher {
  constructor(private readonly o: DispatcherOptions) {}

  /**
   * Handles one record. Resolves to the reply gather list and the hooks to run once it has been sent, or null
   * when nothing must be sent.
   */
  async handle(record: Buffer, conn: ConnInfo, onFree?: () => void): Promise<Reply | null> {
    const afterSend: Array<() => void> = [];
    const lease = new RecordLease(onFree);
    afterSend.push(lease.retain());
    let parts: Buffer[] | null = null;
    try {
      parts = await this.dispatch(record, conn, afterSend, lease);
    } finally {
      if (!parts) for (const f of afterSend) f();
    }
    return parts && { parts, afterSend };
  }

  private async dispatch(record: Buffer, conn: ConnInfo, afterSend: Array<() => void>, lease: RecordLease): Promise<Buffer[] | null> {
    const r = new XdrReader(record, 0, record.length, false);
    let call: RpcCall;
    try {
      const m = decodeMessage(r);
      if (m.type !== 'call') {
        this.o.logger.log('debug', 'ignoring a reply sent to the server', { conn: conn.id });
        return null;
      }
      call = m.call;
    } catch (e) {
      // RFC 5531 §9: rpcvers other than 2 is answered with RPC_MISMATCH.
      if (e instanceof XdrError && e.code === 'RPC_VERSION') return encodeErrorReply(Number(e.details?.xid ?? 0), { kind: 'RPC_MISMATCH' });
      this.o.logger.log('warn', 'unreadable call header dropped', { conn: conn.id, client: `${conn.remoteAddress}:${conn.remotePort}`, code: (e as XdrError).code, bytes: record.length });
      return null;
    }
    const { xid } = call;
    const program = this.o.table.get(call.prog);
    if (!program) return acceptedError(xid, ACCEPT_STAT.PROG_UNAVAIL);
    const version = program.versions.get(call.vers);
    if (!version) {
      const vs = [...program.versions.keys()];
      return acceptedError(xid, ACCEPT_STAT.PROG_MISMATCH, { low: Math.min(...vs), high: Math.max(...vs) });
    }
    const entry = version.procs[call.proc];
    if (!entry) return acceptedError(xid, ACCEPT_STAT.PROC_UNAVAIL);

    // RFC 5531 §8.2 / §9: AUTH_NONE and AUTH_SYS are accepted; a malformed AUTH_SYS body is AUTH_BADCRED.
    // The credential is passed on as sent: which ids a call acts as is the export's business (nfs3/identity.ts).
    let auth: AuthSys | undefined;
    if (call.cred.flavor === AUTH_FLAVOR.AUTH_SYS) {
      try {
        auth = decodeAuthSys(call.cred.body);
      } catch {
        return encodeErrorReply(xid, { kind: 'AUTH_ERROR', authStat: AUTH_STAT.AUTH_BADCRED });
      }
    } else if (call.cred.flavor !== AUTH_FLAVOR.AUTH_NONE) {
      return encodeErrorReply(xid, { kind: 'AUTH_ERROR', authStat: AUTH_STAT.AUTH_REJECTEDCRED });
    }
    if (call.verf.flavor !== AUTH_FLAVOR.AUTH_NONE && call.verf.flavor !== AUTH_FLAVOR.AUTH_SYS) return encodeErrorReply(xid, { kind: 'AUTH_ERROR', authStat: AUTH_STAT.AUTH_BADVERF });

    const argBytes = r.rest();
    let args: unknown;
    try {
      args = entry.codec.decodeArgs(r);
    } catch (e) {
      this.o.logger.log('debug', 'garbage arguments', { conn: conn.id, xid, proc: entry.codec.name, code: (e as XdrError).code });
      return acceptedError(xid, ACCEPT_STAT.GARBAGE_ARGS);
    }

    const ctx: CallContext = { conn, call, auth, record, argBytes, afterSend, retain: () => lease.retain() };
    const subject = entry.subject?.(args);
    const drc = this.o.drc;
    const d: DrcDecision = drc
      ? drc.begin({ connId: conn.id, clientAddr: conn.remoteAddress, clientPort: conn.remotePort, xid, prog: call.prog, vers: call.vers, proc: call.proc, args: argBytes })
      : { kind: 'execute', outcome: 'executed' };
    if (d.kind === 'replay') {
      this.emit({ ctx, entry, args, subject, status: d.status, outcome: d.outcome });
      return [d.reply];
    }
    if (d.kind === 'drop') {
      this.emit({ ctx, entry, args, subject, outcome: d.outcome });
      return null;
    }
    if (d.kind === 'wait') {
      const done = await d.done;
      this.emit({ ctx, entry, args, subject, status: done?.status, outcome: d.outcome });
      return done ? [done.reply] : null;
    }

    let res: unknown;
    let effect: Effect | undefined;
    try {
      const out = await entry.run(ctx, args);
      if (out instanceof WithEffect) ({ res, effect } = out);
      else res = out;
    } catch (e) {
      if (e instanceof NfsStatusError && entry.fail) res = entry.fail(e.status);
      else {
        this.o.logger.log('error', 'procedure failed', { conn: conn.id, xid, proc: entry.codec.name, err: (e as Error)?.stack ?? String(e) });
        if (d.entry) drc!.abandon(d.entry);
        return acceptedError(xid, ACCEPT_STAT.SYSTEM_ERR);
      }
    }
    let parts: Buffer[];
    try {
      parts = successReply(xid, entry.codec, res);
    } catch (e) {
      this.o.logger.log('error', 'result encoding failed', { conn: conn.id, xid, proc: entry.codec.name, err: (e as Error)?.message });
      if (d.entry) drc!.abandon(d.entry);
      return acceptedError(xid, ACCEPT_STAT.SYSTEM_ERR);
    }
    const status = statusOf(res);
    if (d.entry) {
      // The cache keeps its own copy: the gather list may reference buffers that belong to the procedure.
      const copy = Buffer.concat(parts);
      drc!.complete(d.entry, copy, status);
      parts = [copy];
    }
    this.emit({ ctx, entry, args, subject, res, effect, status, outcome: d.outcome });
    return parts;
  }

  private emit(ev: CallEvent): void {
    if (!this.o.onCall) return;
    try {
      this.o.onCall(ev);
    } catch (e) {
      this.o.logger.log('error', 'call observer failed', { err: (e as Error)?.message });
    }
  }
}

/**
 * Who still reads a call's record: the reply path holds it until the reply has left, and a procedure or an
 * observer may hold it longer (a WRITE executed behind its reply, a payload being hashed). The last holder to let
 * go returns it (onFree: back to the record pool).
 */
class RecordLease {
  private holds = 0;
  constructor(private readonly onFree?: () => void) {}

  /** Takes a hold; the function returned gives it back (calling it again does nothing). */
  retain(): () => void {
    this.holds++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.holds === 0) this.onFree?.();
    };
  }
}

function statusOf(res: unknown): number {
  const s = (res as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : -1;
}

