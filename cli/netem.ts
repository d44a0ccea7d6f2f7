// `nfs-testbed netem --listen HOST:PORT --upstream HOST:PORT [faults]`: run the netem proxy (and optionally its
// control API) until SIGINT/SIGTERM. Prints one line starting with `ready` naming its addresses.
import type { Command } from 'commander';
import { ConfigError } from '../core/errors';
import { parseHostPort } from '../core/address';
import { formatSize, parseDuration, parseNumber } from '../core/units';
import { createProxy, applySchedule, loadSchedule, NetemRegistry, resolveProc, sidecarPath, CAPTURE_IO, CAPTURE_IO_DEFAULT, type CaptureIo, type FaultSpec, type Schedule } from '../netem';
import { createNetemApiServer } from '../api/netem';
import { API_TOKEN_ENV, apiToken } from '../api/auth';
import { optionWithDefault } from './help';
import { createLogger } from '../core/log';
import { checkUpstream } from '../netem/upstream-check';
import { untilStopSignal } from './signals';

interface NetemCliOptions {
  listen: string;
  upstream: string;
  stall?: string;
  every?: string;
  unit: string;
  interval?: string;
  at?: string;
  onCall?: string;
  resume: string;
  phase: string;
  fault: string[];
  schedule?: string;
  capture?: string;
  eventLog?: string;
  captureWith: string;
  captureIo: string;
  api?: string;
  apiToken?: string;
  timeScale?: string;
  seed?: string;
  rpc: boolean;
  name: string;
}

/** "WRITE" or "WRITE#3" or "7#1|2" -> call match; `name` is what the error calls the value. */
function callSpec(text: string, name: string): { proc: string | number; nth?: number | number[] } {
  const [proc, nth] = text.split('#');
  const nths = nth === undefined ? undefined : nth.split('|').map((n) => parseNumber(n, `${name} nth`, 1));
  return { proc: /^\d+$/.test(proc) ? Number(proc) : proc, ...(nths ? { nth: nths.length === 1 ? nths[0] : nths } : {}) };
}

/**
 * A fault on the command line: JSON (`{"kind":"latency","delay":"5ms"}`) or compact
 * `kind:key=value,key=value` with lists as `a|b` and calls as `call=WRITE#2`,
 * e.g. `latency:delay=5ms,jitter=1ms,direction=downstream` or `drop-reply:call=WRITE#2`.
 */
export function parseFaultArg(text: string): FaultSpec {
  const t = text.trim();
  if (t.startsWith('{')) {
    try {
      return JSON.parse(t) as FaultSpec;
    } catch (e) {
      throw new ConfigError('NETEM_FAULT', `--fault: bad JSON: ${(e as Error).message}`);
    }
  }
  const m = /^([a-z-]+)(?::(.*))?$/.exec(t);
  if (!m) throw new ConfigError('NETEM_FAULT', `--fault: expected KIND:key=value,... or JSON, got "${text}"`);
  const spec: Record<string, unknown> = { kind: m[1] };
  for (const kv of (m[2] ?? '').split(',').filter(Boolean)) {
    const i = kv.indexOf('=');
    if (i < 1) throw new ConfigError('NETEM_FAULT', `--fault: expected key=value, got "${kv}"`);
    const k = kv.slice(0, i);
    const v = kv.slice(i + 1);
    const scalar = (s: string): string | number | boolean => (/^-?\d+(\.\d+)?$/.test(s) ? Number(s) : s === 'true' ? true : s === 'false' ? false : s);
    if (k === 'call') spec.call = callSpec(v, `--fault ${m[1]}: call`);
    else if (k === 'xids') spec.xids = v.split('|').map((x) => Number(x));
    else spec[k] = v.includes('|') ? v.split('|').map(scalar) : scalar(v);
  }
  return spec as unknown as FaultSpec;
}

/** The headline flags (--stall ... --every ...) as one stall fault spec. */
function stallFromFlags(o: NetemCliOptions): FaultSpec | undefined {
  if (!o.stall) {
    if (o.every || o.interval || o.at || o.onCall) throw new ConfigError('NETEM_STALL', '--every/--interval/--at/--on-call need --stall DURATION');
    return undefined;
  }
  // Checked here so that an error names the flag the user typed, not the fault key it becomes (--stall: duration).
  parseDuration(o.stall, '--stall');
  if (o.interval) parseDuration(o.interval, '--interval');
  if (o.at) parseDuration(o.at, '--at');
  if (!['before', 'after'].includes(o.phase)) throw new ConfigError('NETEM_PHASE', `--phase: before or after, got "${o.phase}"`);
  const call = o.onCall ? callSpec(o.onCall, '--on-call') : undefined;
  if (call && !resolveProc(call.proc)) throw new ConfigError('NETEM_PROC', `--on-call: unknown procedure "${call.proc}"`);
  return {
    kind: 'stall',
    id: 'stall',
    duration: o.stall,
    resume: o.resume as 'together' | 'backoff',
    phase: o.phase as 'before' | 'after',
    ...(o.every ? { every: parseNumber(o.every, '--every', 1), unit: o.unit as 'packets' } : {}),
    ...(o.interval ? { interval: o.interval } : {}),
    ...(o.at ? { at: o.at } : {}),
    ...(call ? { call } : {}),
  };
}

export function register(program: Command): void {
  program
    .command('netem')
    .description('userspace network emulator between an NFS client and server: stalls, faults, RPC awareness, pcap of both legs')
    .requiredOption('--upstream <host:port>', 'server to relay to')
    .option('--listen <host:port>', 'address clients connect to', '127.0.0.1:0')
    .option('--stall <duration>', "stall (freeze) for this long, modelled time (the seed's 65s)")
    .option('--every <n>', 'stall every N units (see --unit)')
    .option('--unit <unit>', 'what --every counts: packets (1448-byte MSS units) | records | chunks | bytes', 'packets')
    .option('--interval <duration>', 'stall every T')
    .option('--at <duration>', 'stall once at T after start')
    .option('--on-call <proc[#n]>', 'stall on the Nth call of a procedure, e.g. WRITE#3')
    .option('--resume <policy>', 'together (held packets reinjected at the end) | backoff (dropped: each direction at its sender\'s next TCP RTO expiry)', 'together')
    .option('--phase <phase>', 'with --on-call: stall before or after forwarding that call', 'after')
    .option('--fault <spec>', 'add a fault: KIND:key=value,... or JSON (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--schedule <file>', 'JSON schedule: {seed, timeScale, faults, timeline}')
    .option('--capture <file.pcap>', 'write a synthesized pcap of both legs (and FILE.events.jsonl); FILE.pcapng: annotated for Wireshark at close')
    .option('--capture-with <tool>', 'synth (the proxy writes both legs) | tcpdump (real loopback capture; root)', 'synth')
    .option('--capture-io <mode>', 'how the synth capture is written: auto (the page cache for the first 64 MiB, then O_DIRECT where the file system takes it) | buffered (page cache throughout) | direct (O_DIRECT throughout)', CAPTURE_IO_DEFAULT)
    .option('--event-log <file>', 'also write fault events as JSON lines here')
    .option('--api <host:port>', 'serve the control API here (loopback; any other address needs --api-token)')
    .option('--api-token <token>', `bearer token the control API requires (env ${API_TOKEN_ENV}); mandatory when --api is not loopback`)
    .addOption(optionWithDefault('--time-scale <x>', 'multiply every modelled duration by x', "1, or the schedule's"))
    .addOption(optionWithDefault('--seed <s>', 'seed of every random decision', "1, or the schedule's"))
    .option('--no-rpc', 'do not parse RPC record marking (plain TCP relay)')
    .option('--name <name>', 'proxy name in events and the API', 'netem')
    .action(async (o: NetemCliOptions) => {
      const listen = parseHostPort(o.listen, '--listen');
      const upstream = parseHostPort(o.upstream, '--upstream');
      if (!['together', 'backoff'].includes(o.resume)) throw new ConfigError('NETEM_RESUME', `--resume: together or backoff, got "${o.resume}"`);
      if (!['packets', 'records', 'chunks', 'bytes'].includes(o.unit)) throw new ConfigError('NETEM_UNIT', `--unit: packets, records, chunks or bytes, got "${o.unit}"`);
      if (!['synth', 'tcpdump'].includes(o.captureWith)) throw new ConfigError('NETEM_CAPTURE', `--capture-with: synth or tcpdump, got "${o.captureWith}"`);
      if (!(o.captureIo in CAPTURE_IO)) throw new ConfigError('NETEM_CAPTURE', `--capture-io: ${Object.keys(CAPTURE_IO).join(', ')}, got "${o.captureIo}"`);
      const api = o.api ? parseHostPort(o.api, '--api') : undefined;
      const token = o.apiToken ?? process.env[API_TOKEN_ENV];
      if (api) apiToken(api.host, token, 'netem API'); // refuse before the proxy binds anything (exit 2)
      const schedule: Schedule | undefined = o.schedule ? loadSchedule(o.schedule) : undefined;
      const faults = [stallFromFlags(o), ...o.fault.map(parseFaultArg)].filter((f): f is FaultSpec => f !== undefined);
      const timeScale = o.timeScale !== undefined ? parseNumber(o.timeScale, '--time-scale', Number.MIN_VALUE) : schedule?.timeScale ?? 1;
      const seed = o.seed ?? schedule?.seed ?? 1;
      const proxy = await createProxy({ name: o.name, listen, upstream, timeScale, seed, faults, capture: o.capture, captureWith: o.captureWith as 'synth' | 'tcpdump', captureIo: o.captureIo as CaptureIo, eventLog: o.eventLog, rpc: o.rpc });
      const logger = createLogger({ name: 'netem', level: 'warn' });
      const io = proxy.captureIo;
      if (io && io.asked === 'auto' && io.io === 'buffered' && io.directAfter === undefined) logger.log('warn', `capture ${o.capture}: written through the page cache, not O_DIRECT: ${io.reason}`);
      proxy.onEvent((e) => {
        if (e.event === 'upstream-connect-failed') logger.log('warn', 'cannot connect to the upstream; the client connection is reset', { conn: e.conn, upstream: e.upstream, code: e.code });
      });
      // A warning, not a failure: the upstream may start after the proxy (netem/upstream-check.ts).
      const check = await checkUpstream(upstream, { rpc: o.rpc, timeoutMs: 2000 });
      if (!check.ok) logger.log('warn', `upstream ${upstream.host}:${upstream.port}: ${check.what}; relaying to it anyway`, { check: check.code });
      if (schedule) applySchedule(proxy, schedule);
      let apiUrl = '';
      const registry = new NetemRegistry({ timeScale, seed });
      registry.adopt(proxy);
      let hapi: Awaited<ReturnType<typeof createNetemApiServer>> | undefined;
      try {
        hapi = api ? await createNetemApiServer(registry, { ...api, token }) : undefined;
        await hapi?.start();
      } catch (e) {
        await registry.closeAll(); // e.g. the API port is taken: do not leave the proxy listening
        throw e;
      }
      if (hapi) {
        apiUrl = ` api=http://${hapi.info.host}:${hapi.info.port}`;
      }
      const a = proxy.address;
      const stopped = untilStopSignal();
      process.stdout.write(
        `ready netem listen=${a.host}:${a.port} upstream=${upstream.host}:${upstream.port}${apiUrl}` +
          ` time-scale=${timeScale} seed=${seed} faults=${proxy.listFaults().map((f) => f.id).join('|') || 'none'}` +
          (o.capture ? ` capture=${o.capture} events=${sidecarPath(o.capture)}` : '') +
          (io ? ` capture-io=${io.io}${io.directAfter !== undefined ? `,direct-after=${formatSize(io.directAfter)}` : ''}` : '') +
          '\n',
      );
      if (o.capture) process.stdout.write(`hint: tshark -r ${o.capture} -d tcp.port==${a.port},rpc -d tcp.port==${upstream.port},rpc\n`);
      await stopped;
      await hapi?.stop();
      const m = proxy.metrics();
      await registry.closeAll();
      process.stderr.write(
        `netem: stopped; up ${m.upstreamDir.bytesOut} B, down ${m.downstreamDir.bytesOut} B, stalls ${m.stalls}, connections ${m.connections.total}\n`,
      );
    });
}
