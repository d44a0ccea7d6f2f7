// Regression: server, netem and dashboard installed their SIGTERM handlers just AFTER printing `ready`, so a
// supervisor that sent SIGTERM as soon as it read the line killed the process unhandled (netem: 6 of 10 spawns
// under CPU contention), skipping its cleanup. The handlers now exist before the line (cli/signals.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCli } from './support/cli';

/** SIGTERM by PID the moment the ready line has been read. */
async function termAtReady(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return (await startCli(args, { timeoutMs: 60_000 })).stop('SIGTERM');
}

test('SIGTERM sent the moment `ready` is read ends server, netem and dashboard cleanly (exit 0)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-sigterm-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const commands: Array<[string[], number]> = [
    [['netem', '--upstream', '127.0.0.1:9', '--no-rpc'], 10],
    [['server', '--export', dir, '--state-dir', path.join(dir, '.state')], 4],
    [['dashboard', '--listen', '127.0.0.1:0', '--db', path.join(dir, 'runs.db')], 4],
  ];
  for (const [args, times] of commands) {
    for (let i = 0; i < times; i++) assert.deepEqual(await termAtReady(args), { code: 0, signal: null }, `${args[0]} #${i}`);
  }
});
