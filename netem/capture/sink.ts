// File adapter for the synthesized pcap: one file per proxy, both legs of every connection, plus the JSON-lines
// event sidecar next to it (FILE.pcap -> FILE.events.jsonl).
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { BufferPool } from '../../core/buffer-pool';
import { CaptureError } from '../../core/errors';
import { pcapGlobalHeader, TcpConversation, type Endpoint } from './pcap';

export function sidecarPath(pcapPath: string): string {
  return pcapPath.replace(/\.pcap(ng)?$/i, '') + '.events.jsonl';
}

/** µs since the epoch, from the monotonic clock anchored at timeOrigin. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Packets are copied into staging slabs of this size and written one slab at a time. */
const STAGE_BYTES = 1024 * 1024;
/** A slab that is not full is written this long (real ms) after its first packet: few file writes for small RPCs. */
const STAGE_FLUSH_MS = 5;
/** Bytes waiting for the file above which the relay stops reading (capture backpressure); it resumes at half. */
const MAX_PENDING = 32 * STAGE_BYTES;

export class PcapSink {
  private readonly out: fs.WriteStream;
  private error?: Error;
  packets = 0;
  private ended = false;
  // Staging: the relay may read into the same memory again as soon as it has written a chunk, so the sink keeps
  // no view of a payload: it copies every packet into a slab of its own, written when full or STAGE_FLUSH_MS after
  // its first packet (each file write is a thread-pool job competing with the relay for a core), and the slab goes
  // back to the pool when the file write is done. Timestamps are taken when packets are made, not written.
  private readonly pool = new BufferPool({ granule: STAGE_BYTES, maxIdleBytes: 32 * STAGE_BYTES });
  private stage?: Buffer;
  private used = 0;
  private timer?: NodeJS.Timeout;
  private readonly flushLater = (): void => {
    this.timer = undefined;
    this.flush();
  };
  /** bytes handed to the file stream and not yet written */
  private pending = 0;
  private stalled = false;
  private readonly resumers = new Set<() => void>();

  constructor(readonly path: string) {
    this.out = fs.createWriteStream(path, { flags: 'w' });
    this.out.on('error', (e) => (this.error = e));
    this.out.write(pcapGlobalHeader());
  }

  /** Copies the parts (pcap records); nothing of them is kept after the call returns. */
  write(parts: Buffer[]): void {
    if (parts.length === 0 || this.ended) return;
    if (this.error) throw new CaptureError('CAPTURE_WRITE', `writing ${this.path}: ${this.error.message}`);
    for (const p of parts) {
      if (p.length > STAGE_BYTES) {
        this.flush();
        this.out.write(Buffer.from(p));
        continue;
      }
      if (this.stage && this.used + p.length > this.stage.length) this.flush();
      if (!this.stage) {
        this.stage = this.pool.take(STAGE_BYTES);
        this.used = 0;
      }
      p.copy(this.stage, this.used);
      this.used += p.length;
    }
    this.packets += parts.length;
    if (this.stage && !this.timer) this.timer = setTimeout(this.flushLater, STAGE_FLUSH_MS);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const s = this.stage;
    if (!s) return;
    this.stage = undefined;
    if (this.used === 0) return this.pool.release(s);
    const n = this.used;
    this.pending += n;
    this.used = 0;
    this.out.write(s.subarray(0, n), () => {
      this.pool.release(s);
      this.pending -= n;
      if (this.stalled && this.pending <= MAX_PENDING / 2) {
        this.stalled = false;
        for (const fn of this.resumers) fn();
      }
    });
  }

  /**
   * True while the file lags too far behind: the relay should not read (bounded memory, and the capture keeps
   * up with what is relayed). onResume listeners run when it has caught up.
   */
  get congested(): boolean {
    if (this.pending + this.used > MAX_PENDING && !this.ended && !this.error) this.stalled = true;
    return this.stalled;
  }

  /** Registers fn to run when the sink is no longer congested; returns a function that unregisters it. */
  onResume(fn: () => void): () => void {
    this.resumers.add(fn);
    return () => this.resumers.delete(fn);
  }

  close(): Promise<void> {
    this.flush();
    this.ended = true;
    this.stalled = false;
    for (const fn of this.resumers) fn();
    return new Promise((res) => this.out.end(res));
  }
}

/**
 * Both legs of one proxied connection: leg "client" is client <-> proxy listen address as the client saw it,
 * leg "server" is proxy's upstream socket <-> server. The client and the proxy's upstream socket sent the SYNs.
 */
export class ConnectionCapture {
  private clientLeg: TcpConversation;
  private serverLeg?: TcpConversation;

  constructor(private readonly sink: PcapSink, client: Endpoint, listen: Endpoint, isn: number) {
    this.clientLeg = new TcpConversation(client, listen, isn, isn ^ 0x5a5a5a5a, 0x10);
    sink.write(this.clientLeg.handshake(nowUs()));
  }

  /** The file lags: the relay should stop reading until onResume (PcapSink.congested). */
  get congested(): boolean {
    return this.sink.congested;
  }

  onResume(fn: () => void): () => void {
    return this.sink.onResume(fn);
  }

  serverConnected(local: Endpoint, server: Endpoint, isn: number): void {
    this.serverLeg = new TcpConversation(local, server, isn, isn ^ 0x3c3c3c3c, 0x20);
    this.sink.write(this.serverLeg.handshake(nowUs()));
  }

  /** bytes the proxy read from the client */
  fromClient(b: Buffer): void {
    this.sink.write(this.clientLeg.data(true, b, nowUs()));
  }
  /** bytes the proxy wrote to the client */
  toClient(b: Buffer): void {
    this.sink.write(this.clientLeg.data(false, b, nowUs()));
  }
  toServer(b: Buffer): void {
    if (this.serverLeg) this.sink.write(this.serverLeg.data(true, b, nowUs()));
  }
  fromServer(b: Buffer): void {
    if (this.serverLeg) this.sink.write(this.serverLeg.data(false, b, nowUs()));
  }
  fin(leg: 'client' | 'server', fromInitiator: boolean): void {
    const c = leg === 'client' ? this.clientLeg : this.serverLeg;
    if (c) this.sink.write(c.fin(fromInitiator, nowUs()));
  }
  rst(leg: 'client' | 'server', fromInitiator: boolean): void {
    const c = leg === 'client' ? this.clientLeg : this.serverLeg;
    if (c) this.sink.write(c.rst(fromInitiator, nowUs()));
  }
}
