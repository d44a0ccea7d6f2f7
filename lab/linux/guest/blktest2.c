/* blktest2: the seed's program (linux-nfs, 17 Oct 2008, Ian Campbell): fill an aligned buffer with a counter,
 * write it with O_DIRECT, fill it with a scribble word the moment write() returns, and read everything back at the
 * end. Written here for the guest; the counter is lab/pattern.ts's (big-endian word o/4 at byte offset o).
 * Added to the seed's program: right after each scribble it records how many bytes the NFS client's TCP socket
 * still holds unacknowledged (/proc/net/tcp tx_queue = write_seq - snd_una, summed over ESTABLISHED sockets to
 * the server port), which is the seed's precondition: a copy of the WRITE still queued when write() returned.
 *
 * Usage: blktest2 FILE BLOCK_SIZE COUNT SCRIBBLE SERVER_PORT
 * Prints one line per event on stdout: "write i=.. off=.. ret=.. us=.. txq=..", "corrupt ...", "done ...". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Bytes queued and not yet acknowledged on ESTABLISHED (st 01) TCP sockets whose remote port is `port`. */
static long long unacked_to(unsigned port) {
  FILE *f = fopen("/proc/net/tcp", "r");
  if (!f) return -1;
  char line[512];
  long long sum = 0;
  if (!fgets(line, sizeof line, f)) { fclose(f); return -1; }
  while (fgets(line, sizeof line, f)) {
    unsigned sl, laddr, lport, raddr, rport, st;
    unsigned long txq, rxq;
    if (sscanf(line, " %u: %x:%x %x:%x %x %lx:%lx", &sl, &laddr, &lport, &raddr, &rport, &st, &txq, &rxq) != 8) continue;
    if (rport == port && st == 1) sum += (long long)txq;
  }
  fclose(f);
  return sum;
}

static void fill_counter(uint32_t *buf, size_t words, uint64_t first) {
  for (size_t i = 0; i < words; i++) buf[i] = htonl((uint32_t)(first + i));
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: blktest2 FILE BLOCK_SIZE COUNT SCRIBBLE SERVER_PORT\n");
    return 2;
  }
  const char *path = argv[1];
  size_t bs = strtoul(argv[2], NULL, 0);
  long count = strtol(argv[3], NULL, 0);
  uint32_t scribble = (uint32_t)strtoul(argv[4], NULL, 0);
  unsigned port = (unsigned)strtoul(argv[5], NULL, 0);
  if (bs == 0 || bs % 4096 || count <= 0) {
    fprintf(stderr, "blktest2: block size must be a positive multiple of 4096 and count positive\n");
    return 2;
  }
  uint32_t *buf;
  if (posix_memalign((void **)&buf, 4096, bs)) return 1;
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
  if (fd < 0) {
    printf("error open %s: %s\n", path, strerror(errno));
    return 1;
  }
  size_t words = bs / 4;
  long long t0 = now_us();
  for (long i = 0; i < count; i++) {
    fill_counter(buf, words, (uint64_t)i * words);
    long long a = now_us();
    ssize_t n = pwrite(fd, buf, bs, (off_t)i * bs);
    long long b = now_us();
    /* The seed: "immediately after the write() returns fills the buffer with 0xdeadbeef". */
    uint32_t s = htonl(scribble);
    for (size_t w = 0; w < words; w++) buf[w] = s;
    long long txq = unacked_to(port);
    printf("write i=%ld off=%lld ret=%zd us=%lld txq=%lld t=%lld\n", i, (long long)i * bs, n, b - a, txq, b - t0);
    fflush(stdout);
    if (n != (ssize_t)bs) {
      printf("error write %ld: %s\n", i, n < 0 ? strerror(errno) : "short");
      return 1;
    }
  }
  long long written_us = now_us() - t0;
  /* Read back through O_DIRECT: every byte comes from the server, none from this client's page cache. */
  long corrupt = 0;
  for (long i = 0; i < count; i++) {
    ssize_t n = pread(fd, buf, bs, (off_t)i * bs);
    if (n != (ssize_t)bs) {
      printf("error read %ld: %s\n", i, n < 0 ? strerror(errno) : "short");
      return 1;
    }
    uint64_t first = (uint64_t)i * words;
    size_t bad = 0, firstbad = 0;
    for (size_t w = 0; w < words; w++)
      if (ntohl(buf[w]) != (uint32_t)(first + w) && bad++ == 0) firstbad = w;
    if (bad) {
      corrupt++;
      printf("corrupt block=%ld off=%lld badwords=%zu first=%lld found=0x%08x\n", i, (long long)i * bs, bad,
             (long long)i * bs + (long long)firstbad * 4, ntohl(buf[firstbad]));
    }
  }
  close(fd);
  printf("done writes=%ld bytes=%lld write_us=%lld corrupt=%ld\n", count, (long long)count * bs, written_us, corrupt);
  return corrupt ? 3 : 0;
}
