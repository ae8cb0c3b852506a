/*
 * spawn-slot: a process vserverd starts ahead of time, which waits for one command and becomes it.
 * Forking the daemon (a large Node process) costs milliseconds on every program it runs; forking
 * this one happens before the request, so an exec over the API pays only for an execve.
 *
 * fd 3 carries one request: a 4-byte little-endian length, then NUL-separated fields:
 *   MODES [FD3FILE] FILE ARG0 ARG1 ...
 * MODES has 4 characters: for fds 0-2, 'p' keeps the daemon's pipe and 'n' puts /dev/null there;
 * for fd 3, 'k' keeps it for the program (a control channel), '-' closes it at the execve, and
 * 'f' opens FD3FILE there (read-only). The program is looked up in PATH as execvp does. When execve
 * fails, "E<errno>\n" goes back on the request channel and the slot exits 127 once the daemon has
 * closed its end, so the daemon sees the error first; a successful execve closes the channel.
 * An end of fd 3 before a request (the daemon went away) ends the slot quietly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_REQUEST (8 << 20)
#define MAX_ARGS 8192

static int read_full(int fd, char *buf, size_t n) {
	size_t have = 0;
	while (have < n) {
		ssize_t r = read(fd, buf + have, n - have);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) return -1;
		have += (size_t)r;
	}
	return 0;
}

/* Says why on the request channel, then waits for the daemon to close its end, so that it sees
 * the error before the exit. */
static int failed(int ch, int err, int flags) {
	char msg[32];
	int m = snprintf(msg, sizeof msg, "E%d\n", err);
	fcntl(ch, F_SETFL, flags & ~O_NONBLOCK);
	if (write(ch, msg, (size_t)m) == m) {
		char c;
		for (;;) {
			ssize_t r = read(ch, &c, 1);
			if (r == 0 || (r < 0 && errno != EINTR)) break;
		}
	}
	return 127;
}

int main(void) {
	int flags = fcntl(3, F_GETFL);
	if (flags < 0) return 2;
	/* the daemon's end of a pipe may be non-blocking; the program gets fd 3 back as it came */
	fcntl(3, F_SETFL, flags & ~O_NONBLOCK);
	unsigned char len_le[4];
	if (read_full(3, (char *)len_le, 4) < 0) return 0;
	uint32_t len = (uint32_t)len_le[0] | (uint32_t)len_le[1] << 8 | (uint32_t)len_le[2] << 16 | (uint32_t)len_le[3] << 24;
	if (len < 6 || len > MAX_REQUEST) return 2;
	char *req = malloc((size_t)len + 1);
	if (!req || read_full(3, req, len) < 0) return 2;
	req[len] = 0;
	char *fields[MAX_ARGS + 3], *p = req;
	int n = 0;
	for (; p < req + len && n < MAX_ARGS + 2; p += strlen(p) + 1) fields[n++] = p;
	/* the daemon never sends more (it forks instead); a cut argv must not run */
	if (p < req + len || n < 3 || strlen(fields[0]) != 4) return failed(3, E2BIG, flags);
	const char *modes = fields[0];
	int at = modes[3] == 'f' ? 2 : 1;
	if (n < at + 2) return 2;
	const char *file = fields[at];
	fields[n] = NULL;
	for (int fd = 0; fd < 3; fd++) {
		if (modes[fd] != 'n') continue;
		int null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (null < 0 || dup2(null, fd) < 0) return 2;
		close(null);
	}
	/* the request channel, kept apart from fd 3 so that it can say why an execve failed */
	int ch = fcntl(3, F_DUPFD_CLOEXEC, 10);
	if (ch < 0) return 2;
	fcntl(3, F_SETFL, flags);
	int f = modes[3] == 'f' ? open(fields[1], O_RDONLY) : -1;
	if (modes[3] == 'f' && (f < 0 || dup2(f, 3) < 0)) return failed(ch, errno, flags);
	if (f >= 0) close(f);
	if (modes[3] == '-') close(3);
	execvp(file, &fields[at + 1]);
	return failed(ch, errno, flags);
}
