// Regression (issue 15 item 3): a record made of 1-byte fragments (`00 00 00 01 xx`, last-fragment bit never set)
// used to keep one Buffer view per fragment, about 110 bytes of heap per byte received and outside
// --max-pending-bytes; 11 connections x 20 MB killed the server (out of heap). A partial record is now held in
// blocks (xdr/record.ts FragmentAssembler): its bytes plus at most one 64 KiB block, drawn from the budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { XdrError } from '../core/errors';
import { ByteBudget, DirectFramer } from '../server/rpc/direct-framer';
import { RecordDecoder } from '../xdr/record';
import { NFS3 } from '../xdr/nfs3/procs';
import { RawRpc, sleep } from '../testing/server-rpc';
import { spawnServer } from './support/cli';

const KiB = 1024;

/** A 1-byte fragment per byte of body, then a last fragment carrying `tail` (none: the record never ends). */
function tinyFragments(body: Buffer, tail: Buffer | null = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(body.length * 5 + (tail ? 4 + tail.length : 0));
  for (let i = 0; i < body.length; i++) {
    out.writeUInt32BE(1, i * 5);
    out[i * 5 + 4] = body[i];
  }
  if (!tail) return out;
  out.writeUInt32BE((0x80000000 | tail.length) >>> 0, body.length * 5);
  tail.copy(out, body.length * 5 + 4);
  return out;
}

function feedDirect(f: DirectFramer, wire: Buffer, onRecord: (r: Buffer) => void, each?: () => void): void {
  let o = 0;
  while (o < wire.length) {
    const dst = f.nextBuffer();
    const n = Math.min(dst.length, wire.length - o);
    wire.copy(dst, 0, o, o + n);
    o += n;
    f.advance(n, onRecord);
    each?.();
  }
}

test('framer: 200,000 1-byte fragments are held as their bytes plus one block, counted in the budget', () => {
  const budget = new ByteBudget(256 * KiB * KiB);
  const f = new DirectFramer({ budget });
  const body = crypto.randomBytes(200_000);
  const tail = crypto.randomBytes(100);
  const wire = tinyFragments(body, tail);
  const out: Buffer[] = [];
  let maxUsed = 0;
  let o = 0;
  while (o < wire.length - tail.length - 4) {
    const dst = f.nextBuffer();
    const n = Math.min(dst.length, wire.length - tail.length - 4 - o);
    wire.copy(dst, 0, o, o + n);
    o += n;
    f.advance(n, (r) => out.push(r));
    maxUsed = Math.max(maxUsed, budget.used);
    const received = Math.floor(o / 5);
    // Counted: what arrived is reserved. Bounded: no more than that plus one 64 KiB block.
    assert.ok(budget.used >= received, `budget holds ${budget.used} for ${received} received bytes`);
    assert.ok(budget.used <= received + 64 * KiB, `budget holds ${budget.used} for ${received} received bytes`);
  }
  assert.equal(out.length, 0);
  feedDirect(f, wire.subarray(o), (r) => out.push(r));
  assert.equal(out.length, 1);
  assert.ok(out[0].equals(Buffer.concat([body, tail])));
  assert.equal(budget.used, 0, 'the budget is returned once the record is complete');
  assert.ok(maxUsed > 0);
});

test('framer: tiny fragments past --max-pending-bytes throw RM_PENDING_BUDGET (the connection closes)', () => {
  const budget = new ByteBudget(100 * KiB);
  const f = new DirectFramer({ budget });
  assert.throws(
    () => feedDirect(f, tinyFragments(crypto.randomBytes(300 * KiB), null), () => {}),
    (e) => e instanceof XdrError && e.code === 'RM_PENDING_BUDGET',
  );
  f.dispose();
  assert.equal(budget.used, 0, 'dispose returns what the partial record held');
});

test('decoder: the chunk framer holds tiny fragments as bytes too, records byte-exact', () => {
  const dec = new RecordDecoder();
  const body = crypto.randomBytes(50_000);
  const wire = Buffer.concat([tinyFragments(body, Buffer.from('end')), tinyFragments(Buffer.from('ab'))]);
  const out: Buffer[] = [];
  for (let o = 0; o < wire.length; o += 1000) dec.push(wire.subarray(o, o + 1000), (r) => out.push(r));
  assert.deepEqual(
    out.map((r) => r.toString('hex')),
    [Buffer.concat([body, Buffer.from('end')]).toString('hex'), '6162'],
  );
  assert.equal(dec.buffered, 0);
});

// Regression: past the budget, a fragment shorter than the grow path's first Buffer (256 KiB) got a 256 KiB
// Buffer, so the socket read the next record's bytes into it and the fragment came out 256 KiB long.
test('framer: a 20 KiB fragment outside the budget ends where its header says', () => {
  const f = new DirectFramer({ budget: new ByteBudget(0) });
  const a = crypto.randomBytes(20 * KiB);
  const b = crypto.randomBytes(100);
  const wire = Buffer.concat([Buffer.from([0x80, 0x00, 0x50, 0x00]), a, Buffer.from([0x80, 0, 0, 100]), b]);
  const out: Buffer[] = [];
  f.advance(wire.copy(f.nextBuffer(), 0, 0, 1000), (r) => out.push(r)); // the fragment starts: direct mode
  feedDirect(f, wire.subarray(1000), (r) => out.push(r));
  assert.deepEqual(
    out.map((r) => r.length),
    [a.length, b.length],
  );
  assert.ok(out[0].equals(a) && out[1].equals(b));
});

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function getJson(url: string): Promise<any> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
}

test('server: 11 connections flooding 1-byte fragments neither kill the server nor slow NULL', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-tinyfrag-'));
  fs.mkdirSync(path.join(dir, 'export'));
  // A 128 MiB heap: on 86554d1 the views for 8.8 M fragments (about 1 GB of heap) ended the process within
  // seconds; held as bytes the flood needs about 9 MiB of ArrayBuffers and no heap.
  const server = await spawnServer(['--export', path.join(dir, 'export'), '--state-dir', path.join(dir, 'state'), '--port', '0', '--api', '127.0.0.1:0'], 15_000, ['--max-old-space-size=128']);
  const socks: net.Socket[] = [];
  try {
    const port = server.nfsPort;
    const api = server.ready.api;
    const probe = await RawRpc.connect(port);
    const nullRtt = async () => {
      const t0 = process.hrtime.bigint();
      await probe.call(NFS3.NULL, undefined);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    await nullRtt();
    const rssBefore = rssKiB(server.child.pid!);

    const perConn = 800_000; // record bytes each: under the 4 MiB + 64 KiB record limit
    const wire = tinyFragments(crypto.randomBytes(perConn), null);
    const sent: Array<Promise<void>> = [];
    for (let i = 0; i < 11; i++) {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('error', () => {});
      socks.push(s);
      sent.push(new Promise((resolve) => s.write(wire, () => resolve())));
    }
    // NULL round trips while the flood is being parsed, then once all of it is held.
    const during: number[] = [];
    let flooding = true;
    const allSent = Promise.all(sent).then(() => (flooding = false));
    while (flooding) {
      during.push(await nullRtt());
      await sleep(20);
    }
    await allSent;
    const want = 11 * perConn;
    let stats: any;
    for (let i = 0; i < 300; i++) {
      stats = await getJson(`${api}/stats`);
      if (stats.connections.pendingBytes >= want) break;
      await sleep(100);
    }
    assert.ok(stats.connections.pendingBytes >= want, `pending ${stats.connections.pendingBytes} of ${want} record bytes ${JSON.stringify(stats.connections)} ${server.stderr().slice(-1000)}`);
    assert.ok(stats.connections.pendingBytes <= want + 11 * 64 * KiB, `pending ${stats.connections.pendingBytes}: more than the bytes plus a block each`);
    const after: number[] = [];
    for (let i = 0; i < 20; i++) after.push(await nullRtt());
    const rssAfter = rssKiB(server.child.pid!);
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    // The README's figures come from this line.
    console.log(`# tiny-fragment flood: ${want} record bytes in ${(want * 5) / 1e6} MB of 1-byte fragments over 11 connections; server RSS ${Math.round(rssBefore / 1024)} -> ${Math.round(rssAfter / 1024)} MiB; NULL median ${median(during).toFixed(1)} ms during (${during.length} calls, max ${Math.max(...during).toFixed(1)}), ${median(after).toFixed(1)} ms after`);
    assert.equal(server.child.exitCode, null, `server exited: ${server.stderr().slice(-500)}`);
    // The held bytes are ArrayBuffers (RSS), not views on the heap: RSS grows by about the bytes held.
    assert.ok(rssAfter - rssBefore < 64 * 1024, `RSS grew by ${rssAfter - rssBefore} KiB for ${want / 1024} KiB held`);
    // Issue 15 asks for 100 ms; the median, because a loaded CI machine can stall any single call.
    assert.ok(median(after) < 100, `NULL median ${median(after)} ms once the flood is held`);
    assert.ok(during.length === 0 || median(during) < 100, `NULL median ${median(during)} ms during the flood`);
    probe.close();
  } finally {
    for (const s of socks) s.destroy();
    const st = await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(st.code, 0, `server exit: ${JSON.stringify(st)} ${server.stderr().slice(-300)}`);
  }
});
