// What the Linux guests need on the host, as one reason string for tests and commands to print when something
// is missing (undefined: all there). .ci/run installs these Debian packages by name.
import { debianKernel, debianUml, staticBusybox } from './image';
import { missingPrograms } from './debs';
import { qemuMissing } from './qemu';
import { tapUnavailable } from './netns';

/** Debian packages the guests need on the host (the kernel itself is fetched with apt-get download). */
export const HOST_PACKAGES = ['qemu-system-x86', 'busybox-static', 'gcc', 'libc6-dev', 'binutils', 'iproute2'];

/** Why a guest cannot run here, or undefined. Fetches the Debian kernel into the cache on first call. */
export function linuxGuestMissing(): string | undefined {
  const q = qemuMissing();
  if (q) return `needs ${q}`;
  const tools = missingPrograms(['gcc', 'readelf']);
  if (tools.length) return `needs ${tools.join(', ')} (Debian gcc, binutils, libc6-dev)`;
  try {
    staticBusybox();
    debianKernel();
  } catch (e) {
    return `needs ${(e as Error).message}`;
  }
  return undefined;
}

/**
 * Why a user-mode-linux guest cannot run here, or undefined. Fetches Debian's user-mode-linux into the cache on
 * first call (its slirp side, for the no-root arrangement, is QEMU: linuxGuestMissing covers it).
 */
export function linuxUmlMissing(): string | undefined {
  const base = linuxGuestMissing();
  if (base) return base;
  try {
    debianUml();
  } catch (e) {
    return `needs ${(e as Error).message}`;
  }
  return undefined;
}

/** Why the root (tap) arrangement cannot run here, or undefined. */
export function linuxTapMissing(): string | undefined {
  return linuxGuestMissing() ?? (tapUnavailable() ? `needs root: ${tapUnavailable()}` : undefined);
}
