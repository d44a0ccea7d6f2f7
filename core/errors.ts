// One base error with a stable string `code`; layers subclass it. Tests assert on `code`, never on text.

export class TestbedError extends Error {
  readonly code: string;
  readonly details?: Record<string, unknown>;
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Malformed or over-limit XDR / record-marking input. */
export class XdrError extends TestbedError {}
/** RPC-level failure: bad message, timeout, connection loss, rejected call. */
export class RpcError extends TestbedError {}
/** An nfsstat3 raised inside a server procedure; becomes the status plus the procedure's failure body. */
export class NfsStatusError extends TestbedError {
  readonly status: number;
  constructor(status: number, message?: string) {
    super('NFS_STATUS', message ?? `nfsstat3 ${status}`, { status });
    this.status = status;
  }
}
export class NetemError extends TestbedError {}
export class CaptureError extends TestbedError {}
/** Bad configuration or option value; the CLI maps it to exit 2. */
export class ConfigError extends TestbedError {}

/** Linux guests (lab/linux/): a kernel, package, guest or namespace that could not be built, started or reached. */
export class GuestError extends TestbedError {}
