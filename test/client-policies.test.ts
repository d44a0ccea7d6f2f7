// One contract suite run against every retransmit policy, through a relay that replays seed 000: a 65 s stall
// (timeo 60 s, time scale 0.002), replies to the originals released before the queued retransmissions, every
// Buffer scribbled with 0xdeadbeef as soon as its call completes. Each policy must keep the promise its file
// documents, judged both by the client's own counts and by what arrived on the receiving side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { POLICIES, POLICY_NAMES, getPolicy, type PolicyName } from '../client/policies';
import { RpcTransport, type CallStats } from '../client/rpc/transport';
import { onRpcCallEvents, type RpcCallEvent } from '../client/rpc/trace';
import { xidStart } from '../client/rpc/xid';
import { ConfigError } from '../core/errors';
import { DEADBEEF, fillDeadbeef, fillPattern } from '../core/pattern';
import { BLOB_NULL, BLOB_PUT } from './support/client-responder';
import { startScriptedPeer } from './support/scripted-peer';
import { runStallScenario, type ScenarioResult } from './support/client-stall-scenario';

/** What each policy promises (its file's guarantee), as checks on one stalled run. */
const CONTRACT: Record<PolicyName, (r: ScenarioResult) => void> = {
  'no-cancel': (r) => {
    // The amplifier: duplicates queued before the reply are sent later from reused memory.
    assert.ok(r.stats.lateTransmissions > 0, 'no-cancel must show late transmissions under the stall');
    assert.ok(r.scribbledRecords > 0, '0xdeadbeef must reach the receiving side');
    assert.ok(r.corrupt.length > 0, 'a server without a DRC executes the scribbled duplicates');
  },
  'linux-2008': (r) => {
    assert.equal(r.stats.latePaths.queued, 0, 'linux-2008 never sends a queued duplicate after the reply');
    // Only duplicates already in the socket may read late (the seed's path), and they are counted.
    assert.ok(r.stats.lateTransmissions <= r.stats.duplicatesFinished, `late ${r.stats.lateTransmissions} > finished ${r.stats.duplicatesFinished}`);
  },
  'copy-on-retransmit': (r) => {
    assert.equal(r.stats.lateTransmissions, 0);
    assert.ok(r.stats.copies > 0, 'retransmissions must have been copied');
  },
  'cancel-on-reply': (r) => {
    assert.equal(r.stats.lateTransmissions, 0);
    assert.equal(r.stats.duplicatesFinished, 0, 'a borrowed duplicate in the socket is withdrawn, never finished');
    // Every withdrawal reset the connection; the replays went out on new connections.
    assert.ok(r.stats.resets >= r.stats.duplicatesWithdrawn);
  },
  'wait-for-wire': (r) => {
    assert.equal(r.stats.lateTransmissions, 0);
    assert.equal(r.stats.duplicatesCancelled, 0);
  },
  'copy-always': (r) => {
    assert.equal(r.stats.lateTransmissions, 0);
    assert.equal(r.stats.copies, r.stats.calls, 'one payload copy per call');
  },
};

/** The safe policies: nothing scribbled may reach the receiving side at all. */
const SAFE: readonly PolicyName[] = ['copy-on-retransmit', 'cancel-on-reply', 'wait-for-wire', 'copy-always'];

for (const name of POLICY_NAMES) {
  test(`${name}: ${POLICIES[name].guarantee}`, async () => {
    const r = await runStallScenario(name, { calls: 36 });
    assert.equal(r.stalls, 1, 'the relay stalled once');
    assert.equal(r.stats.completed, 36);
    assert.ok(r.stats.retransmitsQueued > 0, 'the 60 s timer fired during the 65 s stall');
    // Only a connection we reset ourselves (cancel-on-reply's withdrawal) leaves transmissions unfinished.
    if (r.stats.resets === 0) assert.equal(r.stats.failedTransmissions, 0);
    // The client's own count agrees with the wire: a late transmission is one whose bytes the caller had reused.
    assert.ok(r.scribbledRecords <= r.stats.lateTransmissions, `scribbled records ${r.scribbledRecords} > late ${r.stats.lateTransmissions}`);
    if (SAFE.includes(name)) {
      assert.equal(r.scribbledRecords, 0);
      assert.deepEqual(r.corrupt, []);
    }
    CONTRACT[name](r);
    for (const s of r.stats.perXid.values()) assert.ok(s.lateTransmissions <= s.transmissions);
  });
}

test('decision objects: who copies, who cancels, who holds completion', () => {
  const first = { kind: 'first' as const, attempt: 0, borrows: true };
  const again = { kind: 'retransmit' as const, attempt: 1, borrows: true };
  assert.deepEqual(POLICY_NAMES.map((n) => [POLICIES[n].payload(first), POLICIES[n].payload(again)]), [
    ['borrow', 'borrow'],
    ['borrow', 'copy'],
    ['borrow', 'borrow'],
    ['borrow', 'borrow'],
    ['copy', 'copy'],
    ['borrow', 'borrow'],
  ]);
  assert.deepEqual(POLICY_NAMES.filter((n) => POLICIES[n].onReply.inSocket === 'withdraw'), ['cancel-on-reply']);
  assert.deepEqual(POLICY_NAMES.filter((n) => POLICIES[n].onReply.queued === 'skip'), ['linux-2008', 'copy-on-retransmit', 'cancel-on-reply']);
  const heldOnWire = { settled: true, writing: 1, queued: 0 };
  assert.deepEqual(POLICY_NAMES.filter((n) => !POLICIES[n].mayComplete(heldOnWire)), ['wait-for-wire']);
  assert.throws(() => getPolicy('copy-sometimes'), (e: unknown) => e instanceof ConfigError && e.code === 'BAD_POLICY');
});

// ---- The two moments a reply can find a duplicate in, each played by a scripted peer (one call of 24 MiB, so
// its retransmission cannot fit in the loopback kernel buffers while the peer does not read). ----

const BIG = 24 << 20;
// timeo 60 s = 1.2 s real: on a loaded machine the peer still reads the first copy whole (and the socket takes
// the second call) long before the timer fires.
const SCALE = 0.02;
const X_TEMPLATE = fillPattern(Buffer.allocUnsafe(BIG), 0);
const Y_TEMPLATE = fillPattern(Buffer.allocUnsafe(BIG), BIG);

interface Moment {
  /** copies of the call that reached the peer whole */
  copies: number;
  /** of those, copies carrying the scribble */
  scribbled: number;
  stats: RpcTransport['stats'];
  /** source ports of the peer's connections */
  ports: number[];
  /** bytes of a record cut short when a connection ended */
  cut: number;
  /** the call's own counters */
  x: CallStats;
  /** this transport's events in order, as XID - X:event[:attempt] (assertion messages) */
  trace: string;
}

/** What each policy does when the reply finds the duplicate queued / in the socket. */
const AT_REPLY: Record<PolicyName, { queued: 'skipped' | 'sent-pattern' | 'sent-scribbled'; inSocket: 'finished-pattern' | 'finished-scribbled' | 'withdrawn' }> = {
  'linux-2008': { queued: 'skipped', inSocket: 'finished-scribbled' },
  'copy-on-retransmit': { queued: 'skipped', inSocket: 'finished-pattern' },
  'cancel-on-reply': { queued: 'skipped', inSocket: 'withdrawn' },
  'wait-for-wire': { queued: 'sent-pattern', inSocket: 'finished-pattern' },
  'copy-always': { queued: 'sent-pattern', inSocket: 'finished-pattern' },
  'no-cancel': { queued: 'sent-scribbled', inSocket: 'finished-scribbled' },
};

function hasScribble(data: Buffer): boolean {
  for (let i = data.length - 4; i >= 0; i -= 4096) if (data.readUInt32BE(i) === DEADBEEF) return true;
  return false;
}

/**
 * The reply arrives while the duplicate of X is `where`:
 * - queued: X's first copy was read whole, then a second call Y of the same size was handed to the socket and
 *   blocks it (the peer stopped reading); X's timer fires and its retransmission waits in the transmit queue;
 * - inSocket: X's first copy was read whole and the peer stopped reading; X's timer fires and its retransmission
 *   is handed to the idle socket, where most of it stays in Node's write queue (the seed's 26/41-29/41).
 * Then the peer answers X, the caller scribbles X's buffer the moment X completes, and the peer reads again.
 */
async function replyFinds(policy: PolicyName, where: 'queued' | 'inSocket', opts: { takePort?: boolean; soft?: boolean } = {}): Promise<Moment> {
  const peer = await startScriptedPeer();
  const t = new RpcTransport({ host: '127.0.0.1', port: peer.port, policy, timeScale: SCALE, seed: 11, soft: opts.soft });
  let thief: net.Server | undefined;
  const seen: RpcCallEvent[] = [];
  const stop = onRpcCallEvents((e) => {
    if (e.transportId === t.id) seen.push(e);
  });
  // Bounded so that a broken precondition fails with its name instead of hanging.
  const until = (what: string, pred: (e: RpcCallEvent) => boolean) =>
    new Promise<void>((resolve, reject) => {
      const give = performance.now() + 30_000;
      const tick = () => (seen.some(pred) ? resolve() : performance.now() > give ? reject(new Error(`precondition never met: ${what}`)) : setTimeout(tick, 2));
      tick();
    });
  try {
    await t.connect();
    if (opts.takePort) {
      // Another socket sits on the source port once ours is gone, as a TIME_WAIT of another program's connection
      // can (the kernel's connect-time choice shares a port between peers): a listener on 127.0.0.2 coexists with
      // our 127.0.0.1 connection, and the reconnect's bind to 0.0.0.0 on that port then fails with EADDRINUSE.
      const listener = net.createServer();
      thief = listener;
      await new Promise<void>((resolve, reject) => listener.once('error', reject).listen(t.sourcePort, '127.0.0.2', resolve));
    }
    const x = Buffer.from(X_TEMPLATE);
    const xid = xidStart(11);
    peer.pauseAfter = xid;
    const done = t.call(BLOB_PUT, { offset: 0n, data: x }, { borrowed: [x] }).then(() => fillDeadbeef(x));
    let other: Promise<unknown> = Promise.resolve();
    if (where === 'queued') {
      // Y follows X into the socket as soon as X has drained, and blocks it once the peer stops reading after X.
      // Y is not lent (the caller never reuses it), so only X's copies can read late.
      other = t.call(BLOB_PUT, { offset: BigInt(BIG), data: Buffer.from(Y_TEMPLATE) });
      await until('Y handed to the socket', (e) => e.xid === xid + 1 && e.event === 'transmit-start');
    }
    await until("X's first copy taken by the kernel", (e) => e.xid === xid && e.event === 'transmit-done');
    await until(`X's duplicate ${where}`, (e) => e.xid === xid && e.event === (where === 'queued' ? 'retransmit-queued' : 'transmit-start') && e.attempt === 1);
    const dup = seen.filter((e) => e.xid === xid && e.attempt === 1);
    assert.ok(!dup.some((e) => e.event === 'transmit-done'), `precondition: the duplicate is still ${where} when the reply is sent`);
    if (where === 'queued') assert.ok(!dup.some((e) => e.event === 'transmit-start'), 'precondition: the duplicate is still queued');
    peer.reply(xid, BIG);
    // The peer reads on only once the reply is matched: settle() runs in the same synchronous handler that publishes
    // 'reply', so from then on the duplicate's state at the reply (finishing / withdrawn / skipped) is fixed. A 30 ms
    // sleep stood here; under load the peer read on before the reply was read and the duplicate drained first (one
    // full-suite run: wait-for-wire, duplicatesFinished 0).
    await until('the reply matched', (e) => e.xid === xid && e.event === 'reply');
    peer.autoReply = true;
    peer.resume();
    await done;
    await other;
    await t.idle();
    await t.call(BLOB_NULL, undefined); // a barrier: the peer answers it after reading everything sent before it
    const copies = peer.copies(xid);
    return {
      copies: copies.length,
      scribbled: copies.filter((c) => hasScribble(c.data)).length,
      stats: t.stats,
      ports: peer.conns.map((c) => c.remotePort),
      cut: peer.conns.reduce((n, c) => n + c.partialBytes, 0),
      x: t.stats.perXid.get(xid)!,
      trace: seen.map((e) => `${e.xid - xid}:${e.event}${e.attempt === undefined ? '' : `:${String(e.attempt)}`}`).join(' '),
    };
  } finally {
    stop();
    await t.close();
    await peer.close();
    if (thief) await new Promise((r) => thief!.close(r));
  }
}

/** The reset's reconnect: one attempt, from the old source port or, if another socket holds it, from another. */
function assertOneReconnect(m: Moment, portTaken: boolean | 'either'): void {
  const why = `resets ${m.stats.resets}, port reused ${m.stats.portReused}, changed ${m.stats.portChanged}, ports ${m.ports.join(',')}; events (XID - X): ${m.trace}`;
  assert.equal(m.stats.reconnects, 1, why);
  assert.equal(m.ports.length, 2, why);
  const changed = portTaken === 'either' ? m.stats.portChanged > 0 : portTaken;
  if (changed) {
    // xs_bind: EADDRINUSE on transport->srcport -> xs_next_srcport gives it up and the same attempt binds any port.
    assert.deepEqual([m.stats.portReused, m.stats.portChanged], [0, 1], why);
    assert.notEqual(m.ports[1], m.ports[0], why);
  } else {
    assert.deepEqual([m.stats.portReused, m.stats.portChanged], [1, 0], why);
    assert.equal(m.ports[1], m.ports[0], why);
  }
}

for (const name of POLICY_NAMES) {
  const want = AT_REPLY[name];
  test(`${name}: the reply arrives while the duplicate is still queued -> ${want.queued}`, async () => {
    const m = await replyFinds(name, 'queued');
    if (want.queued === 'skipped') {
      assert.equal(m.copies, 1, 'only the first copy reached the peer');
      assert.equal(m.x.duplicatesCancelled, 1);
    } else {
      assert.equal(m.copies, 2, 'the queued duplicate was sent after the reply');
      assert.equal(m.scribbled, want.queued === 'sent-scribbled' ? 1 : 0);
    }
    assert.equal(m.stats.lateTransmissions, want.queued === 'sent-scribbled' ? 1 : 0);
    assert.equal(m.stats.latePaths.queued, m.stats.lateTransmissions);
    assert.equal(m.x.duplicatesWithdrawn, 0);
  });
  test(`${name}: the reply arrives while the duplicate is in the socket -> ${want.inSocket}`, async () => {
    const m = await replyFinds(name, 'inSocket');
    if (want.inSocket === 'withdrawn') {
      assert.equal(m.x.duplicatesWithdrawn, 1);
      assert.equal(m.copies, 1, 'the withdrawn duplicate never reached the peer whole');
      assert.ok(m.cut > 0, 'the peer saw the duplicate cut short by the reset');
      // The barrier call after it needed a connection: one reconnect, at once, from the same source port unless
      // another socket of this host holds that port by then (under a full suite's connection churn it can: the
      // case below forces it).
      assertOneReconnect(m, 'either');
    } else {
      assert.equal(m.x.duplicatesFinished, 1, `events (XID - X): ${m.trace}`);
      assert.equal(m.copies, 2, 'the duplicate in the socket was finished');
      assert.equal(m.scribbled, want.inSocket === 'finished-scribbled' ? 1 : 0);
    }
    assert.equal(m.stats.lateTransmissions, want.inSocket === 'finished-scribbled' ? 1 : 0);
    assert.equal(m.stats.latePaths.inSocket, m.stats.lateTransmissions);
  });
}

// The withdrawal's reconnect finds its old source port held by another socket (seen under a full suite: the port
// the kernel gave the first connection was shared with another connection's TIME_WAIT). Linux's xs_bind gives the
// port up and binds any port within the same connect attempt, so there is one reconnect, no reestablish backoff,
// and a soft mount's waiting call does not fail (no xprt_connect_status EIO).
for (const soft of [false, true]) {
  test(`cancel-on-reply${soft ? ', soft' : ''}: the old source port is taken when the withdrawal reconnects -> the same attempt from another port (xs_bind)`, async () => {
    const m = await replyFinds('cancel-on-reply', 'inSocket', { takePort: true, soft });
    assert.equal(m.x.duplicatesWithdrawn, 1);
    assert.equal(m.copies, 1, 'the withdrawn duplicate never reached the peer whole');
    assert.equal(m.stats.lateTransmissions, 0);
    assertOneReconnect(m, true);
  });
}
