// The worker side of server/verify-file.ts: reads an open file descriptor in slices and checks it against the
// blktest counter pattern, away from the server's event loop.
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { scanPattern, type CorruptBlock } from '../core/pattern';

export interface VerifyJob {
  fd: number;
  size: number;
  blockSize: number;
  /** corrupt blocks described at most; the rest are counted */
  limit: number;
}

export interface VerifyOutcome {
  corruptBlocks: number;
  corrupt: CorruptBlock[];
}

function run(job: VerifyJob): VerifyOutcome {
  // 4 MiB reads, a whole number of blocks so every slice starts at a block boundary.
  const chunk = Buffer.allocUnsafe(Math.max(1, Math.floor((4 * 1024 * 1024) / job.blockSize)) * job.blockSize);
  const corrupt: CorruptBlock[] = [];
  let total = 0;
  for (let off = 0; off < job.size; ) {
    const n = fs.readSync(job.fd, chunk, 0, Math.min(chunk.length, job.size - off), off);
    if (n === 0) break; // the file shrank meanwhile
    total += scanPattern(chunk.subarray(0, n), off, job.blockSize, corrupt, job.limit);
    off += n;
  }
  return { corruptBlocks: total, corrupt };
}

if (parentPort) parentPort.postMessage(run(workerData as VerifyJob));
