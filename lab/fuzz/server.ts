// The server fuzzer: mutated RPC calls over real TCP connections to a running server. Every reply must be a
// well-formed RFC 5531 reply to a call we sent (an accepted SUCCESS must decode with the procedure's result
// codec); a call may also go unanswered (its header was unreadable) or the server may close the connection
// (broken record marking). After each batch a NULL call must still be answered: the server is alive and serving.
// Findings: malformed replies, replies to XIDs never sent, a server that stops answering the NULL call.
import { XdrReader } from '../../xdr/reader';
import { decodeReply } from '../../xdr/message';
import { NFS3 } from '../../xdr/nfs3/procs';
import { ACCEPT_STAT, REJECT_STAT, decodeCallBody, decodeMessage } from '../../xdr/rpc';
import { enumName } from '../../xdr/reader';
import { Rng } from '../../testing/xdr-arbitrary';
import { RawRpc, ROOT_CRED, createFile, mountRoot } from '../../testing/server-rpc';
import { MOUNT3 } from '../../xdr/mount';
import { NFS3_PROCS } from '../../xdr/nfs3/procs';
import { PMAP2 } from '../../xdr/portmap';
import { codecFor, loadCorpus } from './corpus';
import { Mutator, inputSeed } from './mutator';

export interface ServerFuzzOptions {
  port: number;
  host?: string;
  seed: number;
  /** mutated calls to send in total */
  inputs: number;
  /** extra seed calls (e.g. every procedure encoded with handles valid on this server) */
  calls?: Buffer[];
  /** concurrent connections (default 4) */
  connections?: number;
  /** calls per batch before the NULL probe (default 64) */
  batch?: number;
  /** one input in this many is a mutated raw byte stream on a fresh connection, record marks included (default 32) */
  rawEvery?: number;
  /** how long the NULL probe may wait (default 60 s: a generous bound, not a performance claim) */
  probeTimeoutMs?: number;
  onProgress?(sent: number): void;
}

export interface ServerFuzzSummary {
  seed: number;
  inputs: number;
  /** calls sent inside well-framed records */
  framedCalls: number;
  /** raw streams with mutated record marking */
  rawStreams: number;
  /** replies by RFC 5531 outcome: SUCCESS, GARBAGE_ARGS, AUTH_ERROR ... */
  replies: Record<string, number>;
  /** framed calls that got no reply because their header is unreadable or they are replies (as RFC 5531 allows) */
  unanswered: number;
  /** connections the server closed (raw streams with broken record marking, mostly) */
  closedByServer: number;
  /** raw streams that ended inside a record (closed by our EOF) */
  incompleteStreams: number;
  /** NULL probes answered (one per batch) */
  probes: number;
  findings: Array<{ kind: 'malformed-reply' | 'unknown-xid' | 'unresponsive' | 'unanswered-call'; detail: string }>;
}

/** The RFC 5531 outcome name of a reply: accept_stat or reject_stat/auth_stat. */
export function replyOutcome(rep: Buffer): string {
  const m = decodeMessage(new XdrReader(rep));
  if (m.type !== 'reply') throw new Error('a call where a reply was expected');
  const r = m.reply;
  if (r.stat === 'accepted') return enumName(ACCEPT_STAT, r.acceptStat);
  return r.rejectStat === REJECT_STAT.AUTH_ERROR ? 'AUTH_ERROR' : enumName(REJECT_STAT, r.rejectStat);
}

/** True when the server can read this message's header as an RPC version 2 call (lenient padding, as it reads). */
function isReadableCall(msg: Buffer): boolean {
  try {
    const m = decodeMessage(new XdrReader(msg, 0, msg.length, false));
    return m.type === 'call';
  } catch {
    return false;
  }
}

/** The codec a (possibly mutated) call names, when its header is readable. */
function codecOfCall(msg: Buffer) {
  try {
    const r = new XdrReader(msg, 0, msg.length, false);
    const xid = r.u32();
    if (r.u32() !== 0) return undefined;
    const c = decodeCallBody(r, xid);
    return codecFor(c.prog, c.vers, c.proc);
  } catch {
    return undefined;
  }
}

export async function fuzzServer(o: ServerFuzzOptions): Promise<ServerFuzzSummary> {
  const corpus = loadCorpus();
  const seeds = [...corpus.calls, ...(o.calls ?? [])];
  const mut = new Mutator({ maxBytes: 16 * 1024 });
  const s: ServerFuzzSummary = { seed: o.seed, inputs: 0, framedCalls: 0, rawStreams: 0, replies: {}, unanswered: 0, closedByServer: 0, incompleteStreams: 0, probes: 0, findings: [] };
  const rawEvery = o.rawEvery ?? 32;
  const batch = o.batch ?? 64;
  const probeTimeout = o.probeTimeoutMs ?? 60_000;
  const lanes = o.connections ?? 4;
  let next = 0;
  const finding = (f: ServerFuzzSummary['findings'][number]) => {
    if (s.findings.length < 20) s.findings.push(f);
  };
  // Each input index draws its own generator, so (seed, index) reproduces an input whatever the lane.
  const take = (): number => (next < o.inputs ? next++ : -1);

  const checkReplies = (rpc: RawRpc, sent: Map<number, Buffer | null>) => {
    for (const rep of rpc.replies) {
      const xid = rep.readUInt32BE(0);
      if (!sent.has(xid)) {
        finding({ kind: 'unknown-xid', detail: `reply for xid ${xid} that was never sent` });
        continue;
      }
      const msg = sent.get(xid);
      sent.delete(xid);
      let outcome: string;
      try {
        outcome = replyOutcome(rep);
        const codec = msg ? codecOfCall(msg) : NFS3.NULL;
        if (outcome === 'SUCCESS' && codec) decodeReply(rep, codec);
      } catch (e) {
        finding({ kind: 'malformed-reply', detail: `xid ${xid}: ${(e as Error).message}; reply ${rep.subarray(0, 64).toString('hex')}` });
        continue;
      }
      s.replies[outcome] = (s.replies[outcome] ?? 0) + 1;
    }
    rpc.replies.length = 0;
  };

  // A call whose header reads as an RPC v2 call must be answered (RFC 5531 §9: the server replies with the
  // outcome); one whose header does not read, or that is a reply, is silently dropped.
  const unanswered = (sent: Map<number, Buffer | null>) => {
    for (const [xid, msg] of sent) {
      if (msg && !isReadableCall(msg)) s.unanswered++;
      else finding({ kind: 'unanswered-call', detail: `xid ${xid}: a readable call got no reply: ${msg?.subarray(0, 64).toString('hex') ?? 'NULL probe'}` });
    }
    sent.clear();
  };

  const rawStream = async (g: Rng) => {
    const streams = corpus.streams;
    const bytes = mut.mutate(g, streams[g.int(streams.length)], streams[g.int(streams.length)]);
    const rpc = await RawRpc.connect(o.port, o.host);
    try {
      rpc.sendRaw(bytes);
      // Then a well-formed NULL: answered if the framing survived, else the connection is closed.
      const xid = 0x7f000000 + g.int(0xffffff);
      rpc.send(RawRpc.message(NFS3.NULL, undefined, xid));
      await rpc.waitFor(xid, 1, Math.min(250, probeTimeout)).catch(() => undefined);
      if (rpc.closed) s.closedByServer++;
      else if (rpc.repliesFor(xid).length === 0) {
        // The stream left a record incomplete (a length announcing more than was sent): the server waits for the
        // rest. Our end of file must make it close the connection.
        s.incompleteStreams++;
        rpc.socket.end();
        await rpc.waitClosed(probeTimeout).catch(() => finding({ kind: 'unresponsive', detail: 'connection not closed after EOF inside a record' }));
      }
    } finally {
      rpc.close();
    }
    s.rawStreams++;
  };

  const lane = async (laneNo: number) => {
    let rpc = await RawRpc.connect(o.port, o.host);
    let xid = ((laneNo + 1) << 24) >>> 0;
    try {
      const sent = new Map<number, Buffer | null>();
      for (;;) {
        const msgs: Buffer[] = [];
        for (let k = 0; k < batch; k++) {
          const i = take();
          if (i < 0) break;
          s.inputs++;
          const g = new Rng(inputSeed(o.seed, i));
          if (g.int(rawEvery) === 0) {
            await rawStream(g);
            continue;
          }
          const m = mut.mutate(g, seeds[g.int(seeds.length)], seeds[g.int(seeds.length)]);
          const x = (xid = (xid + 1) >>> 0);
          if (m.length >= 4) {
            m.writeUInt32BE(x, 0);
            sent.set(x, m);
          }
          msgs.push(m);
        }
        if (msgs.length === 0 && next >= o.inputs) break;
        s.framedCalls += msgs.length;
        const probe = (xid = (xid + 1) >>> 0);
        sent.set(probe, null);
        rpc.send(...msgs, RawRpc.message(NFS3.NULL, undefined, probe));
        try {
          await rpc.waitFor(probe, 1, probeTimeout);
          s.probes++;
        } catch (e) {
          if (!rpc.closed) finding({ kind: 'unresponsive', detail: `no reply to the NULL probe: ${(e as Error).message}` });
          else s.closedByServer++;
        }
        checkReplies(rpc, sent);
        o.onProgress?.(s.inputs);
        if (rpc.closed) {
          unanswered(sent);
          rpc = await RawRpc.connect(o.port, o.host);
        }
      }
      // Replies of calls still executing may come after the last probe's: wait until the connection is quiet.
      for (let quiet = 0; quiet < 4 && sent.size > 0 && !rpc.closed; ) {
        const n = rpc.replies.length;
        await new Promise((r) => setTimeout(r, 250));
        quiet = rpc.replies.length === n ? quiet + 1 : 0;
        checkReplies(rpc, sent);
      }
      unanswered(sent);
    } finally {
      rpc.close();
    }
  };
  await Promise.all(Array.from({ length: lanes }, (_, k) => lane(k)));
  return s;
}

/**
 * Seeds valid on this server: every NFSv3 procedure with live handles (a file the call creates, the root), and the
 * MOUNT and PORTMAP procedures, encoded with AUTH_SYS.
 */
export async function liveCalls(port: number, host?: string): Promise<Buffer[]> {
  const rpc = await RawRpc.connect(port, host);
  try {
    const root = await mountRoot(rpc);
    const fh = await createFile(rpc, root, 'fuzz-target.bin');
    const where = { dir: root, name: 'fz' };
    const args: Record<string, unknown> = {
      NULL: undefined, GETATTR: { object: fh }, SETATTR: { object: fh, newAttributes: { size: 10n, mode: 0o600 } },
      LOOKUP: { what: { dir: root, name: 'fuzz-target.bin' } }, ACCESS: { object: fh, access: 63 }, READLINK: { symlink: fh },
      READ: { file: fh, offset: 0n, count: 4096 }, WRITE: { file: fh, offset: 0n, count: 64, stable: 2, data: Buffer.alloc(64, 1) },
      CREATE: { where, how: { mode: 1, attributes: { mode: 0o644 } } }, MKDIR: { where: { dir: root, name: 'fzd' }, attributes: {} },
      SYMLINK: { where: { dir: root, name: 'fzl' }, symlink: { attributes: {}, data: 'fuzz-target.bin' } },
      MKNOD: { where: { dir: root, name: 'fzn' }, what: { type: 7, attributes: {} } }, REMOVE: { object: where }, RMDIR: { object: { dir: root, name: 'fzd' } },
      RENAME: { from: where, to: { dir: root, name: 'fz2' } }, LINK: { file: fh, link: { dir: root, name: 'fzh' } },
      READDIR: { dir: root, cookie: 0n, cookieverf: Buffer.alloc(8), count: 4096 },
      READDIRPLUS: { dir: root, cookie: 0n, cookieverf: Buffer.alloc(8), dircount: 4096, maxcount: 16384 },
      FSSTAT: { fsroot: root }, FSINFO: { fsroot: root }, PATHCONF: { object: root }, COMMIT: { file: fh, offset: 0n, count: 0 },
    };
    const calls = NFS3_PROCS.map((c) => RawRpc.message(c, args[c.name] as never, 1, ROOT_CRED));
    calls.push(RawRpc.message(MOUNT3.MNT, { dirpath: '/export' }, 1), RawRpc.message(MOUNT3.EXPORT, undefined, 1), RawRpc.message(MOUNT3.DUMP, undefined, 1));
    calls.push(RawRpc.message(PMAP2.GETPORT, { prog: 100003, vers: 3, prot: 6, port: 0 }, 1), RawRpc.message(PMAP2.DUMP, undefined, 1));
    return calls;
  } finally {
    rpc.close();
  }
}
