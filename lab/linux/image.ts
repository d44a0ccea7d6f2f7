// The guest builder: a kernel (Debian's linux-image-cloud-amd64 for QEMU or Debian's user-mode-linux, unpacked
// into the cache, or the user's own with --kernel/--modules: a bzImage or a UML binary) and an initramfs per role: busybox-static, the modules the role needs in dependency order,
// our static C programs (guest/*.c), /init (guest/init.sh) and, for the nfsd role, rpc.nfsd, rpc.mountd,
// exportfs and rpcbind with their libraries from Debian's packages. Images are cached by the hash of everything
// that goes into them.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { GuestError } from '../../core/errors';
import { cpioNewc, type CpioEntry } from './cpio';
import { fetchDebs, linuxCache, missingPrograms, resolveMeta } from './debs';
import { loadOrder, readBuiltin, scanModules } from './modules';
import { elfSection } from './elf';

export type GuestRole = 'client' | 'nfsd';

/** How the kernel runs: a bzImage under QEMU (TCG), or a user-mode-linux binary run as a host process. */
export type GuestKind = 'qemu' | 'uml';
export const GUEST_KINDS: readonly GuestKind[] = ['qemu', 'uml'];

export interface GuestKernel {
  kind: GuestKind;
  /** bzImage for QEMU, or the UML executable */
  image: string;
  /** lib/modules/<release> folder, or undefined when everything needed is built in */
  modulesDir?: string;
  builtin?: Set<string>;
  /** e.g. "debian linux-image-6.1.0-57-cloud-amd64", "debian user-mode-linux" or "user /path/bzImage" */
  label: string;
}

/**
 * What each role loads (the dependencies follow from .modinfo). A QEMU guest's NIC is virtio-net; a UML guest's
 * is the vector driver (arch/um/drivers/vector_kern.c), built into the UML binary.
 */
const ROLE_MODULES: Record<GuestKind, Record<GuestRole, string[]>> = {
  qemu: { client: ['virtio_pci', 'virtio_net', 'nfsv3'], nfsd: ['virtio_pci', 'virtio_net', 'nfsd'] },
  uml: { client: ['nfsv3'], nfsd: ['nfsd'] },
};

/**
 * A module a role wants under its older name: kernels before 3.6 have NFSv3 inside nfs.ko (the per-version
 * modules nfsv2/nfsv3/nfsv4 came with 3.6), so a user's pre-2013 kernel loads nfs where 6.1 loads nfsv3.
 */
const OLDER_NAMES: Record<string, string> = { nfsv3: 'nfs' };

/** The nfsd role's user space and the packages that hold it and its libraries (Debian 12 names). */
const NFSD_BINARIES = ['usr/sbin/rpc.nfsd', 'usr/sbin/rpc.mountd', 'usr/sbin/exportfs', 'sbin/rpcbind'];
const NFSD_PACKAGES = [
  'nfs-kernel-server', 'rpcbind', 'netbase', 'libc6', 'libtirpc3', 'libtirpc-common', 'libsystemd0', 'libwrap0', 'libnsl2',
  'libblkid1', 'libuuid1', 'libgssapi-krb5-2', 'libkrb5-3', 'libk5crypto3', 'libkrb5support0', 'libcom-err2', 'libkeyutils1',
  'libcap2', 'libgcrypt20', 'libgpg-error0', 'liblz4-1', 'liblzma5', 'libzstd1',
];
const DEBIAN_KERNEL_META = 'linux-image-cloud-amd64';
/** Debian's UML: usr/bin/linux.uml and its modules in usr/lib/uml/modules/<release> (one package). */
const DEBIAN_UML = 'user-mode-linux';

/** Where guest/*.c and guest/init.sh live (the source tree; dist/ holds only the compiled TypeScript). */
export const GUEST_SRC = path.resolve(__dirname, '../../../lab/linux/guest');

const sha = (...parts: Array<string | Buffer>) => {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

/** Debian's cloud kernel, fetched and unpacked into the cache on first use. */
export function debianKernel(): GuestKernel {
  let pkg: string;
  try {
    pkg = resolveMeta(DEBIAN_KERNEL_META, /^linux-image-\d.*-cloud-amd64$/);
  } catch (e) {
    // No apt lists: use a kernel package already in the cache.
    const debs = fs.readdirSync(linuxCache('debs')).filter((f) => /^linux-image-\d.*-cloud-amd64_.*\.deb$/.test(f)).sort();
    if (!debs.length) throw e;
    pkg = debs[debs.length - 1].split('_')[0];
  }
  const [{ root }] = fetchDebs([pkg]);
  const vmlinuz = fs.readdirSync(path.join(root, 'boot')).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new GuestError('KERNEL_MISSING', `${pkg} has no boot/vmlinuz-*`);
  const release = vmlinuz.slice('vmlinuz-'.length);
  const modulesDir = path.join(root, 'lib', 'modules', release);
  return { kind: 'qemu', image: path.join(root, 'boot', vmlinuz), modulesDir, builtin: readBuiltin(path.join(modulesDir, 'modules.builtin')), label: `debian ${pkg}` };
}

/** Debian's user-mode-linux (6.1um), fetched and unpacked into the cache on first use, never installed. */
export function debianUml(): GuestKernel {
  const [{ root, deb }] = fetchDebs([DEBIAN_UML]);
  const image = path.join(root, 'usr', 'bin', 'linux.uml');
  const modRoot = path.join(root, 'usr', 'lib', 'uml', 'modules');
  const release = fs.existsSync(modRoot) ? fs.readdirSync(modRoot)[0] : undefined;
  if (!fs.existsSync(image) || !release) throw new GuestError('KERNEL_MISSING', `${deb} has no usr/bin/linux.uml or usr/lib/uml/modules/<release>`);
  const modulesDir = path.join(modRoot, release);
  return { kind: 'uml', image, modulesDir, builtin: readBuiltin(path.join(modulesDir, 'modules.builtin')), label: `debian ${deb.replace(/_amd64\.deb$/, '').replace('_', ' ')}` };
}

/** The x86 boot protocol's magic "HdrS" at 0x202 of a bzImage (Documentation/x86/boot.rst). */
const BZIMAGE_MAGIC_AT = 0x202;
/** Above this an ELF entry point is a kernel-space address (x86-64's canonical lower half ends at 2^47). */
const USER_SPACE_END = 1n << 47n;

/**
 * What kind of kernel a file is, from its first bytes: an ELF executable whose entry point is a user-space
 * address is a UML binary (a host program); a bzImage carries "HdrS"; an ELF with a kernel-space entry is a
 * vmlinux, which neither runner boots.
 */
export function kernelKind(head: Buffer, name = 'the file'): GuestKind {
  if (head.length >= 0x20 && head.readUInt32BE(0) === 0x7f454c46) {
    if (head[4] !== 2 || head[5] !== 1) throw new GuestError('KERNEL_UNKNOWN', `${name} is an ELF file but not little-endian ELF64: not an x86-64 UML binary`);
    const entry = head.readBigUInt64LE(0x18);
    if (entry >= USER_SPACE_END) throw new GuestError('KERNEL_UNKNOWN', `${name} is a vmlinux (kernel-space entry point): pass arch/x86/boot/bzImage for QEMU, or a UML binary (ARCH=um)`);
    return 'uml';
  }
  if (head.length >= BZIMAGE_MAGIC_AT + 4 && head.toString('latin1', BZIMAGE_MAGIC_AT, BZIMAGE_MAGIC_AT + 4) === 'HdrS') return 'qemu';
  throw new GuestError('KERNEL_UNKNOWN', `${name} is neither a bzImage (no "HdrS" at 0x202) nor a UML binary (not ELF)`);
}

/** The user's kernel: a bzImage or UML binary and optionally its lib/modules/<release> folder (else all must be built in). */
export function userKernel(image: string, modulesDir?: string): GuestKernel {
  if (!fs.existsSync(image)) throw new GuestError('KERNEL_MISSING', `--kernel ${image}: no such file`);
  if (modulesDir && !fs.existsSync(modulesDir)) throw new GuestError('KERNEL_MISSING', `--modules ${modulesDir}: no such folder`);
  const head = Buffer.alloc(4096);
  const fd = fs.openSync(image, 'r');
  const n = fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  const kind = kernelKind(head.subarray(0, n), `--kernel ${image}`);
  return { kind, image, modulesDir, builtin: modulesDir ? readBuiltin(path.join(modulesDir, 'modules.builtin')) : undefined, label: `user ${image}` };
}

/** gcc -static of guest/NAME.c into the cache, keyed by the source's hash. */
export function staticProgram(name: string): string {
  const src = path.join(GUEST_SRC, `${name}.c`);
  const text = fs.readFileSync(src);
  const out = path.join(linuxCache('bin', sha(text).slice(0, 16)), name);
  if (!fs.existsSync(out)) {
    if (missingPrograms(['gcc']).length) throw new GuestError('GUEST_TOOL_MISSING', 'gcc (with libc6-dev for static linking) is needed to build the guest programs');
    try {
      execFileSync('gcc', ['-static', '-O2', '-Wall', '-o', `${out}.${process.pid}.tmp`, src], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      throw new GuestError('GUEST_BUILD_FAILED', `gcc -static ${src}: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`);
    }
    fs.renameSync(`${out}.${process.pid}.tmp`, out);
  }
  return out;
}

/** /bin/busybox from Debian's busybox-static (a dynamically linked busybox cannot run in the guest). */
export function staticBusybox(): string {
  const p = '/bin/busybox';
  if (!fs.existsSync(p)) throw new GuestError('GUEST_TOOL_MISSING', 'busybox is needed: apt-get install busybox-static');
  if (elfSection(fs.readFileSync(p), '.interp')) throw new GuestError('GUEST_TOOL_MISSING', '/bin/busybox is dynamically linked: apt-get install busybox-static');
  return p;
}

/** NEEDED entries of an ELF file (readelf from binutils, which gcc brings). */
function needed(file: string): string[] {
  const out = execFileSync('readelf', ['-d', file], { encoding: 'utf8' });
  return [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
}

/** The nfsd role's files: the four programs, every library they load (closure), and /etc files they read. */
function nfsdUserland(): CpioEntry[] {
  const roots = fetchDebs(NFSD_PACKAGES).map((d) => d.root);
  const find = (rel: string) => roots.map((r) => path.join(r, rel)).find((p) => fs.existsSync(p));
  const libDirs = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64'];
  const findLib = (name: string) => {
    for (const d of libDirs) {
      const p = find(path.join(d, name));
      if (p) return p;
    }
    return undefined;
  };
  const entries: CpioEntry[] = [];
  const seen = new Set<string>();
  const addElf = (file: string, dest: string) => {
    entries.push({ path: dest, type: 'file', data: fs.readFileSync(fs.realpathSync(file)), mode: 0o755 });
    for (const lib of needed(file)) {
      if (seen.has(lib)) continue;
      seen.add(lib);
      const p = findLib(lib);
      if (!p) throw new GuestError('GUEST_LIB_MISSING', `${path.basename(file)} needs ${lib}, which none of ${NFSD_PACKAGES.join(' ')} holds`);
      addElf(p, `lib/x86_64-linux-gnu/${lib}`);
    }
  };
  for (const b of NFSD_BINARIES) {
    const p = find(b);
    if (!p) throw new GuestError('GUEST_LIB_MISSING', `no package holds ${b}`);
    addElf(p, `usr/sbin/${path.basename(b)}`);
  }
  const ld = findLib('ld-linux-x86-64.so.2');
  if (!ld) throw new GuestError('GUEST_LIB_MISSING', 'libc6 has no ld-linux-x86-64.so.2');
  entries.push({ path: 'lib64/ld-linux-x86-64.so.2', type: 'file', data: fs.readFileSync(fs.realpathSync(ld)), mode: 0o755 });
  for (const f of ['etc/netconfig', 'etc/protocols', 'etc/services', 'etc/rpc']) {
    const p = find(f);
    if (p) entries.push({ path: f, type: 'file', data: fs.readFileSync(p) });
  }
  // rpcbind switches to its user (_rpc in Debian's build) and statd's to statd; both must resolve.
  entries.push({ path: 'etc/passwd', type: 'file', data: Buffer.from('root:x:0:0:root:/:/bin/sh\n_rpc:x:100:65534::/run/rpcbind:/bin/false\nstatd:x:101:65534::/var/lib/nfs:/bin/false\nnobody:x:65534:65534::/:/bin/false\n') });
  entries.push({ path: 'etc/group', type: 'file', data: Buffer.from('root:x:0:\nnogroup:x:65534:\n') });
  return entries;
}

export interface GuestImage {
  kernel: GuestKernel;
  role: GuestRole;
  /** gzipped initramfs */
  initrd: string;
  hash: string;
  /** modules in load order */
  modules: string[];
}

/** Builds (or finds in the cache) the initramfs for `role` on `kernel`. */
export function buildImage(role: GuestRole, kernel: GuestKernel): GuestImage {
  let order: ReturnType<typeof loadOrder> = [];
  if (kernel.modulesDir) {
    const available = scanModules(kernel.modulesDir);
    const has = (m: string) => available.has(m) || !!kernel.builtin?.has(m);
    const wanted = ROLE_MODULES[kernel.kind][role].map((m) => (has(m) || !OLDER_NAMES[m] || !has(OLDER_NAMES[m]) ? m : OLDER_NAMES[m]));
    order = loadOrder(available, wanted, kernel.builtin);
  }
  const files: CpioEntry[] = ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'lib', 'lib/modules', 'lib/x86_64-linux-gnu', 'lib64', 'etc', 'proc', 'sys', 'dev', 'tmp', 'mnt', 'run', 'var', 'var/lib']
    .map((d) => ({ path: d, type: 'dir' as const }));
  files.push({ path: 'bin/busybox', type: 'file', data: fs.readFileSync(staticBusybox()), mode: 0o755 });
  files.push({ path: 'init', type: 'file', data: fs.readFileSync(path.join(GUEST_SRC, 'init.sh')), mode: 0o755 });
  for (const p of role === 'client' ? ['nfsmount', 'blktest2'] : []) files.push({ path: `bin/${p}`, type: 'file', data: fs.readFileSync(staticProgram(p)), mode: 0o755 });
  for (const m of order) files.push({ path: `lib/modules/${m.name}.ko`, type: 'file', data: fs.readFileSync(m.file) });
  files.push({ path: 'modules.order', type: 'file', data: Buffer.from(order.map((m) => `${m.name}.ko\n`).join('')) });
  if (role === 'nfsd') files.push(...nfsdUserland());

  const hash = sha(role, ...files.map((f) => `${f.path}:${f.type}:${f.type === 'file' ? sha(f.data) : f.type === 'symlink' ? f.target : ''}`)).slice(0, 20);
  const dir = linuxCache('images', hash);
  const initrd = path.join(dir, 'initrd.gz');
  if (!fs.existsSync(initrd)) {
    fs.writeFileSync(`${initrd}.${process.pid}.tmp`, zlib.gzipSync(cpioNewc(files), { level: 6 }));
    fs.renameSync(`${initrd}.${process.pid}.tmp`, initrd);
  }
  return { kernel, role, initrd, hash, modules: order.map((m) => m.name) };
}
