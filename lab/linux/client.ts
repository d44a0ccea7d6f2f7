// `nfs-testbed linux client`: the real Linux NFS client in a QEMU guest runs blktest2 against an NFSv3 server
// through our netem proxy. Two network arrangements, chosen automatically:
//  - tap (root): lab/linux/netns.ts; the guest's TCP peer is the proxy's own socket, so a stall that stops the
//    proxy reading closes the guest's window and keeps a retransmission in the guest's socket (the seed's
//    precondition); the link-down fault takes the tap down;
//  - user (no root): QEMU user networking (restrict=on) with a per-connection forward (guest/fwd.c) to the proxy
//    on 127.0.0.1. slirp acknowledges and buffers whatever the guest sends, so no stall can hold data in the
//    guest's socket: the result says so and its verdict is marked.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, GuestError } from '../../core/errors';
import { createProxy, type Proxy } from '../../netem/proxy';
import type { FaultSpec, NetemEvent } from '../../netem/types';
import { inspectFiles } from '../../captures';
import type { DuplicateView } from '../../captures';
import { buildImage, debianKernel, debianUml, staticProgram, userKernel, type GuestKernel, type GuestKind } from './image';
import { GuestNetns, tapUnavailable } from './netns';
import { consoleTail, Guest, GUESTFWD_ADDR, USER_GUEST_ADDR, type GuestNet } from './qemu';
import { umlTunnel } from './uml';
import { driveSeedOrder, SEED_ORDER_WMEM, seedOrderEventFaults, type SeedOrderTimeline } from './seed-order';
import { parseBlktest, parseMountstats, traceCounts, type GuestBlktest, type MountStats } from './report';

export type LinuxNetwork = 'tap' | 'user';

export const USER_NETWORK_CAVEAT =
  'QEMU user networking acknowledges and buffers what the guest sends: a stall cannot hold data in the guest\'s socket, so the seed\'s precondition cannot arise (run as root for the tap arrangement)';

/**
 * The seed's order for the real client (root arrangement), on the second WRITE: its reply is held past the RPC
 * timeout (2 x timeo) while the client leg stops being read (4 x timeo), so the kernel's retransmission is queued
 * behind a closed window in the guest's socket; the reply is released first, write() returns, blktest2
 * scribbles, and only then does the rest of the retransmission leave the guest. (netem reports a call when its
 * record ends, so the upstream stall starts after the whole first copy was forwarded.)
 */
export function seedOrderFaults(timeoMs: number): FaultSpec[] {
  return [
    { id: 'seed-hold-reply', kind: 'hold', direction: 'downstream', duration: `${2 * timeoMs}ms`, call: { proc: 'WRITE', nth: 2 }, count: 1 },
    { id: 'seed-stall-client', kind: 'stall', direction: 'upstream', duration: `${4 * timeoMs}ms`, call: { proc: 'WRITE', nth: 2 }, phase: 'after', count: 1 },
  ];
}

export interface KernelChoice {
  /** a bzImage or UML binary of the user's own; default Debian's linux-image-cloud-amd64 (or user-mode-linux) */
  kernel?: string;
  /** its lib/modules/<release> folder */
  modules?: string;
  /** which runner: qemu (a bzImage) or uml; with --kernel it follows from the file and must agree */
  guest?: GuestKind;
}

/** What a UML guest lacks that a QEMU guest of the same run would have, printed with every UML run. */
export const UML_TRACE_NOTE = "user-mode-linux's kernel has no sunrpc tracepoints: mountstats only";

export function chooseKernel(k: KernelChoice): GuestKernel {
  if (k.modules && !k.kernel) throw new ConfigError('LINUX_MODULES_WITHOUT_KERNEL', '--modules needs --kernel');
  if (!k.kernel) return k.guest === 'uml' ? debianUml() : debianKernel();
  const kernel = userKernel(k.kernel, k.modules);
  if (k.guest && k.guest !== kernel.kind) throw new ConfigError('LINUX_GUEST_MISMATCH', `--guest ${k.guest}, but --kernel ${k.kernel} is a ${kernel.kind === 'uml' ? 'UML binary' : 'bzImage'}`);
  return kernel;
}

export interface LinuxClientOptions extends KernelChoice {
  server: { host: string; port: number };
  /** MOUNT port when the server does not answer MOUNT on its NFS port */
  mountPort?: number;
  exportPath: string;
  file?: string;
  blockSize?: number;
  count?: number;
  scribble?: number;
  /** RPC timeout in deciseconds (the mount option timeo) and retrans */
  timeo?: number;
  retrans?: number;
  /** auto (tap when root) | tap | user */
  network?: 'auto' | LinuxNetwork;
  /** netem faults on the proxy in front of the server */
  faults?: FaultSpec[];
  /**
   * the seed's order on the second WRITE: in the tap arrangement each step on an observed event
   * (lab/linux/seed-order.ts); on user networking seedOrderFaults, the same steps timed in host seconds
   */
  seedOrder?: boolean;
  /** link-down fault (tap only): take the tap down for downMs every everyMs once the first write started */
  linkDown?: { downMs: number; everyMs: number };
  /** the proxy's time scale and seed (repro passes its own; default 1 and 1) */
  timeScale?: number;
  seed?: number;
  /** tracepoints (QEMU kernels with sunrpc events) */
  trace?: boolean;
  /**
   * run folder: console.log, capture.pcap, trace.txt; absent: a fresh one under the OS temp dir, made only once the
   * options are valid (a refused run leaves nothing behind)
   */
  outDir?: string;
  /** a guest that has not finished by then is stopped (ms, default 120 s) */
  timeoutMs?: number;
  memMiB?: number;
  onProgress?: (line: string) => void;
}

export interface HeldWrite {
  i: number;
  offset: number;
  txq: number;
  xid: string | null;
  /** copies of that XID whose last byte reached the proxy after the first reply to it (see heldWrite) */
  laterCopies: number;
  /** all copies of that XID equal (null when the capture has one copy) */
  equal: boolean | null;
}

export interface LinuxClientResult {
  network: LinuxNetwork;
  networkNote: string;
  /** which runner the kernel ran under */
  guest: GuestKind;
  kernel: string;
  image: string;
  server: string;
  /** wall ms from launching QEMU to the mount line; guest uptime (s) when booted and when mounted */
  bootToMountedMs: number;
  guestBootedS: number | null;
  guestMountedS: number | null;
  wallMs: number;
  blockSize: number;
  count: number;
  mibPerSec: number | null;
  blktest: GuestBlktest;
  corruptBlocks: number;
  /** writes after which the socket still held unacknowledged bytes (the seed's precondition) */
  held: HeldWrite[];
  mountstats: MountStats;
  traceCounts: Record<string, number>;
  tracepoints: boolean;
  capture: string;
  consoleLog: string;
  traceFile: string | null;
  duplicatedXids: number;
  differingDuplicates: number;
  scribbledOnWire: number;
  linkDownEvents: number;
  verdict: 'REPRODUCED' | 'not-reproduced';
  /** the verdict's mark: why it may not speak for the real condition */
  verdictCaveat: string | null;
  rc: number | null;
  netemEvents: number;
  /** the proxy's events and listen port (the client leg of the capture) */
  events: NetemEvent[];
  proxyPort: number;
  /** QEMU's or UML's PID and the namespace (tap arrangement), both gone when the run returns */
  guestPid: number;
  /** every process of the guest (UML on user networking adds its slirp process), all gone when the run returns */
  guestPids: number[];
  netns: string | null;
  /** the event-driven seed order's steps (seedOrder option), else null */
  seedOrder: SeedOrderTimeline | null;
}

const DEFAULT_TIMEOUT_MS = 120_000;

export async function runLinuxClient(o: LinuxClientOptions): Promise<LinuxClientResult> {
  const progress = o.onProgress ?? (() => undefined);
  const blockSize = o.blockSize ?? 1 << 20;
  const count = o.count ?? 4;
  if (blockSize % 4096 || blockSize <= 0) throw new ConfigError('BAD_SIZE', 'block size must be a positive multiple of 4096 (O_DIRECT)');
  const want = o.network ?? 'auto';
  const tapWhy = tapUnavailable();
  if (want === 'tap' && tapWhy) throw new GuestError('NETNS_UNAVAILABLE', `--network tap: ${tapWhy}`);
  const network: LinuxNetwork = want === 'user' || (want === 'auto' && tapWhy) ? 'user' : 'tap';
  if (o.linkDown && network !== 'tap') throw new ConfigError('LINUX_LINK_DOWN_NEEDS_TAP', '--link-down needs the tap arrangement (root)');
  const kernel = chooseKernel(o);
  const networkNote =
    network === 'tap'
      ? 'tap in a network namespace; the guest\'s TCP peer is the netem proxy'
      : `QEMU user networking (restrict=on)${kernel.kind === 'uml' ? ', joined to UML by L2TPv3 over 127.0.0.1' : ''}${want === 'auto' ? `: ${tapWhy}` : ''}`;
  progress(`guest: ${kernel.kind} (${kernel.label})${kernel.kind === 'uml' && o.trace !== false ? `; ${UML_TRACE_NOTE}` : ''}`);
  progress(`network: ${networkNote}`);

  const image = buildImage('client', kernel);
  const outDir = o.outDir ?? tempRunDir('client');
  fs.mkdirSync(outDir, { recursive: true });
  const capture = path.join(outDir, 'capture.pcap');
  const consoleLog = path.join(outDir, 'console.log');
  const proxies: Proxy[] = [];
  let ns: GuestNetns | undefined;
  let guest: Guest | undefined;
  let flap: NodeJS.Timeout | undefined;
  const events: NetemEvent[] = [];
  let linkDownEvents = 0;
  try {
    if (network === 'tap') ns = GuestNetns.create();
    const proxyFor = async (port: number, faults: FaultSpec[], cap?: string) => {
      const p = await createProxy({
        name: cap ? 'netem' : 'netem-mount',
        upstream: { host: o.server.host, port },
        listen: ns ? { handle: await ns.listen() } : { host: '127.0.0.1', port: 0 },
        faults,
        capture: cap,
        timeScale: o.timeScale,
        seed: o.seed,
      });
      proxies.push(p);
      return p;
    };
    // The seed's order: driven by events where the guest's socket can hold data (tap), else timed (its verdict is
    // marked anyway: user networking cannot hold data in the guest).
    const orderFaults = !o.seedOrder ? [] : ns ? seedOrderEventFaults() : seedOrderFaults((o.timeo ?? 600) * 100);
    const nfsProxy = await proxyFor(o.server.port, [...orderFaults, ...(o.faults ?? [])], capture);
    const nfsPort = nfsProxy.address.port;
    nfsProxy.onEvent((e) => events.push(e));
    const mountProxy = o.mountPort && o.mountPort !== o.server.port ? await proxyFor(o.mountPort, []) : undefined;
    // In the user arrangement the guest dials fixed ports on GUESTFWD_ADDR, forwarded per connection by fwd.
    const guestPort = ns ? nfsProxy.address.port : 2049;
    const guestMountPort = mountProxy ? (ns ? mountProxy.address.port : 20048) : guestPort;
    let net: GuestNet;
    if (ns) net = { mode: 'tap', netns: ns.name, ifname: ns.tap };
    else {
      const fwd = staticProgram('fwd');
      net = { mode: 'user', guestfwd: [{ port: guestPort, cmd: `${fwd} ${nfsProxy.address.port}` }, ...(mountProxy ? [{ port: guestMountPort, cmd: `${fwd} ${mountProxy.address.port}` }] : [])] };
    }
    const opts = [`timeo=${o.timeo ?? 600}`, `retrans=${o.retrans ?? 2}`, 'hard'].join(',');
    const t0 = performance.now();
    guest = new Guest({
      image,
      memMiB: o.memMiB ?? 256,
      net,
      consoleLog,
      tunnel: kernel.kind === 'uml' && net.mode === 'user' ? await umlTunnel() : undefined,
      settings: {
        role: 'client',
        ip: ns ? ns.guestAddr : USER_GUEST_ADDR,
        server: ns ? ns.hostAddr : GUESTFWD_ADDR,
        port: guestPort,
        mountport: guestMountPort,
        export: o.exportPath,
        file: o.file ?? 'blktest2.dat',
        bs: blockSize,
        count,
        scribble: `0x${((o.scribble ?? 0xdeadbeef) >>> 0).toString(16)}`,
        opts,
        trace: o.trace === false ? 0 : 1,
        wmem: o.seedOrder && ns ? SEED_ORDER_WMEM : 0,
      },
    });
    progress(`guest pid ${guest.pids.join(',')}: ${kernel.label}, image ${image.hash}`);
    const timeout = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // From launch (the second WRITE may come before the host reads the mount line); settled here, awaited after the
    // guest's end: a failed step ends the stall and hold, so the guest finishes.
    const seedOrder = o.seedOrder && ns ? driveSeedOrder({ proxy: nfsProxy, ns, guest, port: nfsPort, startBoundMs: timeout, userTimeoutMs: (o.timeo ?? 600) * 100 * ((o.retrans ?? 2) + 1), progress }).then((v) => ({ v }), (err: Error) => ({ err })) : undefined;
    const booted = await guest.waitFor(/^@@ booted uptime=([\d.]+)/, timeout).catch((e) => {
      throw withConsole(e, consoleLog);
    });
    const mounted = await guest.waitFor(/^@@ mounted uptime=([\d.]+)/, timeout).catch((e) => {
      throw withConsole(e, consoleLog);
    });
    const bootToMountedMs = mounted.at - (performance.timeOrigin + t0);
    progress(`mounted after ${(bootToMountedMs / 1000).toFixed(2)} s wall (guest uptime ${mounted.match[1]} s)`);
    if (o.linkDown && ns) {
      const nsRef = ns;
      const cycle = () => {
        nsRef.setLink(false);
        linkDownEvents++;
        progress(`link down for ${o.linkDown!.downMs} ms`);
        setTimeout(() => nsRef.setLink(true), o.linkDown!.downMs).unref();
      };
      flap = setInterval(cycle, o.linkDown.everyMs);
      cycle();
    }
    const end = await guest.waitFor(/^@@ end rc=(\d+)/, timeout).catch((e) => {
      throw withConsole(e, consoleLog);
    });
    const wallMs = performance.now() - t0;
    if (flap) clearInterval(flap);
    ns?.setLink(true);
    await guest.exited;
    const order = await seedOrder;
    if (order && 'err' in order) throw withConsole(order.err, consoleLog);

    const blkLines = sectionWithTimes(guest, 'blktest');
    const blktest = parseBlktest(blkLines);
    const mountstatsText = guest.section('mountstats');
    fs.writeFileSync(path.join(outDir, 'mountstats.txt'), mountstatsText.join('\n') + '\n');
    const mountstats = parseMountstats(mountstatsText);
    const trace = guest.section('trace');
    const traceFile = trace.length ? path.join(outDir, 'trace.txt') : null;
    if (traceFile) fs.writeFileSync(traceFile, trace.join('\n') + '\n');
    for (const p of proxies.splice(0)) await p.close();

    const rep = await inspectFiles([capture]);
    // The client leg only (the proxy captures both): WRITE groups whose server end is the proxy's listen port.
    const clientLeg = (d: DuplicateView) => d.procedure === 'NFS3.WRITE' && d.transmissions[0].connection.endsWith(`:${nfsPort}`);
    const writeGroups = [...rep.differingDuplicates, ...rep.identicalDuplicates].filter(clientLeg);
    const held: HeldWrite[] = blktest.writes.filter((w) => w.txq > 0).map((w) => heldWrite(w, writeGroups));
    const scribbled = rep.differingDuplicates.filter(clientLeg);
    const corruptBlocks = blktest.done?.corrupt ?? blktest.corrupt.length;
    const caveat = network === 'user' ? USER_NETWORK_CAVEAT : null;
    const mib = blktest.done && blktest.done.writeUs > 0 ? blktest.done.bytes / (1 << 20) / (blktest.done.writeUs / 1e6) : null;
    return {
      network,
      networkNote,
      guest: kernel.kind,
      kernel: kernel.label,
      image: image.hash,
      server: `${o.server.host}:${o.server.port}`,
      bootToMountedMs: Math.round(bootToMountedMs),
      guestBootedS: Number(booted.match[1]),
      guestMountedS: Number(mounted.match[1]),
      wallMs: Math.round(wallMs),
      blockSize,
      count,
      mibPerSec: mib === null ? null : Math.round(mib * 100) / 100,
      blktest,
      corruptBlocks,
      held,
      mountstats,
      traceCounts: traceCounts(trace),
      tracepoints: trace.length > 0,
      capture,
      consoleLog,
      traceFile,
      duplicatedXids: rep.duplicatedXids,
      differingDuplicates: scribbled.length,
      scribbledOnWire: scribbled.reduce((n, d) => n + d.transmissions.filter((t) => t.n > 1).length, 0),
      linkDownEvents,
      verdict: scribbled.length > 0 || corruptBlocks > 0 ? 'REPRODUCED' : 'not-reproduced',
      verdictCaveat: caveat,
      rc: Number(end.match[1]),
      netemEvents: events.length,
      events,
      proxyPort: nfsPort,
      guestPid: guest.pid,
      guestPids: guest.pids,
      netns: ns?.name ?? null,
      seedOrder: order?.v ?? null,
    };
  } finally {
    if (flap) clearInterval(flap);
    await guest?.stop();
    for (const p of proxies) await p.close().catch(() => undefined);
    ns?.remove();
  }
}

function withConsole(e: unknown, consoleLog: string): Error {
  const err = e as Error;
  const tail = consoleTail(consoleLog, 8);
  if (tail) err.message += `\nguest console (last lines):\n${tail}`;
  return err;
}

function sectionWithTimes(g: Guest, name: string): Array<{ text: string; at: number }> {
  const out: Array<{ text: string; at: number }> = [];
  let inside = false;
  for (const l of g.lines) {
    if (l.text.startsWith('@@ ')) {
      if (inside) break;
      inside = l.text === `@@ ${name}`;
    } else if (inside) out.push(l);
  }
  return out;
}

/**
 * The seed's sequence for one write, from two clocks that are never compared with each other: the guest's
 * (blktest2 read tx_queue > 0 right after the scribble: bytes of the stream were still unacknowledged, so not yet
 * received by the proxy's kernel) and the capture's (a later copy of the XID whose last byte reached the proxy
 * after the first reply to that XID, the reply that let write() return). Both together: the copy's tail left the
 * guest after the scribble. Host arrival times of the guest's report lines are not used: under load the serial
 * line can reach the host after the network bytes.
 */
function heldWrite(w: GuestBlktest['writes'][number], groups: DuplicateView[]): HeldWrite {
  const g = groups.find((d) => d.offset !== null && Number(d.offset) === w.offset);
  if (!g) return { i: w.i, offset: w.offset, txq: w.txq, xid: null, laterCopies: 0, equal: null };
  const replies = g.transmissions.flatMap((t) => t.replies.map((r) => r.time));
  const firstReply = replies.length ? Math.min(...replies) : Infinity;
  const laterCopies = g.transmissions.filter((t) => t.n > 1 && t.lastTime > firstReply).length;
  return { i: w.i, offset: w.offset, txq: w.txq, xid: g.xid, laterCopies, equal: g.equal };
}

/** A fresh run folder under the OS temp dir (callers that keep runs pass their own). */
export function tempRunDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `nfs-testbed-linux-${tag}-`));
}
