// docker-compose.yml's services, started as local processes with the same arguments (only ports, paths and the
// time scale substituted), reproduce seed 000: the components talk over real loopback TCP and the same result
// follows as with `nfs-testbed repro`. (No container engine is needed for this; CI validates the file itself with
// `docker-compose config` in test/lab-compose.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { inspectFiles } from '../captures';
import { cliArgs, loadComposeCommands } from './support/compose';
import { freePort } from '../lab/peers/ganesha';
import { NFSPROC3 } from '../xdr/nfs3/constants';

const repo = path.join(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'cli', 'main.js');
const TIME_SCALE = '0.002';

function start(args: string[]): { child: ChildProcess; ready: Promise<string> } {
  const child = spawn(process.execPath, [cli, ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  const ready = new Promise<string>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.on('line', (l) => l.startsWith('ready') && resolve(l));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited ${code} before ready: ${err}`)));
  });
  return { child, ready };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    process.kill(child.pid!, 'SIGTERM');
  });
}

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
      if (a.startsWith('captures/')) return path.join(tmp, path.basename(a));
      return a.replace('20049', String(serverPort)).replace('20050', String(proxyPort));
    });
  const procs: ChildProcess[] = [];
  try {
    const server = start(subst(cliArgs(cmds.server)));
    procs.push(server.child);
    await server.ready;
    const netem = start(subst(cliArgs(cmds.netem)));
    procs.push(netem.child);
    await netem.ready;

    const blk = spawn(process.execPath, [cli, ...subst(cliArgs(cmds.client)), '--json'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(blk);
    let out = '';
    blk.stdout!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => blk.once('exit', resolve));
    const result = JSON.parse(out);
    // exit 3: corruption found (documented exit code)
    assert.equal(code, 3, out);
    await stop(netem.child);
    await stop(server.child);

    // witness 1: the client counted its own late transmissions
    assert.ok(result.lateTransmissions > 0, out);
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
    for (const p of procs) await stop(p);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
