// The contract between the relay (mechanism: sockets, queues, timers) and a fault (decision). A fault sees
// chunks and records as they are read, may rewrite the plan of what gets written and when, and may ask the
// proxy to stall, hold, reset or close. One file per fault under netem/faults/.
import type { TimeScale } from '../core/units';
import type { Prng } from '../core/prng';
import type { EventInput } from './events';
import type { Direction, FaultSpec, FaultSpecBase, RecordInfo } from './types';

/** Bytes to write and the earliest real time (performance.now() ms) they may be written. */
export interface Piece {
  bytes: Buffer;
  at: number;
}

/** What the relay will write for one unit (a chunk, or a whole record in record mode); faults edit `pieces`. */
export interface UnitPlan {
  readonly direction: Direction;
  readonly conn: ConnectionHandle;
  /** records that end in this unit */
  readonly records: readonly RecordInfo[];
  /** real ms (performance.now()) when the unit was read */
  readonly now: number;
  pieces: Piece[];
}

/** Where a hook runs: which connection and direction; `defer` runs fn after the unit was handed to the socket. */
export interface HookSite {
  readonly conn: ConnectionHandle;
  readonly direction: Direction;
  defer(fn: () => void): void;
}

export interface ConnectionHandle {
  readonly id: number;
  /** RST both sockets (and both legs of the capture) */
  reset(reason: string): void;
  /** FIN both sockets */
  end(reason: string): void;
}

export interface StallRequest {
  /** real ms */
  durationMs: number;
  resume: 'together' | 'backoff';
  /** backoff: the senders' TCP retransmission timer, first interval and cap, real ms (Linux TCP_RTO_MIN/MAX) */
  rtoInitialMs: number;
  rtoMaxMs: number;
  directions: ReadonlySet<Direction>;
  source: string;
  /** extra facts for the event log */
  facts?: Record<string, unknown>;
}

/** What the proxy gives a fault. */
export interface FaultContext {
  readonly id: string;
  readonly timeScale: TimeScale;
  /** seeded stream of this fault (seed + id) */
  readonly rng: Prng;
  emit(e: Omit<EventInput, 'source' | 'kind'>): void;
  /** proxy-wide freeze of the given directions; false when a stall is already running */
  stall(req: StallRequest): boolean;
  /** proxy-wide: keep reading but hold writes in these directions until real ms `durationMs` from now */
  hold(directions: ReadonlySet<Direction>, durationMs: number): void;
  connections(): ConnectionHandle[];
  /** a timer that is cleared when the fault is removed */
  setTimer(fn: () => void, realMs: number): void;
}

export interface FaultInstance {
  readonly id: string;
  readonly kind: FaultSpec['kind'];
  /** the normalized spec (durations as given; what the API returns) */
  readonly spec: FaultSpec;
  readonly directions: ReadonlySet<Direction>;
  /** flows in these directions forward whole records while this fault is installed */
  readonly needsRecords: boolean;
  /** times the fault acted */
  fired: number;
  /** the proxy has installed this fault (it is in the flows' hook lists): a fault that acts on installation acts now */
  installed?(): void;
  /** a chunk was read; it is valid only during the call (the relay may read into the same memory again) */
  onChunk?(site: HookSite, chunk: Buffer): void;
  onRecord?(site: HookSite, rec: RecordInfo): void;
  plan?(plan: UnitPlan): void;
  /** a connection closed (per-connection state can be dropped) */
  onClose?(connId: number): void;
  /** timers are cleared by the proxy; this is for anything else */
  stop?(): void;
}

/** Builds a live fault from its spec (the spec's keys were checked against the kind's FaultKeys first). */
export type FaultFactory<S extends FaultSpecBase & { kind: string } = FaultSpec> = (spec: S, ctx: FaultContext) => FaultInstance;

/** A spec key a fault kind may read (every spec has `kind` and may have `id`). */
export type FaultKey<S> = Exclude<keyof S, 'kind' | 'id'>;

/** The keys a kind reads: one it does not read is refused rather than ignored, a missing required one named. */
export interface FaultKeys<S> {
  readonly required: ReadonlyArray<FaultKey<S>>;
  readonly optional: ReadonlyArray<FaultKey<S>>;
}

/** One fault kind, one file under netem/faults/: the keys its spec takes and its factory. */
export interface FaultDef<S extends FaultSpecBase & { kind: string }> {
  readonly keys: FaultKeys<S>;
  readonly create: FaultFactory<S>;
}
