// The READ floor (issue 20): what Node itself costs on the READ path, against C doing the same work. Our server's
// READ row is judged against nfs-ganesha, a C server; the floor says how much of that ratio a Node server pays
// before it has done any NFS. Two minimal servers answer the same READ-shaped calls (read-floor/server.c and
// read-floor/server.ts: a 16-byte request in; pread of 1 MiB at the file position, then one writev of a 132-byte
// header and the data out; nothing else), driven by one C client with nfs-cp's pattern (read-floor/client.c: one
// call outstanding, the data written into a tmpfs file). bench/server.ts runs them in its own rounds, judged like
// the servers there: the server process's CPU per MiB from schedstat, every thread.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { startReady, type ReadyChild } from './child';

/** the C sources live in the source tree; dist/ holds only the compiled TypeScript */
const FLOOR_SRC = path.resolve(__dirname, '../../bench/read-floor');
const NODE_SERVER = path.join(__dirname, 'read-floor', 'server.js');

/** gcc -O2 of read-floor/NAME.c into `dir`; its path. */
export function buildFloorProgram(name: 'server' | 'client', dir: string): string {
  const out = path.join(dir, `read-floor-${name}`);
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-o', out, path.join(FLOOR_SRC, `${name}.c`)], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new Error(`gcc read-floor/${name}.c: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`);
  }
  return out;
}

/** A floor server in its own process serving `file`: the built C one (`cServer`, from buildFloorProgram) or, without it, the Node one. */
export function startFloorServer(file: string, cServer?: string): Promise<ReadyChild> {
  return cServer ? startReady([file], 'inherit', cServer) : startReady([NODE_SERVER, file], 'inherit');
}

/** The client: `copies` copies of `size` bytes in calls of `callBytes`, into `out`; throws unless it completed. */
export function floorCopy(client: string, port: number, size: number, callBytes: number, copies: number, out: string): void {
  const r = spawnSync(client, [String(port), String(size), String(callBytes), String(copies), out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`read-floor client: ${r.stderr || r.status}`);
}
