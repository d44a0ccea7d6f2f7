// The real captures in ../shared/captures, with tshark as the oracle: the set of (xid, offset, count, payload
// hash) of WRITE calls we extract equals tshark's, and libnfs' upload equals the file it uploaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { inspectFilesDetailed } from '../captures/inspect';
import { missingTools } from '../lab/peers/tools';

const SHARED = path.join(__dirname, '..', '..', '..', 'shared', 'captures');
const noShared = fs.existsSync(SHARED) ? undefined : `needs ${SHARED} (real captures; absent in a fresh clone)`;
const skip = noShared ?? missingTools(['tshark', 'tshark'], ['bzip2', 'bzip2']);

const CAPTURES = noShared ? [] : fs.readdirSync(SHARED).filter((f) => /\.(pcap|pcapng)(\.bz2)?$/.test(f)).sort();

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

/** tshark's WRITE calls as "xid offset count sha1" strings; several RPC messages in one frame are aligned by type. */
function tsharkWrites(file: string): string[] {
  let input = path.join(SHARED, file);
  if (file.endsWith('.bz2')) {
    const tmp = path.join(fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'nfst-cap-')), file.replace(/\.bz2$/, ''));
    const r = spawnSync('bzip2', ['-dc', input], { maxBuffer: 1 << 30 });
    assert.equal(r.status, 0);
    fs.writeFileSync(tmp, r.stdout);
    input = tmp;
  }
  const args = ['-r', input, '-d', 'tcp.port==12049,rpc', '-d', 'tcp.port==12050,rpc', '-d', 'udp.port==2049,rpc', '-T', 'fields'];
  for (const f of ['rpc.xid', 'rpc.msgtyp', 'nfs.procedure_v3', 'nfs.offset3', 'nfs.count3', 'nfs.data']) args.push('-e', f);
  args.push('-Y', 'rpc.msgtyp==0 && nfs.procedure_v3==7');
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (file.endsWith('.bz2')) fs.rmSync(path.dirname(input), { recursive: true, force: true });
  assert.equal(r.status, 0, r.stderr);
  const out: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const [xids, types, procs, offsets, counts, datas] = line.split('\t').map((c) => (c ? c.split(',') : []));
    const writeCalls = xids.filter((_, i) => types[i] === '0' && procs[i] === '7');
    // offset3/count3/data appear once per WRITE call in this frame; anything else would make them ambiguous.
    assert.equal(offsets.length, writeCalls.length, `ambiguous tshark line: ${line.slice(0, 200)}`);
    writeCalls.forEach((x, i) => out.push(`${x} ${offsets[i]} ${counts[i]} ${sha1(Buffer.from(datas[i] ?? '', 'hex'))}`));
  }
  return out.sort();
}

for (const file of CAPTURES.length ? CAPTURES : ['(none)']) {
  test(`WRITE calls of ${file} equal tshark's`, { skip }, async () => {
    const { transmissions } = await inspectFilesDetailed([path.join(SHARED, file)], { hashAll: true });
    const ours = transmissions
      .filter((t) => t.write)
      .map((t) => `0x${t.xid.toString(16).padStart(8, '0')} ${t.write!.offset} ${t.write!.count} ${t.payloadSha1}`)
      .sort();
    assert.deepEqual(ours, tsharkWrites(file));
  });
}

test('the WRITE payloads of libnfs-ganesha-write equal the uploaded file', { skip: noShared }, async () => {
  for (const f of ['libnfs-ganesha-write.pcap', 'libnfs-ganesha-write.pcapng']) {
    const src = fs.readFileSync(path.join(SHARED, 'libnfs-ganesha-write.source.bin'));
    // --hexdiff on every WRITE xid keeps their payload copies in pass 2.
    const first = await inspectFilesDetailed([path.join(SHARED, f)]);
    const writes = first.transmissions.filter((t) => t.write);
    assert.ok(writes.length >= 2);
    const rebuilt = Buffer.alloc(src.length);
    let covered = 0;
    for (const t of writes) {
      const r = await inspectFilesDetailed([path.join(SHARED, f)], { hexdiffXid: t.xid });
      const data = r.payloads.get(t.index)!;
      assert.equal(data.length, t.write!.count);
      data.copy(rebuilt, Number(t.write!.offset));
      covered += data.length;
    }
    assert.equal(covered, src.length);
    assert.ok(rebuilt.equals(src), `${f}: reassembled WRITE payloads differ from the source file`);
  }
});

test('the real captures report no differing duplicates, and the UDP one its genuine identical retransmissions', { skip: noShared }, async () => {
  const r = await inspectFilesDetailed([path.join(SHARED, 'eth-ipv4-udp-nfsv3-dup-retransm.pcap.bz2')]);
  assert.equal(r.report.differingDuplicates.length, 0);
  assert.equal(r.report.corrupted, false);
  // tshark lists three XIDs twice (0x7673855e, 0xe23e865e, 0xe53e865e), each with the same offset.
  assert.deepEqual(r.report.identicalDuplicates.map((d) => d.xid).sort(), ['0x7673855e', '0xe23e865e', '0xe53e865e']);
  for (const d of r.report.identicalDuplicates) {
    assert.equal(d.transmissions.length, 2);
    assert.equal(d.equal, true);
  }
});
