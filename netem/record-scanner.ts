// Record boundaries of an RPC byte stream (RFC 5531 §11 record marking), found without keeping the stream.
//
// Sans-IO: push chunks, get a callback at the end of every record with the record's first bytes (enough for the
// RFC 5531 §9 call/reply header: xid, msg_type, rpcvers, prog, vers, proc) and its end offset in the stream.
// Unlike xdr/record.ts's RecordDecoder it never assembles a record: the proxy only needs the header, and a relay
// that read a 1 MiB WRITE in several chunks would otherwise copy every byte once more to learn 24 of them.
//
// Ownership: nothing of a pushed chunk is kept after push() returns (the header bytes are copied), so the caller
// may reuse the chunk's memory at once. The `head` handed to onRecord is the scanner's own and valid only
// during the callback.
import { XdrError } from '../core/errors';
import { LAST_FRAGMENT, MAX_FRAGMENT_LENGTH, DEFAULT_MAX_RECORD } from '../xdr/record';

/** Bytes of each record kept for its description: xid, msg_type, rpcvers, prog, vers, proc (RFC 5531 §9). */
export const RECORD_HEAD_BYTES = 24;

export class RecordScanner {
  /** stream offset: bytes pushed so far */
  offset = 0;
  private header = 0; // fragment header bytes read so far, big-endian
  private headerBytes = 0;
  private fragLeft = -1; // bytes left in the current fragment; -1 while reading a fragment header
  private lastFrag = false;
  private inRecord = false;
  private recordBytes = 0;
  private readonly head = Buffer.alloc(RECORD_HEAD_BYTES);
  private headLen = 0;

  constructor(private readonly maxRecordSize = DEFAULT_MAX_RECORD) {}

  /** True at a record boundary with no header byte of the next record read. */
  get idle(): boolean {
    return !this.inRecord && this.headerBytes === 0;
  }

  /**
   * Scans a chunk; calls onRecord(head, headLen, endOffset) for each record that ends in it. Throws XdrError
   * RM_OVERSIZE when a fragment header announces a record larger than maxRecordSize; after a throw the scanner
   * is unusable (the stream is not record marking).
   */
  push(chunk: Buffer, onRecord: (head: Buffer, headLen: number, endOffset: number) => void): void {
    const base = this.offset;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.fragLeft < 0) {
        while (this.headerBytes < 4 && i < n) {
          this.header = this.header * 256 + chunk[i++];
          this.headerBytes++;
        }
        if (this.headerBytes < 4) break;
        const word = this.header;
        this.header = 0;
        this.headerBytes = 0;
        this.lastFrag = word >= LAST_FRAGMENT;
        const len = word & MAX_FRAGMENT_LENGTH;
        if (this.recordBytes + len > this.maxRecordSize) {
          throw new XdrError('RM_OVERSIZE', `record fragment of ${len} bytes makes the record exceed ${this.maxRecordSize}`, {
            offset: base + i - 4,
            fragmentLength: len,
            max: this.maxRecordSize,
          });
        }
        this.fragLeft = len;
        this.inRecord = true;
      }
      const k = Math.min(this.fragLeft, n - i);
      if (this.headLen < RECORD_HEAD_BYTES && k > 0) {
        const c = Math.min(RECORD_HEAD_BYTES - this.headLen, k);
        for (let j = 0; j < c; j++) this.head[this.headLen + j] = chunk[i + j];
        this.headLen += c;
      }
      i += k;
      this.fragLeft -= k;
      this.recordBytes += k;
      if (this.fragLeft === 0) {
        this.fragLeft = -1;
        if (this.lastFrag) {
          const headLen = this.headLen;
          this.headLen = 0;
          this.recordBytes = 0;
          this.inRecord = false;
          onRecord(this.head, headLen, base + i);
        }
      }
    }
    this.offset = base + n;
  }
}
