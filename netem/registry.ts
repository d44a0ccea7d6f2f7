// Named proxies of one process (what the control API manages), Toxiproxy-style.
import { ConfigError, NetemError } from '../core/errors';
import { createProxy, type Proxy, type ProxyOptions } from './proxy';

export class NetemRegistry {
  private readonly proxies = new Map<string, Proxy>();
  /** defaults applied to proxies created through the registry (time scale, seed, rpc) */
  constructor(private readonly defaults: Partial<ProxyOptions> = {}) {}

  async create(opts: ProxyOptions & { name: string }): Promise<Proxy> {
    if (this.proxies.has(opts.name)) throw new NetemError('NETEM_PROXY_EXISTS', `proxy ${opts.name} already exists`);
    if (!/^[\w.-]{1,64}$/.test(opts.name)) throw new ConfigError('NETEM_PROXY_NAME', `bad proxy name "${opts.name}"`);
    this.proxies.set(opts.name, undefined as unknown as Proxy); // reserve the name while listening
    try {
      const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as ProxyOptions & { name: string };
      const p = await createProxy({ ...this.defaults, ...given });
      this.proxies.set(opts.name, p);
      return p;
    } catch (e) {
      this.proxies.delete(opts.name);
      throw e;
    }
  }

  /** Adopts a proxy created elsewhere (the CLI's). */
  adopt(p: Proxy): void {
    if (this.proxies.has(p.name)) throw new NetemError('NETEM_PROXY_EXISTS', `proxy ${p.name} already exists`);
    this.proxies.set(p.name, p);
  }

  get(name: string): Proxy | undefined {
    return this.proxies.get(name) || undefined;
  }

  list(): Proxy[] {
    return [...this.proxies.values()].filter(Boolean);
  }

  async delete(name: string): Promise<boolean> {
    const p = this.proxies.get(name);
    if (!p) return false;
    this.proxies.delete(name);
    await p.close();
    return true;
  }

  async closeAll(): Promise<void> {
    const all = this.list();
    this.proxies.clear();
    await Promise.all(all.map((p) => p.close()));
  }
}
