// Captures the project makes itself give the same findings: one blktest run with scribbled duplicates (seed 000 at
// a small time scale) is recorded twice at once — by the netem proxy's synthesized pcap and by tcpdump on the real
// loopback traffic of the client leg — and inspect must report the same duplicated XIDs with the same payloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectFiles } from '../captures';
import { runBlktest } from '../client/blktest';
import { DEFAULTS } from '../lab/repro';
import { isRoot, missingTools } from '../lab/peers/tools';
import { createProxy } from '../netem';
import { startTcpdump } from '../netem/capture/tcpdump';
import { startServer } from '../server';
import { NFSPROC3 } from '../xdr/nfs3/constants';

const skip = missingTools(['tcpdump', 'tcpdump']) ?? (isRoot() ? undefined : 'needs root to capture on lo');

test('the proxy pcap and a tcpdump capture of the same run give the same findings', { skip, timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-crosscheck-'));
  const exportDir = path.join(dir, 'export');
  fs.mkdirSync(exportDir);
  const synth = path.join(dir, 'proxy.pcap');
  const real = path.join(dir, 'tcpdump.pcap');
  const server = await startServer({ exportDir, drc: { mode: 'off' }, timeScale: DEFAULTS.timeScale, stateDir: path.join(dir, 'state') });
  const proxy = await createProxy({
    upstream: server.address,
    timeScale: DEFAULTS.timeScale,
    capture: synth,
    faults: [{ kind: 'stall', duration: DEFAULTS.stall, every: DEFAULTS.every, unit: 'packets', direction: 'both', resume: 'backoff' }],
  });
  const dump = await startTcpdump(real, [proxy.address.port]);
  try {
    const r = await runBlktest({
      host: proxy.address.host,
      port: proxy.address.port,
      exportPath: '/export',
      file: 'x.dat',
      count: DEFAULTS.count,
      inflight: DEFAULTS.inflight,
      scribbleHoldMs: 45_000,
      timeScale: DEFAULTS.timeScale,
      seed: 3,
      beforeVerify: async () => {
        for (const f of proxy.faults()) proxy.removeFault(f.id);
      },
    });
    assert.ok(r.lateTransmissions > 0, 'the run must produce scribbled duplicates to compare');
  } finally {
    await dump.stop();
    await proxy.close();
    await server.close();
  }
  const port = `:${proxy.address.port}`;
  // The same view from both files: WRITE duplicates on the client leg, each with its transmissions' payload hashes.
  const view = async (file: string) => {
    const rep = await inspectFiles([file]);
    return rep.differingDuplicates
      .filter((d) => d.proc === NFSPROC3.WRITE)
      .map((d) => ({ xid: d.xid, offset: d.offset, payloads: d.transmissions.filter((t) => t.connection.endsWith(port)).map((t) => t.payloadSha1) }))
      .filter((d) => d.payloads.length > 1)
      .sort((a, b) => a.xid.localeCompare(b.xid));
  };
  const fromProxy = await view(synth);
  const fromTcpdump = await view(real);
  assert.ok(fromProxy.length > 0);
  assert.deepEqual(fromTcpdump, fromProxy);
  fs.rmSync(dir, { recursive: true, force: true });
});
