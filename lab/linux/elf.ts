// A bounds-checked reader for the one thing the guest builder needs from an ELF64 file: a section's bytes by
// name (a kernel module's .modinfo). Sans-IO: takes the file's bytes, returns a view.
import { GuestError } from '../../core/errors';

const ELFMAG = 0x7f454c46; // "\x7fELF"
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const SHT_NOBITS = 8;

/** The bytes of section `name`, a view of `file`, or undefined when the file has no such section. */
export function elfSection(file: Buffer, name: string): Buffer | undefined {
  const fail = (why: string): never => {
    throw new GuestError('ELF_BAD', `not a little-endian ELF64 file: ${why}`);
  };
  if (file.length < 64 || file.readUInt32BE(0) !== ELFMAG) fail('bad magic');
  if (file[4] !== ELFCLASS64 || file[5] !== ELFDATA2LSB) fail('not ELFCLASS64/ELFDATA2LSB');
  const shoff = Number(file.readBigUInt64LE(0x28));
  const shentsize = file.readUInt16LE(0x3a);
  const shnum = file.readUInt16LE(0x3c);
  const shstrndx = file.readUInt16LE(0x3e);
  if (shentsize < 64 || shoff + shnum * shentsize > file.length || shstrndx >= shnum) fail('section headers out of range');
  const header = (i: number) => {
    const o = shoff + i * shentsize;
    const offset = Number(file.readBigUInt64LE(o + 0x18));
    // SHT_NOBITS (.bss) occupies no bytes in the file
    const size = file.readUInt32LE(o + 4) === SHT_NOBITS ? 0 : Number(file.readBigUInt64LE(o + 0x20));
    if (offset + size > file.length) fail(`section ${i} out of range`);
    return { nameOff: file.readUInt32LE(o), offset, size };
  };
  const strtab = header(shstrndx);
  const names = file.subarray(strtab.offset, strtab.offset + strtab.size);
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    const end = names.indexOf(0, h.nameOff);
    if (end < 0) continue;
    if (names.toString('latin1', h.nameOff, end) === name) return file.subarray(h.offset, h.offset + h.size);
  }
  return undefined;
}
