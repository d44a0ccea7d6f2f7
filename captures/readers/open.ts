// Picks the reader for a capture from its first bytes.
import { CaptureError } from '../../core/errors';
import { CaptureReader } from './packet';
import { PcapReader, PCAP_MAGIC } from './pcap';
import { PcapngReader, PCAPNG_BLOCK } from './pcapng';

export type Compression = 'bzip2' | 'gzip' | null;

/** bzip2 files start with "BZh", gzip with 1f 8b. */
export function compressionOf(first: Buffer): Compression {
  if (first.length >= 3 && first[0] === 0x42 && first[1] === 0x5a && first[2] === 0x68) return 'bzip2';
  if (first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b) return 'gzip';
  return null;
}

/** A reader for the format the first 4 bytes announce; CaptureError CAPTURE_MAGIC otherwise. */
export function readerFor(first: Buffer): CaptureReader {
  if (first.length < 4) throw new CaptureError('CAPTURE_SHORT_HEADER', `capture has only ${first.length} bytes`, { bytes: first.length });
  const be = first.readUInt32BE(0);
  const le = first.readUInt32LE(0);
  if (be === PCAPNG_BLOCK.SHB) return new PcapngReader();
  for (const m of Object.values(PCAP_MAGIC)) if (be === m || le === m) return new PcapReader();
  throw new CaptureError('CAPTURE_MAGIC', `unknown capture format (first bytes ${first.subarray(0, 4).toString('hex')})`, { magic: first.subarray(0, 4).toString('hex') });
}
