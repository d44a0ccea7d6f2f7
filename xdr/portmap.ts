// PORTMAP v2 (RFC 1833 §3): wire constants, types and procedure codecs. CALLIT is encoded/decoded faithfully;
// servers may refuse it. Explicit constant values, pinned to the RFC by test/xdr-constants.test.ts.
import { readList, writeList } from './list';
import type { XdrReader } from './reader';
import type { XdrWriter } from './writer';
import { type ProcBody, type ProcCodec, defineProc, procTable } from './procedure';

export const PMAP_PROGRAM = 100000;
export const PMAP_V2 = 2;
// RFC 1833 §3.2: PORTMAP v2 procedures
export const PMAPPROC = { NULL: 0, SET: 1, UNSET: 2, GETPORT: 3, DUMP: 4, CALLIT: 5 } as const;
// RFC 1833 §3.1
export const IPPROTO = { TCP: 6, UDP: 17 } as const;

// RFC 1833 §3.1: types, field order as in the RFC.
export interface PmapMapping { prog: number; vers: number; prot: number; port: number }
export interface CallitArgs { prog: number; vers: number; proc: number; args: Buffer }
export interface CallitRes { port: number; res: Buffer }

/** CALLIT carries opaque args/results of another procedure; bounded like a small RPC message. */
export const MAX_CALLIT_BYTES = 64 * 1024;

function pmap<A, R>(name: keyof typeof PMAPPROC, body: ProcBody): ProcCodec<A, R> {
  return defineProc(PMAP_PROGRAM, PMAP_V2, PMAPPROC[name], name, body);
}

const nothing = (): void => {};

// RFC 1833 §3.1: struct mapping { prog, vers, prot, port }
export function writeMapping(w: XdrWriter, m: PmapMapping): void {
  w.u32(m.prog).u32(m.vers).u32(m.prot).u32(m.port);
}

export function readMapping(r: XdrReader): PmapMapping {
  return { prog: r.u32(), vers: r.u32(), prot: r.u32(), port: r.u32() };
}

const mappingArgs = { encodeArgs: writeMapping, decodeArgs: readMapping };
const boolRes = { encodeRes: (w: XdrWriter, b: boolean) => void w.bool(b), decodeRes: (r: XdrReader) => r.bool() };

const NULL = pmap<void, void>('NULL', { encodeArgs: nothing, decodeArgs: nothing, encodeRes: nothing, decodeRes: nothing });
// RFC 1833 §3.2: PMAPPROC_SET / UNSET (mapping) -> bool
const SET = pmap<PmapMapping, boolean>('SET', { ...mappingArgs, ...boolRes });
const UNSET = pmap<PmapMapping, boolean>('UNSET', { ...mappingArgs, ...boolRes });
// PMAPPROC_GETPORT (mapping) -> unsigned int port (0 = not registered)
const GETPORT = pmap<PmapMapping, number>('GETPORT', {
  ...mappingArgs,
  encodeRes: (w: XdrWriter, port: number) => void w.u32(port),
  decodeRes: (r: XdrReader) => r.u32(),
});
// PMAPPROC_DUMP (void) -> pmaplist = *pmaplist { mapping map; pmaplist next }
const DUMP = pmap<void, PmapMapping[]>('DUMP', {
  encodeArgs: nothing,
  decodeArgs: nothing,
  encodeRes: (w: XdrWriter, list: PmapMapping[]) => writeList(w, list, writeMapping),
  decodeRes: (r: XdrReader) => readList(r, readMapping),
});
// PMAPPROC_CALLIT (call_args {prog, vers, proc, opaque args}) -> call_result {port, opaque res}
const CALLIT = pmap<CallitArgs, CallitRes>('CALLIT', {
  encodeArgs(w: XdrWriter, a: CallitArgs) {
    w.u32(a.prog).u32(a.vers).u32(a.proc).opaque(a.args, MAX_CALLIT_BYTES);
  },
  decodeArgs(r: XdrReader): CallitArgs {
    const prog = r.u32();
    const vers = r.u32();
    const proc = r.u32();
    return { prog, vers, proc, args: r.opaque(MAX_CALLIT_BYTES, 'callit args') };
  },
  encodeRes(w: XdrWriter, res: CallitRes) {
    w.u32(res.port).opaque(res.res, MAX_CALLIT_BYTES);
  },
  decodeRes(r: XdrReader): CallitRes {
    const port = r.u32();
    return { port, res: r.opaque(MAX_CALLIT_BYTES, 'callit res') };
  },
});

/** The PORTMAP v2 codec table, by RFC name. */
export const PMAP2 = Object.freeze({ NULL, SET, UNSET, GETPORT, DUMP, CALLIT });

/** Codecs indexed by procedure number. */
export const PMAP2_PROCS: ReadonlyArray<ProcCodec<any, any>> = procTable(PMAP2);
