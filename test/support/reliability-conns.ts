// Test support for the limits tests: many raw connections at once, opened in waves (the listen backlog is finite).
import { RawRpc } from '../../testing/server-rpc';

/** Opens n connections, `wave` at a time; a connection the server closes or refuses yields null. */
export async function openMany(port: number, n: number, wave = 100): Promise<Array<RawRpc | null>> {
  const out: Array<RawRpc | null> = [];
  for (let i = 0; i < n; i += wave) {
    const k = Math.min(wave, n - i);
    out.push(...(await Promise.all(Array.from({ length: k }, () => RawRpc.connect(port).catch(() => null)))));
  }
  return out;
}

export function closeAll(conns: Array<RawRpc | null>): void {
  for (const c of conns) c?.close();
}
