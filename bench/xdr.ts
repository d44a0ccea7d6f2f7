// Wire-layer throughput: encode + decode of whole RPC messages (record mark included on encode) with xdr/,
// next to @jsonjoy.com/json-pack doing the same work in the same run. Also the zero-copy check: a 1 MiB WRITE
// call must encode as fast as a 4 KiB one.
import { Reader } from '@jsonjoy.com/buffers/lib/Reader';
import { FullNfsv3Encoder, Nfsv3Decoder } from '@jsonjoy.com/json-pack/lib/nfs/v3';
import { RpcMessageDecoder } from '@jsonjoy.com/json-pack/lib/rpc/RpcMessageDecoder';
import { RpcOpaqueAuth } from '@jsonjoy.com/json-pack/lib/rpc/messages';
import { median } from '../core/stats';
import { type Measurement, measurement } from './measure';
import { decodeCall, decodeCallArgs, decodeReply, encodeCall, encodeCallRecord, encodeReply, encodeReplyRecord } from '../xdr/message';
import { AUTH_NONE, encodeAuthSys } from '../xdr/rpc';
import { NFS3 } from '../xdr/nfs3/procs';
import type { ProcCodec } from '../xdr/procedure';
import type { Fattr3, ReaddirplusRes, WriteArgs } from '../xdr/nfs3/types';
import { toJpArgs, toJpRes } from '../testing/xdr-jsonpack';

const YARDSTICK = 'json-pack 18.28';
const ROUNDS = 41;
const SLICE_MS = 25;

const cred = encodeAuthSys({ stamp: 1, machinename: 'bench-client', uid: 1000, gid: 1000, gids: [1000, 4, 24] });
const jpCred = new RpcOpaqueAuth(cred.flavor as any, new Reader(cred.body));
const jpNone = new RpcOpaqueAuth(0 as any, new Reader(new Uint8Array(0)));
const fh = Buffer.alloc(28, 0x42);

function attrs(i: number): Fattr3 {
  const t = { seconds: 1_700_000_000 + i, nseconds: 123456789 };
  return {
    type: 1, mode: 0o644, nlink: 1, uid: 1000, gid: 1000, size: BigInt(4096 * i), used: BigInt(4096 * i),
    rdev: { specdata1: 0, specdata2: 0 }, fsid: 0x1234n, fileid: BigInt(1000 + i), atime: t, mtime: t, ctime: t,
  };
}

function writeArgs(size: number): WriteArgs {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) data.writeUInt32BE(i, i);
  return { file: fh, offset: 1n << 20n, count: size, stable: 0, data };
}

const readdirplus: ReaddirplusRes = {
  status: 0,
  dirAttributes: { ...attrs(0), type: 2 },
  cookieverf: Buffer.alloc(8, 1),
  entries: Array.from({ length: 100 }, (_, i) => ({
    fileid: BigInt(1000 + i),
    name: `file-${String(i).padStart(4, '0')}.dat`,
    cookie: BigInt(i + 1),
    nameAttributes: attrs(i),
    nameHandle: Buffer.alloc(28, i),
  })),
  eof: true,
};

interface Pair {
  ours: () => void;
  theirs: () => void;
}

/** A call: encode (gather list / contiguous bytes, record mark included) then decode the record body. */
function callCase(codec: ProcCodec<any, any>, args: unknown, hint: number): Pair {
  const jpEnc = new FullNfsv3Encoder();
  const jpRpc = new RpcMessageDecoder();
  const jpNfs = new Nfsv3Decoder();
  const jpArgs = toJpArgs(codec.name, args);
  const record = Buffer.concat(encodeCall({ xid: 1, cred }, codec, args));
  const header = { xid: 1, cred }; // built once, like json-pack's prebuilt request object
  return {
    ours() {
      encodeCallRecord(header, codec, args);
      const { args: r } = decodeCall(record);
      decodeCallArgs(r, codec);
    },
    theirs() {
      // json-pack's writer rebases offsets when it grows mid-message (see testing/xdr-jsonpack.ts), so a
      // correct caller reserves room first.
      jpEnc.writer.ensureCapacity(hint);
      jpEnc.encodeCall(1, codec.proc, jpCred, jpNone, jpArgs);
      const m = jpRpc.decodeMessage(new Reader(record)) as any;
      jpNfs.decodeMessage(m.params, codec.proc, true);
    },
  };
}

function replyCase(codec: ProcCodec<any, any>, res: unknown, hint: number): Pair {
  const jpEnc = new FullNfsv3Encoder();
  const jpRpc = new RpcMessageDecoder();
  const jpNfs = new Nfsv3Decoder();
  const jpRes = toJpRes(codec.name, res);
  const record = Buffer.concat(encodeReply(1, codec, res));
  return {
    ours() {
      encodeReplyRecord(1, codec, res, AUTH_NONE);
      decodeReply(record, codec);
    },
    theirs() {
      jpEnc.writer.ensureCapacity(hint);
      jpEnc.encodeAcceptedReply(1, codec.proc, jpNone, jpRes);
      const m = jpRpc.decodeMessage(new Reader(record)) as any;
      jpNfs.decodeMessage(m.results, codec.proc, false);
    },
  };
}

/**
 * ops per CPU-second of fn over one slice of about `ms` milliseconds of CPU time. CPU time rather than wall time
 * because other work shares the machine (tests, other benches); this process's own CPU use is what we compare.
 */
function slice(fn: () => void, ms: number): number {
  let n = 0;
  const c0 = process.cpuUsage();
  let used = 0;
  while (used < ms * 1000) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
    const d = process.cpuUsage(c0);
    used = d.user + d.system;
  }
  return n / (used / 1e6);
}

/**
 * Interleaves short slices of ours and the yardstick (order alternating) so that load from other processes hits
 * both alike; reports the median of each.
 */
function race(p: Pair): { ours: number; theirs: number } {
  for (let i = 0; i < 300; i++) {
    p.ours();
    p.theirs();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2) {
      a.push(slice(p.ours, SLICE_MS));
      b.push(slice(p.theirs, SLICE_MS));
    } else {
      b.push(slice(p.theirs, SLICE_MS));
      a.push(slice(p.ours, SLICE_MS));
    }
  }
  return { ours: median(a), theirs: median(b) };
}

export async function run(): Promise<Measurement[]> {
  const out: Measurement[] = [];
  const w4k = writeArgs(4096);
  const w1m = writeArgs(1 << 20);
  const cases: Array<[string, Pair]> = [
    ['GETATTR call encode+decode', callCase(NFS3.GETATTR, { object: fh }, 4096)],
    ['WRITE 4 KiB call encode+decode', callCase(NFS3.WRITE, w4k, 8192)],
    ['WRITE 1 MiB call encode+decode', callCase(NFS3.WRITE, w1m, (1 << 20) + 4096)],
    ['READDIRPLUS reply 100 entries encode+decode', replyCase(NFS3.READDIRPLUS, readdirplus, 64 * 1024)],
  ];
  for (const [name, pair] of cases) {
    console.error(`#   ${name}`);
    const r = race(pair);
    out.push(measurement('xdr', name, r.ours, 'ops/s', YARDSTICK, r.theirs, true));
  }
  // Zero-copy: encoding a 1 MiB WRITE call should cost what a 4 KiB one costs (ratio ~1; a copy would be ~1/100).
  console.error('#   WRITE encode 1 MiB vs 4 KiB');
  const enc = (a: WriteArgs) => () => void encodeCallRecord({ xid: 1, cred }, NFS3.WRITE, a);
  const z = race({ ours: enc(w1m), theirs: enc(w4k) });
  out.push(measurement('xdr', 'WRITE 1 MiB call encode (vs our 4 KiB encode)', z.ours, 'ops/s', 'xdr WRITE 4 KiB encode', z.theirs, true, 'target ~1x: payload not copied'));
  return out;
}
