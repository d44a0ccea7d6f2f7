// Guests and daemons the lab starts are tied to the process that starts them (lab/peers/tools.ts tiedToParent):
// when that process is killed without running its cleanup (SIGKILL here; a test file past the runner's timeout
// gets SIGTERM), the kernel kills them too. The control: the same program started untied outlives its parent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { missingTools } from '../lab/peers/tools';

const TOOLS = path.join(__dirname, '..', 'lab', 'peers', 'tools.js');

/** Running, and not a zombie waiting for whoever inherited it. */
function alive(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A Node parent that starts `sleep 300` (tied or not), prints the sleep's PID, and waits to be killed. */
async function orphanAfterParentKilled(tied: boolean): Promise<{ pid: number; aliveAfter: boolean }> {
  const script = `const { spawn } = require('node:child_process'); const { tiedToParent } = require(${JSON.stringify(TOOLS)});
const c = ${tied} ? tiedToParent('sleep', ['300']) : { cmd: 'sleep', argv: ['300'] };
const p = spawn(c.cmd, c.argv, { stdio: 'ignore' }); p.unref();
setTimeout(() => console.log(p.pid), 200); setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    parent.once('exit', (code) => reject(new Error(`parent exited ${code} before printing a PID`)));
  });
  assert.ok(pid > 0 && alive(pid), `sleep ${pid} runs while its parent does`);
  const exited = new Promise((r) => parent.once('exit', r));
  process.kill(parent.pid!, 'SIGKILL');
  await exited;
  let aliveAfter = alive(pid);
  for (let i = 0; i < 30 && aliveAfter; i++) {
    await new Promise((r) => setTimeout(r, 100));
    aliveAfter = alive(pid);
  }
  if (aliveAfter) process.kill(pid, 'SIGKILL'); // the control's orphan: stopped here, by its PID
  return { pid, aliveAfter };
}

test('a program started through tiedToParent dies with its parent; the same program untied outlives it', { skip: missingTools(['setpriv', 'util-linux']) }, async () => {
  const tied = await orphanAfterParentKilled(true);
  assert.equal(tied.aliveAfter, false, `tied sleep ${tied.pid} outlived its killed parent`);
  const untied = await orphanAfterParentKilled(false);
  assert.equal(untied.aliveAfter, true, `untied sleep ${untied.pid} died with its parent: the test no longer shows the tie matters`);
});
