// `npm run fuzz`: the decoder fuzzer, then the server fuzzer against a fresh in-process server on a temp export.
// One summary (inputs, crashes, hangs, RSS start/end); exit code 3 when anything was found (cli/exit.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { memoryLogger } from '../../core/log';
import { startServer } from '../../server';
import { DecoderFuzzSummary, fuzzDecoders } from './decoders';
import { ServerFuzzSummary, fuzzServer, liveCalls } from './server';

export interface CampaignOptions {
  seed: number;
  decoderInputs: number;
  serverInputs: number;
  targets?: string[];
  progress?: (line: string) => void;
}

export interface CampaignSummary {
  decoders: DecoderFuzzSummary;
  server?: ServerFuzzSummary & { rss: { startBytes: number; endBytes: number }; serverErrors: number };
  ok: boolean;
}

export async function runCampaign(o: CampaignOptions): Promise<CampaignSummary> {
  const say = o.progress ?? (() => {});
  const step = Math.max(1, Math.floor(o.decoderInputs / 20));
  let shown = 0;
  const decoders = await fuzzDecoders({
    seed: o.seed,
    inputs: o.decoderInputs,
    targets: o.targets,
    onProgress: (n) => {
      if (n - shown >= step) say(`decoders: ${(shown = n)} / ${o.decoderInputs}`);
    },
  });
  say(`decoders: ${decoders.inputs} inputs, ${decoders.crashes} crashes, ${decoders.hangs} hangs, ${decoders.allocs} over-allocations`);
  let server: CampaignSummary['server'];
  if (o.serverInputs > 0) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-fuzz-'));
    fs.mkdirSync(path.join(dir, 'export'));
    const logger = memoryLogger();
    const srv = await startServer({ exportDir: path.join(dir, 'export'), stateDir: path.join(dir, 'state'), journal: ':memory:', logger });
    try {
      const calls = await liveCalls(srv.address.port);
      const startBytes = process.memoryUsage.rss();
      let shownS = 0;
      const s = await fuzzServer({
        port: srv.address.port,
        seed: o.seed,
        inputs: o.serverInputs,
        calls,
        onProgress: (n) => {
          if (n - shownS >= Math.max(1, o.serverInputs / 10)) say(`server: ${(shownS = n)} / ${o.serverInputs}`);
        },
      });
      const serverErrors = logger.lines.filter((l) => l.startsWith('error')).length;
      server = { ...s, rss: { startBytes, endBytes: process.memoryUsage.rss() }, serverErrors };
      say(`server: ${s.inputs} inputs, ${s.findings.length} findings, replies ${JSON.stringify(s.replies)}`);
    } finally {
      await srv.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const ok = decoders.crashes + decoders.hangs + decoders.allocs === 0 && (!server || server.findings.length === 0);
  return { decoders, server, ok };
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** The human summary `npm run fuzz` prints. */
export function formatCampaign(c: CampaignSummary): string {
  const d = c.decoders;
  const lines = [
    `decoder fuzzing (seed ${d.seed}): ${d.inputs} inputs, ${d.crashes} crashes, ${d.hangs} hangs, ${d.allocs} over-allocations`,
    `  targets: ${Object.entries(d.targets).map(([k, v]) => `${k} ${v.inputs} (${v.accepted} accepted)`).join(', ')}`,
    `  typed rejections: ${Object.entries(d.codes).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  largest ArrayBuffer growth in one input: ${mib(d.maxInputGrowthBytes)}; RSS start ${mib(d.rss.startBytes)}, end ${mib(d.rss.endBytes)}`,
  ];
  if (c.server) {
    const s = c.server;
    lines.push(
      `server fuzzing: ${s.inputs} inputs (${s.framedCalls} framed calls, ${s.rawStreams} raw streams), ${s.findings.length} findings, ${s.serverErrors} server error lines`,
      `  replies: ${Object.entries(s.replies).map(([k, v]) => `${k} ${v}`).join(', ')}; dropped unreadable: ${s.unanswered}; connections closed by the server: ${s.closedByServer}`,
      `  RSS start ${mib(s.rss.startBytes)}, end ${mib(s.rss.endBytes)}`,
    );
  }
  for (const f of [...d.findings, ...(c.server?.findings ?? [])]) lines.push(`  finding: ${JSON.stringify(f)}`);
  lines.push(c.ok ? 'result: no crashes, no hangs' : 'result: FINDINGS (see above)');
  return lines.join('\n');
}
