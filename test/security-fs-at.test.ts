// The descriptor-relative calls the server acts through (server/fs-at.ts), pinned on the running kernel: if an
// upgrade changed what a /proc/self/fd magic link resolves to, or which call follows a final symlink, these fail
// before the server could escape. Then the export's own primitives, with the swap made deterministic: the object
// is resolved, its name or its parent is swapped for a symlink to a canary outside, and only then acted on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { memoryLogger } from '../core/log';
import { NFSSTAT3 } from '../xdr/nfs3/constants';
import { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_RDWR, atPath, checkProcFd, fdPath } from '../server/fs-at';
import { FileHandles } from '../server/handles';
import { Nfs3Export } from '../server/nfs3/export';
import { applySattr } from '../server/nfs3/setattr';
import type { CallContext } from '../server/rpc/program';
import { plantCanary } from './support/reliability-canary';

const skip = !fs.existsSync('/proc/self/fd') && 'needs Linux /proc/self/fd';

let base: string;
before(() => {
  base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-fsat-')));
});
after(() => fs.rmSync(base, { recursive: true, force: true }));

const errno = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'thrown';
  }
  return 'ok';
};

describe('kernel semantics the server relies on', { skip }, () => {
  test('checkProcFd accepts this kernel', () => checkProcFd(base));

  test('O_PATH|O_NOFOLLOW names a symlink itself; chown and utimes through its magic link change the link, not the target; chmod is refused', () => {
    const d = fs.mkdtempSync(path.join(base, 'link-'));
    const target = path.join(d, 'target');
    fs.writeFileSync(target, 'target');
    fs.utimesSync(target, 1000, 2000);
    fs.symlinkSync(target, path.join(d, 'ln'));
    const fd = fs.openSync(path.join(d, 'ln'), O_PATH | O_NOFOLLOW);
    try {
      assert.ok(fs.fstatSync(fd).isSymbolicLink());
      const before = fs.statSync(target, { bigint: true });
      fs.chownSync(fdPath(fd), 4321, 4321);
      fs.utimesSync(fdPath(fd), 5000, 6000);
      const link = fs.lstatSync(path.join(d, 'ln'));
      if (process.getuid?.() === 0) assert.equal(link.uid, 4321);
      assert.equal(link.mtimeMs, 6000_000);
      const after = fs.statSync(target, { bigint: true });
      assert.deepEqual([after.uid, after.mtimeNs, after.ctimeNs], [before.uid, before.mtimeNs, before.ctimeNs], 'the target is untouched');
      assert.notEqual(errno(() => fs.chmodSync(fdPath(fd), 0o600)), 'ok');
      assert.equal(fs.statSync(target).mode & 0o777, Number(before.mode & 0o777n));
      assert.equal(errno(() => fs.openSync(fdPath(fd), O_RDWR)), 'ELOOP', 'a symlink inode is never reopened for I/O');
    } finally {
      fs.closeSync(fd);
    }
  });

  test('chmod, truncate and a reopen through a regular file\'s magic link act on that inode after its name was replaced', () => {
    const d = fs.mkdtempSync(path.join(base, 'reg-'));
    const f = path.join(d, 'f');
    fs.writeFileSync(f, 'original');
    const fd = fs.openSync(f, O_PATH | O_NOFOLLOW);
    try {
      fs.renameSync(f, path.join(d, 'moved'));
      fs.symlinkSync(path.join(d, 'other'), f);
      fs.writeFileSync(path.join(d, 'other'), 'other');
      fs.chmodSync(fdPath(fd), 0o640);
      fs.truncateSync(fdPath(fd), 3);
      const rw = fs.openSync(fdPath(fd), O_RDWR);
      fs.writeSync(rw, 'XY', 0);
      fs.closeSync(rw);
      assert.equal(fs.readFileSync(path.join(d, 'moved'), 'utf8'), 'XYi');
      assert.equal(fs.statSync(path.join(d, 'moved')).mode & 0o777, 0o640);
      assert.equal(fs.readFileSync(path.join(d, 'other'), 'utf8'), 'other');
    } finally {
      fs.closeSync(fd);
    }
  });

  test('names under a held directory stay in it after the directory was replaced by a symlink: no call follows the last component', () => {
    const d = fs.mkdtempSync(path.join(base, 'dir-'));
    const held = path.join(d, 'held');
    const outside = path.join(d, 'outside');
    fs.mkdirSync(held);
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'victim'), 'outside');
    fs.symlinkSync(path.join(outside, 'victim'), path.join(held, 'ln'));
    const dfd = fs.openSync(held, O_PATH | O_DIRECTORY | O_NOFOLLOW);
    try {
      fs.renameSync(held, path.join(d, 'away'));
      fs.symlinkSync(outside, held); // the old name now leads outside
      fs.mkdirSync(atPath(dfd, 'm'));
      fs.symlinkSync('x', atPath(dfd, 's'));
      fs.closeSync(fs.openSync(atPath(dfd, 'n'), O_CREAT | O_EXCL | O_NOFOLLOW | O_RDWR, 0o600));
      fs.renameSync(atPath(dfd, 'n'), atPath(dfd, 'n2'));
      fs.linkSync(atPath(dfd, 'n2'), atPath(dfd, 'n3'));
      fs.unlinkSync(atPath(dfd, 'n3'));
      assert.equal(errno(() => fs.openSync(atPath(dfd, 'ln'), O_CREAT | O_NOFOLLOW | O_RDWR)), 'ELOOP');
      assert.equal(errno(() => fs.openSync(atPath(dfd, 'ln'), O_CREAT | O_EXCL | O_NOFOLLOW | O_RDWR)), 'EEXIST');
      assert.equal(errno(() => fs.openSync(atPath(dfd, 'ln'), O_PATH | O_NOFOLLOW | O_DIRECTORY)), 'ENOTDIR');
      fs.linkSync(atPath(dfd, 'ln'), atPath(dfd, 'ln2')); // link(2) links the symlink, not its target
      assert.ok(fs.lstatSync(path.join(d, 'away', 'ln2')).isSymbolicLink());
      assert.deepEqual(fs.readdirSync(fdPath(dfd)).sort(), ['ln', 'ln2', 'm', 'n2', 's']);
      assert.deepEqual(fs.readdirSync(path.join(d, 'away')).sort(), ['ln', 'ln2', 'm', 'n2', 's']);
      assert.deepEqual(fs.readdirSync(outside), ['victim']);
      assert.equal(fs.readFileSync(path.join(outside, 'victim'), 'utf8'), 'outside');
    } finally {
      fs.closeSync(dfd);
    }
  });
});

describe('the export acts on what it resolved, whatever was swapped afterwards', { skip }, () => {
  let dir: string;
  let handles: FileHandles;
  let x: Nfs3Export;
  // root's AUTH_SYS credential: the primitives use the context for who acts and as the key of what the call holds
  const ctx = { auth: { stamp: 0, machinename: 'test', uid: 0, gid: 0, gids: [] } } as unknown as CallContext;
  before(async () => {
    dir = fs.mkdtempSync(path.join(base, 'export-'));
    fs.mkdirSync(path.join(dir, 'export'));
    handles = await FileHandles.open(path.join(dir, 'export'), path.join(dir, 'state'));
    x = new Nfs3Export(handles, memoryLogger());
    x.begin();
  });
  after(async () => {
    x.release(ctx);
    await x.closeAll();
  });

  const handleOf = (rel: string): Buffer => handles.make(rel, fs.lstatSync(path.join(dir, 'export', rel), { bigint: true }));
  /** A directory `sub/` of the export holding `name` (content 'inside'), and a canary of that name outside. */
  const planted = (sub: string, name: string) => {
    const out = fs.mkdtempSync(path.join(dir, 'out-'));
    const canary = plantCanary(out, name);
    fs.mkdirSync(path.join(dir, 'export', sub));
    fs.writeFileSync(path.join(dir, 'export', sub, name), 'inside');
    return { canary, swap: () => (fs.renameSync(path.join(dir, 'export', sub), path.join(dir, 'export', `${sub}.away`)), fs.symlinkSync(out, path.join(dir, 'export', sub))) };
  };

  test('SETATTR size and mode after the file was replaced by a symlink to the canary', async () => {
    const canary = plantCanary(dir, 'canary-1');
    fs.writeFileSync(path.join(dir, 'export', 't'), 'inside data');
    const obj = await x.resolve(ctx, handleOf('t'));
    fs.renameSync(path.join(dir, 'export', 't'), path.join(dir, 'export', 'keep'));
    fs.symlinkSync(canary.file, path.join(dir, 'export', 't'));
    await applySattr(obj, { mode: 0o777, size: 0n, mtime: 'server' });
    assert.equal(fs.statSync(path.join(dir, 'export', 'keep')).size, 0, 'the resolved file got the size');
    assert.equal(fs.statSync(path.join(dir, 'export', 'keep')).mode & 0o777, 0o777);
    canary.check();
  });

  test('SETATTR after the parent directory was replaced by a symlink to a directory holding a file of the same name', async () => {
    const { canary, swap } = planted('p', 'f');
    const obj = await x.resolve(ctx, handleOf('p/f'));
    swap();
    await applySattr(obj, { mode: 0o600, size: 2n, atime: 'server' });
    assert.equal(fs.readFileSync(path.join(dir, 'export', 'p.away', 'f'), 'utf8'), 'in');
    canary.check();
  });

  test('READ/WRITE descriptors: a handle resolved after its parent was swapped finds the file where it went, never the canary', async () => {
    const { canary, swap } = planted('q', 'w');
    const fh = handleOf('q/w');
    swap();
    const { rel } = await x.withFile(ctx, fh, 'write', async (fd) => fs.writeSync(fd, 'WRITTEN', 0));
    assert.equal(rel, 'q.away/w', 'the rescan found the file by descriptors, not through the symlink');
    assert.equal(fs.readFileSync(path.join(dir, 'export', 'q.away', 'w'), 'utf8'), 'WRITTEN');
    canary.check();
  });

  test('the descriptor cache keeps serving the handle\'s own inode after another file was renamed over its name', async () => {
    fs.writeFileSync(path.join(dir, 'export', 'a'), 'AAAA');
    fs.writeFileSync(path.join(dir, 'export', 'b'), 'BBBB');
    const fh = handleOf('a');
    await x.withFile(ctx, fh, 'read', async () => undefined); // cached
    fs.renameSync(path.join(dir, 'export', 'b'), path.join(dir, 'export', 'a'));
    const buf = Buffer.alloc(4);
    await x.withFile(ctx, fh, 'read', async (fd) => fs.readSync(fd, buf, 0, 4, 0));
    assert.equal(buf.toString(), 'AAAA');
    // The replaced inode has no name left: resolving its handle afresh is NFS3ERR_STALE, not the file now named a.
    await assert.rejects(handles.resolve(fh), (e: unknown) => (e as { status?: number }).status === NFSSTAT3.NFS3ERR_STALE);
  });
});
