// The hash that identifies a WRITE payload in the journal: the server writes it, captures/journal.ts matches
// captured transmissions by it, the reproduction's disk witness compares it with the pattern. All three call
// payloadHash() with the journal's own algorithm (its meta `payload_hash`), so they agree by construction.
//
// The hash only tells payloads apart (equal or not); it need not resist an adversary. xxh3 (XXH3_64bits, seed 0,
// as `xxhsum -H3` prints it) is the default: 64 bits, so two different 1 MiB payloads collide with probability
// 2^-64 (crc32c has 32 bits, and is linear: a difference that is a multiple of its polynomial never shows).
// @node-rs/xxhash 1.7.8 has two XXH3 paths with one result: its one-shot `xxh3.xxh64` runs 0.63-1.06 ms per MiB here
// (the path the earlier measurements took, which showed xxh3 as 5-9x xxh64), its streaming `Xxh3` 0.07-0.10 against
// xxh64's 0.10-0.14 (30 paired rounds of 256 MiB, 1 MiB payloads at offset 116 of a SharedArrayBuffer as the server's
// records hold them: median ratio 0.80, rounds 0.62-0.97; README "XXH3 through its streaming path"). The streaming
// state costs about 1.1 us a call to reset and read out, so payloads under 2 KiB take the one-shot path (1 KiB: 0.83
// us one-shot, 1.15 streaming; 2 KiB: 1.60 and 1.26). Under about 32 KiB xxh64 would cost less than either (16 KiB:
// 1.99 us against 2.85), a few microseconds a call at most; the journal's payloads are mostly 1 MiB WRITEs. xxh64
// (the default before) and sha256 stay for the journals made with them: a journal keeps the hash it was created with
// (meta `payload_hash`, so adding xxh3 needed no schema change).
// @node-rs/xxhash ships prebuilt native binaries as optional packages and runs no install script.
import crypto from 'node:crypto';
import { xxh3, xxh64 } from '@node-rs/xxhash';

/** Payloads from this size take XXH3's streaming path (cheaper per byte, dearer per call; the same digest). */
const XXH3_STREAM_FROM = 2 * 1024;
/** One streaming state, reset per payload: every call below runs to completion synchronously. */
const xxh3State = xxh3.Xxh3.withSeed(0n);

function xxh3Hex(data: Uint8Array): string {
  let h: bigint;
  if (data.length < XXH3_STREAM_FROM) h = xxh3.xxh64(data);
  else {
    xxh3State.reset();
    h = xxh3State.update(data).digest();
  }
  return h.toString(16).padStart(16, '0');
}

export const PAYLOAD_HASHES = {
  xxh3: xxh3Hex,
  xxh64: (data: Uint8Array): string => xxh64(data).toString(16).padStart(16, '0'),
  sha256: (data: Uint8Array): string => crypto.createHash('sha256').update(data).digest('hex'),
} as const satisfies Record<string, (data: Uint8Array) => string>;

export type PayloadHashName = keyof typeof PAYLOAD_HASHES;
export const PAYLOAD_HASH_NAMES = Object.keys(PAYLOAD_HASHES) as PayloadHashName[];
export const DEFAULT_PAYLOAD_HASH: PayloadHashName = 'xxh3';

export function isPayloadHash(name: string): name is PayloadHashName {
  return Object.prototype.hasOwnProperty.call(PAYLOAD_HASHES, name);
}

/** Hex digest of `data` with `algo`. */
export function payloadHash(algo: PayloadHashName, data: Uint8Array): string {
  return PAYLOAD_HASHES[algo](data);
}
