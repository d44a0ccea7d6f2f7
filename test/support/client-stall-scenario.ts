// Seed 000's sequence, driven through the stalling relay: many 1 MiB PUTs in flight, each from its own Buffer
// filled with the counter pattern and scribbled with 0xdeadbeef the moment its call completes (blktest2's memset).
// A 65 s-equivalent stall fires the 60 s timer, retransmissions queue behind full socket buffers, the replies to the
// originals are released first. Returns the client's own counts and what reached the receiving side.
import { RpcTransport } from '../../client/rpc/transport';
import type { PolicyName } from '../../client/policies';
import { DEADBEEF, fillDeadbeef, fillPattern, verifyPattern, type CorruptBlock } from '../../core/pattern';
import { startResponder, BLOB_PUT } from './client-responder';
import { startStallRelay } from './client-stall-relay';

export interface ScenarioResult {
  stats: RpcTransport['stats'];
  /** call records that arrived at the relay carrying 0xdeadbeef */
  scribbledRecords: number;
  /** blocks of the responder's store that differ from the pattern */
  corrupt: CorruptBlock[];
  stalls: number;
}

export async function runStallScenario(policy: PolicyName, opts: { calls?: number; blockSize?: number; scale?: number; seed?: number } = {}): Promise<ScenarioResult> {
  const calls = opts.calls ?? 40;
  const blockSize = opts.blockSize ?? 1 << 20;
  const scale = opts.scale ?? 0.002;
  const responder = await startResponder();
  const relay = await startStallRelay({ port: responder.port }, DEADBEEF);
  const t = new RpcTransport({ host: '127.0.0.1', port: relay.port, policy, timeo: 60_000, retrans: 2, timeScale: scale, seed: opts.seed ?? 1 });
  try {
    await t.connect();
    // The stall starts once a few calls have fully gone through, so their replies are what the relay holds.
    const stall = relay.stall({ afterBytes: 4 * blockSize, ms: 65_000 * scale, gapMs: 30 });
    await Promise.all(
      Array.from({ length: calls }, async (_, i) => {
        const buf = fillPattern(Buffer.allocUnsafe(blockSize), i * blockSize);
        await t.call(BLOB_PUT, { offset: BigInt(i * blockSize), data: buf }, { borrowed: [buf] });
        fillDeadbeef(buf); // write() returned: blktest2 reuses its buffer at once
      }),
    );
    await stall;
    await t.idle();
    // Everything the client put on the wire must have arrived before the receiving side is judged.
    for (let i = 0; i < 500 && responder.received < t.stats.transmissions; i++) await new Promise((r) => setTimeout(r, 10));
    let scribbledRecords = 0;
    for (const n of relay.scribbled.values()) scribbledRecords += n;
    return { stats: t.stats, scribbledRecords, corrupt: verifyPattern(responder.store(), 0, blockSize), stalls: relay.stalls };
  } finally {
    await t.close();
    await relay.close();
    await responder.close();
  }
}
