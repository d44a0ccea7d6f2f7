// The hash that identifies a WRITE payload in the journal: the server writes it, captures/journal.ts matches
// captured transmissions by it, the reproduction's disk witness compares it with the pattern. All three call
// payloadHash() with the journal's own algorithm (its meta `payload_hash`), so they agree by construction.
//
// The hash only tells payloads apart (equal or not); it need not resist an adversary. xxh64 is the default:
// 64 bits, so two different 1 MiB payloads collide with probability 2^-64 (crc32c has 32 bits, and is linear: a
// difference that is a multiple of its polynomial never shows); measured here at 0.05-0.09 ms of CPU per MiB
// against sha256's 0.53-0.75 (issue 20; @node-rs/xxhash's xxh3-128 measured 0.66, its build lacks the SIMD path).
// @node-rs/xxhash ships prebuilt native binaries as optional packages and runs no install script.
import crypto from 'node:crypto';
import { xxh64 } from '@node-rs/xxhash';

export const PAYLOAD_HASHES = {
  xxh64: (data: Uint8Array): string => xxh64(data).toString(16).padStart(16, '0'),
  sha256: (data: Uint8Array): string => crypto.createHash('sha256').update(data).digest('hex'),
} as const satisfies Record<string, (data: Uint8Array) => string>;

export type PayloadHashName = keyof typeof PAYLOAD_HASHES;
export const PAYLOAD_HASH_NAMES = Object.keys(PAYLOAD_HASHES) as PayloadHashName[];
export const DEFAULT_PAYLOAD_HASH: PayloadHashName = 'xxh64';

export function isPayloadHash(name: string): name is PayloadHashName {
  return Object.prototype.hasOwnProperty.call(PAYLOAD_HASHES, name);
}

/** Hex digest of `data` with `algo`. */
export function payloadHash(algo: PayloadHashName, data: Uint8Array): string {
  return PAYLOAD_HASHES[algo](data);
}
