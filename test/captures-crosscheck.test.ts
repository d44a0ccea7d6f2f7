// Captures the project makes itself give the same findings: one blktest run with scribbled duplicates (seed 000 at
// a small time scale) is recorded twice at once — by the netem proxy's synthesized pcap and by tcpdump on the real
// loopback traffic of the client leg — and inspect must report the same calls with the same payloads.
// The run uses no-cancel, the amplifier: every duplicate still queued at the reply is sent from the caller's buffer
// after write() returned and the buffer was scribbled, so scribbled copies reach the wire in every run. linux-2008
// finishes only the duplicate already in the socket, and whether the bytes the kernel takes after the reply are
// scribbled depends on timing (a late transmission counts when its last bytes are taken after the reply, which
// can be before the scribble): under load a run had late transmissions, 512 duplicated XIDs and none differing.
//
// The proxy's capture holds what the proxy read; tcpdump holds what was on the wire. They differ in one way only:
// bytes a client sent that the proxy never read because the connection was reset while they sat in the proxy's
// receive buffer (the client gives up on a connection stalled with retransmissions queued). That made this test
// fail 1 run in N (issue 16 §4). So per connection, the proxy's calls must be exactly the first calls of the
// tcpdump capture, at the same stream offsets with the same payloads; calls after them are reported.
// The server runs as in the reproduction, with SEED_SERVER_LIMITS: its default 2-minute record timeout lies only
// 18 modelled seconds beyond a stall plus its resume lag, and under CPU contention it closed the connection mid-run
// (the record-timeout close seen with the failure), another such reset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectFilesDetailed } from '../captures/inspect';
import { runBlktest } from '../client/blktest';
import { DEFAULTS, SEED_SERVER_LIMITS } from '../lab/repro';
import { isRoot, missingTools } from '../lab/peers/tools';
import { createProxy } from '../netem';
import { startTcpdump } from '../netem/capture/tcpdump';
import { startServer } from '../server';
import { NFSPROC3 } from '../xdr/nfs3/constants';

const skip = missingTools(['tcpdump', 'tcpdump']) ?? (isRoot() ? undefined : 'needs root to capture on lo');

test('the proxy pcap and a tcpdump capture of the same run give the same findings', { skip, timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-crosscheck-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const exportDir = path.join(dir, 'export');
  fs.mkdirSync(exportDir);
  const synth = path.join(dir, 'proxy.pcap');
  const real = path.join(dir, 'tcpdump.pcap');
  const server = await startServer({ exportDir, drc: { mode: 'off' }, timeScale: DEFAULTS.timeScale, stateDir: path.join(dir, 'state'), limits: SEED_SERVER_LIMITS });
  const proxy = await createProxy({
    upstream: server.address,
    timeScale: DEFAULTS.timeScale,
    capture: synth,
    faults: [{ kind: 'stall', duration: DEFAULTS.stall, every: DEFAULTS.every, unit: 'packets', direction: 'both', resume: 'backoff' }],
  });
  const dump = await startTcpdump(real, [proxy.address.port]);
  let tcpdumpStats: Awaited<ReturnType<typeof dump.stop>>;
  try {
    const r = await runBlktest({
      host: proxy.address.host,
      port: proxy.address.port,
      exportPath: '/export',
      file: 'x.dat',
      count: DEFAULTS.count,
      inflight: DEFAULTS.inflight,
      policy: 'no-cancel',
      scribbleHoldMs: 45_000,
      timeScale: DEFAULTS.timeScale,
      seed: 3,
      beforeVerify: async () => {
        for (const f of proxy.faults()) proxy.removeFault(f.id);
      },
    });
    assert.ok(r.latePaths.queued > 0, `the run must send queued duplicates after their reply (late: ${JSON.stringify(r.latePaths)})`);
    t.diagnostic(`late transmissions ${JSON.stringify(r.latePaths)}`);
  } finally {
    tcpdumpStats = await dump.stop();
    await proxy.close();
    await server.close();
  }
  // A packet tcpdump's ring lost would show as calls that differ from the proxy's: say that instead.
  t.diagnostic(`tcpdump: ${JSON.stringify(tcpdumpStats)}`);
  assert.equal(tcpdumpStats?.droppedByKernel, 0, `tcpdump dropped packets (${JSON.stringify(tcpdumpStats)}): its capture is not the whole wire`);
  const port = `:${proxy.address.port}`;
  // Client-leg WRITE calls per connection (keyed by the client's port), in stream order.
  const calls = async (file: string) => {
    const res = await inspectFilesDetailed([file], { hashAll: true });
    const by = new Map<number, string[]>();
    for (const t of res.transmissions) {
      if (t.proc !== NFSPROC3.WRITE || !t.connection.endsWith(port) || t.leg === 'server') continue;
      const l = by.get(t.clientPort) ?? [];
      l.push(`${t.streamOffset} ${t.xid.toString(16)} ${t.truncated ? 'truncated' : t.payloadSha1}`);
      by.set(t.clientPort, l);
    }
    return { by, report: res.report };
  };
  const fromProxy = await calls(synth);
  const fromTcpdump = await calls(real);
  // The scribbled copies the proxy read (the client leg's differing duplicates) are differing in tcpdump's capture
  // too; tcpdump may hold more, in calls the proxy never read.
  const differing = (rep: typeof fromProxy.report) => new Set(rep.differingDuplicates.filter((d) => d.leg !== 'server').map((d) => d.xid));
  const proxyDiffering = differing(fromProxy.report);
  const tcpdumpDiffering = differing(fromTcpdump.report);
  assert.ok(proxyDiffering.size > 0, 'the proxy capture holds scribbled duplicates');
  assert.deepEqual([...proxyDiffering].filter((x) => !tcpdumpDiffering.has(x)), [], 'differing in the proxy capture, not in tcpdump\'s');
  assert.deepEqual([...fromProxy.by.keys()].sort(), [...fromTcpdump.by.keys()].sort());
  let unread = 0;
  for (const [cport, p] of fromProxy.by) {
    const w = fromTcpdump.by.get(cport)!;
    // The proxy may have read the last call only in part (truncated): compare its offset and XID.
    const last = p.length - 1;
    assert.deepEqual(p.slice(0, last), w.slice(0, last), `connection from port ${cport}`);
    assert.equal(p[last].split(' ').slice(0, 2).join(' '), w[last].split(' ').slice(0, 2).join(' '));
    unread += w.length - p.length;
  }
  t.diagnostic(`${unread} WRITE transmissions were on the wire but never read by the proxy (connection reset)`);
});
