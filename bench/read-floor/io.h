/* What the READ floor's two C programs share: the reply header's size and a read that returns only when full. */
#ifndef READ_FLOOR_IO_H
#define READ_FLOOR_IO_H
#include <stddef.h>
#include <unistd.h>

/* record mark, RPC reply header, post_op_attr, count, eof and opaque length of an NFSv3 READ reply */
#define HEADER 132

/* read(2) until n bytes are in: 0, or -1 on an error or an early end of stream */
static int read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}
#endif
