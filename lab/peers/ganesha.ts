// Starts Debian's nfs-ganesha (VFS export, NFSv3/TCP only, loopback) as a reference server for interop tests and
// benchmarks. One ganesha at a time per machine (it registers with the one rpcbind), so starts are serialised by
// a lock directory shared across processes. Every process started here is stopped by its PID.
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TestbedError } from '../../core/errors';
import { tiedToParent, which } from './tools';

export interface Ganesha {
  host: string;
  /** NFS and MOUNT ports (ganesha serves them on separate ports) */
  port: number;
  mountPort: number;
  /** the exported directory on the local filesystem */
  exportDir: string;
  /** export path clients mount */
  exportPath: string;
  /** nfs:// URL for libnfs tools, for a file NAME in the export */
  url(name: string): string;
  /** the ganesha.nfsd process (run in the foreground, so it is our child) */
  pid: number;
  stop(): Promise<void>;
}

// Machine-wide, never under $TMPDIR: every ganesha registers with the one rpcbind on port 111, so runs with
// different temp dirs (the test runner gives each suite its own) must still take turns.
const LOCK = path.join(fs.existsSync('/run/lock') ? '/run/lock' : '/tmp', 'nfs-testbed-ganesha.lock');

/** The installed ganesha's release ("4.3" from `ganesha.nfsd -v`: "NFS-Ganesha Release = V4.3"), or undefined. */
export function ganeshaRelease(): string | undefined {
  const bin = which('ganesha.nfsd');
  if (!bin) return undefined;
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8', timeout: 10_000 });
  return /Release = V(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1];
}

export function ganeshaMissing(): string | undefined {
  if (!which('ganesha.nfsd') || !which('rpcbind')) return 'needs ganesha.nfsd and rpcbind (Debian nfs-ganesha nfs-ganesha-vfs rpcbind); .ci/run installs them';
  if (!fs.existsSync('/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so') && !fs.existsSync('/usr/lib/ganesha/libfsalvfs.so')) return 'needs nfs-ganesha-vfs (FSAL VFS)';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'nfs-ganesha VFS needs root';
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function acquireLock(timeoutMs: number): Promise<() => void> {
  const t0 = Date.now();
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      return () => fs.rmSync(LOCK, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(path.join(LOCK, 'pid'), 'utf8'));
      } catch {
        /* being created */
      }
      if (Number.isFinite(owner) && owner > 0 && !alive(owner)) fs.rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() - t0 > timeoutMs) throw new TestbedError('GANESHA_LOCK', `waited ${timeoutMs} ms for ${LOCK}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

function stopChild(child: ChildProcess | undefined, timeoutMs = 5000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null || !child.pid) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      try {
        process.kill(child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    try {
      process.kill(child.pid!, 'SIGTERM');
    } catch {
      clearTimeout(t);
      resolve();
    }
  });
}

/**
 * Starts rpcbind (if none listens on 111) and ganesha exporting `exportDir` (a fresh temp dir by default) as
 * /export on 127.0.0.1. Resolves when the log says NFS SERVER INITIALIZED.
 */
export async function startGanesha(opts: { exportDir?: string; lockTimeoutMs?: number; readyTimeoutMs?: number } = {}): Promise<Ganesha> {
  const why = ganeshaMissing();
  if (why) throw new TestbedError('GANESHA_MISSING', why);
  const release = await acquireLock(opts.lockTimeoutMs ?? 300_000);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-testbed-ganesha-'));
  const exportDir = opts.exportDir ?? path.join(work, 'export');
  fs.mkdirSync(exportDir, { recursive: true });
  fs.mkdirSync(path.join(work, 'recov'), { recursive: true });
  let rpcbind: ChildProcess | undefined;
  let ganesha: ChildProcess | undefined;
  const cleanup = async () => {
    await stopChild(ganesha);
    await stopChild(rpcbind);
    fs.rmSync(work, { recursive: true, force: true });
    release();
  };
  try {
    if (!(await portOpen(111))) {
      const tied = tiedToParent(which('rpcbind')!, ['-f']);
      rpcbind = spawn(tied.cmd, tied.argv, { stdio: 'ignore' });
      for (let i = 0; i < 50 && !(await portOpen(111)); i++) await new Promise((r) => setTimeout(r, 100));
    }
    const [port, mountPort, nlm, rquota] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const pluginDir = fs.existsSync('/usr/lib/x86_64-linux-gnu/ganesha') ? '/usr/lib/x86_64-linux-gnu/ganesha' : '/usr/lib/ganesha';
    const conf = `NFS_CORE_PARAM {
  Bind_addr = 127.0.0.1; NFS_Port = ${port}; MNT_Port = ${mountPort}; NLM_Port = ${nlm}; Rquota_Port = ${rquota};
  Protocols = 3; Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; mount_path_pseudo = true;
  Plugins_Dir = "${pluginDir}";
}
NFSV4 { Graceless = true; RecoveryRoot = "${path.join(work, 'recov')}"; }
NFS_KRB5 { Active_krb5 = false; }
EXPORT {
  Export_Id = 1; Path = ${exportDir}; Pseudo = /export; Protocols = 3; Transports = TCP;
  Access_Type = RW; Squash = No_Root_Squash; SecType = sys;
  FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
`;
    const confPath = path.join(work, 'ganesha.conf');
    const logPath = path.join(work, 'ganesha.log');
    fs.writeFileSync(confPath, conf);
    // Tied to this process (tools.ts tiedToParent): a killed bench or test file leaves no ganesha holding its ports.
    const tied = tiedToParent(which('ganesha.nfsd')!, ['-F', '-L', logPath, '-f', confPath, '-p', path.join(work, 'ganesha.pid')]);
    ganesha = spawn(tied.cmd, tied.argv, { stdio: 'ignore' });
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
    for (;;) {
      const log = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '';
      if (log.includes('NFS SERVER INITIALIZED')) break;
      if (ganesha.exitCode !== null) throw new TestbedError('GANESHA_START', `ganesha exited ${ganesha.exitCode}: ${log.split('\n').slice(-5).join(' | ')}`);
      if (Date.now() > deadline) throw new TestbedError('GANESHA_START', `ganesha not ready: ${log.split('\n').slice(-5).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The log line can precede the listener by a moment.
    for (let i = 0; i < 50 && !(await portOpen(port)); i++) await new Promise((r) => setTimeout(r, 100));
    return {
      host: '127.0.0.1',
      port,
      mountPort,
      exportDir,
      exportPath: '/export',
      url: (name: string) => `nfs://127.0.0.1/export/${name}?nfsport=${port}&mountport=${mountPort}&version=3`,
      pid: ganesha.pid!,
      stop: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
