/*
 * Takes kernel objects that the kernel counts per user: "hold KIND" takes them until the kernel
 * refuses, prints "KIND COUNT ERRNO-NAME" and keeps them until killed; "one KIND" takes one and
 * prints "KIND ok" or "KIND failed ERRNO-NAME". KIND: inotify or mqueue. Built statically.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

static int take(const char *kind, int n) {
  if (!strcmp(kind, "inotify")) return inotify_init1(IN_CLOEXEC);
  char name[64];
  snprintf(name, sizeof name, "/vst-%d-%d", (int)getpid(), n);
  mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, NULL);
  if (q != (mqd_t)-1) mq_unlink(name); /* the queue lives on while it is open */
  return (int)q;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  setvbuf(stdout, NULL, _IONBF, 0);
  if (!strcmp(argv[1], "one")) {
    if (take(argv[2], 0) < 0) printf("%s failed %s\n", argv[2], strerrorname_np(errno));
    else printf("%s ok\n", argv[2]);
    return 0;
  }
  int n = 0;
  while (n < 100000 && take(argv[2], n) >= 0) n++;
  printf("%s %d %s\n", argv[2], n, strerrorname_np(errno));
  for (;;) pause();
}
