// READ data buffers, reused: a fresh 1 MiB allocation per READ costs page faults on every call. A buffer is lent
// to one reply and comes back through CallContext.afterSend once the socket has taken the bytes; until then
// nobody else writes to it.
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly bufferBytes: number,
    private readonly keep = 16,
  ) {}

  acquire(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
  }

  release(buf: Buffer): void {
    if (this.free.length < this.keep && buf.length === this.bufferBytes) this.free.push(buf);
  }
}
