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

/**
 * `cmd argv` rewritten so that the kernel kills the program with SIGKILL when the thread that starts it dies:
 * util-linux `setpriv --pdeathsig KILL` sets PR_SET_PDEATHSIG, which survives its execve of `cmd` (same PID, so
 * stopping by PID is unchanged). Without it, a guest or daemon outlives a Node process that is killed without
 * running its cleanup (a test file past the runner's timeout gets SIGTERM; one fresh-clone run left a QEMU guest
 * using a core until stopped by hand). From a worker thread the tie is to that thread. Unchanged when setpriv is missing.
 */
export function tiedToParent(cmd: string, argv: readonly string[]): { cmd: string; argv: string[] } {
  const setpriv = which('setpriv');
  return setpriv ? { cmd: setpriv, argv: ['--pdeathsig', 'KILL', '--', cmd, ...argv] } : { cmd, argv: [...argv] };
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function runOk(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}
