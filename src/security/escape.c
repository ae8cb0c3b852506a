/*
 * Escape attempts, run as root inside a guest by the security suite. Each mode tries one way out
 * and prints one line: "BLOCKED <errno name> <detail>" when the system refused it, or
 * "ESCAPED <detail>" when it worked. Built statically so that it runs in any guest tree.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/keyctl.h>
#include <limits.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* in a batch run ("seq"), each line starts with the attempt's mode */
static const char *label = "";

static int blocked(const char *detail) {
  printf("%sBLOCKED %s %s\n", label, strerrorname_np(errno) ? strerrorname_np(errno) : "?", detail);
  return 0;
}

static int escaped(const char *detail) {
  printf("%sESCAPED %s\n", label, detail);
  return 1;
}

/* mount a fresh filesystem */
static int do_mount(int argc, char **argv) {
  (void)argc;
  (void)argv;
  mkdir("/tmp/m", 0700);
  if (mount("none", "/tmp/m", "tmpfs", 0, NULL) == 0) return escaped("mounted tmpfs");
  return blocked("mount tmpfs");
}

/* make a read-only path writable again */
static int do_remount(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL) == 0) return escaped("remounted /proc/sys rw");
  if (mount(NULL, "/sys", NULL, MS_REMOUNT, NULL) == 0) return escaped("remounted /sys rw");
  return blocked("remount /proc/sys and /sys read-write");
}

/* The kernel checks the permission before it looks at the image: any answer but EPERM means a real
 * module would have been loaded. The image is a few junk bytes, so nothing is ever loaded. */
static int do_module(int argc, char **argv) {
  (void)argc;
  (void)argv;
  static const char junk[] = "\177ELF";
  if (syscall(SYS_init_module, junk, sizeof junk, "") == 0) return escaped("init_module");
  if (errno != EPERM) {
    char detail[96];
    snprintf(detail, sizeof detail, "init_module passed the permission check (the kernel then said %s)", strerrorname_np(errno));
    return escaped(detail);
  }
  return blocked("init_module");
}

/* Write to host-wide kernel settings. A control run (protections removed) gets through, so every
 * write puts back the value the file already holds: it needs the same permission and changes nothing. */
static int write_file(const char *path, const char *data, size_t len) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -1;
  ssize_t n = write(fd, data, len);
  int e = errno;
  close(fd);
  errno = e;
  return n < 0 ? -1 : 0;
}

/* Reads a setting; for a choice list ("always [madvise] never") the bracketed one. Length, or -1. */
static ssize_t read_setting(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  int e = errno;
  close(fd);
  errno = e;
  if (n < 0) return -1;
  buf[n] = 0;
  char *open_ = strchr(buf, '['), *close_ = open_ ? strchr(open_, ']') : NULL;
  if (open_ && close_) {
    n = close_ - open_ - 1;
    memmove(buf, open_ + 1, n);
    buf[n++] = '\n';
    buf[n] = 0;
  }
  if (n == 0) buf[n++] = '\n';
  return n;
}

static int rewrite(const char *path) {
  char buf[4096];
  ssize_t n = read_setting(path, buf, sizeof buf);
  return n < 0 ? -1 : write_file(path, buf, n);
}

static int do_procsys(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (rewrite("/proc/sys/kernel/core_pattern") == 0) return escaped("wrote /proc/sys/kernel/core_pattern");
  return blocked("write /proc/sys/kernel/core_pattern");
}

static int do_sysrq(int argc, char **argv) {
  (void)argc;
  (void)argv;
  /* "h" only prints the help text to the kernel log */
  if (write_file("/proc/sysrq-trigger", "h", 1) == 0) return escaped("wrote /proc/sysrq-trigger");
  return blocked("write /proc/sysrq-trigger");
}

static int do_syskernel(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (rewrite("/sys/kernel/uevent_helper") == 0) return escaped("wrote /sys/kernel/uevent_helper");
  if (rewrite("/sys/kernel/mm/transparent_hugepage/enabled") == 0) return escaped("wrote /sys/kernel/mm");
  return blocked("write /sys/kernel");
}

/* read a device: make the node (in the working directory) if it is not there, then open it */
static int read_device(const char *path, mode_t type, unsigned maj, unsigned min) {
  int fd = open(path, O_RDONLY | O_NONBLOCK);
  if (fd < 0) {
    const char *node = "escape-dev-node";
    unlink(node);
    if (mknod(node, type | 0600, makedev(maj, min)) != 0) return blocked("mknod");
    fd = open(node, O_RDONLY | O_NONBLOCK);
    int e = errno;
    unlink(node);
    errno = e;
    if (fd < 0) return blocked("open of a device node made with mknod");
  }
  char buf[512];
  if (read(fd, buf, sizeof buf) > 0) return escaped(path);
  return blocked("read");
}

static int do_blockdev(int argc, char **argv) {
  if (argc < 4) return 2;
  return read_device("/dev/host-disk", S_IFBLK, atoi(argv[2]), atoi(argv[3]));
}

static int do_devmem(int argc, char **argv) {
  (void)argc;
  (void)argv; return read_device("/dev/mem", S_IFCHR, 1, 1); }
static int do_kmsg(int argc, char **argv) {
  (void)argc;
  (void)argv; return read_device("/dev/kmsg", S_IFCHR, 1, 11); }

/* signal and trace a host process by its host pid */
static int do_signal(int argc, char **argv) {
  if (argc < 3) return 2;
  pid_t pid = atoi(argv[2]);
  /* signal 0: the kernel checks that we may signal it, and sends nothing */
  if (kill(pid, 0) == 0) return escaped("may signal a host pid");
  return blocked("kill of a host pid");
}

static int do_ptrace(int argc, char **argv) {
  if (argc < 3) return 2;
  pid_t pid = atoi(argv[2]);
  /* seize does not stop the process; it is let go when we exit */
  if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) return escaped("attached to a host pid");
  return blocked("ptrace of a host pid");
}

/* join a host namespace: through a host process's ns files, or an fd inherited from the host */
static int do_setns(int argc, char **argv) {
  if (argc < 3) return 2;
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/ns/mnt", argv[2]);
  int fd = open(path, O_RDONLY);
  if (fd >= 0 && setns(fd, 0) == 0) return escaped("setns into a host mount namespace");
  int e = errno;
  DIR *d = opendir("/proc/self/fd");
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL) {
    int n = atoi(de->d_name);
    if (n <= 2) continue;
    char link[256] = {0};
    snprintf(path, sizeof path, "/proc/self/fd/%d", n);
    if (readlink(path, link, sizeof link - 1) > 0 && strncmp(link, "/proc/", 6) != 0 && setns(n, 0) == 0)
      return escaped("setns through an inherited fd");
  }
  errno = e;
  return blocked("setns into host namespaces");
}

/* "shocker": open a host file by its handle, which the host gave us ("handle" mode, below). The
 * handle names a file outside the guest's tree on the same filesystem; reading it is the escape. */
static int do_shocker(int argc, char **argv) {
  if (argc < 5) return 2;
  const char *hex = argv[3];
  size_t len = strlen(hex) / 2;
  if (len > MAX_HANDLE_SZ) return 2;
  struct file_handle *h = malloc(sizeof *h + MAX_HANDLE_SZ);
  h->handle_bytes = len;
  h->handle_type = atoi(argv[2]);
  for (size_t i = 0; i < len; i++) sscanf(hex + 2 * i, "%2hhx", h->f_handle + i);
  int root = open("/", O_RDONLY);
  int fd = syscall(SYS_open_by_handle_at, root, h, O_RDONLY);
  if (fd < 0) return blocked("open_by_handle_at");
  char buf[256] = {0};
  if (read(fd, buf, sizeof buf - 1) > 0 && strstr(buf, argv[4])) return escaped("read a host file by its handle");
  errno = 0;
  return blocked("open_by_handle_at opened another file");
}

/* Host side: prints the handle of a file as "TYPE HEX", for the shocker attempt. */
static int do_handle(int argc, char **argv) {
  if (argc < 3) return 2;
  struct file_handle *h = malloc(sizeof *h + MAX_HANDLE_SZ);
  int mnt;
  h->handle_bytes = MAX_HANDLE_SZ;
  if (name_to_handle_at(AT_FDCWD, argv[2], h, &mnt, 0) != 0) {
    perror("name_to_handle_at");
    return 1;
  }
  printf("%d ", h->handle_type);
  for (unsigned i = 0; i < h->handle_bytes; i++) printf("%02x", h->f_handle[i]);
  printf("\n");
  return 0;
}

/* CVE-2022-0492: a writable release_agent, in the guest's cgroup tree, in a cgroup v1 hierarchy
 * mounted afresh, or mounted in new user and cgroup namespaces. The value is written back unchanged. */
static int try_agent_mount(const char *dir) {
  mkdir(dir, 0700);
  if (mount("cgroup", dir, "cgroup", 0, "memory") != 0) return -1;
  char path[128];
  snprintf(path, sizeof path, "%s/release_agent", dir);
  int r = rewrite(path);
  int e = errno;
  umount2(dir, MNT_DETACH);
  errno = e;
  return r;
}

static int do_release_agent(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *agents[] = {"/sys/fs/cgroup/memory/release_agent", "/sys/fs/cgroup/release_agent", NULL};
  for (int i = 0; agents[i]; i++)
    if (rewrite(agents[i]) == 0) return escaped(agents[i]);
  if (try_agent_mount("/tmp/cg") == 0) return escaped("release_agent of a cgroup hierarchy mounted in the guest");
  int e = errno;
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP) == 0) {
    if (try_agent_mount("/tmp/cg") == 0) return escaped("release_agent in a new user namespace");
    return blocked("cgroup mount in a new user namespace");
  }
  errno = e;
  return blocked("release_agent, cgroup mount and unshare(CLONE_NEWUSER)");
}

/* CVE-2019-5736 as the exploit does it: catch a process of the runtime (runc or crun exec'ing
 * into the guest), hold an O_PATH handle on its binary, and once that process is gone reopen the
 * handle for writing, which no longer fails with ETXTBSY. Nothing is written. It ends at the first
 * runtime process it could try, or after SECONDS. With a pid (not 0), that process is the target
 * and the helper ends it itself (a control run, where host processes are in reach). With a RESULT
 * file, the retries go on in a child after this exec has ended, and their answer goes to the file.
 * Usage: exe SECONDS [PID [RESULT]] */
/* the text of /proc/PID/NAME, or -1 */
static ssize_t read_proc(pid_t pid, const char *name, char *buf, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n >= 0) buf[n] = 0;
  return n;
}

static int is_runtime(pid_t pid) {
  char comm[32];
  return read_proc(pid, "comm", comm, sizeof comm) > 0 && (!strncmp(comm, "runc", 4) || !strncmp(comm, "crun", 4));
}

/* gone, or a zombie: either way its memory, and so its hold on the binary, is released */
static int ended(pid_t pid) {
  char buf[256];
  char *close_paren = read_proc(pid, "stat", buf, sizeof buf) > 0 ? strrchr(buf, ')') : NULL;
  return !close_paren || close_paren[2] == 'Z';
}

static int do_exe(int argc, char **argv) {
  int seconds = argc > 2 ? atoi(argv[2]) : 3;
  pid_t victim = argc > 3 ? atoi(argv[3]) : 0;
  const char *result = argc > 4 ? argv[4] : NULL;
  time_t end = time(NULL) + seconds;
  while (time(NULL) < end) {
    DIR *d = opendir("/proc");
    struct dirent *de;
    pid_t target = 0;
    while (d && (de = readdir(d)) != NULL && !target) {
      pid_t pid = atoi(de->d_name);
      if (pid > 1 && pid != getpid() && (victim ? pid == victim : is_runtime(pid))) target = pid;
    }
    if (d) closedir(d);
    if (!target) {
      usleep(500);
      continue;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", target);
    int fd = open(path, O_PATH);
    if (fd < 0) return blocked("handle on the runtime's binary");
    if (victim) kill(victim, SIGKILL);
    while (!ended(target)) {
      if (time(NULL) > end + 30) return blocked("the runtime process never ended");
      usleep(500);
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    char what[160] = {0}, detail[256];
    if (readlink(path, what, sizeof what - 1) < 0) strcpy(what, "?");
    /* the runtime that runs this helper keeps its binary busy until we exit: as the exploit does,
     * a child outlives this exec, retries, and leaves its answer in a file */
    if (result) {
      pid_t child = fork();
      if (child > 0) {
        printf("HELD %s\n", what);
        return 0;
      }
      setsid();
      if (!freopen(result, "w", stdout)) _exit(1);
      setvbuf(stdout, NULL, _IONBF, 0);
    }
    int w;
    time_t retry_end = time(NULL) + 30;
    while ((w = open(path, O_WRONLY)) < 0 && errno == ETXTBSY && time(NULL) < retry_end) usleep(1000);
    snprintf(detail, sizeof detail, "reopening the runtime's binary (%s) for writing", what);
    if (w < 0) return blocked(detail);
    struct stat st;
    /* a sealed in-memory copy has no links: writing it harms nobody and is not the CVE */
    if (fstat(w, &st) == 0 && st.st_nlink > 0) return escaped("reopened the binary of an exited process for writing");
    errno = EROFS;
    return blocked("the runtime ran from a copy of its own");
  }
  errno = ENOENT;
  return blocked("no runtime process seen");
}

static int do_hostname(int argc, char **argv) {
  (void)argc;
  (void)argv;
  char name[HOST_NAME_MAX + 1] = {0};
  gethostname(name, sizeof name - 1);
  if (sethostname(name, strlen(name)) == 0) return escaped("sethostname (to the name it had)");
  return blocked("sethostname");
}

/* Setting the clock needs the same permission whatever the value; setting the tick length to the
 * one in force changes nothing, where even clock_settime(now) would move the clock back a little. */
static int do_clock(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct timex tx;
  memset(&tx, 0, sizeof tx);
  if (syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx) < 0) return blocked("reading the clock's settings");
  long tick = tx.tick;
  memset(&tx, 0, sizeof tx);
  tx.modes = ADJ_TICK;
  tx.tick = tick;
  if (syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx) >= 0) return escaped("clock_adjtime (tick set to the one in force)");
  return blocked("clock_adjtime");
}

/* Ctrl-Alt-Del on or off is host-wide and needs the reboot permission; in a child pid namespace the
 * kernel refuses it (EINVAL). It is set to what /proc/sys/kernel/ctrl-alt-del says it already is. */
static int do_reboot(int argc, char **argv) {
  (void)argc;
  (void)argv;
  char buf[16] = "0";
  read_setting("/proc/sys/kernel/ctrl-alt-del", buf, sizeof buf);
  unsigned cmd = atoi(buf) ? LINUX_REBOOT_CMD_CAD_ON : LINUX_REBOOT_CMD_CAD_OFF;
  if (syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, cmd, NULL) == 0)
    return escaped("reboot(2) allowed (Ctrl-Alt-Del left as it was)");
  return blocked("reboot(2)");
}

static int do_rawsock(int argc, char **argv) {
  (void)argc;
  (void)argv;
  int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (s >= 0) return escaped("AF_PACKET raw socket");
  return blocked("raw packet socket");
}

static int do_keyctl(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1) >= 0) return escaped("keyctl");
  return blocked("keyctl");
}

static int do_bpf(int argc, char **argv) {
  (void)argc;
  (void)argv;
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  if (syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr) >= 0) return escaped("bpf map");
  return blocked("bpf");
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* benchmark: a syscall-heavy loop; prints the milliseconds it took */
static int do_getpid(int argc, char **argv) {
  long n = argc > 2 ? atol(argv[2]) : 10000000;
  double t0 = now_ms();
  for (long i = 0; i < n; i++) syscall(SYS_getpid);
  printf("%.3f\n", now_ms() - t0);
  return 0;
}

/* benchmark: N times fork and exec of a program (default: busybox true); prints milliseconds */
static int do_forkexec(int argc, char **argv) {
  long n = argc > 2 ? atol(argv[2]) : 1000;
  const char *prog = argc > 3 ? argv[3] : "/bin/busybox";
  double t0 = now_ms();
  for (long i = 0; i < n; i++) {
    pid_t p = fork();
    if (p == 0) {
      execl(prog, prog, "true", (char *)NULL);
      _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 1;
  }
  printf("%.3f\n", now_ms() - t0);
  return 0;
}

static const struct { const char *name; int (*run)(int, char **); } MODES[] = {
  {"mount", do_mount}, {"remount", do_remount}, {"module", do_module}, {"procsys", do_procsys},
  {"sysrq", do_sysrq}, {"syskernel", do_syskernel}, {"blockdev", do_blockdev}, {"devmem", do_devmem},
  {"kmsg", do_kmsg}, {"signal", do_signal}, {"ptrace", do_ptrace}, {"setns", do_setns},
  {"shocker", do_shocker}, {"release-agent", do_release_agent}, {"exe", do_exe},
  {"hostname", do_hostname}, {"clock", do_clock}, {"reboot", do_reboot}, {"rawsock", do_rawsock},
  {"keyctl", do_keyctl}, {"bpf", do_bpf}, {"getpid", do_getpid}, {"forkexec", do_forkexec},
  {"handle", do_handle},
};

static int run_mode(int argc, char **argv) {
  for (size_t i = 0; i < sizeof MODES / sizeof MODES[0]; i++)
    if (!strcmp(argv[1], MODES[i].name)) return MODES[i].run(argc, argv);
  fprintf(stderr, "unknown mode %s\n", argv[1]);
  return 2;
}

/* "seq MODE ARG... -- MODE ARG... --": each attempt in a child of its own, so that one attempt's
 * changes (a chroot, a namespace) do not carry into the next; each line starts with "MODE: ". */
static int run_seq(int argc, char **argv) {
  int start = 2;
  for (int i = 2; i <= argc; i++) {
    if (i < argc && strcmp(argv[i], "--")) continue;
    if (i > start) {
      pid_t p = fork();
      if (p == 0) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s: ", argv[start]);
        label = prefix;
        argv[i] = NULL;
        _exit(run_mode(i - start + 1, argv + start - 1));
      }
      int st;
      waitpid(p, &st, 0);
      if (!WIFEXITED(st)) printf("%s: DIED signal %d\n", argv[start], WTERMSIG(st));
    }
    start = i + 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: escape MODE [ARG...]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  if (!strcmp(argv[1], "seq")) return run_seq(argc, argv);
  return run_mode(argc, argv);
}
