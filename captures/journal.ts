// Joins duplicated XIDs found in a capture with the server's write journal (server/journal.ts; its schema version,
// outcomes and the reached-the-file rule are core/journal-schema.ts):
// which transmission the server executed, and which copy the file's bytes hold afterwards. A small adapter:
// it opens the SQLite file read-only, matches journal rows to transmissions by the hash of the payload each
// carried (the journal's data_hash, hashed as its meta payload_hash says: core/payload-hash.ts, the server's own
// function), and asks which executed WRITE last covered each part of the range. Schema 1 journals (data_sha256,
// always sha256) are read as they are.
import Database from 'better-sqlite3';
import { CaptureError } from '../core/errors';
import { JOURNAL_SCHEMA_OLDEST, JOURNAL_SCHEMA_VERSION, PAYLOAD_HASH_META, REACHED_FILE_SQL, journalPayloadColumn, reachedFile } from '../core/journal-schema';
import { isPayloadHash, payloadHash, type PayloadHashName } from '../core/payload-hash';
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
  data_hash: string | null;
}

export class JournalReader {
  private db: Database.Database;
  private byXid: Database.Statement;
  private covering: Database.Statement;
  /** how this journal identifies payloads */
  readonly payloadHash: PayloadHashName;

  constructor(readonly file: string) {
    try {
      this.db = new Database(file, { readonly: true, fileMustExist: true });
      const meta = (key: string) => (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
      const v = meta('schema_version');
      const payload = journalPayloadColumn(Number(v), meta(PAYLOAD_HASH_META));
      if (!payload) {
        throw new CaptureError('JOURNAL_SCHEMA', `journal ${file} has schema ${v ?? 'none'}, this inspector reads ${JOURNAL_SCHEMA_OLDEST} to ${JOURNAL_SCHEMA_VERSION}`, { file });
      }
      if (!isPayloadHash(payload.hash)) throw new CaptureError('JOURNAL_SCHEMA', `journal ${file} identifies payloads with ${payload.hash}, which this inspector does not know`, { file });
      this.payloadHash = payload.hash;
      const cols = `id, t_ms, client, xid, outcome, status, fh, offset, count, ${payload.column} AS data_hash`;
      this.byXid = this.db.prepare(`SELECT ${cols} FROM journal WHERE xid = ? AND proc = 'WRITE' ORDER BY id`);
      this.covering = this.db.prepare(
        `SELECT ${cols} FROM journal
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
    const hashes = payloads.map((p) => (p ? payloadHash(this.payloadHash, p) : null));
    const txOf = (hash: string | null) => {
      const i = hash ? hashes.indexOf(hash) : -1;
      return i < 0 ? null : i + 1;
    };
    const rows = (this.byXid.all(parseInt(d.xid, 16)) as Row[]).map((r) => ({
      id: r.id,
      tMs: r.t_ms,
      client: r.client,
      outcome: r.outcome,
      status: r.status,
      transmission: txOf(r.data_hash),
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
        const transmission = seg.row && seg.row.xid === parseInt(d.xid, 16) ? txOf(seg.row.data_hash) : null;
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
