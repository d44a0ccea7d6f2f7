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
  auto: 'direct where the file system takes O_DIRECT and it saves the page-cache copy, else buffered (said once)',
  direct: 'O_DIRECT from a ring of page-aligned staging slabs written by a writer thread, padded tail cut by ftruncate (an error where refused)',
  buffered: 'writev of headers and the relay slabs through the page cache',
} as const;
export type CaptureIo = keyof typeof CAPTURE_IO;

/**
 * The default is the page cache, not O_DIRECT, though O_DIRECT costs the relay thread less CPU per MB (the process
 * about the same: the device writes moved to the writer thread). The O_DIRECT writer's thread
 * takes the device wait off the relay thread only while its ring has a free slab: a bulk transfer writes twice its
 * bytes (both legs) and outruns the device, and then the relay runs at the device's pace, below what the page cache
 * absorbs (under contention 329-332 MB/s against 521-1072, its event-loop delay p99 up to 145 ms against 32 once the
 * ring is full and the device pauses; README "Targets on CPU cost"), and in a repro or matrix cell the
 * relay shares its event loop with the modelled timers (lab/), where at --time-scale 1/250 each millisecond held
 * is 0.25 s of modelled lag. Measured in `npm run bench -- netem` (both writers, same rounds: CPU of every thread,
 * throughput, the relay's event-loop delay).
 */
export const CAPTURE_IO_DEFAULT: CaptureIo = 'buffered';

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
}

/** What a capture file is written with, and why (the proxy's status and the CLI report it). */
export interface CaptureIoChoice {
  io: 'direct' | 'buffered';
  /** what was asked for */
  asked: CaptureIo;
  /** why `auto` chose buffered, or what direct wrote through */
  reason: string;
}

/** statfs(2) f_type of file systems whose pages live in memory (include/uapi/linux/magic.h). */
const MEMORY_FS: Record<number, string> = { 0x01021994: 'tmpfs', 0x858458f6: 'ramfs' };

/**
 * Opens `file` for a capture (truncating it) and writes `first` (the pcap global header). With `auto`: O_DIRECT on
 * a regular file of a file system that takes it; buffered on tmpfs/ramfs (shmem accepts O_DIRECT since Linux 6.6,
 * "tmpfs: trivial support for direct IO", but still copies into its own pages, so the staging copy would be a
 * second one; before 6.6 open() answered EINVAL), on a FIFO or device, and where open() or the first write
 * answers EINVAL (a file system without direct I/O, or a block size above DIRECT_BLOCK).
 */
export function openCaptureFile(file: string, asked: CaptureIo, first: Buffer): { file: CaptureFile; choice: CaptureIoChoice } {
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
  const direct = new DirectFile(fd);
  direct.write([first]);
  return { file: direct, choice: { io: 'direct', asked, reason: `O_DIRECT${fsType ? ` on ${fsType}` : ''}` } };
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
