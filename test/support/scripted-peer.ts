// A scripted RPC peer for transport tests: the test decides, record by record, when the peer reads (pausing it
// fills the client's kernel buffers and then Node's write queue, the "socket" of the model), when and to which XID
// it replies, and it records every call record that arrived complete — which copy of which XID, on which
// connection, from which source port — plus connections that ended with a record cut short.
import net from 'node:net';
import { decodeCall, decodeCallArgs, encodeReply } from '../../xdr/message';
import { RecordDecoder, encodeRecord } from '../../xdr/record';
import { BLOB_NULL, BLOB_PUT } from './client-responder';

export interface PeerRecord {
  xid: number;
  /** index of the connection (0, 1, ...) */
  conn: number;
  /** BLOB PUT payload (a view of the record), empty for NULL */
  data: Buffer;
}

export interface PeerConn {
  index: number;
  socket: net.Socket;
  remotePort: number;
  /** real ms (performance.now) when accepted */
  acceptedAt: number;
  /** bytes received after the last complete record when the connection ended (a record cut short) */
  partialBytes: number;
  ended: boolean;
}

export interface ScriptedPeer {
  port: number;
  conns: PeerConn[];
  records: PeerRecord[];
  /** answer every complete record at once (default false: the test replies) */
  autoReply: boolean;
  /** stop reading every connection after the next complete record of this XID (once) */
  pauseAfter?: number;
  pause(): void;
  resume(): void;
  /** sends the reply to `xid` on the newest connection: a BLOB PUT reply with `count`, or a NULL reply */
  reply(xid: number, count?: number): void;
  /** resolves when `pred` holds (checked after every record and connection event) */
  until(pred: () => boolean): Promise<void>;
  copies(xid: number): PeerRecord[];
  close(): Promise<void>;
}

export async function startScriptedPeer(opts: { onConnect?: (s: net.Socket) => void } = {}): Promise<ScriptedPeer> {
  const waiters: Array<{ pred: () => boolean; resolve: () => void }> = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.pred()) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  let paused = false;
  const peer: ScriptedPeer = {
    port: 0,
    conns: [],
    records: [],
    autoReply: false,
    pause() {
      paused = true;
      for (const c of peer.conns) c.socket.pause();
    },
    resume() {
      paused = false;
      for (const c of peer.conns) if (!c.ended) c.socket.resume();
    },
    reply(xid, count) {
      const c = peer.conns[peer.conns.length - 1];
      const reply = count === undefined ? encodeReply(xid, BLOB_NULL, undefined) : encodeReply(xid, BLOB_PUT, count);
      for (const p of encodeRecord(reply)) c.socket.write(p);
    },
    until(pred) {
      if (pred()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    copies: (xid) => peer.records.filter((r) => r.xid === xid),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of peer.conns) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((s) => {
    const conn: PeerConn = { index: peer.conns.length, socket: s, remotePort: s.remotePort ?? 0, acceptedAt: performance.now(), partialBytes: 0, ended: false };
    peer.conns.push(conn);
    if (paused) s.pause();
    const dec = new RecordDecoder({ maxRecordSize: 80 << 20 });
    // Bytes received minus those of complete (single-fragment) records: what a cut record left behind.
    let pendingBytes = 0;
    const onData = (chunk: Buffer) => {
      pendingBytes += chunk.length;
      dec.push(chunk, (rec) => {
        pendingBytes -= rec.length + 4;
        const { call, args } = decodeCall(rec);
        const data = call.proc === BLOB_PUT.proc ? decodeCallArgs(args, BLOB_PUT).data : Buffer.alloc(0);
        peer.records.push({ xid: call.xid, conn: conn.index, data });
        if (peer.pauseAfter === call.xid) {
          peer.pauseAfter = undefined; // once: later copies of the XID do not stop the peer again
          peer.pause();
        }
        if (peer.autoReply) {
          const reply = call.proc === BLOB_PUT.proc ? encodeReply(call.xid, BLOB_PUT, data.length) : encodeReply(call.xid, BLOB_NULL, undefined);
          for (const p of encodeRecord(reply)) s.write(p);
        }
      });
      check();
    };
    s.on('data', onData);
    const end = () => {
      if (conn.ended) return;
      conn.ended = true;
      conn.partialBytes = pendingBytes;
      check();
    };
    s.on('error', () => {
      // A paused socket still reads from the kernel into its stream buffer (up to its high-water mark); a reset
      // (ECONNRESET) then destroys the stream with those bytes never emitted as 'data'. They did arrive: read them
      // here, where read() returns them without emitting 'data' (the error is being emitted), so a record cut
      // short by the reset counts, however few of its bytes got in before it (a full-suite run: 0 seen).
      for (let chunk: Buffer | null; (chunk = s.read() as Buffer | null) !== null; ) onData(chunk);
      end();
    });
    s.on('close', end);
    opts.onConnect?.(s);
    check();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  peer.port = (server.address() as net.AddressInfo).port;
  return peer;
}
