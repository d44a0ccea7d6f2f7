// GET /verify's check of a file against the blktest counter pattern, in a worker thread: a 256 MiB file costs about
// a second of CPU (more when every block differs), which on the event loop delayed every NFS call meanwhile
// (issue 15: 4.9 s). One check runs at a time; others wait their turn, so at most one extra core is used.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { VerifyJob, VerifyOutcome } from './verify-worker';

/** Largest `limit` accepted: the corrupt blocks described in one answer (about 200 bytes of JSON each; the answer is
 * serialised on the event loop, about 10 ms for 10,000). */
export const VERIFY_LIMIT_MAX = 10_000;

let queue: Promise<unknown> = Promise.resolve();

/** Checks `job.size` bytes of the open descriptor `job.fd` (the caller keeps it open until this settles). */
export function verifyFile(job: VerifyJob): Promise<VerifyOutcome> {
  const run = queue.then(
    () =>
      new Promise<VerifyOutcome>((resolve, reject) => {
        const w = new Worker(path.join(__dirname, 'verify-worker.js'), { workerData: job });
        w.once('message', (m: VerifyOutcome) => resolve(m));
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`verify worker exited with code ${code}`))); // no-op after resolve
      }),
  );
  queue = run.catch(() => {});
  return run;
}
