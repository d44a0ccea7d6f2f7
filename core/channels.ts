// Observability: namespaced diagnostics_channel names. The core publishes; printers and the dashboard subscribe.
import diagnostics_channel from 'node:diagnostics_channel';

export const CHANNELS = {
  /** client call lifecycle events: {event, xid, t (performance.now ms), ...} */
  rpcCall: 'nfs-testbed:rpc:call',
  /** server-side executions and DRC decisions */
  serverOp: 'nfs-testbed:server:op',
  /** netem fault events */
  netemFault: 'nfs-testbed:netem:fault',
} as const;

export const channel = (name: (typeof CHANNELS)[keyof typeof CHANNELS]) => diagnostics_channel.channel(name);
