// The capture file written through the page cache: one synchronous writev per call of the synthesized headers and,
// by reference, the relay's own slabs (no payload copy in user space; the kernel copies into the page cache). The
// writer where O_DIRECT is refused or useless (tmpfs, a FIFO), or when `--capture-io buffered` asks for it.
import fs from 'node:fs';

/** Appends with writev(2). Ownership: nothing of `parts` is kept after write() returns. */
export class BufferedFile {
  /**
   * `fd`: opened for writing at its end, owned by this object from now on (close() closes it); `written`: bytes the
   * file already holds.
   */
  constructor(
    private readonly fd: number,
    private written = 0,
  ) {}

  get length(): number {
    return this.written;
  }

  write(parts: readonly Buffer[]): number {
    const n = writevAll(this.fd, parts);
    this.written += n;
    return n;
  }

  /** Every write is in the file (the page cache) when it returns: nothing to do. */
  flush(): void {}

  close(): Promise<void> {
    try {
      fs.closeSync(this.fd);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return Promise.resolve();
  }
}

/** writev(2) until every byte is written (a pipe or a signal may take part of it). */
function writevAll(fd: number, parts: readonly Buffer[]): number {
  let all = 0;
  for (const p of parts) all += p.length;
  let rest = parts as Buffer[];
  for (let left = all; ; ) {
    const n = fs.writevSync(fd, rest);
    left -= n;
    if (left === 0) return all;
    if (n === 0) throw new Error('writev wrote nothing');
    rest = dropFront(rest, n);
  }
}

/** `parts` without their first `n` bytes. */
function dropFront(parts: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (n >= parts[i].length) n -= parts[i++].length;
  return [parts[i].subarray(n), ...parts.slice(i + 1)];
}
