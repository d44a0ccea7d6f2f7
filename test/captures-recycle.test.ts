// captures/source.ts reads a pcap file into chunks it reuses once the pipeline holds nothing of them
// (ChunkRecycler, issue 20). A chunk reused too early would put later bytes under the TCP history's views: a
// retransmission compared with its first copy would then differ. The same capture inspected from memory (no
// chunks, no reuse) must give the same report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectBytes, inspectFiles } from '../captures/inspect';
import { HISTORY_WINDOW } from '../captures/tcp/direction';
import { TcpConv, LT, pcapFile, timed, record, writeCall, writeReply, counter } from '../testing/captures-builder';

const MSS = 1448;
const WRITE = 256 * 1024;

/** Filler WRITEs on connection `c` until `bytes` more frame bytes were added to `frames`. */
function writes(c: TcpConv, frames: Buffer[], bytes: number, xid: { n: number }): void {
  let added = 0;
  while (added < bytes) {
    const id = xid.n++;
    for (const f of [...c.clientSegments(record(writeCall(id, BigInt(id) * BigInt(WRITE), counter(WRITE, id))), MSS), c.fromServer(record(writeReply(id, WRITE)))]) {
      frames.push(f);
      added += f.length;
    }
  }
}

test('recycled read chunks: retransmissions still compare with their first copy, report as from memory', async () => {
  const x = new TcpConv({ cport: 901, cisn: 77 });
  const y = new TcpConv({ cport: 902, cisn: 5000 });
  const frames: Buffer[] = [...x.handshake(), ...y.handshake()];
  const xid = { n: 1 };
  // Far past the history window, so that chunks are forgotten and read into again.
  writes(y, frames, HISTORY_WINDOW + 12 * 1024 * 1024, xid);
  // X's call, then 8 MiB of Y, then X's first four segments again with the same bytes (retransmissions whose
  // first copies lie in chunks read 8 MiB earlier; the history still holds them).
  const seq = x.cseq;
  const call = record(writeCall(0x7000, 0n, counter(64 * 1024, 99)));
  const segs = x.clientSegments(call, MSS);
  frames.push(...segs);
  writes(y, frames, 8 * 1024 * 1024, xid);
  for (let k = 0; k < 4; k++) frames.push(x.fromClient(call.subarray(k * MSS, (k + 1) * MSS), (seq + k * MSS) >>> 0));
  frames.push(x.fromServer(record(writeReply(0x7000, 64 * 1024))));
  writes(y, frames, 8 * 1024 * 1024, xid);
  const capture = pcapFile(timed(frames), { linktype: LT.ETHERNET });
  assert.ok(capture.length > HISTORY_WINDOW + 24 * 1024 * 1024);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-recycle-'));
  const file = path.join(dir, 'recycle.pcap');
  const slow = Buffer.allocUnsafeSlow;
  let fresh = 0;
  try {
    fs.writeFileSync(file, capture);
    Buffer.allocUnsafeSlow = (n: number) => {
      if (n >= 1024 * 1024) fresh++;
      return slow(n);
    };
    const fromFile = await inspectFiles([file]);
    Buffer.allocUnsafeSlow = slow;
    const fromMemory = inspectBytes([capture]).report;
    // Chunks were reused: fewer fresh 1 MiB reads than the file has MiB.
    assert.ok(fresh < capture.length / (1024 * 1024) - 8, `${fresh} fresh chunks for ${capture.length} bytes`);
    assert.equal(fromFile.writeCalls, xid.n);
    assert.equal(fromFile.tcpRetransmissionDiffCount, 0);
    assert.equal(fromFile.tcpUncomparedBytes, 0);
    assert.deepEqual({ ...fromFile, files: [] }, { ...fromMemory, files: [] });
  } finally {
    Buffer.allocUnsafeSlow = slow;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
