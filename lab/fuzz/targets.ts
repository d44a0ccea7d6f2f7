// What the decoder fuzzer feeds: one target per decoder, each picking a seed from the corpus and running one
// mutated input through the sans-IO decoder. A target returns normally (accepted) or throws; the runner decides
// whether what was thrown is acceptable (a TestbedError with a stable code) or a crash.
import { CaptureReader } from '../../captures/readers/packet';
import { PcapReader } from '../../captures/readers/pcap';
import { PcapngReader } from '../../captures/readers/pcapng';
import { DirectFramer } from '../../server/rpc/direct-framer';
import { decodeReply } from '../../xdr/message';
import { NFS_PROGRAM } from '../../xdr/nfs3/constants';
import { XdrReader } from '../../xdr/reader';
import { RecordDecoder } from '../../xdr/record';
import { AUTH_FLAVOR, decodeAuthSys, decodeMessage } from '../../xdr/rpc';
import type { Rng } from '../../testing/xdr-arbitrary';
import { BodySeed, Corpus, codecFor } from './corpus';
import { MOUNT_PROGRAM } from '../../xdr/mount';
import { PMAP_PROGRAM } from '../../xdr/portmap';

export interface Seed {
  bytes: Buffer;
  codec?: BodySeed['codec'];
}

export interface FuzzTarget {
  name: string;
  /** the seeds this target mutates (empty: the target is skipped) */
  seeds(c: Corpus): Seed[];
  /** decodes one input; throws what the decoder throws */
  run(input: Buffer, g: Rng, seed: Seed): void;
}

/** A stream cut into chunks of random sizes, 1 byte up to 2x its mean, as a socket or a file read would. */
function* chunks(input: Buffer, g: Rng): Generator<Buffer> {
  const mean = 1 + g.int(Math.max(1, input.length));
  for (let o = 0; o < input.length; ) {
    const n = 1 + g.int(2 * mean);
    yield input.subarray(o, o + n);
    o += n;
  }
}

function bodyTarget(name: string, prog: number, kind: 'args' | 'results'): FuzzTarget {
  return {
    name,
    seeds: (c) => c[kind].filter((s) => s.codec.prog === prog),
    run(input, g, seed) {
      const r = new XdrReader(input, 0, input.length, g.bool());
      if (kind === 'args') seed.codec!.decodeArgs(r);
      else seed.codec!.decodeRes(r);
      r.expectEnd(`${seed.codec!.name} ${kind}`);
    },
  };
}

/** The call path the server takes (xdr/rpc.ts decodeMessage, AUTH_SYS, then the procedure's arguments). */
const rpcCall: FuzzTarget = {
  name: 'rpc-call',
  seeds: (c) => c.calls.map((bytes) => ({ bytes })),
  run(input, g) {
    const r = new XdrReader(input, 0, input.length, g.bool());
    const m = decodeMessage(r);
    if (m.type !== 'call') return;
    const { call } = m;
    if (call.cred.flavor === AUTH_FLAVOR.AUTH_SYS) decodeAuthSys(call.cred.body);
    const codec = codecFor(call.prog, call.vers, call.proc);
    if (!codec) return;
    codec.decodeArgs(r);
    r.expectEnd('call arguments');
  },
};

const rpcReply: FuzzTarget = {
  name: 'rpc-reply',
  seeds: (c) => c.replies,
  run(input, _g, seed) {
    decodeReply(input, seed.codec!);
  },
};

/** Checks a framer's output against its input: records never hold more bytes than arrived. */
function checkRecords(input: Buffer, records: Buffer[]): void {
  let sum = 0;
  for (const r of records) sum += r.length + 4;
  if (sum > input.length + 4 * records.length) throw new Error(`framer produced ${sum} bytes of records from ${input.length} bytes`);
}

const recordDecoder: FuzzTarget = {
  name: 'record-decoder',
  seeds: (c) => c.streams.map((bytes) => ({ bytes })),
  run(input, g) {
    const dec = new RecordDecoder({ maxRecordSize: g.pick([64, 4096, 65536, undefined]) });
    const records: Buffer[] = [];
    for (const c of chunks(input, g)) dec.push(c, (r) => records.push(r));
    checkRecords(input, records);
  },
};

/** The server's direct-read framer, driven the way the socket adapter drives it (server/rpc/connection.ts). */
const directFramer: FuzzTarget = {
  name: 'direct-framer',
  seeds: (c) => c.streams.map((bytes) => ({ bytes })),
  run(input, g) {
    const f = new DirectFramer({ maxRecordSize: g.pick([64, 4096, 65536, undefined]), stageBytes: g.pick([8192, 65536]), directMin: g.pick([16, 1024, 16384]) });
    const records: Buffer[] = [];
    for (let o = 0; o < input.length; ) {
      const dst = f.nextBuffer();
      if (dst.length === 0) throw new Error('direct framer offered an empty read buffer (a reader would spin)');
      const n = Math.min(dst.length, input.length - o, 1 + g.int(8192));
      input.copy(dst, 0, o, o + n);
      o += n;
      f.advance(n, (r) => records.push(r));
    }
    checkRecords(input, records);
  },
};

function captureTarget(name: string, make: () => CaptureReader, pick: (c: Corpus) => Buffer[]): FuzzTarget {
  return {
    name,
    seeds: (c) => pick(c).map((bytes) => ({ bytes })),
    run(input, g) {
      const reader = make();
      for (const c of chunks(input, g)) reader.push(c, () => {});
      reader.end();
    },
  };
}

export const TARGETS: readonly FuzzTarget[] = [
  rpcCall,
  rpcReply,
  bodyTarget('nfs3-args', NFS_PROGRAM, 'args'),
  bodyTarget('nfs3-results', NFS_PROGRAM, 'results'),
  bodyTarget('mount-args', MOUNT_PROGRAM, 'args'),
  bodyTarget('mount-results', MOUNT_PROGRAM, 'results'),
  bodyTarget('portmap-args', PMAP_PROGRAM, 'args'),
  bodyTarget('portmap-results', PMAP_PROGRAM, 'results'),
  recordDecoder,
  directFramer,
  captureTarget('pcap-reader', () => new PcapReader(), (c) => c.pcap),
  captureTarget('pcapng-reader', () => new PcapngReader(), (c) => c.pcapng),
];
