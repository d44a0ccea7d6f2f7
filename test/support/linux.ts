// Checks the Linux-in-the-loop tests run after each test: every guest they started is gone (by PID) and no
// namespace of this process is left.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { NETNS_PREFIX } from '../../lab/linux/netns';

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** This process's namespaces still present. */
export function myNamespaces(): string[] {
  let out = '';
  try {
    out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${NETNS_PREFIX}${process.pid}-`));
}

export function assertNothingLeft(pids: number[]): void {
  for (const pid of pids) assert.equal(alive(pid), false, `guest pid ${pid} is gone`);
  assert.deepEqual(myNamespaces(), [], 'no network namespace of this run is left');
}
