// Long-running commands (server, netem, dashboard) print a `ready` line and run until SIGINT or SIGTERM.
// The handlers must be installed BEFORE the ready line: a supervisor (or a test) that sends SIGTERM as soon as it
// reads `ready` otherwise kills the process unhandled, skipping its cleanup (seen under CPU contention: the first
// process.once('SIGTERM') loads Node's signal machinery, which can take longer than the reader's kill()).

/** Installs the handlers now; resolves on the first SIGINT or SIGTERM. */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (sig: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(sig);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
