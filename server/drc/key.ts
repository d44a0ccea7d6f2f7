// DRC keys. Every mode keys on the sender (the scope), the XID, program, version and procedure; the checksum
// modes add the argument length and csum_partial of the arguments, as Linux nfsd's struct nfsd_cacherep key does
// (fs/nfsd/nfscache.c nfsd_cache_key_cmp: k_xid, k_csum, k_proc, k_prot, k_vers, k_len, and the address).
import type { DrcConfig } from './config';
import { RC_CSUMLEN, csumPartial } from './csum-partial';

export interface DrcRequest {
  connId: number;
  clientAddr: string;
  clientPort: number;
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  /** the procedure arguments as received (view into the record; read only here) */
  args: Buffer;
}

/** Which cache a request goes to: the one client cache, or its connection's (by address:port when reused). */
export function cacheOf(req: DrcRequest, cfg: DrcConfig): string {
  if (cfg.scope === 'client') return '';
  return cfg.reuse ? `${req.clientAddr}:${req.clientPort}` : `c${req.connId}`;
}

/** The xid key inside that cache: sender (client scope), XID, program, version, procedure. */
export function xidKey(req: DrcRequest, cfg: DrcConfig): string {
  const who = cfg.scope === 'connection' ? '' : cfg.keyPort ? `${req.clientAddr}:${req.clientPort}` : req.clientAddr;
  return `${who}|${req.xid >>> 0}|${req.prog}|${req.vers}|${req.proc}`;
}

/**
 * The checksum modes' fingerprint: argument length plus csum_partial over the first 256 bytes (checksum-256) or
 * all of them (checksum-all). In off/xid modes there is none (''): any request with the same xid key matches.
 */
export function fingerprint(req: DrcRequest, cfg: DrcConfig): string {
  if (cfg.mode !== 'checksum-256' && cfg.mode !== 'checksum-all') return '';
  const n = cfg.mode === 'checksum-all' ? req.args.length : Math.min(RC_CSUMLEN, req.args.length);
  return `${req.args.length}:${csumPartial(req.args.subarray(0, n))}`;
}
