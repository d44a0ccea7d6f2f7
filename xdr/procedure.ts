// The codec contract for one RPC procedure: arguments and results, both directions, sans-IO.
import type { XdrReader } from './reader';
import type { XdrWriter } from './writer';

export interface ProcCodec<A, R> {
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  /** RFC name, e.g. "WRITE" */
  readonly name: string;
  encodeArgs(w: XdrWriter, args: A): void;
  decodeArgs(r: XdrReader): A;
  encodeRes(w: XdrWriter, res: R): void;
  decodeRes(r: XdrReader): R;
}

/** The four coding functions of a ProcCodec, without its identity. */
export type ProcBody = Omit<ProcCodec<any, any>, 'prog' | 'vers' | 'proc' | 'name'>;

/** Builds a frozen ProcCodec from its identity and body (NFS3, MOUNT3 and PMAP2 tables use it). */
export function defineProc<A, R>(prog: number, vers: number, proc: number, name: string, body: ProcBody): ProcCodec<A, R> {
  return Object.freeze({ prog, vers, proc, name, ...body });
}

/** Procedure table indexed by procedure number; throws if the numbers are not exactly 0..n-1. */
export function procTable(codecs: Record<string, ProcCodec<any, any>>): ReadonlyArray<ProcCodec<any, any>> {
  const list = Object.values(codecs).sort((a, b) => a.proc - b.proc);
  list.forEach((c, i) => {
    if (c.proc !== i) throw new Error(`procedure table gap: ${c.name} is ${c.proc}, expected ${i}`);
  });
  return Object.freeze(list);
}
