// One TCP connection: record framing in, pipelined dispatch, replies written as they complete (out of order).
// An oversize record header or an unreadable stream closes this connection only, with a log line.
import net from 'node:net';
import type { Logger } from '../../core/log';
import { RecordDecoder, encodeRecord, gatherLength } from '../../xdr/record';
import { ByteBudget, DirectFramer } from './direct-framer';
import type { Dispatcher, Reply } from './dispatcher';
import type { ConnInfo } from './program';
import type { BufferPool } from '../../core/buffer-pool';
import { adoptWithOnread } from '../../core/onread-socket';

/** Replies up to this size are sent as one Buffer (one send); larger ones as a corked writev. */
const SMALL_REPLY = 16 * 1024;

/**
 * Fragments parsed without completing a record after which a connection lets the others run (one event-loop turn)
 * before it reads again. libuv reads a readable socket up to 32 times per turn; 2 MiB of 1-byte fragments is
 * 400,000 fragments of work that answers nothing, and 11 such peers delayed a NULL call by 150 ms to 1.5 s
 * (issue 15). Records of a few fragments, as libtirpc sends, never reach this.
 */
const YIELD_FRAGMENTS = 8192;

export interface ConnectionOptions {
  maxRecordSize: number;
  /** calls executing at once on this connection before the socket is paused */
  maxInFlight: number;
  /** read records straight into their own Buffers (DirectFramer); false: 'data' chunks + RecordDecoder */
  directReads: boolean;
  /** close after this long (real ms) with no byte in or out and no call executing */
  idleTimeoutMs?: number;
  /** close when a started record has not completed after this long (real ms) since the last completed one */
  recordTimeoutMs?: number;
  /** server-wide budget for full-size record Buffers being received (DirectFramer) */
  directBudget?: ByteBudget;
  /** where full-size record Buffers come from; each goes back once its call is done with it */
  recordPool?: BufferPool;
}

export class Connection {
  readonly socket: net.Socket;
  private inFlight = 0;
  private paused = false;
  readonly info: ConnInfo;
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    raw: net.Socket,
    id: number,
    private readonly dispatcher: Dispatcher,
    private readonly logger: Logger,
    private readonly opts: ConnectionOptions,
  ) {
    this.info = { id, remoteAddress: raw.remoteAddress ?? '?', remotePort: raw.remotePort ?? 0, localPort: raw.localPort ?? 0 };
    let socket: net.Socket | null = null;
    if (opts.directReads) {
      const framer = new DirectFramer({ maxRecordSize: opts.maxRecordSize, budget: opts.directBudget, pool: opts.recordPool });
      socket = adoptWithOnread(raw, () => framer.nextBuffer(), (n) => {
        this.bytesIn += n;
        const ok = this.guard(() => framer.advance(n, (rec) => this.onRecord(rec)));
        if (ok) this.armRecordTimer(framer.idle);
        if (ok && framer.heldFragments >= YIELD_FRAGMENTS) {
          framer.heldFragments = 0;
          this.yieldTurn();
        }
        return ok;
      });
      socket?.once('close', () => framer.dispose());
    }
    if (!socket) {
      const decoder = new RecordDecoder({ maxRecordSize: opts.maxRecordSize });
      socket = raw;
      // net.Socket hands out a fresh Buffer per 'data' event and never reuses it: records may alias it.
      socket.on('data', (chunk: Buffer) => {
        this.bytesIn += chunk.length;
        if (this.guard(() => decoder.push(chunk, (rec) => this.onRecord(rec)))) this.armRecordTimer(decoder.idle);
      });
    }
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('error', (e) => this.logger.log('debug', 'connection error', { conn: id, err: e.message }));
    socket.once('close', () => this.clearRecordTimer());
    if (opts.idleTimeoutMs) {
      // A peer that went away without a FIN (half-open), or connected and never spoke.
      socket.setTimeout(opts.idleTimeoutMs, () => {
        if (this.inFlight > 0) return; // the server is the slow one: not the peer's fault
        this.closeFor('idle timeout', { idleMs: opts.idleTimeoutMs });
      });
    }
    socket.resume();
  }

  private yielding = false;

  /** Stops reading until the next event-loop turn (unless the in-flight limit holds it paused longer). */
  private yieldTurn(): void {
    if (this.yielding) return;
    this.yielding = true;
    this.socket.pause();
    setImmediate(() => {
      this.yielding = false;
      if (!this.paused && !this.socket.destroyed) this.socket.resume();
    });
  }

  /**
   * The slowloris guard: while a record is incomplete, a timer runs from the last completed record (or the
   * connection's first byte); bytes trickling in do not restart it, a completed record does (onRecord).
   */
  private recordTimer: NodeJS.Timeout | null = null;

  private armRecordTimer(idle: boolean): void {
    if (idle) return this.clearRecordTimer();
    if (this.recordTimer || !this.opts.recordTimeoutMs || this.socket.destroyed) return;
    this.recordTimer = setTimeout(() => this.closeFor('record timeout: a record did not complete', { recordTimeoutMs: this.opts.recordTimeoutMs }), this.opts.recordTimeoutMs);
    this.recordTimer.unref();
  }

  private clearRecordTimer(): void {
    if (this.recordTimer) clearTimeout(this.recordTimer);
    this.recordTimer = null;
  }

  private closeFor(why: string, details: Record<string, unknown>): void {
    this.logger.log('warn', `closing connection: ${why}`, { conn: this.info.id, client: `${this.info.remoteAddress}:${this.info.remotePort}`, ...details });
    this.clearRecordTimer();
    this.socket.destroy();
  }

  /** Runs the framer; bad record marking closes this connection with a log line (never the process). */
  private guard(feed: () => void): boolean {
    try {
      feed();
      return true;
    } catch (e) {
      this.logger.log('warn', 'closing connection: bad record marking', {
        conn: this.info.id,
        client: `${this.info.remoteAddress}:${this.info.remotePort}`,
        code: (e as { code?: string }).code,
        err: (e as Error).message,
      });
      this.socket.destroy();
      return false;
    }
  }

  private onRecord(rec: Buffer): void {
    this.clearRecordTimer();
    this.inFlight++;
    if (this.inFlight >= this.opts.maxInFlight && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    // The record goes back to the pool when the call lets go of it (reply sent, deferred work done).
    const pool = this.opts.recordPool;
    this.dispatcher.handle(rec, this.info, pool && (() => pool.release(rec))).then(
      (reply) => this.done(reply),
      (e) => {
        this.logger.log('error', 'dispatcher threw', { conn: this.info.id, err: (e as Error)?.stack ?? String(e) });
        this.done(null);
      },
    );
  }

  private done(reply: Reply | null): void {
    this.inFlight--;
    if (this.paused && this.inFlight < this.opts.maxInFlight) {
      this.paused = false;
      if (!this.yielding) this.socket.resume();
    }
    if (!reply) return;
    const release = () => {
      for (const f of reply.afterSend) f();
    };
    if (this.socket.destroyed || !this.socket.writable) return release();
    const parts = encodeRecord(reply.parts);
    const total = gatherLength(parts);
    this.bytesOut += total;
    // Small replies go out as one buffer (one send); large ones (READ data) as a corked writev, payload by
    // reference: lent buffers come back through afterSend once the socket is done with them.
    if (total <= SMALL_REPLY) {
      this.socket.write(parts.length === 1 ? parts[0] : Buffer.concat(parts, total), release);
      return;
    }
    this.socket.cork();
    for (let i = 0; i < parts.length - 1; i++) this.socket.write(parts[i]);
    this.socket.write(parts[parts.length - 1], release);
    this.socket.uncork();
  }
}
