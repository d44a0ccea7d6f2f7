// The journal recorder (server/journal-recorder.ts) builds each row from what the dispatcher reports: the DRC's
// outcome, the reply's status, the procedure's subject() (the handle and name the call names, read from its own
// arguments) and the effect it returned (where a WRITE's bytes went, and when, for a write behind its reply).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NFS3 } from '../xdr/nfs3/procs';
import { STABLE_HOW } from '../xdr/nfs3/constants';
import { RawRpc, createFile, mountedServer, type MountedServer } from '../testing/server-rpc';

let t: MountedServer;
before(async () => {
  t = await mountedServer({ drc: { mode: 'xid' } });
});
after(() => t.cleanup());

const rowsOf = async (xid: number) => {
  await t.server.flushJournal();
  return t.server.journal!.query({ xid }).map((r) => ({ proc: r.proc, outcome: r.outcome, status: r.status, fh: r.fh, path: r.path, name: r.name, committed: r.committed }));
};

test('a directory operation is journalled with its directory, the name and the directory path, ran or replayed', async () => {
  const { rpc, root } = t;
  await rpc.call(NFS3.MKDIR, { where: { dir: root, name: 'd' }, attributes: {} });
  const d = await rpc.call(NFS3.LOOKUP, { what: { dir: root, name: 'd' } });
  const dir = (d as { object: Buffer }).object;
  const xid = rpc.xid();
  const msg = RawRpc.message(NFS3.CREATE, { where: { dir, name: 'f' }, how: { mode: 0, attributes: { mode: 0o644 } } }, xid);
  rpc.send(msg);
  await rpc.waitFor(xid);
  rpc.send(msg); // a retransmission: the xid DRC replays it, nothing runs
  await rpc.waitFor(xid, 2);
  const want = { proc: 'CREATE', status: 0, fh: dir.toString('hex'), path: 'd', name: 'f', committed: null };
  assert.deepEqual(await rowsOf(xid), [
    { ...want, outcome: 'executed' },
    { ...want, outcome: 'replayed' },
  ]);
});

test('a WRITE row says how it was committed: in the reply for FILE_SYNC, behind it for UNSTABLE', async () => {
  const { rpc, root } = t;
  const fh = await createFile(rpc, root, 'w.bin');
  const data = Buffer.alloc(8192, 7);
  for (const stable of [STABLE_HOW.FILE_SYNC, STABLE_HOW.UNSTABLE]) {
    const xid = rpc.xid();
    const r = await rpc.call(NFS3.WRITE, { file: fh, offset: 0n, count: data.length, stable, data }, xid);
    assert.equal(r.status, 0);
    assert.deepEqual(await rowsOf(xid), [{ proc: 'WRITE', outcome: 'executed', status: 0, fh: fh.toString('hex'), path: 'w.bin', name: null, committed: stable }]);
  }
  // a WRITE that failed before it ran anything keeps its subject, with no commitment
  const xid = rpc.xid();
  const bad = await rpc.call(NFS3.WRITE, { file: root, offset: 0n, count: data.length, stable: STABLE_HOW.FILE_SYNC, data }, xid);
  assert.notEqual(bad.status, 0);
  assert.deepEqual(await rowsOf(xid), [{ proc: 'WRITE', outcome: 'executed', status: bad.status, fh: root.toString('hex'), path: '', name: null, committed: null }]);
});
