// The three witnesses of a reproduction run, each blind to the others: the client (its own count of transmissions
// that read a buffer already returned to the caller, and its lifecycle trace), the wire (the proxy's capture,
// inspected for retransmissions whose payload differs from the first copy) and the disk (the file read back,
// each corrupt block explained by a journal row of an executed WRITE that carried other bytes).
import diagnostics_channel from 'node:diagnostics_channel';
import fs from 'node:fs';
import { CHANNELS } from '../core/channels';
import { tracepointOf } from '../client/rpc/events';
import { onRpcCallEvents, type RpcCallEvent } from '../client/rpc/trace';
import { spread, type Spread } from '../core/stats';
import { hexXid } from '../client/rpc/xid';
import { inspectFiles } from '../captures';
import type { NetemEvent } from '../netem';
import { reachedFile, type JournalRow } from '../core/journal-schema';
import { payloadHash, type PayloadHashName } from '../core/payload-hash';
import { NFSPROC3 } from '../xdr/nfs3/constants';
import { fillPattern, verifyPattern, type CorruptBlock } from '../core/pattern';

/** One WRITE the server dealt with (CHANNELS.serverOp), on the client trace's clock (performance.now()). */
export interface ServerExec {
  xid: number;
  t: number;
  outcome: string;
}

/** Witness 1, the client: its WRITE lifecycle events (also written to trace.jsonl) and the server's executions. */
export interface ClientObserver {
  readonly trace: RpcCallEvent[];
  readonly serverExec: ServerExec[];
  /** performance.now() of the first late transmission, if any yet */
  readonly firstLateAt: number | undefined;
  /** Unsubscribes and closes the trace file. */
  stop(): Promise<void>;
}

export function observeClient(tracePath: string): ClientObserver {
  const trace: RpcCallEvent[] = [];
  let firstLateAt: number | undefined;
  const traceOut = fs.createWriteStream(tracePath);
  const unsubscribe = onRpcCallEvents((e) => {
    if (e.proc !== 'WRITE') return;
    trace.push(e);
    if (e.event === 'late-transmit') firstLateAt ??= e.t;
    traceOut.write(JSON.stringify({ ...e, tracepoint: tracepointOf(e) }) + '\n');
  });
  const serverExec: ServerExec[] = [];
  const onServerOp = (m: unknown) => {
    const e = m as { event: string; proc: string; xid: number; t: number };
    if (e.proc === 'WRITE') serverExec.push({ xid: e.xid, t: e.t, outcome: e.event });
  };
  diagnostics_channel.subscribe(CHANNELS.serverOp, onServerOp);
  return {
    trace,
    serverExec,
    get firstLateAt() {
      return firstLateAt;
    },
    async stop() {
      unsubscribe();
      diagnostics_channel.unsubscribe(CHANNELS.serverOp, onServerOp);
      await new Promise((r) => traceOut.end(r));
    },
  };
}

/**
 * Client timeouts that no fault of the proxy explains. A reply timer of d modelled ms waits d x scale real ms; a
 * timeout is explained when a stall of the proxy overlapped that wait or the proxy dropped or held a reply of that
 * XID during it (after the XID's previous timeout, before this one fired). Any other timeout means the machine itself (CPU contention: matrix --jobs, parallel tests,
 * a loaded host) delayed a reply by more than the scaled timeo: at time scale 0.002 a 120 ms hiccup is 60 modelled
 * seconds. Its retransmission is the machine's, not the scenario's, and under no-cancel or linux-2008 it can go out late with
 * scribbled bytes (a drop-reply cell "reproducing"): the verdict is then not the scenario's.
 */
export function unexplainedTimeouts(trace: readonly RpcCallEvent[], netemEvents: readonly NetemEvent[], proxyStarted: number, timeoModelMs: number): number {
  const stalls: Array<[number, number]> = [];
  const faulted = new Map<number, number[]>(); // xid -> times (performance.now()) a fault acted on its reply
  for (const e of netemEvents) {
    const t = proxyStarted + e.ms;
    if (e.event === 'stall-start') stalls.push([t, Infinity]);
    else if (e.event === 'stall-end' && stalls.length) stalls[stalls.length - 1][1] = t;
    const xid = (e as { xid?: unknown }).xid;
    if (typeof xid === 'number' && e.kind !== 'proxy') faulted.set(xid, [...(faulted.get(xid) ?? []), t]);
  }
  const timerModelMs = new Map<number, number>(); // xid -> the duration of its running reply timer
  // xid -> when its running timer was armed again (its previous timeout): a fault explains only the timeout whose
  // wait it fell in, so a later timeout of a call whose first reply was dropped (the machine delayed the reply to
  // the retransmission) is still the machine's. The first timer's wait is taken to start at the beginning: its
  // arming (the call's encode) is not in every trace, and no earlier reply of that XID exists to drop.
  const rearmed = new Map<number, number>();
  let n = 0;
  for (const e of trace) {
    if (e.event !== 'timeout') continue;
    const start = e.t - (timerModelMs.get(e.xid) ?? timeoModelMs) * e.scale;
    if (typeof e.nextTimeoutModelMs === 'number') timerModelMs.set(e.xid, e.nextTimeoutModelMs);
    const armed = rearmed.get(e.xid) ?? -Infinity;
    rearmed.set(e.xid, e.t);
    if ((faulted.get(e.xid) ?? []).some((f) => f >= armed && f <= e.t)) continue;
    if (stalls.some(([a, z]) => a <= e.t && z >= start)) continue;
    n++;
  }
  return n;
}

/** Witness 2, the wire. */
export interface WireWitness {
  findings?: Awaited<ReturnType<typeof inspectFiles>>;
  /** later transmissions of a WRITE XID on the client leg whose payload differs from the first */
  scribbledOnWire: number;
  /** of those, the ones that carried the scribble word itself */
  deadbeefOnWire: number;
  scribbledXids: Set<number>;
}

/**
 * Inspects the proxy's capture. It holds each call twice, client->proxy and proxy->server: only the client leg
 * (the connection to `proxyPort`) counts, so a copy is not counted once per leg.
 */
export async function wireWitness(capture: string, proxyPort: number | undefined, scribble: number): Promise<WireWitness> {
  const w: WireWitness = { scribbledOnWire: 0, deadbeefOnWire: 0, scribbledXids: new Set() };
  if (!fs.existsSync(capture)) return w;
  w.findings = await inspectFiles([capture]);
  for (const d of w.findings.differingDuplicates) {
    if (d.proc !== NFSPROC3.WRITE) continue;
    const later = d.transmissions.filter((t) => !t.equalToFirst && t.connection.endsWith(`:${proxyPort}`));
    if (later.length) {
      w.scribbledOnWire += later.length;
      w.deadbeefOnWire += later.filter((t) => t.pattern?.kind === 'fill32' && t.pattern.word === hexXid(scribble)).length;
      w.scribbledXids.add(Number(d.xid));
    }
  }
  return w;
}

export interface DiskInput {
  /** the file blktest wrote, inside the export */
  file: string;
  blockSize: number;
  /** the journal's WRITE rows */
  journalRows: readonly JournalRow[];
  /** how the journal identifies payloads (its meta payload_hash) */
  payloadHash: PayloadHashName;
  /** XIDs the wire witness saw scribbled */
  scribbledXids: ReadonlySet<number>;
}

/** Witness 3, the disk, with the server's journal as its explanation. */
export interface DiskWitness {
  /** executed WRITEs whose payload was not the pattern at their offset */
  executedScribbled: number;
  /** the XIDs of those executions */
  executedScribbledXids: Set<number>;
  /** whole blocks of the file that do not hold their pattern */
  corrupt: CorruptBlock[];
  /** of those, the ones inside an executed scribbled WRITE */
  explained: number;
  /** bytes of the file as it is on disk */
  bytes: number;
}

/**
 * Journal rows are hashed against the pattern at their range (cached per range); the file is read block by block
 * into one buffer and compared with the pattern of that block, and only differing blocks are looked at word by
 * word. Nothing the size of the file is held: the matrix ran this 72 times, and two file-sized Buffers a cell were
 * a sixth of what made its worker collect garbage (each full collection a pause in the lag the next cell reports).
 */
export function diskWitness(d: DiskInput): DiskWitness {
  let scratch = Buffer.alloc(0);
  const patternDigests = new Map<string, string>();
  const patternDigest = (off: number, count: number): string => {
    const key = `${off}+${count}`;
    let digest = patternDigests.get(key);
    if (digest === undefined) {
      if (scratch.length < count) scratch = Buffer.allocUnsafe(count);
      patternDigests.set(key, (digest = payloadHash(d.payloadHash, fillPattern(scratch.subarray(0, count), off))));
    }
    return digest;
  };
  const byXid = new Map<number, JournalRow[]>();
  for (const r of d.journalRows) {
    const rows = byXid.get(r.xid);
    if (rows) rows.push(r);
    else byXid.set(r.xid, [r]);
  }
  let executedScribbled = 0;
  const executedScribbledXids = new Set<number>();
  const scribbledRanges: Array<[number, number]> = [];
  for (const rows of byXid.values()) {
    for (const r of rows) {
      if (!reachedFile(r)) continue;
      if (rows.length < 2 && !d.scribbledXids.has(r.xid)) continue; // a lone transmission carries what was sent first
      const off = Number(r.offset ?? 0);
      if (r.data_hash !== patternDigest(off, r.count ?? 0)) {
        executedScribbled++;
        executedScribbledXids.add(r.xid);
        scribbledRanges.push([off, off + (r.count ?? 0)]);
      }
    }
  }
  // Whole blocks only (a short tail is reported as a short file).
  const { corrupt, bytes } = corruptBlocks(d.file, d.blockSize);
  const explained = corrupt.filter((b) => scribbledRanges.some(([a, z]) => b.firstBadOffset >= a && b.firstBadOffset < z)).length;
  return { executedScribbled, executedScribbledXids, corrupt, explained, bytes };
}

/** The file's whole blocks that do not hold the pattern, read one block at a time; and the file's size. */
function corruptBlocks(file: string, blockSize: number): { corrupt: CorruptBlock[]; bytes: number } {
  const corrupt: CorruptBlock[] = [];
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { corrupt, bytes: 0 };
    throw e;
  }
  try {
    const bytes = fs.fstatSync(fd).size;
    const block = Buffer.allocUnsafe(blockSize);
    const want = Buffer.allocUnsafe(blockSize);
    for (let at = 0; at + blockSize <= bytes; at += blockSize) {
      for (let got = 0; got < blockSize; ) {
        const n = fs.readSync(fd, block, got, blockSize - got, at + got);
        if (n === 0) throw new Error(`${file} ended at ${at + got} bytes, under the ${bytes} it had`);
        got += n;
      }
      if (!block.equals(fillPattern(want, at))) corrupt.push(...verifyPattern(block, at, blockSize));
    }
    return { corrupt, bytes };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * What time compression does to a run, in modelled seconds: how long after completion each late transmission
 * left (the seed: 0.04 s), how old the DRC entry was when each duplicate reached the server (the original's
 * execution to the duplicate's arrival; nfsd forgets after 120 s), and how late this thread's timers fired, which
 * every modelled duration silently absorbs (a warning above 1% of the DRC expiry).
 */
export interface TimingWitness {
  lateAfterCompleteS?: Spread;
  /** every duplicate WRITE that reached the server */
  drcAgeS?: Spread;
  /** the duplicates of XIDs whose later copies differed on the wire (the scribbled ones) */
  drcAgeScribbledS?: Spread;
  /** what the server did with those duplicates (executed, replayed, payload-miss-executed, dropped-in-progress ...) */
  scribbledOutcomes: Record<string, number>;
  /** the event loop's timer lag (p99, max), modelled seconds */
  lagModelS: { p99: number; max: number };
  drcExpiryS: number;
  /** p99 lag above 1% of the DRC expiry: real processing is not negligible against the modelled timers */
  lagWarning: boolean;
  /** stalls the proxy started, and how many had started when the client first read a returned buffer */
  stalls: number;
  stallsToReproduce?: number;
}

export interface TimingInput {
  lateAfterCompleteModelMs: readonly number[];
  serverExec: readonly ServerExec[];
  scribbledXids: ReadonlySet<number>;
  lagRealMs: { p99: number; max: number };
  timeScale: number;
  drcExpiryModelMs: number;
  /** stall-start times, performance.now() */
  stallStarts: readonly number[];
  firstLateAt?: number;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const roundSpread = (s: Spread | undefined) => s && { n: s.n, min: round3(s.min), median: round3(s.median), max: round3(s.max) };

export function timingWitness(i: TimingInput): TimingWitness {
  const first = new Map<number, number>();
  const ages: number[] = [];
  const scribbledAges: number[] = [];
  const scribbledOutcomes: Record<string, number> = {};
  for (const e of [...i.serverExec].sort((a, b) => a.t - b.t)) {
    const t0 = first.get(e.xid);
    if (t0 === undefined) {
      first.set(e.xid, e.t);
      continue;
    }
    const age = (e.t - t0) / i.timeScale / 1000;
    ages.push(age);
    if (i.scribbledXids.has(e.xid)) {
      scribbledAges.push(age);
      scribbledOutcomes[e.outcome] = (scribbledOutcomes[e.outcome] ?? 0) + 1;
    }
  }
  const lagModelS = { p99: round3(i.lagRealMs.p99 / i.timeScale / 1000), max: round3(i.lagRealMs.max / i.timeScale / 1000) };
  const drcExpiryS = i.drcExpiryModelMs / 1000;
  return {
    lateAfterCompleteS: roundSpread(spread(i.lateAfterCompleteModelMs.map((ms) => ms / 1000))),
    drcAgeS: roundSpread(spread(ages)),
    drcAgeScribbledS: roundSpread(spread(scribbledAges)),
    scribbledOutcomes,
    lagModelS,
    drcExpiryS,
    lagWarning: lagModelS.p99 > drcExpiryS / 100,
    stalls: i.stallStarts.length,
    ...(i.firstLateAt !== undefined ? { stallsToReproduce: i.stallStarts.filter((t) => t <= i.firstLateAt!).length } : {}),
  };
}

export function formatSpread(s: Spread | undefined, unit = 's'): string {
  if (!s) return 'none';
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(3));
  return s.n === 1 ? `${f(s.min)} ${unit}` : `${f(s.min)} / ${f(s.median)} / ${f(s.max)} ${unit} (min / median / max of ${s.n})`;
}
