// Linux in the loop (lab/linux/): the real 6.1 client's boot-to-mounted time and O_DIRECT write rate to our
// server and to nfs-ganesha (same guest image, same proxy in front), and our client against the real nfsd vs
// against our server, with the server side's CPU per MiB where it is measurable (our server: its process; nfsd:
// the whole QEMU process, TCG emulation included, so an upper bound). One guest at a time; rounds are few since
// a TCG guest takes seconds to boot: read these as orders of magnitude, with the spread in the note. The same
// client run under user-mode-linux (Debian's 6.1um, lab/linux/uml.ts) gives its boot-to-mounted beside QEMU's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBlktest } from '../client/blktest';
import { median } from '../core/stats';
import { startGanesha, ganeshaMissing } from '../lab/peers/ganesha';
import { runLinuxClient, type LinuxClientResult } from '../lab/linux/client';
import { LinuxNfsd } from '../lab/linux/nfsd';
import { linuxGuestMissing, linuxUmlMissing } from '../lab/linux/requirements';
import type { GuestKind } from '../lab/linux/image';
import { startReady } from './child';
import { measurement, processCpuMs, type Measurement } from './measure';

const MiB = 1 << 20;
const ROUNDS = 3;
/** write() calls of 1 MiB per guest run */
const GUEST_WRITES = 32;
/** MiB our client writes per round against each server */
const OURS_MIB = 64;

const spread = (xs: number[]) => `${ROUNDS} rounds, min ${Math.min(...xs).toFixed(2)} max ${Math.max(...xs).toFixed(2)}`;

async function guestRun(server: { host: string; port: number }, mountPort: number | undefined, exportPath: string, out: string, guest: GuestKind = 'qemu'): Promise<LinuxClientResult> {
  return runLinuxClient({ server, mountPort, exportPath, count: GUEST_WRITES, outDir: out, trace: false, guest });
}

export async function run(): Promise<Measurement[]> {
  const why = linuxGuestMissing();
  if (why) {
    console.error(`# bench linux skipped: ${why}`);
    return [];
  }
  const out: Measurement[] = [];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-linux-'));
  try {
    // --- the real client: boot-to-mounted, and O_DIRECT MiB/s to our server and to ganesha, paired per round ---
    const exportDir = path.join(work, 'export');
    fs.mkdirSync(exportDir);
    const ours = await startReady([path.join(__dirname, '..', 'cli', 'main.js'), 'server', '--export', exportDir, '--state-dir', path.join(work, 'state'), '--drc', 'checksum-256']);
    const oursPort = Number(/nfs=127\.0\.0\.1:(\d+)/.exec(ours.line)![1]);
    const ganesha = ganeshaMissing() ? undefined : await startGanesha();
    const boot: number[] = [];
    const uptime: number[] = [];
    const toOurs: number[] = [];
    const toGanesha: number[] = [];
    const umlWhy = linuxUmlMissing();
    const umlBoot: number[] = [];
    const umlRate: number[] = [];
    let network = '';
    try {
      for (let r = 0; r < ROUNDS; r++) {
        const a = await guestRun({ host: '127.0.0.1', port: oursPort }, undefined, '/export', path.join(work, `ours-${r}`));
        boot.push(a.bootToMountedMs / 1000);
        uptime.push(a.guestMountedS ?? NaN);
        toOurs.push(a.mibPerSec ?? NaN);
        network = a.network;
        if (ganesha) {
          const g = await guestRun({ host: ganesha.host, port: ganesha.port }, ganesha.mountPort, ganesha.exportPath, path.join(work, `ganesha-${r}`));
          toGanesha.push(g.mibPerSec ?? NaN);
        }
        if (!umlWhy) {
          const u = await guestRun({ host: '127.0.0.1', port: oursPort }, undefined, '/export', path.join(work, `uml-${r}`), 'uml');
          umlBoot.push(u.bootToMountedMs / 1000);
          umlRate.push(u.mibPerSec ?? NaN);
        }
      }
    } finally {
      await ganesha?.stop();
      await ours.stop();
    }
    out.push(measurement('linux', 'real 6.1 client: boot to mounted (wall, QEMU TCG)', median(boot), 's', 'guest uptime at mount', median(uptime), false, `${spread(boot)}; ${network} networking`));
    if (umlWhy) console.error(`# bench linux: user-mode-linux row skipped: ${umlWhy}`);
    else out.push(measurement('linux', 'real 6.1 client: boot to mounted (wall, user-mode-linux)', median(umlBoot), 's', 'the same under QEMU TCG', median(boot), false, `${spread(umlBoot)}; ${network} networking; O_DIRECT ${median(umlRate).toFixed(1)} MiB/s to our server`));
    if (ganesha) {
      out.push(measurement('linux', `real client O_DIRECT 1 MiB writes to our server (${network}, via netem)`, median(toOurs), 'MiB/s', 'the same to nfs-ganesha', median(toGanesha), true, `${spread(toOurs)}; ganesha ${spread(toGanesha)}`));
    } else {
      console.error(`# bench linux: ganesha row skipped: ${ganeshaMissing()}`);
      out.push(measurement('linux', `real client O_DIRECT 1 MiB writes to our server (${network}, via netem)`, median(toOurs), 'MiB/s', 'none (nfs-ganesha missing)', NaN, true, spread(toOurs)));
    }

    // --- our client against the real nfsd vs against our server, server CPU per MiB ---
    const nfsd = await LinuxNfsd.start({ outDir: path.join(work, 'nfsd') });
    const dir2 = path.join(work, 'export2');
    fs.mkdirSync(dir2);
    const ours2 = await startReady([path.join(__dirname, '..', 'cli', 'main.js'), 'server', '--export', dir2, '--state-dir', path.join(work, 'state2'), '--drc', 'checksum-256']);
    const ours2Port = Number(/nfs=127\.0\.0\.1:(\d+)/.exec(ours2.line)![1]);
    const vsNfsd: number[] = [];
    const vsOurs: number[] = [];
    const cpuNfsd: number[] = [];
    const cpuOurs: number[] = [];
    try {
      const blk = async (port: number, mountPort: number | undefined, file: string, pid: number) => {
        const c0 = processCpuMs(pid);
        const r = await runBlktest({ host: '127.0.0.1', port, mountPort, exportPath: '/export', file, count: OURS_MIB, wsize: MiB, inflight: 4, stable: 'unstable', policy: 'copy-on-retransmit', timeo: 60_000 });
        if (r.corruptBlocks) throw new Error(`bench linux: ${r.corruptBlocks} corrupt blocks`);
        return { mibs: r.bytes / MiB / (r.durationMs / 1000), cpuPerMiB: (processCpuMs(pid) - c0) / (r.bytes / MiB) };
      };
      for (let r = 0; r < ROUNDS; r++) {
        const a = await blk(nfsd.nfsPort, nfsd.mountPort, `b${r}`, nfsd.guest.pid);
        const b = await blk(ours2Port, undefined, `b${r}`, ours2.proc.pid!);
        vsNfsd.push(a.mibs);
        cpuNfsd.push(a.cpuPerMiB);
        vsOurs.push(b.mibs);
        cpuOurs.push(b.cpuPerMiB);
      }
    } finally {
      await ours2.stop();
      await nfsd.stop();
    }
    out.push(measurement('linux', `our client -> real nfsd (wsize clamped to ${nfsd.maxBlockSize / 1024} KiB)`, median(vsNfsd), 'MiB/s', 'our client -> our server (1 MiB)', median(vsOurs), true, `${spread(vsNfsd)}; ours ${spread(vsOurs)}`));
    out.push(measurement('linux', 'server CPU per MiB: our server process', median(cpuOurs), 'ms/MiB', 'nfsd: whole QEMU TCG process (upper bound)', median(cpuNfsd), false, `${spread(cpuOurs)}; nfsd ${spread(cpuNfsd)}`));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return out;
}
