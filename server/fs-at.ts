// File-system calls relative to descriptors, so no call can be redirected out of the export by a name swapped
// for a symlink between a check and the act (issue 15). Node has no openat, fchmodat, renameat or linkat; Linux
// gives the same reach through proc(5): the path /proc/self/fd/N is a "magic link" that resolves to exactly the
// object descriptor N holds, whatever has since happened to its names, and /proc/self/fd/N/name looks `name` up
// in that directory. What each call does with a final component that is a symlink is pinned by
// test/security-fs-at.test.ts on the running kernel:
//   - open(at(dir, name), O_PATH|O_NOFOLLOW) names the entry itself, symlink or not, without opening it for I/O
//     (no device open, no atime); O_DIRECTORY added refuses a symlink with ENOTDIR.
//   - mkdir, symlink, unlink, rmdir, rename, link(old, new) and open(O_CREAT|O_EXCL|O_NOFOLLOW) never follow the
//     final component; readdir(fdPath(dir)) lists exactly that directory.
//   - chmod, chown, utimes and truncate of fdPath(fd) act on the object fd holds, and on a symlink (O_PATH) act
//     on the link itself, never on its target (chmod of a link is EOPNOTSUPP, and nfsd ignores it anyway).
//   - open(fdPath(fd), O_RDWR) reopens that very inode for I/O (a symlink inode gives ELOOP).
// A descriptor must stay open until every call using a path through it has returned: the number could otherwise
// be reused by another open and the path would then name that file.
import fs from 'node:fs';
import { promisify } from 'node:util';
import { ConfigError } from '../core/errors';

/** open(2) O_PATH (Linux; the same value on x86-64 and arm64). Node has no constant for it. */
export const O_PATH = 0o10000000;
export const { O_NOFOLLOW, O_DIRECTORY, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_NOCTTY } = fs.constants;

/** The object descriptor `fd` holds. */
export const fdPath = (fd: number): string => `/proc/self/fd/${fd}`;
/** `name` inside the directory descriptor `dirFd` holds (name is one checked component). */
export const atPath = (dirFd: number, name: string): string => `/proc/self/fd/${dirFd}/${name}`;

export const openAsync = promisify(fs.open) as (p: string, flags: number, mode?: number) => Promise<number>;
export const fstatBig = promisify((fd: number, cb: (e: NodeJS.ErrnoException | null, s: fs.BigIntStats) => void) => fs.fstat(fd, { bigint: true }, cb));
export const fsyncFd = promisify(fs.fsync);
export const fdatasyncFd = promisify(fs.fdatasync);
export const closeFd = promisify(fs.close);
export const pread = (fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> =>
  new Promise((resolve, reject) => fs.read(fd, buf, off, len, pos, (e, n) => (e ? reject(e) : resolve(n))));
/** pread(2) on the calling thread: only for files whose pages are memory (memoryBacked), never waiting for a device. */
export const preadNow = (fd: number, buf: Buffer, off: number, len: number, pos: number): number => fs.readSync(fd, buf, off, len, pos);

/** statfs(2) f_type of tmpfs (shmem) and ramfs (linux/magic.h TMPFS_MAGIC, RAMFS_MAGIC). */
const MEMORY_FS = new Set([0x01021994, 0x858458f6]);

/**
 * Whether the file `fd` holds lives on a file system whose pages are memory (tmpfs, ramfs): reading it is a copy
 * out of the page cache and never waits for a device. statfs of fdPath(fd) is the file's own file system, not
 * the export root's. False when it cannot be told. Synchronous: the export asks once per device (Nfs3Export
 * memoryDevs), so an open costs no thread-pool round trip more than before.
 */
export function memoryBacked(fd: number): boolean {
  try {
    return MEMORY_FS.has(Number(fs.statfsSync(fdPath(fd)).type));
  } catch {
    return false;
  }
}

/**
 * Closes a descriptor the server opened for one call (O_PATH, or a new file's): at once, on the event loop, as
 * closing these never waits for I/O, and a reply never leaves descriptors behind it.
 */
export function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed: nothing to do
  }
}

/** lstat of `name` in a directory descriptor, or undefined when there is nothing there. */
export async function lstatAt(dirFd: number, name: string): Promise<fs.BigIntStats | undefined> {
  try {
    return await fs.promises.lstat(atPath(dirFd, name), { bigint: true });
  } catch {
    return undefined;
  }
}

/**
 * Checks once, at start, that this kernel gives the server the proc(5) magic links it relies on: without them
 * (no /proc, or not Linux) every descriptor-relative call would fail, so the server refuses to start.
 */
export function checkProcFd(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW);
    const a = fs.fstatSync(fd, { bigint: true });
    const b = fs.statSync(fdPath(fd), { bigint: true });
    if (a.ino !== b.ino || a.dev !== b.dev) throw new Error(`${fdPath(fd)} names another object`);
    fs.readdirSync(fdPath(fd));
  } catch (e) {
    throw new ConfigError('NO_PROC_FD', `the server needs Linux's /proc/self/fd to act on descriptors (${(e as Error).message})`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
