// The inspect report: plain JSON (bigints as decimal strings, XIDs as 0x-prefixed 8-digit hex), built from the
// ledger and pipeline of one pass plus the payload copies a second pass kept for duplicated XIDs.
import type { Pipeline, FileStats, StreamFinding, TcpDiffFinding } from '../pipeline';
import type { Transmission, ReplyRecord } from './ledger';
import { diffPayloads, hex32, PatternInfo, patternLabel } from './diff';
import type { JournalJoin } from '../journal';
import type { Leg, LegChoice, LegPair } from './legs';

export interface ReplyView {
  file: number;
  frame: number;
  time: number;
  connection: string;
  /** 1-based number of the transmission this reply answers (latest earlier one on its connection) */
  answers: number;
  acceptStat: number | null;
  nfsStatus: number | null;
  bodySha1: string;
}

export interface TransmissionView {
  /** 1-based, in order of appearance */
  n: number;
  /** relay leg of its connection, null when it is no relay leg */
  leg: Leg | null;
  file: number;
  frames: { first: number; last: number; packets: number };
  /** seconds since the first packet of the capture */
  firstTime: number;
  lastTime: number;
  /** firstTime in modelled seconds (time-scaled runs), else null */
  modelTime: number | null;
  connection: string;
  transport: 'tcp' | 'udp';
  clientPort: number;
  payloadSha1: string | null;
  payloadLength: number;
  damaged: boolean;
  /** payload bytes the capture lacks */
  missingBytes: number;
  headerDamaged: boolean;
  truncated: boolean;
  /** body dropped to stay within the memory budget */
  capped: boolean;
  offset?: string;
  count?: number;
  stable?: number;
  /** compared with transmission 1; null when a payload copy was unavailable */
  equalToFirst: boolean | null;
  firstDiffOffset: number | null;
  diffBytes: number | null;
  pattern: PatternInfo | null;
  /** seconds from the first reply to an earlier transmission until this one started (the seed's window) */
  afterReply: number | null;
  replies: ReplyView[];
}

export interface DuplicateView {
  /** relay leg these transmissions were counted on (null: no relay) */
  leg: Leg | null;
  xid: string;
  client: string;
  server: string;
  procedure: string;
  prog: number;
  vers: number;
  proc: number;
  offset: string | null;
  count: number | null;
  transmissions: TransmissionView[];
  connections: number;
  equal: boolean;
  /** of the first transmission that differs from the first one */
  firstDiffOffset: number | null;
  diffBytes: number | null;
  pattern: string | null;
  patternDetail: PatternInfo | null;
  /** transmissions (1-based) that received a reply */
  answered: number[];
  repliesDiffer: boolean;
  /** seconds from the reply to an earlier copy to the first later copy (differing one if any) */
  replyToLaterCopy: number | null;
  /** the same in modelled seconds (time-scaled runs), else null */
  replyToLaterCopyModel: number | null;
  /** with a server journal (--journal): what the server executed and which copy the file holds */
  journal?: JournalJoin;
}

export interface UnansweredView {
  xid: string;
  client: string;
  procedure: string;
  frame: number;
  file: number;
  time: number;
  connection: string;
  transmissions: number;
}

export interface InspectReport {
  files: Array<Omit<FileStats, 'file'>>;
  packets: number;
  bytes: number;
  truncatedPackets: number;
  nonIpPackets: number;
  ip: Pipeline['ip']['stats'];
  ports: { known: number[]; detected: number[] };
  /**
   * Relay legs (a proxy's capture holds every call twice): the pairs found, calls per leg, and the leg the
   * duplicates, unanswered calls and exports count ('client' by default: what the client sent).
   */
  /** times are seconds since `origin` (epoch seconds of the first packet); modelled seconds use timeScale */
  time: Clock & { originIso: string | null };
  legs: { detected: boolean; named: boolean; view: LegChoice; pairs: LegPair[]; calls: { client: number; server: number; other: number } };
  /** TCP connections (each generation counted) and UDP flows that carried RPC messages */
  connections: number;
  /** server ports of TCP connections that carried data, most bytes first (first 5): where to look with --port */
  tcpServerPorts: Array<{ port: number; bytes: number }>;
  tcpConnections: number;
  rpcCalls: number;
  rpcReplies: number;
  /** replies whose call was never seen: calls the capture lost with their header */
  orphanReplies: number;
  orphanReplyList: Array<{ xid: string; connection: string; frame: number }>;
  /** calls with bytes missing from the capture (or dropped for memory), and the payload bytes they lack */
  damagedCalls: { count: number; missingPayloadBytes: number; headerDamaged: number; truncated: number; capped: number };
  /** what unfinished records and out-of-order segments held at most, across all streams, and the cap */
  buffered: { peakBytes: number; capBytes: number; sheds: number };
  /** retransmitted TCP bytes that could not be compared (their first copy had left the history) */
  tcpUncomparedBytes: number;
  malformedMessages: number;
  writeCalls: number;
  writeBytes: number;
  /** number of (client, xid, prog, vers, proc) groups with more than one transmission */
  duplicatedXids: number;
  differingDuplicates: DuplicateView[];
  identicalDuplicates: DuplicateView[];
  unansweredCalls: { count: number; list: UnansweredView[] };
  /** retransmitted TCP segments whose bytes differ from the first copy (first 1000) */
  tcpRetransmissionDiffs: TcpDiffFinding[];
  tcpRetransmissionDiffCount: number;
  streamFindings: { counts: Record<string, number>; list: StreamFinding[] };
  verdict: string;
  corrupted: boolean;
}

const MAX_LIST = 1000;

export function xidHex(xid: number): string {
  return hex32(xid);
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Times in a report: seconds since the capture's first packet, and modelled seconds when the run was time-scaled. */
export interface Clock {
  /** epoch seconds of the first packet */
  origin: number;
  /** the run's --time-scale (real = modelled x scale), null when unknown */
  timeScale: number | null;
}

let clock: Clock = { origin: 0, timeScale: null };
const rel = (t: number) => round6(t - clock.origin);
/** Modelled seconds for a real span (or a relative time), null without a time scale. */
const model = (s: number | null) => (s === null || clock.timeScale === null ? null : Math.round((s / clock.timeScale) * 1000) / 1000);

function replyView(r: ReplyRecord, numberOf: Map<number, number>): ReplyView {
  return {
    file: r.file,
    frame: r.frame,
    time: rel(r.time),
    connection: r.connection,
    answers: numberOf.get(r.answers) ?? 0,
    acceptStat: r.acceptStat,
    nfsStatus: r.nfsStatus,
    bodySha1: r.bodySha1,
  };
}

/** A group differs when any payload fingerprint or WRITE field differs from the first transmission's. */
export function groupDiffers(g: Transmission[]): boolean {
  const a = g[0];
  // A damaged copy (bytes missing from the capture) has no fingerprint and is not compared.
  return g.some(
    (t) =>
      (t.payloadFingerprint !== null && a.payloadFingerprint !== null && (t.payloadFingerprint !== a.payloadFingerprint || t.payloadLength !== a.payloadLength)) ||
      (a.write && t.write && (t.write.offset !== a.write.offset || t.write.count !== a.write.count || t.write.fh !== a.write.fh || t.write.stable !== a.write.stable)),
  );
}

export function duplicateView(g: Transmission[], payloads: ReadonlyMap<number, Buffer>): DuplicateView {
  const a = g[0];
  const numberOf = new Map(g.map((t, i) => [t.index, i + 1]));
  const pa = payloads.get(a.index);
  const replies = g.flatMap((t) => t.replies);
  let earliestReply = Infinity;
  const views: TransmissionView[] = g.map((t, i) => {
    const pt = payloads.get(t.index);
    const d = i > 0 && pa && pt ? diffPayloads(pa, pt) : null;
    const equal = i === 0 ? true : d ? d.equal : t.payloadFingerprint !== null && a.payloadFingerprint !== null ? t.payloadFingerprint === a.payloadFingerprint : null;
    const afterReply = i > 0 && earliestReply <= t.firstTime ? round6(t.firstTime - earliestReply) : null;
    for (const r of t.replies) earliestReply = Math.min(earliestReply, r.time);
    return {
      n: i + 1,
      leg: t.leg,
      file: t.file,
      frames: { first: t.firstFrame, last: t.lastFrame, packets: t.pieces },
      firstTime: rel(t.firstTime),
      lastTime: rel(t.lastTime),
      modelTime: model(rel(t.firstTime)),
      connection: t.connection,
      transport: t.transport,
      clientPort: t.clientPort,
      payloadSha1: t.payloadSha1,
      payloadLength: t.payloadLength,
      damaged: t.damaged,
      missingBytes: t.missingBytes,
      headerDamaged: t.headerDamaged,
      truncated: t.truncated,
      capped: t.capped,
      ...(t.write ? { offset: t.write.offset.toString(), count: t.write.count, stable: t.write.stable } : {}),
      equalToFirst: equal,
      firstDiffOffset: d ? d.firstDiffOffset : null,
      diffBytes: d ? d.diffBytes : null,
      pattern: d ? d.pattern : null,
      afterReply,
      replies: t.replies.map((r) => replyView(r, numberOf)),
    };
  });
  const differing = views.find((v) => v.equalToFirst === false);
  const window = differing ?? views[1];
  return {
    leg: a.leg,
    xid: xidHex(a.xid),
    client: a.client,
    server: a.server,
    procedure: a.procedure,
    prog: a.prog,
    vers: a.vers,
    proc: a.proc,
    offset: a.write ? a.write.offset.toString() : null,
    count: a.write ? a.write.count : null,
    transmissions: views,
    connections: new Set(g.map((t) => t.connection)).size,
    equal: !groupDiffers(g),
    firstDiffOffset: differing?.firstDiffOffset ?? null,
    diffBytes: differing?.diffBytes ?? null,
    pattern: differing ? patternLabel(differing.pattern) : null,
    patternDetail: differing?.pattern ?? null,
    answered: views.filter((v) => g[v.n - 1].replies.length > 0).map((v) => v.n),
    repliesDiffer: new Set(replies.map((r) => r.bodySha1)).size > 1,
    replyToLaterCopy: window?.afterReply ?? null,
    replyToLaterCopyModel: model(window?.afterReply ?? null),
  };
}

export function buildReport(p: Pipeline, files: FileStats[], payloads: ReadonlyMap<number, Buffer>, view: LegChoice = 'client', timeScale: number | null = null): InspectReport {
  clock = { origin: p.firstTs ?? 0, timeScale };
  const L = p.ledger;
  const groups = L.groups(view);
  const legCalls = { client: 0, server: 0, other: 0 };
  for (const t of L.transmissions) legCalls[t.leg ?? 'other']++;
  const dups = groups.filter((g) => g.length > 1);
  const differing = dups.filter(groupDiffers);
  const identical = dups.filter((g) => !groupDiffers(g));
  const unanswered = groups.filter((g) => g.every((t) => t.replies.length === 0));
  let writeCalls = 0;
  let writeBytes = 0;
  const damagedCalls = { count: 0, missingPayloadBytes: 0, headerDamaged: 0, truncated: 0, capped: 0 };
  for (const t of L.transmissions) {
    if (t.damaged) {
      damagedCalls.count++;
      damagedCalls.missingPayloadBytes += t.missingBytes;
      if (t.headerDamaged) damagedCalls.headerDamaged++;
      if (t.truncated) damagedCalls.truncated++;
      if (t.capped) damagedCalls.capped++;
    }
    if (t.write) {
      writeCalls++;
      writeBytes += t.payloadLength;
    }
  }
  const differingViews = differing.slice(0, MAX_LIST).map((g) => duplicateView(g, payloads));
  const report: InspectReport = {
    files: files.map(({ file: _f, ...rest }) => rest),
    packets: p.packets,
    bytes: p.bytes,
    truncatedPackets: p.truncatedPackets,
    nonIpPackets: p.nonIp,
    ip: p.ip.stats,
    ports: { known: [...p.knownPorts].sort((x, y) => x - y), detected: [...p.detectedPorts].sort((x, y) => x - y) },
    time: { ...clock, originIso: p.firstTs === null ? null : new Date(p.firstTs * 1000).toISOString() },
    legs: { detected: p.legs.byConnection.size > 0, named: p.legs.named, view, pairs: p.legs.pairs, calls: legCalls },
    connections: p.rpcConnections.size,
    tcpServerPorts: [...p.tcp.serverPortBytes].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([port, bytes]) => ({ port, bytes })),
    tcpConnections: p.tcp.connectionsSeen,
    rpcCalls: L.transmissions.length,
    rpcReplies: L.rpcReplies,
    orphanReplies: L.orphanReplies,
    orphanReplyList: L.orphanXids.slice(0, 100).map((o) => ({ ...o, xid: xidHex(o.xid) })),
    damagedCalls,
    buffered: { peakBytes: p.budget.peak, capBytes: p.budget.cap, sheds: p.budget.sheds },
    tcpUncomparedBytes: p.tcp.uncomparedBytes(),
    malformedMessages: L.malformed,
    writeCalls,
    writeBytes,
    duplicatedXids: dups.length,
    differingDuplicates: differingViews,
    identicalDuplicates: identical.slice(0, MAX_LIST).map((g) => duplicateView(g, payloads)),
    unansweredCalls: {
      count: unanswered.length,
      list: unanswered.slice(0, 100).map((g) => ({
        xid: xidHex(g[0].xid),
        client: g[0].client,
        procedure: g[0].procedure,
        frame: g[0].firstFrame,
        file: g[0].file,
        time: rel(g[0].firstTime),
        connection: g[0].connection,
        transmissions: g.length,
      })),
    },
    tcpRetransmissionDiffs: p.tcpDiffs.slice(0, MAX_LIST),
    tcpRetransmissionDiffCount: p.tcpDiffCount,
    streamFindings: { counts: { ...p.findingCounts }, list: p.findings },
    verdict: '',
    corrupted: differing.length > 0 || p.tcpDiffCount > 0,
  };
  report.verdict = verdict(report, differing.length);
  return report;
}

function verdict(r: InspectReport, nDiffering: number): string {
  if (r.rpcCalls + r.rpcReplies === 0) {
    const hint = r.tcpServerPorts.length ? `; TCP servers seen on ports ${r.tcpServerPorts.map((x) => x.port).join(', ')}: try --port ${r.tcpServerPorts[0].port}` : '';
    return `NO RPC: no ONC RPC call or reply found in ${r.packets} packets (RPC is looked for on ports ${r.ports.known.join(', ')} and at the start of every TCP stream)${hint}`;
  }
  if (nDiffering > 0) {
    const pats = [...new Set(r.differingDuplicates.map((d) => d.pattern ?? 'unknown'))].join(', ');
    return `DIFFERING DUPLICATES: ${nDiffering} duplicated XID${nDiffering === 1 ? '' : 's'} carried different payloads (${pats}); ${r.rpcCalls} calls, ${r.duplicatedXids} duplicated XIDs`;
  }
  if (r.tcpRetransmissionDiffCount) {
    return `DIFFERING TCP RETRANSMISSIONS: ${r.tcpRetransmissionDiffCount} retransmitted TCP segment${r.tcpRetransmissionDiffCount === 1 ? '' : 's'} carried different bytes than the first copy; no duplicated XID with differing payloads`;
  }
  return `OK: no duplicated XID with differing payloads; ${r.rpcCalls} calls (${r.writeCalls} WRITE), ${r.duplicatedXids} duplicated XIDs with identical payloads`;
}
