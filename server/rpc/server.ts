// The TCP RPC listener: accepts connections, gives each its own framer, shares one dispatcher.
import net from 'node:net';
import type { BufferPool } from '../../core/buffer-pool';
import { TestbedError } from '../../core/errors';
import type { Logger } from '../../core/log';
import { DEFAULT_MAX_RECORD } from '../../xdr/record';
import { Connection } from './connection';
import type { ByteBudget } from './direct-framer';
import type { Dispatcher } from './dispatcher';

export interface RpcListenerOptions {
  host: string;
  port: number;
  dispatcher: Dispatcher;
  logger: Logger;
  /** shared across listeners of one server so connection ids are unique */
  nextConnId: () => number;
  maxRecordSize?: number;
  /** server-wide budget for full-size record Buffers being received */
  directBudget?: ByteBudget;
  /** server-wide pool the record Buffers come from */
  recordPool?: BufferPool;
  maxInFlight?: number;
  idleTimeoutMs?: number;
  recordTimeoutMs?: number;
  /**
   * Shared by the server's listeners: connections open across all of them and the most allowed. Beyond it a new
   * connection is closed at once (with a log line), so a flood cannot take what established clients use.
   */
  budget?: ConnectionBudget;
  /** see ConnectionOptions.directReads (default true) */
  directReads?: boolean;
  onConnection?(c: Connection): void;
}

export interface ConnectionBudget {
  open: number;
  max: number;
  /** connections refused because the budget was spent */
  refused: number;
}

export class RpcListener {
  readonly server: net.Server;
  readonly connections = new Set<Connection>();

  private constructor(o: RpcListenerOptions) {
    // Paused on accept so that no byte is read before the Connection chose how to read (direct or chunks).
    this.server = net.createServer({ pauseOnConnect: true }, (socket) => {
      const budget = o.budget;
      if (budget && budget.open >= budget.max) {
        budget.refused++;
        // One line per 100 refusals: a flood must not flood the log too.
        if (budget.refused % 100 === 1) o.logger.log('warn', 'connection refused: too many connections', { open: budget.open, max: budget.max, refused: budget.refused, client: `${socket.remoteAddress}:${socket.remotePort}` });
        socket.on('error', () => {});
        socket.destroy();
        return;
      }
      const c = new Connection(socket, o.nextConnId(), o.dispatcher, o.logger, {
        maxRecordSize: o.maxRecordSize ?? DEFAULT_MAX_RECORD,
        maxInFlight: o.maxInFlight ?? 64,
        directReads: o.directReads ?? true,
        idleTimeoutMs: o.idleTimeoutMs,
        recordTimeoutMs: o.recordTimeoutMs,
        directBudget: o.directBudget,
        recordPool: o.recordPool,
      });
      this.connections.add(c);
      if (budget) budget.open++;
      c.socket.once('close', () => {
        this.connections.delete(c);
        if (budget) budget.open--;
      });
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
