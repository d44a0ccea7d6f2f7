// A node script (or, with `command`, a native program) in its own process (own event loop, own core), started and
// stopped by PID: the benches' servers, sinks, responders and floors, and their tests. Each prints a line starting
// `ready` once it listens.
import { spawn, type ChildProcess } from 'node:child_process';
import { tiedToParent } from '../lab/peers/tools';

export interface ReadyChild {
  proc: ChildProcess;
  /** the first line the child printed that starts with `ready` */
  line: string;
  /** SIGTERM by PID; resolves once the process has exited */
  stop(): Promise<void>;
}

/** Runs `node ...args` (or `command ...args`) until it prints a `ready` line; rejects if it exits first. */
export async function startReady(args: string[], stderr: 'inherit' | 'ignore' = 'inherit', command = process.execPath): Promise<ReadyChild> {
  // Tied to the bench (lab/peers/tools.ts tiedToParent): a bench killed mid-run leaves no server or sink behind.
  const tied = tiedToParent(command, args);
  const proc = spawn(tied.cmd, tied.argv, { stdio: ['ignore', 'pipe', stderr] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d) => {
      buf += d;
      const l = buf.split('\n').find((x) => x.startsWith('ready'));
      if (l) resolve(l);
    });
    proc.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code} before ready`)));
  });
  return {
    proc,
    line,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        process.kill(proc.pid!, 'SIGTERM');
      }),
  };
}
