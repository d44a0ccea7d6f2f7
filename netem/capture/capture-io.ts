// How the proxy's capture file is written (issue 20): the modes of `--capture-io`, and the choice `auto` makes.
// Both writers take every record before write() returns and block the relay thread when the file cannot keep up
// (the page cache in writev, the O_DIRECT writer once every slab of its ring is held), so a slow file slows the
// relay down and never loses a packet; both produce the same bytes (test/netem-capture-writer.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { CaptureError } from '../../core/errors';
import { BufferedFile } from './buffered-file';
import { DIRECT_BLOCK, DirectFile, pageAlignedBuffer } from './direct-file';

export const CAPTURE_IO = {
  auto: 'the page cache for the first 64 MiB, then O_DIRECT where the file system takes it and it saves the page-cache copy (said at the switch)',
  direct: 'O_DIRECT from a ring of page-aligned staging slabs written by a writer thread, padded tail cut by ftruncate (an error where refused)',
  buffered: 'writev of headers and the relay slabs through the page cache',
} as const;
export type CaptureIo = keyof typeof CAPTURE_IO;

/**
 * `auto`, the default: a capture starts through the page cache and goes O_DIRECT once it has written
 * AUTO_DIRECT_AFTER bytes. Which writer costs less is the machine's: per MB relayed, capture on minus off (every
 * thread), `npm run bench -- netem`:
 * - this project's VM of 2026-12-07 (kernel 6.18, virtio disk taking O_DIRECT at 1.8-2.5 GB/s): O_DIRECT 0.08-0.18
 *   ms/MB against 1.59-1.97 through the page cache (`dd` of 2 GiB: 0.6-2.5 ms of system time per MiB buffered,
 *   0.09-0.15 with oflag=direct); throughput 1.1-1.2 GB/s against 0.45-0.50; the relay's event-loop delay p99 36-38
 *   ms against 142-149 (writev blocked in page allocation);
 * - the VM of the sessions before (a 260-650 MB/s disk): O_DIRECT 0.91-1.01 against 0.49-0.88 quiet, about equal
 *   under contention; throughput 226-258 MB/s against 639-929, delay p99 163-173 ms against 44-52 (the relay ran
 *   at the device's pace once the ring was full, where the page cache defers the disk).
 * A small capture (a repro, a matrix cell: tens of MB) costs little either way, and through the page cache it is
 * readable to its last record at once and starts no writer thread; a bulk capture is where the writers differ, and
 * there O_DIRECT also keeps gigabytes of capture out of the page cache. So auto switches at 64 MiB: past it, the
 * second of these machines pays up to 0.1-0.5 ms/MB more, the first saves 1.4-1.7. `--capture-io buffered` keeps
 * a slow disk's capture in the page cache throughout.
 */
export const CAPTURE_IO_DEFAULT: CaptureIo = 'auto';

/** auto: bytes written through the page cache before the capture goes O_DIRECT (CAPTURE_IO_DEFAULT says why). */
export const AUTO_DIRECT_AFTER = 64 * 1024 * 1024;

/** A capture file being appended to: direct-file.ts or buffered-file.ts. */
export interface CaptureFile {
  /** bytes written so far */
  readonly length: number;
  /** appends `parts` before returning (nothing of them is kept) */
  write(parts: readonly Buffer[]): number;
  /**
   * makes every byte written so far readable, the file cut at the last one: by the time it returns, or (`wait`
   * false, the sink's timer) as soon as the writer thread gets to it, without waiting for the device
   */
  flush(wait?: boolean): void;
  /** flushes and closes (a writer thread has exited when it resolves) */
  close(): Promise<void>;
  /** what the file is written with now, where that changes while it is written (AutoFile) */
  readonly choice?: CaptureIoChoice;
}

/** What a capture file is written with, and why (the proxy's status and the CLI report it). */
export interface CaptureIoChoice {
  io: 'direct' | 'buffered';
  /** what was asked for */
  asked: CaptureIo;
  /** why `auto` chose buffered, or what direct wrote through */
  reason: string;
  /** auto, still through the page cache: the file length at which it goes O_DIRECT (absent where it never will) */
  directAfter?: number;
}

/** statfs(2) f_type of file systems whose pages live in memory (include/uapi/linux/magic.h). */
const MEMORY_FS: Record<number, string> = { 0x01021994: 'tmpfs', 0x858458f6: 'ramfs' };

/**
 * Opens `file` for a capture (truncating it) and writes `first` (the pcap global header). With `auto`: through the
 * page cache, going O_DIRECT after `autoDirectAfter` bytes (AutoFile), on a regular file of a file system that takes
 * O_DIRECT; buffered throughout on tmpfs/ramfs (shmem accepts O_DIRECT since Linux 6.6,
 * "tmpfs: trivial support for direct IO", but still copies into its own pages, so the staging copy would be a
 * second one; before 6.6 open() answered EINVAL), on a FIFO or device, and where open() or the first write
 * answers EINVAL (a file system without direct I/O, or a block size above DIRECT_BLOCK).
 */
export function openCaptureFile(file: string, asked: CaptureIo, first: Buffer, autoDirectAfter = AUTO_DIRECT_AFTER): { file: CaptureFile; choice: CaptureIoChoice } {
  if (asked === 'buffered') return buffered(file, first, asked, 'asked for (--capture-io buffered)');
  const refuse = (why: string) => {
    if (asked === 'direct') throw new CaptureError('CAPTURE_IO', `${file}: --capture-io direct, but ${why}`);
    return buffered(file, first, asked, why);
  };
  const existing = statOrUndefined(file);
  if (existing && !existing.isFile()) return refuse('it is not a regular file (O_DIRECT on a FIFO means packet mode)');
  const fsType = MEMORY_FS[Number(fs.statfsSync(path.dirname(path.resolve(file))).type)];
  if (fsType && asked === 'auto') return buffered(file, first, asked, `${fsType}: O_DIRECT would add a copy there (its pages are the file)`);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_DIRECT, 0o666);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EINVAL') return refuse('the file system refused O_DIRECT at open (EINVAL)');
    throw e;
  }
  try {
    // The probe, on this thread: a file system may take O_DIRECT at open and refuse the write. It writes the
    // global header (padded, cut to its length), so the file is a pcap from the start; the DirectFile stages the
    // header too and rewrites the same block with its first flush.
    const block = pageAlignedBuffer(DIRECT_BLOCK);
    first.copy(block);
    fs.writeSync(fd, block, 0, DIRECT_BLOCK, 0);
    fs.ftruncateSync(fd, first.length);
  } catch (e) {
    fs.closeSync(fd);
    if ((e as NodeJS.ErrnoException).code === 'EINVAL') return refuse('the file system refused an aligned O_DIRECT write (EINVAL)');
    throw e;
  }
  if (asked === 'auto') {
    const auto = new AutoFile(file, fd, first.length, autoDirectAfter);
    return { file: auto, choice: auto.choice };
  }
  const direct = new DirectFile(fd);
  direct.write([first]);
  return { file: direct, choice: { io: 'direct', asked, reason: `O_DIRECT${fsType ? ` on ${fsType}` : ''}` } };
}

/**
 * `auto` on a file system that takes O_DIRECT: appends through the page cache (BufferedFile) until the file holds
 * `after` bytes, then through a DirectFile on the descriptor the probe opened, resuming at the file's length (the
 * switch happens between two writes, so no record is split across writers). The bytes are the same either way
 * (test/netem-capture-writer.test.ts).
 */
class AutoFile implements CaptureFile {
  private buffered?: BufferedFile;
  private direct?: DirectFile;
  /** why the switch to O_DIRECT failed (the writer thread did not start): the page cache throughout */
  private stayed?: string;

  /** `directFd`: opened with O_DIRECT, holding the `written` bytes of the header; owned from now on. */
  constructor(
    private readonly path: string,
    private readonly directFd: number,
    written: number,
    private readonly after: number,
  ) {
    try {
      this.buffered = new BufferedFile(fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_APPEND), written);
    } catch (e) {
      fs.closeSync(directFd);
      throw e;
    }
  }

  get choice(): CaptureIoChoice {
    const mib = this.after % 1048576 === 0 ? `${this.after / 1048576} MiB` : `${this.after} bytes`;
    if (this.stayed) return { io: 'buffered', asked: 'auto', reason: `the page cache throughout: going O_DIRECT after ${mib} failed (${this.stayed})` };
    return this.direct
      ? { io: 'direct', asked: 'auto', reason: `O_DIRECT after the first ${mib} through the page cache` }
      : { io: 'buffered', asked: 'auto', reason: `the page cache for the first ${mib}, then O_DIRECT`, directAfter: this.after };
  }

  get length(): number {
    return (this.direct ?? this.buffered!).length;
  }

  write(parts: readonly Buffer[]): number {
    const n = (this.direct ?? this.buffered!).write(parts);
    if (!this.direct && !this.stayed && this.buffered!.length >= this.after) this.goDirect();
    return n;
  }

  flush(wait?: boolean): void {
    (this.direct ?? this.buffered!).flush(wait);
  }

  async close(): Promise<void> {
    if (this.direct) return this.direct.close();
    try {
      await this.buffered!.close();
    } finally {
      fs.closeSync(this.directFd);
    }
  }

  /** The partial last block is read back (it is in the page cache) and staged again; the rest stays where it is. */
  private goDirect(): void {
    const length = this.buffered!.length;
    const tail = Buffer.alloc(length % DIRECT_BLOCK);
    const rd = fs.openSync(this.path, 'r');
    try {
      if (fs.readSync(rd, tail, 0, tail.length, length - tail.length) !== tail.length) throw new CaptureError('CAPTURE_IO', `${this.path}: shorter than the ${length} bytes written`);
    } finally {
      fs.closeSync(rd);
    }
    const b = this.buffered!;
    try {
      this.direct = new DirectFile(this.directFd, { resume: { length, tail } });
    } catch (e) {
      // The writer thread could not start (a thread or memory limit): the capture goes on through the page cache.
      this.stayed = (e as Error).message;
      return;
    }
    this.buffered = undefined;
    // close(2) of a local file reports only an earlier writeback error, which no caller here could act on: the
    // writes it would concern were made, and the capture goes on through the descriptor the probe checked.
    b.close().catch(() => undefined);
  }
}

function buffered(file: string, first: Buffer, asked: CaptureIo, reason: string): { file: CaptureFile; choice: CaptureIoChoice } {
  const f = new BufferedFile(fs.openSync(file, 'w'));
  f.write([first]);
  return { file: f, choice: { io: 'buffered', asked, reason } };
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}
