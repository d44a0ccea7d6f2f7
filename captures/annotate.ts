// `inspect --annotate OUT.pcapng` (and `netem --capture x.pcapng`): a pcapng copy of the capture that tells the
// story in Wireshark. Every transmission of a duplicated XID carries a packet comment (copy k of n, leg,
// equal/differing, first differing offset, pattern, which copy the server answered, modelled time); the proxy's
// fault events are comments on the packet nearest in time; packets sit on one interface per relay leg ("client
// leg", "server leg") so `frame.interface_name` tells the legs apart. Format: draft-ietf-opsawg-pcapng §4.1 SHB,
// §4.2 IDB (if_name, if_tsresol 9: nanoseconds), §4.3 EPB with opt_comment.
import fs from 'node:fs';
import { inspectFilesDetailed, sidecarOf, type InspectOptions } from './inspect';
import { readCaptureFile } from './source';
import { decodeLink } from './decode/link';
import { IpDecoder, IPPROTO } from './decode/ip';
import { decodeTcp } from './decode/transport';
import { patternLabel } from './analysis/diff';
import type { DuplicateView } from './analysis/report';
import type { CapturedPacket } from './readers/packet';

export const PCAPNG = { SHB: 0x0a0d0d0a, IDB: 1, EPB: 6, BYTE_ORDER_MAGIC: 0x1a2b3c4d } as const;
const OPT = { COMMENT: 1, IF_NAME: 2, IF_TSRESOL: 9, SHB_USERAPPL: 4 } as const;

/** A netem event as its log holds it (netem/events.ts): real ms since the proxy started, modelled ms. */
export interface AnnotationEvent {
  ms: number;
  modelMs?: number;
  event: string;
  [k: string]: unknown;
}

export interface AnnotateOptions extends Omit<InspectOptions, 'leg' | 'exportPayloadsDir' | 'hexdiffXid'> {
  /** fault events; by default read from netem's FILE.events.jsonl beside the (first) capture */
  events?: AnnotationEvent[];
  /** epoch ms at which events' `ms` is 0; by default from the log's 'listen' event */
  eventsEpochMs?: number;
}

export interface AnnotateResult {
  packets: number;
  commentedPackets: number;
  /** frames (1-based in OUT) whose comment says "differing" */
  differingFrames: number[];
  eventComments: number;
}

function option(code: number, value: Buffer): Buffer {
  const pad = (4 - (value.length % 4)) % 4;
  const b = Buffer.alloc(4 + value.length + pad);
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(value.length, 2);
  value.copy(b, 4);
  return b;
}

function block(type: number, body: Buffer[]): Buffer {
  const len = 12 + body.reduce((n, b) => n + b.length, 0);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(len, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(len, 0);
  return Buffer.concat([head, ...body, tail]);
}

const END_OF_OPT = Buffer.alloc(4);

function shb(comment: string): Buffer {
  const fixed = Buffer.alloc(16);
  fixed.writeUInt32LE(PCAPNG.BYTE_ORDER_MAGIC, 0);
  fixed.writeUInt16LE(1, 4);
  fixed.writeUInt16LE(0, 6);
  fixed.writeBigInt64LE(-1n, 8); // section length unknown
  return block(PCAPNG.SHB, [fixed, option(OPT.COMMENT, Buffer.from(comment)), option(OPT.SHB_USERAPPL, Buffer.from('nfs-testbed')), END_OF_OPT]);
}

function idb(linktype: number, name: string): Buffer {
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16LE(linktype, 0);
  fixed.writeUInt32LE(0, 4); // snaplen: none
  return block(PCAPNG.IDB, [fixed, option(OPT.IF_NAME, Buffer.from(name)), option(OPT.IF_TSRESOL, Buffer.from([9])), END_OF_OPT]);
}

function epb(iface: number, p: CapturedPacket, comments: string[]): Buffer {
  const fixed = Buffer.alloc(20);
  const ts = BigInt(p.tsSec) * 1_000_000_000n + BigInt(p.tsNsec);
  fixed.writeUInt32LE(iface, 0);
  fixed.writeUInt32LE(Number(ts >> 32n), 4);
  fixed.writeUInt32LE(Number(ts & 0xffffffffn), 8);
  fixed.writeUInt32LE(p.data.length, 12);
  fixed.writeUInt32LE(p.origLen, 16);
  const pad = Buffer.alloc((4 - (p.data.length % 4)) % 4);
  const opts = comments.length ? [...comments.map((c) => option(OPT.COMMENT, Buffer.from(c))), END_OF_OPT] : [];
  return block(PCAPNG.EPB, [fixed, p.data, pad, ...opts]);
}

/** Netem's event log beside a capture: events and the epoch of their `ms` (from the 'listen' event). */
export function readEventLog(file: string): { events: AnnotationEvent[]; epochMs: number } | null {
  if (!fs.existsSync(file)) return null;
  const events: AnnotationEvent[] = [];
  let epochMs = NaN;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let e: AnnotationEvent & { t?: string };
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (e.event === 'listen' && typeof e.t === 'string') epochMs = Date.parse(e.t) - e.ms;
    else events.push(e);
  }
  return Number.isFinite(epochMs) ? { events, epochMs } : null;
}

function eventText(e: AnnotationEvent): string {
  const facts = Object.entries(e)
    .filter(([k, v]) => !['t', 'ms', 'modelMs', 'proxy', 'event', 'kind', 'source'].includes(k) && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `nfs-testbed netem: ${e.kind ? `${e.kind} ` : ''}${e.event}${facts ? ` ${facts}` : ''} (real ${(e.ms / 1000).toFixed(3)}s${e.modelMs !== undefined ? `, model ${(e.modelMs / 1000).toFixed(3)}s` : ''} since the proxy started)`;
}

function copyText(d: DuplicateView, k: number): string {
  const t = d.transmissions[k];
  const n = d.transmissions.length;
  const state =
    k === 0 ? 'first copy' : t.equalToFirst === true ? 'equal to copy 1' : t.equalToFirst === false ? `differing from copy 1 at offset ${t.firstDiffOffset}, ${t.diffBytes} bytes, ${patternLabel(t.pattern)}` : 'not compared (damaged)';
  const answered = d.answered.length ? `server answered copy ${d.answered.join(',')}` : 'no reply';
  const when = `t=${t.firstTime.toFixed(6)}s${t.modelTime !== null ? ` model ${t.modelTime.toFixed(3)}s` : ''}`;
  return `nfs-testbed: xid ${d.xid} ${d.procedure}${d.offset !== null ? ` offset ${d.offset}` : ''} copy ${k + 1} of ${n}${t.leg ? ` (${t.leg} leg)` : ''}: ${state}; ${answered}; ${when}`;
}

/** Writes OUT.pcapng from the capture files (one section, their packets in order). */
export async function annotate(paths: string[], out: string, o: AnnotateOptions = {}): Promise<AnnotateResult> {
  const res = await inspectFilesDetailed(paths, { ...o, leg: 'all' });
  const r = res.report;
  // Comments by "file|frame" of each transmission's first frame.
  const comments = new Map<string, string[]>();
  const add = (key: string, text: string) => {
    const l = comments.get(key);
    if (l) l.push(text);
    else comments.set(key, [text]);
  };
  for (const d of [...r.differingDuplicates, ...r.identicalDuplicates]) d.transmissions.forEach((t, k) => add(`${t.file}|${t.frames.first}`, copyText(d, k)));
  // Legs by 4-tuple (either direction).
  const legOf = new Map<string, string>();
  for (const t of res.transmissions) {
    if (!t.leg || t.transport !== 'tcp') continue;
    legOf.set(`${t.client}|${t.clientPort}|${t.server}|${t.serverPort}`, t.leg);
    legOf.set(`${t.server}|${t.serverPort}|${t.client}|${t.clientPort}`, t.leg);
  }
  const log = o.events ? { events: o.events, epochMs: o.eventsEpochMs ?? 0 } : readEventLog(sidecarOf(paths[0]));
  // Events go on the packet nearest in time: a first read collects packet times.
  const pending = (log?.events ?? []).map((e) => ({ e, at: (log!.epochMs + e.ms) / 1000 })).sort((a, b) => a.at - b.at);
  const eventsAt = new Map<string, string[]>();
  if (pending.length) {
    const times: Array<{ key: string; at: number }> = [];
    for (let i = 0; i < paths.length; i++) await readCaptureFile(paths[i], (p) => times.push({ key: `${i}|${p.frame}`, at: p.tsSec + p.tsNsec / 1e9 }), { maxUnpacked: o.maxUnpacked });
    times.sort((a, b) => a.at - b.at);
    let j = 0;
    for (const { e, at } of pending) {
      while (j + 1 < times.length && times[j + 1].at <= at) j++;
      const best = j + 1 < times.length && Math.abs(times[j + 1].at - at) < Math.abs(times[j].at - at) ? j + 1 : j;
      if (!times.length) break;
      const key = times[best].key;
      const l = eventsAt.get(key);
      if (l) l.push(eventText(e));
      else eventsAt.set(key, [eventText(e)]);
    }
  }
  const fd = fs.openSync(out, 'w');
  const result: AnnotateResult = { packets: 0, commentedPackets: 0, differingFrames: [], eventComments: 0 };
  try {
    let batch: Buffer[] = [shb(`nfs-testbed inspect annotations${r.time.timeScale !== null ? `; time-scale ${r.time.timeScale}` : ''}`)];
    let batchBytes = batch[0].length;
    const flush = () => {
      if (batch.length) fs.writeSync(fd, Buffer.concat(batch, batchBytes));
      batch = [];
      batchBytes = 0;
    };
    const push = (b: Buffer) => {
      batch.push(b);
      batchBytes += b.length;
      if (batchBytes >= 1 << 20) flush();
    };
    const ifaces = new Map<string, number>();
    for (let i = 0; i < paths.length; i++) {
      const ip = new IpDecoder();
      await readCaptureFile(
        paths[i],
        (p) => {
          let leg = 'capture';
          const link = decodeLink(p.linktype, p.data);
          const pl = link ? ip.decode(p.data, link.offset, link.ipVersion, p.frame, 0) : null;
          const seg = pl && pl.proto === IPPROTO.TCP ? decodeTcp(pl) : null;
          if (seg) leg = legOf.get(`${seg.src}|${seg.sport}|${seg.dst}|${seg.dport}`) ?? 'capture';
          const name = leg === 'capture' ? (p.ifName ?? 'capture') : `${leg} leg`;
          const ik = `${p.linktype}|${name}`;
          let id = ifaces.get(ik);
          if (id === undefined) {
            id = ifaces.size;
            ifaces.set(ik, id);
            push(idb(p.linktype, name));
          }
          const key = `${i}|${p.frame}`;
          const c = [...(comments.get(key) ?? []), ...(eventsAt.get(key) ?? [])];
          result.packets++;
          if (c.length) {
            result.commentedPackets++;
            result.eventComments += eventsAt.get(key)?.length ?? 0;
            if (c.some((x) => x.includes(': differing'))) result.differingFrames.push(result.packets);
          }
          push(epb(id, p, c));
        },
        { maxUnpacked: o.maxUnpacked },
      );
    }
    flush();
  } finally {
    fs.closeSync(fd);
  }
  return result;
}
