// Is this a record mark followed by an RPC message header? Used to find NFS streams on any port and to
// resynchronise after a capture gap. RFC 5531 §9 (message layout), §11 (record mark).

/** ONC RPC programs we expect next to NFS: portmap, nfs, mount, nlockmgr, status, nfs_acl. */
export const RPC_PROGRAMS = new Set([100000, 100003, 100005, 100021, 100024, 100227]);
export const PROG = { PORTMAP: 100000, NFS: 100003, MOUNT: 100005 } as const;

/** Smallest call: xid, mtype, rpcvers, prog, vers, proc, cred (flavor, len), verf (flavor, len). */
const MIN_CALL = 40;
/** Smallest reply: xid, mtype, reply_stat, verf (flavor, len), accept_stat. */
const MIN_REPLY = 24;

/** A call header at b[o..o+24) (no record mark): rpcvers 2, a known program, sane version/procedure. */
export function plausibleCallHeader(b: Buffer, o: number): boolean {
  if (b[o + 4] !== 0 || b[o + 5] !== 0 || b[o + 6] !== 0 || b[o + 7] !== 0) return false; // msg_type CALL
  if (b.readUInt32BE(o + 8) !== 2) return false;
  if (!RPC_PROGRAMS.has(b.readUInt32BE(o + 12))) return false;
  const vers = b.readUInt32BE(o + 16);
  const proc = b.readUInt32BE(o + 20);
  return vers >= 1 && vers <= 4 && proc < 64;
}

/**
 * A reply header at b[o..o+24) (RFC 5531 §9 reply_body): msg_type REPLY; MSG_ACCEPTED with a verifier of a
 * known flavor and at most 400 bytes (and, after an empty verifier, accept_stat SUCCESS..SYSTEM_ERR), or
 * MSG_DENIED with reject_stat RPC_MISMATCH/AUTH_ERROR; and `expected(xid)`: a call with this XID is outstanding,
 * or the stream is known to carry RPC (its calls may have been lost by the capture).
 */
export function plausibleReplyHeader(b: Buffer, o: number, expected: (xid: number) => boolean): boolean {
  if (b[o + 4] !== 0 || b[o + 5] !== 0 || b[o + 6] !== 0 || b[o + 7] !== 1) return false;
  const stat = b.readUInt32BE(o + 8);
  if (stat > 1) return false;
  if (stat === 1) {
    if (b.readUInt32BE(o + 12) > 1) return false;
  } else {
    const flavor = b.readUInt32BE(o + 12);
    const len = b.readUInt32BE(o + 16);
    if (flavor > 6 || len > 400) return false;
    if (len === 0 && b.length >= o + 24 && b.readUInt32BE(o + 20) > 5) return false;
  }
  return expected(b.readUInt32BE(o));
}

/** A record mark at b[o] whose fragment starts with a plausible call or reply. b needs o + 28 bytes. */
export function plausibleRecord(b: Buffer, o: number, maxRecord: number, outstanding: (xid: number) => boolean): boolean {
  const t = b[o + 11];
  if (t > 1 || b[o + 8] !== 0 || b[o + 9] !== 0 || b[o + 10] !== 0) return false;
  const len = b.readUInt32BE(o) & 0x7fffffff;
  if (len > maxRecord) return false;
  if (t === 0) return len >= MIN_CALL && plausibleCallHeader(b, o + 4);
  return len >= MIN_REPLY && plausibleReplyHeader(b, o + 4, outstanding);
}
