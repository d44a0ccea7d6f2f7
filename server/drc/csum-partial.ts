// The checksum Linux nfsd keys its reply cache on (fs/nfsd/nfscache.c nfsd_cache_csum: csum_partial() over the
// first RC_CSUMLEN = 256 bytes of the arguments, since 3.10). csum_partial is the Internet checksum's running
// sum (RFC 1071 §4.1: 16-bit one's-complement addition with end-around carry; lib/checksum.c do_csum); which
// two argument blocks collide is what matters, so this sums big-endian 16-bit words and folds to 16 bits:
// Linux's little-endian words give the byte-swapped sum, a bijection, so exactly the same blocks collide
// (e.g. two 16-bit words swapped, or 0x0000 and 0xffff words exchanged).

/** Linux nfsd's RC_CSUMLEN. */
export const RC_CSUMLEN = 256;

/** The folded 16-bit one's-complement sum of `b` (an odd last byte is the high byte of a zero-padded word). */
export function csumPartial(b: Buffer): number {
  let sum = 0;
  const even = b.length & ~1;
  for (let i = 0; i < even; i += 2) {
    sum += (b[i] << 8) | b[i + 1];
    // Fold now and then so the sum stays an exact small integer (it never exceeds 2^31 between folds).
    if (sum > 0x7fff0000) sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (even < b.length) sum += b[even] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}
