// Documented exit codes (README "Exit codes").
export const EXIT = {
  OK: 0,
  RUNTIME: 1,
  USAGE: 2,
  /** checks failed, e.g. corruption found */
  CHECKS_FAILED: 3,
  /** peer unreachable */
  UNREACHABLE: 4,
  /** inspect: the capture holds no ONC RPC message (nothing was checked) */
  NO_RPC: 5,
  /** inspect --hexdiff: no call with that XID */
  NOT_FOUND: 6,
} as const;
