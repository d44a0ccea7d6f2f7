// The write journal (better-sqlite3, WAL): every executed WRITE and every DRC decision, so the reproduction can
// prove which transmission wrote which block. Rows are queued and inserted in batches (one transaction per flush).
//
// Schema version JOURNAL_SCHEMA_VERSION (core/journal-schema.ts, with the outcomes and the rule) — table `journal`, one row per call the DRC decided on (every cached procedure) plus every
// WRITE (cached or not):
//   id          INTEGER PRIMARY KEY   insertion order
//   t_ms        REAL    NOT NULL      wall clock, ms since the Unix epoch, when the decision/execution finished
//   instance    TEXT    NOT NULL      the server instance's write verifier (hex); changes on every restart
//   conn        INTEGER NOT NULL      server connection id (from 1, per instance)
//   client      TEXT    NOT NULL      client "address:port"
//   xid         INTEGER NOT NULL      RPC XID (unsigned 32-bit)
//   proc        TEXT    NOT NULL      NFSv3 procedure name (WRITE, CREATE, REMOVE ...)
//   outcome     TEXT    NOT NULL      what the server did with the call (core/journal-schema.ts JOURNAL_OUTCOMES):
//                                     executed | payload-miss-executed | not-cached | replayed
//                                     | dropped-in-progress | waited
//   status      INTEGER               nfsstat3 of the reply sent; NULL when no reply was sent (dropped)
//   fh          TEXT                  file handle, hex (WRITE: the file; others: the directory or object)
//   path        TEXT                  export-relative path of that handle when known ('' = export root)
//   name        TEXT                  the name argument of directory operations (CREATE, REMOVE, RENAME from ...)
//   offset      INTEGER               WRITE offset (bytes)
//   count       INTEGER               WRITE count (bytes of data received in this transmission)
//   stable      INTEGER               WRITE stable_how requested (0 UNSTABLE, 1 DATA_SYNC, 2 FILE_SYNC)
//   committed   INTEGER               WRITE stable_how returned; NULL unless executed with NFS3_OK
//   data_hash   TEXT                  hex digest of the payload carried by THIS transmission, with the hash that
//                                     meta `payload_hash` names (core/payload-hash.ts: xxh3 by default, or xxh64, sha256)
//   head_hex    TEXT                  its first 16 bytes, hex
// Whether a row's payload reached the file is core/journal-schema.ts reachedFile(): the procedure ran (executed,
// payload-miss-executed or not-cached) and answered NFS3_OK.
// Indexes: (xid), (path, offset), (t_ms). Table `meta(key PRIMARY KEY, value)` holds schema_version and payload_hash.
// Schema 1 (before issue 20) had data_sha256 where 2 has data_hash, always sha256: opening one migrates it in place
// (the column renamed, payload_hash = sha256), and it then takes rows hashed with sha256 only.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { JOURNAL_SCHEMA_VERSION, PAYLOAD_HASH_META, type JournalRow } from '../core/journal-schema';
import { DEFAULT_PAYLOAD_HASH, isPayloadHash, type PayloadHashName } from '../core/payload-hash';
import { ConfigError } from '../core/errors';
import type { Logger } from '../core/log';

export type { JournalRow } from '../core/journal-schema';

export interface JournalQuery {
  xid?: number;
  /** export-relative path (exact) */
  path?: string;
  /** file handle hex */
  fh?: string;
  proc?: string;
  outcome?: string;
  sinceMs?: number;
  untilMs?: number;
  limit?: number;
}

const COLUMNS = ['t_ms', 'instance', 'conn', 'client', 'xid', 'proc', 'outcome', 'status', 'fh', 'path', 'name', 'offset', 'count', 'stable', 'committed', 'data_hash', 'head_hex'] as const;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE journal (
      id INTEGER PRIMARY KEY,
      t_ms REAL NOT NULL, instance TEXT NOT NULL, conn INTEGER NOT NULL, client TEXT NOT NULL,
      xid INTEGER NOT NULL, proc TEXT NOT NULL, outcome TEXT NOT NULL, status INTEGER,
      fh TEXT, path TEXT, name TEXT, offset INTEGER, count INTEGER, stable INTEGER, committed INTEGER,
      data_sha256 TEXT, head_hex TEXT
    );
    CREATE INDEX journal_xid ON journal(xid);
    CREATE INDEX journal_path ON journal(path, offset);
    CREATE INDEX journal_t ON journal(t_ms);
  `,
  // Issue 20: payloads are hashed with a fast non-cryptographic hash by default; every row of a version 1
  // journal was hashed with sha256, which the meta row now says.
  2: `
    ALTER TABLE journal RENAME COLUMN data_sha256 TO data_hash;
    INSERT OR REPLACE INTO meta (key, value) VALUES ('${PAYLOAD_HASH_META}', 'sha256');
  `,
};

/**
 * Opens the database, WAL, and its meta table. A path that cannot be a journal (missing directory, a file that is not
 * SQLite, a directory) is a ConfigError naming the file, not a stack trace: the CLI exits 2 with its usage.
 */
function openJournalDb(file: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL'); // the first read of the file: SQLITE_NOTADB shows here
    // WAL + NORMAL: a committed batch survives a process crash; an OS crash may lose the last batches.
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    return db;
  } catch (e) {
    db?.close();
    const err = e as { code?: string; message?: string };
    const dir = path.dirname(path.resolve(file));
    const why = !fs.existsSync(dir)
      ? `the directory ${dir} does not exist`
      : err.code === 'SQLITE_NOTADB'
        ? 'the file exists and is not an SQLite database'
        : err.code === 'SQLITE_CANTOPEN' && fs.existsSync(file) && fs.statSync(file).isDirectory()
          ? 'it is a directory'
          : (err.message ?? String(e));
    throw new ConfigError('BAD_JOURNAL', `--journal ${file}: cannot use it as the write journal: ${why}`, { file, ...(err.code ? { sqlite: err.code } : {}) });
  }
}

export class Journal {
  readonly db: Database.Database;
  private queue: JournalRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly insert: Database.Statement;
  private readonly insertMany: (rows: JournalRow[]) => void;
  private closed = false;
  rowsWritten = 0;
  /** the hash of every row's data_hash (meta payload_hash) */
  readonly payloadHash: PayloadHashName;

  /**
   * Opens (creating or migrating) a journal; ':memory:' in tests. A journal keeps one payload hash for life (meta
   * `payload_hash`): without `payloadHash` an existing journal goes on with its own and a new one gets
   * DEFAULT_PAYLOAD_HASH; one that already holds another than a given `payloadHash` is refused (ConfigError
   * JOURNAL_HASH), never mixed.
   */
  constructor(
    readonly file: string,
    private readonly logger?: Logger,
    /** rows queued before a synchronous flush; otherwise flushed within flushMs */
    private readonly batchRows = 512,
    private readonly flushMs = 50,
    payloadHash?: PayloadHashName,
  ) {
    this.db = openJournalDb(file);
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
    let v = row ? Number(row.value) : 0;
    const fresh = v === 0;
    if (v > JOURNAL_SCHEMA_VERSION) {
      this.db.close();
      throw new ConfigError('BAD_JOURNAL', `journal ${file}: schema version ${v} is newer than this build's ${JOURNAL_SCHEMA_VERSION}`, { file });
    }
    const from = v;
    while (v < JOURNAL_SCHEMA_VERSION) {
      v++;
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)").run(String(v));
        if (fresh && v === JOURNAL_SCHEMA_VERSION) this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(PAYLOAD_HASH_META, payloadHash ?? DEFAULT_PAYLOAD_HASH);
      })();
    }
    if (!fresh && from < JOURNAL_SCHEMA_VERSION) this.logger?.log('info', 'journal migrated', { file, from, to: JOURNAL_SCHEMA_VERSION });
    const has = (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(PAYLOAD_HASH_META) as { value: string } | undefined)?.value ?? '';
    if (!isPayloadHash(has) || (payloadHash && has !== payloadHash)) {
      this.db.close();
      const use = isPayloadHash(has) ? `run with --journal-hash ${has} (or without the option) to add to it, or` : 'it cannot be added to;';
      throw new ConfigError('JOURNAL_HASH', `journal ${file} identifies payloads with ${has || 'no known hash'}, not ${payloadHash ?? 'one this build knows'}: ${use} give a new --journal file`, { file, has, want: payloadHash ?? null });
    }
    this.payloadHash = has;
    // Positional parameters, in COLUMNS order: better-sqlite3 binds a named one by looking its name up on the row
    // object through V8's API (a string and a property lookup per column per row); positional ones are read from the
    // call's arguments. Measured in a scratch loop of realistic rows, 25 a transaction as the 50 ms window gives at
    // nfs-cp's pace: 7.8-11.9 against 10.7-14.9 us of user CPU per row in three runs (issue 20, README "Targets on
    // CPU cost").
    this.insert = this.db.prepare(`INSERT INTO journal (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`);
    const insert = this.insert;
    this.insertMany = this.db.transaction((rows: JournalRow[]) => {
      for (const r of rows) {
        insert.run(r.t_ms, r.instance, r.conn, r.client, r.xid, r.proc, r.outcome, r.status, r.fh, r.path, r.name, r.offset, r.count, r.stable, r.committed, r.data_hash, r.head_hex);
      }
    });
  }

  /** Queues a row; it reaches the database at the next flush (at most flushMs later, or when the batch is full). */
  add(row: JournalRow): void {
    if (this.closed) return;
    this.queue.push(row);
    if (this.queue.length >= this.batchRows) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes every queued row in one transaction. */
  flush(): number {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.queue.length || this.closed) return 0;
    const rows = this.queue;
    this.queue = [];
    try {
      this.insertMany(rows);
      this.rowsWritten += rows.length;
    } catch (e) {
      this.logger?.log('error', 'journal insert failed', { rows: rows.length, err: (e as Error).message });
    }
    return rows.length;
  }

  /** Rows matching every given filter, oldest first (flushes first). */
  query(q: JournalQuery = {}): Array<JournalRow & { id: number }> {
    this.flush();
    const where: string[] = [];
    const p: Record<string, unknown> = {};
    if (q.xid !== undefined) (where.push('xid = @xid'), (p.xid = q.xid >>> 0));
    if (q.path !== undefined) (where.push('path = @path'), (p.path = q.path));
    if (q.fh !== undefined) (where.push('fh = @fh'), (p.fh = q.fh.toLowerCase()));
    if (q.proc !== undefined) (where.push('proc = @proc'), (p.proc = q.proc.toUpperCase()));
    if (q.outcome !== undefined) (where.push('outcome = @outcome'), (p.outcome = q.outcome));
    if (q.sinceMs !== undefined) (where.push('t_ms >= @since'), (p.since = q.sinceMs));
    if (q.untilMs !== undefined) (where.push('t_ms <= @until'), (p.until = q.untilMs));
    p.limit = Math.max(1, Math.min(q.limit ?? 1000, 100_000));
    const sql = `SELECT id, ${COLUMNS.join(', ')} FROM journal ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT @limit`;
    return this.db.prepare(sql).all(p) as Array<JournalRow & { id: number }>;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}
