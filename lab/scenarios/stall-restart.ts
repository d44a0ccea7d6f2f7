// Seed 003 in miniature: the seed's stall, and the server restarts during the first one, losing its DRC (a
// migration or failover). Duplicates the DRC would have replayed then execute on the new instance.
import type { Scenario } from './scenario';
import { seedStall } from './stall';

export const stallRestart: Scenario = {
  description: "the seed's stall, plus a server restart during the first stall (the DRC is lost)",
  cpuBound: false,
  faults: (p) => [seedStall(p)],
  start(run) {
    let restarts = 0;
    let pending: Promise<void> | undefined;
    const off = run.proxy.log.on((e) => {
      if (e.event !== 'stall-start' || restarts > 0) return;
      restarts++;
      pending = run.restartServer().then(
        (server) => run.step(`server restarted during the stall (verifier ${server.verifier.toString('hex')})`),
        (err: unknown) => run.log.log('error', 'restart failed', { err: String(err) }),
      );
    });
    return {
      async stop() {
        off();
        await pending;
      },
      summary: () => (restarts ? ['the server restarted during the stall (its DRC was lost)'] : []),
    };
  },
};
