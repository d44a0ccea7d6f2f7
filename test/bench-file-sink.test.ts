// The client bench's floor (bench/file-sink.ts) is a yardstick our figures are judged against, so it must do
// the work it claims: every byte received lands in the file at its offset, and its side of the connection ends
// only once the file holds them all (the sender's clock stops there). Run as the bench runs it: its own process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startReady } from '../bench/child';

const SINK = path.join(__dirname, '..', 'bench', 'file-sink.js');

async function startSink(args: string[]): Promise<{ port: number; stop(): Promise<void> }> {
  const c = await startReady([SINK, ...args], 'ignore');
  return { port: Number(c.line.split(' ')[1]), stop: c.stop };
}

test('file sink: the stream lands in the file byte for byte, and its FIN comes after the last write', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-sink-'));
  const sink = await startSink([dir, '--keep']);
  try {
    // 9 MiB + 123 bytes: more than one 8-slab batch, and a partial last slab.
    const data = crypto.randomBytes(9 * 1024 * 1024 + 123);
    const sock = net.connect({ port: sink.port, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise((r) => sock.once('connect', r));
    const ended = new Promise((r) => sock.once('end', r));
    // Odd-sized writes, so slab boundaries and read boundaries do not line up.
    for (let at = 0; at < data.length; at += 300_001) sock.write(data.subarray(at, at + 300_001));
    sock.end();
    await ended;
    sock.destroy();
    const files = fs.readdirSync(dir);
    assert.equal(files.length, 1);
    const got = fs.readFileSync(path.join(dir, files[0]));
    assert.equal(got.length, data.length);
    assert.ok(got.equals(data), 'file content differs from the stream');
  } finally {
    await sink.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('file sink: without --keep the file is gone after the connection; bad arguments exit 2', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-sink-'));
  const sink = await startSink([dir]);
  try {
    const sock = net.connect({ port: sink.port, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise((r) => sock.once('connect', r));
    const ended = new Promise((r) => sock.once('end', r));
    sock.end(Buffer.alloc(3 * 1024 * 1024, 7));
    await ended;
    sock.destroy();
    for (let i = 0; i < 50 && fs.readdirSync(dir).length; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    await sink.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const bad = spawn(process.execPath, [SINK, '/nonexistent-dir-for-nfs-testbed'], { stdio: 'ignore' });
  assert.equal(await new Promise((r) => bad.once('exit', r)), 2);
});
