// `nfs-testbed server --export DIR ...`: run the NFSv3 server (with MOUNT and PORTMAP, the DRC, the journal and
// optionally the admin API) until SIGINT/SIGTERM. Prints one line starting with `ready` naming its addresses.
import v8 from 'node:v8';
import type { Command } from 'commander';
import { untilStopSignal } from './signals';
import { ConfigError } from '../core/errors';
import { parseHostPort } from '../core/address';
import { formatSize, parseNumber, parseSize } from '../core/units';
import { DEFAULT_CACHED_PROCS, DEFAULT_DRC, DRC_MODES, DRC_PRUNES, drcConfig } from '../server/drc/config';
import { startServer } from '../server';
import { startAdminApi } from '../api/admin';
import { DEFAULT_LIMITS } from '../server/rpc/limits';
import { API_TOKEN_ENV, apiToken } from '../api/auth';
import { optionWithDefault } from './help';
import { DEFAULT_PAYLOAD_HASH, PAYLOAD_HASH_NAMES } from '../core/payload-hash';

/**
 * V8 optimises a function (TurboFan) once it has run about 66 KB of bytecode per tiering check
 * (`--interrupt-budget`, 67584 in Node 20's V8). The server's hot path runs once per call, about 1,000 times per
 * GiB of 1 MiB WRITEs, so for gigabytes it ran in the baseline tier (Sparkplug: every property access a call to an
 * inline-cache builtin), and per-call functions were still being optimised after 3 GiB (`--trace-opt`: 40, 50 and
 * 24 functions in the first three GiB of nfs-cp WRITEs; perf: the compiler threads at 10% of the server's CPU in
 * the fifth and sixth GiB). With a 1 KiB budget the per-call path is optimised within the first GiB (197
 * functions); what still compiles later runs once per connection or file. Set in the server's own process only
 * (a library caller's process keeps V8's defaults), before any call runs. Issue 20, 16 paired rounds under
 * contention: server CPU per MiB 0.95x on nfs-cp WRITE, 0.93x on READ (the compiler threads' share 10.4% -> 6.3%).
 * 4 KiB rather than 1 KiB (helper srvjit, `--trace-opt --trace-deopt`, a fresh server, 2 GiB measured after 1.5 GiB
 * of nfs-cp): no deoptimisation loop either way, but with 1 KiB the functions that run once per connection or file
 * (`Socket`, `Duplex`, the stream states, `Hmac`, LOOKUP's `walk`, CREATE, `open`) reach TurboFan one after another
 * for GiBs (42 compiles, 270 ms on WRITE; 30, 199 ms on READ), with 4 KiB 17 compiles, 129 ms on WRITE and none
 * after the fifth 256 MiB, the per-call path still optimised within the warm-up. Paired rounds under contention:
 * the compiler and other threads' CPU per MiB 0.74x on WRITE (30 rounds), 0.70x on READ (20); the whole server
 * 1.00x on WRITE, 0.91x on READ. 512 B and 2 KiB measured worse (WRITE 1.00x and 1.12x, READ 1.15x and 1.03x).
 */
const SERVER_INTERRUPT_BUDGET = 4096;

interface ServerCliOptions {
  export: string;
  exportPath: string;
  host: string;
  port: string;
  mountPort?: string;
  portmapPort?: string;
  drc: string;
  drcReuse?: boolean;
  drcHiwat: string;
  drcScope: string;
  drcInprogress: string;
  drcExpiry: string;
  drcSize?: string;
  drcPrune?: string;
  drcProcs?: string;
  drcIgnorePort?: boolean;
  journal?: string;
  journalHash?: string;
  api?: string;
  timeScale: string;
  stateDir?: string;
  maxRecordSize: string;
  maxConnections: string;
  maxInFlight: string;
  idleTimeout: string;
  recordTimeout: string;
  maxPendingBytes: string;
  rootSquash?: boolean;
  allSquash?: boolean;
  anonUid: string;
  anonGid: string;
  writeBehind: string;
  fdIdle: string;
  apiToken?: string;
}

/** A uid or gid: 0 .. 2^32-2 ((uid_t)-1 is no id). */
function parseId(text: string, name: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xfffffffe) throw new ConfigError('BAD_ID', `${name}: expected a uid/gid 0..4294967294, got "${text}"`);
  return Number(text);
}

function port(text: string, name: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new ConfigError('BAD_PORT', `${name}: expected 0..65535, got "${text}"`);
  return Number(text);
}

export function register(program: Command): void {
  program
    .command('server')
    .description('serve a directory over NFSv3/TCP with MOUNT, PORTMAP, a duplicate request cache and a write journal')
    .requiredOption('--export <dir>', 'directory to export')
    .option('--export-path <path>', 'path clients mount', '/export')
    .option('--host <addr>', 'listen address', '127.0.0.1')
    .option('--port <n>', 'NFS port; 0 = any free port', '0')
    .addOption(optionWithDefault('--mount-port <n>', 'separate MOUNT port', 'the NFS port'))
    .addOption(optionWithDefault('--portmap-port <n>', 'separate PORTMAP port', 'the NFS port'))
    .option('--drc <mode>', `duplicate request cache: ${DRC_MODES.join(' | ')} (xid: nfsd until 3.9; checksum-256: nfsd since 3.10)`, DEFAULT_DRC.mode)
    .addOption(optionWithDefault('--drc-prune <when>', `when an entry past its expiry stops answering: ${DRC_PRUNES.join(' | ')} (lookup: gone before the lookup, nfsd until 4.19; bucket: answers until a miss in its hash bucket prunes it, nfsd since 4.20)`, "the mode's era: lookup for xid, bucket for the checksum modes"))
    .option('--drc-scope <scope>', 'client (nfsd) | connection (ganesha: one cache per connection)', 'client')
    .option('--drc-ignore-port', 'client scope: key on the client address only, not address:port')
    .option('--drc-reuse', 'connection scope: a reconnect from the same address:port takes over the closed connection\'s cache (ganesha)')
    .option('--drc-inprogress <how>', 'duplicate of a request still executing: drop (nfsd) | wait (ganesha)', 'drop')
    .option('--drc-expiry <duration>', 'entry lifetime, modelled time (obeys --time-scale); "none" for no time expiry (ganesha)', '120s')
    .addOption(optionWithDefault('--drc-size <n>', 'capacity in entries per cache (LRU beyond it; with --drc-prune bucket also the hash size, size/64 buckets)', "the mode's era: 1024 for xid (2.6.18's CACHESIZE), 32768 for the checksum modes"))
    .option('--drc-hiwat <n>', 'retire the oldest entries above this many when a request completes and no hit was recent (ganesha: 64); 0 = off', '0')
    .addOption(optionWithDefault('--drc-procs <list>', 'comma-separated NFSv3 procedures to cache (nfsd caches the non-idempotent ones)', DEFAULT_CACHED_PROCS.join(',')))
    .option('--journal <file>', 'write journal (SQLite, WAL)')
    .addOption(optionWithDefault('--journal-hash <hash>', `how the journal identifies payloads: ${PAYLOAD_HASH_NAMES.join(' | ')} (a journal keeps the hash it was created with)`, `an existing journal's own, ${DEFAULT_PAYLOAD_HASH} for a new one`))
    .option('--api <host:port>', 'serve the admin API (HTTP) there')
    .option('--time-scale <x>', 'multiplies every modelled duration', '1')
    .addOption(optionWithDefault('--state-dir <dir>', 'where the file-handle secret lives; handles stay valid across restarts and reboots while it does (XDG_STATE_HOME unset: ~/.local/state)', '$XDG_STATE_HOME/nfs-testbed/<export hash>'))
    .option('--max-record-size <size>', 'largest RPC record accepted (8KiB..2GiB); a larger header closes the connection. FSINFO advertises one page less (at most 1MiB) as rtmax/wtmax/dtpref', formatSize(DEFAULT_LIMITS.maxRecordSize))
    .option('--max-connections <n>', 'connections open at once; more are closed on accept', String(DEFAULT_LIMITS.maxConnections))
    .option('--max-in-flight <n>', 'calls executing at once per connection before reading pauses', String(DEFAULT_LIMITS.maxInFlight))
    .option('--idle-timeout <duration>', 'close a connection silent this long with no call executing (obeys --time-scale)', DEFAULT_LIMITS.idleTimeout)
    .option('--max-pending-bytes <size>', 'memory all connections together may hold for records not yet complete (announced sizes and fragments received)', DEFAULT_LIMITS.maxPendingBytes)
    .option('--record-timeout <duration>', 'close a connection whose started record does not complete in this long (slowloris; obeys --time-scale)', DEFAULT_LIMITS.recordTimeout)
    .option('--fd-idle <duration>', 'close a cached file descriptor unused this long, as nfsd does (obeys --time-scale)', '2s')
    .option('--write-behind <size>', 'UNSTABLE WRITE bytes that may be answered before they reach the file (0 = write each before its reply)', '64MiB')
    .option('--root-squash', 'map AUTH_SYS uid 0 and gid 0 to the anonymous ids, as exports(5) root_squash (nfsd_setuser)')
    .option('--all-squash', 'map every AUTH_SYS uid and gid to the anonymous ids, as exports(5) all_squash')
    .option('--anon-uid <uid>', 'the anonymous uid (squashed callers, AUTH_NONE), as exports(5) anonuid', '65534')
    .option('--anon-gid <gid>', 'the anonymous gid, as exports(5) anongid', '65534')
    .option('--api-token <token>', 'bearer token the admin API requires (env NFS_TESTBED_API_TOKEN); mandatory when --api is not loopback')
    .action(async (o: ServerCliOptions) => {
      v8.setFlagsFromString(`--interrupt-budget=${SERVER_INTERRUPT_BUDGET}`);
      const drc = drcConfig({
        mode: o.drc,
        scope: o.drcScope,
        reuse: !!o.drcReuse,
        hiwat: o.drcHiwat,
        inProgress: o.drcInprogress,
        expiryMs: o.drcExpiry,
        ...(o.drcSize !== undefined ? { size: o.drcSize } : {}),
        ...(o.drcPrune !== undefined ? { prune: o.drcPrune } : {}),
        ...(o.drcProcs ? { procs: o.drcProcs } : {}),
        ...(o.drcIgnorePort ? { keyPort: false } : {}),
      });
      const api = o.api ? parseHostPort(o.api, '--api') : undefined;
      const token = o.apiToken ?? process.env[API_TOKEN_ENV];
      if (api) apiToken(api.host, token, 'admin API'); // refuse before the NFS server starts
      const server = await startServer({
        exportDir: o.export,
        exportPath: o.exportPath,
        host: o.host,
        port: port(o.port, '--port'),
        mountPort: o.mountPort === undefined ? undefined : port(o.mountPort, '--mount-port'),
        portmapPort: o.portmapPort === undefined ? undefined : port(o.portmapPort, '--portmap-port'),
        drc: drc as unknown as Record<string, unknown>,
        journal: o.journal,
        journalHash: o.journalHash,
        timeScale: parseNumber(o.timeScale, '--time-scale', Number.MIN_VALUE),
        stateDir: o.stateDir,
        limits: { maxRecordSize: o.maxRecordSize, maxConnections: o.maxConnections, maxInFlight: o.maxInFlight, idleTimeout: o.idleTimeout, recordTimeout: o.recordTimeout, maxPendingBytes: o.maxPendingBytes },
        rootSquash: o.rootSquash,
        allSquash: o.allSquash,
        anonUid: parseId(o.anonUid, '--anon-uid'),
        anonGid: parseId(o.anonGid, '--anon-gid'),
        writeBehind: parseSize(o.writeBehind, '--write-behind'),
        fdIdle: o.fdIdle,
      });
      let hapi: Awaited<ReturnType<typeof startAdminApi>> | undefined;
      try {
        if (api) hapi = await startAdminApi(server, api.host, api.port, { token });
      } catch (e) {
        await server.close();
        throw e;
      }
      const h = server.address.host;
      const stopped = untilStopSignal();
      process.stdout.write(
        `ready nfs=${h}:${server.address.port} mount=${h}:${server.mountPort} portmap=${h}:${server.portmapPort}` +
          `${hapi ? ` api=${hapi.info.uri}` : ''} export=${server.exportPath} url=${server.url()}\n`,
      );
      await stopped;
      await hapi?.stop();
      await server.close();
    });
}
