// Run records shaped like the seed's reproduction at time scale 0.001 (65 s stall = 65 real ms), for the results
// database and dashboard tests. The event order per XID is the seed's tap trace: transmit, stall, timeout after
// timeo, retransmit queued behind the stall, reply released first (downstream), complete, scribble, then the
// queued duplicate leaves late and the server executes it.
import type { RunRecord, Timeline, TimelineEvent, TimelineRow, Verdict } from '../../lab/run-record';

export const SCALE = 0.001;

/** Real ms for a modelled second at SCALE. */
const at = (modelSec: number) => modelSec * 1000 * SCALE;

/** The affected XIDs of seededTimeline(), in row order. */
export const AFFECTED_XIDS = ['0x5f3a1c01', '0x5f3a1c02', '0x5f3a1c03'];

/**
 * Three WRITEs caught by one 65 s stall (both directions from 2 s, downstream released at 67 s, upstream 0.4 s
 * later by backoff). Each row has one mark of every kind: 8 kinds x 3 rows; two stall windows.
 */
export function seededTimeline(): Timeline {
  const rows = AFFECTED_XIDS.map((xid, i) => {
    const d = i * 0.1; // the three wsize slices leave a little apart, all before the stall
    const events: TimelineEvent[] = [
      { t: at(1.7 + d), kind: 'transmit', detail: `WRITE offset ${i * 65536} count 65536` },
      { t: at(1.75 + d), kind: 'server-exec', detail: 'executed (counter pattern)' },
      { t: at(61.7 + d), kind: 'timeout', detail: 'minor timeout after timeo 60 s' },
      { t: at(61.71 + d), kind: 'retransmit-queued', detail: 'queued behind the stalled socket' },
      { t: at(67.0 + i * 0.001), kind: 'reply', detail: 'NFS3_OK (original transmission)' },
      { t: at(67.001 + i * 0.001), kind: 'complete' },
      { t: at(67.002 + i * 0.001), kind: 'scribble', detail: 'buffer filled with 0xdeadbeef' },
      { t: at(67.4 + i * 0.001), kind: 'late-transmit', detail: 'duplicate sent from released buffer' },
      { t: at(67.45 + i * 0.001), kind: 'server-exec', detail: 'executed duplicate (DRC off): 0xdeadbeef' },
    ];
    return { xid, harm: 'executed-scribbled', events } satisfies TimelineRow;
  });
  return {
    rows,
    stalls: [
      { start: at(2), end: at(67), direction: 'both' },
      { start: at(67), end: at(67.4), direction: 'upstream' },
    ],
    end: at(70),
  };
}

export function makeRecord(over: Partial<RunRecord> & { runId: string }, config: Partial<RunRecord['config']> = {}): RunRecord {
  const verdict: Verdict = over.verdict ?? 'reproduced';
  const bad = verdict === 'reproduced' ? 3 : 0;
  return {
    startedAt: '2026-11-21T19:00:00.000Z',
    durationMs: 912,
    version: '0.1.0',
    verdict,
    counters: {
      writes: 64,
      bytes: 64 * 1048576,
      retransmissions: 3,
      lateTransmissions: bad,
      partialDuplicates: 0,
      scribbledOnWire: bad,
      executedScribbled: bad,
      corruptBlocks: bad ? 1 : 0,
      throughputMiBps: 70.2,
    },
    summary: bad
      ? [`REPRODUCED — ${bad} retransmitted WRITEs carried 0xdeadbeef on the wire (xids ${AFFECTED_XIDS.join(' ')})`]
      : ['not reproduced — 0 scribbled bytes on the wire'],
    capture: `captures/runs/${over.runId}/capture.pcap`,
    netemEvents: [
      { t: at(2), event: 'stall-start', direction: 'both', afterPackets: 1000 },
      { t: at(67), event: 'stall-end', direction: 'downstream' },
      { t: at(67.4), event: 'stall-end', direction: 'upstream', backoffMs: 400 },
    ],
    traceSummary: { calls: 64, transmissions: 67, lateTransmissions: bad },
    findings: { scribbledDuplicates: AFFECTED_XIDS.slice(0, bad) },
    timeline: seededTimeline(),
    ...over,
    config: {
      policy: 'linux-2008',
      drc: 'off',
      scenario: 'stall',
      seed: 1,
      timeScale: SCALE,
      timeo: '60s',
      retrans: 2,
      stall: { duration: '65s', every: 1000, unit: 'packets', resume: 'backoff' },
      ...config,
    },
  };
}

/** The XID of harmlessLateRow(). */
export const HARMLESS_XID = '0x5f3a1c04';

/**
 * A fourth WRITE of the same stall whose duplicate left the socket after the reply but before the caller scribbled
 * the buffer (the other slices of its write() were still outstanding): late, but it carried the call's own bytes.
 */
export function harmlessLateRow(): TimelineRow {
  return {
    xid: HARMLESS_XID,
    harm: 'late-before-scribble',
    events: [
      { t: at(1.9), kind: 'transmit', detail: 'WRITE offset 196608 count 65536' },
      { t: at(1.95), kind: 'server-exec', detail: 'executed' },
      { t: at(61.9), kind: 'timeout' },
      { t: at(61.91), kind: 'retransmit-queued' },
      { t: at(67.003), kind: 'reply' },
      { t: at(67.004), kind: 'complete' },
      { t: at(67.2), kind: 'late-transmit', detail: 'attempt 1' },
      { t: at(67.5), kind: 'scribble' },
      { t: at(67.55), kind: 'server-exec', detail: 'executed' },
    ],
  };
}
