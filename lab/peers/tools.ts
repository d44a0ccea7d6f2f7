// Which third-party programs are installed; tests skip with this reason when one is missing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const cache = new Map<string, string | null>();

/** Absolute path of an executable on PATH (or in sbin), or null. */
export function which(cmd: string): string | null {
  if (cache.has(cmd)) return cache.get(cmd)!;
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  let found: string | null = null;
  for (const d of dirs) {
    const p = `${d}/${cmd}`;
    try {
      fs.accessSync(p, fs.constants.X_OK);
      found = p;
      break;
    } catch {
      /* keep looking */
    }
  }
  cache.set(cmd, found);
  return found;
}

/**
 * undefined when every command is installed, else a skip reason naming what is missing and the Debian package
 * that provides it (.ci/run installs them all).
 */
export function missingTools(...cmds: Array<[cmd: string, debianPackage: string]>): string | undefined {
  const missing = cmds.filter(([c]) => !which(c));
  if (!missing.length) return undefined;
  return `needs ${missing.map(([c, p]) => `${c} (Debian ${p})`).join(', ')}; .ci/run installs it`;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function runOk(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}
