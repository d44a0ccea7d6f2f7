// Lifecycle trace subscribers for CHANNELS.rpcCall: a printer in the shape of seed 000's tap trace
// (`tap: N/M at <ts> "<event>" ...`, one block per XID, printed when the XID is released so M is known) and a JSON
// lines writer for the dashboard. Each line also names the Linux sunrpc tracepoint of the same moment
// (client/rpc/events.ts), so a `trace-cmd` trace of a real client reads side by side. The transport publishes; it
// does not know who listens.
import diagnostics_channel from 'node:diagnostics_channel';
import fs from 'node:fs';
import { CHANNELS } from '../../core/channels';
import { formatAt } from '../../core/units';
import { isCallEvent, tracepointOf, type CallEventName } from './events';
import { hexXid } from './xid';

/** One published lifecycle event (see client/rpc/transport.ts for the event names). */
export interface RpcCallEvent {
  event: CallEventName;
  xid: number;
  proc: string;
  /** performance.now() ms */
  t: number;
  /** time scale of the transport: model ms = real ms / scale */
  scale: number;
  transport: string;
  transportId: number;
  policy: string;
  [k: string]: unknown;
}


/** Subscribes to the call channel; returns the unsubscribe function. */
export function onRpcCallEvents(fn: (e: RpcCallEvent) => void): () => void {
  const handler = (m: unknown) => fn(m as RpcCallEvent);
  diagnostics_channel.subscribe(CHANNELS.rpcCall, handler);
  return () => diagnostics_channel.unsubscribe(CHANNELS.rpcCall, handler);
}

const COMMON = new Set(['event', 'xid', 'proc', 't', 'scale', 'transport', 'transportId', 'policy']);

export type TapScope = 'all' | 'retransmitted';

/**
 * Collects events per XID and prints each XID's block once it is released:
 *   tap: 3/11 at 0.130s (model 65.206s) "timeout (minor)" xid=0x1b2c3d4e nfs WRITE kind=minor
 * `retransmitted` prints only the blocks of XIDs that saw a timeout or a replay.
 */
export class TapPrinter {
  private readonly blocks = new Map<string, RpcCallEvent[]>();
  private readonly t0 = performance.now();
  constructor(private readonly out: (line: string) => void, private readonly scope: TapScope = 'all') {}

  handle(e: RpcCallEvent): void {
    const key = `${e.transportId}:${e.xid}`;
    let b = this.blocks.get(key);
    // A caller's own annotations (blktest's 'scribble') join a block still open; alone they are no block.
    if (!b && (e.event === 'scribble' || !isCallEvent(e.event))) return;
    if (!b) this.blocks.set(key, (b = []));
    b.push(e);
    if (e.event === 'released') {
      this.blocks.delete(key);
      this.print(b);
    }
  }

  /** Prints blocks never released (calls still in flight at exit). */
  flush(): void {
    for (const b of this.blocks.values()) this.print(b);
    this.blocks.clear();
  }

  private print(b: RpcCallEvent[]): void {
    if (this.scope === 'retransmitted' && !b.some((e) => e.event === 'timeout' || e.event === 'retransmit-queued')) return;
    b.forEach((e, i) => {
      const rel = e.t - this.t0;
      const extra = Object.entries(e)
        .filter(([k]) => !COMMON.has(k))
        .map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v)}`)
        .join(' ');
      const name = e.event === 'timeout' ? `timeout (${String(e.kind)})` : e.event;
      const tp = tracepointOf(e);
      this.out(`tap: ${i}/${b.length} at ${formatAt(rel, e.scale)} "${name}" xid=${hexXid(e.xid)} ${e.transport} ${e.proc}${extra ? ' ' + extra : ''}${tp ? ` [sunrpc:${tp}]` : ''}`);
    });
  }
}

export interface TraceOptions {
  /** print tap blocks through this function (e.g. to stderr) */
  tap?: { out: (line: string) => void; scope?: TapScope };
  /** write every event as one JSON line to this file */
  jsonFile?: string;
}

/** Starts the requested trace outputs; stop() flushes and closes them. */
export function startTrace(opts: TraceOptions): { stop(): Promise<void> } {
  const printer = opts.tap ? new TapPrinter(opts.tap.out, opts.tap.scope) : undefined;
  const file = opts.jsonFile ? fs.createWriteStream(opts.jsonFile) : undefined;
  const unsubscribe = printer || file
    ? onRpcCallEvents((e) => {
        printer?.handle(e);
        file?.write(JSON.stringify({ ...e, xidHex: hexXid(e.xid), tracepoint: tracepointOf(e) }) + '\n');
      })
    : () => {};
  return {
    async stop() {
      unsubscribe();
      printer?.flush();
      if (file) await new Promise<void>((r) => file.end(() => r()));
    },
  };
}
