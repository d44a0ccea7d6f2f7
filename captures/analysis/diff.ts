// Where two copies of a payload differ and what the differing bytes look like. The seed's corruption is a
// buffer refilled with 0xdeadbeef after the first transmission (seeds/000): a 32-bit fill pattern.

/** Fill words worth naming when they appear. */
export const KNOWN_FILLS: Readonly<Record<number, string>> = {
  0xdeadbeef: 'DEADBEEF',
  0xbaadf00d: 'BAADF00D',
  0xcafebabe: 'CAFEBABE',
  0xfeedface: 'FEEDFACE',
  0xa5a5a5a5: 'A5 poison',
  0x6b6b6b6b: 'slab POISON_FREE',
  0x5a5a5a5a: 'slab POISON_INUSE',
  0xffffffff: 'all ones',
};

export interface PatternInfo {
  /** 'zero', 'fill32' (one 32-bit word repeated) or 'other' */
  kind: 'zero' | 'fill32' | 'other';
  /** the repeated word as 0x-prefixed 8-digit hex, for fill32 and zero */
  word?: string;
  name?: string;
  /** which copy holds the fill: the later transmission or the earlier one */
  in?: 'later' | 'earlier';
}

export interface PayloadDiff {
  equal: boolean;
  /** first differing byte offset within the payload, null when equal */
  firstDiffOffset: number | null;
  lastDiffOffset: number | null;
  /** differing bytes, counting a length difference as differing bytes */
  diffBytes: number;
  pattern: PatternInfo | null;
}

export function hex32(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}

/** Compares a (earlier copy) with b (later copy). */
export function diffPayloads(a: Buffer, b: Buffer): PayloadDiff {
  if (a.equals(b)) return { equal: true, firstDiffOffset: null, lastDiffOffset: null, diffBytes: 0, pattern: null };
  const n = Math.min(a.length, b.length);
  let first = -1;
  let last = -1;
  let diff = Math.abs(a.length - b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      if (first < 0) first = i;
      last = i;
      diff++;
    }
  }
  if (first < 0) {
    first = n;
    last = Math.max(a.length, b.length) - 1;
  }
  const pattern = classify(b, first, last) ?? classify(a, first, last, 'earlier') ?? { kind: 'other' as const };
  return { equal: false, firstDiffOffset: first, lastDiffOffset: last, diffBytes: diff, pattern };
}

/**
 * Is the whole differing span [first, last] of `x` one aligned 32-bit word repeated? Every byte of the span is
 * checked, not only the differing ones: a counter refilled for another block differs from the original in one
 * byte per word, and those bytes alone would look like a fill.
 *
 * The word is read from the first aligned word wholly inside the span. A partial duplicate (part of the record
 * in the socket before the buffer was refilled, the rest after) changes at whatever byte the socket's write
 * stopped at, not at a word boundary: the bytes before `first` in that word are still the first copy's.
 */
function classify(x: Buffer, first: number, last: number, which: 'later' | 'earlier' = 'later'): PatternInfo | null {
  const end = Math.min(last, x.length - 1);
  const aligned = (first + 3) & ~3;
  const at = aligned + 3 <= end ? aligned : first & ~3;
  if (at + 4 > x.length) return null;
  const w = [x[at], x[at + 1], x[at + 2], x[at + 3]];
  for (let i = first; i <= end; i++) if (x[i] !== w[i & 3]) return null;
  const word = ((w[0] << 24) | (w[1] << 16) | (w[2] << 8) | w[3]) >>> 0;
  if (word === 0) return { kind: 'zero', word: hex32(0), in: which };
  const name = KNOWN_FILLS[word];
  return { kind: 'fill32', word: hex32(word), ...(name ? { name } : {}), in: which };
}

/** A short label: "fill32 0xdeadbeef (DEADBEEF)", "zero", "other". */
export function patternLabel(p: PatternInfo | null): string {
  if (!p) return '-';
  if (p.kind === 'fill32') return `fill32 ${p.word}${p.name ? ` (${p.name})` : ''}`;
  return p.kind;
}

/**
 * Hex rows (16 bytes) where a and b differ: the first `perRegion` rows of each run of differing rows, then a
 * line saying how far the run goes; at most maxRows rows in all.
 */
export function hexDiffLines(a: Buffer, b: Buffer, labelA: string, labelB: string, maxRows = 32, perRegion = 4): string[] {
  const out: string[] = [];
  const len = Math.max(a.length, b.length);
  let rows = 0;
  let inRegion = 0;
  let hidden = 0;
  let hiddenEnd = 0;
  const hexRow = (x: Buffer, o: number) => {
    const parts: string[] = [];
    for (let i = o; i < o + 16; i++) parts.push(i < x.length ? x[i].toString(16).padStart(2, '0') : '  ');
    return parts.join(' ');
  };
  const flush = () => {
    if (hidden) out.push(`          ... ${hidden} more differing row${hidden === 1 ? '' : 's'}, through offset 0x${hiddenEnd.toString(16)}`);
    hidden = 0;
  };
  for (let o = 0; o < len; o += 16) {
    if (a.subarray(o, o + 16).equals(b.subarray(o, o + 16))) {
      flush();
      inRegion = 0;
      continue;
    }
    if (inRegion >= perRegion || rows >= maxRows) {
      hidden++;
      hiddenEnd = Math.min(len, o + 16) - 1;
      inRegion++;
      continue;
    }
    rows++;
    inRegion++;
    const marks: string[] = [];
    for (let i = o; i < o + 16; i++) marks.push(a[i] !== b[i] ? '^^' : '  ');
    out.push(`${o.toString(16).padStart(8, '0')}  ${labelA.padEnd(6)} ${hexRow(a, o)}`);
    out.push(`${''.padStart(8)}  ${labelB.padEnd(6)} ${hexRow(b, o)}`);
    out.push(`${''.padStart(8)}  ${''.padEnd(6)} ${marks.join(' ').trimEnd()}`);
  }
  flush();
  return out;
}
