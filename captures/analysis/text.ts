// The readable form of an inspect report: a summary, a table of duplicated XIDs, findings, one verdict line.
import type { InspectReport, DuplicateView } from './report';

/** Rows of the duplicates table before the rest is left to --json; differing duplicates come first. */
const MAX_ROWS = 50;

function fmtSec(x: number | null, model: number | null = null): string {
  return x === null ? '-' : `${x.toFixed(3)}s${model === null ? '' : ` (model ${model.toFixed(1)}s)`}`;
}

function row(d: DuplicateView, legs: boolean): string[] {
  return [
    ...(legs ? [d.leg ?? '-'] : []),
    d.xid,
    d.client,
    d.procedure,
    d.offset ?? '-',
    d.count === null ? '-' : String(d.count),
    String(d.transmissions.length),
    String(d.connections),
    d.equal ? 'equal' : 'DIFFER',
    d.firstDiffOffset === null ? '-' : String(d.firstDiffOffset),
    d.diffBytes === null ? '-' : String(d.diffBytes),
    d.pattern ?? '-',
    d.answered.length ? d.answered.map((n) => `#${n}`).join(',') : 'none',
    fmtSec(d.replyToLaterCopy, d.replyToLaterCopyModel),
  ];
}

function table(head: string[], rows: string[][]): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)];
}

export function renderText(r: InspectReport): string {
  const out: string[] = [];
  for (const f of r.files) {
    const trail = f.trailing ? `; TRUNCATED: ${f.trailing.bytes} bytes of frame ${f.trailing.frame} (${f.trailing.cut}) missing their end` : '';
    const drops = f.captureDrops === null ? '' : f.captureDrops > 0 ? `; LOSSY: tcpdump dropped ${f.captureDrops} packets (its own count)` : '; tcpdump dropped none';
    out.push(`${f.path}: ${f.format}${f.compression ? ` (${f.compression})` : ''}, ${f.packets} packets${trail}${drops}`);
  }
  if (r.time.originIso) out.push(`times: seconds since the first packet (${r.time.originIso})${r.time.timeScale !== null ? `; model seconds at time scale ${r.time.timeScale}` : ''}`);
  out.push(
    `packets ${r.packets}  snaplen-cut ${r.truncatedPackets}  RPC connections ${r.connections} (TCP connections ${r.tcpConnections})  ports ${r.ports.known.join(',')}${r.ports.detected.length ? ` (detected ${r.ports.detected.join(',')})` : ''}`,
  );
  if (r.legs.detected) {
    const c = r.legs.calls;
    out.push(`relay legs: ${r.legs.pairs.length} connection pair(s)${r.legs.named ? ' named by the capture' : ''}; calls on the client leg ${c.client}, server leg ${c.server}, elsewhere ${c.other}; counting the ${r.legs.view === 'all' ? 'both legs' : `${r.legs.view} leg`} (--leg)`);
  }
  out.push(`calls ${r.rpcCalls}  replies ${r.rpcReplies}  WRITE calls ${r.writeCalls} (${r.writeBytes} bytes)  duplicated XIDs ${r.duplicatedXids}  unanswered ${r.unansweredCalls.count}`);
  const dups = [...r.differingDuplicates, ...r.identicalDuplicates];
  if (dups.length) {
    out.push('');
    const shown = dups.slice(0, MAX_ROWS);
    const legs = r.legs.detected;
    out.push(...table([...(legs ? ['leg'] : []), 'xid', 'client', 'procedure', 'offset', 'count', 'tx', 'conns', 'payloads', 'first diff', 'diff bytes', 'pattern', 'answered', 'reply->copy'], shown.map((d) => row(d, legs))));
    if (dups.length > shown.length) out.push(`... ${dups.length - shown.length} more duplicated XIDs (--json lists them)`);
  }
  for (const d of r.differingDuplicates.slice(0, 20)) {
    out.push('');
    out.push(`${d.xid} ${d.procedure} from ${d.client}:`);
    for (const t of d.transmissions) {
      out.push(
        `  #${t.n} frames ${t.frames.first}-${t.frames.last} t=${t.firstTime.toFixed(6)}s${t.modelTime === null ? '' : ` (model ${t.modelTime.toFixed(3)}s)`} ${t.connection} sha1 ${t.payloadSha1?.slice(0, 16) ?? '-'}` +
          `${t.n > 1 ? (t.equalToFirst ? ' = #1' : ` differs from #1 at ${t.firstDiffOffset} (${t.diffBytes} bytes, ${t.pattern?.kind ?? '?'})`) : ''}` +
          `${t.replies.length ? `; replied in frame ${t.replies.map((x) => x.frame).join(',')}` : '; no reply'}`,
      );
    }
    if (d.journal) {
      const j = d.journal;
      out.push(`  journal: ${j.rows.length} row(s) (${j.rows.map((r) => `${r.outcome}${r.transmission ? ` #${r.transmission}` : ' (no matching copy)'}`).join(', ') || 'none'}); executed ${j.executed.map((n) => `#${n}`).join(',') || 'none'}`);
      for (const b of j.blocks) out.push(`    bytes ${b.from}-${b.to}: ${b.transmission ? `copy #${b.transmission}` : b.xid ? `another write (${b.xid})` : 'not written'}`);
    }
  }
  if (r.tcpRetransmissionDiffCount) {
    out.push('', `TCP retransmissions with different bytes: ${r.tcpRetransmissionDiffCount}`);
    for (const t of r.tcpRetransmissionDiffs.slice(0, 20)) out.push(`  frame ${t.frame} (first copy frame ${t.originalFrame}) ${t.direction} stream offset ${t.streamOffset}: ${t.differingBytes} of ${t.length} bytes differ`);
  }
  const c = r.streamFindings.counts;
  if (c['gap-resync'] || c['record-lost'] || c['malformed-message']) {
    out.push('', `capture gaps: ${c['gap-resync']} resynchronisations, ${c['record-lost']} records lost, ${c['malformed-message']} malformed messages`);
  }
  if (r.unansweredCalls.count) {
    out.push('', `unanswered calls: ${r.unansweredCalls.count}` + (r.unansweredCalls.list.length ? ` (first: ${r.unansweredCalls.list.slice(0, 5).map((u) => `${u.xid} ${u.procedure} frame ${u.frame}`).join('; ')})` : ''));
  }
  out.push('', r.verdict);
  return out.join('\n') + '\n';
}
