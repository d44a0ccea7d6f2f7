// One HOST:PORT grammar (core/address.ts) for every option and API field naming a TCP endpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostPort } from '../core/address';

test('HOST:PORT, [IPV6]:PORT, :PORT and PORT', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:2049', 'x'), { host: '127.0.0.1', port: 2049 });
  assert.deepEqual(parseHostPort('localhost:0', 'x'), { host: 'localhost', port: 0 });
  assert.deepEqual(parseHostPort('[::1]:8080', 'x'), { host: '::1', port: 8080 });
  assert.deepEqual(parseHostPort('[::ffff:127.0.0.1]:1', 'x'), { host: '::ffff:127.0.0.1', port: 1 });
  assert.deepEqual(parseHostPort(':20049', 'x'), { host: '127.0.0.1', port: 20049 });
  assert.deepEqual(parseHostPort(' 65535 ', 'x'), { host: '127.0.0.1', port: 65535 });
});

test('anything else is BAD_ADDRESS naming the option', () => {
  for (const bad of ['', 'host', 'host:', '::1:2049', '[::1]', '127.0.0.1:65536', '127.0.0.1:123456', 'a b:1', 'h:1:2', '[x]:1', 'h:-1', 'h:0x10']) {
    assert.throws(() => parseHostPort(bad, '--listen'), (e: { code?: string; message?: string }) => e.code === 'BAD_ADDRESS' && e.message!.startsWith('--listen:'), bad);
  }
});
