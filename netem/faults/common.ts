// Helpers every fault file uses: directions, probability, durations.
import { ConfigError } from '../../core/errors';
import { parseDuration, parseNumber, parseSize } from '../../core/units';
import type { Direction, DirectionSpec, Duration, FaultSpecBase } from '../types';

export function directionsOf(spec: FaultSpecBase, fallback: DirectionSpec = 'both'): ReadonlySet<Direction> {
  const d = spec.direction ?? fallback;
  if (d === 'both') return new Set<Direction>(['upstream', 'downstream']);
  if (d === 'upstream' || d === 'downstream') return new Set<Direction>([d]);
  throw new ConfigError('NETEM_DIRECTION', `direction must be upstream, downstream or both, got "${d}"`);
}

export function probabilityOf(spec: FaultSpecBase): number {
  return spec.probability === undefined ? 1 : parseNumber(spec.probability, 'probability', 0, 1);
}

/** Modelled ms of a duration field (>= 0). */
export function modelMs(v: Duration, name: string): number {
  const ms = parseDuration(v, name);
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new ConfigError('BAD_DURATION', `${name} must be >= 0`);
  return ms;
}

export function bytesOf(v: string | number, name: string, min = 1): number {
  const n = parseSize(v, name);
  if (n < min) throw new ConfigError('BAD_SIZE', `${name} must be >= ${min}`);
  return n;
}

/** Per-connection, per-direction state of a fault, dropped when the connection closes. */
export class PerFlow<T> {
  private readonly m = new Map<string, T>();
  constructor(private readonly init: () => T) {}
  get(conn: number, dir: Direction): T {
    const k = `${conn}:${dir}`;
    let v = this.m.get(k);
    if (v === undefined) this.m.set(k, (v = this.init()));
    return v;
  }
  drop(conn: number): void {
    this.m.delete(`${conn}:upstream`);
    this.m.delete(`${conn}:downstream`);
  }
}
