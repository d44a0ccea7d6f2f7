// `nfs-testbed inspect FILE...`: read NFS captures and report duplicated XIDs whose payloads differ.
// Exit 3 when a duplicated XID (or a retransmitted TCP segment) carried different bytes, 5 when the capture holds
// no RPC at all, 6 when --hexdiff names an XID that is not there, 0 otherwise.
import type { Command } from 'commander';
import { ConfigError } from '../core/errors';
import { inspectFilesDetailed, hexDiff } from '../captures/inspect';
import type { AnnotateResult } from '../captures/annotate';
import { EXIT } from './exit';
import { formatSize, parseNumber, parseSize } from '../core/units';
import { LEG_CHOICES, type LegChoice } from '../captures/analysis/legs';
import { DEFAULT_MAX_BUFFERED } from '../captures/budget';
import { MAX_UNPACK_RATIO, MIN_UNPACKED_LIMIT } from '../captures/source';
import { optionWithDefault } from './help';

interface InspectCliOptions {
  port: string[];
  json?: boolean;
  hexdiff?: string;
  exportPayloads?: string;
  journal?: string;
  maxBuffered?: string;
  maxUnpacked?: string;
  leg?: string;
  timeScale?: string;
  annotate?: string;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function parsePort(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new ConfigError('BAD_PORT', `--port: expected 1..65535, got "${text}"`);
  return n;
}

/** An XID as inspect prints it (0x1a2b3c4d), bare hex with a letter (1a2b3c4d), or decimal (439041101). */
export function parseXid(text: string): number {
  const t = text.trim().toLowerCase();
  const n = /^0x[0-9a-f]{1,8}$/.test(t) ? parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? Number(t) : /^[0-9a-f]{1,8}$/.test(t) ? parseInt(t, 16) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new ConfigError('BAD_XID', `--hexdiff: expected an XID in hex (0x1a2b3c4d) or decimal, got "${text}"`);
  return n;
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('read NFS captures (pcap, pcapng, .bz2/.gz) and report duplicated XIDs whose payloads differ')
    .argument('<files...>', 'capture files')
    .option('--port <n>', 'a server port carrying RPC besides 2049/111 (repeatable; others are detected)', collect, [])
    .option('--json', 'print exactly one JSON document')
    .option('--hexdiff <xid>', 'print where the transmissions of this XID differ, in hex')
    .option('--export-payloads <dir>', 'write each transmission payload of every duplicated XID into DIR')
    .option('--journal <file>', 'server write journal (SQLite) to join: which copy was executed and which the file holds')
    .option('--annotate <out.pcapng>', 'also write a pcapng copy with packet comments on every copy of a duplicated XID and on fault events')
    .addOption(optionWithDefault('--leg <leg>', 'a relay capture with both legs: count the client leg, the server leg, or all', 'client'))
    .addOption(optionWithDefault('--time-scale <x>', "the run's time scale, for modelled seconds", "from the capture or netem's FILE.events.jsonl"))
    .addOption(optionWithDefault('--max-buffered <size>', 'memory all TCP streams together may hold in unfinished records', formatSize(DEFAULT_MAX_BUFFERED)))
    .addOption(optionWithDefault('--max-unpacked <size>', 'most bytes a .gz/.bz2 capture may unpack to', `${MAX_UNPACK_RATIO}x its size, at least ${formatSize(MIN_UNPACKED_LIMIT)}`))
    .action(async (files: string[], opts: InspectCliOptions) => {
      const ports = opts.port.map(parsePort);
      const hexdiffXid = opts.hexdiff === undefined ? undefined : parseXid(opts.hexdiff);
      const maxBuffered = opts.maxBuffered === undefined ? undefined : parseSize(opts.maxBuffered, '--max-buffered');
      const maxUnpacked = opts.maxUnpacked === undefined ? undefined : parseSize(opts.maxUnpacked, '--max-unpacked');
      if (opts.leg !== undefined && !LEG_CHOICES.includes(opts.leg as LegChoice)) throw new ConfigError('BAD_LEG', `--leg: expected ${LEG_CHOICES.join('|')}, got "${opts.leg}"`);
      const leg = opts.leg as LegChoice | undefined;
      const timeScale = opts.timeScale === undefined ? undefined : parseNumber(opts.timeScale, '--time-scale', 1e-9);
      const result = await inspectFilesDetailed(files, { ports, hexdiffXid, exportPayloadsDir: opts.exportPayloads, journal: opts.journal, maxBuffered, maxUnpacked, leg, timeScale });
      const r = result.report;
      if (hexdiffXid !== undefined) {
        // Just the diff: the report is what inspect without --hexdiff prints.
        const found = result.transmissions.some((t) => t.xid === hexdiffXid);
        const lines = hexDiff(result, hexdiffXid);
        if (opts.json) process.stdout.write(JSON.stringify({ xid: `0x${hexdiffXid.toString(16).padStart(8, '0')}`, found, hexdiff: lines }, null, 2) + '\n');
        else process.stdout.write(lines.join('\n') + '\n');
        process.exitCode = !found ? EXIT.NOT_FOUND : r.corrupted ? EXIT.CHECKS_FAILED : EXIT.OK;
        return;
      }
      let annotated: AnnotateResult | undefined;
      // The text renderer and the annotator are loaded only when asked for: `inspect --json` starts faster (issue 20).
      if (opts.annotate) annotated = await (require('../captures/annotate') as typeof import('../captures/annotate')).annotate(files, opts.annotate, { ports, journal: opts.journal, maxBuffered, maxUnpacked, timeScale });
      if (opts.json) {
        const doc = { ...r, ...(opts.exportPayloads ? { exported: result.exported } : {}), ...(annotated ? { annotated: { file: opts.annotate, ...annotated } } : {}) };
        process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
      } else {
        let text = (require('../captures/analysis/text') as typeof import('../captures/analysis/text')).renderText(r);
        if (opts.exportPayloads) text += `exported ${result.exported.length} payload files to ${opts.exportPayloads}\n`;
        if (annotated) text += `annotated ${annotated.packets} packets into ${opts.annotate}: ${annotated.commentedPackets} with comments (${annotated.differingFrames.length} differing copies, ${annotated.eventComments} fault events)\n`;
        process.stdout.write(text);
      }
      // No RPC found is no clean result: nothing was checked (README "Exit codes").
      process.exitCode = r.rpcCalls + r.rpcReplies === 0 ? EXIT.NO_RPC : r.corrupted ? EXIT.CHECKS_FAILED : EXIT.OK;
    });
}
