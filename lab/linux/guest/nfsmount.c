/* nfsmount: mount(2) an NFS export with the options as text, parsed by the kernel (fs/nfs/fs_context.c), so
 * nothing in user space makes its own MOUNT call (busybox mount would). Usage: nfsmount SOURCE TARGET OPTIONS */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: nfsmount HOST:/PATH TARGET OPTIONS\n");
    return 2;
  }
  if (mount(argv[1], argv[2], "nfs", 0, argv[3]) != 0) {
    fprintf(stderr, "nfsmount: mount %s on %s (%s): %s\n", argv[1], argv[2], argv[3], strerror(errno));
    return 1;
  }
  return 0;
}
