// The testbed's NFSv3 server, programmatic entry point: startServer() exports a directory over NFSv3/TCP with
// MOUNT and PORTMAP (by default all on one port), a duplicate request cache and a write journal.
import crypto from 'node:crypto';
import diagnostics_channel from 'node:diagnostics_channel';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BufferPool } from '../core/buffer-pool';
import { CHANNELS } from '../core/channels';
import { ConfigError } from '../core/errors';
import { Logger, createLogger } from '../core/log';
import { TimeScale } from '../core/units';
import { NFS_PROGRAM, NFSPROC3 } from '../xdr/nfs3/constants';
import type { WriteArgs } from '../xdr/nfs3/types';
import { DrcConfig, DuplicateRequestCache, DrcCounters, type DrcPrune, drcConfig } from './drc';
import { FileHandles } from './handles';
import { Journal } from './journal';
import { JournalRecorder } from './journal-recorder';
import { reachedFile } from '../core/journal-schema';
import { PayloadHasher } from './journal-hasher';
import { DEFAULT_PAYLOAD_HASH, PAYLOAD_HASH_NAMES, isPayloadHash } from '../core/payload-hash';
import { mountProgram } from './mount';
import { Nfs3Export } from './nfs3/export';
import { DEFAULT_SQUASH } from './nfs3/identity';
import { maxPayload } from './nfs3/limits';
import { nfs3Program } from './nfs3';
import { WriteBehind } from './nfs3/write-behind';
import { portmapProgram } from './portmap';
import { CallEvent, Dispatcher } from './rpc/dispatcher';
import { dispatchTable } from './rpc/program';
import { ByteBudget } from './rpc/direct-framer';
import { LimitsInput, TransportLimits, transportLimits } from './rpc/limits';
import { ConnectionBudget, RpcListener } from './rpc/server';

export interface ServerOptions {
  /** local directory to export (must exist) */
  exportDir: string;
  /** path clients mount (default /export) */
  exportPath?: string;
  /** listen address (default 127.0.0.1) */
  host?: string;
  /** NFS port (default 0 = any free port) */
  port?: number;
  /** separate MOUNT port; default: MOUNT is served on the NFS port */
  mountPort?: number;
  /** separate PORTMAP port (e.g. 111); default: PORTMAP is served on the NFS port */
  portmapPort?: number;
  /** DRC settings (server/drc/config.ts DEFAULT_DRC: checksum-256, client scope with port, drop, 120 s, the mode's era's prune and size) */
  drc?: Partial<Record<keyof DrcConfig | 'expiry', unknown>>;
  /** journal database file, ':memory:' for an in-process one; omitted = no journal */
  journal?: string;
  /** how the journal identifies payloads (core/payload-hash.ts); default: an existing journal's own, xxh3 for a new one */
  journalHash?: string;
  /** multiplies every modelled duration (DRC expiry) */
  timeScale?: number;
  /** the real-ms clock the DRC ages its entries by (default performance.now); tests move it instead of sleeping */
  clock?: () => number;
  logger?: Logger;
  /** where the handle secret lives (default: defaultStateDir(), $XDG_STATE_HOME/nfs-testbed/<hash of the export's real path>) */
  stateDir?: string;
  /** receive records straight into their own Buffers (default true); false uses 'data' chunks + RecordDecoder */
  directReads?: boolean;
  /**
   * Transport limits (server/rpc/limits.ts): max record size, connections, calls in flight per connection, idle
   * and record timeouts (modelled durations, scaled by timeScale). Defaults: 4 MiB + 64 KiB, 1024, 64, 6m, 2m.
   */
  limits?: LimitsInput;
  /**
   * Bytes of UNSTABLE WRITEs that may be held behind their replies (server/nfs3/write-behind.ts); 0 writes every
   * UNSTABLE WRITE before its reply. Default 64 MiB.
   */
  writeBehind?: number;
  /**
   * A cached file descriptor unused this long is closed (modelled duration, scaled by timeScale; default 2s, as
   * Linux nfsd's file cache). Until then a file removed outside NFS still holds its space.
   */
  fdIdle?: string | number;
  /**
   * exports(5) identity mapping, as nfsd_setuser (server/nfs3/identity.ts): root_squash maps uid/gid 0 to the
   * anonymous ids, all_squash maps every id; anonUid/anonGid default to 65534. Default: neither squash.
   */
  rootSquash?: boolean;
  allSquash?: boolean;
  anonUid?: number;
  anonGid?: number;
}

export interface ServerStats {
  /** calls per program.procedure, e.g. "NFS.WRITE" */
  ops: Record<string, number>;
  /** DRC outcomes seen, e.g. { executed: 10, replayed: 1 } */
  outcomes: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
  writeBytes: number;
  readBytes: number;
  /** open now, accepted in total, refused over maxConnections, the limit */
  connections: { open: number; total: number; refused: number; max: number; /** bytes reserved for records being received */ pendingBytes: number };
  drc: DrcCounters & { mode: string; prune: DrcPrune };
  journalRows: number;
  /** record Buffers: slabs ever allocated (stops growing under a steady load), held by calls now, idle bytes */
  recordPool: { slabs: number; inUse: number; idleBytes: number };
  /** UNSTABLE WRITEs executed behind their replies: held now, done, failed (each failure changed the verifier) */
  writeBehind: { limit: number; pendingBytes: number; completed: number; failed: number; batches: number };
  /** the current write verifier (hex) */
  verifier: string;
  uptimeMs: number;
}

export interface RunningServer {
  address: { host: string; port: number };
  mountPort: number;
  portmapPort: number;
  exportDir: string;
  exportPath: string;
  /** libnfs URL of NAME inside the export (nfs://host/export/NAME?nfsport=P&mountport=P&version=3) */
  url(name?: string): string;
  /** RFC 1813 §3.3.7 write verifier of this instance (8 bytes) */
  verifier: Buffer;
  drc: DuplicateRequestCache;
  journal?: Journal;
  handles: FileHandles;
  /** the transport limits in force (real milliseconds) */
  limits: TransportLimits;
  /** Resolves once every WRITE answered so far is in the file (write-behind drained up to now). */
  drainWrites(): Promise<void>;
  /** Resolves once every call seen so far has taken effect and is in the journal database (hashes done, batch written). */
  flushJournal(): Promise<void>;
  stats(): ServerStats;
  close(): Promise<void>;
}

const opChannel = diagnostics_channel.channel(CHANNELS.serverOp);
const WRITE = NFSPROC3.WRITE;
const DEFAULT_WRITE_BEHIND = 64 * 1024 * 1024;

/**
 * Where an export's handle secret lives unless --state-dir says otherwise. Handles must outlive a restart and a
 * reboot, as nfsd's do (it builds them from the file system: fsid, inode, generation), so the secret is state,
 * not a temporary: $XDG_STATE_HOME/nfs-testbed/<hash of the export's real path>, ~/.local/state when
 * XDG_STATE_HOME is unset or not absolute (XDG Base Directory spec). /tmp is emptied at boot on many systems.
 */
export function defaultStateDir(realExport: string): string {
  const xdg = process.env.XDG_STATE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'nfs-testbed', crypto.createHash('sha256').update(realExport).digest('hex').slice(0, 16));
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const logger = o.logger ?? createLogger({ name: 'server' });
  let root: string;
  try {
    root = fs.realpathSync(o.exportDir);
    if (!fs.statSync(root).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new ConfigError('BAD_EXPORT', `export directory ${o.exportDir} is missing or not a directory (${(e as Error).message})`);
  }
  const exportPath = o.exportPath ?? '/export';
  if (!exportPath.startsWith('/') || exportPath.length > 1 && exportPath.endsWith('/')) throw new ConfigError('BAD_EXPORT_PATH', `export path must be absolute without a trailing slash: ${exportPath}`);
  const host = o.host ?? '127.0.0.1';
  const scale = new TimeScale(o.timeScale ?? 1);
  const limits = transportLimits(o.limits, scale);
  const budget: ConnectionBudget = { open: 0, max: limits.maxConnections, refused: 0 };
  const directBudget = new ByteBudget(limits.maxPendingBytes);
  const handles = await FileHandles.open(root, o.stateDir ?? defaultStateDir(root));
  const x = new Nfs3Export(handles, logger, 256, scale.parse(o.fdIdle ?? '2s', 'fd idle'));
  x.writeBehind = new WriteBehind(o.writeBehind ?? DEFAULT_WRITE_BEHIND);
  x.maxPayload = maxPayload(limits.maxRecordSize);
  x.squash = { rootSquash: o.rootSquash ?? false, allSquash: o.allSquash ?? false, anonUid: o.anonUid ?? DEFAULT_SQUASH.anonUid, anonGid: o.anonGid ?? DEFAULT_SQUASH.anonGid };
  // Records of 16 KiB and more are read into pooled SharedArrayBuffers: no GC per record, and the journal's
  // hasher reads them in place. Idle slabs kept: what write-behind may hold plus 16 MiB of calls in flight (at
  // least 64 MiB), so a burst that filled write-behind does not leave slabs to the GC to be allocated (zeroed,
  // page-faulted) again by the next one.
  const maxIdleBytes = Math.max(64 * 1024 * 1024, x.writeBehind.limitBytes + 16 * 1024 * 1024);
  const recordPool = new BufferPool({ granule: 64 * 1024, maxIdleBytes, shared: true });
  const drc = new DuplicateRequestCache(drcConfig(o.drc), scale, o.clock);
  const journalHash = o.journalHash;
  if (journalHash !== undefined && !isPayloadHash(journalHash)) throw new ConfigError('BAD_JOURNAL_HASH', `--journal-hash ${journalHash}: one of ${PAYLOAD_HASH_NAMES.join(', ')}`);
  // Without --journal-hash an existing journal goes on with its own hash (server/journal.ts).
  const journal = o.journal ? new Journal(o.journal, logger, undefined, undefined, journalHash) : undefined;
  const hasher = new PayloadHasher(journal?.payloadHash ?? journalHash ?? DEFAULT_PAYLOAD_HASH);
  const recorder = journal && new JournalRecorder(journal, hasher, drc, handles, x.writeVerifier.toString('hex'));
  const t0 = Date.now();

  const ops: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  let writeBytes = 0;
  let readBytes = 0;
  let connTotal = 0;
  let closedBytesIn = 0;
  let closedBytesOut = 0;

  const onCall = (ev: CallEvent) => {
    const { ctx, entry } = ev;
    const name = entry.codec.name;
    const prog = ctx.call.prog === NFS_PROGRAM ? 'NFS' : table.get(ctx.call.prog)?.name ?? String(ctx.call.prog);
    ops[`${prog}.${name}`] = (ops[`${prog}.${name}`] ?? 0) + 1;
    outcomes[ev.outcome] = (outcomes[ev.outcome] ?? 0) + 1;
    if (ctx.call.prog !== NFS_PROGRAM) return;
    const isWrite = ctx.call.proc === WRITE;
    if (isWrite && reachedFile(ev)) writeBytes += Math.min((ev.args as WriteArgs).count, x.maxPayload);
    if (ctx.call.proc === NFSPROC3.READ && ev.status === 0) readBytes += (ev.res as { count: number }).count;
    if (ev.outcome !== 'executed' && ev.outcome !== 'not-cached') {
      logger.log('info', `drc ${ev.outcome}`, { proc: name, xid: ctx.call.xid >>> 0, conn: ctx.conn.id, client: `${ctx.conn.remoteAddress}:${ctx.conn.remotePort}` });
    }
    if (opChannel.hasSubscribers) opChannel.publish({ event: ev.outcome, proc: name, xid: ctx.call.xid >>> 0, conn: ctx.conn.id, status: ev.status, t: performance.now() });
    recorder?.record(ev);
  };

  const ports = { nfs: 0, mount: 0, portmap: 0 };
  // Every listener answers every program: a client that finds MOUNT through PORTMAP still gets there.
  const table = dispatchTable([nfs3Program(x), mountProgram(handles, exportPath), portmapProgram(() => ports)]);
  const dispatcher = new Dispatcher({ table, drc, logger, onCall });
  let nextConn = 0;
  const nextConnId = () => ++nextConn;
  const listen = (port: number) =>
    RpcListener.listen({
      host,
      port,
      dispatcher,
      logger,
      nextConnId,
      directReads: o.directReads,
      maxRecordSize: limits.maxRecordSize,
      maxInFlight: limits.maxInFlight,
      idleTimeoutMs: limits.idleTimeoutMs,
      recordTimeoutMs: limits.recordTimeoutMs,
      directBudget,
      recordPool,
      budget,
      onConnection: (c) => {
        connTotal++;
        c.socket.once('close', () => {
          drc.connectionClosed({ connId: c.info.id, clientAddr: c.info.remoteAddress, clientPort: c.info.remotePort });
          closedBytesIn += c.bytesIn;
          closedBytesOut += c.bytesOut;
        });
      },
    });

  const listeners: RpcListener[] = [];
  const closeListeners = () => Promise.all(listeners.map((l) => l.close()));
  try {
    const nfsL = await listen(o.port ?? 0);
    listeners.push(nfsL);
    const mountL = o.mountPort !== undefined ? await listen(o.mountPort) : nfsL;
    if (mountL !== nfsL) listeners.push(mountL);
    const pmapL = o.portmapPort !== undefined ? await listen(o.portmapPort) : nfsL;
    if (pmapL !== nfsL && pmapL !== mountL) listeners.push(pmapL);
    Object.assign(ports, { nfs: nfsL.port, mount: mountL.port, portmap: pmapL.port });

    logger.log('info', 'server ready', { export: root, exportPath, nfs: `${host}:${ports.nfs}`, mount: `${host}:${ports.mount}`, portmap: `${host}:${ports.portmap}`, drc: drc.config.mode, journal: o.journal ?? 'off' });

    const stats = (): ServerStats => {
      let open = 0;
      let bytesIn = closedBytesIn;
      let bytesOut = closedBytesOut;
      for (const l of listeners)
        for (const c of l.connections) {
          open++;
          bytesIn += c.bytesIn;
          bytesOut += c.bytesOut;
        }
      return {
        ops: { ...ops },
        outcomes: { ...outcomes },
        bytesIn,
        bytesOut,
        writeBytes,
        readBytes,
        connections: { open, total: connTotal, refused: budget.refused, max: limits.maxConnections, pendingBytes: directBudget.used },
        drc: { ...drc.counters(), mode: drc.config.mode, prune: drc.config.prune },
        journalRows: journal ? journal.rowsWritten : 0,
        recordPool: { slabs: recordPool.allocations, inUse: recordPool.inUse, idleBytes: recordPool.idleBytes },
        writeBehind: { limit: x.writeBehind.limitBytes, pendingBytes: x.writeBehind.pendingBytes, completed: x.writeBehind.completed, failed: x.writeBehind.failed, batches: x.writeBehind.batches },
        verifier: x.writeVerifier.toString('hex'),
        uptimeMs: Date.now() - t0,
      };
    };
    let closing: Promise<void> | null = null;
    return {
      address: { host, port: ports.nfs },
      mountPort: ports.mount,
      portmapPort: ports.portmap,
      exportDir: root,
      exportPath,
      url: (name = '') => `nfs://${host}${exportPath}${name ? '/' + name : ''}?nfsport=${ports.nfs}&mountport=${ports.mount}&version=3`,
      verifier: x.writeVerifier,
      drc,
      journal,
      handles,
      limits,
      async drainWrites() {
        await x.writeBehind.barrier();
      },
      async flushJournal() {
        await x.writeBehind.barrier();
        await recorder?.drained();
        journal?.flush();
      },
      stats,
      close() {
        closing ??= (async () => {
          await closeListeners();
          await x.writeBehind.barrier();
          await x.closeAll();
          await recorder?.drained();
          await hasher.close();
          logger.log('info', 'server stopped', { drc: drc.counters(), journalRows: journal?.rowsWritten ?? 0 });
          journal?.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    await closeListeners();
    journal?.close();
    throw e;
  }
}
