/*
 * guest-watch: tells vserverd, without polling, when a guest's init exits and when the kernel's OOM
 * killer acts in a guest. Node has no pidfd, and no eventfd for cgroup v1's OOM notification.
 *
 * stdin, one request a line:
 *   pid NAME PID     report when PID exits (pidfd_open + poll)
 *   oom NAME PATH    report OOM kills: PATH is a cgroup v2 memory.events file (inotify), or a
 *                    cgroup v1 memory directory (memory.oom_control via cgroup.event_control + eventfd)
 *   forget NAME      drop NAME's watches
 * stdout, one report a line:
 *   exit NAME PID | oom NAME COUNT | gone NAME | error NAME TEXT
 * A new request of the same kind for NAME replaces the old one. Exits when stdin closes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

enum kind { PID, OOM_V1, OOM_V2 };

struct watch {
	enum kind kind;
	char name[80];
	char path[4096];
	int fd; /* pidfd, eventfd, or the inotify watch descriptor */
	int pid;
	long long last;
	int used;
};

static struct watch *w;
static int nw, ino = -1;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void say(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/* The oom_kill count of a memory.events (v2) or memory.oom_control (v1) file; -1 if unreadable. */
static long long oom_count(const char *file) {
	FILE *f = fopen(file, "r");
	if (!f) return -1;
	char line[256];
	long long n = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "oom_kill ", 9) == 0) n = atoll(line + 9);
	}
	fclose(f);
	return n;
}

static void v1_file(const struct watch *x, char *out, size_t len) { snprintf(out, len, "%s/memory.oom_control", x->path); }

static void drop(struct watch *x) {
	if (!x->used) return;
	if (x->kind == OOM_V2) inotify_rm_watch(ino, x->fd);
	else close(x->fd);
	x->used = 0;
}

static struct watch *slot(void) {
	for (int i = 0; i < nw; i++)
		if (!w[i].used) return &w[i];
	struct watch *nwp = realloc(w, sizeof(*w) * (nw + 16));
	if (!nwp) { perror("guest-watch"); exit(1); }
	w = nwp;
	memset(w + nw, 0, sizeof(*w) * 16);
	nw += 16;
	return &w[nw - 16];
}

static void forget(const char *name, int kind) {
	for (int i = 0; i < nw; i++) {
		if (!w[i].used || strcmp(w[i].name, name) != 0) continue;
		if (kind < 0 || (kind == PID) == (w[i].kind == PID)) drop(&w[i]);
	}
}

static void add_pid(const char *name, int pid) {
	forget(name, PID);
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		if (errno == ESRCH) say("exit %s %d\n", name, pid);
		else say("error %s pidfd_open %d: %s\n", name, pid, strerror(errno));
		return;
	}
	struct watch *x = slot();
	*x = (struct watch){ .kind = PID, .fd = fd, .pid = pid, .used = 1 };
	snprintf(x->name, sizeof(x->name), "%s", name);
}

static void add_oom(const char *name, const char *path) {
	forget(name, OOM_V1);
	struct watch *x = slot();
	*x = (struct watch){ .used = 0 };
	snprintf(x->name, sizeof(x->name), "%s", name);
	snprintf(x->path, sizeof(x->path), "%s", path);
	size_t len = strlen(path);
	if (len >= 13 && strcmp(path + len - 13, "memory.events") == 0) {
		x->kind = OOM_V2;
		x->fd = inotify_add_watch(ino, path, IN_MODIFY);
		if (x->fd < 0) { say("error %s inotify %s: %s\n", name, path, strerror(errno)); return; }
		x->last = oom_count(path);
	} else {
		char file[4200], ctl[4200], req[64];
		x->kind = OOM_V1;
		v1_file(x, file, sizeof(file));
		snprintf(ctl, sizeof(ctl), "%s/cgroup.event_control", path);
		int ofd = open(file, O_RDONLY | O_CLOEXEC);
		int cfd = open(ctl, O_WRONLY | O_CLOEXEC);
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		int ok = ofd >= 0 && cfd >= 0 && efd >= 0;
		if (ok) {
			int n = snprintf(req, sizeof(req), "%d %d", efd, ofd);
			ok = write(cfd, req, (size_t)n) == n;
		}
		if (!ok) say("error %s oom watch %s: %s\n", name, path, strerror(errno));
		if (ofd >= 0) close(ofd); /* the kernel holds its own reference once registered */
		if (cfd >= 0) close(cfd);
		if (!ok) { if (efd >= 0) close(efd); return; }
		x->fd = efd;
		x->last = oom_count(file);
	}
	if (x->last < 0) x->last = 0;
	x->used = 1;
}

static void request(char *line) {
	char *nl = strchr(line, '\n');
	if (nl) *nl = 0;
	char *save, *verb = strtok_r(line, " ", &save), *name = strtok_r(NULL, " ", &save), *arg = strtok_r(NULL, "", &save);
	if (!verb || !name) return;
	if (strcmp(verb, "pid") == 0 && arg) add_pid(name, atoi(arg));
	else if (strcmp(verb, "oom") == 0 && arg) add_oom(name, arg);
	else if (strcmp(verb, "forget") == 0) forget(name, -1);
	else say("error %s unknown request '%s'\n", name, verb);
}

/* v1 tells before its OOM killer acts: wait a moment for the counter it then raises. */
static void on_v1(struct watch *x) {
	unsigned long long n;
	if (read(x->fd, &n, sizeof(n)) < 0 && errno == EAGAIN) return;
	char file[4200];
	v1_file(x, file, sizeof(file));
	long long c = oom_count(file);
	for (int i = 0; c >= 0 && c <= x->last && i < 10; i++) { usleep(20000); c = oom_count(file); }
	if (c < 0 || access(x->path, F_OK) != 0) { say("gone %s\n", x->name); drop(x); return; }
	x->last = c > x->last ? c : x->last + 1;
	say("oom %s %lld\n", x->name, x->last);
}

static void on_inotify(void) {
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t len = read(ino, buf, sizeof(buf));
	for (char *p = buf; len > 0 && p < buf + len;) {
		struct inotify_event *ev = (struct inotify_event *)p;
		for (int i = 0; i < nw; i++) {
			struct watch *x = &w[i];
			if (!x->used || x->kind != OOM_V2 || x->fd != ev->wd) continue;
			if (ev->mask & IN_IGNORED) { say("gone %s\n", x->name); x->used = 0; continue; }
			long long c = oom_count(x->path);
			if (c > x->last) { x->last = c; say("oom %s %lld\n", x->name, c); }
		}
		p += sizeof(struct inotify_event) + ev->len;
	}
}

int main(void) {
	ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ino < 0) { perror("guest-watch: inotify"); return 1; }
	char in[8192];
	size_t have = 0;
	for (;;) {
		int n = 0;
		struct pollfd *p = calloc((size_t)nw + 2, sizeof(*p));
		int *idx = calloc((size_t)nw + 2, sizeof(int));
		if (!p || !idx) return 1;
		p[n++] = (struct pollfd){ .fd = 0, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = ino, .events = POLLIN };
		for (int i = 0; i < nw; i++) {
			if (!w[i].used || w[i].kind == OOM_V2) continue;
			idx[n] = i;
			p[n++] = (struct pollfd){ .fd = w[i].fd, .events = POLLIN };
		}
		if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR) { perror("guest-watch: poll"); return 1; }
		for (int k = 2; k < n; k++) {
			if (!p[k].revents) continue;
			struct watch *x = &w[idx[k]];
			if (!x->used) continue;
			if (x->kind == PID) { say("exit %s %d\n", x->name, x->pid); drop(x); }
			else on_v1(x);
		}
		if (p[1].revents) on_inotify();
		if (p[0].revents) {
			ssize_t r = read(0, in + have, sizeof(in) - 1 - have);
			if (r <= 0) return 0;
			have += (size_t)r;
			in[have] = 0;
			char *start = in, *nl;
			while ((nl = memchr(start, '\n', have - (size_t)(start - in)))) {
				*nl = 0;
				request(start);
				start = nl + 1;
			}
			have -= (size_t)(start - in);
			memmove(in, start, have);
			if (have == sizeof(in) - 1) have = 0; /* a line this long is no request */
		}
		free(p);
		free(idx);
	}
}
