// Waiting in tests for state that has no event (socket byte counts, stats, a peer's counters): check every few ms,
// fail after a bound with what was awaited. Where an event exists, wait for the event instead (proxy.waitForEvent,
// server.flushJournal, a socket's 'close').

/** Resolves when cond() holds; rejects after withinMs real ms (generous: a loaded CI machine) naming `what`. */
export async function until(cond: () => boolean, what: string, withinMs = 30_000, everyMs = 5): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
