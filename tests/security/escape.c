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
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int blocked(const char *detail) {
  printf("BLOCKED %s %s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "?", detail);
  return 0;
}

static int escaped(const char *detail) {
  printf("ESCAPED %s\n", detail);
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

static int do_module(int argc, char **argv) {
  (void)argc;
  (void)argv;
  static const char junk[] = "\177ELF not a module";
  if (syscall(SYS_init_module, junk, sizeof junk, "") == 0) return escaped("init_module");
  int e = errno;
  int fd = open("/bin/busybox", O_RDONLY);
  if (fd >= 0 && syscall(SYS_finit_module, fd, "", 0) == 0) return escaped("finit_module");
  errno = e;
  return blocked("init_module and finit_module");
}

/* write to host-wide kernel settings */
static int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -1;
  ssize_t n = write(fd, data, strlen(data));
  int e = errno;
  close(fd);
  errno = e;
  return n < 0 ? -1 : 0;
}

static int do_procsys(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (write_file("/proc/sys/kernel/core_pattern", "|/tmp/pwn") == 0) return escaped("wrote /proc/sys/kernel/core_pattern");
  return blocked("write /proc/sys/kernel/core_pattern");
}

static int do_sysrq(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (write_file("/proc/sysrq-trigger", "h") == 0) return escaped("wrote /proc/sysrq-trigger");
  return blocked("write /proc/sysrq-trigger");
}

static int do_syskernel(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (write_file("/sys/kernel/uevent_helper", "/tmp/pwn") == 0) return escaped("wrote /sys/kernel/uevent_helper");
  if (write_file("/sys/kernel/mm/transparent_hugepage/enabled", "never") == 0) return escaped("wrote /sys/kernel/mm");
  return blocked("write /sys/kernel");
}

/* read a device: make the node if it is not there, then open it */
static int read_device(const char *path, mode_t type, unsigned maj, unsigned min) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    unlink("/tmp/dev");
    if (mknod("/tmp/dev", type | 0600, makedev(maj, min)) != 0) return blocked("mknod");
    fd = open("/tmp/dev", O_RDONLY);
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
  if (kill(pid, SIGKILL) == 0) return escaped("killed a host pid");
  return blocked("kill of a host pid");
}

static int do_ptrace(int argc, char **argv) {
  if (argc < 3) return 2;
  pid_t pid = atoi(argv[2]);
  if (ptrace(PTRACE_ATTACH, pid, 0, 0) == 0) return escaped("attached to a host pid");
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

/* chroot out of the root: classic ".." walk, and fchdir to a directory fd kept from before */
static int do_chroot(int argc, char **argv) {
  if (argc < 3) return 2;
  const char *marker = argv[2]; /* a host path that must stay invisible */
  int keep = open("/", O_RDONLY | O_DIRECTORY);
  mkdir("/tmp/jail", 0700);
  if (chroot("/tmp/jail") != 0) return blocked("chroot");
  if (fchdir(keep) != 0) return blocked("fchdir");
  for (int i = 0; i < 64; i++) chdir("..");
  if (chroot(".") != 0) return blocked("chroot .");
  if (access(marker, F_OK) == 0) return escaped("reached a host file after chroot");
  errno = ENOENT;
  return blocked("the walk ends at the guest's own root");
}

/* "shocker": open a file by handle, here inode 2 (the root directory of ext2/3/4) */
static int do_shocker(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct { struct file_handle h; unsigned char b[8]; } fh;
  fh.h.handle_bytes = 8;
  fh.h.handle_type = 1; /* FILEID_INO32_GEN */
  unsigned int ino = 2, gen = 0;
  memcpy(fh.h.f_handle, &ino, 4);
  memcpy(fh.h.f_handle + 4, &gen, 4);
  int root = open("/", O_RDONLY);
  int fd = syscall(SYS_open_by_handle_at, root, &fh.h, O_RDONLY);
  if (fd >= 0) return escaped("open_by_handle_at");
  return blocked("open_by_handle_at");
}

/* CVE-2022-0492: a writable release_agent, directly or in a cgroup mounted in new namespaces */
static int do_release_agent(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *agents[] = {"/sys/fs/cgroup/memory/release_agent", "/sys/fs/cgroup/rdma/release_agent",
                          "/sys/fs/cgroup/release_agent", NULL};
  for (int i = 0; agents[i]; i++)
    if (write_file(agents[i], "/tmp/pwn") == 0) return escaped(agents[i]);
  int e = errno;
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP) == 0) {
    mkdir("/tmp/cg", 0700);
    if (mount("cgroup", "/tmp/cg", "cgroup", 0, "rdma") == 0 && write_file("/tmp/cg/release_agent", "/tmp/pwn") == 0)
      return escaped("release_agent in a new user namespace");
    return blocked("cgroup mount in a new user namespace");
  }
  (void)e;
  return blocked("release_agent and unshare(CLONE_NEWUSER)");
}

/* CVE-2019-5736: get a writable handle on the runtime binary through /proc/PID/exe while it runs */
static int do_exe(int argc, char **argv) {
  int seconds = argc > 2 ? atoi(argv[2]) : 3;
  time_t end = time(NULL) + seconds;
  int tried = 0;
  errno = ENOENT;
  int last = ENOENT;
  while (time(NULL) < end) {
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
      pid_t pid = atoi(de->d_name);
      if (pid <= 1 || pid == getpid()) continue;
      char path[64];
      snprintf(path, sizeof path, "/proc/%d/exe", pid);
      int fd = open(path, O_WRONLY);
      tried++;
      if (fd >= 0) {
        struct stat st;
        /* a sealed in-memory copy (what runc executes) has no links; writing it harms nobody */
        if (fstat(fd, &st) == 0 && st.st_nlink > 0) return escaped(path);
        close(fd);
      } else last = errno;
    }
    if (d) closedir(d);
  }
  errno = last;
  return blocked(tried ? "open of /proc/PID/exe for writing" : "no other process seen");
}

static int do_hostname(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (sethostname("escaped", 7) == 0) return escaped("sethostname");
  return blocked("sethostname");
}

static int do_clock(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (clock_settime(CLOCK_REALTIME, &ts) == 0) return escaped("clock_settime");
  return blocked("clock_settime");
}

static int do_reboot(int argc, char **argv) {
  (void)argc;
  (void)argv;
  /* CAD_OFF changes nothing even where it is allowed, but asks for the same permission as a reboot */
  if (syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL) == 0)
    return escaped("reboot(2) allowed");
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
  {"chroot", do_chroot}, {"shocker", do_shocker}, {"release-agent", do_release_agent}, {"exe", do_exe},
  {"hostname", do_hostname}, {"clock", do_clock}, {"reboot", do_reboot}, {"rawsock", do_rawsock},
  {"keyctl", do_keyctl}, {"bpf", do_bpf}, {"getpid", do_getpid}, {"forkexec", do_forkexec},
};

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: escape MODE [ARG...]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  for (size_t i = 0; i < sizeof MODES / sizeof MODES[0]; i++)
    if (!strcmp(argv[1], MODES[i].name)) return MODES[i].run(argc, argv);
  fprintf(stderr, "unknown mode %s\n", argv[1]);
  return 2;
}
