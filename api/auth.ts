// Who may use an HTTP API (admin, dashboard, netem): loopback by default; bound anywhere else it requires a
// bearer token (RFC 6750 §2.1 Authorization header), compared in constant time. api/ is the one home of the
// HTTP edges (hapi): the admin API, the netem API and the dashboard all take their auth from here.
import crypto from 'node:crypto';
import net from 'node:net';
import type Hapi from '@hapi/hapi';
import { ConfigError } from '../core/errors';

/** The environment variable that supplies the token when no option does. */
export const API_TOKEN_ENV = 'NFS_TESTBED_API_TOKEN';

/** 127.0.0.0/8, ::1 and "localhost" (which resolves to them); anything else, including 0.0.0.0 and ::, is not. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const h = host.replace(/^\[|\]$/g, '');
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^::ffff:127\./i.test(h);
  return false;
}

/**
 * The token to require, or undefined for an open loopback API. A token shorter than 16 characters is refused
 * (guessable); a non-loopback address without a token refuses to start (ConfigError API_TOKEN_REQUIRED).
 */
export function apiToken(host: string, token: string | undefined, what: string): string | undefined {
  const t = token === '' ? undefined : token;
  if (t !== undefined && t.length < 16) throw new ConfigError('API_TOKEN_WEAK', `${what}: the API token must have at least 16 characters`);
  if (t === undefined && !isLoopback(host)) {
    throw new ConfigError('API_TOKEN_REQUIRED', `${what}: binding ${host} (not loopback) needs a bearer token (--api-token or ${API_TOKEN_ENV})`, { host });
  }
  return t;
}

/** Rejects every request without `Authorization: Bearer <token>` with 401 (and a WWW-Authenticate challenge). */
export function requireBearer(hapi: Hapi.Server, token: string): void {
  const want = crypto.createHash('sha256').update(token).digest();
  hapi.ext('onRequest', (req, h) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(String(req.headers.authorization ?? ''));
    const got = crypto.createHash('sha256').update(m ? m[1] : '').digest();
    if (m && crypto.timingSafeEqual(got, want)) return h.continue;
    return h
      .response({ code: 'UNAUTHORIZED', message: 'a bearer token is required' })
      .code(401)
      .header('WWW-Authenticate', 'Bearer realm="nfs-testbed"')
      .takeover();
  });
}
