// Spawns the built CLI (`nfs-testbed server ...`) as a child process and waits for its `ready` line.
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

export const CLI = path.join(__dirname, '..', '..', 'cli', 'main.js');

export interface ServerChild {
  child: ChildProcess;
  /** the fields of the ready line: nfs, mount, portmap, api ... */
  ready: Record<string, string>;
  nfsPort: number;
  stderr(): string;
  /** SIGTERM (or the given signal) by PID; resolves with the exit code/signal */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnServer(args: string[], timeoutMs = 15_000): Promise<ServerChild> {
  const child = spawn(process.execPath, [CLI, 'server', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ready line within ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    let isReady = false;
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!isReady) reject(new Error(`server exited ${code} before ready: ${err}`));
    });
    child.stdout!.on('data', (c) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('ready '));
      if (!line) return;
      if (isReady) return;
      isReady = true;
      clearTimeout(timer);
      const ready = Object.fromEntries(line.slice(6).split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      resolve({
        child,
        ready,
        nfsPort: Number(ready.nfs.split(':').pop()),
        stderr: () => err,
        stop(signal: NodeJS.Signals = 'SIGTERM') {
          if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
          return exited;
        },
      });
    });
  });
}
