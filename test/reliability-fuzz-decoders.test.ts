// Mutation fuzzing of every decoder the testbed trusts with bytes from the network or from a file: RPC headers
// (RFC 5531 §9), NFSv3 / MOUNT v3 / PORTMAP v2 arguments and results (RFC 1813, RFC 1833), record marking
// (RFC 5531 §11, both the xdr framer and the server's direct-read framer) and the pcap/pcapng readers, seeded
// from the real libnfs-against-ganesha captures. A bad input may only be refused with a typed error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XdrError } from '../core/errors';
import { DecoderFuzzSummary, fuzzDecoders, isTypedError, makeInput } from '../lab/fuzz/decoders';
import { loadCorpus } from '../lab/fuzz/corpus';
import { Mutator } from '../lab/fuzz/mutator';
import { Rng } from '../testing/xdr-arbitrary';

const CI_INPUTS = 100_000;

test(`${CI_INPUTS} mutated inputs across all decoders: only typed errors, no hang, no allocation past 64 MiB`, async () => {
  const s: DecoderFuzzSummary = await fuzzDecoders({ seed: 20261121, inputs: CI_INPUTS, hangMs: 20_000 });
  assert.deepEqual(s.findings, []);
  assert.equal(s.inputs, CI_INPUTS);
  assert.equal(s.crashes, 0);
  assert.equal(s.hangs, 0);
  assert.equal(s.allocs, 0);
  assert.ok(s.corpus.sources.includes('libnfs-ganesha-write.pcap'), `seeded from real captures: ${s.corpus.sources}`);
  for (const name of ['rpc-call', 'rpc-reply', 'nfs3-args', 'nfs3-results', 'mount-args', 'mount-results', 'portmap-args', 'portmap-results', 'record-decoder', 'direct-framer', 'pcap-reader', 'pcapng-reader']) {
    const t = s.targets[name];
    assert.ok(t && t.inputs > 1000, `${name} ran`);
    // Both outcomes occur: the seeds decode, and the mutations reach the checks.
    assert.ok(t.accepted > 0 && t.rejected > 0, `${name}: ${JSON.stringify(t)}`);
  }
  // The limits that keep hostile lengths from allocating are exercised, not just short reads.
  for (const code of ['XDR_LIMIT', 'XDR_SHORT', 'RM_OVERSIZE', 'XDR_ENUM', 'CAPTURE_CAPLEN']) assert.ok(s.codes[code] > 0, `${code} seen`);
});

test('the same seed and index give the same input (findings reproduce from two numbers)', () => {
  for (const i of [0, 1, 17, 99_999]) assert.deepEqual(makeInput(7, i).input, makeInput(7, i).input);
  assert.notDeepEqual(makeInput(7, 5).input, makeInput(8, 5).input);
});

test('the oracle tells a crash from a refusal: a decoder without bounds checks is caught', () => {
  // A naive RPC header reader (no XdrReader): what the fuzzer exists to catch. Over the same mutated seeds it
  // must throw RangeError somewhere, and isTypedError must call that a crash.
  const naive = (b: Buffer) => {
    const credLen = b.readUInt32BE(28);
    return b.readUInt32BE(32 + credLen + 4); // verifier length, past a cred body of any claimed size
  };
  const calls = loadCorpus().calls;
  const m = new Mutator();
  let crashes = 0;
  for (let i = 0; i < 2000; i++) {
    const g = new Rng(i);
    try {
      naive(m.mutate(g, calls[g.int(calls.length)], calls[g.int(calls.length)]));
    } catch (e) {
      assert.equal(isTypedError(e), false);
      crashes++;
    }
  }
  assert.ok(crashes > 0);
  assert.equal(isTypedError(new XdrError('XDR_SHORT', 'short')), true);
  assert.equal(isTypedError(new RangeError('offset out of range')), false);
});
