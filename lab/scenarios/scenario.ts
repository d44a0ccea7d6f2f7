// The scenario contract: what the netem proxy does to the seed's traffic, and anything else that happens while the
// run goes (a server restart). One file per scenario; lab/scenarios/index.ts lists them in a typed table, as
// client/policies/ and netem/faults/ do. The orchestrator (lab/repro.ts) owns sockets, processes and teardown.
import type { Logger } from '../../core/log';
import type { FaultSpec, Proxy, ResumePolicy } from '../../netem';
import type { RunningServer } from '../../server';

/** What a scenario's faults are made from: the run's seed and stall schedule. */
export interface ScenarioParams {
  seed: number;
  /** modelled stall duration ("65s") */
  stall: string;
  /** stall every N packets (1448-byte units) of client->server traffic */
  every: number;
  /** how a stall ends: together (held) or backoff (dropped) */
  resume: ResumePolicy;
  /** WRITE calls the run makes (count x ceil(blockSize / wsize)) */
  writeCalls: number;
}

/** What a scenario's extra actions may act on, once the server and proxy listen. */
export interface ScenarioRun {
  readonly proxy: Proxy;
  /** Closes the server and starts it again on the same port: same export, empty DRC, new write verifier. */
  restartServer(): Promise<RunningServer>;
  step(line: string): void;
  readonly log: Logger;
}

/** Actions a scenario started; the orchestrator stops them when the write loop ends, before the server stops. */
export interface ScenarioActions {
  /** Removes every listener and waits for an action still in flight. */
  stop(): Promise<void>;
  /** What the actions did, as summary lines. */
  summary(): string[];
}

export interface Scenario {
  /** One line for --help and the README. */
  readonly description: string;
  /**
   * True when the scenario keeps the relay busy rather than waiting on stalls (drop-reply relays 8 MiB flat out):
   * the matrix runs at most one such cell at a time (lab/matrix.ts CellQueue), since several at once on 2 cores
   * delay WRITE replies past the scaled timeo and fire retransmissions the scenario does not model.
   */
  readonly cpuBound: boolean;
  /** The proxy's faults for this run. */
  faults(p: ScenarioParams): FaultSpec[];
  /** Extra actions during the run (optional). */
  start?(run: ScenarioRun): ScenarioActions;
}
