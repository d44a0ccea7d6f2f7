// File adapter for the synthesized pcap: one file per proxy, both legs of every connection, plus the JSON-lines
// event sidecar next to it (FILE.pcap -> FILE.events.jsonl).
import { performance } from 'node:perf_hooks';
import { CaptureError } from '../../core/errors';
import { AUTO_DIRECT_AFTER, CAPTURE_IO_DEFAULT, openCaptureFile, type CaptureFile, type CaptureIo, type CaptureIoChoice } from './capture-io';
import { pcapGlobalHeader, TcpConversation, type Endpoint } from './pcap';

export function sidecarPath(pcapPath: string): string {
  return pcapPath.replace(/\.pcap(ng)?$/i, '') + '.events.jsonl';
}

/** µs since the epoch, from the monotonic clock anchored at timeOrigin. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** How often a running capture is made readable to the last record (a direct writer holds up to its ring). */
export const CAPTURE_FLUSH_MS = 1000;

/**
 * The pcap file, written from the relay thread: the pcap record and packet headers this file synthesizes and the
 * bytes the relay read or is about to write (its own slabs). Nothing of them is kept after write() returns, so the
 * relay may read into the same slab again at once. Two writers (capture-io.ts): O_DIRECT from a ring of
 * page-aligned staging slabs (one copy in user space into the ring, none into the page cache; a writer thread
 * takes each full slab to the device), or one writev per call through the page cache, by reference (the default,
 * auto, writes the first 64 MiB through the page cache and the rest O_DIRECT: CAPTURE_IO_DEFAULT says why).
 * Measured (issue 20): the per-record work belongs on the relay thread (0.36 ms/MB against 0.63-2.15 for handing
 * copies of records to the thread pool or a worker); only whole slabs are handed over.
 * A disk that cannot keep up blocks the relay thread (in writev, or once every slab of the ring is held): the relay
 * slows down, a packet is never dropped (tcpdump on loopback at full speed drops 22-68%). The direct writer holds
 * up to its ring, so the file is flushed (readable to its last record) every CAPTURE_FLUSH_MS without waiting,
 * and on flush() and at close waiting for the device.
 */
export class PcapSink {
  private readonly file: CaptureFile;
  private readonly opened: CaptureIoChoice;
  private error?: Error;
  /** buffers written (pcap records count two: header and payload) */
  packets = 0;
  private ended = false;
  private closed?: Promise<void>;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly path: string,
    io: CaptureIo = CAPTURE_IO_DEFAULT,
    flushMs = CAPTURE_FLUSH_MS,
    /** `auto`: bytes through the page cache before O_DIRECT (capture-io.ts AUTO_DIRECT_AFTER) */
    autoDirectAfter = AUTO_DIRECT_AFTER,
  ) {
    const header = pcapGlobalHeader();
    ({ file: this.file, choice: this.opened } = openCaptureFile(path, io, header, autoDirectAfter));
    this.timer = setInterval(() => this.flushQuietly(), flushMs).unref();
  }

  /** what the file is written with, and why (`auto` changes it once, at its switch) */
  get io(): CaptureIoChoice {
    return this.file.choice ?? this.opened;
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

  /**
   * Makes the file readable to the last record written (the control API calls it); `wait` false (the timer): the
   * writer thread of an O_DIRECT file does it after the slabs it holds, and the relay goes on meanwhile.
   */
  flush(wait = true): void {
    if (this.ended) return;
    this.failed();
    try {
      this.file.flush(wait);
    } catch (e) {
      this.error = e as Error;
      this.failed();
    }
  }

  close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      clearInterval(this.timer);
      this.closed = this.file.close().catch((e: Error) => {
        throw new CaptureError('CAPTURE_WRITE', `closing ${this.path}: ${e.message}`);
      });
    }
    return this.closed ?? Promise.resolve();
  }

  /** The timer's flush: an error is kept for the next write, which throws it to the relay. */
  private flushQuietly(): void {
    try {
      this.flush(false);
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
