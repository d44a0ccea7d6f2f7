// Minimal leveled logger on stderr; components take a Logger so tests can capture lines.
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  log(level: Level, msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(opts: { level?: Level; name?: string; json?: boolean; out?: (line: string) => void } = {}): Logger {
  const min = ORDER[opts.level ?? ((process.env.NFS_TESTBED_LOG as Level) || 'info')] ?? 20;
  const out = opts.out ?? ((line: string) => process.stderr.write(line + '\n'));
  return {
    log(level, msg, fields) {
      if (ORDER[level] < min) return;
      if (opts.json) out(JSON.stringify({ t: new Date().toISOString(), level, name: opts.name, msg, ...fields }));
      else {
        const f = fields ? ' ' + Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') : '';
        out(`${level}${opts.name ? ' ' + opts.name : ''}: ${msg}${f}`);
      }
    },
  };
}

/** A logger that keeps lines in memory (tests). */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const l = createLogger({ level: 'debug', out: (s) => lines.push(s) });
  return Object.assign(l, { lines });
}

export const silentLogger: Logger = { log() {} };
