// Fuzz seeds: real records from the libnfs-against-ganesha captures (../shared/captures), plus encoded calls and
// replies of every NFSv3, MOUNT v3 and PORTMAP v2 procedure so that procedures absent from the captures are
// seeded too. Records over 64 KiB (1 MiB WRITE calls, READ replies) are re-encoded with 4 KiB of data: mutating a
// megabyte per input would measure memcpy, not the decoders.
import fs from 'node:fs';
import path from 'node:path';
import { decodeCall, decodeReply, encodeCall, encodeReply } from '../../xdr/message';
import { MOUNT3_PROCS, MOUNT_PROGRAM, MOUNT_V3 } from '../../xdr/mount';
import { NFS_PROGRAM, NFS_V3 } from '../../xdr/nfs3/constants';
import type { ProcCodec } from '../../xdr/procedure';
import { NFS3_PROCS } from '../../xdr/nfs3/procs';
import { PMAP2_PROCS, PMAP_PROGRAM, PMAP_V2 } from '../../xdr/portmap';
import { RecordDecoder, encodeRecord } from '../../xdr/record';
import { XdrWriter } from '../../xdr/writer';
import { encodeAuthSys } from '../../xdr/rpc';
import { MOUNT3_GEN, NFS3_GEN, PMAP2_GEN, Rng } from '../../testing/xdr-arbitrary';
import { readTcpStreams } from '../../testing/xdr-pcap-lite';

export const CAPTURES_DIR = path.join(__dirname, '..', '..', '..', '..', 'shared', 'captures');
const SHRINK_OVER = 64 * 1024;
const SHRUNK_DATA = 4096;
const STREAM_SEED_BYTES = 32 * 1024;

type AnyCodec = ProcCodec<any, any>;

/** A message body for one procedure: arguments or results, without the RPC header. */
export interface BodySeed {
  codec: AnyCodec;
  bytes: Buffer;
}

export interface Corpus {
  /** whole RPC call messages (no record mark) */
  calls: Buffer[];
  /** whole RPC reply messages, each with the codec of the call it answers */
  replies: BodySeed[];
  args: BodySeed[];
  results: BodySeed[];
  /** record-marked byte streams (RFC 5531 §11), one per captured direction, cut to 32 KiB */
  streams: Buffer[];
  /** capture files small enough to mutate whole */
  pcap: Buffer[];
  pcapng: Buffer[];
  /** where the real records came from */
  sources: string[];
}

const TABLES: Array<[number, number, ReadonlyArray<AnyCodec>]> = [
  [NFS_PROGRAM, NFS_V3, NFS3_PROCS],
  [MOUNT_PROGRAM, MOUNT_V3, MOUNT3_PROCS],
  [PMAP_PROGRAM, PMAP_V2, PMAP2_PROCS],
];

/** The codec of a (program, version, procedure), if we have one. */
export function codecFor(prog: number, vers: number, proc: number): AnyCodec | undefined {
  for (const [p, v, procs] of TABLES) if (p === prog && v === vers) return procs[proc];
  return undefined;
}

/** Buffers longer than SHRUNK_DATA cut to it, with a sibling `count` kept consistent (WRITE args, READ res). */
function shrink(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.length > SHRUNK_DATA ? v.subarray(0, SHRUNK_DATA) : v;
  if (Array.isArray(v)) return v.map(shrink);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = shrink(x);
    if (Buffer.isBuffer(o.data) && typeof o.count === 'number') o.count = Math.min(o.count, (o.data as Buffer).length);
    return o;
  }
  return v;
}

const body = (encode: (w: XdrWriter) => void): Buffer => {
  const w = new XdrWriter({ refThreshold: Infinity });
  encode(w);
  return w.toBuffer();
};

function fromCaptures(c: Corpus): void {
  let files: string[] = [];
  try {
    files = fs.readdirSync(CAPTURES_DIR).filter((f) => /^libnfs-ganesha-.*\.pcap$/.test(f));
  } catch {
    return;
  }
  for (const f of files.sort()) {
    const file = path.join(CAPTURES_DIR, f);
    const streams = readTcpStreams(file);
    const codecByXid = new Map<number, AnyCodec>();
    const byDirection: Buffer[][] = [];
    for (const s of streams) {
      const dec = new RecordDecoder({ maxRecordSize: 8 * 1024 * 1024 });
      const records: Buffer[] = [];
      for (const chunk of s.chunks) dec.push(chunk, (r) => records.push(Buffer.from(r)));
      byDirection.push(records);
      const raw = Buffer.concat(s.chunks);
      c.streams.push(raw.subarray(0, Math.min(raw.length, STREAM_SEED_BYTES)));
    }
    c.sources.push(f);
    // Calls first (every direction), so replies find the codec of their call by XID.
    for (const records of byDirection) {
      for (const rec of records) {
        if (rec.length < 8 || rec.readUInt32BE(4) !== 0) continue;
        const { call, args } = decodeCall(rec);
        const codec = codecFor(call.prog, call.vers, call.proc);
        if (!codec) continue;
        codecByXid.set(call.xid, codec);
        let msg = rec;
        if (rec.length > SHRINK_OVER) msg = Buffer.concat(encodeCall({ ...call }, codec, shrink(codec.decodeArgs(args))));
        c.calls.push(msg);
        c.args.push({ codec, bytes: msg.subarray(msg.length - args.remaining) });
      }
    }
    for (const records of byDirection) {
      for (let rec of records) {
        if (rec.length < 8 || rec.readUInt32BE(4) !== 1) continue;
        const codec = codecByXid.get(rec.readUInt32BE(0));
        if (!codec) continue;
        const { res } = decodeReply(rec, codec);
        if (rec.length > SHRINK_OVER) rec = Buffer.concat(encodeReply(rec.readUInt32BE(0), codec, shrink(res)));
        c.replies.push({ codec, bytes: rec });
        if (res !== undefined || codec.name === 'NULL') c.results.push({ codec, bytes: body((w) => codec.encodeRes(w, shrink(res))) });
      }
    }
  }
  for (const f of ['libnfs-ganesha-ls.pcap', 'libnfs-ganesha-ls.pcapng']) {
    const file = path.join(CAPTURES_DIR, f);
    if (!fs.existsSync(file)) continue;
    (f.endsWith('.pcapng') ? c.pcapng : c.pcap).push(fs.readFileSync(file));
  }
}

/** Encoded calls and replies of every procedure of the three programs, `perProc` of each, from a seeded Rng. */
function generated(c: Corpus, perProc: number, seed: number): void {
  const g = new Rng(seed);
  const cred = encodeAuthSys({ stamp: 7, machinename: 'fuzz', uid: 0, gid: 0, gids: [1, 2] });
  let xid = 1;
  const gens: Array<[ReadonlyArray<AnyCodec>, Record<string, { args: (g: Rng) => unknown; res: (g: Rng) => unknown }>]> = [
    [NFS3_PROCS, NFS3_GEN],
    [MOUNT3_PROCS, MOUNT3_GEN],
    [PMAP2_PROCS, PMAP2_GEN],
  ];
  for (const [procs, gen] of gens) {
    for (const codec of procs) {
      for (let i = 0; i < perProc; i++) {
        const a = gen[codec.name].args(g);
        const r = gen[codec.name].res(g);
        const call = Buffer.concat(encodeCall({ xid: xid++, cred }, codec, a));
        c.calls.push(call);
        c.args.push({ codec, bytes: body((w) => codec.encodeArgs(w, a)) });
        c.replies.push({ codec, bytes: Buffer.concat(encodeReply(xid, codec, r)) });
        c.results.push({ codec, bytes: body((w) => codec.encodeRes(w, r)) });
      }
    }
  }
  // A synthetic stream: every generated call framed, some in several fragments (RFC 5531 §11).
  const framed = c.calls.slice(-40).flatMap((m, i) => encodeRecord([m], i % 3 === 0 ? 1 + (m.length >> 1) : undefined));
  c.streams.push(Buffer.concat(framed));
}

let cached: Corpus | undefined;

/** The seed corpus (built once per process; entries are shared and must not be written to). */
export function loadCorpus(): Corpus {
  if (cached) return cached;
  const c: Corpus = { calls: [], replies: [], args: [], results: [], streams: [], pcap: [], pcapng: [], sources: [] };
  fromCaptures(c);
  generated(c, 3, 0x5eed);
  cached = c;
  return c;
}
