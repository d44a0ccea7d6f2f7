// Joins duplicated XIDs found in a capture with the server's write journal (server/journal.ts; its schema version,
// outcomes and the reached-the-file rule are core/journal-schema.ts):
// which transmission the server executed, and which copy the file's bytes hold afterwards. A small adapter:
// it opens the SQLite file read-only, matches journal rows to transmissions by the sha256 of the payload each
// carried (the journal's data_sha256), and asks which executed WRITE last covered each part of the range.
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { CaptureError } from '../core/errors';
import { JOURNAL_SCHEMA_VERSION, REACHED_FILE_SQL, reachedFile } from '../core/journal-schema';
import { hex32 } from './analysis/diff';
import type { DuplicateView } from './analysis/report';


export interface JournalRowView {
  id: number;
  tMs: number;
  client: string;
  outcome: string;
  status: number | null;
  /** transmission (1-based) whose payload hash equals this row's, null when none does */
  transmission: number | null;
}

export interface BlockOwner {
  /** byte range [from, to) of the file */
  from: number;
  to: number;
  /** transmission of this XID whose bytes are there, null when another write or nothing covers them */
  transmission: number | null;
  /** XID (0x-hex) of the journal row that last wrote these bytes, null when none did */
  xid: string | null;
  rowId: number | null;
}

export interface JournalJoin {
  rows: JournalRowView[];
  /** transmissions whose payload the server executed into the file */
  executed: number[];
  /** who last wrote each part of [offset, offset + count) according to the journal */
  blocks: BlockOwner[];
}

interface Row {
  id: number;
  t_ms: number;
  client: string;
  xid: number;
  outcome: string;
  status: number | null;
  fh: string | null;
  offset: number | null;
  count: number | null;
  data_sha256: string | null;
}

export class JournalReader {
  private db: Database.Database;
  private byXid: Database.Statement;
  private covering: Database.Statement;

  constructor(readonly file: string) {
    try {
      this.db = new Database(file, { readonly: true, fileMustExist: true });
      const v = this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
      if (!v || Number(v.value) !== JOURNAL_SCHEMA_VERSION) {
        throw new CaptureError('JOURNAL_SCHEMA', `journal ${file} has schema ${v?.value ?? 'none'}, this inspector reads ${JOURNAL_SCHEMA_VERSION}`);
      }
      this.byXid = this.db.prepare("SELECT id, t_ms, client, xid, outcome, status, fh, offset, count, data_sha256 FROM journal WHERE xid = ? AND proc = 'WRITE' ORDER BY id");
      this.covering = this.db.prepare(
        `SELECT id, t_ms, client, xid, outcome, status, fh, offset, count, data_sha256 FROM journal
         WHERE proc = 'WRITE' AND fh = ? AND ${REACHED_FILE_SQL}
           AND offset < ? AND offset + count > ? ORDER BY id`,
      );
    } catch (err) {
      if (err instanceof CaptureError) throw err;
      throw new CaptureError('JOURNAL_OPEN', `cannot read journal ${file}: ${(err as Error).message}`, { file });
    }
  }

  /**
   * Adds `journal` to a WRITE duplicate. `payloads[n - 1]` is transmission n's payload (null when not kept);
   * `fh` is the file handle (hex) the calls wrote to.
   */
  join(d: DuplicateView, payloads: Array<Buffer | null>, fh: string): JournalJoin {
    const shas = payloads.map((p) => (p ? createHash('sha256').update(p).digest('hex') : null));
    const txOf = (sha: string | null) => {
      const i = sha ? shas.indexOf(sha) : -1;
      return i < 0 ? null : i + 1;
    };
    const rows = (this.byXid.all(parseInt(d.xid, 16)) as Row[]).map((r) => ({
      id: r.id,
      tMs: r.t_ms,
      client: r.client,
      outcome: r.outcome,
      status: r.status,
      transmission: txOf(r.data_sha256),
    }));
    const executed = [...new Set(rows.filter((r) => reachedFile(r) && r.transmission !== null).map((r) => r.transmission!))].sort((a, b) => a - b);
    const blocks: BlockOwner[] = [];
    if (d.offset !== null && d.count !== null) {
      const start = Number(d.offset);
      const end = start + d.count;
      // Later rows overwrite earlier ones: paint the range in journal order.
      const owner: Array<{ from: number; to: number; row: Row | null }> = [{ from: start, to: end, row: null }];
      for (const r of this.covering.all(fh, end, start) as Row[]) {
        const a = Math.max(start, r.offset!);
        const b = Math.min(end, r.offset! + r.count!);
        const next: typeof owner = [];
        for (const seg of owner) {
          if (seg.to <= a || seg.from >= b) next.push(seg);
          else {
            if (seg.from < a) next.push({ from: seg.from, to: a, row: seg.row });
            next.push({ from: Math.max(seg.from, a), to: Math.min(seg.to, b), row: r });
            if (seg.to > b) next.push({ from: b, to: seg.to, row: seg.row });
          }
        }
        owner.splice(0, owner.length, ...next);
      }
      for (const seg of owner) {
        const last = blocks[blocks.length - 1];
        const transmission = seg.row && seg.row.xid === parseInt(d.xid, 16) ? txOf(seg.row.data_sha256) : null;
        const xid = seg.row ? hex32(seg.row.xid) : null;
        if (last && last.rowId === (seg.row?.id ?? null) && last.to === seg.from) last.to = seg.to;
        else blocks.push({ from: seg.from, to: seg.to, transmission, xid, rowId: seg.row?.id ?? null });
      }
    }
    return { rows, executed, blocks };
  }

  close(): void {
    this.db.close();
  }
}
