// The explicit dispatch table: programs -> versions -> procedures (no registration by import side effect).
import type { AuthSys, RpcCall } from '../../xdr/rpc';
import type { ProcCodec } from '../../xdr/procedure';

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
}

/** What a call is about, read from its arguments by its own procedure (the journal records it for every call). */
export interface Subject {
  /** the handle the call names: the object, or the directory a directory operation works in */
  fh?: Buffer;
  /** the name a directory operation acts on (RENAME: the source name; LINK: the new link's name) */
  name?: string;
}

/** What a call did to the export that its observers record (the journal): for now, where a WRITE's bytes went. */
export interface Effect {
  write?: {
    /** stable_how the reply promised */
    committed: number;
    /**
     * For a write that runs behind its reply (write-behind): settles once the bytes are in the file, with the error
     * if they never got there (never rejects). Absent when the bytes were written before the reply.
     */
    done?: Promise<Error | undefined>;
  };
}

/** A procedure's result together with its effect; procedures without an effect to report return the result alone. */
export class WithEffect<R> {
  constructor(
    readonly res: R,
    readonly effect: Effect,
  ) {}
}

export interface ProcEntry<A = any, R = any> {
  codec: ProcCodec<A, R>;
  /** What a call is about (never throws: the arguments are decoded). */
  subject?(args: A): Subject;
  run(ctx: CallContext, args: A): Promise<R | WithEffect<R>> | R | WithEffect<R>;
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
