// No NFS call reaches outside the export under any interleaving with other clients (issue 15, item 1). Each test
// races two raw clients for two seconds: a victim calls on a handle or a name inside the export while an attacker
// swaps that name (or a parent directory) for a symlink to a canary outside and back. Before the server acted
// through verified descriptors (server/fs-at.ts), every one of these won within a few dozen calls; the canary's
// content, times (ctime moves on any chmod, chown, truncate or utimes), link count and directory listing must
// come out unchanged, and nothing the victim reads may be the canary's bytes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { NFS3 } from '../xdr/nfs3/procs';
import { NFSSTAT3, STABLE_HOW } from '../xdr/nfs3/constants';
import { MountedServer, RawRpc, createFile, mountedServer } from '../testing/server-rpc';
import { Canary, plantCanary } from './support/reliability-canary';

const RACE_MS = 2000;
/**
 * The least a race must run to count: each side repeatedly. A loaded machine gets fewer rounds into RACE_MS, so a
 * race runs on past it until both sides reach these (the rounds, not the clock, make the race), up to RACE_CAP_MS.
 */
const MIN_ROUNDS = { victim: 2, attacker: 10 };
const RACE_CAP_MS = 60_000;
/** victim calls sent at once: the windows between their checks and their acts overlap the attacker's swaps */
const BATCH = 8;
const batch = (f: (i: number) => Promise<unknown>) => Promise.all(Array.from({ length: BATCH }, (_, i) => f(i)));

let t: MountedServer;
let victim: RawRpc;
let attacker: RawRpc;
let root: Buffer;
/** outside the export: a directory holding canaries named like the export's files */
let outside: string;

before(async () => {
  t = await mountedServer();
  ({ rpc: victim, root } = t);
  outside = path.join(path.dirname(t.dir), 'outside');
  fs.mkdirSync(outside);
  attacker = await RawRpc.connect(t.server.address.port);
});
after(async () => {
  attacker.close();
  await t.cleanup();
});

const lookup = async (dir: Buffer, name: string): Promise<Buffer> => {
  const r = await victim.call(NFS3.LOOKUP, { what: { dir, name } });
  assert.equal(r.status, 0, `LOOKUP ${name}`);
  return (r as { object: Buffer }).object;
};
const mkdir = async (dir: Buffer, name: string): Promise<Buffer> => {
  const r = await victim.call(NFS3.MKDIR, { where: { dir, name }, attributes: { mode: 0o755 } });
  assert.equal(r.status, 0, `MKDIR ${name}`);
  return (r as { obj: Buffer }).obj;
};

/** Attacker steps: every call's status is ignored (a step may fail when the victim moved things first). */
const A = {
  symlink: (dir: Buffer, name: string, target: string) => attacker.call(NFS3.SYMLINK, { where: { dir, name }, symlink: { attributes: {}, data: target } }),
  rename: (from: Buffer, a: string, to: Buffer, b: string) => attacker.call(NFS3.RENAME, { from: { dir: from, name: a }, to: { dir: to, name: b } }),
  link: (file: Buffer, dir: Buffer, name: string) => attacker.call(NFS3.LINK, { file, link: { dir, name } }),
  remove: (dir: Buffer, name: string) => attacker.call(NFS3.REMOVE, { object: { dir, name } }),
  /**
   * A directory cannot be replaced by a symlink in one rename, so the swap takes two calls. Waiting for the
   * rename's reply before sending the symlink leaves the name missing for a network round trip, longer than the
   * window between a victim's check and its act; so the symlink follows one event-loop turn after the rename
   * (sent a few times: the server runs calls in parallel and one may still find the directory there).
   */
  async swapDir(dir: Buffer, name: string, target: string): Promise<{ status: number }> {
    const rename = RawRpc.message(NFS3.RENAME, { from: { dir, name }, to: { dir, name: `${name}.away` } }, attacker.xid());
    const links = Array.from({ length: 4 }, () => RawRpc.message(NFS3.SYMLINK, { where: { dir, name }, symlink: { attributes: {}, data: target } }, attacker.xid()));
    attacker.send(rename);
    await new Promise((r) => setImmediate(r));
    attacker.send(...links);
    const replies = await Promise.all([rename, ...links].map((m) => attacker.waitFor(m.readUInt32BE(0))));
    return { status: replies.slice(1).some(([r]) => r.readUInt32BE(24) === NFSSTAT3.NFS3_OK) ? 0 : 1 };
  },
  /** And back: the symlink goes, the directory returns. */
  async restoreDir(dir: Buffer, name: string): Promise<{ status: number }> {
    await A.remove(dir, name);
    return A.rename(dir, `${name}.away`, dir, name);
  },
};

/** What an escape would change outside: inode, ctime (any chmod, chown, truncate, utimes, write) and listings. */
function snapshot(paths: string[]): string {
  return JSON.stringify(
    paths.map((p) => {
      const st = fs.lstatSync(p, { bigint: true });
      return [String(st.ino), String(st.ctimeNs), st.isDirectory() ? fs.readdirSync(p).sort() : null];
    }),
  );
}

/**
 * Runs the victim's and the attacker's loops side by side for RACE_MS and at least MIN_ROUNDS (or until something
 * in `watched` changed: only an escape can change it). Returns how often each ran, how many attacker steps
 * succeeded and how long it took.
 */
async function race(watched: string[], victimStep: () => Promise<void>, attackerSteps: Array<() => Promise<{ status: number }>>) {
  const ref = snapshot(watched);
  const start = performance.now();
  const counts = { victim: 0, attacker: 0, swaps: 0, escaped: false, ms: 0 };
  const enough = () => performance.now() - start >= RACE_MS && counts.victim >= MIN_ROUNDS.victim && counts.attacker >= MIN_ROUNDS.attacker;
  const running = () => !enough() && performance.now() - start < RACE_CAP_MS && !(counts.escaped ||= snapshot(watched) !== ref);
  await Promise.all([
    (async () => {
      while (running()) {
        await victimStep();
        counts.victim++;
      }
    })(),
    (async () => {
      while (running()) {
        for (const step of attackerSteps) if ((await step()).status === 0) counts.swaps++;
        counts.attacker++;
      }
    })(),
  ]);
  counts.ms = Math.round(performance.now() - start);
  return counts;
}

/** Nothing outside changed and the race really ran (both sides repeatedly, the swaps mostly succeeding). */
function survived(canary: Canary, counts: { victim: number; attacker: number; swaps: number; escaped: boolean; ms: number }, what: string): void {
  console.log(`${what}: ${JSON.stringify(counts)}`);
  assert.equal(counts.escaped, false, `${what}: something outside the export changed`);
  canary.check();
  assert.ok(counts.victim >= MIN_ROUNDS.victim && counts.attacker >= MIN_ROUNDS.attacker, `${what}: the race did not reach its rounds in ${RACE_CAP_MS} ms (${JSON.stringify(counts)})`);
  assert.ok(counts.swaps > counts.attacker, `${what}: the attacker's swaps mostly failed, so the race did not run (${JSON.stringify(counts)})`);
}

describe('symlink swaps never let a call out of the export', () => {
  test('SETATTR {mode 0777, size 0} on a file whose name is swapped for a symlink to the canary (the issue\'s attack)', async () => {
    const canary = plantCanary(outside, 'setattr-target');
    const dir = await mkdir(root, 'd1');
    const tfh = await createFile(victim, dir, 't');
    // The attacker keeps the victim's inode alive as `keep` while `t` is a symlink, and brings it back.
    const counts = await race(
      [canary.file, outside],
      async () => {
        await victim.call(NFS3.SETATTR, { object: tfh, newAttributes: { mode: 0o777, size: 0n } });
      },
      [() => A.link(tfh, dir, 'keep'), () => A.symlink(dir, 'sl', canary.file), () => A.rename(dir, 'sl', dir, 't'), () => A.rename(dir, 'keep', dir, 't')],
    );
    survived(canary, counts, 'SETATTR file');
  });

  test('SETATTR on a file whose parent directory is swapped for a symlink to a directory outside', async () => {
    const canary = plantCanary(outside, 'f');
    const p = await mkdir(root, 'p2');
    const ffh = await createFile(victim, p, 'f');
    const counts = await race(
      [canary.file, outside],
      async () => {
        await batch(() => victim.call(NFS3.SETATTR, { object: ffh, newAttributes: { mode: 0o777, size: 0n, mtime: 'server' } }));
      },
      [() => A.swapDir(root, 'p2', outside), () => A.restoreDir(root, 'p2')],
    );
    survived(canary, counts, 'SETATTR via parent');
  });

  test('SETATTR on a directory whose name is swapped for a symlink to a directory outside', async () => {
    const sub = path.join(outside, 'victim-dir');
    fs.mkdirSync(sub, { mode: 0o755 });
    fs.chmodSync(sub, 0o755);
    const subCanary = plantCanary(sub, 'inside');
    const dfh = await mkdir(root, 'd3');
    const counts = await race(
      [sub, subCanary.file],
      async () => {
        await batch(() => victim.call(NFS3.SETATTR, { object: dfh, newAttributes: { mode: 0o777, atime: 'server', mtime: 'server' } }));
      },
      [() => A.swapDir(root, 'd3', sub), () => A.restoreDir(root, 'd3')],
    );
    const st = fs.statSync(sub);
    assert.equal(st.mode & 0o777, 0o755, 'the outside directory kept its mode');
    survived(subCanary, counts, 'SETATTR directory');
  });

  test('CREATE UNCHECKED with size 0 over a name swapped for a symlink to the canary', async () => {
    const canary = plantCanary(outside, 'create-target');
    const dir = await mkdir(root, 'd4');
    const counts = await race(
      [canary.file, outside],
      async () => {
        await victim.call(NFS3.CREATE, { where: { dir, name: 'c' }, how: { mode: 0, attributes: { size: 0n, mode: 0o666 } } });
        await victim.call(NFS3.REMOVE, { object: { dir, name: 'c' } });
      },
      [() => A.symlink(dir, 'sl', canary.file), () => A.rename(dir, 'sl', dir, 'c')],
    );
    survived(canary, counts, 'CREATE size');
  });

  test('CREATE EXCLUSIVE (verifier in the times) while the new name is swapped for a symlink to the canary', async () => {
    const canary = plantCanary(outside, 'exclusive-target');
    const dir = await mkdir(root, 'd5');
    let made = 0;
    const counts = await race(
      [canary.file, outside],
      async () => {
        const r = await victim.call(NFS3.CREATE, { where: { dir, name: 'e' }, how: { mode: 2, verf: Buffer.from('0123abcd') } });
        if (r.status === 0) made++;
        await victim.call(NFS3.REMOVE, { object: { dir, name: 'e' } });
      },
      [() => A.symlink(dir, 'sl', canary.file), () => A.rename(dir, 'sl', dir, 'e')],
    );
    assert.ok(made > 0, 'some EXCLUSIVE CREATEs succeeded');
    survived(canary, counts, 'CREATE EXCLUSIVE');
  });

  test('WRITE and READ of files whose parent directory is swapped: nothing reaches the canaries named like them', async () => {
    const canaries = Array.from({ length: BATCH }, (_, i) => plantCanary(outside, `w${i}`));
    const secret = Buffer.from('canary: never read, never written\n'); // what plantCanary wrote (reading it would move its atime)
    const p = await mkdir(root, 'p6');
    const payload = Buffer.from('written through NFS, never outside');
    let leaked = 0;
    const counts = await race(
      [...canaries.map((c) => c.file), outside],
      async () => {
        // Fresh files each round: the first WRITE of each resolves its handle and opens it (a descriptor cache miss).
        await batch(async (i) => {
          const c = await victim.call(NFS3.CREATE, { where: { dir: p, name: `w${i}` }, how: { mode: 0, attributes: { mode: 0o644 } } });
          if (c.status !== 0) return;
          const fh = (c as { obj: Buffer }).obj;
          await victim.call(NFS3.WRITE, { file: fh, offset: 0n, count: payload.length, stable: STABLE_HOW.FILE_SYNC, data: payload });
          const r = await victim.call(NFS3.READ, { file: fh, offset: 0n, count: 4096 });
          if (r.status === 0 && Buffer.from((r as { data: Buffer }).data).equals(secret)) leaked++;
          await victim.call(NFS3.REMOVE, { object: { dir: p, name: `w${i}` } });
        });
      },
      [() => A.swapDir(root, 'p6', outside), () => A.restoreDir(root, 'p6')],
    );
    assert.equal(leaked, 0, 'READ returned a canary');
    // The last canary's listing holds all of them; the race watched every canary's inode and ctime throughout.
    survived(canaries[BATCH - 1], counts, 'WRITE/READ via parent');
  });

  test('directory operations through a swapped parent stay inside: CREATE, MKDIR, SYMLINK, REMOVE, RENAME, LINK', async () => {
    const canary = plantCanary(outside, 'x');
    const q = await mkdir(root, 'q7');
    const before = fs.readdirSync(outside).sort();
    const counts = await race(
      [canary.file, outside],
      async () => {
        await batch(async (i) => {
          await victim.call(NFS3.CREATE, { where: { dir: q, name: `n${i}` }, how: { mode: 0, attributes: { mode: 0o644 } } });
          await victim.call(NFS3.MKDIR, { where: { dir: q, name: `m${i}` }, attributes: { mode: 0o755 } });
          await victim.call(NFS3.SYMLINK, { where: { dir: q, name: `s${i}` }, symlink: { attributes: {}, data: 'anywhere' } });
          await victim.call(NFS3.RENAME, { from: { dir: q, name: `n${i}` }, to: { dir: q, name: i === 0 ? 'x' : `r${i}` } });
          await victim.call(NFS3.REMOVE, { object: { dir: q, name: i === 0 ? 'x' : `r${i}` } });
          await victim.call(NFS3.RMDIR, { object: { dir: q, name: `m${i}` } });
          await victim.call(NFS3.REMOVE, { object: { dir: q, name: `s${i}` } });
        });
      },
      [() => A.swapDir(root, 'q7', outside), () => A.restoreDir(root, 'q7')],
    );
    assert.deepEqual(fs.readdirSync(outside).sort(), before, 'nothing was created in or removed from the directory outside');
    survived(canary, counts, 'directory operations via parent');
  });
});

test('the export-side results are sane: the victim file kept its data, no call crashed the server', async () => {
  const r = await victim.call(NFS3.GETATTR, { object: root });
  assert.equal(r.status, NFSSTAT3.NFS3_OK);
  assert.ok(!t.logLines.some((l) => /uncaught|TypeError|RangeError/.test(l)), 'no procedure crashed');
});
