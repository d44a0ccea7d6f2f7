// Checks the Linux-in-the-loop tests run after each test: every guest they started is gone (by PID) and no
// namespace or guestfwd relay of this process is left (other processes' are theirs to check).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { linuxCache } from '../../lab/linux/debs';
import { NETNS_PREFIX } from '../../lab/linux/netns';
import { GUEST_OWNER_ENV } from '../../lab/linux/qemu';

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

/**
 * PIDs of running per-connection relays (guest/fwd.c, run by QEMU user networking's guestfwd) of the guests this
 * process started: those whose environment carries GUEST_OWNER_ENV=this PID. Relays of a concurrent run (another
 * test file under --test-concurrency, another checkout on the machine) are not this run's leftovers.
 */
export function relays(): number[] {
  const bin = linuxCache('bin');
  const owner = Buffer.from(`\0${GUEST_OWNER_ENV}=${process.pid}\0`);
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!fs.readlinkSync(`/proc/${d}/exe`).startsWith(bin)) continue;
      // NUL-separated; a leading NUL so the first variable matches too
      if (Buffer.concat([Buffer.from([0]), fs.readFileSync(`/proc/${d}/environ`)]).includes(owner)) out.push(Number(d));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

/** No guest, relay or namespace of this run is left (relays get a moment to see their connection's EOF). */
export async function assertNothingLeft(pids: number[]): Promise<void> {
  for (const pid of pids) assert.equal(alive(pid), false, `guest pid ${pid} is gone`);
  assert.deepEqual(myNamespaces(), [], 'no network namespace of this run is left');
  for (let i = 0; i < 20 && relays().length; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(relays(), [], 'no guestfwd relay is left');
}
