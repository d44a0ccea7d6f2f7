// Issue 21: the README's "components, separately" block failed as pasted (a folder that did not exist, a fixed port
// that may be taken). This runs the block exactly as the README has it, with bash in a fresh temporary folder and
// `nfs-testbed` on the PATH (as `npm link` puts it), and checks the exit codes it reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from './support/cli';

const README = path.join(__dirname, '..', '..', 'README.md');

/** The first ```sh block under "## The components, separately". */
function componentsBlock(readme: string): string {
  const section = readme.indexOf('## The components, separately');
  assert.ok(section >= 0, 'README has the section');
  const start = readme.indexOf('```sh\n', section);
  const end = readme.indexOf('\n```\n', start);
  return readme.slice(start + 6, end + 1);
}

// The block's budget is 60 modelled minutes (72 s at 1/50) before the read-back: more than 3 minutes once the
// machine is loaded, so the test sets its own 7 (as scripts/run-tests.js gives each file).
test('the README components block runs as pasted in an empty folder: blktest and inspect both find the corruption', { timeout: 420_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-readme-'));
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-readme-bin-'));
  fs.symlinkSync(CLI, path.join(bin, 'nfs-testbed'));
  const script = componentsBlock(fs.readFileSync(README, 'utf8'));
  // bash leads its own process group: whatever the block leaves running is stopped by that id afterwards. The
  // block's server keeps its handle secret in the default state directory: this folder's, not the user's.
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, XDG_STATE_HOME: path.join(bin, 'state') };
  const child = spawn('bash', ['-c', script], { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  t.after(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group is gone: everything stopped
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(bin, { recursive: true, force: true });
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err = (err + c).slice(-4000)));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 400_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  assert.equal(code, 0, `${out.slice(-2000)}\n${err}`);
  // exit 3 from both: corruption found by the client's read-back and in the capture
  assert.match(out, /^blktest exit 3$/m, err);
  assert.match(out, /^inspect exit 3$/m, err);
  assert.ok(fs.existsSync(path.join(dir, 'seed.pcap')) && fs.existsSync(path.join(dir, 'journal.sqlite')));
  // the block stopped both servers by PID
  assert.match(fs.readFileSync(path.join(dir, 'server.out'), 'utf8'), /^ready nfs=127\.0\.0\.1:\d+ /);
});
