// Runs one guest under QEMU (TCG: /dev/kvm is not usable on the machines this was built on) and gives its
// report stream (the guest's ttyS1, QEMU's stdout) as lines. The console (ttyS0, the kernel log) goes to a file.
// The guest is stopped by its PID: SIGTERM, then SIGKILL after a grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { GuestError } from '../../core/errors';
import { missingPrograms } from './debs';
import type { GuestImage } from './image';

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

export interface GuestLaunch {
  image: GuestImage;
  memMiB: number;
  net: GuestNet;
  /** nt_* settings for /init (values without spaces) */
  settings: Record<string, string | number>;
  consoleLog: string;
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

  constructor(l: GuestLaunch) {
    const why = qemuMissing();
    if (why) throw new GuestError('QEMU_MISSING', why);
    const cmdline = ['console=ttyS0', 'panic=-1', 'quiet', 'loglevel=4', ...Object.entries(l.settings).map(([k, v]) => `nt_${k}=${v}`)].join(' ');
    if (cmdline.length > 2000) throw new GuestError('GUEST_CMDLINE', 'guest settings exceed the kernel command line');
    const netArgs =
      l.net.mode === 'user'
        ? [
            '-netdev',
            [
              'user,id=n0,restrict=on,ipv6=off,net=10.0.2.0/24',
              ...(l.net.hostfwd ?? []).map((f) => `hostfwd=tcp:127.0.0.1:${f.host}-:${f.guest}`),
              ...(l.net.guestfwd ?? []).map((f) => `guestfwd=tcp:${GUESTFWD_ADDR}:${f.port}-cmd:${f.cmd}`),
            ].join(','),
          ]
        : ['-netdev', `tap,id=n0,ifname=${l.net.ifname},script=no,downscript=no`];
    const args = [
      '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-no-reboot',
      '-accel', 'tcg', '-smp', '1', '-m', String(l.memMiB),
      '-kernel', l.image.kernel.image, '-initrd', l.image.initrd, '-append', cmdline,
      ...netArgs, '-device', 'virtio-net-pci,netdev=n0,romfile=',
      '-serial', `file:${l.consoleLog}`, '-serial', 'stdio',
    ];
    const [cmd, argv] = l.net.mode === 'tap' ? ['ip', ['netns', 'exec', l.net.netns, QEMU, ...args]] : [QEMU, args];
    this.child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    if (this.child.pid === undefined) throw new GuestError('QEMU_FAILED', `${QEMU} did not start`);
    this.pid = this.child.pid;
    this.child.stdout!.setEncoding('latin1');
    this.child.stdout!.on('data', (d: string) => this.onData(d));
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.child.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitedFlag = true;
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

  /** Stops QEMU by its PID (SIGTERM, SIGKILL after graceMs) and waits for it to be gone. */
  async stop(graceMs = 2000): Promise<void> {
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
