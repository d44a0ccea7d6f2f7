// Runs one guest, under QEMU (TCG: /dev/kvm is not usable on the machines this was built on) or as a
// user-mode-linux process (lab/linux/uml.ts), by the kind of its kernel, and gives its report stream (the
// guest's ttyS1, the runner's stdout) as lines. The console (ttyS0, the kernel log) goes to a file. The guest
// (and the UML user arrangement's slirp process) is stopped by its PID: SIGTERM, then SIGKILL after a grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { GuestError } from '../../core/errors';
import { tiedToParent } from '../peers/tools';
import { missingPrograms } from './debs';
import type { GuestImage } from './image';
import { slirpBridgeCommand, umlCommand, UML_IF, type UmlTunnel } from './uml';

export const QEMU = 'qemu-system-x86_64';

/**
 * The guest's network. `user`: QEMU user networking with restrict=on (no route out); `hostfwd` maps
 * 127.0.0.1:host to guest ports, `guestfwd` runs `cmd` per guest connection to 10.0.2.100:port. `tap`: the tap
 * of a namespace made by lab/linux/netns.ts (QEMU runs inside that namespace).
 */
export type GuestNet =
  | { mode: 'user'; hostfwd?: Array<{ host: number; guest: number }>; guestfwd?: Array<{ port: number; cmd: string }> }
  | { mode: 'tap'; netns: string; ifname: string };

/** The address the guest dials for guestfwd (QEMU user networking). */
export const GUESTFWD_ADDR = '10.0.2.100';
export const USER_GUEST_ADDR = '10.0.2.15';

/**
 * Set in the environment of every guest process (QEMU, UML, UML's slirp QEMU) to the PID of the process that
 * started it. QEMU user networking's guestfwd relays (guest/fwd.c) inherit QEMU's environment (libslirp's
 * fork_exec), so a leftover relay is known to be this process's and not a concurrent run's (another test file of
 * the suite, another checkout on the machine): once its QEMU is gone, an orphaned relay's parent is init and its
 * command line names only a port.
 */
export const GUEST_OWNER_ENV = 'NFS_TESTBED_GUEST_OWNER';
const ownerEnv = (): NodeJS.ProcessEnv => ({ ...process.env, [GUEST_OWNER_ENV]: String(process.pid) });

export interface GuestLaunch {
  image: GuestImage;
  memMiB: number;
  net: GuestNet;
  /** nt_* settings for /init (values without spaces) */
  settings: Record<string, string | number>;
  consoleLog: string;
  /** the user arrangement under UML: the UDP ports between UML and its slirp process (lab/linux/uml.ts umlTunnel) */
  tunnel?: UmlTunnel;
}

/** A process to spawn. */
export interface GuestCommand {
  cmd: string;
  argv: string[];
}

/** QEMU's user netdev (slirp, restrict=on: no route out), for a QEMU guest or UML's slirp process. */
export function userNetdev(id: string, n: Extract<GuestNet, { mode: 'user' }>): string {
  return [
    `user,id=${id},restrict=on,ipv6=off,net=10.0.2.0/24`,
    ...(n.hostfwd ?? []).map((f) => `hostfwd=tcp:127.0.0.1:${f.host}-:${f.guest}`),
    ...(n.guestfwd ?? []).map((f) => `guestfwd=tcp:${GUESTFWD_ADDR}:${f.port}-cmd:${f.cmd}`),
  ].join(',');
}

function qemuCommand(l: GuestLaunch, cmdline: string[]): GuestCommand {
  const netArgs = l.net.mode === 'user' ? ['-netdev', userNetdev('n0', l.net)] : ['-netdev', `tap,id=n0,ifname=${l.net.ifname},script=no,downscript=no`];
  const args = [
    '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-no-reboot',
    '-accel', 'tcg', '-smp', '1', '-m', String(l.memMiB),
    '-kernel', l.image.kernel.image, '-initrd', l.image.initrd, '-append', ['console=ttyS0', 'panic=-1', ...cmdline].join(' '),
    ...netArgs, '-device', 'virtio-net-pci,netdev=n0,romfile=',
    '-serial', `file:${l.consoleLog}`, '-serial', 'stdio',
  ];
  return l.net.mode === 'tap' ? { cmd: 'ip', argv: ['netns', 'exec', l.net.netns, QEMU, ...args] } : { cmd: QEMU, argv: args };
}

export function qemuMissing(): string | undefined {
  const m = missingPrograms([QEMU]);
  return m.length ? `${QEMU} (Debian qemu-system-x86) missing` : undefined;
}

/** A free TCP port on 127.0.0.1 for a hostfwd (closed again before QEMU binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export class Guest {
  readonly pid: number;
  readonly startedAt = performance.now();
  /** report lines with their arrival time (epoch ms, the clock of the proxy's capture) */
  readonly lines: Array<{ at: number; text: string }> = [];
  private readonly child: ChildProcess;
  private partial = '';
  private listeners: Array<(line: string, at: number) => void> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitedFlag = false;
  private stderr = '';

  /** UML's slirp process (the user arrangement under UML), stopped with the guest */
  private readonly bridge?: ChildProcess;
  readonly kind: GuestImage['kernel']['kind'];

  constructor(l: GuestLaunch) {
    this.kind = l.image.kernel.kind;
    // UML on a tap needs no QEMU; on user networking its slirp process is QEMU.
    const why = this.kind === 'qemu' || l.net.mode === 'user' ? qemuMissing() : undefined;
    if (why) throw new GuestError('QEMU_MISSING', why);
    // The nt_* settings reach /init's environment (the kernel hands unknown key=value words to init).
    const settings = { if: this.kind === 'uml' ? UML_IF : 'eth0', ...l.settings };
    // no_timer_check (QEMU only): under TCG on a loaded host, check_timer() (arch/x86/kernel/apic/io_apic.c) can
    // miss the timer ticks it waits for and panic at boot ("IO-APIC + timer doesn't work!"); seen under contention.
    const cmdline = ['quiet', 'loglevel=4', ...(this.kind === 'qemu' ? ['no_timer_check'] : []), ...Object.entries(settings).map(([k, v]) => `nt_${k}=${v}`)];
    if (cmdline.join(' ').length > 2000) throw new GuestError('GUEST_CMDLINE', 'guest settings exceed the kernel command line');
    let run: GuestCommand;
    let consoleFd: number | undefined;
    if (this.kind === 'uml') {
      if (l.net.mode === 'user') {
        if (!l.tunnel) throw new GuestError('GUEST_FAILED', 'a UML guest on user networking needs its tunnel ports');
        const b = slirpBridgeCommand(l, l.tunnel);
        const tied = tiedToParent(b.cmd, b.argv);
        this.bridge = spawn(tied.cmd, tied.argv, { stdio: ['ignore', 'ignore', 'pipe'], env: ownerEnv() });
        this.bridge.stderr!.on('data', (d) => (this.stderr += d));
      }
      run = umlCommand(l, cmdline, l.tunnel);
      consoleFd = fs.openSync(l.consoleLog, 'w');
    } else run = qemuCommand(l, cmdline);
    try {
      // Tied to this process: a test file killed past its timeout must not leave its guest running (tiedToParent).
      const tied = tiedToParent(run.cmd, run.argv);
      this.child = spawn(tied.cmd, tied.argv, { stdio: ['pipe', 'pipe', 'pipe', ...(consoleFd === undefined ? [] : [consoleFd])], env: ownerEnv() });
    } finally {
      if (consoleFd !== undefined) fs.closeSync(consoleFd);
    }
    if (this.child.pid === undefined) {
      this.killBridge();
      throw new GuestError('QEMU_FAILED', `${run.cmd} did not start`);
    }
    this.pid = this.child.pid;
    this.child.stdout!.setEncoding('latin1');
    this.child.stdout!.on('data', (d: string) => this.onData(d));
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.child.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitedFlag = true;
        void this.killBridge();
        resolve({ code, signal });
      });
    });
  }

  private onData(d: string): void {
    this.partial += d;
    let i: number;
    while ((i = this.partial.indexOf('\n')) >= 0) {
      const text = this.partial.slice(0, i).replace(/\r$/, '');
      this.partial = this.partial.slice(i + 1);
      const at = performance.timeOrigin + performance.now();
      this.lines.push({ at, text });
      for (const l of this.listeners) l(text, at);
    }
  }

  get running(): boolean {
    return !this.exitedFlag;
  }

  /** QEMU's own error output (e.g. a tap it could not open). */
  get qemuStderr(): string {
    return this.stderr.trim();
  }

  /** Resolves with the first report line matching `re` (also one already received); rejects on exit or timeout. */
  waitFor(re: RegExp, timeoutMs: number, fromLine = 0): Promise<{ text: string; at: number; match: RegExpMatchArray; index: number }> {
    const index = this.lines.findIndex((l, i) => i >= fromLine && re.test(l.text));
    const seen = index >= 0 ? { ...this.lines[index], index } : undefined;
    if (seen) return Promise.resolve({ ...seen, match: seen.text.match(re)! });
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((x) => x !== onLine);
      };
      const onLine = (text: string, at: number) => {
        const m = text.match(re);
        if (m) {
          done();
          resolve({ text, at, match: m, index: this.lines.length - 1 });
        } else if (/^@@ error /.test(text)) {
          done();
          reject(new GuestError('GUEST_FAILED', `guest: ${text.slice(3)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new GuestError('GUEST_TIMEOUT', `guest gave no ${re} within ${Math.round(timeoutMs)} ms`));
      }, timeoutMs);
      this.listeners.push(onLine);
      this.exited.then(({ code, signal }) => {
        if (!this.listeners.includes(onLine)) return;
        done();
        reject(new GuestError('GUEST_EXITED', `guest exited (${signal ?? code}) before ${re}${this.stderr ? `: ${this.qemuStderr}` : ''}`));
      });
    });
  }

  /** One line to the guest's ttyS1 (the nfsd role reads commands there). */
  send(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  /** Report lines between "@@ NAME" and the next "@@" line. */
  section(name: string): string[] {
    const out: string[] = [];
    let inside = false;
    for (const { text } of this.lines) {
      if (text.startsWith('@@ ')) {
        if (inside) break;
        inside = text === `@@ ${name}` || text.startsWith(`@@ ${name} `);
      } else if (inside) out.push(text);
    }
    return out;
  }

  /** PIDs of every process this guest runs as (QEMU or UML, and UML's slirp process). */
  get pids(): number[] {
    return [this.pid, ...(this.bridge?.pid !== undefined ? [this.bridge.pid] : [])];
  }

  private killBridge(): Promise<void> {
    const b = this.bridge;
    if (!b || b.exitCode !== null || b.signalCode !== null) return Promise.resolve();
    const gone = new Promise<void>((resolve) => b.once('exit', () => resolve()));
    b.kill('SIGKILL');
    return gone;
  }

  /**
   * Stops the guest by its PID (SIGTERM, SIGKILL after graceMs: UML ignores SIGTERM) and waits for it to be gone;
   * then UML's slirp process, which has nothing to flush.
   */
  async stop(graceMs = 2000): Promise<void> {
    await this.stopGuest(graceMs);
    await this.killBridge();
  }

  private async stopGuest(graceMs: number): Promise<void> {
    if (!this.running) return;
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The console log's last lines, for an error message. */
export function consoleTail(file: string, n = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}
