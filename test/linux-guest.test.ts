// The guest builder's parts, without booting anything: the cpio newc writer (read back by busybox cpio, an
// independent reader), the ELF .modinfo reader and the module load order on Debian's real modules, and the
// parsers of what a guest reports (mountstats and reply_cache_stats in the formats 6.1 printed here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpioNewc } from '../lab/linux/cpio';
import { elfSection } from '../lab/linux/elf';
import { loadOrder, parseModinfo, scanModules } from '../lab/linux/modules';
import { parseMountstats, parseBlktest } from '../lab/linux/report';
import { parseReplyCacheStats } from '../lab/linux/nfsd';
import { debianKernel } from '../lab/linux/image';
import { linuxGuestMissing } from '../lab/linux/requirements';
import { TestbedError } from '../core/errors';

const busybox = fs.existsSync('/bin/busybox') ? undefined : 'needs busybox (Debian busybox-static)';

test('cpio newc: busybox cpio lists and extracts what we wrote (dirs, files with modes, symlinks, odd sizes)', { skip: busybox }, () => {
  const data = Buffer.from('x'.repeat(1001));
  const archive = cpioNewc([
    { path: 'bin', type: 'dir' },
    { path: '/bin/tool', type: 'file', data, mode: 0o755 },
    { path: 'etc/a', type: 'file', data: Buffer.from('abc') },
    { path: 'bin/sh', type: 'symlink', target: 'tool' },
  ]);
  assert.equal(archive.length % 4, 0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpio-'));
  try {
    const list = execFileSync('/bin/busybox', ['cpio', '-t'], { input: archive, encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(list, ['bin', 'bin/tool', 'etc/a', 'bin/sh']);
    execFileSync('/bin/busybox', ['cpio', '-i', '-d'], { input: archive, cwd: dir });
    assert.ok(fs.readFileSync(path.join(dir, 'bin/tool')).equals(data));
    assert.equal(fs.statSync(path.join(dir, 'bin/tool')).mode & 0o777, 0o755);
    assert.equal(fs.readFileSync(path.join(dir, 'etc/a'), 'utf8'), 'abc');
    assert.equal(fs.readlinkSync(path.join(dir, 'bin/sh')), 'tool');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('elfSection refuses what is not ELF64 with a code', () => {
  assert.throws(() => elfSection(Buffer.from('not an elf file at all, not at all, not at all, not at all....'), '.modinfo'), (e: unknown) => e instanceof TestbedError && e.code === 'ELF_BAD');
  assert.throws(() => elfSection(Buffer.alloc(10), '.x'), (e: unknown) => e instanceof TestbedError && e.code === 'ELF_BAD');
});

test('parseModinfo splits NUL-separated key=value pairs', () => {
  const m = parseModinfo(Buffer.from('license=GPL\0depends=sunrpc,grace\0\0alias=fs-nfs\0alias=nfs\0'));
  assert.deepEqual(m.get('depends'), ['sunrpc,grace']);
  assert.deepEqual(m.get('alias'), ['fs-nfs', 'nfs']);
});

test("load order from Debian's modules: every module after all it depends on", { skip: linuxGuestMissing() }, () => {
  const k = debianKernel();
  const order = loadOrder(scanModules(k.modulesDir!), ['virtio_net', 'nfsv3', 'nfsd'], k.builtin);
  const names = order.map((m) => m.name);
  assert.ok(names.includes('sunrpc') && names.includes('lockd') && names.includes('nfs'));
  for (const [i, m] of order.entries()) for (const d of m.depends) if (names.includes(d)) assert.ok(names.indexOf(d) < i, `${d} before ${m.name}`);
  assert.equal(new Set(names).size, names.length, 'each module once');
  assert.throws(() => loadOrder(scanModules(k.modulesDir!), ['no_such_module'], k.builtin), (e: unknown) => e instanceof TestbedError && e.code === 'MODULE_MISSING');
});

// As the Debian 6.1 guest printed them on this machine.
const MOUNTSTATS = `device tmpfs mounted on /tmp with fstype tmpfs
device 10.213.0.1:/export mounted on /mnt with fstype nfs statvers=1.1
	opts:	rw,vers=3,rsize=1048576,wsize=1048576,namlen=255,hard,nolock,proto=tcp,port=32805,timeo=600,retrans=2
	RPC iostats version: 1.1  p/v: 100003/3 (nfs)
	xprt:	tcp 1004 0 2 0 0 16 16 0 16 0 2 0 0
	per-op statistics
	        NULL: 1 1 0 44 24 2 1 5 0
	     GETATTR: 0 0 0 0 0 0 0 0 0
	       WRITE: 4 5 1 4194848 544 41 46 89 0
	      FSINFO: 2 2 0 232 328 0 4 4 0`;

test('parseMountstats: the NFS mount\'s xprt line and per-op counters', () => {
  const m = parseMountstats(MOUNTSTATS.split('\n'));
  assert.deepEqual(m.xprt, { connects: 2, sends: 16, receives: 16, badXids: 0 });
  assert.deepEqual(m.ops.WRITE, { ops: 4, transmissions: 5, timeouts: 1, bytesSent: 4194848, bytesReceived: 544 });
  assert.equal(m.ops.GETATTR, undefined, 'unused procedures are left out');
});

test('parseReplyCacheStats: /proc/fs/nfsd/reply_cache_stats keys camel-cased', () => {
  const s = parseReplyCacheStats(['max entries:           31936', 'num entries:           65', 'cache hits:            0', 'payload misses:        34', 'longest chain len:     0']);
  assert.deepEqual(s, { maxEntries: 31936, numEntries: 65, cacheHits: 0, payloadMisses: 34, longestChainLen: 0 });
});

test('parseBlktest: blktest2 lines', () => {
  const r = parseBlktest([
    { text: 'write i=1 off=1048576 ret=1048576 us=4070703 txq=275480 t=9000', at: 5 },
    { text: 'corrupt block=2 off=2097152 badwords=7 first=2097160 found=0xdeadbeef', at: 6 },
    { text: 'done writes=4 bytes=4194304 write_us=4200000 corrupt=1', at: 7 },
  ]);
  assert.deepEqual(r.writes, [{ i: 1, offset: 1048576, ret: 1048576, us: 4070703, txq: 275480, hostAt: 5 }]);
  assert.deepEqual(r.corrupt, [{ block: 2, offset: 2097152, badWords: 7, found: '0xdeadbeef' }]);
  assert.deepEqual(r.done, { writes: 4, bytes: 4194304, writeUs: 4200000, corrupt: 1 });
});

test('linux client misuse exits 2 with the reason; --json prints one document; a refused run leaves no folder', (t) => {
  const cli = path.join(__dirname, '..', 'cli', 'main.js');
  // the run folder defaults to a fresh one under TMPDIR: it must not be made for a run that is refused
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'linux-misuse-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const run = (args: string[]) => {
    try {
      return { code: 0, out: execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } }) };
    } catch (e) {
      const x = e as { status: number; stdout: string; stderr: string };
      return { code: x.status, out: x.stdout, err: x.stderr };
    }
  };
  const bad = run(['linux', 'client', '--server', '127.0.0.1:1', '--export', '/x', '--network', 'bogus']);
  assert.equal(bad.code, 2);
  assert.match(bad.err ?? '', /--network must be auto, tap or user/);
  const json = run(['linux', 'client', '--server', '127.0.0.1:1', '--export', '/x', '--modules', '/nope', '--json']);
  assert.equal(json.code, 2);
  const doc = JSON.parse(json.out);
  assert.equal(doc.ok, false);
  assert.equal(doc.error.code, 'LINUX_MODULES_WITHOUT_KERNEL');
  assert.deepEqual(fs.readdirSync(tmp), []);
});
