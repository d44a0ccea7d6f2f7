// A TCP relay for client tests that stalls a connection the way seed 000's netfilter queue did: it stops reading
// from both sides for a while, then releases the server->client direction first and the client->server direction
// a little later, so replies to already-received calls reach the client while its retransmissions are still stuck
// behind full socket buffers. It frames the client->server stream and records, per XID, how many call records
// arrived and how many of them carried a scribble word in the payload: what actually reached the receiving side.
import net from 'node:net';
import { RecordDecoder } from '../../xdr/record';

export interface StallPlan {
  /** stall once this many client->server bytes have been forwarded (0: now) */
  afterBytes?: number;
  /**
   * stall once the call record with this XID has been forwarded: the stall then starts after the client sent the
   * call (and armed its timer), however slowly this machine runs, so its timeout (timeo) always comes before the
   * release when the stall is longer than timeo; a stall armed before the call left would start ahead of the
   * client's clock by however long the call took to leave
   */
  afterXid?: number;
  /** real ms both directions stay stalled (after `until`, when given) */
  ms: number;
  /**
   * both directions stay stalled until this settles (then `ms` more): a stall that must outlast a client timer
   * armed again at a previous expiry ends on the client's event, since a late expiry moves every later one
   */
  until?: Promise<unknown>;
  /** real ms between releasing server->client and releasing client->server */
  gapMs: number;
}

export interface StallRelay {
  port: number;
  /** client->server call records seen, per XID */
  records: Map<number, number>;
  /** XIDs of client->server records containing at least one scribble word (4-byte aligned in the record) */
  scribbled: Map<number, number>;
  bytesToServer: number;
  stalls: number;
  /** arms a stall; resolves once both directions flow again */
  stall(plan: StallPlan): Promise<void>;
  close(): Promise<void>;
}

export async function startStallRelay(target: { host?: string; port: number }, scribbleWord = 0xdeadbeef): Promise<StallRelay> {
  const sockets = new Set<net.Socket>();
  const pairs: Array<{ client: net.Socket; server: net.Socket; hold: { c2s: boolean; s2c: boolean }; bp: { c2s: boolean; s2c: boolean } }> = [];
  let armed: (StallPlan & { done: () => void }) | undefined;
  const relay: StallRelay = {
    port: 0,
    records: new Map(),
    scribbled: new Map(),
    bytesToServer: 0,
    stalls: 0,
    stall(plan) {
      return new Promise<void>((resolve) => {
        armed = { ...plan, done: resolve };
        maybeStall();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const refresh = () => {
    for (const p of pairs) {
      if (p.hold.c2s || p.bp.c2s) p.client.pause();
      else p.client.resume();
      if (p.hold.s2c || p.bp.s2c) p.server.pause();
      else p.server.resume();
    }
  };
  const maybeStall = () => {
    const plan = armed;
    if (!plan || relay.bytesToServer < (plan.afterBytes ?? 0)) return;
    if (plan.afterXid !== undefined && !relay.records.has(plan.afterXid)) return;
    armed = undefined;
    relay.stalls++;
    for (const p of pairs) p.hold.c2s = p.hold.s2c = true;
    refresh();
    const release = () => setTimeout(() => {
      for (const p of pairs) p.hold.s2c = false;
      refresh();
      setTimeout(() => {
        for (const p of pairs) p.hold.c2s = false;
        refresh();
        plan.done();
      }, plan.gapMs);
    }, plan.ms);
    if (plan.until) void plan.until.then(release, release);
    else release();
  };
  const inspect = (rec: Buffer) => {
    const xid = rec.readUInt32BE(0);
    relay.records.set(xid, (relay.records.get(xid) ?? 0) + 1);
    for (let i = 0; i + 4 <= rec.length; i += 4) {
      if (rec.readUInt32BE(i) === scribbleWord) {
        relay.scribbled.set(xid, (relay.scribbled.get(xid) ?? 0) + 1);
        break;
      }
    }
  };
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: target.host ?? '127.0.0.1', port: target.port });
    const pair = { client, server: upstream, hold: { c2s: false, s2c: false }, bp: { c2s: false, s2c: false } };
    pairs.push(pair);
    sockets.add(client);
    sockets.add(upstream);
    const dec = new RecordDecoder({ maxRecordSize: 80 << 20 });
    client.on('data', (chunk: Buffer) => {
      relay.bytesToServer += chunk.length;
      dec.push(chunk, inspect);
      if (!upstream.write(chunk)) {
        pair.bp.c2s = true;
        refresh();
      }
      maybeStall();
    });
    upstream.on('drain', () => {
      pair.bp.c2s = false;
      refresh();
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!client.write(chunk)) {
        pair.bp.s2c = true;
        refresh();
      }
    });
    client.on('drain', () => {
      pair.bp.s2c = false;
      refresh();
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      pairs.splice(pairs.indexOf(pair), 1);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.port = (server.address() as net.AddressInfo).port;
  return relay;
}
