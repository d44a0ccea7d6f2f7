// Parsers for what a client guest reports: blktest2's lines, /proc/self/mountstats (statvers 1.1, fs/nfs/super.c
// nfs_show_stats and net/sunrpc/stats.c rpc_clnt_show_stats / xprt ->print_stats) and the sunrpc trace buffer.

export interface GuestWrite {
  i: number;
  offset: number;
  ret: number;
  /** write() latency, µs */
  us: number;
  /** bytes queued and unacknowledged on the NFS socket right after the scribble (-1: unknown) */
  txq: number;
  /** when the host received the line (epoch ms): the scribble happened before this */
  hostAt: number;
}

export interface GuestBlktest {
  writes: GuestWrite[];
  corrupt: Array<{ block: number; offset: number; badWords: number; found: string }>;
  done?: { writes: number; bytes: number; writeUs: number; corrupt: number };
  errors: string[];
}

const kv = (text: string) => Object.fromEntries([...text.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));

export function parseBlktest(lines: Array<{ text: string; at: number }>): GuestBlktest {
  const out: GuestBlktest = { writes: [], corrupt: [], errors: [] };
  for (const { text, at } of lines) {
    const f = kv(text);
    if (text.startsWith('write ')) out.writes.push({ i: +f.i, offset: +f.off, ret: +f.ret, us: +f.us, txq: +f.txq, hostAt: at });
    else if (text.startsWith('corrupt ')) out.corrupt.push({ block: +f.block, offset: +f.off, badWords: +f.badwords, found: f.found });
    else if (text.startsWith('done ')) out.done = { writes: +f.writes, bytes: +f.bytes, writeUs: +f.write_us, corrupt: +f.corrupt };
    else if (text.startsWith('error ')) out.errors.push(text.slice(6));
  }
  return out;
}

export interface OpStats {
  ops: number;
  transmissions: number;
  timeouts: number;
  bytesSent: number;
  bytesReceived: number;
}

export interface MountStats {
  /** xprt line of the mount (tcp): sends, receives, bad XIDs, connects */
  xprt?: { connects: number; sends: number; receives: number; badXids: number };
  ops: Record<string, OpStats>;
}

export function parseMountstats(lines: string[]): MountStats {
  const out: MountStats = { ops: {} };
  let nfs = false;
  for (const raw of lines) {
    const l = raw.trim();
    if (l.startsWith('device ')) nfs = / with fstype nfs\b/.test(l);
    if (!nfs) continue;
    const x = l.match(/^xprt:\s+tcp\s+(.*)$/);
    if (x) {
      // srcport bind_count connect_count connect_time idle_time sends recvs bad_xids req_u bklog_u ...
      const v = x[1].split(/\s+/).map(Number);
      out.xprt = { connects: v[2], sends: v[5], receives: v[6], badXids: v[7] };
      continue;
    }
    const op = l.match(/^([A-Z_]+):\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/);
    if (op && +op[2] > 0) out.ops[op[1]] = { ops: +op[2], transmissions: +op[3], timeouts: +op[4], bytesSent: +op[5], bytesReceived: +op[6] };
  }
  return out;
}

/** Events per tracepoint name in an ftrace text buffer ("task-pid [cpu] flags ts: name: ..."). */
export function traceCounts(lines: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) {
    const m = l.match(/:\s+([a-z_]+):\s/);
    if (m) out[m[1]] = (out[m[1]] ?? 0) + 1;
  }
  return out;
}
