// The reproduction: our server (journal on), the netem proxy with the scenario's faults (capturing both legs) and
// the blktest loop, over real loopback TCP; then three independent witnesses (lab/witnesses.ts) and the report
// (lab/run-report.ts). This file only orchestrates: it starts the components, runs the write loop, stops them in
// order and hands what they saw to the witnesses. A scenario's faults and actions live in lab/scenarios/.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../core/log';
import { parseDuration } from '../core/units';
import { startTimerLag, type TimerLag } from '../core/timer-lag';
import { DEFAULT_PAYLOAD_HASH } from '../core/payload-hash';
import { runBlktest, type BlktestResult } from '../client/blktest';
import { hexXid } from '../client/rpc/xid';
import { createProxy, type FaultSpec, type FaultSpecOf, type Proxy } from '../netem';
import { startServer, type RunningServer } from '../server';
import { checkReproOptions, LINUX_CLIENT_AXIS, LINUX_SERVER_AXIS, SEED_SERVER_LIMITS, type ReproOptions } from './repro-options';
import { runLinuxClient, type LinuxClientResult } from './linux/client';
import { LinuxNfsd, type ReplyCacheStats } from './linux/nfsd';
import { mount } from '../client/nfs3';
import { affectedXids, buildTimeline, judge, summaryLines, tapLines } from './run-report';
import type { RunCounters, RunError, RunRecord } from './run-record';
import { SCENARIOS, type ScenarioActions } from './scenarios';
import { diskWitness, observeClient, timingWitness, unexplainedTimeouts, wireWitness } from './witnesses';

export * from './repro-options';

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

const BLKTEST_FILE = 'blktest.dat';

/** A thrown value as the record stores it: the TestbedError code when it has one. */
function runError(err: unknown): RunError {
  const code = (err as { code?: unknown })?.code;
  return { code: typeof code === 'string' ? code : 'REPRO_FAILED', message: (err as Error)?.message ?? String(err) };
}

export async function runRepro(o: ReproOptions): Promise<ReproResult> {
  checkReproOptions(o);
  const log = o.logger ?? silentLogger;
  const step = o.onStep ?? (() => undefined);
  const scenario = SCENARIOS[o.scenario];
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
  const timerLag = startTimerLag(LAG_RESOLUTION_MS);
  const client = observeClient(tracePath);

  const serverOpts = { exportDir, journal: journalPath, drc: { mode: o.drc, ...(o.drcPrune ? { prune: o.drcPrune } : {}) }, timeScale: o.timeScale, logger: log, stateDir: path.join(o.outDir, 'state'), limits: SEED_SERVER_LIMITS };
  let server: RunningServer | undefined;
  let proxy: Proxy | undefined;
  let actions: ScenarioActions | undefined;
  let blk: BlktestResult | undefined;
  let error: RunError | undefined;
  const faults = scenario.faults({ seed: o.seed, stall: o.stall, every: o.every, resume: o.resume, writeCalls: o.count * Math.ceil(o.blockSize / o.wsize) });
  // The Linux peers (lab/linux/): the real kernel client and/or the real nfsd, each in a QEMU guest.
  let nfsd: LinuxNfsd | undefined;
  let nfsdBefore: ReplyCacheStats | undefined;
  let linuxRun: LinuxClientResult | undefined;
  try {
    let upstream: { host: string; port: number };
    if (o.server === 'linux') {
      // nfsd's max block size as large as our WRITEs, so that one write() stays one RPC as in the seed (the 1 GiB
      // guest's own default is 128 KiB: nfsd_get_default_max_blksize, 1/4096 of low memory).
      nfsd = await LinuxNfsd.start({ outDir: o.outDir, kernel: o.kernel, modules: o.modules, maxBlockSize: Math.min(o.wsize, 1 << 20) });
      nfsdBefore = await nfsd.replyCacheStats();
      upstream = { host: '127.0.0.1', port: nfsd.nfsPort };
      step(`linux nfsd ready nfs=127.0.0.1:${nfsd.nfsPort} mount=127.0.0.1:${nfsd.mountPort} (${nfsd.kernel}, max block ${nfsd.maxBlockSize})`);
    } else upstream = (server = await startServer(serverOpts)).address;
    const serverPort = upstream.port;
    if (o.client === 'linux') {
      mark('start');
      // The kernel's timers run in real time: its timeo is the scaled one, in deciseconds (at least 0.1 s).
      const timeo = Math.max(1, Math.round((parseDuration(o.timeo, 'timeo') * o.timeScale) / 100));
      linuxRun = await runLinuxClient({
        server: upstream,
        mountPort: nfsd?.mountPort,
        exportPath: '/export',
        file: BLKTEST_FILE,
        blockSize: o.blockSize,
        count: o.count,
        scribble: o.scribble,
        timeo,
        retrans: o.retrans,
        faults,
        timeScale: o.timeScale,
        seed: o.seed,
        kernel: o.kernel,
        modules: o.modules,
        outDir: o.outDir,
        onProgress: step,
      });
      step(`linux client: ${linuxRun.blktest.writes.length} writes, ${linuxRun.held.length} returned with bytes still in the socket, ${linuxRun.corruptBlocks} corrupt blocks read back (${linuxRun.network})`);
      throw SKIP_MODEL_CLIENT;
    }
    const px = (proxy = await createProxy({ name: 'seed', upstream, timeScale: o.timeScale, seed: o.seed, faults, capture }));
    mark('start');
    step(`server nfs=127.0.0.1:${serverPort} drc=${o.drc}; netem ${px.address.host}:${px.address.port} (${o.scenario}); capture ${capture}`);
    actions = scenario.start?.({
      proxy: px,
      step,
      log,
      restartServer: async () => {
        await server?.close();
        return (server = await restartOnPort(serverOpts, serverPort));
      },
    });
    // The seed's author "usually" saw it "in a matter of minutes": with --max-stalls the loop keeps cycling over
    // the file's blocks until the client's first late transmission, or until the proxy stalled that often.
    const untilReproduced = o.maxStalls > 0 && faults.some((f) => f.kind === 'stall');
    // The budget is exact: the stall faults go as the last allowed stall starts (that stall runs its course). Checked
    // only between writes, a stall triggered by the packets reinjected at the end of the last one (the proxy defers
    // it: netem/proxy.ts deferredStall) started before any write returned, one past the budget.
    if (untilReproduced) px.onEvent((e) => void (e.event === 'stall-start' && budgetSpent(px, o.maxStalls)));
    blk = await runBlktest({
      host: px.address.host,
      port: px.address.port,
      mountPort: nfsd?.mountPort,
      exportPath: '/export',
      file: BLKTEST_FILE,
      blockSize: o.blockSize,
      ...(untilReproduced
        ? { durationMs: Infinity, fileBlocks: o.count, stopWhen: () => client.firstLateAt !== undefined || budgetSpent(px, o.maxStalls) }
        : { count: o.count }),
      wsize: o.wsize,
      inflight: o.inflight,
      stable: 'unstable',
      policy: o.policy,
      scribble: o.scribble,
      scribbleHoldMs: parseDuration(o.scribbleHold, 'scribble hold'),
      timeo: parseDuration(o.timeo, 'timeo'),
      retrans: o.retrans,
      backoff: o.backoff,
      timeScale: o.timeScale,
      seed: o.seed,
      logger: log,
      onProgress: (writes) => o.onProgress?.(writes, o.count),
      beforeVerify: async () => {
        // The write loop is over: lift the faults so the read-back is not stalled.
        for (const f of px.faults()) px.removeFault(f.id);
      },
    });
    step(`blktest: ${blk.writes} writes, ${blk.retransmissions} retransmissions, ${blk.lateTransmissions} late transmissions, ${blk.corruptBlocks} corrupt blocks read back`);
  } catch (err) {
    if (err !== SKIP_MODEL_CLIENT) {
      error = runError(err);
      log.log('error', 'repro failed', { err: error.message, code: error.code });
    }
  }
  mark('blktest');
  const { p99, max } = timerLag.stop();
  const lag: TimerLag = { p99, max };

  // --- stop, in order: the scenario's actions (a restart in flight finishes), the proxy, then the server ---
  await actions?.stop();
  const netemEvents = proxy ? [...proxy.log.events] : linuxRun ? linuxRun.events : [];
  const proxyStarted = proxy ? proxy.log.started : t0;
  const proxyPort = proxy?.address.port ?? linuxRun?.proxyPort;
  await proxy?.close().catch(() => undefined);
  await server?.flushJournal().catch(() => undefined);
  // nfsd's RC_EXPIRE (120 s) unless our server was told otherwise
  const drcExpiryMs = server && o.drc !== 'off' ? server.drc.config.expiryMs : 120_000;
  // what our server's cache was: how expired entries stopped answering and how many it held (the mode's era)
  const drcShape = server && o.drc !== 'off' ? { drcPrune: server.drc.config.prune, drcSize: server.drc.config.size } : {};
  const journalRows = server?.journal ? server.journal.query({ proc: 'WRITE', limit: 1_000_000 }) : [];
  let drcStats: unknown = server?.stats().drc;
  if (nfsd) {
    // nfsd keeps no journal: its reply cache counters over the run stand beside the wire witness, and the file
    // is read back over NFS (no faults now) so the disk witness checks what nfsd stored.
    drcStats = await nfsdDrcAndFile(nfsd, nfsdBefore, path.join(exportDir, BLKTEST_FILE), o.count * o.blockSize).catch((e) => ({ error: String(e) }));
    await nfsd.stop();
  }
  await server?.close().catch(() => undefined);
  await client.stop();
  mark('stop');

  // --- the witnesses ---
  const wire = await wireWitness(capture, proxyPort, o.scribble);
  mark('inspect');
  const disk = diskWitness({ file: path.join(exportDir, BLKTEST_FILE), blockSize: o.blockSize, journalRows, payloadHash: server?.journal?.payloadHash ?? DEFAULT_PAYLOAD_HASH, scribbledXids: wire.scribbledXids });
  fs.rmSync(exportDir, { recursive: true, force: true }); // the evidence is the capture, journal and trace

  const linuxWrite = linuxRun?.mountstats.ops.WRITE;
  const counters: RunCounters = {
    writes: blk?.writes ?? linuxRun?.blktest.writes.length ?? 0,
    bytes: blk?.bytes ?? linuxRun?.blktest.done?.bytes ?? 0,
    // the kernel's own count: WRITE transmissions beyond one per call (mountstats)
    retransmissions: blk?.retransmissions ?? (linuxWrite ? linuxWrite.transmissions - linuxWrite.ops : 0),
    lateTransmissions: blk?.lateTransmissions ?? 0,
    partialDuplicates: blk?.duplicatesFinished ?? 0,
    scribbledOnWire: wire.scribbledOnWire,
    // nfsd keeps no journal: its own count of duplicates executed with a payload that differed from the first
    // copy's (fs/nfsd/nfscache.c nfsd_cache_key_cmp: a "payload miss"; only the first 256 bytes are compared)
    executedScribbled: nfsd ? Number(((drcStats as { replyCache?: Record<string, number> })?.replyCache ?? {}).payloadMisses ?? 0) : disk.executedScribbled,
    corruptBlocks: disk.corrupt.length,
    throughputMiBps: blk && blk.durationMs > 0 ? Math.round((blk.bytes / 2 ** 20 / (blk.durationMs / 1000)) * 10) / 10 : (linuxRun?.mibPerSec ?? 0),
  };
  const verdict = judge(error, counters);
  const timeoMs = parseDuration(o.timeo, 'timeo');
  const machineTimeouts = unexplainedTimeouts(client.trace, netemEvents, proxyStarted, timeoMs);
  const timing = timingWitness({
    lateAfterCompleteModelMs: blk?.lateAfterCompleteModelMs ?? [],
    serverExec: client.serverExec,
    scribbledXids: wire.scribbledXids,
    lagRealMs: lag,
    timeScale: o.timeScale,
    drcExpiryModelMs: drcExpiryMs,
    stallStarts: netemEvents.filter((e) => e.event === 'stall-start').map((e) => proxyStarted + e.ms),
    firstLateAt: client.firstLateAt,
  });
  const xids = affectedXids(blk?.lateXids ?? [], wire.scribbledXids, client.trace);
  const timeline = buildTimeline({ xids, scribbledXids: wire.scribbledXids, executedScribbledXids: disk.executedScribbledXids, trace: client.trace, serverExec: client.serverExec, netemEvents, t0, proxyStarted, end: performance.now() });
  const summary = summaryLines({ verdict, counters, error, wire, disk, scribble: o.scribble, drc: o.drc, drcStats: server ? (drcStats as ReturnType<RunningServer['stats']>['drc']) : undefined, scenarioLines: actions?.summary() ?? [], expectedBytes: Math.min(o.count, blk?.writes ?? o.count) * o.blockSize, machineTimeouts, scaledTimeoMs: timeoMs * o.timeScale, lag, timing, timeScale: o.timeScale, maxStalls: o.maxStalls, withdrawn: blk?.duplicatesWithdrawn, reconnects: blk?.reconnects });
  if (nfsd) for (let i = summary.length - 1; i >= 0; i--) if (summary[i].startsWith('journal:')) summary.splice(i, 1);
  summary.push(...linuxSummary(linuxRun, nfsd ? (drcStats as Record<string, unknown>) : undefined, wire.scribbledXids.size));

  const record: RunRecord = {
    runId: path.basename(o.outDir),
    ...(o.matrixId ? { matrixId: o.matrixId } : {}),
    startedAt,
    durationMs: Math.round(performance.now() - t0),
    version: (require('../../package.json') as { version: string }).version,
    config: {
      policy: o.client === 'linux' ? LINUX_CLIENT_AXIS : o.policy,
      drc: o.server === 'linux' ? LINUX_SERVER_AXIS : o.drc,
      ...drcShape,
      ...(o.client === 'linux' || o.server === 'linux' ? { client: o.client ?? 'testbed', server: o.server ?? 'testbed', kernel: linuxRun?.kernel ?? nfsd?.kernel ?? o.kernel ?? 'debian' } : {}),
      ...(linuxRun ? { network: linuxRun.network } : {}),
      scenario: o.scenario,
      seed: o.seed,
      timeScale: o.timeScale,
      timeo: o.timeo,
      retrans: o.retrans,
      // What the proxy ran: the stall schedule only when the scenario stalls (drop-reply does not), and every fault.
      ...stallSchedule(faults),
      faults,
      backoff: o.backoff,
      blockSize: o.blockSize,
      count: o.count,
      wsize: o.wsize,
      inflight: o.inflight,
      scribble: hexXid(o.scribble),
      scribbleHold: o.scribbleHold,
      maxStalls: o.maxStalls,
      serverLimits: SEED_SERVER_LIMITS,
    },
    verdict,
    counters,
    summary,
    capture,
    netemEvents,
    traceSummary: linuxRun
      ? { kernel: linuxRun.kernel, tracepoints: linuxRun.traceCounts, trace: linuxRun.traceFile, mountstats: linuxRun.mountstats }
      : blk
      ? {
          transmissions: blk.transmissions, retransmissions: blk.retransmissions, lateTransmissions: blk.lateTransmissions,
          latePaths: blk.latePaths, duplicatesCancelled: blk.duplicatesCancelled, duplicatesFinished: blk.duplicatesFinished,
          duplicatesWithdrawn: blk.duplicatesWithdrawn, reconnects: blk.reconnects, resets: blk.resets, lateXids: blk.lateXids.map(hexXid), trace: tracePath,
        }
      : {},
    findings: wire.findings ?? {},
    witnesses: {
      lateTransmissions: counters.lateTransmissions,
      scribbledOnWire: wire.scribbledOnWire,
      deadbeefOnWire: wire.deadbeefOnWire,
      executedScribbled: counters.executedScribbled,
      corruptBlocks: disk.corrupt.length,
      corruptExplainedByJournal: disk.explained,
      drc: drcStats,
      timerLagMs: lag,
      timing,
      unexplainedTimeouts: machineTimeouts,
      ...(linuxRun ? { linuxClient: linuxWitness(linuxRun) } : {}),
    },
    timeline,
    ...(error ? { error } : {}),
  };
  const tapXid = xids.find((x) => wire.scribbledXids.has(x)) ?? xids[0];
  return { record, blktest: blk, tap: tapXid === undefined ? [] : tapLines(client.trace, client.serverExec, tapXid, t0, o.timeScale), decodeAs: `tcp.port==${proxyPort},rpc`, phases: mark('judge') };
}

/** The stall schedule as config_json has always stored it (docs/results-schema.md), when a stall ran at all. */
function stallSchedule(faults: readonly FaultSpec[]): { stall?: { duration: unknown; every: unknown; unit: unknown; resume: unknown } } {
  const f = faults.find((x): x is FaultSpecOf<'stall'> => x.kind === 'stall');
  return f ? { stall: { duration: f.duration, every: f.every, unit: f.unit, resume: f.resume } } : {};
}

export type { TimerLag } from '../core/timer-lag';

/**
 * The lag monitor's sampling period, real ms (core/timer-lag.ts: the lateness it reports is a lower bound within
 * one period). Compare the lag with the scaled timeo (240 ms at the matrix's 1/250) and the stall (260 ms).
 */
export const LAG_RESOLUTION_MS = 10;

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

/**
 * The --max-stalls budget is spent: stop stalling, so what is still in flight drains at once rather than through
 * more stalls (nothing was reproduced, so no duplicate's timing is lost by it).
 */
function budgetSpent(px: Proxy, maxStalls: number): boolean {
  if (px.metrics().stalls < maxStalls) return false;
  for (const f of px.faults()) if (f.kind === 'stall') px.removeFault(f.id);
  return true;
}

/** Thrown past the model client's steps when the Linux client did the writing (not an error). */
const SKIP_MODEL_CLIENT = Symbol('linux client ran');

/**
 * nfsd's reply cache counters over the run (after - before; fs/nfsd/nfscache.c: a "payload miss" is a request
 * whose XID matched an entry but whose checksum did not, executed again) and the file it holds, copied to `file`.
 */
async function nfsdDrcAndFile(nfsd: LinuxNfsd, before: ReplyCacheStats | undefined, file: string, bytes: number): Promise<Record<string, unknown>> {
  const after = await nfsd.replyCacheStats();
  const delta: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) delta[k] = v - (before?.[k] ?? 0);
  const m = await mount({ host: '127.0.0.1', port: nfsd.nfsPort, mountPort: nfsd.mountPort, exportPath: nfsd.exportPath });
  try {
    const l = await m.nfs.lookupPath(m.root, BLKTEST_FILE);
    if ('fh' in l) {
      const r = await m.nfs.readRange(l.fh, 0n, bytes, { rsize: m.fsinfo?.rtmax ?? 65536, parallel: 4 });
      fs.writeFileSync(file, r.data);
    }
  } finally {
    await m.unmount().catch(() => undefined);
  }
  return { server: 'linux-nfsd', kernel: nfsd.kernel, maxBlockSize: nfsd.maxBlockSize, guestPid: nfsd.guest.pid, replyCache: delta, replyCacheAfter: after };
}

function linuxWitness(r: LinuxClientResult): Record<string, unknown> {
  return { kernel: r.kernel, guestPid: r.guestPid, network: r.network, verdictCaveat: r.verdictCaveat, held: r.held, mountstats: r.mountstats, tracepoints: r.traceCounts, trace: r.traceFile, bootToMountedMs: r.bootToMountedMs, guestCorruptBlocks: r.corruptBlocks };
}

function linuxSummary(r: LinuxClientResult | undefined, nfsdDrc: Record<string, unknown> | undefined, scribbledXids: number): string[] {
  const out: string[] = [];
  if (r) {
    const w = r.mountstats.ops.WRITE;
    out.push(`linux client (${r.kernel}, ${r.network} networking): ${r.held.length} write() returned with bytes of it still unacknowledged in the socket; WRITE ${w?.ops ?? 0} calls, ${w?.transmissions ?? 0} transmissions, ${w?.timeouts ?? 0} timeouts (mountstats)`);
    if (r.verdictCaveat) out.push(`marked: ${r.verdictCaveat}`);
  }
  if (nfsdDrc) {
    const rc = (nfsdDrc.replyCache ?? {}) as Record<string, number>;
    out.push(`linux nfsd reply cache over the run: ${rc.payloadMisses ?? '?'} payload misses, ${rc.cacheHits ?? '?'} hits, ${rc.cacheMisses ?? '?'} misses; inspect: ${scribbledXids} XIDs with differing duplicates`);
  }
  return out;
}
