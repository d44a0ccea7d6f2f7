// Programmatic entry point of `nfs-testbed inspect`: read capture files, find duplicated RPC calls and compare
// their payloads. Pass 1 fingerprints every payload (xxh3); only when some XIDs repeat with different ones (or payloads
// were asked for) does pass 2 re-read the files and keep copies of exactly those transmissions' payloads, so
// memory stays bounded by open connections and records in progress, not by the capture size.
import fs from 'node:fs';
import path from 'node:path';
import { CaptureError } from '../core/errors';
import { Pipeline, FileStats, DEFAULT_PORTS } from './pipeline';
import { readCaptureFile } from './source';
import { readerFor } from './readers/open';
import { buildReport, groupDiffers, InspectReport, xidHex } from './analysis/report';
import { hexDiffLines } from './analysis/diff';
import type { Transmission } from './analysis/ledger';
import { inView, type LegChoice } from './analysis/legs';

export interface InspectOptions {
  /** extra server ports whose TCP streams are RPC even without their start (2049 and 111 always) */
  ports?: number[];
  /** keep payload copies of this XID's transmissions (for hexDiff) */
  hexdiffXid?: number;
  /** write the payload of every transmission of a duplicated XID into this directory */
  exportPayloadsDir?: string;
  /** largest RPC record accepted (default 4 MiB + 64 KiB) */
  maxRecord?: number;
  /** server write journal (SQLite, server/journal.ts schema 1) to join with duplicated WRITEs */
  journal?: string;
  /** bytes all streams together may hold in unfinished records (default budget.ts DEFAULT_MAX_BUFFERED) */
  maxBuffered?: number;
  /** most bytes a compressed capture may unpack to (default source.ts: 1024x its size, at least 64 MiB) */
  maxUnpacked?: number;
  /**
   * Which relay leg duplicates, exports and the journal join count when the capture holds both legs of a proxy
   * (analysis/legs.ts): 'client' (default, what the client sent), 'server' (what the server received), 'all'.
   */
  leg?: LegChoice;
  /**
   * SHA-1 of every transmission's payload (Transmission.payloadSha1), not only of the duplicated XIDs' that the
   * report prints: 0.5 ms of CPU per MiB of payload (issue 20), for callers that list every transmission
   */
  hashAll?: boolean;
  /**
   * The run's --time-scale, for modelled seconds; by default read from the capture (a pcapng section comment
   * "time-scale X" written by netem) or from the netem event log beside it (FILE.events.jsonl).
   */
  timeScale?: number;
}

export interface InspectResult {
  report: InspectReport;
  /** transmissions of every call, in order of appearance */
  transmissions: Transmission[];
  /** payload copies kept by pass 2, by transmission index */
  payloads: Map<number, Buffer>;
  /** files written by exportPayloadsDir */
  exported: string[];
}

type Pass = { p: Pipeline; files: FileStats[]; comments: string[] };

/** netem's event log beside a capture (netem/capture/sink.ts sidecarPath). */
export function sidecarOf(capture: string): string {
  return capture.replace(/\.pcap(ng)?$/i, '') + '.events.jsonl';
}

/**
 * The events in the first or last 4 KiB of netem's event log beside a capture (none without one): the 'listen' event
 * opens it and tcpdump's counts close it (netem/proxy.ts), so neither needs the whole log read. A line cut at the
 * window's edge is skipped.
 */
function sidecarEvents(capture: string, end: 'head' | 'tail'): Array<Record<string, unknown>> {
  let fd: number;
  try {
    fd = fs.openSync(sidecarOf(capture), 'r');
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    const window = Buffer.alloc(Math.min(4096, size));
    const n = fs.readSync(fd, window, 0, window.length, end === 'head' ? 0 : size - window.length);
    const events: Array<Record<string, unknown>> = [];
    for (const line of window.subarray(0, n).toString('utf8').split('\n')) {
      try {
        const e: unknown = JSON.parse(line);
        if (e && typeof e === 'object') events.push(e as Record<string, unknown>);
      } catch {
        // a line cut at the window's edge
      }
    }
    return events;
  } finally {
    fs.closeSync(fd);
  }
}

/** The time scale the capture's run used: the option, a pcapng comment, or the 'listen' event of netem's log. */
function timeScaleOf(paths: string[], comments: string[], opts: InspectOptions): number | null {
  if (opts.timeScale !== undefined) return opts.timeScale;
  for (const c of comments) {
    const m = /time-scale[= ]([0-9.e-]+)/.exec(c);
    if (m && Number(m[1]) > 0) return Number(m[1]);
  }
  for (const f of paths) {
    for (const e of sidecarEvents(f, 'head')) if (e.event === 'listen' && typeof e.timeScale === 'number' && e.timeScale > 0) return e.timeScale;
  }
  return null;
}

/** The tcpdump count of packets dropped by the kernel that netem logged at the end of the capture's event log. */
function captureDropsOf(capture: string): number | null {
  const stats = sidecarEvents(capture, 'tail').reverse().find((e) => e.event === 'tcpdump-stats');
  const dropped = stats?.droppedByKernel;
  return typeof dropped === 'number' && Number.isSafeInteger(dropped) && dropped >= 0 ? dropped : null;
}

function pipelineFor(opts: InspectOptions, keep?: (i: number) => boolean): Pipeline {
  return new Pipeline({ ports: [...DEFAULT_PORTS, ...(opts.ports ?? [])], maxRecord: opts.maxRecord, maxBuffered: opts.maxBuffered, keepPayload: keep, hashAll: opts.hashAll });
}

async function filePass(paths: string[], opts: InspectOptions, keep?: (i: number) => boolean): Promise<Pass> {
  const p = pipelineFor(opts, keep);
  const files: FileStats[] = [];
  const comments: string[] = [];
  for (let i = 0; i < paths.length; i++) {
    p.startFile(i);
    const r = await readCaptureFile(paths[i], (pk) => p.packet(pk), { maxUnpacked: opts.maxUnpacked, recycle: p.recycler });
    files.push({ file: i, path: paths[i], format: r.format, compression: r.compression, packets: r.packets, trailing: r.trailing, captureDrops: captureDropsOf(paths[i]) });
    comments.push(...r.comments);
  }
  p.finish();
  return { p, files, comments };
}

function bytesPass(captures: Buffer[], opts: InspectOptions & { chunkSize?: number }, keep?: (i: number) => boolean): Pass {
  const p = pipelineFor(opts, keep);
  const files: FileStats[] = [];
  const comments: string[] = [];
  const step = opts.chunkSize ?? 1 << 20;
  captures.forEach((buf, i) => {
    p.startFile(i);
    const reader = readerFor(buf);
    let packets = 0;
    for (let o = 0; o < buf.length; o += step) {
      reader.push(buf.subarray(o, o + step), (pk) => {
        packets++;
        p.packet(pk);
      });
    }
    files.push({ file: i, path: `<buffer ${i}>`, format: reader.format, compression: null, packets, trailing: reader.end(), captureDrops: null });
    comments.push(...(reader.comments ?? []));
  });
  p.finish();
  return { p, files, comments };
}

/**
 * Indexes of the transmissions whose payloads pass 2 must keep: every copy of a group whose copies differ (or
 * whose bytes were asked for), and a copy whose SHA-1 the report prints but pass 1 could not know (Ledger.call
 * hashes an XID's first copy only through a later copy with the same fingerprint).
 */
function wantedPayloads(first: Pass, opts: InspectOptions): Set<number> {
  const wanted = new Set<number>();
  for (const g of first.p.ledger.groups(opts.leg ?? 'client')) {
    if (g.length < 2) continue;
    if (groupDiffers(g) || opts.exportPayloadsDir || opts.journal) for (const t of g) wanted.add(t.index);
    else for (const t of g) if (t.payloadFingerprint !== null && t.payloadSha1 === null) wanted.add(t.index);
  }
  if (opts.hexdiffXid !== undefined) for (const t of first.p.ledger.transmissions) if (t.xid === opts.hexdiffXid && inView(t, opts.leg ?? 'client')) wanted.add(t.index);
  return wanted;
}

/**
 * Sans-IO form: the same analysis over in-memory capture files (pcap or pcapng bytes, not compressed),
 * pushed to the readers in chunks of `chunkSize` bytes. No export (exportPayloadsDir is ignored).
 */
export function inspectBytes(captures: Buffer[], opts: InspectOptions & { chunkSize?: number } = {}): InspectResult {
  const first = bytesPass(captures, opts);
  const wanted = wantedPayloads(first, opts);
  const run = wanted.size ? bytesPass(captures, opts, (i) => wanted.has(i)) : first;
  const payloads = run.p.ledger.payloads;
  const report = buildReport(run.p, run.files, payloads, opts.leg ?? 'client', timeScaleOf([], run.comments, opts));
  return { report, transmissions: run.p.ledger.transmissions, payloads, exported: [] };
}

/** Full result: the report plus transmissions and kept payloads (used by the CLI for --hexdiff/--export). */
export async function inspectFilesDetailed(paths: string[], opts: InspectOptions = {}): Promise<InspectResult> {
  if (paths.length === 0) throw new CaptureError('CAPTURE_NO_FILES', 'no capture files given');
  const pass = filePass;
  const first = await pass(paths, opts);
  const wanted = wantedPayloads(first, opts);
  let run = first;
  if (wanted.size > 0) {
    run = await pass(paths, opts, (i) => wanted.has(i));
    if (run.p.ledger.transmissions.length !== first.p.ledger.transmissions.length) {
      throw new CaptureError('CAPTURE_CHANGED', 'capture files changed between the two passes');
    }
  }
  const payloads = run.p.ledger.payloads;
  const view = opts.leg ?? 'client';
  const report = buildReport(run.p, run.files, payloads, view, timeScaleOf(paths, run.comments, opts));
  if (opts.journal) joinJournal(opts.journal, report, run.p.ledger.groups(view), payloads);
  const exported: string[] = [];
  if (opts.exportPayloadsDir) {
    fs.mkdirSync(opts.exportPayloadsDir, { recursive: true });
    for (const g of run.p.ledger.groups(view)) {
      if (g.length < 2) continue;
      g.forEach((t, i) => {
        const buf = payloads.get(t.index);
        if (!buf) return;
        const f = path.join(opts.exportPayloadsDir!, `${xidHex(t.xid)}-${t.client.replace(/:/g, '_')}-${t.leg ? `${t.leg}leg-` : ''}${i + 1}-file${t.file}-frame${t.firstFrame}.bin`);
        fs.writeFileSync(f, buf);
        exported.push(f);
      });
    }
  }
  return { report, transmissions: run.p.ledger.transmissions, payloads, exported };
}

/** Annotates every duplicated WRITE XID of the report with what the server journal says about it. */
function joinJournal(file: string, report: InspectReport, groups: Transmission[][], payloads: ReadonlyMap<number, Buffer>): void {
  // Loaded here: SQLite costs every other inspect run 5-10 ms of startup (issue 20).
  const { JournalReader } = require('./journal') as typeof import('./journal');
  const reader = new JournalReader(file);
  try {
    const byKey = new Map(groups.filter((g) => g.length > 1).map((g) => [`${g[0].leg}|${xidHex(g[0].xid)}|${g[0].client}|${g[0].procedure}`, g]));
    for (const d of [...report.differingDuplicates, ...report.identicalDuplicates]) {
      const g = byKey.get(`${d.leg}|${d.xid}|${d.client}|${d.procedure}`);
      if (!g || !g[0].write) continue;
      d.journal = reader.join(d, g.map((t) => payloads.get(t.index) ?? null), g[0].write.fh);
    }
  } finally {
    reader.close();
  }
}

/** Reads the capture files (pcap, pcapng; plain, .bz2 or .gz) and returns the JSON-ready report. */
export async function inspectFiles(paths: string[], opts: InspectOptions = {}): Promise<InspectReport> {
  return (await inspectFilesDetailed(paths, opts)).report;
}

/** Hex rows where each later transmission of `xid` differs from the first (from an InspectResult). */
export function hexDiff(result: InspectResult, xid: number): string[] {
  const ts = result.transmissions.filter((t) => t.xid === xid && inView(t, result.report.legs.view));
  if (ts.length === 0) return [`no call with xid ${xidHex(xid)}`];
  const byGroup = new Map<string, Transmission[]>();
  for (const t of ts) {
    const k = `${t.leg}|${t.client}|${t.prog}|${t.vers}|${t.proc}`;
    byGroup.set(k, [...(byGroup.get(k) ?? []), t]);
  }
  const out: string[] = [];
  for (const g of byGroup.values()) {
    const a = g[0];
    out.push(`xid ${xidHex(xid)} ${a.procedure} from ${a.client}${a.leg ? ` (${a.leg} leg)` : ''}: ${g.length} transmission(s)`);
    const pa = result.payloads.get(a.index);
    for (let i = 1; i < g.length; i++) {
      const pb = result.payloads.get(g[i].index);
      if (!pa || !pb) {
        out.push(`  #1 vs #${i + 1}: payload copy unavailable`);
        continue;
      }
      out.push(`  #1 (frame ${a.firstFrame}) vs #${i + 1} (frame ${g[i].firstFrame}):`);
      const lines = hexDiffLines(pa, pb, '#1', `#${i + 1}`);
      out.push(...(lines.length ? lines.map((l) => `  ${l}`) : ['  identical']));
    }
  }
  return out;
}
