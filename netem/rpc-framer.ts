// Record-marking awareness for one direction of one connection, without changing a byte (RFC 5531 §11).
//
// Sans-IO: push the raw chunks read from a socket, get back units to forward, each with the RPC records that
// end inside it. Passive mode forwards every chunk as it came (records are only counted). Record mode forwards
// exactly one whole record per unit, record marks included, so a fault can drop or duplicate that record.
// A stream that does not parse as record marking (oversized fragment) makes the framer fall back to passive
// pass-through for the rest of the connection.
//
// Ownership: units are views of the pushed chunks (or a new Buffer when a record spans chunks) and the framer
// never modifies anything. Passive mode keeps nothing of a chunk after push() returns (record-scanner.ts copies
// the header bytes it needs), so a relay may read into the same memory again once the unit is written; in record
// mode the framer holds views of pushed chunks until their record is complete, so those chunks must stay unchanged.
import { DEFAULT_MAX_RECORD } from '../xdr/record';
import { RecordScanner } from './record-scanner';
import { MSG_TYPE, RPC_VERSION } from '../xdr/rpc';
import { NFSPROC3, NFS_PROGRAM } from '../xdr/nfs3/constants';
import type { RecordInfo } from './types';
import { MOUNTPROC3, MOUNT_PROGRAM } from '../xdr/mount';
import { PMAPPROC, PMAP_PROGRAM } from '../xdr/portmap';

export interface FramedUnit {
  bytes: Buffer;
  /** records that end inside this unit (record mode: exactly one, or none for a fall-back flush) */
  records: RecordInfo[];
}

/** What the framer learns about a call header; the connection keeps it to name the reply. */
export interface CallFacts {
  prog: number;
  vers: number;
  proc: number;
  procName: string;
  callNumber?: number;
}

const PROC_NAMES: Record<number, Record<number, string>> = {
  [NFS_PROGRAM]: invert(NFSPROC3, ''),
  [MOUNT_PROGRAM]: invert(MOUNTPROC3, 'MOUNT.'),
  [PMAP_PROGRAM]: invert(PMAPPROC, 'PMAP.'),
};

function invert(table: Record<string, number>, prefix: string): Record<number, string> {
  const out: Record<number, string> = {};
  for (const [k, v] of Object.entries(table)) out[v] = prefix + k;
  return out;
}

export function procName(prog: number, proc: number): string {
  return PROC_NAMES[prog]?.[proc] ?? `${prog}.${proc}`;
}

/** Resolves "WRITE" / "MOUNT.MNT" / 7 to {prog, proc}; undefined when unknown. */
export function resolveProc(proc: string | number, prog?: number): { prog?: number; proc: number } | undefined {
  if (typeof proc === 'number') return { prog, proc };
  if (/^\d+$/.test(proc)) return { prog, proc: Number(proc) };
  const name = proc.toUpperCase();
  for (const [p, names] of Object.entries(PROC_NAMES)) {
    for (const [n, nm] of Object.entries(names)) if (nm === name && (prog === undefined || prog === Number(p))) return { prog: Number(p), proc: Number(n) };
  }
  return undefined;
}

export interface FramerHooks {
  /** a call header was read: return facts to attach (call numbering lives with the proxy) */
  onCall(xid: number, prog: number, vers: number, proc: number): CallFacts;
  /** a reply was read: facts of the call with that xid, if seen */
  onReply(xid: number): CallFacts | undefined;
}

export class RpcFramer {
  private scanner: RecordScanner;
  /** false after the stream failed to parse as record marking */
  rpc = true;
  /** forward whole records (set by the flow when a record-level fault is active) */
  recordMode = false;
  private pushed = 0; // stream offset of the end of everything pushed
  private held: Buffer[] = []; // raw bytes from heldStart to pushed (record mode)
  private heldStart = 0;
  /** record mode switched on mid-record: pass bytes through until the next record boundary */
  private syncing = false;
  private done: RecordInfo[] = [];
  private lastEnd = 0; // stream offset where the last complete record ended

  constructor(private readonly hooks: FramerHooks, maxRecordSize = DEFAULT_MAX_RECORD) {
    this.scanner = new RecordScanner(maxRecordSize);
  }

  /** Bytes held towards an incomplete record (record mode). */
  get heldBytes(): number {
    return this.pushed - this.heldStart;
  }

  /** Switches record mode; leaving it returns the bytes held towards an incomplete record, to forward first. */
  setRecordMode(on: boolean): FramedUnit[] {
    if (on === this.recordMode) return [];
    this.recordMode = on;
    if (on) {
      this.heldStart = this.pushed;
      this.held = [];
      this.syncing = !this.scanner.idle;
      return [];
    }
    this.syncing = false;
    const out = this.flushHeld([]);
    this.held = [];
    return out;
  }

  /** Feeds one chunk; returns the units to forward now, in order. */
  push(chunk: Buffer): FramedUnit[] {
    const start = this.pushed;
    this.pushed += chunk.length;
    if (!this.rpc) {
      this.heldStart = this.pushed;
      return [{ bytes: chunk, records: [] }];
    }
    if (!this.recordMode || this.syncing) {
      // Passive: the chunk goes out whole; records ending in it are reported with it.
      const records = this.decode(chunk);
      if (!this.rpc) {
        this.heldStart = this.pushed;
        return [{ bytes: chunk, records }];
      }
      if (this.recordMode && this.syncing) return this.resync(chunk, start, records);
      this.heldStart = this.pushed;
      return [{ bytes: chunk, records }];
    }
    this.held.push(chunk);
    const records = this.decode(chunk);
    if (!this.rpc) return this.flushHeld(records);
    const out: FramedUnit[] = [];
    for (const r of records) out.push({ bytes: this.takeHeld(r.endOffset), records: [r] });
    return out;
  }

  /** Everything held, as one unit (end of stream, or leaving record mode). */
  flush(): FramedUnit[] {
    return this.flushHeld([]);
  }

  private flushHeld(records: RecordInfo[]): FramedUnit[] {
    if (this.held.length === 0) this.heldStart = this.pushed;
    if (this.heldBytes === 0) return records.length ? [{ bytes: Buffer.alloc(0), records }] : [];
    const bytes = this.takeHeld(this.pushed);
    return [{ bytes, records }];
  }

  /** Record mode switched on mid-record: the part of this chunk up to the first boundary passes through. */
  private resync(chunk: Buffer, start: number, records: RecordInfo[]): FramedUnit[] {
    if (records.length === 0) {
      this.heldStart = this.pushed;
      return [{ bytes: chunk, records: [] }];
    }
    this.syncing = false;
    const first = records[0];
    const cut = first.endOffset - start;
    const out: FramedUnit[] = [{ bytes: chunk.subarray(0, cut), records: [first] }];
    this.held = [chunk.subarray(cut)];
    this.heldStart = first.endOffset;
    for (const r of records.slice(1)) out.push({ bytes: this.takeHeld(r.endOffset), records: [r] });
    return out;
  }

  /** Removes held bytes up to stream offset `end`: a view when they lie in one chunk, else a copy. */
  private takeHeld(end: number): Buffer {
    const n = end - this.heldStart;
    this.heldStart = end;
    if (n === 0) return Buffer.alloc(0);
    const first = this.held[0];
    if (first.length >= n) {
      if (first.length === n) this.held.shift();
      else this.held[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    while (o < n) {
      const c = this.held[0];
      const k = Math.min(c.length, n - o);
      c.copy(out, o, 0, k);
      o += k;
      if (k === c.length) this.held.shift();
      else this.held[0] = c.subarray(k);
    }
    return out;
  }

  private readonly onRecord = (head: Buffer, headLen: number, end: number): void => {
    this.done.push(this.describe(head, headLen, end - this.lastEnd, end));
    this.lastEnd = end;
  };

  private decode(chunk: Buffer): RecordInfo[] {
    try {
      this.scanner.push(chunk, this.onRecord);
    } catch {
      this.rpc = false; // not record marking: forward bytes untouched from now on
    }
    if (this.done.length === 0) return [];
    const out = this.done;
    this.done = [];
    return out;
  }

  /** `head` holds the record's first headLen (<= 24) bytes. */
  private describe(head: Buffer, headLen: number, wireBytes: number, endOffset: number): RecordInfo {
    const xid = headLen >= 4 ? head.readUInt32BE(0) : 0;
    const type = headLen >= 8 ? head.readUInt32BE(4) : -1;
    // RFC 5531 §9: call body = rpcvers, prog, vers, proc after xid and msg_type
    if (type === MSG_TYPE.CALL && headLen >= 24 && head.readUInt32BE(8) === RPC_VERSION) {
      const facts = this.hooks.onCall(xid, head.readUInt32BE(12), head.readUInt32BE(16), head.readUInt32BE(20));
      return { xid, type: 'call', ...facts, wireBytes, endOffset };
    }
    if (type === MSG_TYPE.REPLY) {
      const facts = this.hooks.onReply(xid);
      return { xid, type: 'reply', ...facts, wireBytes, endOffset };
    }
    return { xid, type: 'call', wireBytes, endOffset, procName: 'malformed' };
  }
}
