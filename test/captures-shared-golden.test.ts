// The real third-party captures in ../shared/captures give the same `inspect --json` documents, byte for byte, as
// the build that wrote test/golden/inspect-shared.json, and the same hashes for every call and reply (the
// document shows only duplicated XIDs; the digest covers all transmissions, hashed with hashAll). Speed work on
// inspect (issue 20: SHA-1 only where the report prints it, the TCP history kept as numbers) must not change a
// byte of what it reports.
//
// The golden file was written by main before that work (commit ced9622) with NFST_WRITE_GOLDEN=1, which makes
// this test write the file instead of comparing; review the diff of any rewrite as a change of inspect's output.
// Rewritten once since, for the field `files[].captureDrops` (null for all of them: no netem event log beside them);
// with that field removed the documents were byte-identical to the old file, and the digests unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { inspectFilesDetailed } from '../captures/inspect';
import { missingTools } from '../lab/peers/tools';
import { runCli } from './support/cli';

const SHARED = path.join(__dirname, '..', '..', '..', 'shared', 'captures');
const GOLDEN = path.join(__dirname, '..', '..', 'test', 'golden', 'inspect-shared.json');
const WRITE = process.env.NFST_WRITE_GOLDEN === '1';
const noShared = fs.existsSync(SHARED) ? undefined : `needs ${SHARED} (real captures; absent in a fresh clone)`;
const skip = noShared ?? missingTools(['bzip2', 'bzip2']);

/** Option sets: the defaults, and the libnfs captures' non-standard ports named. */
const VARIANTS: Record<string, string[]> = { default: [], ports: ['--port', '12049', '--port', '12050'] };

interface Golden {
  /** the document, by capture file and variant */
  documents: Record<string, string>;
  /** exit status, by the same key */
  status: Record<string, number | null>;
  /** sha256 over every transmission's xid, procedure, payload hash and its replies' body hashes */
  transmissions: Record<string, string>;
}

const captures = (): string[] => fs.readdirSync(SHARED).filter((f) => /\.(pcap|pcapng)(\.bz2)?$/.test(f)).sort();

async function transmissionsDigest(file: string, ports: number[]): Promise<string> {
  const r = await inspectFilesDetailed([path.join(SHARED, file)], { ports, hashAll: true });
  const h = createHash('sha256');
  for (const t of r.transmissions) {
    h.update(`${t.index} ${t.xid} ${t.procedure} ${t.connection} ${t.payloadLength} ${t.payloadSha1}`);
    for (const rep of t.replies) h.update(` ${rep.frame} ${rep.bodySha1}`);
    h.update('\n');
  }
  return h.digest('hex');
}

test('third-party captures: inspect --json documents and every hash as the golden file has them', { skip }, async () => {
  const got: Golden = { documents: {}, status: {}, transmissions: {} };
  for (const file of captures()) {
    for (const [variant, args] of Object.entries(VARIANTS)) {
      const key = `${file} ${variant}`;
      // Relative path and the shared folder as cwd: the document names the file as given.
      const r = runCli(['inspect', file, '--json', ...args], { cwd: SHARED });
      got.documents[key] = r.out;
      got.status[key] = r.code;
      const ports = args.filter((_, i) => i % 2 === 1).map(Number);
      got.transmissions[key] = r.code === 0 ? await transmissionsDigest(file, ports) : '-';
    }
  }
  if (WRITE) {
    fs.mkdirSync(path.dirname(GOLDEN), { recursive: true });
    fs.writeFileSync(GOLDEN, JSON.stringify(got, null, 1) + '\n');
    return;
  }
  const want = JSON.parse(fs.readFileSync(GOLDEN, 'utf8')) as Golden;
  assert.deepEqual(Object.keys(got.documents), Object.keys(want.documents), 'the captures in ../shared/captures changed: rewrite the golden file from main');
  for (const key of Object.keys(want.documents)) {
    assert.equal(got.status[key], want.status[key], `${key}: exit status`);
    assert.equal(got.documents[key], want.documents[key], `${key}: the --json document differs`);
    assert.equal(got.transmissions[key], want.transmissions[key], `${key}: a call's or reply's hash differs`);
  }
});
