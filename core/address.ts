// The one HOST:PORT grammar of every option and API field that names a TCP endpoint (--server, --listen,
// --upstream, --api, the netem API's listen/upstream).
import { ConfigError } from './errors';

export interface HostPort {
  host: string;
  port: number;
}

/** Host when the text names only a port. */
export const DEFAULT_HOST = '127.0.0.1';

/**
 * "HOST:PORT", "[IPV6]:PORT" (RFC 3986 §3.2.2: an IPv6 literal is bracketed, since its colons would make the port
 * ambiguous), or ":PORT" / "PORT" for 127.0.0.1. PORT is 0..65535 (0: any free port, where listening).
 */
export function parseHostPort(text: string, name: string): HostPort {
  const m = /^(?:(?:\[([0-9a-f:.]+)\]|([^\s:[\]]+))?:)?(\d{1,5})$/i.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError('BAD_ADDRESS', `${name}: expected HOST:PORT, [IPV6]:PORT or PORT, got "${text}"`);
  return { host: m[1] ?? m[2] ?? DEFAULT_HOST, port };
}
