// Order statistics shared by the results database (a matrix cell's repeats) and the benchmarks (paired rounds).

/** The median of xs (the mean of the middle two for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** How a set of values spreads: count, least, median, largest (undefined for none). */
export interface Spread {
  n: number;
  min: number;
  median: number;
  max: number;
}

export function spread(xs: readonly number[]): Spread | undefined {
  if (xs.length === 0) return undefined;
  return { n: xs.length, min: Math.min(...xs), median: median(xs), max: Math.max(...xs) };
}
