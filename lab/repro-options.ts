// What a reproduction run is started with: the options, the seed's numbers, the embedded defaults and the DRC
// modes the reproduction names. Kept apart from lab/repro.ts so readers of the vocabulary (the CLI, the results
// database, the matrix) do not load the orchestration.
import { ConfigError } from '../core/errors';
import type { Logger } from '../core/log';
import { POLICY_NAMES, type PolicyName } from '../client/policies';
import { DEADBEEF } from '../core/pattern';
import type { Backoff } from '../client/rpc/timeout';
import type { ResumePolicy } from '../netem';
import { DRC_MODES, DRC_PRUNES, type DrcMode as DrcModeName, type DrcPrune } from '../server/drc/config';
import { SCENARIO_NAMES, type ScenarioName } from './scenarios';

// The DRC modes are the server's own vocabulary (server/drc/config.ts), one list for server, repro, matrix and DB.
export { DRC_MODES, type DrcMode as DrcModeName } from '../server/drc/config';

/** The seed's numbers (shared/seeds/000): a 65 s stall every 1000 packets, timeo 60 s, retrans 2. */
export const SEED_NUMBERS = { stall: '65s', every: 1000, timeo: '60s', retrans: 2 } as const;

/**
 * The server's slowloris guard closes a connection whose record stays incomplete for 2 modelled minutes. A stall
 * leaves a WRITE record half-sent for 65 s + the ~37 s backoff lag = 102 s: only 18 modelled seconds (36 ms at time
 * scale 0.002) from that limit, which CPU contention (matrix --jobs, a loaded machine) can eat; the server then
 * resets the connection, the queued duplicates die with it and the run no longer shows the seed's bug. Linux
 * nfsd, the seed's server, has no such per-record timer (only the 6 minute idle aging of temporary
 * connections), so the reproduction uses the idle limit for both.
 */
export const SEED_SERVER_LIMITS = { recordTimeout: '6m', idleTimeout: '6m' } as const;

/**
 * Who plays each side: `testbed` (our client with `policy`, our server with `drc`) or `linux`, the real kernel
 * client or nfsd in a QEMU guest (lab/linux/). A run's record names them in its policy and DRC columns:
 * policy `linux` and drc `linux-nfsd`, beside our policies and DRC modes.
 */
export const PEERS = ['testbed', 'linux'] as const;
export type PeerName = (typeof PEERS)[number];
export const LINUX_CLIENT_AXIS = 'linux';
export const LINUX_SERVER_AXIS = 'linux-nfsd';

export interface ReproOptions {
  policy: PolicyName;
  drc: DrcModeName;
  /**
   * when our server's expired entries stop answering (server/drc/config.ts DRC_PRUNES); absent: the mode's era
   * (MODE_ERA: bucket for the checksum modes, nfsd since 4.20; lookup for xid)
   */
  drcPrune?: DrcPrune;
  /** default testbed */
  client?: PeerName;
  server?: PeerName;
  /** the guests' kernel (default Debian's linux-image-cloud-amd64) and its modules folder */
  kernel?: string;
  modules?: string;
  scenario: ScenarioName;
  seed: number;
  /** every modelled duration is multiplied by this; 1 = the seed's real time */
  timeScale: number;
  /** folder for export, journal, capture, trace (created) */
  outDir: string;
  blockSize: number;
  count: number;
  wsize: number;
  inflight: number;
  /** modelled stall duration ("65s") */
  stall: string;
  /** stall every N packets (1448-byte units) of client->server traffic */
  every: number;
  /** how a stall ends (netem): together (held, as the seed's NFQUEUE) or backoff (dropped: each sender's RTO) */
  resume: ResumePolicy;
  timeo: string;
  retrans: number;
  /** how NFS fills the client's struct rpc_timeout: linear (today) or exponential (2.6.18, the seed's kernel) */
  backoff: Backoff;
  /** modelled time the scribble stays in the buffer before the next refill (makes late bytes read 0xdeadbeef) */
  scribbleHold: string;
  /**
   * 0: write `count` blocks once. N > 0 (scenarios that stall): keep writing over the `count` blocks until the
   * client's first late transmission (then finish what is in flight) or until the proxy has stalled N times.
   */
  maxStalls: number;
  scribble: number;
  logger?: Logger;
  /** called with progress lines (human) */
  onStep?(line: string): void;
  /** called after every completed write() of the testbed client (a progress bar) */
  onProgress?(writes: number, totalWrites: number): void;
  matrixId?: string;
}

/**
 * Embedded defaults, chosen so that the model's own processing stays small against the modelled timers (README
 * "Time compression"):
 * - time scale 1/50: a 65 s stall lasts 1.3 s; 1 ms of event-loop lag is 0.05 modelled s, against nfsd's 120 s DRC
 *   expiry (the summary warns when the p99 lag passes 1% of it);
 * - one RPC per write() as in the seed (its write() was one 8 KiB WRITE, so the RPC's completion was write()'s
 *   return), 16 write()s in flight as 2.6.18's RPC slot table (xprt_tcp_slot_table_entries), 512 KiB each: Node
 *   hands the kernel a copy of what fits in its socket buffers (about 4 MiB on loopback), so a duplicate still
 *   references the caller's Buffer only when more than that is queued behind a stall (Linux referenced the pages
 *   in the whole socket; 8 KiB RPCs here would cost 64x the calls per byte, and their lag enters modelled time);
 * - held stalls (the seed's NFQUEUE program) and 2.6.18's exponential timer backoff;
 * - up to 16 stalls (21 s of stalling at this scale) until the first reproduction.
 * The scribble stays 2 s (modelled) before the next refill: the late copy leaves tens of milliseconds after
 * completion (the seed: 0.04 s), so late bytes read 0xdeadbeef as in the seed's pcap.
 */
export const DEFAULTS: Omit<ReproOptions, 'outDir'> = {
  policy: 'linux-2008',
  drc: 'off',
  scenario: 'stall',
  seed: 1,
  timeScale: 0.02,
  blockSize: 512 << 10,
  count: 32,
  wsize: 512 << 10,
  inflight: 16,
  stall: SEED_NUMBERS.stall,
  every: SEED_NUMBERS.every,
  resume: 'together',
  backoff: 'exponential',
  timeo: SEED_NUMBERS.timeo,
  retrans: SEED_NUMBERS.retrans,
  scribbleHold: '2s',
  maxStalls: 16,
  scribble: DEADBEEF,
};

/**
 * The matrix screens 72 cells within a minute: each writes 16 blocks once (about 9 stalls) at 1/250 of real time.
 * 1 ms of lag is 0.25 modelled s there; each cell reports it beside its DRC ages, and the README's DRC conclusions
 * rest on repro's defaults and a --time-scale 0.05 check instead.
 */
export const MATRIX_DEFAULTS = { timeScale: 0.004, maxStalls: 0, count: 16 } as const;

export function checkReproOptions(o: Partial<ReproOptions>): void {
  if (o.policy !== undefined && !(POLICY_NAMES as readonly string[]).includes(o.policy)) throw new ConfigError('BAD_POLICY', `policy must be one of ${POLICY_NAMES.join(', ')}`);
  if (o.drc !== undefined && !(DRC_MODES as readonly string[]).includes(o.drc)) throw new ConfigError('BAD_DRC', `drc must be one of ${DRC_MODES.join(', ')}`);
  if (o.drcPrune !== undefined && !(DRC_PRUNES as readonly string[]).includes(o.drcPrune)) throw new ConfigError('BAD_DRC', `drc prune must be one of ${DRC_PRUNES.join(', ')}`);
  if (o.scenario !== undefined && !(SCENARIO_NAMES as readonly string[]).includes(o.scenario)) throw new ConfigError('BAD_SCENARIO', `scenario must be one of ${SCENARIO_NAMES.join(', ')}`);
  for (const [k, v] of [['client', o.client], ['server', o.server]] as const) {
    if (v !== undefined && !(PEERS as readonly string[]).includes(v)) throw new ConfigError('BAD_PEER', `${k} must be one of ${PEERS.join(', ')}`);
  }
  // The restart is our server's (same port, same export, DRC lost); nfsd in a guest does not restart that way.
  if ((o.server === 'linux' || o.client === 'linux') && o.scenario === 'stall-restart') throw new ConfigError('BAD_SCENARIO', 'stall-restart needs our client and server (--client testbed --server testbed)');
}
