// The reproduction: our server (journal on), the netem proxy with the scenario's faults (capturing both legs) and
// the blktest loop, over real loopback TCP; then three independent witnesses — the client's own count of late
// transmissions, the capture (inspect), and the file on disk (plus the journal of what the server executed).
import diagnostics_channel from 'node:diagnostics_channel';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { CHANNELS } from '../core/channels';
import { ConfigError } from '../core/errors';
import { silentLogger, type Logger } from '../core/log';
import { parseDuration } from '../core/units';
import { runBlktest, type BlktestResult } from '../client/blktest';
import { POLICY_NAMES, type PolicyName } from '../client/policies';
import { onRpcCallEvents, type RpcCallEvent } from '../client/rpc/trace';
import { hexXid } from '../client/rpc/xid';
import { inspectFiles } from '../captures';
import { createProxy, type FaultSpec, type NetemEvent, type Proxy } from '../netem';
import { startServer, type RunningServer } from '../server';
import { fillPattern, verifyPattern, DEADBEEF, type CorruptBlock } from './pattern';
import { NFSPROC3 } from '../xdr/nfs3/constants';
import { Prng } from '../core/prng';
import type { RunCounters, RunRecord, Timeline, TimelineEvent, TimelineKind, Verdict } from './run-record';

export const SCENARIOS = ['stall', 'stall-restart', 'drop-reply'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export const DRC_MODES = ['off', 'xid', 'checksum-256', 'checksum-all'] as const;
export type DrcModeName = (typeof DRC_MODES)[number];

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

export interface ReproOptions {
  policy: PolicyName;
  drc: DrcModeName;
  scenario: Scenario;
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
  policy: 'zero-copy',
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

export interface ReproResult {
  record: RunRecord;
  blktest?: BlktestResult;
  /** one affected XID's events in the seed's tap format */
  tap: string[];
  /** the Wireshark decode-as hint for the capture */
  decodeAs: string;
  /** wall milliseconds spent in each phase of the run (where the time goes; bench/repro.ts reports them) */
  phases: ReproPhases;
}

export interface ReproPhases {
  /** server and proxy started */
  start: number;
  /** blktest: mount, the write loop (stalls), read-back verify */
  blktest: number;
  /** proxy closed, journal flushed, server closed */
  stop: number;
  /** the capture inspected */
  inspect: number;
  /** journal and disk checked, record built */
  judge: number;
}

function drcConfig(mode: DrcModeName): Record<string, unknown> {
  switch (mode) {
    case 'off':
      return { mode: 'off' };
    case 'xid':
      return { mode: 'xid' };
    case 'checksum-256':
      return { mode: 'checksum', csumBytes: 256 };
    case 'checksum-all':
      return { mode: 'checksum', csumBytes: 'all' };
  }
}

export function checkReproOptions(o: Partial<ReproOptions>): void {
  if (o.policy !== undefined && !(POLICY_NAMES as readonly string[]).includes(o.policy)) throw new ConfigError('BAD_POLICY', `policy must be one of ${POLICY_NAMES.join(', ')}`);
  if (o.drc !== undefined && !(DRC_MODES as readonly string[]).includes(o.drc)) throw new ConfigError('BAD_DRC', `drc must be one of ${DRC_MODES.join(', ')}`);
  if (o.scenario !== undefined && !(SCENARIOS as readonly string[]).includes(o.scenario)) throw new ConfigError('BAD_SCENARIO', `scenario must be one of ${SCENARIOS.join(', ')}`);
}

/** The proxy faults of a scenario. drop-reply picks which WRITE replies to swallow from the seed. */
export function scenarioFaults(o: ReproOptions, writeCalls: number): FaultSpec[] {
  const stall: FaultSpec = { kind: 'stall', id: 'seed-stall', duration: o.stall, every: o.every, unit: 'packets', direction: 'both', resume: 'backoff' };
  if (o.scenario !== 'drop-reply') return [stall];
  const rng = new Prng(o.seed);
  const nth = new Set<number>();
  const want = Math.min(3, writeCalls);
  while (nth.size < want) nth.add(1 + Math.floor(rng.next() * writeCalls));
  return [{ kind: 'drop-reply', id: 'drop-writes', call: { proc: 'WRITE', nth: [...nth].sort((a, b) => a - b) } }];
}


const TRACE_TO_TIMELINE: Record<string, TimelineKind | undefined> = {
  'transmit-done': 'transmit',
  timeout: 'timeout',
  'retransmit-queued': 'retransmit-queued',
  reply: 'reply',
  complete: 'complete',
  scribble: 'scribble',
  'late-transmit': 'late-transmit',
};

export async function runRepro(opts: ReproOptions): Promise<ReproResult> {
  checkReproOptions(opts);
  const o = opts;
  const log = o.logger ?? silentLogger;
  const step = o.onStep ?? (() => undefined);
  const runId = path.basename(o.outDir);
  fs.mkdirSync(o.outDir, { recursive: true });
  const exportDir = path.join(o.outDir, 'export');
  fs.rmSync(exportDir, { recursive: true, force: true });
  fs.mkdirSync(exportDir);
  const journalPath = path.join(o.outDir, 'journal.sqlite');
  for (const f of [journalPath, journalPath + '-wal', journalPath + '-shm']) fs.rmSync(f, { force: true });
  const capture = path.join(o.outDir, 'capture.pcap');
  const tracePath = path.join(o.outDir, 'trace.jsonl');
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const mark = phaseClock(t0);
  // How late this thread's timers fire while the scenario runs: CPU contention (a loaded machine, matrix --jobs)
  // stretches every time-scaled duration by about this much, which the modelled numbers do not show.
  const timerLag = monitorEventLoopDelay({ resolution: 10 });
  timerLag.enable();

  // --- observers: the client's lifecycle trace and the server's executions, on one clock ---
  const trace: RpcCallEvent[] = [];
  const traceOut = fs.createWriteStream(tracePath);
  const unsubscribe = onRpcCallEvents((e) => {
    if (e.proc !== 'WRITE') return;
    trace.push(e);
    traceOut.write(JSON.stringify(e) + '\n');
  });
  const serverExec: Array<{ xid: number; t: number; outcome: string }> = [];
  const onServerOp = (m: unknown) => {
    const e = m as { event: string; proc: string; xid: number; t: number };
    if (e.proc === 'WRITE') serverExec.push({ xid: e.xid, t: e.t, outcome: e.event });
  };
  diagnostics_channel.subscribe(CHANNELS.serverOp, onServerOp);

  const stateDir = path.join(o.outDir, 'state');
  const serverOpts = { exportDir, journal: journalPath, drc: drcConfig(o.drc), timeScale: o.timeScale, logger: log, stateDir, limits: SEED_SERVER_LIMITS };
  let server: RunningServer | undefined;
  let proxy: Proxy | undefined;
  let blk: BlktestResult | undefined;
  let error: string | undefined;
  let restarts = 0;
  try {
    server = await startServer(serverOpts);
    const serverPort = server.address.port;
    const writeCalls = o.count * Math.ceil(o.blockSize / o.wsize);
    proxy = await createProxy({ name: 'seed', upstream: server.address, timeScale: o.timeScale, seed: o.seed, faults: scenarioFaults(o, writeCalls), capture });
    mark('start');
    step(`server nfs=127.0.0.1:${serverPort} drc=${o.drc}; netem ${proxy.address.host}:${proxy.address.port} (${o.scenario}); capture ${capture}`);

    if (o.scenario === 'stall-restart') {
      // Seed 003 in miniature: the server restarts during the first stall and loses its DRC.
      const px = proxy;
      const off = px.log.on((e: NetemEvent) => {
        if (e.event !== 'stall-start' || restarts > 0) return;
        restarts++;
        void (async () => {
          await server!.close();
          server = await restartOnPort(serverOpts, serverPort);
          step(`server restarted during the stall (verifier ${server.verifier.toString('hex')})`);
        })().catch((err) => log.log('error', 'restart failed', { err: String(err) }));
      });
      void off;
    }

    blk = await runBlktest({
      host: proxy.address.host,
      port: proxy.address.port,
      exportPath: '/export',
      file: 'blktest.dat',
      blockSize: o.blockSize,
      count: o.count,
      wsize: o.wsize,
      inflight: o.inflight,
      stable: 'unstable',
      policy: o.policy,
      scribble: o.scribble,
      scribbleHoldMs: parseDuration(o.scribbleHold, 'scribble hold'),
      timeo: parseDuration(o.timeo, 'timeo'),
      retrans: o.retrans,
      timeScale: o.timeScale,
      seed: o.seed,
      logger: log,
      beforeVerify: async () => {
        // The write loop is over: lift the faults so the read-back is not stalled.
        for (const f of proxy!.faults()) proxy!.removeFault(f.id);
      },
    });
    step(`blktest: ${blk.writes} writes, ${blk.retransmissions} retransmissions, ${blk.lateTransmissions} late transmissions, ${blk.corruptBlocks} corrupt blocks read back`);
  } catch (err) {
    error = (err as Error)?.message ?? String(err);
    log.log('error', 'repro failed', { err: error });
  }
  mark('blktest');
  timerLag.disable();
  const netemEvents = proxy ? [...proxy.log.events] : [];
  const proxyStarted = proxy ? proxy.log.started : t0;
  const proxyPort = proxy?.address.port;
  await proxy?.close().catch(() => undefined);
  await server?.flushJournal().catch(() => undefined);
  const journalRows = server?.journal ? server.journal.query({ proc: 'WRITE', limit: 1_000_000 }) : [];
  const drcStats = server?.stats().drc;
  await server?.close().catch(() => undefined);
  unsubscribe();
  diagnostics_channel.unsubscribe(CHANNELS.serverOp, onServerOp);
  await new Promise((r) => traceOut.end(r));
  mark('stop');

  // --- witness 2: the wire (client leg of the proxy's capture) ---
  let findings: Awaited<ReturnType<typeof inspectFiles>> | undefined;
  let scribbledOnWire = 0;
  let deadbeefOnWire = 0;
  const scribbledXids = new Set<number>();
  if (fs.existsSync(capture)) {
    findings = await inspectFiles([capture]);
    for (const d of findings.differingDuplicates) {
      // Client leg only: the proxy's capture shows each call twice, client->proxy and proxy->server.
      if (d.proc !== NFSPROC3.WRITE) continue;
      const later = d.transmissions.filter((t) => !t.equalToFirst && t.connection.endsWith(`:${proxyPort}`));
      if (later.length) {
        scribbledOnWire += later.length;
        deadbeefOnWire += later.filter((t) => t.pattern?.kind === 'fill32' && t.pattern.word === hexXid(o.scribble)).length;
        scribbledXids.add(Number(d.xid));
      }
    }
  }

  mark('inspect');

  // --- witness 3: the server's journal and the file on disk ---
  // The pattern of the file as far as it exists, built once: journal rows are hashed against its slices (cached
  // per range), disk blocks compared with it; only differing blocks are looked at word by word.
  const expectedBytes = o.count * o.blockSize;
  const filePath = path.join(exportDir, 'blktest.dat');
  const disk = fs.existsSync(filePath) ? fs.readFileSync(filePath) : Buffer.alloc(0);
  const pattern = fillPattern(Buffer.allocUnsafe(Math.floor(Math.min(disk.length, expectedBytes) / o.blockSize) * o.blockSize), 0);
  const patternDigests = new Map<string, string>();
  const patternDigest = (off: number, count: number): string => {
    const key = `${off}+${count}`;
    let d = patternDigests.get(key);
    if (d === undefined) {
      const want = off + count <= pattern.length ? pattern.subarray(off, off + count) : fillPattern(Buffer.allocUnsafe(count), off);
      patternDigests.set(key, (d = crypto.createHash('sha256').update(want).digest('hex')));
    }
    return d;
  };
  const byXid = new Map<number, typeof journalRows>();
  for (const r of journalRows) {
    const rows = byXid.get(r.xid);
    if (rows) rows.push(r);
    else byXid.set(r.xid, [r]);
  }
  let executedScribbled = 0;
  const scribbledRanges: Array<[number, number]> = [];
  for (const rows of byXid.values()) {
    for (const r of rows) {
      if (!(r.outcome === 'executed' || r.outcome === 'payload-miss-executed') || r.status !== 0) continue;
      if (rows.length < 2 && !scribbledXids.has(r.xid)) continue; // a lone transmission carries what was sent first
      const off = Number(r.offset ?? 0);
      if (r.data_sha256 !== patternDigest(off, r.count ?? 0)) {
        executedScribbled++;
        scribbledRanges.push([off, off + (r.count ?? 0)]);
      }
    }
  }
  // Whole blocks only (a short tail is reported as a short file).
  const diskCorrupt: CorruptBlock[] = [];
  for (let b = 0; (b + 1) * o.blockSize <= disk.length; b++) {
    const at = b * o.blockSize;
    const block = disk.subarray(at, at + o.blockSize);
    if (at + o.blockSize <= pattern.length && block.equals(pattern.subarray(at, at + o.blockSize))) continue;
    diskCorrupt.push(...verifyPattern(block, at, o.blockSize));
  }
  // Every corrupt block on disk should be explained by an executed WRITE that carried other bytes (the journal).
  const explained = diskCorrupt.filter((b) => scribbledRanges.some(([a, z]) => b.firstBadOffset >= a && b.firstBadOffset < z)).length;
  const missing = disk.length < expectedBytes && !error;
  fs.rmSync(exportDir, { recursive: true, force: true }); // the evidence is the capture, journal and trace

  const counters: RunCounters = {
    writes: blk?.writes ?? 0,
    bytes: blk?.bytes ?? 0,
    retransmissions: blk?.retransmissions ?? 0,
    lateTransmissions: blk?.lateTransmissions ?? 0,
    partialDuplicates: blk?.duplicatesFinished ?? 0,
    scribbledOnWire,
    executedScribbled,
    corruptBlocks: diskCorrupt.length,
    throughputMiBps: blk && blk.durationMs > 0 ? Math.round((blk.bytes / 2 ** 20 / (blk.durationMs / 1000)) * 10) / 10 : 0,
  };
  const verdict: Verdict = error ? 'error' : scribbledOnWire > 0 || counters.corruptBlocks > 0 || counters.lateTransmissions > 0 ? 'reproduced' : 'not-reproduced';

  // --- timeline: one row per affected XID ---
  const affected = new Set<number>([...(blk?.lateXids ?? []), ...scribbledXids]);
  if (affected.size === 0) for (const e of trace) if (e.event === 'retransmit-queued') affected.add(e.xid);
  const rowsXids = [...affected].sort((a, b) => a - b).slice(0, 16);
  const rel = (t: number) => Math.round((t - t0) * 1000) / 1000;
  const timeline: Timeline = {
    rows: rowsXids.map((xid) => {
      const events: TimelineEvent[] = [];
      for (const e of trace) {
        const kind = e.xid === xid ? TRACE_TO_TIMELINE[e.event] : undefined;
        if (kind) events.push({ t: rel(e.t), kind, ...(e.attempt !== undefined ? { detail: `attempt ${e.attempt}` } : {}) });
      }
      for (const s of serverExec) if (s.xid === xid && s.outcome.includes('executed')) events.push({ t: rel(s.t), kind: 'server-exec', detail: s.outcome });
      events.sort((a, b) => a.t - b.t);
      return { xid: hexXid(xid), events };
    }),
    stalls: stallWindows(netemEvents, proxyStarted - t0),
    end: rel(performance.now()),
  };

  const summary: string[] = [];
  const xidList = [...scribbledXids].slice(0, 8).map(hexXid).join(' ');
  if (verdict === 'reproduced') {
    summary.push(
      `REPRODUCED — ${scribbledOnWire} retransmitted WRITE${scribbledOnWire === 1 ? '' : 's'} carried scribbled bytes on the wire` +
        (xidList ? ` (xids ${xidList}${scribbledXids.size > 8 ? ' …' : ''})` : '') +
        `, ${executedScribbled} executed by the server, ${counters.corruptBlocks} block${counters.corruptBlocks === 1 ? '' : 's'} corrupt on disk` +
        (diskCorrupt.length ? ` (offsets ${diskCorrupt.slice(0, 6).map((b) => b.offset).join(', ')}${diskCorrupt.length > 6 ? ' …' : ''})` : ''),
    );
  } else if (verdict === 'not-reproduced') {
    summary.push(`not reproduced — ${counters.retransmissions} retransmissions, 0 late transmissions, 0 scribbled bytes on the wire, 0 corrupt blocks`);
  } else summary.push(`error — ${error}`);
  if (scribbledOnWire) summary.push(`on the wire: ${deadbeefOnWire} of the ${scribbledOnWire} differing copies carried ${hexXid(o.scribble)} itself, the rest the buffer's next contents (another block's counters)`);
  if (diskCorrupt.length) summary.push(`journal: ${explained} of ${diskCorrupt.length} corrupt blocks lie inside an executed WRITE whose payload was not the pattern`);
  if (drcStats && drcStats.mode !== 'off')
    summary.push(`DRC (${o.drc}): ${drcStats.hits} replayed, ${drcStats.payloadMisses} payload misses executed, ${drcStats.expired} entries expired (120 s modelled), ${drcStats.inProgressDrops} in-progress drops`);
  if (counters.partialDuplicates) summary.push(`${counters.partialDuplicates} duplicate(s) were already partly written when the reply came and were finished from caller memory`);
  if (restarts) summary.push(`the server restarted during the stall (its DRC was lost)`);
  if (missing) summary.push(`the file on disk is short: ${disk.length} of ${expectedBytes} bytes`);

  const record: RunRecord = {
    runId,
    ...(o.matrixId ? { matrixId: o.matrixId } : {}),
    startedAt,
    durationMs: Math.round(performance.now() - t0),
    version: (require('../../package.json') as { version: string }).version,
    config: {
      policy: o.policy,
      drc: o.drc,
      scenario: o.scenario,
      seed: o.seed,
      timeScale: o.timeScale,
      timeo: o.timeo,
      retrans: o.retrans,
      stall: { duration: o.stall, every: o.every, unit: 'packets', resume: 'backoff' },
      blockSize: o.blockSize,
      count: o.count,
      wsize: o.wsize,
      inflight: o.inflight,
      scribble: hexXid(o.scribble),
      scribbleHold: o.scribbleHold,
      serverLimits: SEED_SERVER_LIMITS,
    },
    verdict,
    counters,
    summary,
    capture,
    netemEvents,
    traceSummary: blk
      ? { transmissions: blk.transmissions, retransmissions: blk.retransmissions, lateTransmissions: blk.lateTransmissions, duplicatesCancelled: blk.duplicatesCancelled, duplicatesFinished: blk.duplicatesFinished, lateXids: blk.lateXids.map(hexXid), trace: tracePath }
      : {},
    findings: findings ?? {},
    witnesses: { lateTransmissions: counters.lateTransmissions, scribbledOnWire, deadbeefOnWire, executedScribbled, corruptBlocks: diskCorrupt.length, corruptExplainedByJournal: explained, drc: drcStats, timerLagMs: lagSummary(timerLag) },
    timeline,
    ...(error ? { error } : {}),
  };
  const tapXid = rowsXids.find((x) => scribbledXids.has(x)) ?? rowsXids[0];
  return { record, blktest: blk, tap: tapXid === undefined ? [] : tapLines(trace, serverExec, tapXid, t0, o.timeScale), decodeAs: `tcp.port==${proxyPort},rpc`, phases: mark('judge') };
}

/**
 * Timer lateness during the scenario, real ms (p99 and max; the 10 ms sampling timer itself is subtracted by
 * the histogram). Compare with the scaled timeo (120 ms at the default scale): lag of that order can fire
 * retransmissions the modelled scenario would not have.
 */
export interface TimerLag {
  p99: number;
  max: number;
}

function lagSummary(h: ReturnType<typeof monitorEventLoopDelay>): TimerLag {
  const ms = (ns: number) => (Number.isFinite(ns) ? Math.round(ns / 1e5) / 10 : 0);
  return { p99: ms(h.percentile(99)), max: ms(h.max) };
}

/** Accumulates wall time per phase: mark(p) charges the time since the previous mark to p. */
function phaseClock(t0: number): (phase: keyof ReproPhases) => ReproPhases {
  const phases: ReproPhases = { start: 0, blktest: 0, stop: 0, inspect: 0, judge: 0 };
  let last = t0;
  return (phase) => {
    const now = performance.now();
    phases[phase] += Math.round((now - last) * 10) / 10;
    last = now;
    return phases;
  };
}

/**
 * The restarted server must listen on the port the proxy forwards to. Between close and listen another run's
 * outgoing connection (matrix --jobs, or any process) may briefly hold it as its ephemeral port: retry a while.
 */
async function restartOnPort(opts: Parameters<typeof startServer>[0], port: number): Promise<RunningServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServer({ ...opts, port });
    } catch (err) {
      const code = (err as { code?: string })?.code;
      if ((code !== 'PORT_IN_USE' && code !== 'EADDRINUSE') || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Stall windows on the run's clock, from the proxy's events (ms since the proxy started). */
function stallWindows(events: NetemEvent[], offset: number): Timeline['stalls'] {
  const out: Timeline['stalls'] = [];
  let start: number | undefined;
  let downAt: number | undefined;
  for (const e of events) {
    const t = Math.round((e.ms + offset) * 1000) / 1000;
    if (e.event === 'stall-start') {
      start = t;
      downAt = undefined;
    } else if (e.event === 'release-downstream' && start !== undefined) downAt = t;
    else if (e.event === 'stall-end' && start !== undefined) {
      if (downAt !== undefined && downAt < t) {
        out.push({ start, end: downAt, direction: 'both' });
        out.push({ start: downAt, end: t, direction: 'upstream' });
      } else out.push({ start, end: t, direction: 'both' });
      start = undefined;
    }
  }
  return out;
}

/** One XID's events in the shape of seed 000's tap trace. */
function tapLines(trace: RpcCallEvent[], exec: Array<{ xid: number; t: number; outcome: string }>, xid: number, t0: number, scale: number): string[] {
  const evs = [
    ...trace.filter((e) => e.xid === xid).map((e) => ({ t: e.t, name: e.event + (e.kind ? ` (${e.kind})` : '') })),
    ...exec.filter((e) => e.xid === xid).map((e) => ({ t: e.t, name: `server ${e.outcome}` })),
  ].sort((a, b) => a.t - b.t);
  return evs.map((e, i) => `tap: ${i}/${evs.length} at ${((e.t - t0) / scale / 1000).toFixed(3)}s "${e.name}" xid=${hexXid(xid)}`);
}
