// Issue 8 "Crash and restart": the proxy survives either side vanishing mid-stall (and mid-hold) and releases held
// data or closes cleanly. What each case does, and why:
// - A stall freezes the path, FIN and RST included (an NFQUEUE stall holds those packets too): the proxy is not
//   reading, so it learns that a side vanished when the stall releases, and then behaves as the network would.
// - A side that vanished with FIN: what it sent before is released to the live peer, then FIN (half-close). Bytes
//   the proxy then writes toward the dead side are answered by its kernel with RST; the proxy resets the other side.
// - A side that vanished with RST: the proxy resets the other side at once and drops what it held for it, saying so
//   with a `queued-dropped` event (bytes per direction). A `peer-end` / `peer-reset` event names the side first.
// Afterwards no connection is listed, close() resolves, no socket or timer is left, and new connections work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createProxy, type Proxy, type NetemEvent } from '../netem';

interface Upstream {
  port: number;
  sockets: net.Socket[];
  next(): Promise<net.Socket>;
  close(): Promise<void>;
}

/** A server that says hello on each connection and ends its side when the client ends (as NFS servers do). */
async function startUpstream(port = 0): Promise<Upstream> {
  const sockets: net.Socket[] = [];
  const waiting: Array<(s: net.Socket) => void> = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    s.on('end', () => s.end());
    s.write('hello');
    waiting.shift()?.(s);
  });
  await new Promise<void>((res) => server.listen(port, '127.0.0.1', res));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    next: () => new Promise((res) => waiting.push(res)),
    close: () => new Promise<void>((res) => { for (const s of sockets) s.destroy(); server.close(() => res()); }),
  };
}

/** What one end of a TCP connection saw until it closed. */
interface Seen {
  data: Buffer;
  fin: boolean;
  error?: string;
}

function watch(s: net.Socket): { seen: Seen; closed: Promise<Seen>; received(text: string): Promise<void> } {
  const seen: Seen = { data: Buffer.alloc(0), fin: false };
  const wanted: Array<{ text: string; res: () => void }> = [];
  s.on('data', (d: Buffer) => {
    seen.data = Buffer.concat([seen.data, d]);
    for (const w of wanted.filter((x) => seen.data.includes(x.text))) w.res();
  });
  s.on('end', () => (seen.fin = true));
  s.on('error', (e: NodeJS.ErrnoException) => (seen.error = e.code));
  const closed = new Promise<Seen>((res) => s.once('close', () => res(seen)));
  const received = (text: string) => (seen.data.includes(text) ? Promise.resolve() : new Promise<void>((res) => wanted.push({ text, res })));
  return { seen, closed, received };
}

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1' });
  await new Promise<void>((res, rej) => s.once('connect', res).once('error', rej));
  return s;
}

const resources = () => process.getActiveResourcesInfo().filter((r) => /^(Timeout|TCPSocketWrap|TCPServerWrap)$/.test(r)).sort();

/** One connection through the proxy, with the upstream end of it. */
async function through(proxy: Proxy, up: Upstream) {
  const accepted = up.next();
  const client = await connect(proxy.address.port);
  const c = watch(client);
  const server = await accepted;
  const s = watch(server);
  await c.received('hello');
  const id = proxy.connections().at(-1)!.id;
  return { client, c, server, s, id };
}

/** A new connection relays both ways (the proxy still works after the vanishing). */
async function stillWorks(proxy: Proxy, up: Upstream): Promise<void> {
  const t = await through(proxy, up);
  t.client.write('again');
  await t.s.received('again');
  t.client.end();
  await Promise.all([t.c.closed, t.s.closed]);
  assert.equal(t.c.seen.error, undefined);
}

const connEvents = (proxy: Proxy, id: number) => proxy.events.filter((e) => e.conn === id).map((e) => e.event);
const closedEvent = (proxy: Proxy, id: number) => proxy.waitForEvent('connection-closed', (e) => e.conn === id);
const eventOf = (proxy: Proxy, id: number, name: string): NetemEvent | undefined => proxy.events.find((e) => e.conn === id && e.event === name);

/**
 * The client sends 'bye' with FIN and goes away: the server must get 'bye' and then FIN, or RST when the proxy
 * wrote the server's reply toward the dead client first (its kernel resets), and the proxy closes the connection.
 */
async function clientVanishes(proxy: Proxy, t: Awaited<ReturnType<typeof through>>): Promise<void> {
  t.client.end('bye');
  // Vanish once 'bye' is through: destroying earlier races the FIN against an RST (unread bytes in the client's
  // receive queue), and an RST lets the kernel discard 'bye' before the proxy reads it.
  await t.s.received('bye');
  t.client.destroy();
  const [s] = await Promise.all([t.s.closed, closedEvent(proxy, t.id)]);
  assert.equal(s.data.toString(), 'bye');
  assert.ok(s.fin || s.error === 'ECONNRESET', JSON.stringify(s));
  assert.equal(eventOf(proxy, t.id, 'peer-end')?.side ?? eventOf(proxy, t.id, 'peer-reset')?.side, 'client');
}

async function scenario(fn: (proxy: Proxy, up: Upstream) => Promise<Upstream | void>): Promise<void> {
  const before = resources();
  let up = await startUpstream();
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: up.port } });
  try {
    up = (await fn(proxy, up)) ?? up;
    assert.deepEqual(proxy.connections(), []);
    await stillWorks(proxy, up);
    await proxy.waitForEvent('connection-closed', () => proxy.connections().length === 0);
  } finally {
    await proxy.close();
    await up.close();
  }
  assert.deepEqual(proxy.connections(), []);
  // Closed handles leave the list a few ticks after their close callbacks; a leaked one never does.
  for (let i = 0; i < 100 && resources().join() !== before.join(); i++) await new Promise((res) => setTimeout(res, 20));
  assert.deepEqual(resources(), before, 'no socket, server or timer is left behind');
}

test('stall: the server vanishes (FIN); after the stall the client gets its last bytes, then FIN', async () => {
  await scenario(async (proxy, up) => {
    const t = await through(proxy, up);
    assert.equal(proxy.stallNow('300ms'), true);
    t.server.end('last words'); // the server process exits: its kernel sends the bytes and FIN
    t.server.destroy();
    const [c] = await Promise.all([t.c.closed, closedEvent(proxy, t.id)]);
    assert.equal(c.data.toString(), 'hellolast words');
    assert.equal(c.fin, true);
    assert.equal(c.error, undefined);
    const events = connEvents(proxy, t.id);
    assert.ok(events.includes('peer-end'), events.join());
    assert.equal(eventOf(proxy, t.id, 'peer-end')!.side, 'server');
    assert.equal(eventOf(proxy, t.id, 'queued-dropped'), undefined);
  });
});

test('stall: the server process goes away with the client still sending; the client is closed and the relay restarts', async () => {
  await scenario(async (proxy, up) => {
    const t = await through(proxy, up);
    assert.equal(proxy.stallNow('300ms'), true);
    t.client.write('into the void');
    const port = up.port;
    await up.close(); // listener closed and every socket destroyed: the whole server is gone
    const [c] = await Promise.all([t.c.closed, closedEvent(proxy, t.id)]);
    // The proxy forwarded the client's bytes to a dead socket: the server's kernel answers RST, so the client
    // ends with FIN (the server's FIN, released first) and/or a reset, never a hang.
    assert.ok(c.fin || c.error === 'ECONNRESET', JSON.stringify(c));
    assert.ok(c.error === undefined || c.error === 'ECONNRESET' || c.error === 'EPIPE', String(c.error));
    // While the server is down a new client is refused with RST, as the server's kernel would refuse it.
    const refused = watch(await connect(proxy.address.port));
    assert.equal((await refused.closed).error, 'ECONNRESET');
    return startUpstream(port); // the server restarts on the same port
  });
});

test('stall: the client vanishes; after the stall its last bytes and FIN reach the server, the connection closes', async () => {
  await scenario(async (proxy, up) => {
    const t = await through(proxy, up);
    assert.equal(proxy.stallNow('300ms'), true);
    t.server.write('reply nobody reads');
    await clientVanishes(proxy, t);
  });
});

test('stall: the client resets; the server is reset too and nothing is left queued', async () => {
  await scenario(async (proxy, up) => {
    const t = await through(proxy, up);
    assert.equal(proxy.stallNow('300ms'), true);
    t.client.resetAndDestroy();
    const [s] = await Promise.all([t.s.closed, closedEvent(proxy, t.id)]);
    assert.equal(s.error, 'ECONNRESET');
    assert.equal(eventOf(proxy, t.id, 'peer-reset')!.side, 'client');
  });
});

test('a long stall: either side vanishing does not keep close() waiting; its timers go with it', async () => {
  await scenario(async (proxy, up) => {
    const a = await through(proxy, up);
    const b = await through(proxy, up);
    assert.equal(proxy.stallNow('1h'), true);
    a.server.destroy();
    b.client.destroy();
    assert.equal(proxy.connections().length, 2); // frozen: the vanishing is not seen until the stall releases
    proxy.reset(); // releases the stall (the API's POST /reset)
    await Promise.all([a.c.closed, b.s.closed, closedEvent(proxy, a.id), closedEvent(proxy, b.id)]);
    assert.equal(a.c.seen.fin, true);
    assert.equal(b.s.seen.fin || b.s.seen.error === 'ECONNRESET', true);
  });
});

/** A connection through the proxy whose downstream is held (for `duration`) from the server's 'trigger' on. */
async function holding(proxy: Proxy, up: Upstream, duration: string) {
  const t = await through(proxy, up);
  proxy.addFault({ kind: 'hold', id: 'h', direction: 'downstream', duration, every: 1, unit: 'chunks', count: 1 });
  t.server.write('trigger');
  await proxy.waitForEvent('hold-start');
  return t;
}

test('hold: the server vanishes with FIN; the held bytes are released to the client at the end of the hold, then FIN', async () => {
  await scenario(async (proxy, up) => {
    const t = await holding(proxy, up, '300ms');
    t.server.end('held words');
    t.server.destroy();
    const peerEnd = await proxy.waitForEvent('peer-end', (e) => e.conn === t.id);
    assert.equal(peerEnd.side, 'server');
    assert.equal(peerEnd.queuedTowardPeer, 'held words'.length); // held, to be released, not dropped
    const [c] = await Promise.all([t.c.closed, closedEvent(proxy, t.id)]);
    assert.equal(c.data.toString(), 'hellotriggerheld words');
    assert.equal(c.fin, true);
    assert.equal(eventOf(proxy, t.id, 'queued-dropped'), undefined);
  });
});

test('hold: the server resets; the client is reset at once and the held bytes are dropped with an event', async () => {
  await scenario(async (proxy, up) => {
    const t = await holding(proxy, up, '1h');
    t.server.write('held words');
    await new Promise<void>((res) => {
      const poll = () => (proxy.connections()[0]?.downstreamFlow?.queuedBytes ? res() : setTimeout(poll, 5));
      poll();
    });
    t.server.resetAndDestroy();
    const [c] = await Promise.all([t.c.closed, closedEvent(proxy, t.id)]);
    assert.equal(c.error, 'ECONNRESET');
    assert.equal(c.data.toString(), 'hellotrigger');
    assert.equal(eventOf(proxy, t.id, 'peer-reset')!.side, 'server');
    const dropped = eventOf(proxy, t.id, 'queued-dropped')!;
    assert.equal(dropped.direction, 'downstream');
    assert.equal(dropped.bytes, 'held words'.length);
    proxy.removeFault('h');
    proxy.reset(); // ends the hour-long hold for the connection that proves the relay still works
  });
});

test('hold: the client vanishes; what the client sent reaches the server, the held reply is released, all closes', async () => {
  await scenario(async (proxy, up) => {
    const t = await through(proxy, up);
    proxy.addFault({ kind: 'hold', id: 'h', direction: 'both', duration: '300ms', every: 1, unit: 'chunks', count: 1 });
    t.server.write('trigger');
    await proxy.waitForEvent('hold-start');
    t.server.write('reply nobody reads');
    await clientVanishes(proxy, t);
  });
});
