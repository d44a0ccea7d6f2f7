// Debian packages for the guests, fetched with `apt-get download` and unpacked with `dpkg-deb -x` into the cache
// folder: never installed on the host, so no maintainer script, initramfs hook or grub trigger runs here.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GuestError } from '../../core/errors';

/** The cache folder (env NFS_TESTBED_CACHE, default ~/.cache/nfs-testbed); guest pieces live under linux/. */
export function linuxCache(...sub: string[]): string {
  const root = process.env.NFS_TESTBED_CACHE || path.join(os.homedir(), '.cache', 'nfs-testbed');
  const dir = path.join(root, 'linux', ...sub);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Which of the named host programs are missing from PATH. */
export function missingPrograms(names: string[]): string[] {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  return names.filter((n) => !dirs.some((d) => d && fs.existsSync(path.join(d, n))));
}

function run(cmd: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new GuestError('PACKAGE_FAILED', `${cmd} ${args.join(' ')}: ${(err.stderr || err.message).trim().split('\n').slice(-2).join(' ')}`);
  }
}

/** The package a metapackage such as linux-image-cloud-amd64 depends on (apt-cache, local lists only). */
export function resolveMeta(meta: string, pattern: RegExp): string {
  const out = run('apt-cache', ['depends', meta]);
  const dep = out.split('\n').map((l) => l.match(/Depends:\s*(\S+)/)?.[1]).find((p) => p && pattern.test(p));
  if (!dep) throw new GuestError('PACKAGE_FAILED', `apt-cache depends ${meta} names no package matching ${pattern}; run apt-get update`);
  return dep;
}

/**
 * The .deb of each package in the cache (downloaded once: a cached file for the name is reused, so a machine
 * without apt lists or network still runs from its cache), and the folder it is unpacked into.
 */
export function fetchDebs(names: string[]): Array<{ name: string; deb: string; root: string }> {
  const debDir = linuxCache('debs');
  const cached = (n: string) => fs.readdirSync(debDir).find((f) => f.startsWith(`${n}_`) && f.endsWith('.deb'));
  const missing = names.filter((n) => !cached(n));
  if (missing.length) {
    if (missingPrograms(['apt-get', 'dpkg-deb']).length) throw new GuestError('PACKAGE_TOOLS_MISSING', 'apt-get and dpkg-deb are needed to fetch guest packages');
    // Download into a folder of this process, then move: several test processes may fetch at once. apt drops
    // privileges to _apt for downloads; the folder must be writable by it.
    const tmp = fs.mkdtempSync(path.join(debDir, '.dl-'));
    try {
      fs.chmodSync(tmp, 0o777);
      run('apt-get', ['download', '-q', ...missing], tmp);
      for (const f of fs.readdirSync(tmp)) fs.renameSync(path.join(tmp, f), path.join(debDir, f));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  return names.map((name) => {
    const file = cached(name);
    if (!file) throw new GuestError('PACKAGE_FAILED', `apt-get download ${name} left no .deb`);
    const root = path.join(linuxCache('unpacked'), file.replace(/\.deb$/, ''));
    if (!fs.existsSync(root)) {
      // Unpack beside it and rename: a folder that exists is complete.
      const tmp = fs.mkdtempSync(`${root}.tmp-`);
      run('dpkg-deb', ['-x', path.join(debDir, file), tmp]);
      try {
        fs.renameSync(tmp, root);
      } catch {
        fs.rmSync(tmp, { recursive: true, force: true }); // another process got there first
      }
    }
    return { name, deb: file, root };
  });
}
