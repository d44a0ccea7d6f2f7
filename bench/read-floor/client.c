/*
 * The READ floor's client (bench/read-floor.ts), the same for both floor servers: nfs-cp's pattern without NFS.
 * One call outstanding: send a 16-byte request (u64 offset, u32 count, big-endian), read the 132-byte header and
 * the data, pwrite the data at its offset into OUT (nfs-cp writes what it reads into its destination file), until
 * SIZE bytes are copied; then truncate and remove OUT (as bench/server.ts removes each read-back copy). COPIES
 * times over one connection each.
 *
 * usage: client PORT SIZE CALL_BYTES COPIES OUT   exits 0 when every copy completed, 1 on a short or bad reply.
 * With COPIES 1 and OUT ending in ".keep", OUT is left in place (the test compares it with the source).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: client PORT SIZE CALL_BYTES COPIES OUT\n");
    return 2;
  }
  int port = atoi(argv[1]);
  uint64_t size = strtoull(argv[2], NULL, 10);
  uint32_t call = (uint32_t)strtoul(argv[3], NULL, 10);
  int copies = atoi(argv[4]);
  const char *out = argv[5];
  size_t ol = strlen(out);
  int keep = copies == 1 && ol > 5 && strcmp(out + ol - 5, ".keep") == 0;
  char *buf;
  if (call == 0 || posix_memalign((void **)&buf, 4096, call)) return 2;
  for (int k = 0; k < copies; k++) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a)) {
      perror("connect");
      return 1;
    }
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
      perror(out);
      return 1;
    }
    for (uint64_t off = 0; off < size; off += call) {
      uint32_t want = size - off < call ? (uint32_t)(size - off) : call;
      unsigned char req[16] = {0};
      uint64_t beo = htobe64(off);
      uint32_t bec = htonl(want);
      memcpy(req, &beo, 8);
      memcpy(req + 8, &bec, 4);
      if (write(s, req, sizeof req) != (ssize_t)sizeof req) return 1;
      unsigned char h[HEADER];
      if (read_full(s, h, HEADER)) return 1;
      uint32_t n;
      memcpy(&n, h + HEADER - 4, 4);
      n = ntohl(n);
      if (n != want || read_full(s, buf, n)) {
        fprintf(stderr, "short reply at %llu: %u of %u bytes\n", (unsigned long long)off, n, want);
        return 1;
      }
      if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) return 1;
    }
    close(s);
    if (!keep) {
      if (ftruncate(fd, 0)) return 1;
      unlink(out);
    }
    close(fd);
  }
  return 0;
}
