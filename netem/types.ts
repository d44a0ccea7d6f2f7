// Shared vocabulary of the netem proxy: directions, fault specs as users write them, record facts, events.
//
// Every duration in a spec is a modelled duration ("65s", "600ms", or a number of model ms) and is multiplied by
// the proxy's time scale before it becomes a timer. Rates are modelled bytes per modelled second.

/** upstream = client -> server, downstream = server -> client (Toxiproxy's naming). */
export type Direction = 'upstream' | 'downstream';
export type DirectionSpec = Direction | 'both';
export const DIRECTIONS: readonly Direction[] = ['upstream', 'downstream'];

export type Duration = string | number;

/** What a stall/hold/reset/blackhole counts to decide when to fire. */
export type CountUnit = 'packets' | 'records' | 'chunks' | 'bytes';

/** A call matcher: procedure by name (NFSv3 names, e.g. "WRITE") or number, optional program, nth call. */
export interface CallMatch {
  proc: string | number;
  /** RPC program number; default NFS (100003) when proc is a name, any program when proc is a number */
  prog?: number;
  /** 1-based call number of this procedure on the proxy (retransmissions count as calls) */
  nth?: number | number[];
}

/** Fields every fault spec may carry. */
export interface FaultSpecBase {
  /** stable id; generated (kind-N) when absent */
  id?: string;
  direction?: DirectionSpec;
  /** probability in [0,1] that the fault applies when it would (per unit or per trigger); default 1 */
  probability?: number;
  // Triggers (stall, hold, reset, blackhole): at most one of every / interval / at / call.
  /** fire every N counted units */
  every?: number;
  /** what `every` counts; default packets */
  unit?: CountUnit;
  /** bytes per packet for unit=packets (default 1448, an Ethernet TCP MSS) */
  mss?: number;
  /** fire every T (first at T) */
  interval?: Duration;
  /** fire at T after the proxy started (one time or a list) */
  at?: Duration | Duration[];
  /** fire on a matching RPC call */
  call?: CallMatch;
  /** how many times the fault may fire in total (default unlimited) */
  count?: number;
}

export type ResumePolicy = 'together' | 'backoff';


// The fault vocabulary comes from the fault table (netem/faults/index.ts): each kind's spec lives in its file.
export type { FaultKind, FaultSpec, FaultSpecOf } from './faults';

/** One RPC record seen by the proxy (RFC 5531 §11 record, §9 message header). */
export interface RecordInfo {
  xid: number;
  type: 'call' | 'reply';
  /** for calls; for replies, copied from the call with the same xid on this connection when seen */
  prog?: number;
  vers?: number;
  proc?: number;
  /** "WRITE", "MOUNT.MNT", "PMAP.GETPORT", or "100003.7" */
  procName?: string;
  /** 1-based number of this call among calls of the same procedure on the proxy (the call a reply answers) */
  callNumber?: number;
  /** raw bytes of the record on the wire, record marks included */
  wireBytes: number;
  /** stream offset (in this direction of this connection) where the record ends */
  endOffset: number;
}

export interface NetemEvent {
  /** wall clock, ISO 8601 */
  t: string;
  /** real ms since the proxy started */
  ms: number;
  /** ms / timeScale: the same instant in the seed's modelled time */
  modelMs: number;
  proxy: string;
  /** fault id or "api" / "proxy" */
  source: string;
  kind: string;
  /** e.g. stall-start, stall-end, release-downstream, release-upstream, drop-reply, duplicate-call, reset */
  event: string;
  conn?: number;
  direction?: Direction;
  [k: string]: unknown;
}
