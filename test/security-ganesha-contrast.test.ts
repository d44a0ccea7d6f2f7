// Side by side with the reference server: the same raw CREATE calls — name "../<x>" and a name with a NUL in it —
// sent to nfs-ganesha (as packaged in Debian; 4.3 was measured creating the first outside its export and
// truncating the second at the NUL) and to ours, which must refuse both and create nothing: GARBAGE_ARGS, as
// Linux nfsd's svcxdr_decode_filename3 refuses them while decoding.
// Ganesha's half is asserted too: its replies must agree with what appeared on disk (an NFS3_OK CREATE of "../x"
// can only have created x outside the export; an NFS3_OK CREATE of "a\0b" only "a"), and on 4.3, the release
// measured, it must still do what the README says it does. Another release may refuse either: then it is logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGanesha, ganeshaMissing, ganeshaRelease } from '../lab/peers/ganesha';
import { NFS3 } from '../xdr/nfs3/procs';
import { NFSSTAT3 } from '../xdr/nfs3/constants';
import { RawRpc, mountRoot, testServer } from '../testing/server-rpc';

interface Outcome {
  /** nfsstat3, or the accept_stat's name when the call was not executed */
  dotdot: number | string;
  /** the "../" file appeared next to the export */
  escaped: boolean;
  nul: number | string;
  /** a file named the part before the NUL appeared */
  truncated: boolean;
}

async function attempt(nfsPort: number, mountPort: number, exportDir: string, exportPath: string, tag: string): Promise<Outcome> {
  const mnt = await RawRpc.connect(mountPort);
  const nfs = mountPort === nfsPort ? mnt : await RawRpc.connect(nfsPort);
  try {
    const root = await mountRoot(mnt, exportPath);
    const how = { mode: 0 as const, attributes: { mode: 0o644 } };
    const dotdot = await nfs.status(NFS3.CREATE, { where: { dir: root, name: `../escape-${tag}` }, how });
    const nul = await nfs.status(NFS3.CREATE, { where: { dir: root, name: `trunc-${tag}\0ated` }, how });
    return {
      dotdot,
      escaped: fs.existsSync(path.join(path.dirname(exportDir), `escape-${tag}`)),
      nul,
      truncated: fs.existsSync(path.join(exportDir, `trunc-${tag}`)),
    };
  } finally {
    mnt.close();
    nfs.close();
  }
}

test('CREATE "../name" and a name with NUL: ours refuses both (GARBAGE_ARGS, as nfsd); ganesha, for contrast', { skip: ganeshaMissing() }, async (ctx) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-contrast-'));
  ctx.after(() => fs.rmSync(work, { recursive: true, force: true }));
  const gExport = path.join(work, 'ganesha-export');
  const g = await startGanesha({ exportDir: gExport });
  let theirs: Outcome;
  try {
    theirs = await attempt(g.port, g.mountPort, g.exportDir, g.exportPath, 'g');
  } finally {
    await g.stop();
  }
  const t = await testServer();
  let ours: Outcome;
  try {
    ours = await attempt(t.server.address.port, t.server.mountPort, t.dir, t.server.exportPath, 'o');
  } finally {
    await t.cleanup();
  }
  const name = (s: number | string) => (typeof s === 'string' ? s : Object.entries(NFSSTAT3).find(([, v]) => v === s)?.[0] ?? String(s));
  const release = ganeshaRelease();
  console.log(`nfs-ganesha ${release}: CREATE ../escape -> ${name(theirs.dotdot)}, created outside the export: ${theirs.escaped}; CREATE "trunc\\0ated" -> ${name(theirs.nul)}, truncated at NUL: ${theirs.truncated}`);
  console.log(`nfs-testbed: CREATE ../escape -> ${name(ours.dotdot)}, created outside the export: ${ours.escaped}; CREATE "trunc\\0ated" -> ${name(ours.nul)}, truncated at NUL: ${ours.truncated}`);
  assert.deepEqual(ours, { dotdot: 'GARBAGE_ARGS', escaped: false, nul: 'GARBAGE_ARGS', truncated: false });
  // ganesha: each reply agrees with the disk
  assert.equal(theirs.dotdot === NFSSTAT3.NFS3_OK, theirs.escaped, `ganesha ${release}: ${JSON.stringify(theirs)}`);
  assert.equal(theirs.nul === NFSSTAT3.NFS3_OK, theirs.truncated, `ganesha ${release}: ${JSON.stringify(theirs)}`);
  // and 4.3 (Debian 12's) escapes and truncates, as measured
  if (release?.startsWith('4.3')) assert.deepEqual(theirs, { dotdot: NFSSTAT3.NFS3_OK, escaped: true, nul: NFSSTAT3.NFS3_OK, truncated: true });
});
