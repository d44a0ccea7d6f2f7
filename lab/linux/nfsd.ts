// `nfs-testbed linux nfsd`: the real Linux nfsd (NFSv3 only, over TCP) in a QEMU guest with 1 GiB of memory,
// exporting a tmpfs, reachable through QEMU user networking (restrict=on) forwards on 127.0.0.1. Its
// /proc/fs/nfsd/reply_cache_stats answers the DRC question beside our model's (server/drc/).
import fs from 'node:fs';
import path from 'node:path';
import { GuestError } from '../../core/errors';
import { buildImage } from './image';
import { chooseKernel, tempRunDir, type KernelChoice } from './client';
import { consoleTail, freePort, Guest, USER_GUEST_ADDR } from './qemu';
import { umlTunnel } from './uml';

export interface LinuxNfsdOptions extends KernelChoice {
  /** tmpfs size of the export (bytes; default 256 MiB) */
  exportSize?: number;
  /** nfsd threads (default 8) */
  threads?: number;
  /**
   * guest memory (MiB; default 1024, which gives nfsd a 128 KiB max block size, low memory being a little under
   * 1 GiB: fs/nfsd/nfssvc.c nfsd_get_default_max_blksize aims at 1/4096 of it)
   */
  memMiB?: number;
  /**
   * nfsd's max block size (its FSINFO wtmax/rtmax), written to /proc/fs/nfsd/max_block_size before rpc.nfsd
   * (fs/nfsd/nfsctl.c write_maxblksize: 1 KiB to NFSSVC_MAXBLKSIZE, 1 MiB, in whole KiB); default: the kernel's
   */
  maxBlockSize?: number;
  /** folder for console.log; absent: a fresh one under the OS temp dir, made only once the kernel is chosen */
  outDir?: string;
  timeoutMs?: number;
}

/** /proc/fs/nfsd/reply_cache_stats (fs/nfsd/nfscache.c nfsd_reply_cache_stats_show), keys camel-cased. */
export type ReplyCacheStats = Record<string, number>;

export function parseReplyCacheStats(lines: string[]): ReplyCacheStats {
  const out: ReplyCacheStats = {};
  for (const l of lines) {
    const m = l.match(/^\s*([a-zA-Z ]+):\s+(\d+)/);
    if (m) out[m[1].trim().replace(/ (\w)/g, (_x, c: string) => c.toUpperCase())] = Number(m[2]);
  }
  return out;
}

export class LinuxNfsd {
  private constructor(
    readonly guest: Guest,
    readonly nfsPort: number,
    readonly mountPort: number,
    readonly kernel: string,
    readonly readyMs: number,
    /** "+3,-4,..." and nfsd's max block size as the guest reported them */
    readonly versions: string,
    readonly maxBlockSize: number,
    readonly consoleLog: string,
  ) {}

  static async start(o: LinuxNfsdOptions): Promise<LinuxNfsd> {
    const kernel = chooseKernel(o);
    const image = buildImage('nfsd', kernel);
    const outDir = o.outDir ?? tempRunDir('nfsd');
    fs.mkdirSync(outDir, { recursive: true });
    const consoleLog = path.join(outDir, 'nfsd-console.log');
    const [nfsPort, mountPort] = [await freePort(), await freePort()];
    const t0 = performance.timeOrigin + performance.now();
    const guest = new Guest({
      image,
      memMiB: o.memMiB ?? 1024,
      net: { mode: 'user', hostfwd: [{ host: nfsPort, guest: 2049 }, { host: mountPort, guest: 20048 }] },
      consoleLog,
      tunnel: kernel.kind === 'uml' ? await umlTunnel() : undefined,
      settings: { role: 'nfsd', ip: USER_GUEST_ADDR, size: o.exportSize ?? 256 << 20, threads: o.threads ?? 8, ...(o.maxBlockSize ? { maxblk: o.maxBlockSize } : {}) },
    });
    try {
      const ready = await guest.waitFor(/^@@ ready versions=(\S+) maxblksize=(\d+)/, o.timeoutMs ?? 120_000);
      return new LinuxNfsd(guest, nfsPort, mountPort, kernel.label, Math.round(ready.at - t0), ready.match[1], Number(ready.match[2]), consoleLog);
    } catch (e) {
      await guest.stop();
      const err = e as Error;
      err.message += `\nguest console (last lines):\n${consoleTail(consoleLog, 8)}`;
      throw err;
    }
  }

  /** The export path clients mount. */
  get exportPath(): string {
    return '/export';
  }

  /** nfsd's reply cache counters now. */
  async replyCacheStats(timeoutMs = 30_000): Promise<ReplyCacheStats> {
    if (!this.guest.running) throw new GuestError('GUEST_EXITED', 'nfsd guest is not running');
    const from = this.guest.lines.length;
    this.guest.send('stats');
    const start = await this.guest.waitFor(/^@@ stats$/, timeoutMs, from);
    const end = await this.guest.waitFor(/^@@ stats-end$/, timeoutMs, start.index);
    return parseReplyCacheStats(this.guest.lines.slice(start.index + 1, end.index).map((l) => l.text));
  }

  /** Powers the guest off (then SIGTERM/SIGKILL by PID if it does not go). */
  async stop(): Promise<void> {
    if (this.guest.running) {
      this.guest.send('poweroff');
      const t = setTimeout(() => void this.guest.stop(), 5000);
      await this.guest.exited;
      clearTimeout(t);
    }
    await this.guest.stop();
  }
}
