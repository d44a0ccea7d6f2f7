// npm run bench [-- AREA ...]: runs benchmark areas, prints a table and one JSON line per measurement.
import type { Measurement } from './measure';
import { printTable } from './measure';

/** Areas, explicitly listed: name -> module exporting run(): Promise<Measurement[]>. */
const AREAS: Record<string, () => Promise<{ run(): Promise<Measurement[]> }>> = {
  xdr: () => import('./xdr'),
  server: () => import('./server'),
  inspect: () => import('./inspect'),
  client: () => import('./client'),
  netem: () => import('./netem'),
  repro: () => import('./repro'),
  linux: () => import('./linux'),
  // The seed in real time, one run per DRC mode (about an hour): only when named.
  'repro-realtime': () => import('./repro').then((m) => ({ run: m.runRealTime })),
};

/** Areas `npm run bench` without arguments leaves out. */
const ON_REQUEST = new Set(['repro-realtime']);

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((a) => !(a in AREAS));
  if (unknown.length) {
    console.error(`unknown bench area: ${unknown.join(', ')} (areas: ${Object.keys(AREAS).join(', ')})`);
    process.exit(2);
  }
  const all: Measurement[] = [];
  for (const name of wanted.length ? wanted : Object.keys(AREAS).filter((a) => !ON_REQUEST.has(a))) {
    console.error(`# bench ${name} ...`);
    const mod = await AREAS[name]();
    const ms = await mod.run();
    all.push(...ms);
    printTable(ms);
    for (const m of ms) console.log(JSON.stringify(m));
    console.log('');
  }
  if (all.length === 0) console.error('no benchmark areas registered yet');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
