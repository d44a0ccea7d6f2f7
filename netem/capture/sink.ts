// File adapter for the synthesized pcap: one file per proxy, both legs of every connection, plus the JSON-lines
// event sidecar next to it (FILE.pcap -> FILE.events.jsonl).
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { CaptureError } from '../../core/errors';
import { pcapGlobalHeader, TcpConversation, type Endpoint } from './pcap';

export function sidecarPath(pcapPath: string): string {
  return pcapPath.replace(/\.pcap$/i, '') + '.events.jsonl';
}

/** µs since the epoch, from the monotonic clock anchored at timeOrigin. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export class PcapSink {
  private readonly out: fs.WriteStream;
  private error?: Error;
  packets = 0;
  private corked = false;

  constructor(readonly path: string) {
    this.out = fs.createWriteStream(path, { flags: 'w' });
    this.out.on('error', (e) => (this.error = e));
    this.out.write(pcapGlobalHeader());
  }

  write(parts: Buffer[]): void {
    if (parts.length === 0 || this.ended) return;
    if (this.error) throw new CaptureError('CAPTURE_WRITE', `writing ${this.path}: ${this.error.message}`);
    // Batch a tick's packets into one writev.
    if (!this.corked) {
      this.corked = true;
      this.out.cork();
      process.nextTick(() => {
        this.corked = false;
        this.out.uncork();
      });
    }
    for (const p of parts) this.out.write(p);
    this.packets += parts.length;
  }

  private ended = false;

  close(): Promise<void> {
    this.ended = true;
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
