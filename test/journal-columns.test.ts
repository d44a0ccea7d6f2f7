// The journal binds a row's fields by position (server/journal.ts, issue 20): every field must land in its own
// column. A row with a distinct value in each column comes back from query() exactly as it went in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Journal, type JournalRow } from '../server/journal';

test('every field of a row lands in its own column', () => {
  const j = new Journal(':memory:');
  try {
    const row: JournalRow = {
      t_ms: 1765000000123.5,
      instance: '0011223344556677',
      conn: 7,
      client: '127.0.0.1:812',
      xid: 0xfedcba98,
      proc: 'WRITE',
      outcome: 'payload-miss-executed',
      status: 28,
      fh: 'ab'.repeat(32),
      path: 'dir/f.bin',
      name: 'f.bin',
      offset: 3 * 1048576,
      count: 65536,
      stable: 1,
      committed: 2,
      data_hash: '0123456789abcdef',
      head_hex: 'deadbeef'.repeat(4),
    };
    j.add(row);
    j.add({ ...row, xid: 5, status: null, fh: null, path: null, name: null, offset: null, count: null, stable: null, committed: null, data_hash: null, head_hex: null });
    const [a, b] = j.query();
    assert.deepEqual({ ...a, id: undefined }, { ...row, id: undefined });
    assert.deepEqual({ ...b, id: undefined }, { ...row, id: undefined, xid: 5, status: null, fh: null, path: null, name: null, offset: null, count: null, stable: null, committed: null, data_hash: null, head_hex: null });
  } finally {
    j.close();
  }
});
