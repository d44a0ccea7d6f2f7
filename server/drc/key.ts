// DRC keys. Both modes share the "xid key"; checksum mode adds a fingerprint of the arguments, as Linux nfsd does
// (fs/nfsd/nfscache.c: rc_xid, rc_proc, rc_prot, rc_vers, rc_reqlen, rc_csum over the first RC_CSUMLEN bytes).
import crypto from 'node:crypto';
import type { DrcConfig } from './config';

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

/** Who the request came from under the configured scope. */
export function scopeKey(req: DrcRequest, cfg: DrcConfig): string {
  if (cfg.scope === 'connection') return `c${req.connId}`;
  return cfg.keyPort ? `${req.clientAddr}:${req.clientPort}` : req.clientAddr;
}

/** The xid key: scope, XID, program, version, procedure. */
export function xidKey(req: DrcRequest, cfg: DrcConfig): string {
  return `${scopeKey(req, cfg)}|${req.xid >>> 0}|${req.prog}|${req.vers}|${req.proc}`;
}

/**
 * checksum mode's fingerprint: argument length plus a hash of the first N bytes of the arguments ('all' = every
 * byte). In off/xid modes there is no fingerprint (''): any request with the same xid key is a duplicate.
 */
export function fingerprint(req: DrcRequest, cfg: DrcConfig): string {
  if (cfg.mode !== 'checksum') return '';
  const n = cfg.csumBytes === 'all' ? req.args.length : Math.min(cfg.csumBytes, req.args.length);
  const h = crypto.createHash('sha1').update(req.args.subarray(0, n)).digest('hex').slice(0, 16);
  return `${req.args.length}:${h}`;
}
