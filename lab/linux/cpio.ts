// The initramfs archive: cpio "newc" (Documentation/driver-api/early-userspace/buffer-format.rst), written from
// a list of entries. Sans-IO: entries in, Buffers out (the caller gzips and writes them). Linux unpacks several
// concatenated archives in order, later entries replacing earlier ones.

export type CpioEntry =
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'file'; data: Buffer; mode?: number }
  | { path: string; type: 'symlink'; target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

function header(ino: number, mode: number, size: number, nameSize: number): string {
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  // magic, ino, mode, uid, gid, nlink, mtime (0: reproducible), filesize, devmajor, devminor, rdevmajor,
  // rdevminor, namesize, check
  return '070701' + [ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, nameSize, 0].map(hex).join('');
}

const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);

/** The archive's bytes (uncompressed), ending with the TRAILER!!! entry. */
export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const put = (name: string, mode: number, data: Buffer) => {
    const nameBuf = Buffer.from(name + '\0', 'utf8');
    const head = Buffer.from(header(ino++, mode, data.length, nameBuf.length), 'latin1');
    parts.push(head, nameBuf, pad4(head.length + nameBuf.length), data, pad4(data.length));
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    if (e.type === 'dir') put(name, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0));
    else if (e.type === 'file') put(name, S_IFREG | (e.mode ?? 0o644), e.data);
    else put(name, S_IFLNK | 0o777, Buffer.from(e.target, 'utf8'));
  }
  put('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}
