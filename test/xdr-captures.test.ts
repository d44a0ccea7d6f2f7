// Real bytes: every RPC call and reply that libnfs and nfs-ganesha exchanged in ../shared/captures decodes
// without error and re-encodes byte-identically, record marks included; the WRITE payloads are the uploaded
// file at their offsets, and the READ replies are the same file read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { RecordDecoder, encodeRecord } from '../xdr/record';
import { XdrReader } from '../xdr/reader';
import { ACCEPT_STAT, decodeMessage, type RpcCall } from '../xdr/rpc';
import { encodeCall, encodeReply } from '../xdr/message';
import { NFS3, NFS3_PROCS } from '../xdr/nfs3/procs';
import { MOUNT3_PROCS, MOUNT_PROGRAM } from '../xdr/mount';
import { NFS_PROGRAM } from '../xdr/nfs3/constants';
import type { ProcCodec } from '../xdr/procedure';
import type { ReadArgs, ReadRes, WriteArgs } from '../xdr/nfs3/types';
import { readTcpStreams } from '../testing/xdr-pcap-lite';

const repoRoot = path.join(__dirname, '..', '..');
const dir = path.join(repoRoot, '..', 'shared', 'captures');
const skip = fs.existsSync(dir) ? false : `captures not found at ${dir} (../shared is absent on a fresh clone)`;
// libnfs-ganesha captures: nfs-ganesha listens on 12049 (NFS) and 12050 (MOUNT).
const SERVER_PORTS = new Set([12049, 12050]);
const TABLES = new Map<number, ReadonlyArray<ProcCodec<any, any>>>([
  [NFS_PROGRAM, NFS3_PROCS],
  [MOUNT_PROGRAM, MOUNT3_PROCS],
]);

interface Exchange {
  call: RpcCall;
  codec: ProcCodec<any, any>;
  args: unknown;
  res?: unknown;
  replied: boolean;
}

/** Decodes both directions of every connection, checking each record re-encodes to its original bytes. */
function replay(file: string): Exchange[] {
  const byXid = new Map<string, Exchange>(); // client port / xid
  const streams = readTcpStreams(path.join(dir, file));
  // calls first so that replies can find their procedure
  streams.sort((a, b) => Number(SERVER_PORTS.has(a.srcPort)) - Number(SERVER_PORTS.has(b.srcPort)));
  for (const s of streams) {
    const fromServer = SERVER_PORTS.has(s.srcPort);
    assert.ok(fromServer || SERVER_PORTS.has(s.dstPort), `${file}: unexpected connection ${s.key}`);
    const framed: Buffer[] = [];
    const dec = new RecordDecoder();
    for (const chunk of s.chunks) {
      dec.push(chunk, (rec) => {
        const r = new XdrReader(rec);
        const m = decodeMessage(r);
        let again: Buffer[];
        if (m.type === 'call') {
          assert.ok(!fromServer, `${s.key}: call from the server`);
          const codec = TABLES.get(m.call.prog)?.[m.call.proc];
          assert.ok(codec && codec.vers === m.call.vers, `${s.key}: no codec for prog ${m.call.prog} v${m.call.vers} proc ${m.call.proc}`);
          const args = codec.decodeArgs(r);
          r.expectEnd(`${codec.name} call`);
          byXid.set(`${s.srcPort}/${m.call.xid}`, { call: m.call, codec, args, replied: false });
          again = encodeCall(m.call, codec, args);
        } else {
          const x = byXid.get(`${s.dstPort}/${m.reply.xid}`);
          assert.ok(x, `${s.key}: reply to unknown xid ${m.reply.xid}`);
          assert.ok(m.reply.stat === 'accepted' && m.reply.acceptStat === ACCEPT_STAT.SUCCESS, `${x.codec.name} reply not accepted SUCCESS`);
          x.res = x.codec.decodeRes(r);
          x.replied = true;
          r.expectEnd(`${x.codec.name} reply`);
          again = encodeReply(m.reply.xid, x.codec, x.res, m.reply.verf);
        }
        assert.deepEqual(Buffer.concat(again), rec, `${s.key}: re-encoded record differs`);
        framed.push(...encodeRecord(again));
      });
    }
    assert.ok(dec.idle, `${s.key}: stream ends inside a record`);
    // libnfs and ganesha send each record as a single fragment, so the record marks must match too.
    assert.deepEqual(Buffer.concat(framed), Buffer.concat(s.chunks), `${s.key}: re-framed stream differs`);
  }
  const all = [...byXid.values()];
  for (const x of all) assert.ok(x.replied, `${x.codec.name} xid ${x.call.xid} has no reply`);
  return all;
}

const names = (xs: Exchange[]) => new Set(xs.map((x) => `${x.call.prog === NFS_PROGRAM ? 'NFS' : 'MOUNT'}.${x.codec.name}`));

test('libnfs-ganesha-ls.pcap: MOUNT, FSINFO, GETATTR, READDIRPLUS decode and re-encode byte-identically', { skip }, () => {
  const xs = replay('libnfs-ganesha-ls.pcap');
  const seen = names(xs);
  for (const n of ['MOUNT.NULL', 'MOUNT.MNT', 'MOUNT.EXPORT', 'NFS.NULL', 'NFS.FSINFO', 'NFS.GETATTR', 'NFS.READDIRPLUS']) assert.ok(seen.has(n), `${n} missing from ${[...seen]}`);
});

test('libnfs-ganesha-write.pcap: every record re-encodes, and the WRITE payloads are the source file', { skip }, () => {
  const source = fs.readFileSync(path.join(dir, 'libnfs-ganesha-write.source.bin'));
  const xs = replay('libnfs-ganesha-write.pcap');
  const writes = xs.filter((x) => x.codec === NFS3.WRITE).map((x) => x.args as WriteArgs);
  assert.ok(writes.length > 0, 'no WRITE calls');
  let covered = 0;
  for (const w of writes) {
    assert.equal(w.data.length, w.count);
    const at = Number(w.offset);
    assert.ok(w.data.equals(source.subarray(at, at + w.count)), `WRITE at ${at} differs from the source file`);
    covered += w.count;
  }
  assert.equal(covered, source.length);
  assert.ok(names(xs).has('NFS.COMMIT'));
});

test('libnfs-ganesha-read.pcap: every record re-encodes, and the READ replies are the source file', { skip }, () => {
  const source = fs.readFileSync(path.join(dir, 'libnfs-ganesha-write.source.bin'));
  const xs = replay('libnfs-ganesha-read.pcap');
  const reads = xs.filter((x) => x.codec === NFS3.READ);
  assert.ok(reads.length > 0, 'no READ calls');
  let covered = 0;
  for (const x of reads) {
    const a = x.args as ReadArgs;
    const res = x.res as ReadRes;
    assert.equal(res.status, 0);
    if (res.status !== 0) continue;
    const at = Number(a.offset);
    assert.ok(res.data.equals(source.subarray(at, at + res.count)), `READ at ${at} differs from the source file`);
    covered += res.count;
  }
  assert.equal(covered, source.length);
});
