// The TCP RPC listener: accepts connections, gives each its own framer, shares one dispatcher.
import net from 'node:net';
import { TestbedError } from '../../core/errors';
import type { Logger } from '../../core/log';
import { DEFAULT_MAX_RECORD } from '../../xdr/record';
import { Connection } from './connection';
import type { Dispatcher } from './dispatcher';

export interface RpcListenerOptions {
  host: string;
  port: number;
  dispatcher: Dispatcher;
  logger: Logger;
  /** shared across listeners of one server so connection ids are unique */
  nextConnId: () => number;
  maxRecordSize?: number;
  maxInFlight?: number;
  /** see ConnectionOptions.directReads (default true) */
  directReads?: boolean;
  onConnection?(c: Connection): void;
}

export class RpcListener {
  readonly server: net.Server;
  readonly connections = new Set<Connection>();

  private constructor(o: RpcListenerOptions) {
    // Paused on accept so that no byte is read before the Connection chose how to read (direct or chunks).
    this.server = net.createServer({ pauseOnConnect: true }, (socket) => {
      const c = new Connection(socket, o.nextConnId(), o.dispatcher, o.logger, {
        maxRecordSize: o.maxRecordSize ?? DEFAULT_MAX_RECORD,
        maxInFlight: o.maxInFlight ?? 64,
        directReads: o.directReads ?? true,
      });
      this.connections.add(c);
      c.socket.once('close', () => this.connections.delete(c));
      o.onConnection?.(c);
    });
    this.server.on('error', (e) => o.logger.log('error', 'listener error', { err: e.message }));
  }

  static listen(o: RpcListenerOptions): Promise<RpcListener> {
    const l = new RpcListener(o);
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        reject(new TestbedError(e.code === 'EADDRINUSE' ? 'PORT_IN_USE' : 'LISTEN_FAILED', `cannot listen on ${o.host}:${o.port}: ${e.message}`, { host: o.host, port: o.port }));
      };
      l.server.once('error', onError);
      l.server.listen(o.port, o.host, () => {
        l.server.off('error', onError);
        resolve(l);
      });
    });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Stops accepting, closes every connection, resolves when the listener is closed. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const c of this.connections) c.socket.destroy();
    });
  }
}
