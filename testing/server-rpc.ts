// Test support for the server: a raw RPC-over-TCP client that sends exact bytes and collects every reply by XID,
// plus a fresh server on a temp export. Replies are decoded with the xdr codecs (not the server's code).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { memoryLogger } from '../core/log';
import { encodeCall } from '../xdr/message';
import { decodeReply } from '../xdr/message';
import { MOUNT3 } from '../xdr/mount';
import { NFS3 } from '../xdr/nfs3/procs';
import type { ProcCodec } from '../xdr/procedure';
import { RecordDecoder, encodeRecord } from '../xdr/record';
import { ACCEPT_STAT, decodeMessage, encodeAuthSys, OpaqueAuth } from '../xdr/rpc';
import { XdrReader } from '../xdr/reader';
import { startServer, RunningServer, ServerOptions } from '../server';

export const ROOT_CRED: OpaqueAuth = encodeAuthSys({ stamp: 1, machinename: 'testbed', uid: 0, gid: 0, gids: [] });

/** A raw client: every reply record is kept, in arrival order and by XID. */
export class RawRpc {
  readonly replies: Buffer[] = [];
  private waiters: Array<() => void> = [];
  closed = false;
  private nextXid = 0x10000;

  private constructor(readonly socket: net.Socket) {
    const dec = new RecordDecoder();
    socket.on('data', (c) => {
      dec.push(c, (r) => this.replies.push(Buffer.from(r)));
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static connect(port: number, host = '127.0.0.1', localPort?: number): Promise<RawRpc> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host, localPort, localAddress: localPort ? '127.0.0.1' : undefined });
      s.once('connect', () => resolve(new RawRpc(s)));
      s.once('error', reject);
    });
  }

  get localPort(): number {
    return this.socket.localPort!;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  xid(): number {
    return this.nextXid++;
  }

  /** The full RPC call message (no record mark) for a codec and arguments. */
  static message<A>(codec: ProcCodec<A, any>, args: A, xid: number, cred: OpaqueAuth = ROOT_CRED): Buffer {
    return Buffer.concat(encodeCall({ xid, cred }, codec, args));
  }

  /** Sends messages (each framed as one record) in one socket write. */
  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages.flatMap((m) => encodeRecord([m]))));
  }

  /** Sends raw stream bytes (no framing added). */
  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  repliesFor(xid: number): Buffer[] {
    return this.replies.filter((r) => r.length >= 4 && r.readUInt32BE(0) === xid >>> 0);
  }

  /** Resolves once `n` replies for xid arrived (rejects after timeoutMs or when the connection closes). */
  async waitFor(xid: number, n = 1, timeoutMs = 10_000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = this.repliesFor(xid);
      if (got.length >= n) return got;
      if (this.closed) throw new Error(`connection closed with ${got.length}/${n} replies for xid ${xid}`);
      if (Date.now() > deadline) throw new Error(`timed out with ${got.length}/${n} replies for xid ${xid}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Sends a prebuilt call message and returns its decoded reply_body (RFC 5531 §9), whatever its status. */
  async reply(msg: Buffer): Promise<any> {
    const xid = msg.readUInt32BE(0);
    this.send(msg);
    const [rep] = await this.waitFor(xid);
    const m = decodeMessage(new XdrReader(rep));
    if (m.type !== 'reply') throw new Error(`xid ${xid}: got a ${m.type}, not a reply`);
    return (m as { reply: unknown }).reply;
  }

  /** Calls a procedure and decodes its result (throws unless the reply is an accepted SUCCESS). */
  async call<A, R>(codec: ProcCodec<A, R>, args: A, xid = this.xid()): Promise<R> {
    this.send(RawRpc.message(codec, args, xid));
    const [rep] = await this.waitFor(xid);
    const { reply, res } = decodeReply(rep, codec);
    if (reply.stat !== 'accepted' || reply.acceptStat !== 0) throw new Error(`xid ${xid}: ${JSON.stringify(reply)}`);
    return res as R;
  }

  /** The nfsstat3 of a call, or the accept_stat's name when the call was not executed ("GARBAGE_ARGS"). */
  async status<A, R>(codec: ProcCodec<A, R>, args: A): Promise<number | string> {
    const xid = this.xid();
    this.send(RawRpc.message(codec, args, xid));
    const [rep] = await this.waitFor(xid);
    const { reply, res } = decodeReply(rep, codec);
    if (reply.stat !== 'accepted') throw new Error(`xid ${xid}: ${JSON.stringify(reply)}`);
    if (reply.acceptStat !== 0) return Object.entries(ACCEPT_STAT).find(([, v]) => v === reply.acceptStat)?.[0] ?? String(reply.acceptStat);
    return (res as { status: number }).status;
  }

  waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const poll = () => (this.closed ? resolve() : Date.now() > deadline ? reject(new Error('still open')) : setTimeout(poll, 20));
      poll();
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface TestServer {
  server: RunningServer;
  dir: string;
  logLines: string[];
  cleanup(): Promise<void>;
}

/** A server on 127.0.0.1:0 over a fresh temp export, journal in memory unless given. */
export async function testServer(o: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-server-'));
  const exportDir = path.join(dir, 'export');
  fs.mkdirSync(exportDir);
  const logger = memoryLogger();
  const server = await startServer({ exportDir, journal: ':memory:', logger, stateDir: path.join(dir, 'state'), ...o });
  return {
    server,
    dir: exportDir,
    logLines: logger.lines,
    async cleanup() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface MountedServer extends TestServer {
  /** a raw RPC connection to the server's NFS port */
  rpc: RawRpc;
  /** the export's root handle (MNT) */
  root: Buffer;
}

/**
 * What most server tests start from: testServer(o), a raw connection and the export's root handle. cleanup() also
 * closes the connection.
 */
export async function mountedServer(o: Partial<ServerOptions> = {}): Promise<MountedServer> {
  const t = await testServer(o);
  const rpc = await RawRpc.connect(t.server.address.port);
  try {
    const root = await mountRoot(rpc);
    return {
      ...t,
      rpc,
      root,
      async cleanup() {
        rpc.close();
        await t.cleanup();
      },
    };
  } catch (err) {
    rpc.close();
    await t.cleanup();
    throw err;
  }
}

/** MNT the export and return the root handle. */
export async function mountRoot(rpc: RawRpc, exportPath = '/export'): Promise<Buffer> {
  const res = await rpc.call(MOUNT3.MNT, { dirpath: exportPath });
  if (res.status !== 0) throw new Error(`MNT ${exportPath}: ${res.status}`);
  return (res as { fhandle: Buffer }).fhandle;
}

/** CREATE (UNCHECKED) a file and return its handle. */
export async function createFile(rpc: RawRpc, dir: Buffer, name: string): Promise<Buffer> {
  const res = await rpc.call(NFS3.CREATE, { where: { dir, name }, how: { mode: 0, attributes: { mode: 0o644 } } });
  if (res.status !== 0 || !res.obj) throw new Error(`CREATE ${name}: ${res.status}`);
  return res.obj;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
