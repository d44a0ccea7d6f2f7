// The write journal's vocabulary, shared by its writer (server/journal.ts) and its readers (captures/journal.ts,
// lab/witnesses.ts, the admin API): the schema version, the outcome of a call, and the one rule that says whether
// a row's payload reached the file. The table itself is described where it is written (server/journal.ts).

/**
 * Version of the journal's tables (its `meta.schema_version`). 2: the payload column is `data_hash`, hashed with
 * the algorithm named by `meta.payload_hash` (core/payload-hash.ts); 1 had `data_sha256`, always sha256. The
 * server migrates a version 1 journal when it opens one; readers read 1 and 2 and refuse any other.
 */
export const JOURNAL_SCHEMA_VERSION = 2;
/** The oldest version readers still read. */
export const JOURNAL_SCHEMA_OLDEST = 1;

/** The `meta` key naming the journal's payload hash (core/payload-hash.ts PAYLOAD_HASHES). */
export const PAYLOAD_HASH_META = 'payload_hash';

/**
 * The payload column and hash of a journal of schema `version` whose meta says `metaHash`: what a reader selects
 * and how it hashes a payload to compare. Undefined for a version this build cannot read.
 */
export function journalPayloadColumn(version: number, metaHash: string | undefined): { column: 'data_hash' | 'data_sha256'; hash: string } | undefined {
  if (version === 1) return { column: 'data_sha256', hash: 'sha256' };
  if (version === 2 && metaHash) return { column: 'data_hash', hash: metaHash };
  return undefined;
}

/**
 * What the server did with a call, as the dispatcher and the DRC decided it; one word per row. The first three
 * ran the procedure; the others did not.
 */
export const JOURNAL_OUTCOMES = {
  /** the procedure ran: the DRC is off, or it caches this procedure and had no entry for the call */
  executed: 'ran',
  /** nfsd's payload miss: the DRC had the XID with other argument bytes, so the call ran as a new request */
  'payload-miss-executed': 'ran',
  /** the DRC is on but does not cache this procedure (--drc-procs): the procedure ran */
  'not-cached': 'ran',
  /** the DRC answered from its cache (nfsd RC_REPLY); nothing ran */
  replayed: 'not run',
  /** a duplicate of a call still running, dropped (nfsd RC_DROPIT); nothing ran */
  'dropped-in-progress': 'not run',
  /** a duplicate of a call still running, answered with that call's reply (ganesha); nothing ran */
  waited: 'not run',
} as const satisfies Record<string, 'ran' | 'not run'>;

export type JournalOutcome = keyof typeof JOURNAL_OUTCOMES;

/** The outcomes after which the procedure ran. */
export const RAN_OUTCOMES = (Object.keys(JOURNAL_OUTCOMES) as JournalOutcome[]).filter((o) => JOURNAL_OUTCOMES[o] === 'ran');

/** The procedure ran (whatever it answered). */
export function ran(outcome: string): boolean {
  return (RAN_OUTCOMES as readonly string[]).includes(outcome);
}

/**
 * The rule: a row's payload reached the file iff its procedure ran and answered NFS3_OK (status 0). A deferred
 * WRITE that failed is journalled with the status its COMMIT reports, so it does not count.
 */
export function reachedFile(row: { outcome: string; status?: number | null }): boolean {
  return row.status === 0 && ran(row.outcome);
}

/** reachedFile() as an SQL condition on the journal table's `outcome` and `status` columns. */
export const REACHED_FILE_SQL = `(status = 0 AND outcome IN (${RAN_OUTCOMES.map((o) => `'${o}'`).join(', ')}))`;

/** One row of table `journal` (server/journal.ts documents each column). */
export interface JournalRow {
  t_ms: number;
  instance: string;
  conn: number;
  client: string;
  xid: number;
  proc: string;
  outcome: JournalOutcome;
  status: number | null;
  fh: string | null;
  path: string | null;
  name: string | null;
  offset: number | null;
  count: number | null;
  stable: number | null;
  committed: number | null;
  /** hex digest of this transmission's payload with the journal's payload hash */
  data_hash: string | null;
  head_hex: string | null;
}
