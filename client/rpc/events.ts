// The one list of call lifecycle events the transport publishes on CHANNELS.rpcCall (client/rpc/transport.ts),
// each with the Linux sunrpc tracepoint that marks the same moment (include/trace/events/sunrpc.h, so a
// `trace-cmd record -e sunrpc` trace of a real client reads side by side) and the seed's tap name (2.6.18
// instrumentation in ../shared/seeds/000). `null`: no tracepoint marks that moment in Linux.

export interface CallEventInfo {
  /** sunrpc tracepoint at the same moment */
  readonly tracepoint: string | null;
  /** the seed's tap line for the same moment */
  readonly seed: string | null;
  /** what the event means here */
  readonly means: string;
}

export const CALL_EVENTS = {
  init: { tracepoint: 'rpc_task_begin', seed: 'rpc_init_task', means: 'the call was created' },
  encode: { tracepoint: 'rpc_request', seed: 'call_encode', means: 'the call was encoded (payload referenced, not copied)' },
  queued: { tracepoint: 'xprt_enq_xmit', seed: 'call_transmit', means: 'the first transmission waits in the transmit queue' },
  'transmit-start': { tracepoint: 'xprt_transmit', seed: 'xs_tcp_send_request', means: 'the whole record was handed to the socket (retransmissions: xprt_retransmit); the reply timer starts' },
  'transmit-done': { tracepoint: null, seed: 'tcp_transmit_skb', means: "the record's last byte was taken by the kernel: its memory is no longer read" },
  'transmit-failed': { tracepoint: null, seed: null, means: 'the socket died before the kernel took the whole record' },
  timeout: { tracepoint: 'xprt_timer', seed: 'xprt_timer', means: 'the reply timer fired (kind minor, or major: rpc_timeout_status)' },
  'retransmit-queued': { tracepoint: 'xprt_enq_xmit', seed: 'call_transmit', means: 'a retransmission (timeout) or replay (reconnect) waits in the transmit queue' },
  reply: { tracepoint: 'xprt_complete_rqst', seed: 'rpc_make_runnable', means: 'the reply was matched to the call' },
  skipped: { tracepoint: 'xprt_transmit', seed: null, means: 'a queued duplicate was not sent because the reply had arrived (xprt_prepare_transmit: rq_received && !rq_bytes_sent)' },
  finishing: { tracepoint: null, seed: 'do_tcp_sendpages', means: 'a duplicate already in the socket when the reply arrived is finished from its memory (the seed\'s 26/41-29/41)' },
  withdrawn: { tracepoint: 'rpc_socket_reset_connection', seed: null, means: 'a duplicate in the socket was withdrawn by resetting the connection (cancel-on-reply)' },
  complete: { tracepoint: 'rpc_task_end', seed: 'nfs_direct_write_complete', means: 'the caller owns its buffers again (write() returned)' },
  'late-transmit': { tracepoint: null, seed: 'tcp_transmit_skb', means: "bytes were taken from caller memory after completion (the seed's 40/41)" },
  released: { tracepoint: null, seed: null, means: 'nothing of the call is left in the queue or the socket' },
  scribble: { tracepoint: null, seed: 'fast_flush_area', means: "the caller reused its buffer (blktest2's memset; a caller's annotation)" },
} as const satisfies Record<string, CallEventInfo>;

export type CallEventName = keyof typeof CALL_EVENTS;
export const CALL_EVENT_NAMES = Object.keys(CALL_EVENTS) as CallEventName[];

/** Events the transport itself publishes (the rest are callers' annotations joining an XID's block). */
export const TRANSPORT_EVENT_NAMES: readonly CallEventName[] = CALL_EVENT_NAMES.filter((n) => n !== 'scribble');

export function isCallEvent(name: string): name is CallEventName {
  return Object.prototype.hasOwnProperty.call(CALL_EVENTS, name);
}

/** The tracepoint of one published event (a retransmission is xprt_retransmit; a major timeout rpc_timeout_status). */
export function tracepointOf(e: { event: string; kind?: unknown }): string | null {
  if (!isCallEvent(e.event)) return null;
  if (e.event === 'transmit-start' && e.kind !== undefined && e.kind !== 'first') return 'xprt_retransmit';
  if (e.event === 'timeout' && e.kind === 'major') return 'rpc_timeout_status';
  return CALL_EVENTS[e.event].tracepoint;
}
