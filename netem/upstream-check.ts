// netem's one look at its upstream at start (issue 15 item 12, issue 21). The proxy relays to whatever is there and
// dials it anew for every client, so what this finds is a warning, never a failure: the server may start later.
//
// With RPC parsing on (the default), one NFSv3 NULL call (RFC 1813 §3.3.0: no work, no side effects; what
// `rpcinfo -t HOST nfs 3` sends): a connect alone would accept any listener, and the mistake this catches is
// pointing netem at a port that is not the NFS server. Another ONC RPC program still answers the header
// (PROG_UNAVAIL or PROG_MISMATCH, RFC 5531 §9), which says what is there. With --no-rpc the stream need not be
// RPC at all, so a plain connect is the whole check.
import net from 'node:net';
import { ACCEPT_STAT, decodeMessage } from '../xdr/rpc';
import { encodeCallRecord } from '../xdr/message';
import { NFS3 } from '../xdr/nfs3/procs';
import { XdrReader } from '../xdr/reader';
import { RecordDecoder } from '../xdr/record';

export type UpstreamCheck =
  | { ok: true; what: string }
  /** CONNECT: nothing accepted the connection; NO_RPC: it did, but no ONC RPC reply came; NOT_NFS3: RPC, not NFS v3 */
  | { ok: false; code: 'CONNECT' | 'NO_RPC' | 'NOT_NFS3'; what: string };

const ACCEPT_NAMES = Object.fromEntries(Object.entries(ACCEPT_STAT).map(([k, v]) => [v, k]));
const XID = 0x6e65746d; // "netm"

/** Connects to host:port and, when `rpc`, sends an NFSv3 NULL call; resolves (never rejects) within timeoutMs. */
export function checkUpstream(upstream: { host: string; port: number }, o: { rpc: boolean; timeoutMs: number }): Promise<UpstreamCheck> {
  return new Promise((resolve) => {
    const s = net.connect({ host: upstream.host, port: upstream.port });
    let connected = false;
    const done = (r: UpstreamCheck) => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => done(connected ? { ok: false, code: 'NO_RPC', what: `no reply to an NFSv3 NULL call within ${o.timeoutMs} ms` } : { ok: false, code: 'CONNECT', what: `no connection within ${o.timeoutMs} ms` }),
      o.timeoutMs,
    );
    s.on('error', (e: NodeJS.ErrnoException) => done(connected ? { ok: false, code: 'NO_RPC', what: `connection failed during an NFSv3 NULL call (${e.code ?? e.message})` } : { ok: false, code: 'CONNECT', what: `cannot connect (${e.code ?? e.message})` }));
    s.on('close', () => done({ ok: false, code: 'NO_RPC', what: 'closed the connection without answering an NFSv3 NULL call' }));
    s.once('connect', () => {
      connected = true;
      if (!o.rpc) return done({ ok: true, what: 'accepts connections' });
      const dec = new RecordDecoder({ maxRecordSize: 64 * 1024 });
      s.on('data', (chunk: Buffer) => {
        try {
          dec.push(chunk, (rec) => {
            const m = decodeMessage(new XdrReader(rec));
            if (m.type !== 'reply' || m.reply.xid !== XID) throw new Error('not the reply');
            const r = m.reply;
            if (r.stat === 'accepted' && r.acceptStat === ACCEPT_STAT.SUCCESS) done({ ok: true, what: 'answers NFSv3 NULL' });
            else done({ ok: false, code: 'NOT_NFS3', what: `speaks ONC RPC but refused an NFSv3 NULL call (${r.stat === 'accepted' ? ACCEPT_NAMES[r.acceptStat] ?? r.acceptStat : 'MSG_DENIED'})` });
          });
        } catch {
          done({ ok: false, code: 'NO_RPC', what: 'answered an NFSv3 NULL call with bytes that are not an ONC RPC reply' });
        }
      });
      s.write(Buffer.concat(encodeCallRecord({ xid: XID }, NFS3.NULL, undefined)));
    });
  });
}
