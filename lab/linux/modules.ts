// Kernel modules for the guest: read each module's .modinfo `depends=` and order the wanted modules and their
// dependencies so each is loaded after what it needs. The host has no depmod (kmod is not installed), and a
// user's --modules DIR may have no modules.dep, so the order is computed here, as depmod would compute it.
import fs from 'node:fs';
import path from 'node:path';
import { GuestError } from '../../core/errors';
import { elfSection } from './elf';

export interface ModuleInfo {
  name: string;
  file: string;
  depends: string[];
}

/** `key=value` strings of a .modinfo section (NUL-separated), e.g. depends=sunrpc,lockd. */
export function parseModinfo(section: Buffer): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const entry of section.toString('latin1').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const k = entry.slice(0, eq);
    out.set(k, [...(out.get(k) ?? []), entry.slice(eq + 1)]);
  }
  return out;
}

/** Module names use '-' and '_' interchangeably (kernel/params.c parameq); '_' is canonical. */
const canon = (n: string) => n.replace(/-/g, '_');

/** Every *.ko under `dir`, by canonical module name. Compressed modules are refused with a clear error. */
export function scanModules(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ko')) out.set(canon(e.name.slice(0, -3)), p);
      else if (/\.ko\.(xz|zst|gz)$/.test(e.name)) out.set(canon(e.name.replace(/\.ko\..*$/, '')), p);
    }
  };
  walk(dir);
  return out;
}

export function readModule(name: string, file: string): ModuleInfo {
  if (!file.endsWith('.ko')) throw new GuestError('MODULE_COMPRESSED', `${file}: compressed modules are not supported; decompress them (xz -d / zstd -d) into the --modules folder`);
  const info = elfSection(fs.readFileSync(file), '.modinfo');
  if (!info) throw new GuestError('MODULE_NO_MODINFO', `${file} has no .modinfo section`);
  const deps = (parseModinfo(info).get('depends') ?? []).flatMap((d) => d.split(',')).filter(Boolean).map(canon);
  return { name, file, depends: deps };
}

/**
 * The wanted modules and everything they depend on, dependencies first. A wanted name the folder lacks is
 * assumed built in (`builtin` lists modules.builtin when known; then a name in neither fails).
 */
export function loadOrder(available: Map<string, string>, wanted: string[], builtin?: Set<string>): ModuleInfo[] {
  const order: ModuleInfo[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (raw: string, from: string | undefined) => {
    const name = canon(raw);
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new GuestError('MODULE_CYCLE', `module dependency cycle through ${name}`);
    const file = available.get(name);
    if (!file) {
      if (!builtin || builtin.has(name)) return;
      throw new GuestError('MODULE_MISSING', `module ${name}${from ? ` (needed by ${from})` : ''} is neither in the modules folder nor built in`);
    }
    state.set(name, 'visiting');
    const m = readModule(name, file);
    for (const d of m.depends) visit(d, name);
    state.set(name, 'done');
    order.push(m);
  };
  for (const w of wanted) visit(w, undefined);
  return order;
}

/** Canonical names from a modules.builtin file (lines like kernel/fs/nfs/nfs.ko). */
export function readBuiltin(file: string): Set<string> | undefined {
  if (!fs.existsSync(file)) return undefined;
  return new Set(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => canon(path.basename(l).replace(/\.ko.*$/, ''))));
}
