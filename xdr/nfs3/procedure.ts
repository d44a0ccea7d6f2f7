// The codec contract for one RPC procedure: arguments and results, both directions, sans-IO.
import type { XdrReader } from '../reader';
import type { XdrWriter } from '../writer';

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
