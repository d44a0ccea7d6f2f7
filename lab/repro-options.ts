// What a reproduction run is started with: the options, the seed's numbers, the embedded defaults and the DRC
// modes the reproduction names. Kept apart from lab/repro.ts so readers of the vocabulary (the CLI, the results
// database, the matrix) do not load the orchestration.
import { ConfigError } from '../core/errors';
import type { Logger } from '../core/log';
import { POLICY_NAMES, type PolicyName } from '../client/policies';
import { DEADBEEF } from '../core/pattern';
import { DRC_MODES, type DrcMode as DrcModeName } from '../server/drc/config';
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
  timeo: string;
  retrans: number;
  /** modelled time the scribble stays in the buffer before the next refill (makes late bytes read 0xdeadbeef) */
  scribbleHold: string;
  scribble: number;
  logger?: Logger;
  /** called with progress lines (human) */
  onStep?(line: string): void;
  /** called after every completed write() of the testbed client (a progress bar) */
  onProgress?(writes: number, totalWrites: number): void;
  matrixId?: string;
}

/**
 * Embedded defaults: the seed's scenario at 1/500 of real time (a 65 s stall lasts 130 ms). 8 writes of 1 MiB, 4 in
 * flight, are enough to fill the loopback socket buffers behind a stall so that queued duplicates wait in Node's
 * write queue holding references to the caller's Buffers. The scribble stays 45 s (modelled) before the next
 * refill: longer than the ~37 s a backoff resume keeps client->server traffic frozen after the reply got through
 * (Linux RTO 200 ms doubling: the first retransmission after a 65 s stall is at 102.2 s), so late bytes read
 * 0xdeadbeef as in the seed's pcap rather than the next block's counters.
 */
export const DEFAULTS: Omit<ReproOptions, 'outDir'> = {
  policy: 'no-cancel',
  drc: 'off',
  scenario: 'stall',
  seed: 1,
  timeScale: 0.002,
  blockSize: 1 << 20,
  count: 8,
  wsize: 64 << 10,
  inflight: 4,
  stall: SEED_NUMBERS.stall,
  every: SEED_NUMBERS.every,
  timeo: SEED_NUMBERS.timeo,
  retrans: SEED_NUMBERS.retrans,
  scribbleHold: '45s',
  scribble: DEADBEEF,
};

export function checkReproOptions(o: Partial<ReproOptions>): void {
  if (o.policy !== undefined && !(POLICY_NAMES as readonly string[]).includes(o.policy)) throw new ConfigError('BAD_POLICY', `policy must be one of ${POLICY_NAMES.join(', ')}`);
  if (o.drc !== undefined && !(DRC_MODES as readonly string[]).includes(o.drc)) throw new ConfigError('BAD_DRC', `drc must be one of ${DRC_MODES.join(', ')}`);
  if (o.scenario !== undefined && !(SCENARIO_NAMES as readonly string[]).includes(o.scenario)) throw new ConfigError('BAD_SCENARIO', `scenario must be one of ${SCENARIO_NAMES.join(', ')}`);
  for (const [k, v] of [['client', o.client], ['server', o.server]] as const) {
    if (v !== undefined && !(PEERS as readonly string[]).includes(v)) throw new ConfigError('BAD_PEER', `${k} must be one of ${PEERS.join(', ')}`);
  }
  // The restart is our server's (same port, same export, DRC lost); nfsd in a guest does not restart that way.
  if ((o.server === 'linux' || o.client === 'linux') && o.scenario === 'stall-restart') throw new ConfigError('BAD_SCENARIO', 'stall-restart needs our client and server (--client testbed --server testbed)');
}
