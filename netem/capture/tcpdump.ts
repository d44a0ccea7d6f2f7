// `--capture-with tcpdump`: capture the real loopback traffic of both legs instead of synthesizing it (needs root
// and tcpdump). The tcpdump process is stopped by its PID.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { CaptureError } from '../../core/errors';

/**
 * What tcpdump said of its capture as it exited (pcap_stats(3PCAP), printed by tcpdump's info()): packets written,
 * packets the filter accepted, and packets the kernel dropped because tcpdump's ring buffer was full. The proxy's own
 * capture never drops one (a capture that cannot keep up slows the relay); tcpdump's can, on loopback at full speed
 * (issue 20 measured 22-68%), so a tcpdump capture says how lossy it is.
 */
export interface TcpdumpStats {
  captured: number;
  receivedByFilter: number;
  droppedByKernel: number;
}

export interface TcpdumpCapture {
  pid: number;
  /** Stops tcpdump; resolves with its counts, or undefined when it printed none (killed, or an unknown format). */
  stop(): Promise<TcpdumpStats | undefined>;
}

/** tcpdump's exit lines ("N packets captured", "N packets received by filter", "N packets dropped by kernel"). */
export function parseTcpdumpStats(stderr: string): TcpdumpStats | undefined {
  const count = (what: string) => {
    const m = new RegExp(`^(\\d+) packets? ${what}$`, 'm').exec(stderr);
    return m ? Number(m[1]) : undefined;
  };
  const captured = count('captured');
  const receivedByFilter = count('received by filter');
  const droppedByKernel = count('dropped by kernel');
  if (captured === undefined || receivedByFilter === undefined || droppedByKernel === undefined) return undefined;
  return { captured, receivedByFilter, droppedByKernel };
}

/** Keep the end of what tcpdump writes after "listening on": its exit counts, and any late error. */
const STDERR_TAIL = 4096;

export async function startTcpdump(file: string, ports: number[], iface = 'lo'): Promise<TcpdumpCapture> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new CaptureError('CAPTURE_TCPDUMP', 'tcpdump capture needs root');
  const filter = ports.map((p) => `tcp port ${p}`).join(' or ');
  // --immediate-mode -U: deliver and write each packet at once, so the file is complete when tcpdump exits on SIGTERM
  const child = spawn('tcpdump', ['-i', iface, '--immediate-mode', '-U', '-B', '262144', '-s', '0', '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const onData = (d: Buffer) => {
      err += d;
      if (/listening on/.test(err)) {
        child.stderr!.off('data', onData);
        child.stderr!.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-STDERR_TAIL)));
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.once('error', (e) => reject(new CaptureError('CAPTURE_TCPDUMP', `cannot run tcpdump: ${e.message}`)));
    child.once('exit', (code) => reject(new CaptureError('CAPTURE_TCPDUMP', `tcpdump exited ${code}: ${err.trim()}`)));
  });
  // 'close', not 'exit': the counts are tcpdump's last words, read once its stderr has ended
  const exited = new Promise<void>((res) => child.once('close', () => res()));
  return {
    pid: child.pid!,
    async stop() {
      // tcpdump exits on SIGTERM without reading what is still in its kernel ring; under load that can be every
      // packet. Wait until the file has stopped growing (and has more than the 24-byte header) before stopping.
      await settled(file);
      if (child.exitCode === null) process.kill(child.pid!, 'SIGTERM');
      await exited;
      return parseTcpdumpStats(tail);
    },
  };
}

/** Resolves once `file` has kept its size for 300 ms, having more than a pcap header, or after 3 s. */
async function settled(file: string): Promise<void> {
  const size = () => {
    try {
      return fs.statSync(file).size;
    } catch {
      return 0;
    }
  };
  const deadline = Date.now() + 3000;
  let last = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const n = size();
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (n > 24 && Date.now() - since >= 300) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
