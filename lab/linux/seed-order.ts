// The seed's order on the real client (tap arrangement), driven by what the host observes instead of fixed
// wall-clock durations. The guest's timers run on guest time, which falls behind the host's under TCG and CPU
// contention, so a schedule of host seconds lands in different guest states from run to run. Each step here waits
// for the event that makes the next one safe, with one bound per step:
//  1. the second WRITE's first copy has been forwarded; the proxy stops reading the client leg (stall, upstream)
//     and holds the server's reply (hold, downstream);
//  2. bytes appear in our socket's receive queue: the guest's RPC timer fired and its retransmission of that WRITE
//     was handed to its socket (xprt_retransmit; nothing else is outstanding: blktest2 writes one block at a time);
//  3. the receive queue stops growing: the window is closed and the rest of the copy waits in the guest's socket;
//  4. the reply is released; write() returns; blktest2 reads TIOCOUTQ (> 0), scribbles and prints its line;
//  5. that line reached the host: the stall ends and the rest of the copy leaves the guest after the scribble.
// Two kernel paths would close the connection instead (xprt_disconnect_done in the trace) and are avoided on
// purpose, not by luck:
//  - a request dequeued half sent (part of the retransmission still in the RPC layer when the call ends):
//    xs_stream_abort_send_request() forces a disconnect. SEED_ORDER_WMEM lets the whole copy into the socket, and
//    step 3 waits for a closed window plus SETTLE_MS before the reply goes;
//  - a zero window longer than TCP_USER_TIMEOUT, which xs_tcp_set_socket_timeouts() sets to timeo x (retrans+1),
//    which tcp_probe_timer() may abort. Steps 3 to 5 keep the window closed only while the guest answers; the
//    result reports how long (zeroWindowMs) against that budget. (Measured on 6.1: zero windows of 6.3 s and of
//    36 s, the latter the 4 MiB deadlock below, left the connection open: no new connection, no reset.)
// and one that would keep write() from returning at all: a reply released after the guest's socket could no longer
// take a whole further copy (see SEED_ORDER_WMEM).
import { GuestError } from '../../core/errors';
import type { Proxy } from '../../netem/proxy';
import type { FaultSpec } from '../../netem/types';
import type { GuestNetns } from './netns';
import type { Guest } from './qemu';

/**
 * The guest's tcp_wmem[1] (and max), bytes, for this schedule. write() returns only once its retransmission is
 * wholly in the socket: a task whose copy is partly in the RPC layer sleeps on xprt->sending for write space
 * (xs_nospace, xprt_wait_for_buffer_space), where xprt_complete_rqst's wake-up of xprt->pending does not reach it.
 * Debian's default (16 KiB, autotuned by the ACKs of earlier writes) may hold less than a 1 MiB WRITE behind a
 * closed window, so the reply alone would not let write() return.
 * The socket must also take every further copy the guest queues while the reply is held: each minor timeout
 * (xprt_adjust_timeout; TCP: timeo, 2 x timeo, ... up to retrans, then again from timeo after the major one)
 * hands call_transmit another whole copy. With timeo 1 s, retrans 2 they come 1, 3, 6, 7, 9, 12, 13 s after the
 * first transmission. 4 MiB held three: a reply released past 6 s (a host starved of CPU between the window closing
 * and step 4; reproduced by holding it 6 s) found the task asleep on xprt->sending behind a 4th copy half sent,
 * and write() waited for the stall's end, which waits for write()'s line. 8 MiB holds seven (to 13 s, past any
 * step's wait so far); 5 copies (5.1 MB) held in the socket of a 256 MiB guest, measured (tcp_mem, sized
 * by tcp_init_mem from the guest's free pages).
 */
export const SEED_ORDER_WMEM = 8 << 20;

/** Each step's bound: past it the run fails with the step's name (and the stall and hold are ended). */
export const SEED_ORDER_STEP_BOUND_MS = 30_000;
const POLL_MS = 50;
/** the receive queue unchanged this long: the window is closed (the proxy's namespace caps rmem at 128 KiB) */
const STABLE_MS = 300;
/** after the window closed: time for the guest to finish queueing the copy into its socket */
const SETTLE_MS = 200;

/** The faults the driver ends early: their durations are only the bound. */
export function seedOrderEventFaults(): FaultSpec[] {
  const bound = `${SEED_ORDER_STEP_BOUND_MS * 4}ms`;
  return [
    { id: 'seed-hold-reply', kind: 'hold', direction: 'downstream', duration: bound, call: { proc: 'WRITE', nth: 2 }, count: 1 },
    { id: 'seed-stall-client', kind: 'stall', direction: 'upstream', duration: bound, call: { proc: 'WRITE', nth: 2 }, phase: 'after', count: 1 },
  ];
}

/** Host ms of each step (performance.now() relative to the stall's start) and the receive queue seen. */
export interface SeedOrderTimeline {
  retransmissionMs: number;
  windowClosedMs: number;
  replyReleasedMs: number;
  guestLineMs: number;
  stallEndedMs: number;
  /** bytes of the retransmission in our receive queue when the window closed */
  recvQueue: number;
  /** from the window closing to the stall's end: must stay under the guest's TCP_USER_TIMEOUT */
  zeroWindowMs: number;
  /** timeo x (retrans + 1), ms: the guest's TCP_USER_TIMEOUT (xs_tcp_set_socket_timeouts) */
  userTimeoutMs: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface SeedOrderDriver {
  proxy: Proxy;
  ns: GuestNetns;
  guest: Guest;
  /** the proxy's listening port in the namespace */
  port: number;
  /** bound on step 1 (from the guest's launch: boot and mount come first) */
  startBoundMs: number;
  userTimeoutMs: number;
  progress: (line: string) => void;
}

export async function driveSeedOrder({ proxy: p, ns, guest, port, startBoundMs, userTimeoutMs, progress }: SeedOrderDriver): Promise<SeedOrderTimeline> {
  const lineFrom = guest.lines.length;
  try {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new GuestError('SEED_ORDER', `seed order: no second WRITE within ${startBoundMs / 1000} s`)), startBoundMs);
    });
    await Promise.race([p.waitForEvent('stall-start', (e) => e.source === 'seed-stall-client'), expired]).finally(() => clearTimeout(timer));
    const t0 = performance.now();
    const since = () => Math.round(performance.now() - t0);
    const poll = async (step: string, done: (q: number) => boolean): Promise<number> => {
      for (;;) {
        const q = await ns.recvQueue(port);
        if (done(q)) return q;
        if (performance.now() - t0 > SEED_ORDER_STEP_BOUND_MS) throw new GuestError('SEED_ORDER', `seed order: ${step} within ${SEED_ORDER_STEP_BOUND_MS / 1000} s (receive queue ${q} bytes)`);
        await sleep(POLL_MS);
      }
    };
    await poll("no retransmission of the second WRITE reached the proxy (the guest's RPC timer never fired)", (q) => q > 0);
    const retransmissionMs = since();
    progress(`seed order: retransmission arriving after ${retransmissionMs} ms of stall`);
    let last = -1;
    let stableSince = 0;
    const recvQueue = await poll('the window never closed', (q) => {
      const now = performance.now();
      if (q !== last) [last, stableSince] = [q, now];
      return now - stableSince >= STABLE_MS;
    });
    const closedAt = performance.now() - STABLE_MS;
    const windowClosedMs = Math.round(closedAt - t0);
    await sleep(SETTLE_MS);
    p.endHold(new Set(['downstream']), 'seed-order');
    const replyReleasedMs = since();
    progress(`seed order: window closed with ${recvQueue} bytes queued; reply released at ${replyReleasedMs} ms`);
    await guest.waitFor(/^write i=1 /, SEED_ORDER_STEP_BOUND_MS, lineFrom).catch((e: Error) => {
      throw new GuestError(
        'SEED_ORDER',
        `seed order: no line from the guest for the second write after the reply (released ${replyReleasedMs - retransmissionMs} ms after the retransmission arrived): ` +
          `write() waits for a copy the guest's socket could not take whole (xs_nospace: each minor timeout queued another, SEED_ORDER_WMEM ${SEED_ORDER_WMEM} bytes) or the guest hung: ${e.message}`,
      );
    });
    const guestLineMs = since();
    p.endStall('seed-order');
    const stallEndedMs = since();
    const zeroWindowMs = Math.round(performance.now() - closedAt);
    progress(`seed order: guest line at ${guestLineMs} ms; stall ended, zero window ${zeroWindowMs} ms (TCP_USER_TIMEOUT ${userTimeoutMs} ms)`);
    return { retransmissionMs, windowClosedMs, replyReleasedMs, guestLineMs, stallEndedMs, recvQueue, zeroWindowMs, userTimeoutMs };
  } finally {
    // On success both already ended; on failure the guest must be let go to finish (or be stopped by the caller).
    p.endHold(new Set(['downstream']), 'seed-order');
    p.endStall('seed-order');
  }
}
