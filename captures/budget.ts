// One memory budget for everything the inspector holds while records are unfinished: the RPC framers' partial
// records and the TCP directions' out-of-order segments, across all streams of a capture. A holder declares
// what it retains; when the total goes over the cap, the largest holder is asked to shed (a framer keeps only
// the header of its record, a direction declares the missing bytes lost), until the total fits again. What was
// shed is reported as damaged records, never silently dropped (issue 15: a 7.6 MB .pcap.gz used 2.2 GB).

export interface Retainer {
  /** bytes currently declared (maintained by RetainBudget.set) */
  retained: number;
  /** release what can be released; calls RetainBudget.set with the new amount */
  shed(): void;
}

/** Default cap: inside inspect's 256 MiB RSS target, and room for a 1 MiB record on each of 64 connections. */
export const DEFAULT_MAX_BUFFERED = 64 * 1024 * 1024;

export class RetainBudget {
  total = 0;
  /** times a holder was asked to shed */
  sheds = 0;
  peak = 0;
  private readonly holders = new Set<Retainer>();
  private shedding = false;

  constructor(readonly cap: number = DEFAULT_MAX_BUFFERED) {}

  set(h: Retainer, bytes: number): void {
    this.total += bytes - h.retained;
    h.retained = bytes;
    if (bytes > 0) this.holders.add(h);
    else this.holders.delete(h);
    if (this.total > this.peak) this.peak = this.total;
    if (this.shedding || this.total <= this.cap) return;
    this.shedding = true;
    try {
      while (this.total > this.cap) {
        let big: Retainer | null = null;
        for (const x of this.holders) if (!big || x.retained > big.retained) big = x;
        if (!big) break;
        const before = big.retained;
        this.sheds++;
        big.shed();
        // A holder that cannot release more is left alone (its remaining bytes are a record header or less).
        if (big.retained >= before) this.holders.delete(big);
      }
    } finally {
      this.shedding = false;
    }
  }
}
