// The explicit dispatch table: programs -> versions -> procedures (no registration by import side effect).
import type { AuthSys, RpcCall } from '../../xdr/rpc';
import type { ProcCodec } from '../../xdr/procedure';
import type { DrcOutcome } from '../drc';

/** One TCP connection as the procedures and the DRC see it. */
export interface ConnInfo {
  /** per server instance, from 1 */
  id: number;
  remoteAddress: string;
  remotePort: number;
  /** the local port the call arrived on (tells the NFS/MOUNT/PORTMAP listeners apart) */
  localPort: number;
}

export interface CallContext {
  conn: ConnInfo;
  call: RpcCall;
  /** decoded AUTH_SYS credential as sent, when the call carried one (the export maps it: nfs3/identity.ts) */
  auth?: AuthSys;
  /** the whole record as received (owned by this call once the framer handed it out) */
  record: Buffer;
  /** the procedure arguments exactly as received: a view into the record, read only */
  argBytes: Buffer;
  /** what the DRC decided for this execution */
  outcome: DrcOutcome;
  /**
   * Run once the reply has left (the socket took it, or it was dropped): where a procedure lends a Buffer to
   * its reply (READ data from a pool) it takes it back here.
   */
  afterSend: Array<() => void>;
  /**
   * Keeps the record (and so args, argBytes) valid past the reply: the function returned lets go. Records come
   * from a pool, so anything that reads them after the procedure returned must hold them.
   */
  retain(): () => void;
  /**
   * Set by a procedure that finishes its work after the reply (WRITE behind): settles when the effect is done,
   * with its error if it failed (never rejects). Observers that record effects (the journal) wait for it.
   */
  settled?: Promise<Error | undefined>;
  /** facts a procedure learns while executing, for the journal (export-relative path, committed how) */
  note: { path?: string; committed?: number };
}

export interface ProcEntry<A = any, R = any> {
  codec: ProcCodec<A, R>;
  run(ctx: CallContext, args: A): Promise<R> | R;
  /**
   * The result for a thrown NfsStatusError: the status plus the procedure's own failure body (go-nfs PR #95:
   * a reply without its failure body broke macOS clients).
   */
  fail?(status: number): R;
}

export interface ProgramVersion {
  /** indexed by procedure number; holes are PROC_UNAVAIL */
  procs: ReadonlyArray<ProcEntry | undefined>;
}

export interface Program {
  prog: number;
  name: string;
  versions: ReadonlyMap<number, ProgramVersion>;
}

export type DispatchTable = ReadonlyMap<number, Program>;

export function dispatchTable(programs: Program[]): DispatchTable {
  return new Map(programs.map((p) => [p.prog, p]));
}

/** Builds a version's procedure array from entries placed at their codec's procedure number. */
export function procedures(entries: ProcEntry[]): ProgramVersion {
  const procs: Array<ProcEntry | undefined> = [];
  for (const e of entries) procs[e.codec.proc] = e;
  return { procs };
}
