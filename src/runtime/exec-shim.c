/*
 * exec-shim SOFT COMMAND [ARGS...]: what `runc exec` runs in a guest, from the host's file that it
 * passes as fd 3 (argv[0] is /proc/self/fd/3), before the command. runc built with Go 1.19 or later
 * gives an exec'd process a soft open-files limit equal to its hard one; this puts the guest's soft
 * limit back, closes fd 3 and execs COMMAND, looked up in the guest's PATH. It replaces a shell
 * script that needed a shell in the guest and cost a shell's start-up on every exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* PATH when the guest's process has none, as a shell would search */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int fail(const char *cmd, int err) {
	if (err == ENOENT) fprintf(stderr, "vserver: %s: command not found in the guest\n", cmd);
	else fprintf(stderr, "vserver: %s: %s\n", cmd, strerror(err));
	/* the statuses a shell gives: 127 not found, 126 found but not runnable */
	return err == ENOENT || err == ENOTDIR ? 127 : 126;
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: exec-shim SOFT-NOFILE COMMAND [ARGS...]\n");
		return 126;
	}
	char *end;
	errno = 0;
	unsigned long long soft = strtoull(argv[1], &end, 10);
	struct rlimit r;
	if (errno == 0 && *end == 0 && getrlimit(RLIMIT_NOFILE, &r) == 0 && soft <= r.rlim_max) {
		r.rlim_cur = (rlim_t)soft;
		setrlimit(RLIMIT_NOFILE, &r);
	}
	close(3);
	const char *cmd = argv[2];
	if (strchr(cmd, '/')) {
		execv(cmd, argv + 2);
		return fail(cmd, errno);
	}
	const char *path = getenv("PATH");
	if (!path || !*path) path = DEFAULT_PATH;
	int seen = ENOENT;
	char file[PATH_MAX];
	for (const char *d = path;; d++) {
		const char *colon = strchrnul(d, ':');
		int len = (int)(colon - d);
		/* an empty entry is the current directory, as in a shell */
		if (snprintf(file, sizeof file, "%.*s%s%s", len, len ? d : ".", "/", cmd) < (int)sizeof file) {
			struct stat st;
			if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
				execv(file, argv + 2);
				if (errno != ENOENT) seen = errno;
			}
		}
		if (!*colon) break;
		d = colon;
	}
	return fail(cmd, seen);
}
