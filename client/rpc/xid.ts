// XIDs (RFC 5531 §9: "the xid ... is used by clients to match replies with calls"): a start value from the seed
// (or random without one), then +1 per call mod 2^32, as Linux does (xprt_alloc_xid after xprt_init_xid).
import { randomInt } from 'node:crypto';

/** splitmix32-style mix of a seed into a 32-bit start value: same seed, same first XID. */
export function xidStart(seed?: number): number {
  if (seed === undefined) return randomInt(0, 0x1_0000_0000);
  let z = (seed + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

export class XidSource {
  private next: number;
  constructor(seed?: number) {
    this.next = xidStart(seed);
  }
  take(): number {
    const x = this.next;
    this.next = (this.next + 1) >>> 0;
    return x;
  }
}

export function hexXid(xid: number): string {
  return '0x' + (xid >>> 0).toString(16).padStart(8, '0');
}
