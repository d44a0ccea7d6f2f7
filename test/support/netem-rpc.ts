// A raw ONC RPC echo server and a retransmitting client for netem tests: just enough RPC (RFC 5531) to see calls,
// replies, retransmissions and a replay cache through the proxy, without depending on the NFS server.
import net from 'node:net';
import { RecordDecoder, encodeRecord } from '../../xdr/record';
import { AUTH_NONE, decodeMessage, encodeCallHeader, encodeReplyHeader, ACCEPT_STAT } from '../../xdr/rpc';
import { XdrReader } from '../../xdr/reader';
import { XdrWriter } from '../../xdr/writer';
import { NFS_PROGRAM, NFS_V3 } from '../../xdr/nfs3/constants';

export interface EchoServer {
  port: number;
  /** xid -> number of times the call arrived */
  arrivals: Map<number, number>;
  /** calls executed (first arrival of an xid) and replayed from the cache (later arrivals) */
  executed: number;
  replayed: number;
  /** every call in arrival order: xid and procedure */
  calls: Array<{ xid: number; proc: number }>;
  close(): Promise<void>;
}

/**
 * Replies to every call with the call's arguments (or with `replyBody(proc, args)`); a repeated xid gets the
 * cached reply (a tiny DRC).
 */
export async function startEchoServer(replyBody?: (proc: number, args: Buffer) => Buffer): Promise<EchoServer> {
  const cache = new Map<number, Buffer>();
  const sockets = new Set<net.Socket>();
  const st: EchoServer = {
    port: 0,
    arrivals: new Map(),
    executed: 0,
    replayed: 0,
    calls: [],
    close: () => new Promise<void>((res) => { for (const s of sockets) s.destroy(); server.close(() => res()); }),
  };
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    const dec = new RecordDecoder();
    sock.on('data', (chunk) => {
      dec.push(chunk, (rec) => {
        const r = new XdrReader(rec);
        const m = decodeMessage(r);
        if (m.type !== 'call') return;
        const xid = m.call.xid;
        st.calls.push({ xid, proc: m.call.proc });
        st.arrivals.set(xid, (st.arrivals.get(xid) ?? 0) + 1);
        let reply = cache.get(xid);
        if (reply) st.replayed++;
        else {
          st.executed++;
          const w = new XdrWriter();
          encodeReplyHeader(w, { xid, stat: 'accepted', verf: AUTH_NONE, acceptStat: ACCEPT_STAT.SUCCESS });
          const args = rec.subarray(r.pos);
          w.raw(replyBody ? replyBody(m.call.proc, args) : Buffer.from(args));
          reply = Buffer.concat(encodeRecord(w.finish()));
          cache.set(xid, reply);
        }
        sock.write(reply);
      });
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  st.port = (server.address() as net.AddressInfo).port;
  return st;
}

export interface CallResult {
  xid: number;
  body: Buffer;
  /** how many times the call was written (1 + retransmissions) */
  transmissions: number;
}

/** An RPC client over one TCP connection that retransmits a call (same xid, same bytes) after `timeoutMs`. */
export class RpcTestClient {
  private readonly sock: net.Socket;
  private readonly dec = new RecordDecoder();
  private readonly pending = new Map<number, (body: Buffer) => void>();
  /** xid -> writes the pending call again (retransmit) */
  private readonly resend = new Map<number, () => void>();
  private nextXid = 0x1000;
  /** replies that arrived for no pending call (late duplicates) */
  lateReplies = 0;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on('data', (chunk) =>
      this.dec.push(chunk, (rec) => {
        const r = new XdrReader(rec);
        const m = decodeMessage(r);
        if (m.type !== 'reply') return;
        const done = this.pending.get(m.reply.xid);
        if (!done) {
          this.lateReplies++;
          return;
        }
        this.pending.delete(m.reply.xid);
        this.resend.delete(m.reply.xid);
        done(Buffer.from(rec.subarray(r.pos)));
      }),
    );
    sock.on('error', () => undefined);
  }

  static connect(port: number): Promise<RpcTestClient> {
    return new Promise((res, rej) => {
      const s = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => res(new RpcTestClient(s)));
      s.once('error', rej);
    });
  }

  /** Encodes a call record of NFS program version 3. */
  static encodeCall(xid: number, proc: number, args: Buffer): Buffer {
    const w = new XdrWriter();
    encodeCallHeader(w, { xid, prog: NFS_PROGRAM, vers: NFS_V3, proc, cred: AUTH_NONE, verf: AUTH_NONE });
    w.raw(args);
    return Buffer.concat(encodeRecord(w.finish()));
  }

  /**
   * Sends a call; it is retransmitted after `timeoutMs` of wall-clock time, or (without `timeoutMs`) only when the
   * test calls `retransmit(xid)`, e.g. on the proxy's drop-reply event: then the number of replies the proxy sees,
   * and so its seeded decisions, do not depend on how fast this machine runs.
   */
  call(proc: number, args: Buffer, o: { xid?: number; timeoutMs?: number; maxTransmissions?: number } = {}): Promise<CallResult> {
    const xid = o.xid ?? this.nextXid++;
    const bytes = RpcTestClient.encodeCall(xid, proc, args);
    let transmissions = 0;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const send = () => {
        if (transmissions >= (o.maxTransmissions ?? 5)) {
          this.pending.delete(xid);
          this.resend.delete(xid);
          return reject(new Error(`xid ${xid}: no reply after ${transmissions} transmissions`));
        }
        transmissions++;
        this.sock.write(bytes);
        if (o.timeoutMs !== undefined) timer = setTimeout(send, o.timeoutMs);
      };
      this.pending.set(xid, (body) => {
        if (timer) clearTimeout(timer);
        resolve({ xid, body, transmissions });
      });
      this.resend.set(xid, send);
      send();
    });
  }

  /** Retransmits the pending call `xid` now (no-op when its reply already arrived). */
  retransmit(xid: number): void {
    this.resend.get(xid)?.();
  }

  close(): void {
    this.sock.destroy();
  }
}
