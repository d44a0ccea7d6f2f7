// `nfs-testbed linux client|nfsd`: the real Linux NFS client and the real nfsd in QEMU or UML guests (lab/linux/).
import type { Command } from 'commander';
import { ConfigError } from '../core/errors';
import { formatBytes, parseDuration, parseNumber, parseSize } from '../core/units';
import { runLinuxClient, UML_TRACE_NOTE, type LinuxClientResult } from '../lab/linux/client';
import { GUEST_KINDS, type GuestKind } from '../lab/linux/image';
import { LinuxNfsd, type ReplyCacheStats } from '../lab/linux/nfsd';
import { EXIT } from './exit';
import { parseFaultArg } from './netem';
import { parseHostPort } from '../core/address';
import { optionWithDefault } from './help';

function clientSummary(r: LinuxClientResult): string {
  const ms = r.mountstats.ops.WRITE;
  const lines = [
    `linux client: ${r.kernel} (image ${r.image}), server ${r.server}`,
    `  guest: ${r.guest === 'uml' ? 'user-mode-linux' : 'QEMU (TCG)'}`,
    `  network: ${r.network} — ${r.networkNote}`,
    `  boot to mounted ${(r.bootToMountedMs / 1000).toFixed(2)} s wall (guest uptime ${r.guestMountedS} s); ${r.blktest.writes.length} O_DIRECT write() of ${formatBytes(r.blockSize)}${r.mibPerSec !== null ? `, ${r.mibPerSec} MiB/s` : ''}; verify: ${r.corruptBlocks} corrupt block(s)`,
    ...(r.seedOrder ? [`  seed order (host ms from the stall): retransmission ${r.seedOrder.retransmissionMs}, window closed ${r.seedOrder.windowClosedMs} with ${r.seedOrder.recvQueue} bytes queued, reply ${r.seedOrder.replyReleasedMs}, guest line ${r.seedOrder.guestLineMs}; zero window ${r.seedOrder.zeroWindowMs} ms (TCP_USER_TIMEOUT ${r.seedOrder.userTimeoutMs} ms)`] : []),
    ...r.held.map((h) => `  write ${h.i} returned with ${h.txq} bytes unacknowledged in the client's socket; xid ${h.xid ?? '?'}: ${h.laterCopies} copy(ies) left after the scribble, copies ${h.equal === null ? 'not compared' : h.equal ? 'EQUAL' : 'DIFFER'}`),
    `  mountstats: WRITE ${ms ? `${ms.ops} ops, ${ms.transmissions} transmissions, ${ms.timeouts} timeouts` : 'none'}${r.mountstats.xprt ? `; xprt ${r.mountstats.xprt.connects} connects, ${r.mountstats.xprt.sends} sends, ${r.mountstats.xprt.receives} receives` : ''}`,
    `  tracepoints: ${r.tracepoints ? Object.entries(r.traceCounts).map(([k, v]) => `${k} ${v}`).join(', ') : r.guest === 'uml' ? `none (${UML_TRACE_NOTE})` : 'none (the kernel has no sunrpc events, or tracing is off)'}`,
    `  wire: ${r.duplicatedXids} duplicated XIDs (both legs), ${r.differingDuplicates} WRITE(s) whose copies differ${r.linkDownEvents ? `; link taken down ${r.linkDownEvents}x` : ''}`,
    `${r.verdict}${r.verdictCaveat ? ` (marked: ${r.verdictCaveat})` : ''}`,
    `capture ${r.capture}; console ${r.consoleLog}${r.traceFile ? `; trace ${r.traceFile}` : ''}`,
  ];
  return lines.join('\n');
}

/** --guest: qemu | uml (default: qemu, or what --kernel is). */
function parseGuest(v: string | undefined): GuestKind | undefined {
  if (v === undefined) return undefined;
  if (!(GUEST_KINDS as readonly string[]).includes(v)) throw new ConfigError('BAD_GUEST', `--guest must be ${GUEST_KINDS.join(' or ')}, got "${v}"`);
  return v as GuestKind;
}
const GUEST_HELP = "qemu (Debian's linux-image-cloud-amd64 under QEMU) | uml (Debian's user-mode-linux); with --kernel, what the file is";
const KERNEL_HELP = 'your own kernel instead of Debian\'s: a bzImage (QEMU) or a user-mode-linux binary, told apart by its bytes';

const statsLine = (s: ReplyCacheStats) => Object.entries(s).map(([k, v]) => `${k}=${v}`).join(' ');

export function register(program: Command): void {
  const linux = program.command('linux').description('the real Linux kernel NFS client and nfsd in QEMU or user-mode-linux guests (see README "Linux in the loop")');

  linux
    .command('client')
    .description('run blktest2 on the real Linux NFS client in a guest, against an NFSv3 server, through our netem proxy')
    .requiredOption('--server <host:port>', 'NFSv3 server (MOUNT on the same port unless --mount-port)')
    .requiredOption('--export <path>', 'export path to mount')
    .option('--mount-port <n>', 'MOUNT port when it differs from the NFS port')
    .option('--file <name>', 'file written in the export', 'blktest2.dat')
    .option('--block-size <size>', 'bytes per O_DIRECT write() (a multiple of 4 KiB)', '1MiB')
    .option('--count <n>', 'write() calls', '4')
    .option('--scribble <word>', 'word written over the buffer once write() returns', '0xdeadbeef')
    .option('--timeo <time>', 'RPC timeout (mount option timeo, rounded to 0.1 s)', '60s')
    .option('--retrans <n>', 'mount option retrans', '2')
    .option('--network <mode>', 'auto (tap when root) | tap | user', 'auto')
    .option('--schedule <name>', "none | seed-order (the seed's order on the second WRITE; needs the tap arrangement to hold data in the guest)", 'none')
    .option('--fault <spec>', 'netem fault on the proxy (as for `netem --fault`), repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--link-down <time>', 'take the tap down this long (tap arrangement), every --link-every')
    .option('--link-every <time>', 'period of --link-down', '10s')
    .option('--guest <kind>', GUEST_HELP)
    .option('--kernel <path>', KERNEL_HELP)
    .option('--modules <dir>', "your kernel's lib/modules/<release> folder (else everything must be built in)")
    .option('--no-trace', 'do not enable the sunrpc tracepoints')
    .addOption(optionWithDefault('--out <dir>', 'run folder', 'a fresh temporary folder'))
    .option('--timeout <time>', 'stop the guest if it has not finished by then', '120s')
    .option('--json', 'print exactly one JSON document on stdout')
    .action(async (o) => {
      const server = parseHostPort(o.server, '--server');
      const network = o.network as string;
      if (!['auto', 'tap', 'user'].includes(network)) throw new ConfigError('BAD_NETWORK', `--network must be auto, tap or user, got "${network}"`);
      if (!['none', 'seed-order'].includes(o.schedule)) throw new ConfigError('BAD_SCHEDULE', `--schedule must be none or seed-order, got "${o.schedule}"`);
      const timeoMs = parseDuration(o.timeo, '--timeo');
      const timeo = Math.max(1, Math.round(timeoMs / 100));
      const faults = (o.fault as string[]).map(parseFaultArg);
      const scribble = /^0x[0-9a-f]{1,8}$/i.test(o.scribble) ? parseInt(o.scribble, 16) : parseNumber(o.scribble, '--scribble', 0, 0xffffffff);
      const r = await runLinuxClient({
        server,
        mountPort: o.mountPort !== undefined ? parseNumber(o.mountPort, '--mount-port', 1, 65535) : undefined,
        exportPath: o.export,
        file: o.file,
        blockSize: parseSize(o.blockSize, '--block-size'),
        count: parseNumber(o.count, '--count', 1),
        scribble,
        timeo,
        retrans: parseNumber(o.retrans, '--retrans', 0),
        network: network as 'auto' | 'tap' | 'user',
        faults,
        seedOrder: o.schedule === 'seed-order',
        linkDown: o.linkDown ? { downMs: parseDuration(o.linkDown, '--link-down'), everyMs: parseDuration(o.linkEvery, '--link-every') } : undefined,
        kernel: o.kernel,
        modules: o.modules,
        guest: parseGuest(o.guest),
        trace: o.trace,
        outDir: o.out,
        timeoutMs: parseDuration(o.timeout, '--timeout'),
        onProgress: o.json ? undefined : (l) => process.stderr.write(`linux: ${l}\n`),
      });
      if (o.json) process.stdout.write(JSON.stringify({ ok: r.corruptBlocks === 0, ...r }) + '\n');
      else process.stdout.write(clientSummary(r) + '\n');
      process.exitCode = r.corruptBlocks > 0 ? EXIT.CHECKS_FAILED : EXIT.OK;
    });

  linux
    .command('nfsd')
    .description('run the real Linux nfsd (NFSv3/TCP) in a guest, exported through forwards on 127.0.0.1, until SIGINT/SIGTERM')
    .option('--export-size <size>', 'tmpfs size of the export', '256MiB')
    .option('--threads <n>', 'nfsd threads', '8')
    .option('--mem <size>', 'guest memory (nfsd sizes its max block from it)', '1GiB')
    .option('--guest <kind>', GUEST_HELP)
    .option('--kernel <path>', KERNEL_HELP)
    .option('--modules <dir>', "your kernel's lib/modules/<release> folder")
    .addOption(optionWithDefault('--out <dir>', 'folder for the guest console log', 'a fresh temporary folder'))
    .option('--timeout <time>', 'give up if nfsd is not ready by then', '120s')
    .action(async (o) => {
      const nfsd = await LinuxNfsd.start({
        exportSize: parseSize(o.exportSize, '--export-size'),
        threads: parseNumber(o.threads, '--threads', 1, 512),
        memMiB: Math.round(parseSize(o.mem, '--mem') / (1 << 20)),
        kernel: o.kernel,
        modules: o.modules,
        guest: parseGuest(o.guest),
        outDir: o.out,
        timeoutMs: parseDuration(o.timeout, '--timeout'),
      });
      try {
        const before = await nfsd.replyCacheStats();
        process.stdout.write(
          `ready nfs=127.0.0.1:${nfsd.nfsPort} mount=127.0.0.1:${nfsd.mountPort} export=${nfsd.exportPath} versions=${nfsd.versions} max_block_size=${nfsd.maxBlockSize} kernel="${nfsd.kernel}" guest=${nfsd.guest.kind} pid=${nfsd.guest.pids.join(',')}\n`,
        );
        process.stdout.write(`reply_cache_stats before: ${statsLine(before)}\n`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
          void nfsd.guest.exited.then(() => resolve());
        });
        if (nfsd.guest.running) process.stdout.write(`reply_cache_stats after: ${statsLine(await nfsd.replyCacheStats())}\n`);
        else process.exitCode = EXIT.RUNTIME;
      } finally {
        await nfsd.stop();
      }
    });
}
