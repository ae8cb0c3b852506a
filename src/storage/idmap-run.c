/*
 * idmap-run FROM TO COUNT -- PROGRAM [ARG...]: runs PROGRAM as root in a new user namespace whose ids
 * FROM..FROM+COUNT-1 are the host's TO..TO+COUNT-1 (and the ids below both ranges are themselves).
 * The target of a migration runs its rsync so: the source's owners land shifted to this host's range
 * as they are copied, and files already copied compare equal, so no re-owning is left for the switch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long number(const char *s) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *s == '\0' || *end != '\0' || v > 0xffffffffUL) {
    fprintf(stderr, "idmap-run: '%s' is not an id\n", s);
    exit(127);
  }
  return v;
}

static int writeMap(pid_t pid, const char *file, const char *map) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, map, strlen(map));
  close(fd);
  return n == (ssize_t)strlen(map) ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc < 6 || strcmp(argv[4], "--") != 0) {
    fprintf(stderr, "usage: idmap-run FROM TO COUNT -- PROGRAM [ARG...]\n");
    return 127;
  }
  unsigned long from = number(argv[1]), to = number(argv[2]), count = number(argv[3]);
  unsigned long low = from < to ? from : to;
  if (count == 0 || from + count > 0xffffffffUL || to + count > 0xffffffffUL || (from < to + count && to < from + count)) {
    fprintf(stderr, "idmap-run: the ranges %lu+%lu and %lu+%lu overlap or are empty\n", from, count, to, count);
    return 127;
  }
  char map[128];
  if (low > 0) snprintf(map, sizeof map, "0 0 %lu\n%lu %lu %lu\n", low, from, to, count);
  else snprintf(map, sizeof map, "%lu %lu %lu\n", from, to, count);
  int ready[2], go[2];
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
    perror("idmap-run: pipe");
    return 127;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("idmap-run: fork");
    return 127;
  }
  char c = 0;
  if (pid == 0) {
    /* without this process to wait for it, PROGRAM has no one to report to */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (unshare(CLONE_NEWUSER) < 0) {
      perror("idmap-run: unshare(CLONE_NEWUSER)");
      _exit(127);
    }
    if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1) _exit(127);
    execvp(argv[5], argv + 5);
    fprintf(stderr, "idmap-run: cannot run %s: %s\n", argv[5], strerror(errno));
    _exit(127);
  }
  if (read(ready[0], &c, 1) != 1) return 127;
  if (writeMap(pid, "uid_map", map) < 0 || writeMap(pid, "gid_map", map) < 0) {
    perror("idmap-run: writing the id map");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 127;
  }
  if (write(go[1], "g", 1) != 1) return 127;
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 127;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}
