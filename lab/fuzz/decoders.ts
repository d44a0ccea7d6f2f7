// The decoder fuzzer: input i of a run is target TARGETS[i % n] applied to a seed mutated by Rng(inputSeed(seed, i)),
// so any finding is reproduced from (seed, index) alone. Acceptable outcomes: the decoder returns, or throws a
// TestbedError with a stable code. Findings: anything else thrown (crash), an input that does not finish within
// the time box (hang), an input during which ArrayBuffer memory grows past a cap (alloc).
//
// The inputs run in a worker thread: a synchronous decoder stuck in a loop cannot be interrupted from its own
// thread, so the main thread watches a progress counter and terminates a stuck worker, then resumes after the
// input that hung.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { TestbedError } from '../../core/errors';
import { Rng } from '../../testing/xdr-arbitrary';
import { loadCorpus } from './corpus';
import { Mutator, inputSeed } from './mutator';
import { FuzzTarget, Seed, TARGETS } from './targets';

export interface DecoderFuzzOptions {
  seed: number;
  inputs: number;
  /** target names to run (default: all with seeds) */
  targets?: string[];
  /** an input not finished after this long is a hang (default 10 s; generous: the machine may be loaded) */
  hangMs?: number;
  /** ArrayBuffer growth during one input beyond this is an allocation finding (default 64 MiB) */
  memCapBytes?: number;
  /** called now and then with the number of inputs done */
  onProgress?(done: number): void;
}

export interface Finding {
  kind: 'crash' | 'hang' | 'alloc';
  target: string;
  /** input index: reproduce with the same seed and `--index` */
  index: number;
  error?: { name: string; code?: string; message: string };
  inputLength?: number;
  /** the first 256 bytes of the input, hex */
  inputHead?: string;
  /** ArrayBuffer growth during the input, for alloc findings */
  grewBytes?: number;
}

export interface TargetCounts {
  inputs: number;
  /** decoded without error */
  accepted: number;
  /** refused with a typed error */
  rejected: number;
  findings: number;
}

export interface DecoderFuzzSummary {
  seed: number;
  inputs: number;
  targets: Record<string, TargetCounts>;
  /** typed error codes seen, with counts */
  codes: Record<string, number>;
  crashes: number;
  hangs: number;
  allocs: number;
  /** at most 20 findings, first first */
  findings: Finding[];
  /** the largest ArrayBuffer growth seen during a single input */
  maxInputGrowthBytes: number;
  rss: { startBytes: number; endBytes: number };
  corpus: { calls: number; replies: number; args: number; results: number; streams: number; sources: string[] };
}

const MAX_FINDINGS = 20;

/** True for what a decoder may throw: a TestbedError subclass carrying a non-empty string code. */
export function isTypedError(e: unknown): e is TestbedError {
  return e instanceof TestbedError && typeof e.code === 'string' && e.code.length > 0;
}

function activeTargets(names?: string[]): Array<{ t: FuzzTarget; seeds: Seed[] }> {
  const c = loadCorpus();
  const all = TARGETS.map((t) => ({ t, seeds: t.seeds(c) })).filter((x) => x.seeds.length > 0);
  if (!names?.length) return all;
  const unknown = names.filter((n) => !TARGETS.some((t) => t.name === n));
  if (unknown.length) throw new TestbedError('FUZZ_TARGET', `unknown fuzz target(s): ${unknown.join(', ')}`, { known: TARGETS.map((t) => t.name) });
  return all.filter((x) => names.includes(x.t.name));
}

/** Builds input `index` of a run: the target, its seed and the mutated bytes. */
export function makeInput(seed: number, index: number, targets = activeTargets()): { target: FuzzTarget; seed: Seed; input: Buffer; g: Rng } {
  const { t, seeds } = targets[index % targets.length];
  const g = new Rng(inputSeed(seed, index));
  const s = seeds[g.int(seeds.length)];
  const other = seeds[g.int(seeds.length)].bytes;
  // One input in eight is the seed as is: the decoders must also accept what they should.
  const input = g.int(8) === 0 ? s.bytes : new Mutator().mutate(g, s.bytes, other);
  return { target: t, seed: s, input, g };
}

interface Partial {
  done: number;
  targets: Record<string, TargetCounts>;
  codes: Record<string, number>;
  findings: Finding[];
  counts: { crash: number; alloc: number };
  maxGrowth: number;
}

function emptyPartial(): Partial {
  return { done: 0, targets: {}, codes: {}, findings: [], counts: { crash: 0, alloc: 0 }, maxGrowth: 0 };
}

/**
 * Runs inputs [from, to) in this thread. `progress[0]` is set to the index being run (for the watchdog);
 * `report` receives the cumulative partial result every `every` inputs and at the end.
 */
export function runRange(seed: number, from: number, to: number, names: string[] | undefined, memCap: number, progress: Int32Array | null, report: (p: Partial) => void, every = 1024): Partial {
  const targets = activeTargets(names);
  const p = emptyPartial();
  for (const { t } of targets) p.targets[t.name] = { inputs: 0, accepted: 0, rejected: 0, findings: 0 };
  const finding = (f: Finding) => {
    p.targets[f.target].findings++;
    if (p.findings.length < MAX_FINDINGS) p.findings.push(f);
  };
  for (let i = from; i < to; i++) {
    if (progress) Atomics.store(progress, 0, i);
    const { target, seed: s, input, g } = makeInput(seed, i, targets);
    const counts = p.targets[target.name];
    counts.inputs++;
    const before = process.memoryUsage().arrayBuffers;
    try {
      target.run(input, g, s);
      counts.accepted++;
    } catch (e) {
      if (isTypedError(e)) {
        counts.rejected++;
        p.codes[e.code] = (p.codes[e.code] ?? 0) + 1;
      } else {
        p.counts.crash++;
        const err = e as Error;
        finding({ kind: 'crash', target: target.name, index: i, error: { name: err?.name ?? typeof e, code: (err as { code?: string })?.code, message: String(err?.message ?? e) }, inputLength: input.length, inputHead: input.subarray(0, 256).toString('hex') });
      }
    }
    const grew = process.memoryUsage().arrayBuffers - before;
    if (grew > p.maxGrowth) p.maxGrowth = grew;
    if (grew > memCap) {
      p.counts.alloc++;
      finding({ kind: 'alloc', target: target.name, index: i, grewBytes: grew, inputLength: input.length, inputHead: input.subarray(0, 256).toString('hex') });
    }
    p.done++;
    if (p.done % every === 0) report(p);
  }
  report(p);
  return p;
}

function merge(into: Partial, p: Partial): void {
  into.done += p.done;
  for (const [k, v] of Object.entries(p.targets)) {
    const t = (into.targets[k] ??= { inputs: 0, accepted: 0, rejected: 0, findings: 0 });
    t.inputs += v.inputs;
    t.accepted += v.accepted;
    t.rejected += v.rejected;
    t.findings += v.findings;
  }
  for (const [k, v] of Object.entries(p.codes)) into.codes[k] = (into.codes[k] ?? 0) + v;
  for (const f of p.findings) if (into.findings.length < MAX_FINDINGS) into.findings.push(f);
  into.counts.crash += p.counts.crash;
  into.counts.alloc += p.counts.alloc;
  into.maxGrowth = Math.max(into.maxGrowth, p.maxGrowth);
}

const WORKER = path.join(__dirname, 'decoder-worker.js');

/** Runs a whole fuzz campaign in a watched worker thread. */
export async function fuzzDecoders(o: DecoderFuzzOptions): Promise<DecoderFuzzSummary> {
  const hangMs = o.hangMs ?? 10_000;
  const memCap = o.memCapBytes ?? 64 * 1024 * 1024;
  activeTargets(o.targets); // unknown names fail here, in the caller's thread
  const rssStart = process.memoryUsage.rss();
  const total = emptyPartial();
  let hangs = 0;
  let next = 0;
  while (next < o.inputs) {
    const progress = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(progress, 0, next);
    const from = next;
    const outcome = await new Promise<{ last: Partial; hungAt?: number; error?: Error }>((resolve) => {
      let last = emptyPartial();
      // A bounded heap: the worker's garbage is collected instead of growing the process, and a decoder that
      // retained what it allocated would end the worker with ERR_WORKER_OUT_OF_MEMORY (an error, not a pass).
      const w = new Worker(WORKER, { workerData: { seed: o.seed, from, to: o.inputs, targets: o.targets, memCap, progress }, resourceLimits: { maxOldGenerationSizeMb: 192, maxYoungGenerationSizeMb: 16 } });
      let seen = -1;
      let since = Date.now();
      const timer = setInterval(() => {
        const at = Atomics.load(progress, 0);
        if (at !== seen) {
          seen = at;
          since = Date.now();
          return;
        }
        if (Date.now() - since < hangMs) return;
        clearInterval(timer);
        void w.terminate().then(() => resolve({ last, hungAt: at }));
      }, Math.min(250, hangMs / 4));
      w.on('message', (p: Partial) => {
        last = p;
        o.onProgress?.(total.done + p.done);
      });
      w.once('error', (error) => {
        clearInterval(timer);
        resolve({ last, error });
      });
      w.once('exit', () => {
        clearInterval(timer);
        resolve({ last });
      });
    });
    merge(total, outcome.last);
    if (outcome.error) throw outcome.error;
    if (outcome.hungAt !== undefined) {
      hangs++;
      const { target, input } = makeInput(o.seed, outcome.hungAt, activeTargets(o.targets));
      if (total.findings.length < MAX_FINDINGS) total.findings.push({ kind: 'hang', target: target.name, index: outcome.hungAt, inputLength: input.length, inputHead: input.subarray(0, 256).toString('hex') });
      const t = total.targets[target.name];
      if (t) t.findings++;
      // Inputs the worker ran after its last report and before the hang were decoded; count them as inputs.
      total.done = outcome.hungAt + 1;
      next = outcome.hungAt + 1;
    } else {
      next = o.inputs;
    }
  }
  const c = loadCorpus();
  return {
    seed: o.seed,
    inputs: total.done,
    targets: total.targets,
    codes: total.codes,
    crashes: total.counts.crash,
    hangs,
    allocs: total.counts.alloc,
    findings: total.findings,
    maxInputGrowthBytes: total.maxGrowth,
    rss: { startBytes: rssStart, endBytes: process.memoryUsage.rss() },
    corpus: { calls: c.calls.length, replies: c.replies.length, args: c.args.length, results: c.results.length, streams: c.streams.length, sources: c.sources },
  };
}
