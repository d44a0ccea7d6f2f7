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

export interface StallSpec extends FaultSpecBase {
  kind: 'stall';
  duration: Duration;
  /**
   * together: both directions resume at the end. backoff: downstream resumes at the end; upstream resumes at the
   * next retransmission of a modelled Linux TCP RTO timer that started with the stall (200 ms doubling, capped),
   * which is how an NFQUEUE stall lets the server's reply beat the client's queued retransmission.
   */
  resume?: ResumePolicy;
  /** Linux TCP_RTO_MIN (200ms) and TCP_RTO_MAX (120s) by default */
  rtoInitial?: Duration;
  rtoMax?: Duration;
  /** for call triggers: stall before the matching call is forwarded, or right after (default after) */
  phase?: 'before' | 'after';
}
export interface HoldSpec extends FaultSpecBase {
  kind: 'hold';
  duration: Duration;
}
export interface LatencySpec extends FaultSpecBase {
  kind: 'latency';
  delay: Duration;
  jitter?: Duration;
}
export interface BandwidthSpec extends FaultSpecBase {
  kind: 'bandwidth';
  /** bytes per modelled second; accepts sizes ("10MiB") */
  rate: string | number;
}
export interface SlicerSpec extends FaultSpecBase {
  kind: 'slicer';
  /** average slice size in bytes */
  size: string | number;
  /** slices are size +- variation bytes */
  variation?: string | number;
  /** delay between slices */
  delay?: Duration;
}
export interface ResetSpec extends FaultSpecBase {
  kind: 'reset';
}
export interface BlackholeSpec extends FaultSpecBase {
  kind: 'blackhole';
  /** how long data is read and discarded; absent: until the connection closes */
  duration?: Duration;
  /** close (FIN) the connection when the blackhole ends; default true */
  close?: boolean;
}
export interface DropReplySpec extends FaultSpecBase {
  kind: 'drop-reply';
  /** drop replies to these XIDs */
  xids?: number[];
  /** drop the reply to a matching call (nth = call number of that procedure) */
  call?: CallMatch;
}
export interface DuplicateCallSpec extends FaultSpecBase {
  kind: 'duplicate-call';
  xids?: number[];
  call?: CallMatch;
  /** delay of the copy after the original */
  delay?: Duration;
}

export type FaultSpec =
  | StallSpec
  | HoldSpec
  | LatencySpec
  | BandwidthSpec
  | SlicerSpec
  | ResetSpec
  | BlackholeSpec
  | DropReplySpec
  | DuplicateCallSpec;
export type FaultKind = FaultSpec['kind'];

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
