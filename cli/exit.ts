// Documented exit codes (README "Exit codes").
export const EXIT = {
  OK: 0,
  RUNTIME: 1,
  USAGE: 2,
  /** checks failed, e.g. corruption found */
  CHECKS_FAILED: 3,
  /** peer unreachable */
  UNREACHABLE: 4,
} as const;
