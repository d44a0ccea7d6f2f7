// Directories for capture-writer tests: one whose file system takes O_DIRECT (CI's TMPDIR may be tmpfs), one on
// tmpfs, and a loop-mounted ext4 that a test can freeze (root only). Each answers a skip reason when there is none.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRoot, missingTools } from '../../lab/peers/tools';
import { DIRECT_BLOCK, pageAlignedBuffer } from '../../netem/capture/direct-file';

const TMPFS_MAGIC = 0x01021994;

function isTmpfs(dir: string): boolean {
  return Number(fs.statfsSync(dir).type) === TMPFS_MAGIC;
}

/** A directory on a file system (not tmpfs) where an aligned O_DIRECT write succeeds: make fresh ones inside. */
export function directIoBase(): { base: string } | { skip: string } {
  const prefix = 'direct-probe-';
  const tried: string[] = [];
  for (const base of [os.tmpdir(), '/var/tmp', path.resolve(__dirname, '..', '..')]) {
    let dir: string | undefined;
    try {
      if (isTmpfs(base)) {
        tried.push(`${base}: tmpfs`);
        continue;
      }
      dir = fs.mkdtempSync(path.join(base, prefix));
      const fd = fs.openSync(path.join(dir, 'probe'), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_DIRECT);
      try {
        fs.writeSync(fd, pageAlignedBuffer(DIRECT_BLOCK), 0, DIRECT_BLOCK, 0);
      } finally {
        fs.closeSync(fd);
      }
      fs.rmSync(dir, { recursive: true });
      return { base };
    } catch (e) {
      tried.push(`${base}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return { skip: `needs a directory that takes O_DIRECT (${tried.join('; ')})` };
}

/** A tmpfs directory (TMPDIR or /dev/shm), if this machine has one: make fresh ones inside. */
export function tmpfsBase(): { base: string } | { skip: string } {
  for (const base of [os.tmpdir(), '/dev/shm']) {
    try {
      if (isTmpfs(base)) return { base };
    } catch {
      /* next */
    }
  }
  return { skip: 'needs a tmpfs (neither TMPDIR nor /dev/shm is one)' };
}

/** Why a loop-mounted ext4 cannot be made here, or undefined. */
export function loopExt4Skip(): string | undefined {
  if (!isRoot()) return 'needs root to mount a loop-device ext4';
  return missingTools(['mkfs.ext4', 'e2fsprogs'], ['losetup', 'mount'], ['fsfreeze', 'util-linux']);
}

/** Mounts a fresh `mib` MiB ext4 image on a loop device under `dir`/mnt; unmount() undoes it (and detaches). */
export function mountLoopExt4(dir: string, mib = 64): { mnt: string; unmount(): void } {
  const img = path.join(dir, 'ext4.img');
  const mnt = path.join(dir, 'mnt');
  fs.mkdirSync(mnt);
  fs.closeSync(fs.openSync(img, 'w'));
  fs.truncateSync(img, mib << 20);
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  };
  run('mkfs.ext4', ['-q', '-F', img]);
  run('mount', ['-o', 'loop', img, mnt]);
  return {
    mnt,
    unmount: () => {
      spawnSync('fsfreeze', ['-u', mnt]); // in case a test left it frozen; "not frozen" is fine
      try {
        run('umount', [mnt]); // mount -o loop set autoclear: the loop device is detached with it
      } catch (e) {
        // Busy: a file still open (a stream destroyed but not yet closed after a failed read). Detached now, the
        // file system goes (and its loop device with it) when the last file closes; the failure is still reported.
        run('umount', ['-l', mnt]);
        throw e;
      }
    },
  };
}
