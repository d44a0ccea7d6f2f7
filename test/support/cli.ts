// The built CLI as a user runs it (STYLE: the CLI is tested by spawning the built binary). runCli() runs a command
// to its end; runCliAsync() does the same without blocking this event loop (when the command talks to a server
// running in this process); startCli() starts a command that serves until stopped and resolves on its `ready ...`
// line. Every child is stopped by its PID.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

export const CLI = path.join(__dirname, '..', '..', 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** kill the command after this long (real ms; default 120 s; 0: no wall-clock bound, for a CPU-bound command
   * limited by CPU time instead) */
  timeoutMs?: number;
  /** arguments for node before the script (e.g. --max-old-space-size) */
  nodeArgs?: string[];
  /** a command the node process runs under (e.g. /usr/bin/time -f %M -o FILE) */
  wrap?: string[];
  input?: string | Buffer;
}

function argv(args: readonly string[], o: CliOptions): [string, string[]] {
  const node = [...(o.nodeArgs ?? []), CLI, ...args];
  return o.wrap?.length ? [o.wrap[0], [...o.wrap.slice(1), process.execPath, ...node]] : [process.execPath, node];
}

/** Runs `nfs-testbed ...args` to its end. */
export function runCli(args: readonly string[], o: CliOptions = {}): CliResult {
  const [cmd, a] = argv(args, o);
  const r = spawnSync(cmd, a, { encoding: 'utf8', cwd: o.cwd, env: o.env, timeout: o.timeoutMs ?? 120_000, input: o.input, maxBuffer: 1 << 28 });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

/** runCli without blocking this event loop. */
export function runCliAsync(args: readonly string[], o: CliOptions = {}): Promise<CliResult> {
  const [cmd, a] = argv(args, o);
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, a, { cwd: o.cwd, env: o.env, stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], timeout: o.timeoutMs ?? 120_000 });
    let out = '';
    let err = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (err += d));
    if (o.input !== undefined) p.stdin!.end(o.input);
    p.once('error', reject);
    p.once('close', (code, signal) => resolve({ code, signal, out, err }));
  });
}

export interface CliChild {
  child: ChildProcess;
  /** the ready line, and its key=value fields (nfs, mount, api, listen, ...) */
  readyLine: string;
  ready: Record<string, string>;
  /** the first stdout line (seen or to come) that starts with `prefix` */
  line(prefix: string): Promise<string>;
  stderr(): string;
  /** SIGTERM (or the given signal) by PID; resolves with the exit code/signal */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `nfs-testbed ...args` and resolves on its `ready ...` line; rejects if it exits first or is not ready in time. */
export function startCli(args: readonly string[], o: Omit<CliOptions, 'input' | 'wrap'> = {}): Promise<CliChild> {
  const [cmd, a] = argv(args, o);
  const child = spawn(cmd, a, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const timeoutMs = o.timeoutMs ?? 15_000;
  let buf = '';
  let err = '';
  const lines: string[] = [];
  const waiters: Array<{ prefix: string; resolve(l: string): void }> = [];
  child.stderr!.on('data', (c) => (err = (err + c).slice(-64 * 1024)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const stop = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
    return exited;
  };
  const line = (prefix: string) =>
    new Promise<string>((resolve) => {
      const seen = lines.find((l) => l.startsWith(prefix));
      if (seen !== undefined) resolve(seen);
      else waiters.push({ prefix, resolve });
    });
  child.stdout!.on('data', (c) => {
    buf += c;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(l);
      for (const w of waiters.splice(0)) if (l.startsWith(w.prefix)) w.resolve(l);
      else waiters.push(w);
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop('SIGKILL');
      reject(new Error(`${args[0]}: no ready line within ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited ${code} before ready: ${err}`));
    });
    void line('ready ').then((readyLine) => {
      clearTimeout(timer);
      const ready = Object.fromEntries(
        readyLine
          .slice(6)
          .split(' ')
          .filter((kv) => kv.includes('='))
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
      resolve({ child, readyLine, ready, line, stderr: () => err, stop });
    });
  });
}

export interface ServerChild extends CliChild {
  nfsPort: number;
}

/** `nfs-testbed server ...args`, ready. */
export async function spawnServer(args: readonly string[], timeoutMs = 15_000, nodeArgs: string[] = []): Promise<ServerChild> {
  const c = await startCli(['server', ...args], { timeoutMs, nodeArgs });
  return { ...c, nfsPort: Number(c.ready.nfs.split(':').pop()) };
}
