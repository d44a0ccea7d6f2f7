// The two legs of a relay (issue 19): a proxy such as `nfs-testbed netem` carries every call twice, client ->
// proxy and proxy -> server, so a capture of both legs shows each XID on two connections. Two TCP connections are
// legs of one relay when they carry the same calls (XID, program, version, procedure and payload hash) and the
// second starts where the first ends: the first connection's server address is the second's client address,
// through a different server endpoint (a reconnect of a client to the same server is not a relay). The leg
// whose copies come first is the client leg. A capture can also name its legs (pcapng interface names written
// by netem: "client leg" / "server leg"), which wins over the inference.
import type { Transmission } from './ledger';

export type Leg = 'client' | 'server';
/** Which transmissions a view counts: one leg (plus connections that are no relay leg), or both. */
export type LegChoice = Leg | 'all';
export const LEG_CHOICES: readonly LegChoice[] = ['client', 'server', 'all'];

export interface LegPair {
  client: string;
  server: string;
  /** calls seen on both */
  shared: number;
  transmissions: { client: number; server: number };
}

export interface LegMap {
  byConnection: Map<number, Leg>;
  pairs: LegPair[];
  /** legs named by the capture itself rather than inferred */
  named: boolean;
}

/** Shared calls needed, as a share of the smaller connection's distinct calls. */
const MIN_SHARE = 0.5;

/**
 * Assigns legs to connections. `named`: connection id -> leg from the capture's own interface names, if any.
 */
export function detectLegs(ts: readonly Transmission[], named?: ReadonlyMap<number, Leg>): LegMap {
  const byConn = new Map<number, Transmission[]>();
  for (const t of ts) {
    if (t.transport !== 'tcp') continue;
    const l = byConn.get(t.connectionId);
    if (l) l.push(t);
    else byConn.set(t.connectionId, [t]);
  }
  if (named && named.size) return { byConnection: new Map(named), pairs: pairsOf(byConn, named), named: true };
  // Calls by identity; a call on several connections links them.
  const where = new Map<string, Set<number>>();
  for (const t of ts) {
    if (t.transport !== 'tcp' || t.payloadFingerprint === null) continue;
    const k = `${t.xid}|${t.prog}|${t.vers}|${t.proc}|${t.payloadFingerprint}`;
    const s = where.get(k);
    if (s) s.add(t.connectionId);
    else where.set(k, new Set([t.connectionId]));
  }
  const shared = new Map<string, number>();
  for (const s of where.values()) {
    if (s.size < 2 || s.size > 4) continue;
    const ids = [...s];
    for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) {
      const k = ids[i] < ids[j] ? `${ids[i]}|${ids[j]}` : `${ids[j]}|${ids[i]}`;
      shared.set(k, (shared.get(k) ?? 0) + 1);
    }
  }
  const distinct = (id: number) => new Set(byConn.get(id)!.map((t) => `${t.xid}|${t.proc}`)).size;
  const legs = new Map<number, Leg>();
  const candidates = [...shared].sort((a, b) => b[1] - a[1]);
  for (const [k, n] of candidates) {
    const [a, b] = k.split('|').map(Number);
    if (legs.has(a) || legs.has(b)) continue;
    if (n < MIN_SHARE * Math.min(distinct(a), distinct(b))) continue;
    const ta = byConn.get(a)![0];
    const tb = byConn.get(b)![0];
    // client leg: its server end is the relay's host, which is the client end of the server leg
    const aFirst = ta.server === tb.client && `${ta.server}:${ta.serverPort}` !== `${tb.server}:${tb.serverPort}`;
    const bFirst = tb.server === ta.client && `${tb.server}:${tb.serverPort}` !== `${ta.server}:${ta.serverPort}`;
    if (!aFirst && !bFirst) continue;
    let order = aFirst && !bFirst ? 1 : bFirst && !aFirst ? -1 : 0;
    if (order === 0) order = firstCopies(byConn.get(a)!, byConn.get(b)!);
    if (order === 0) continue;
    legs.set(order > 0 ? a : b, 'client');
    legs.set(order > 0 ? b : a, 'server');
  }
  return { byConnection: legs, pairs: pairsOf(byConn, legs), named: false };
}

/** +1 when connection a's copies of the calls both carry mostly come first, -1 when b's do, 0 when undecided. */
function firstCopies(a: Transmission[], b: Transmission[]): number {
  const firstB = new Map<string, number>();
  for (const t of b) {
    const k = `${t.xid}|${t.payloadFingerprint}`;
    if (!firstB.has(k)) firstB.set(k, t.firstTime);
  }
  let votes = 0;
  const seen = new Set<string>();
  for (const t of a) {
    const k = `${t.xid}|${t.payloadFingerprint}`;
    if (seen.has(k) || !firstB.has(k)) continue;
    seen.add(k);
    const tb = firstB.get(k)!;
    if (t.firstTime < tb) votes++;
    else if (t.firstTime > tb) votes--;
  }
  return Math.sign(votes);
}

function pairsOf(byConn: Map<number, Transmission[]>, legs: ReadonlyMap<number, Leg>): LegPair[] {
  const clients = [...legs].filter(([, l]) => l === 'client').map(([id]) => id);
  const servers = [...legs].filter(([, l]) => l === 'server').map(([id]) => id);
  const out: LegPair[] = [];
  for (const c of clients) {
    const tc = byConn.get(c) ?? [];
    const keys = new Set(tc.map((t) => `${t.xid}|${t.proc}`));
    let best: { id: number; n: number } | null = null;
    for (const s of servers) {
      const n = new Set((byConn.get(s) ?? []).filter((t) => keys.has(`${t.xid}|${t.proc}`)).map((t) => `${t.xid}|${t.proc}`)).size;
      if (n > 0 && (!best || n > best.n)) best = { id: s, n };
    }
    if (!best || !tc.length) continue;
    const ts = byConn.get(best.id)!;
    out.push({ client: tc[0].connection, server: ts[0].connection, shared: best.n, transmissions: { client: tc.length, server: ts.length } });
  }
  return out;
}

/** Does a view with this choice count transmission t? Connections that are no relay leg count in every view. */
export function inView(t: Transmission, choice: LegChoice): boolean {
  return choice === 'all' || t.leg === null || t.leg === choice;
}
