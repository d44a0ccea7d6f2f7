/*
 * The READ floor's native side (bench/read-floor.ts): the least a C server does to answer one READ-shaped call.
 * One thread, one connection at a time: epoll_wait for the 16-byte request (u64 offset, u32 count, big-endian),
 * read it, pread the bytes into one page-aligned slab (the page cache to user copy every server makes), then one
 * writev of a 132-byte header (the size of an NFSv3 READ reply's record mark, RPC reply header, post_op_attr,
 * count, eof and opaque length) and the data (the user to socket copy). No RPC, no XDR, no threads, no
 * allocation per call: nfs-ganesha does all of this and more per call, so its CPU per MiB is at or above this.
 *
 * usage: server FILE   prints "ready PORT" once it listens on 127.0.0.1; runs until killed.
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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io.h"

#define MAX_COUNT (1u << 20)

static int writev_full(int fd, struct iovec *iov, int cnt) {
  while (cnt > 0) {
    ssize_t w = writev(fd, iov, cnt);
    if (w < 0) return -1;
    while (cnt > 0 && (size_t)w >= iov->iov_len) {
      w -= (ssize_t)iov->iov_len;
      iov++;
      cnt--;
    }
    if (cnt > 0) {
      iov->iov_base = (char *)iov->iov_base + w;
      iov->iov_len -= (size_t)w;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: server FILE\n");
    return 2;
  }
  int file = open(argv[1], O_RDONLY);
  if (file < 0) {
    perror(argv[1]);
    return 1;
  }
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 8) || getsockname(l, (struct sockaddr *)&a, &al)) {
    perror("listen");
    return 1;
  }
  printf("ready %d\n", ntohs(a.sin_port));
  fflush(stdout);
  char *slab;
  if (posix_memalign((void **)&slab, 4096, MAX_COUNT)) return 1;
  int ep = epoll_create1(0);
  for (;;) {
    int c = accept(l, NULL, NULL);
    if (c < 0) continue;
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
    for (;;) {
      struct epoll_event got;
      if (epoll_wait(ep, &got, 1, -1) < 0) continue;
      unsigned char req[16];
      if (read_full(c, req, sizeof req)) break;
      uint64_t off;
      uint32_t count;
      memcpy(&off, req, 8);
      memcpy(&count, req + 8, 4);
      off = be64toh(off);
      count = ntohl(count);
      if (count > MAX_COUNT) break;
      ssize_t n = 0;
      while ((uint32_t)n < count) {
        ssize_t r = pread(file, slab + n, count - (uint32_t)n, (off_t)(off + (uint64_t)n));
        if (r <= 0) break;
        n += r;
      }
      unsigned char h[HEADER] = {0};
      uint32_t be = htonl((uint32_t)n);
      memcpy(h + HEADER - 4, &be, 4);
      struct iovec iov[2] = {{h, HEADER}, {slab, (size_t)n}};
      if (writev_full(c, iov, 2)) break;
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL);
    close(c);
  }
}
