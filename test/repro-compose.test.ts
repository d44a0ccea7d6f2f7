// docker-compose.yml's services, started as local processes with the same arguments (only ports, paths and the
// time scale substituted), reproduce seed 000: the components talk over real loopback TCP and the same result
// follows as with `nfs-testbed repro`. (No container engine is needed for this; CI validates the file itself with
// `docker-compose config` in test/lab-compose.test.ts.)
// The one substitution that is not a port, path or time scale: the client's policy. The file runs linux-2008, whose
// faithful race (a duplicate already in the socket when the reply comes) is rare: repro reproduces it in 4 of 5
// seeds within 16 stalls, so a fixed budget would make this test a coin toss (2 of 3 runs missed it at 1/50).
// no-cancel (the amplifier: queued duplicates also leave late) reproduces on every run, and what this test checks
// is the compose wiring (the services' arguments, ports, capture and trace files) end to end; linux-2008's own
// reproduction is pinned by test/repro.test.ts's seed-path test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectFiles } from '../captures';
import { cliArgs, loadComposeCommands } from './support/compose';
import { freePort } from '../lab/peers/ganesha';
import { NFSPROC3 } from '../xdr/nfs3/constants';
import { startCli, runCliAsync, type CliChild } from './support/cli';

const repo = path.join(__dirname, '..', '..');
const TIME_SCALE = '0.02';

test('the compose services as local processes reproduce the bug', async () => {
  const cmds = loadComposeCommands(path.join(repo, 'docker-compose.yml'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-compose-'));
  const exportDir = path.join(tmp, 'export');
  fs.mkdirSync(exportDir);
  const [serverPort, proxyPort] = [await freePort(), await freePort()];
  // Substitute what differs between a container and this machine; every other argument stays as in the file.
  const subst = (args: string[]) =>
    args.map((a, i) => {
      const prev = args[i - 1];
      if (prev === '--export' && args[0] === 'server') return exportDir;
      if (prev === '--time-scale') return TIME_SCALE;
      if (prev === '--policy') return 'no-cancel';
      // --until-late ends the run at the first late transmission; a longer bound only gives more stalls when the
      // race (the reply matched while a duplicate is still queued) is lost to load: one full suite under load saw
      // 74 retransmissions and no late one within 10 modelled minutes.
      if (prev === '--duration') return '30m';
      if (a.startsWith('captures/')) return path.join(tmp, path.basename(a));
      return a.replace('20049', String(serverPort)).replace('20050', String(proxyPort));
    });
  const procs: CliChild[] = [];
  try {
    // The handle secret in the test's folder, not in the user's state directory (a container starts with its own).
    const server = await startCli([...subst(cliArgs(cmds.server)), '--state-dir', path.join(tmp, 'state')], { cwd: repo });
    procs.push(server);
    const netem = await startCli(subst(cliArgs(cmds.netem)), { cwd: repo });
    procs.push(netem);

    const blk = await runCliAsync([...subst(cliArgs(cmds.client)), '--json'], { cwd: repo });
    const out = blk.out;
    const result = JSON.parse(out);
    // exit 3: corruption found (documented exit code)
    assert.equal(blk.code, 3, out);
    await netem.stop();
    await server.stop();

    // witness 1: the client counted its own late transmissions
    assert.ok(result.lateTransmissions > 0, out);
    // XIDs in hex, as in every other output (issue 21: blktest --json printed them in decimal)
    assert.ok(result.lateXids.length > 0 && result.lateXids.every((x: unknown) => typeof x === 'string' && /^0x[0-9a-f]{8}$/.test(x)), out);
    // witness 3: blocks read back over NFS are corrupt
    assert.ok(result.corruptBlocks > 0, out);
    // witness 2: the proxy's capture has retransmitted WRITEs on the client leg whose payload differs
    const report = await inspectFiles([path.join(tmp, 'compose-seed.pcap')]);
    const differing = report.differingDuplicates.filter(
      (d) => d.proc === NFSPROC3.WRITE && d.transmissions.some((t) => !t.equalToFirst && t.connection.endsWith(`:${proxyPort}`)),
    );
    assert.ok(differing.length > 0, report.verdict);
    assert.ok(fs.existsSync(path.join(tmp, 'compose-journal.sqlite')));
    assert.ok(fs.existsSync(path.join(tmp, 'compose-trace.jsonl')));
  } finally {
    for (const p of procs) await p.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
