// A canary outside the export: a file (and its directory listing) that no NFS call may read, write or add to.
// Its atime is set before its mtime, so under relatime any read would move atime (and is detected).
import fs from 'node:fs';
import path from 'node:path';

export interface Canary {
  file: string;
  dir: string;
  /** throws (assert-style message) when the canary or its directory changed */
  check(): void;
}

export function plantCanary(dir: string, name = 'canary.txt'): Canary {
  const file = path.join(dir, name);
  fs.writeFileSync(file, 'canary: never read, never written\n');
  fs.utimesSync(file, new Date(Date.UTC(2020, 0, 1)), new Date(Date.UTC(2021, 0, 1)));
  const snap = () => {
    const st = fs.statSync(file, { bigint: true });
    return { content: fs.readFileSync(file, 'utf8'), atimeNs: st.atimeNs, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, nlink: st.nlink, listing: fs.readdirSync(dir).sort() };
  };
  // Take the reference snapshot after our own read: reading the content above/below touches atime once; reset it.
  const first = snap();
  fs.utimesSync(file, new Date(Date.UTC(2020, 0, 1)), new Date(Date.UTC(2021, 0, 1)));
  const ref = { ...first, ...(({ atimeNs, mtimeNs, ctimeNs }) => ({ atimeNs, mtimeNs, ctimeNs }))(fs.statSync(file, { bigint: true })) };
  return {
    file,
    dir,
    check() {
      const st = fs.statSync(file, { bigint: true });
      const now = { atimeNs: st.atimeNs, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, nlink: st.nlink, listing: fs.readdirSync(dir).sort() };
      const expect = { atimeNs: ref.atimeNs, mtimeNs: ref.mtimeNs, ctimeNs: ref.ctimeNs, nlink: ref.nlink, listing: ref.listing };
      if (JSON.stringify(now, (_k, v) => (typeof v === 'bigint' ? String(v) : v)) !== JSON.stringify(expect, (_k, v) => (typeof v === 'bigint' ? String(v) : v))) {
        throw new Error(`canary disturbed: ${JSON.stringify({ now, expect }, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
      }
      // Content last: reading it moves atime, so check() is only meaningful once, at the end of a test.
      if (fs.readFileSync(file, 'utf8') !== ref.content) throw new Error('canary content changed');
    },
  };
}
