// Worker-thread entry of the decoder fuzzer (see decoders.ts): runs its range and posts cumulative results.
import { parentPort, workerData } from 'node:worker_threads';
import { runRange } from './decoders';

const d = workerData as { seed: number; from: number; to: number; targets?: string[]; memCap: number; progress: Int32Array };
runRange(d.seed, d.from, d.to, d.targets, d.memCap, d.progress, (p) => parentPort!.postMessage(p));
