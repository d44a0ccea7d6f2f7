// File adapter for the synthesized pcap: one file per proxy, both legs of every connection, plus the JSON-lines
// event sidecar next to it (FILE.pcap -> FILE.events.jsonl).
import { performance } from 'node:perf_hooks';
import { CaptureError } from '../../core/errors';
import { CAPTURE_IO_DEFAULT, openCaptureFile, type CaptureFile, type CaptureIo, type CaptureIoChoice } from './capture-io';
import { pcapGlobalHeader, TcpConversation, type Endpoint } from './pcap';

export function sidecarPath(pcapPath: string): string {
  return pcapPath.replace(/\.pcap(ng)?$/i, '') + '.events.jsonl';
}

/** µs since the epoch, from the monotonic clock anchored at timeOrigin. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** How often a running capture is made readable to the last record (a direct writer holds up to a slab). */
export const CAPTURE_FLUSH_MS = 1000;

/**
 * The pcap file, written synchronously on the relay thread: the pcap record and packet headers this file
 * synthesizes and, by reference, the bytes the relay read or is about to write (its own slabs). Nothing is kept
 * after write() returns, so the relay may read into the same slab again at once. Two writers (capture-io.ts):
 * O_DIRECT from a page-aligned staging slab (one copy in user space, none into the page cache, 0.44-0.63x of the
 * CPU of the buffered pair, issue 20), or one writev per call through the page cache, the default
 * (CAPTURE_IO_DEFAULT says why). Measured (issue 20): writing on the relay thread costs less than handing copies
 * to the thread pool or a worker (0.36 ms/MB against 0.63-2.15). A disk that cannot keep up blocks the relay thread in the write: the
 * relay slows down, a packet is never dropped (tcpdump on loopback at full speed drops 22-68%). The direct writer
 * holds up to a slab, so the file is flushed (readable to its last record) every CAPTURE_FLUSH_MS, on flush(),
 * and at close.
 */
export class PcapSink {
  private readonly file: CaptureFile;
  readonly io: CaptureIoChoice;
  private error?: Error;
  /** buffers written (pcap records count two: header and payload) */
  packets = 0;
  private ended = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly path: string,
    io: CaptureIo = CAPTURE_IO_DEFAULT,
    flushMs = CAPTURE_FLUSH_MS,
  ) {
    const header = pcapGlobalHeader();
    ({ file: this.file, choice: this.io } = openCaptureFile(path, io, header));
    this.timer = setInterval(() => this.flushQuietly(), flushMs).unref();
  }

  /** bytes written, the global header included (the writer counts them) */
  get bytes(): number {
    return this.file.length;
  }

  /** Writes the parts (pcap records) before returning; nothing of them is kept. */
  write(parts: Buffer[]): void {
    if (parts.length === 0 || this.ended) return;
    this.failed();
    try {
      this.file.write(parts);
    } catch (e) {
      this.error = e as Error;
      this.failed();
    }
    this.packets += parts.length;
  }

  /** Makes the file readable to the last record written (the control API and a timer call it). */
  flush(): void {
    if (this.ended) return;
    this.failed();
    try {
      this.file.flush();
    } catch (e) {
      this.error = e as Error;
      this.failed();
    }
  }

  close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      clearInterval(this.timer);
      try {
        this.file.close();
      } catch (e) {
        return Promise.reject(new CaptureError('CAPTURE_WRITE', `closing ${this.path}: ${(e as Error).message}`));
      }
    }
    return Promise.resolve();
  }

  /** The timer's flush: an error is kept for the next write, which throws it to the relay. */
  private flushQuietly(): void {
    try {
      this.flush();
    } catch {
      /* kept in this.error */
    }
  }

  private failed(): void {
    if (this.error) throw new CaptureError('CAPTURE_WRITE', `writing ${this.path}: ${this.error.message}`);
  }
}

/**
 * Both legs of one proxied connection: leg "client" is client <-> proxy listen address as the client saw it,
 * leg "server" is proxy's upstream socket <-> server. The client and the proxy's upstream socket sent the SYNs.
 */
export class ConnectionCapture {
  private clientLeg: TcpConversation;
  private serverLeg?: TcpConversation;

  /** `clock`: µs since the epoch for each packet (tests pass a fixed one). */
  constructor(
    private readonly sink: { write(parts: Buffer[]): void },
    client: Endpoint,
    listen: Endpoint,
    isn: number,
    private readonly clock: () => number = nowUs,
  ) {
    this.clientLeg = new TcpConversation(client, listen, isn, isn ^ 0x5a5a5a5a, 0x10);
    sink.write(this.clientLeg.handshake(clock()));
  }

  serverConnected(local: Endpoint, server: Endpoint, isn: number): void {
    this.serverLeg = new TcpConversation(local, server, isn, isn ^ 0x3c3c3c3c, 0x20);
    this.sink.write(this.serverLeg.handshake(this.clock()));
  }

  /** bytes the proxy read from the client (a view of its slab, valid during the call: written before return) */
  fromClient(b: Buffer): void {
    this.sink.write(this.clientLeg.data(true, b, this.clock()));
  }
  /** bytes the proxy wrote to the client */
  toClient(b: Buffer): void {
    this.sink.write(this.clientLeg.data(false, b, this.clock()));
  }
  toServer(b: Buffer): void {
    if (this.serverLeg) this.sink.write(this.serverLeg.data(true, b, this.clock()));
  }
  fromServer(b: Buffer): void {
    if (this.serverLeg) this.sink.write(this.serverLeg.data(false, b, this.clock()));
  }
  fin(leg: 'client' | 'server', fromInitiator: boolean): void {
    const c = leg === 'client' ? this.clientLeg : this.serverLeg;
    if (c) this.sink.write(c.fin(fromInitiator, this.clock()));
  }
  rst(leg: 'client' | 'server', fromInitiator: boolean): void {
    const c = leg === 'client' ? this.clientLeg : this.serverLeg;
    if (c) this.sink.write(c.rst(fromInitiator, this.clock()));
  }
}
