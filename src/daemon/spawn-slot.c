/*
 * spawn-slot: a process vserverd starts ahead of time, which waits for one command and becomes it.
 * Forking the daemon (a large Node process) costs milliseconds on every program it runs; forking
 * this one happens before the request, so an exec over the API pays only for an execve.
 *
 * fd 3 carries one request: a 4-byte little-endian length, then NUL-separated fields:
 *   MODES FILE ARG0 ARG1 ...
 * MODES has 4 characters: for fds 0-2, 'p' keeps the daemon's pipe and 'n' puts /dev/null there;
 * for fd 3, 'k' keeps it for the program (a control channel) and '-' closes it at the execve.
 * The program is looked up in PATH as execvp does. When execve fails, "E<errno>\n" goes to fd 3
 * and the slot exits 127 once the daemon has closed its end, so the daemon sees the error first.
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
	char *fields[MAX_ARGS + 3];
	int n = 0;
	for (char *p = req; p < req + len && n < MAX_ARGS + 2; p += strlen(p) + 1) fields[n++] = p;
	if (n < 3 || strlen(fields[0]) != 4) return 2;
	const char *modes = fields[0], *file = fields[1];
	fields[n] = NULL;
	for (int fd = 0; fd < 3; fd++) {
		if (modes[fd] != 'n') continue;
		int null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (null < 0 || dup2(null, fd) < 0) return 2;
		close(null);
	}
	fcntl(3, F_SETFL, flags);
	if (modes[3] != 'k') fcntl(3, F_SETFD, FD_CLOEXEC);
	execvp(file, &fields[2]);
	int err = errno;
	char msg[32];
	int m = snprintf(msg, sizeof msg, "E%d\n", err);
	fcntl(3, F_SETFL, flags & ~O_NONBLOCK);
	if (write(3, msg, (size_t)m) == m) {
		char c;
		for (;;) {
			ssize_t r = read(3, &c, 1);
			if (r == 0 || (r < 0 && errno != EINTR)) break;
		}
	}
	return 127;
}
