// blktest2 (seed 000's test program) over our NFSv3 client: each write() fills one reusable Buffer with the
// counter pattern (core/pattern.ts), issues it O_DIRECT-style as wsize WRITE calls in flight at once that all
// reference slices of that Buffer (Linux nfs_direct_write_schedule), and the moment it returns fills the Buffer
// with the scribble word before the next iteration refills it. `inflight` such Buffers run at once (aio).
// At the end: COMMIT if any WRITE was unstable, read the file back over NFS and list every corrupt block.
// UNSTABLE blocks are tracked until a COMMIT covers them (client/nfs3.ts UncommittedWrites: offsets and verifiers,
// no data); when a verifier changes (server restart, RFC 1813 §3.3.7) the lost blocks are written again from the
// counter pattern, which is what they held: the caller's Buffers were scribbled long ago.
import { channel, CHANNELS } from '../core/channels';
import { ConfigError, TestbedError } from '../core/errors';
import { silentLogger, type Logger } from '../core/log';
import { TimeScale } from '../core/units';
import { fillPattern, patternWord } from '../core/pattern';
import { STABLE_HOW } from '../xdr/nfs3/constants';
import { getPolicy, type PolicyName } from './policies';
import { clampIoSize, mount, UncommittedWrites, type NfsMount } from './nfs3';
import type { Backoff } from './rpc/timeout';
import type { TransportOptions } from './rpc/transport';

export const STABLE_NAMES = { unstable: STABLE_HOW.UNSTABLE, data_sync: STABLE_HOW.DATA_SYNC, file_sync: STABLE_HOW.FILE_SYNC } as const;
export type StableName = keyof typeof STABLE_NAMES;

/** Blocks written (count mode) or cycled over (duration mode) when not given. */
export const DEFAULT_BLOCKS = 64;

export interface BlktestOptions {
  host: string;
  port: number;
  exportPath: string;
  /** file name in the export's root directory (created, or truncated when it exists) */
  file: string;
  /** MOUNT port when it differs from the NFS port */
  mountPort?: number;
  /** find the MOUNT port (and NFS port when port is 0) through PORTMAP on 111 */
  portmap?: boolean;
  /** bytes per write() (default 1 MiB); a multiple of 4 */
  blockSize?: number;
  /** write blocks 0..count-1 once each, then stop (default 64 unless durationMs is given) */
  count?: number;
  /** keep writing for this long (modelled ms, obeys timeScale), cycling over `fileBlocks` blocks */
  durationMs?: number;
  /** file size in blocks for duration mode (default count, or 64) */
  fileBlocks?: number;
  /** asked before each write(): true ends the loop (what is in flight finishes), whatever count or duration say */
  stopWhen?(): boolean;
  /** end the loop at the client's first late transmission (what is in flight finishes); count or duration is the budget */
  untilLate?: boolean;
  /** bytes per WRITE call (default 64 KiB) */
  wsize?: number;
  /** write() calls in flight at once, each with its own Buffer (default 1) */
  inflight?: number;
  stable?: StableName;
  /** with UNSTABLE/DATA_SYNC writes, COMMIT after every this many write() calls (default: only at the end) */
  commitEvery?: number;
  policy?: PolicyName;
  /** 32-bit word written over the Buffer when write() returns (default 0xdeadbeef) */
  scribble?: number;
  /**
   * modelled ms the Buffer keeps the scribble before the next refill (default 0: one event-loop turn, like the
   * C program's next syscall). A longer hold makes late duplicates carry the scribble word itself rather than
   * the next block's counter.
   */
  scribbleHoldMs?: number;
  /** modelled ms (default 60 s) */
  timeo?: number;
  retrans?: number;
  /** how NFS fills struct rpc_timeout: linear (today, default) or exponential (2.6.18) */
  backoff?: Backoff;
  soft?: boolean;
  timeScale?: number;
  seed?: number;
  logger?: Logger;
  /** called after every completed write() (`block`: the block it wrote) */
  onProgress?(writes: number, totalWrites: number | undefined, block: number): void;
  /** called after each COMMIT (with its resends) that left the file committed, with the write() calls so far */
  onCommit?(writes: number): void;
  /** extra transport options (e.g. maxTimeout) */
  transport?: Partial<TransportOptions>;
  /** awaited after the write loop (and COMMIT), before the read-back: e.g. a harness lifting its faults */
  beforeVerify?(): Promise<void>;
}

export type FoundPattern = 'scribble' | 'zero' | 'other';

export interface CorruptBlockReport {
  block: number;
  offset: number;
  /** what the differing words hold: all the scribble word, all zero, or anything else (mixtures included) */
  found: FoundPattern;
  badWords: number;
  scribbleWords: number;
  zeroWords: number;
  firstBadOffset: number;
}

export interface BlktestResult {
  server: string;
  file: string;
  policy: PolicyName;
  seed: number | null;
  blockSize: number;
  /** bytes per WRITE call after the clamp to the server's FSINFO wtmax */
  wsize: number;
  /** the wsize asked for */
  wsizeRequested: number;
  inflight: number;
  stable: StableName;
  /** write() calls completed */
  writes: number;
  /** WRITE calls issued */
  writeCalls: number;
  bytes: number;
  transmissions: number;
  retransmissions: number;
  replays: number;
  duplicatesCancelled: number;
  duplicatesFinished: number;
  /** duplicates withdrawn from the socket by a connection reset (cancel-on-reply) */
  duplicatesWithdrawn: number;
  lateTransmissions: number;
  /** late transmissions by where they were when the reply came: in the socket (the seed's path) or queued */
  latePaths: { inSocket: number; queued: number };
  /** modelled ms from completion to each late transmission */
  lateAfterCompleteModelMs: number[];
  timeoutsMinor: number;
  timeoutsMajor: number;
  /** XIDs with at least one late transmission */
  lateXids: number[];
  committed: boolean;
  /** COMMIT calls made (a verifier change adds one per resend round) */
  commits: number;
  /** the write verifier changed between replies (server restart: unstable data may be lost) */
  verifierChanged: boolean;
  /** how often a WRITE or COMMIT reply carried a verifier other than the previous reply's */
  verifierChanges: number;
  /** blocks resent after a verifier change, summed over COMMITs (a block resent at two COMMITs counts twice) */
  resentBlocks: number;
  /** the blocks resent, ascending, each once */
  resentBlockIndices: number[];
  /** connections re-established by the transport (each from the first connection's source port when it can) */
  reconnects: number;
  /** connections the transport reset itself (cancel-on-reply withdrawals, unreadable streams) */
  resets: number;
  fileBytesRead: number;
  corruptBlocks: number;
  corrupt: CorruptBlockReport[];
  durationMs: number;
}

const traceChannel = channel(CHANNELS.rpcCall);

function checkInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new ConfigError('BAD_NUMBER', `${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

export async function runBlktest(opts: BlktestOptions): Promise<BlktestResult> {
  const blockSize = checkInt('block size', opts.blockSize ?? 1 << 20, 4);
  if (blockSize % 4) throw new ConfigError('BAD_SIZE', `block size must be a multiple of 4, got ${blockSize}`);
  const wsizeRequested = checkInt('wsize', opts.wsize ?? 64 << 10, 4);
  const inflight = checkInt('inflight', opts.inflight ?? 1, 1);
  const stableName = opts.stable ?? 'unstable';
  if (!(stableName in STABLE_NAMES)) throw new ConfigError('BAD_STABLE', `stable must be one of ${Object.keys(STABLE_NAMES).join(', ')}`);
  const policy = getPolicy(opts.policy ?? 'linux-2008').name;
  const scribble = (opts.scribble ?? 0xdeadbeef) >>> 0;
  const scale = new TimeScale(opts.timeScale ?? 1);
  const count = opts.count ?? (opts.durationMs === undefined ? DEFAULT_BLOCKS : undefined);
  if (count !== undefined) checkInt('count', count, 1);
  const commitEvery = opts.commitEvery === undefined ? undefined : checkInt('commit every', opts.commitEvery, 1);
  const fileBlocks = checkInt('file blocks', opts.fileBlocks ?? count ?? DEFAULT_BLOCKS, 1);
  const logger = opts.logger ?? silentLogger;
  const holdMs = scale.real(opts.scribbleHoldMs ?? 0);
  const scribbleBytes = Buffer.alloc(4);
  scribbleBytes.writeUInt32BE(scribble, 0);

  const t0 = performance.now();
  const m: NfsMount = await mount({
    host: opts.host,
    port: opts.portmap && !opts.port ? undefined : opts.port,
    mountPort: opts.mountPort,
    portmap: opts.portmap,
    exportPath: opts.exportPath,
    transport: { ...opts.transport, policy, timeo: opts.timeo, retrans: opts.retrans, backoff: opts.backoff, soft: opts.soft, timeScale: scale, seed: opts.seed, logger },
  });
  try {
    // fs/nfs/client.c nfs_server_set_fsinfo: the mount's transfer sizes are clamped to the server's maxima.
    const wsize = m.fsinfo ? clampIoSize(wsizeRequested, m.fsinfo.wtmax) : wsizeRequested;
    const rsize = m.fsinfo ? clampIoSize(wsizeRequested, m.fsinfo.rtmax) : wsizeRequested;
    const rpc = m.nfs.rpc;
    const created = await m.nfs.createFile(m.root, opts.file);
    if (!('fh' in created)) throw new TestbedError('NFS_CREATE_FAILED', `CREATE ${opts.file}: nfsstat3 ${created.status}`, { status: created.status });
    const fh = created.fh;

    // --- the write loop ---
    const stable = STABLE_NAMES[stableName];
    const deadline = opts.durationMs !== undefined ? performance.now() + scale.real(opts.durationMs) : Infinity;
    let next = 0;
    let writes = 0;
    let writeCalls = 0;
    let unstable = false;
    const uncommitted = new UncommittedWrites();
    let commits = 0;
    let resentBlocks = 0;
    const resentSet = new Set<number>();
    // RFC 1813 §3.3.21: COMMIT, resending what a restarted server lost (the counter pattern, regenerated).
    const commit = async () => {
      const c = await m.nfs.commitWrites(fh, uncommitted, (off, n) => fillPattern(Buffer.allocUnsafe(n), Number(off)), { wsize });
      commits += c.commits;
      const blocks = new Set<number>();
      for (const r of c.resent) {
        const last = Math.floor((Number(r.offset) + r.count - 1) / blockSize);
        for (let b = Math.floor(Number(r.offset) / blockSize); b <= last; b++) blocks.add(b);
      }
      resentBlocks += blocks.size;
      for (const b of blocks) resentSet.add(b);
      if (c.status !== 0) throw new TestbedError('NFS_COMMIT_FAILED', `COMMIT: nfsstat3 ${c.status}`, { status: c.status });
      opts.onCommit?.(writes);
    };
    let committing: Promise<void> | undefined;
    const slot = async () => {
      const buf = Buffer.allocUnsafe(blockSize); // the one reusable O_DIRECT buffer of this slot
      for (;;) {
        if (count !== undefined ? next >= count : performance.now() >= deadline) return;
        if (opts.stopWhen?.() || (opts.untilLate && rpc.stats.lateTransmissions > 0)) return;
        const block = next++ % fileBlocks;
        const offset = block * blockSize;
        fillPattern(buf, offset);
        const r = await m.nfs.writeRange(fh, BigInt(offset), buf, { wsize, stable, uncommitted });
        // write() returned: blktest2 reuses the buffer at once (memset 0xdeadbeef).
        buf.fill(scribbleBytes);
        if (traceChannel.hasSubscribers) {
          for (const xid of r.xids) traceChannel.publish({ event: 'scribble', xid, proc: 'WRITE', t: performance.now(), scale: scale.factor, transport: rpc.label, transportId: rpc.id, policy, word: '0x' + scribble.toString(16) });
        }
        if (r.status !== 0) throw new TestbedError('NFS_WRITE_FAILED', `WRITE block ${block}: nfsstat3 ${r.status}`, { status: r.status, block });
        writeCalls += r.calls;
        writes++;
        if (r.committed !== STABLE_HOW.FILE_SYNC) unstable = true;
        opts.onProgress?.(writes, count, block);
        // One periodic COMMIT at a time, in this slot; the other slots keep writing meanwhile.
        if (commitEvery !== undefined && writes % commitEvery === 0 && !committing && uncommitted.pendingBytes(fh) > 0) {
          committing = commit().finally(() => (committing = undefined));
          await committing;
        }
        // Give the event loop one turn with the scribble in place before the refill (the C program's next
        // syscall); a duplicate still queued for this buffer goes out now if the socket can take it.
        if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
        else await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await Promise.all(Array.from({ length: inflight }, slot));

    // --- COMMIT (RFC 1813 §3.3.21) if any WRITE was not FILE_SYNC ---
    let committed = false;
    if (unstable) {
      await commit();
      committed = true;
    }

    // --- verify by reading back over NFS ---
    await opts.beforeVerify?.();
    const written = Math.min(fileBlocks, count ?? fileBlocks, next) ;
    const fileBytes = written * blockSize;
    const back = await m.nfs.readRange(fh, 0n, fileBytes, { rsize, parallel: 4 });
    if (back.status !== 0) throw new TestbedError('NFS_READ_FAILED', `READ: nfsstat3 ${back.status}`, { status: back.status });
    const data = back.data.length < fileBytes ? Buffer.concat([back.data, Buffer.alloc(fileBytes - back.data.length)]) : back.data;
    const corrupt = findCorrupt(data, blockSize, scribble);
    if (corrupt.length) logger.log('warn', `blktest: ${corrupt.length} corrupt block(s)`, { first: corrupt[0] });

    const s = rpc.stats;
    const lateXids = [...s.perXid.values()].filter((x) => x.lateTransmissions > 0).map((x) => x.xid);
    return {
      server: `${opts.host}:${m.port}`,
      file: opts.file,
      policy,
      seed: opts.seed ?? null,
      blockSize,
      wsize,
      wsizeRequested,
      inflight,
      stable: stableName,
      writes,
      writeCalls,
      bytes: writes * blockSize,
      transmissions: s.transmissions,
      retransmissions: s.retransmissions,
      replays: s.replays,
      duplicatesCancelled: s.duplicatesCancelled,
      duplicatesFinished: s.duplicatesFinished,
      duplicatesWithdrawn: s.duplicatesWithdrawn,
      lateTransmissions: s.lateTransmissions,
      latePaths: { ...s.latePaths },
      lateAfterCompleteModelMs: s.lateAfterCompleteMs.map((ms) => Math.round(ms)),
      timeoutsMinor: s.timeoutsMinor,
      timeoutsMajor: s.timeoutsMajor,
      lateXids,
      committed,
      commits,
      verifierChanged: uncommitted.verifierChanges > 0,
      verifierChanges: uncommitted.verifierChanges,
      resentBlocks,
      resentBlockIndices: [...resentSet].sort((a, b) => a - b),
      reconnects: s.reconnects,
      resets: s.resets,
      fileBytesRead: back.data.length,
      corruptBlocks: corrupt.length,
      corrupt,
      durationMs: Math.round(performance.now() - t0),
    };
  } finally {
    await m.unmount().catch(() => undefined);
  }
}

/** Blocks of `data` (the file from offset 0) that differ from the counter pattern, classified. */
export function findCorrupt(data: Buffer, blockSize: number, scribble: number): CorruptBlockReport[] {
  const out: CorruptBlockReport[] = [];
  // A block that equals the pattern (one memcmp) needs no word-by-word look: the read-back of a clean 8 MiB file
  // costs about 1/4 of the CPU, and the event loop (whose lag the reproduction reports) is held that much less.
  const expected = blockSize % 4 === 0 ? Buffer.allocUnsafe(blockSize) : undefined;
  for (let start = 0; start < data.length; start += blockSize) {
    let rep: CorruptBlockReport | undefined;
    const end = Math.min(data.length, start + blockSize) & ~3;
    if (expected && end - start === blockSize && data.subarray(start, end).equals(fillPattern(expected, start))) continue;
    for (let o = start; o < end; o += 4) {
      const got = data.readUInt32BE(o);
      if (got === patternWord(o)) continue;
      if (!rep) out.push((rep = { block: start / blockSize, offset: start, found: 'other', badWords: 0, scribbleWords: 0, zeroWords: 0, firstBadOffset: o }));
      rep.badWords++;
      if (got === scribble) rep.scribbleWords++;
      else if (got === 0) rep.zeroWords++;
    }
    if (rep) rep.found = rep.scribbleWords === rep.badWords ? 'scribble' : rep.zeroWords === rep.badWords ? 'zero' : 'other';
  }
  return out;
}
