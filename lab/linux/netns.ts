// The root arrangement: a network namespace this run creates and removes, holding a tap for the guest and the
// listening socket of our netem proxy. The proxy's Node process stays in the host namespace (its upstream is
// our server on 127.0.0.1); only its listening socket is made inside the namespace, by a short-lived child
// started with `ip netns exec`, and handed over with Node's IPC handle passing (SCM_RIGHTS). So the guest's TCP
// peer is the proxy's own socket: a stall that stops the proxy reading closes the guest's window and the
// retransmission waits in the guest's socket, as in the seed. Nothing in the namespace routes anywhere.
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';
import { GuestError } from '../../core/errors';
import { missingPrograms } from './debs';

/** Every namespace this module creates is named with this prefix (tests check none is left). */
export const NETNS_PREFIX = 'nfs-testbed-';
const TAP = 'ntap0';
let counter = 0;

function ip(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new GuestError('NETNS_FAILED', `ip ${args.join(' ')}: ${String((e as { stderr?: string }).stderr ?? e).trim()}`);
  }
}

/** Why the root arrangement is unavailable here, or undefined when it is. */
export function tapUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (a tap in a network namespace needs CAP_NET_ADMIN)';
  if (missingPrograms(['ip']).length) return 'ip (iproute2) missing';
  if (!fs.existsSync('/dev/net/tun')) return '/dev/net/tun missing';
  return undefined;
}

/** Namespaces left by this module (by any process). */
export function leftoverNamespaces(): string[] {
  if (missingPrograms(['ip']).length) return [];
  return ip(['netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(NETNS_PREFIX));
}

export class GuestNetns {
  readonly tap = TAP;
  private removed = false;

  private constructor(
    readonly name: string,
    /** the namespace's side of the tap (the proxy listens here) */
    readonly hostAddr: string,
    /** the guest's address */
    readonly guestAddr: string,
  ) {}

  /**
   * Creates the namespace with a tap (no gateway, no other interface) and small TCP receive buffers, so the
   * proxy's socket does not absorb a whole 1 MiB WRITE while it is not reading (net.ipv4.tcp_rmem is per
   * namespace since Linux 4.15).
   */
  static create(): GuestNetns {
    const why = tapUnavailable();
    if (why) throw new GuestError('NETNS_UNAVAILABLE', why);
    const n = counter++;
    const name = `${NETNS_PREFIX}${process.pid}-${n}`;
    const net24 = `10.213.${n % 250}`;
    const ns = new GuestNetns(name, `${net24}.1`, `${net24}.2`);
    ip(['netns', 'add', name]);
    try {
      ip(['-n', name, 'link', 'set', 'lo', 'up']);
      ip(['-n', name, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap']);
      ip(['-n', name, 'addr', 'add', `${ns.hostAddr}/24`, 'dev', TAP]);
      ip(['-n', name, 'link', 'set', TAP, 'up']);
      execFileSync('ip', ['netns', 'exec', name, 'sysctl', '-q', '-w', 'net.ipv4.tcp_rmem=4096 65536 131072'], { stdio: 'ignore' });
    } catch (e) {
      ns.remove();
      throw e;
    }
    return ns;
  }

  /** A listening TCP socket bound to hostAddr inside the namespace, owned by this process from now on. */
  listen(): Promise<net.Server> {
    const script = [
      "const net = require('node:net');",
      'const s = net.createServer({ pauseOnConnect: true, allowHalfOpen: true });',
      "s.on('error', (e) => { console.error(e.message); process.exit(1); });",
      's.listen({ host: process.argv[1], port: 0 }, () => process.send({ port: s.address().port }, s));',
      "process.on('message', () => process.exit(0));",
    ].join('\n');
    const child = spawn('ip', ['netns', 'exec', this.name, process.execPath, '-e', script, this.hostAddr], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let err = '';
    child.stderr?.on('data', (d) => (err += d));
    return new Promise((resolve, reject) => {
      child.once('message', (_m, handle) => {
        child.send('done');
        resolve(handle as net.Server);
      });
      child.once('exit', (code) => reject(new GuestError('NETNS_FAILED', `listener in ${this.name} exited ${code}: ${err.trim()}`)));
    });
  }

  /** Takes the tap down (the guest's packets are dropped) or up: the link-down fault. */
  setLink(up: boolean): void {
    if (!this.removed) ip(['-n', this.name, 'link', 'set', TAP, up ? 'up' : 'down']);
  }

  /**
   * Bytes our listening socket's connections on `port` hold unread (ss's Recv-Q of the established sockets in the
   * namespace): what the guest sent that the proxy has not read. A stalled proxy does not read, so this is how the
   * host sees the guest's bytes arrive during a stall.
   */
  async recvQueue(port: number): Promise<number> {
    const out = await new Promise<string>((resolve, reject) =>
      execFile('ip', ['netns', 'exec', this.name, 'ss', '-tnH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' }, (err, stdout) =>
        err ? reject(new GuestError('NETNS_FAILED', `ss in ${this.name}: ${err.message}`)) : resolve(stdout),
      ),
    );
    return out
      .split('\n')
      .filter((l) => l.trim())
      .reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);
  }

  /** Deletes the namespace (and the tap in it). Idempotent. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    try {
      ip(['netns', 'del', this.name]);
    } catch {
      /* already gone */
    }
  }
}
