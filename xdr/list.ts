// XDR linked lists (RFC 4506 §4.19 optional-data used recursively: `struct node { T item; node *next; }`),
// as used by mountlist, exports, groups and pmaplist. Decoded as arrays; each node costs at least 4 bytes,
// so a list can never hold more items than the record has words.
import type { XdrReader } from './reader';
import type { XdrWriter } from './writer';

/** Writes value_follows TRUE before each item and FALSE after the last. */
export function writeList<T>(w: XdrWriter, items: readonly T[], item: (w: XdrWriter, v: T) => void): void {
  for (const v of items) {
    w.u32(1);
    item(w, v);
  }
  w.u32(0);
}

export function readList<T>(r: XdrReader, item: (r: XdrReader) => T): T[] {
  const out: T[] = [];
  while (r.bool()) out.push(item(r));
  return out;
}
