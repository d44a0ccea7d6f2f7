// The writer thread of the O_DIRECT capture (direct-file.ts): it takes the staged ranges the relay thread hands
// over and writes them to the device, so the relay waits for the device only when every slab of its ring is full.
// The hand-over is a command queue in a SharedArrayBuffer, published and consumed with Atomics (no postMessage,
// no event loop on either side): one store and one futex wake per slab or flush.
//
// Ordering: commands run one at a time, in the order published, on this one thread; so each write extends the
// file after the one before it has set i_size (ext4_handle_inode_extension(), at the end of the synchronous
// iomap_dio_rw()), and a flush's ftruncate() runs after every earlier write has returned: no direct write of this
// file is in flight or pending when the file is cut (ext4_setattr() would wait for an in-flight one with
// inode_dio_wait(), but one handed over and not yet started would grow the file past the cut again).
import fs from 'node:fs';

/** Int32 slots of the control array. */
export const CTRL = {
  /** commands published (producer: the relay thread) */
  HEAD: 0,
  /** commands completed, failed ones included (consumer: this thread) */
  DONE: 1,
  /** 1 once a command failed: ERROR_BYTES hold the error, later commands are counted done unwritten */
  FAILED: 2,
  /** 1 once this thread has left its loop (asked to, or by an exception) */
  EXITED: 3,
} as const;
export const CTRL_SLOTS = 4;
/** Float64 fields of one command. */
export const CMD = { POS: 0, LEN: 1, OFF: 2, TRUNC: 3 } as const;
export const CMD_FIELDS = 4;
/** TRUNC of a command that writes only; POS of the command that ends the thread. */
export const NO_TRUNC = -1;
export const EXIT = -1;
/** JSON of the first error ({code, message}), UTF-8, zero-padded. */
export const ERROR_BYTES = 512;

/** What the thread is started with (workerData). */
export interface WriterThreadData {
  directCaptureWriter: true;
  fd: number;
  /** the staging ring (page-aligned) */
  ring: SharedArrayBuffer;
  ringOffset: number;
  ringBytes: number;
  /** bytes of contiguous slabs joined into one write, at most (the relay waits for a whole write when its ring is full) */
  writeMax: number;
  ctrl: SharedArrayBuffer;
  cmds: SharedArrayBuffer;
  error: SharedArrayBuffer;
}

/** pwrite(2) ring[pos, pos + len) at file offset `off` until all of it is written. */
export function pwriteAll(fd: number, ring: Buffer, pos: number, len: number, off: number): void {
  for (let o = 0; o < len; ) {
    const n = fs.writeSync(fd, ring, pos + o, len - o, off + o);
    if (n <= 0) throw new Error(`O_DIRECT write of ${len - o} bytes at ${off + o} wrote ${n}`);
    o += n;
  }
}

/** One command: the write, then (a flush) the cut to the file's true length. */
export function runCommand(fd: number, ring: Buffer, pos: number, len: number, off: number, trunc: number): void {
  if (len > 0) pwriteAll(fd, ring, pos, len, off);
  if (trunc !== NO_TRUNC) fs.ftruncateSync(fd, trunc);
}

/**
 * The loop: wait for HEAD to move, run the published commands, publish DONE. Consecutive write-only commands that
 * are contiguous in the ring and in the file (slabs spilled while the device was busy) go out as one pwrite of up
 * to writeMax bytes (on this virtio disk 4 MiB O_DIRECT writes ran at 446 MB/s, 1 MiB ones at 318).
 */
export function writerLoop(d: WriterThreadData): void {
  const ctrl = new Int32Array(d.ctrl);
  const cmds = new Float64Array(d.cmds);
  const queue = cmds.length / CMD_FIELDS;
  const ring = Buffer.from(d.ring, d.ringOffset, d.ringBytes);
  const field = (seq: number, f: number) => cmds[(seq % queue) * CMD_FIELDS + f];
  let done = Atomics.load(ctrl, CTRL.DONE);
  try {
    for (;;) {
      let head = Atomics.load(ctrl, CTRL.HEAD);
      while (head === done) {
        Atomics.wait(ctrl, CTRL.HEAD, head);
        head = Atomics.load(ctrl, CTRL.HEAD);
      }
      while (done < head) {
        if (field(done, CMD.POS) === EXIT) {
          Atomics.store(ctrl, CTRL.DONE, done + 1);
          Atomics.notify(ctrl, CTRL.DONE);
          return;
        }
        const pos = field(done, CMD.POS);
        const off = field(done, CMD.OFF);
        let len = field(done, CMD.LEN);
        let trunc = field(done, CMD.TRUNC);
        let next = done + 1;
        while (next < head && trunc === NO_TRUNC && len < d.writeMax && field(next, CMD.POS) === pos + len && field(next, CMD.OFF) === off + len) {
          len += field(next, CMD.LEN);
          trunc = field(next, CMD.TRUNC);
          next++;
        }
        if (Atomics.load(ctrl, CTRL.FAILED) === 0) {
          try {
            runCommand(d.fd, ring, pos, len, off, trunc);
          } catch (e) {
            const err = e as NodeJS.ErrnoException;
            Buffer.from(d.error).write(JSON.stringify({ code: err.code, message: err.message }).slice(0, ERROR_BYTES));
            Atomics.store(ctrl, CTRL.FAILED, 1);
          }
        }
        done = next;
        Atomics.store(ctrl, CTRL.DONE, done);
        Atomics.notify(ctrl, CTRL.DONE);
      }
    }
  } finally {
    Atomics.store(ctrl, CTRL.EXITED, 1);
    Atomics.notify(ctrl, CTRL.DONE);
  }
}

/**
 * What the thread runs (eval'd): this module's loop, and EXITED set even when the module cannot be loaded, so the
 * relay thread, which may be blocked in Atomics.wait and so cannot see the Worker's 'error' event, is told.
 */
export const WRITER_THREAD_SOURCE = `
const { workerData } = require('node:worker_threads');
try {
  require(${JSON.stringify(__filename)}).writerLoop(workerData);
} catch (e) {
  const ctrl = new Int32Array(workerData.ctrl);
  Buffer.from(workerData.error).write(JSON.stringify({ code: e && e.code, message: 'capture writer thread: ' + (e && e.message) }).slice(0, ${ERROR_BYTES}));
  Atomics.store(ctrl, ${CTRL.FAILED}, 1);
  Atomics.store(ctrl, ${CTRL.EXITED}, 1);
  Atomics.notify(ctrl, ${CTRL.DONE});
}
`;
