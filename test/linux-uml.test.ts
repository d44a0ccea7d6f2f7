// user-mode-linux as the guest runner (lab/linux/uml.ts): --kernel tells a UML binary from a bzImage by its
// bytes, and Debian's user-mode-linux (6.1um) mounts our server and writes and verifies 4 MiB O_DIRECT on both
// network arrangements: user (no root: slirp with restrict=on in a machine-less QEMU, joined to UML by L2TPv3
// over 127.0.0.1) and tap (root: a tap in a namespace the run makes). UML's kernel has no sunrpc tracepoints;
// the mountstats still come back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testServer } from '../testing/server-rpc';
import { silentLogger } from '../core/log';
import { TestbedError } from '../core/errors';
import { runBlktest } from '../client/blktest';
import { LinuxNfsd } from '../lab/linux/nfsd';
import { chooseKernel, runLinuxClient, USER_NETWORK_CAVEAT, type LinuxClientResult } from '../lab/linux/client';
import { buildImage, debianKernel, debianUml, kernelKind } from '../lab/linux/image';
import { linuxUmlMissing, linuxTapMissing } from '../lab/linux/requirements';
import { assertNothingLeft } from './support/linux';

const skip = linuxUmlMissing();
const skipTap = skip ?? linuxTapMissing();
const code = (c: string) => (e: unknown) => e instanceof TestbedError && e.code === c;

test('kernelKind: an ELF with a user-space entry is UML, "HdrS" at 0x202 is a bzImage, a vmlinux and junk are refused', () => {
  const elf = (entry: bigint) => {
    const b = Buffer.alloc(64);
    b.writeUInt32BE(0x7f454c46, 0);
    b[4] = 2; // ELFCLASS64
    b[5] = 1; // ELFDATA2LSB
    b.writeBigUInt64LE(entry, 0x18);
    return b;
  };
  assert.equal(kernelKind(elf(0x60000000n)), 'uml');
  assert.throws(() => kernelKind(elf(0xffffffff81000000n)), (e: unknown) => code('KERNEL_UNKNOWN')(e) && /vmlinux/.test((e as Error).message));
  const bz = Buffer.alloc(0x400);
  bz.write('HdrS', 0x202, 'latin1');
  assert.equal(kernelKind(bz), 'qemu');
  assert.throws(() => kernelKind(Buffer.from('#!/bin/sh\necho not a kernel\n')), code('KERNEL_UNKNOWN'));
});

test("--kernel: Debian's linux.uml is a UML binary and its vmlinuz a bzImage; --guest must agree with the file", { skip }, () => {
  const uml = debianUml();
  const qemu = debianKernel();
  assert.equal(chooseKernel({ kernel: uml.image, modules: uml.modulesDir }).kind, 'uml');
  assert.equal(chooseKernel({ kernel: qemu.image }).kind, 'qemu');
  assert.equal(chooseKernel({ guest: 'uml' }).kind, 'uml');
  assert.throws(() => chooseKernel({ kernel: qemu.image, guest: 'uml' }), code('LINUX_GUEST_MISMATCH'));
});

test('the builder loads nfs.ko where a kernel has no nfsv3 module (before 3.6 NFSv3 was inside nfs.ko)', { skip }, (t) => {
  const uml = debianUml();
  assert.ok(buildImage('client', uml).modules.includes('nfsv3'));
  // The same modules, as symlinks, without nfsv3.ko: what a pre-3.6 tree looks like to the builder.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linux-uml-mods-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  execFileSync('cp', ['-rs', `${uml.modulesDir}/.`, dir]);
  for (const f of execFileSync('find', [dir, '-name', 'nfsv3.ko'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean)) fs.rmSync(f);
  const old = buildImage('client', { ...uml, modulesDir: dir });
  assert.ok(old.modules.includes('nfs') && !old.modules.includes('nfsv3'), old.modules.join(' '));
});

/** Our server (DRC off) on a fresh export, and the guest's run folder beside it; both removed after the test. */
async function exportedServer(t: { after: (fn: () => Promise<void> | void) => void }) {
  const { server, dir, cleanup } = await testServer({ logger: silentLogger, journal: undefined, drc: { mode: 'off' } });
  t.after(cleanup);
  return { server, dir, out: `${dir}-run` };
}

async function umlRun(t: { after: (fn: () => Promise<void> | void) => void }, network: 'user' | 'tap'): Promise<{ r: LinuxClientResult; dir: string }> {
  const { server, dir, out } = await exportedServer(t);
  const progress: string[] = [];
  const r = await runLinuxClient({ server: server.address, exportPath: '/export', count: 4, network, guest: 'uml', outDir: out, onProgress: (l) => progress.push(l) });
  await assertNothingLeft(r.guestPids);
  assert.equal(r.guest, 'uml');
  assert.ok(progress.some((l) => /^guest: uml .*no sunrpc tracepoints/.test(l)), `the run says which guest and that tracepoints are missing: ${progress.join(' | ')}`);
  assert.equal(r.rc, 0);
  assert.equal(r.network, network);
  assert.equal(r.blktest.writes.length, 4);
  assert.equal(r.corruptBlocks, 0);
  assert.equal(r.tracepoints, false, "UML's kernel has no sunrpc tracepoints");
  assert.equal(r.mountstats.ops.WRITE?.ops, 4, 'the mountstats come back: each 1 MiB write() one WRITE');
  assert.ok((r.mountstats.xprt?.sends ?? 0) >= 4);
  const file = fs.readFileSync(path.join(dir, 'blktest2.dat'));
  assert.equal(file.length, 4 << 20);
  for (const o of [0, 1 << 20, (4 << 20) - 4]) assert.equal(file.readUInt32BE(o), o / 4);
  return { r, dir };
}

test('UML smoke (user networking, no root): mounts our server, writes and verifies 4 MiB O_DIRECT; slirp and UML both stopped', { skip }, async (t) => {
  const { r } = await umlRun(t, 'user');
  t.diagnostic(`boot to mounted ${r.bootToMountedMs} ms wall, run ${r.wallMs} ms, ${r.mibPerSec} MiB/s`);
  assert.equal(r.guestPids.length, 2, 'UML and its slirp process');
  assert.equal(r.verdictCaveat, USER_NETWORK_CAVEAT, 'user networking marks the verdict');
});

test('UML smoke (tap in a namespace, root): the same run with the netem proxy as the guest\'s TCP peer', { skip: skipTap }, async (t) => {
  const { r } = await umlRun(t, 'tap');
  t.diagnostic(`boot to mounted ${r.bootToMountedMs} ms wall, run ${r.wallMs} ms, ${r.mibPerSec} MiB/s`);
  assert.ok(r.netns, 'ran in its own namespace');
  assert.equal(r.guestPids.length, 1);
  assert.equal(r.verdictCaveat, null);
});

test('linux nfsd under UML: our blktest verifies against it through the slirp process; both processes stopped by PID', { skip }, async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'linux-uml-nfsd-'));
  const uml = debianUml();
  // --kernel with Debian's UML binary: the runner follows from the file.
  const nfsd = await LinuxNfsd.start({ outDir: out, kernel: uml.image, modules: uml.modulesDir });
  t.after(async () => {
    await nfsd.stop();
    await assertNothingLeft(nfsd.guest.pids);
    fs.rmSync(out, { recursive: true, force: true });
  });
  assert.equal(nfsd.guest.kind, 'uml');
  assert.equal(nfsd.guest.pids.length, 2, 'UML and its slirp process');
  assert.match(nfsd.versions, /\+3/);
  const r = await runBlktest({ host: '127.0.0.1', port: nfsd.nfsPort, mountPort: nfsd.mountPort, exportPath: nfsd.exportPath, file: 'plain', count: 4, wsize: 1 << 20, timeo: 60_000, policy: 'linux-2008' });
  assert.equal(r.corruptBlocks, 0);
  assert.equal(r.wsize, nfsd.maxBlockSize, "clamped to nfsd's FSINFO wtmax");
  const after = await nfsd.replyCacheStats();
  assert.ok(after.cacheMisses > 0, 'nfsd cached the WRITEs');
});

test("the seed's condition under UML (tap, root): write() returns with its retransmission in the socket; the later copy equals the first; mountstats count it", { skip: skipTap }, async (t) => {
  const { server, out } = await exportedServer(t);
  // Event-driven, as the QEMU test (lab/linux/seed-order.ts): each step waits for the guest's own timers.
  const r = await runLinuxClient({ server: server.address, exportPath: '/export', count: 4, timeo: 10, retrans: 2, network: 'tap', guest: 'uml', seedOrder: true, outDir: out });
  t.diagnostic(`held ${JSON.stringify(r.held)}; seed order ${JSON.stringify(r.seedOrder)}; WRITE ${JSON.stringify(r.mountstats.ops.WRITE)}`);
  await assertNothingLeft(r.guestPids);
  assert.equal(r.guest, 'uml');
  assert.ok(r.seedOrder, 'every step of the seed order happened');
  const h = r.held.find((w) => w.i === 1);
  assert.ok(h, 'the second write() returned while the socket held unacknowledged bytes');
  assert.ok(h.laterCopies >= 1, 'a later copy of that XID reached the proxy after the scribble');
  assert.equal(h.equal, true, 'inspect: the copies are byte-identical (6.1 copies on resend)');
  assert.equal(r.corruptBlocks, 0);
  assert.ok((r.mountstats.ops.WRITE?.transmissions ?? 0) > (r.mountstats.ops.WRITE?.ops ?? 0), 'mountstats count the retransmission (no tracepoints under UML)');
});
