// A small raw ONC RPC responder for client transport tests: a toy "BLOB" program whose PUT stores bytes at an
// offset in memory (executing every copy it receives: no duplicate request cache), plus switches to stay silent
// or to drop a connection. It records which XIDs arrived on which connection.
import net from 'node:net';
import { encodeReply, decodeCall, decodeCallArgs } from '../../xdr/message';
import { defineProc, type ProcCodec } from '../../xdr/procedure';
import type { XdrReader } from '../../xdr/reader';
import { RecordDecoder, encodeRecord } from '../../xdr/record';
import type { XdrWriter } from '../../xdr/writer';

export const BLOB_PROGRAM = 0x20000a11;
export const BLOB_V1 = 1;

export interface PutArgs { offset: bigint; data: Buffer }

/** BLOB NULL: void -> void */
export const BLOB_NULL: ProcCodec<void, void> = defineProc(BLOB_PROGRAM, BLOB_V1, 0, 'NULL', {
  encodeArgs: () => {},
  decodeArgs: () => undefined,
  encodeRes: () => {},
  decodeRes: () => undefined,
});

/** BLOB PUT: {unsigned hyper offset; opaque data<>} -> unsigned int count */
export const BLOB_PUT: ProcCodec<PutArgs, number> = defineProc(BLOB_PROGRAM, BLOB_V1, 1, 'PUT', {
  encodeArgs: (w: XdrWriter, a: PutArgs) => void w.u64(a.offset).opaque(a.data),
  decodeArgs: (r: XdrReader) => ({ offset: r.u64(), data: r.opaque(64 << 20, 'data') }),
  encodeRes: (w: XdrWriter, n: number) => void w.u32(n),
  decodeRes: (r: XdrReader) => r.u32(),
});

export interface Responder {
  port: number;
  /** the stored bytes (grows) */
  store(): Buffer;
  /** calls received per connection, in order (xids) */
  connections: number[][];
  /** total call records received */
  received: number;
  /** stop answering (calls are still received and executed) */
  silent: boolean;
  /** close the connection, without answering, when this many more calls have arrived (0 = never) */
  dropAfter: number;
  /**
   * Resolves once `n` call records of `xid` have arrived (over all connections), so a test can let its late
   * retransmissions land before the next test changes `dropAfter` or `silent`; rejects, naming the xid, after
   * `timeoutMs` of waiting.
   */
  waitForCalls(xid: number, n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startResponder(): Promise<Responder> {
  let store = Buffer.alloc(0);
  let storeLen = 0;
  const sockets = new Set<net.Socket>();
  const arrivals = new Map<number, number>();
  const waiters = new Set<() => void>();
  const r: Responder = {
    port: 0,
    store: () => store.subarray(0, storeLen),
    connections: [],
    received: 0,
    silent: false,
    dropAfter: 0,
    waitForCalls: (xid, n, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if ((arrivals.get(xid) ?? 0) < n) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`responder: ${arrivals.get(xid) ?? 0} of ${n} calls of xid 0x${xid.toString(16)} arrived in ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const put = (a: PutArgs) => {
    const off = Number(a.offset);
    const end = off + a.data.length;
    if (end > store.length) {
      const bigger = Buffer.alloc(Math.max(end, store.length * 2));
      store.copy(bigger, 0, 0, storeLen);
      store = bigger;
    }
    a.data.copy(store, off);
    storeLen = Math.max(storeLen, end);
  };
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    const xids: number[] = [];
    r.connections.push(xids);
    const dec = new RecordDecoder({ maxRecordSize: 80 << 20 });
    s.on('data', (chunk: Buffer) =>
      dec.push(chunk, (rec) => {
        const { call, args } = decodeCall(rec);
        xids.push(call.xid);
        r.received++;
        arrivals.set(call.xid, (arrivals.get(call.xid) ?? 0) + 1);
        for (const w of [...waiters]) w();
        if (r.dropAfter > 0 && --r.dropAfter === 0) {
          s.destroy();
          return;
        }
        let reply: Buffer[];
        if (call.proc === BLOB_PUT.proc) {
          const a = decodeCallArgs(args, BLOB_PUT);
          put(a);
          reply = encodeReply(call.xid, BLOB_PUT, a.data.length);
        } else {
          reply = encodeReply(call.xid, BLOB_NULL, undefined);
        }
        if (r.silent || s.destroyed) return;
        s.cork();
        for (const p of encodeRecord(reply)) s.write(p);
        s.uncork();
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.port = (server.address() as net.AddressInfo).port;
  return r;
}
