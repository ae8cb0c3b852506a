/*
 * pty-relay SOCKET PIDFILE -- RUNTIME ARGS...
 * Runs an OCI runtime's `exec --tty --console-socket SOCKET --detach --pid-file PIDFILE`, receives
 * the terminal's master end through SOCKET (SCM_RIGHTS, which Node cannot receive) and relays it:
 * fd 0 -> terminal, terminal -> fd 1. fd 3 carries control lines: "resize COLS ROWS", "signal N".
 * As child subreaper it inherits the command once the detached runtime exits, and exits with the
 * command's status (128+N for a signal); a runtime that fails passes its own status on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static const char *sock_path;
static void cleanup(void) { if (sock_path) unlink(sock_path); }

static int recv_fd(int conn) {
	char data[256], ctrl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
	if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) < 0) return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) { errno = EPROTO; return -1; }
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

static int write_all(int fd, const char *b, ssize_t n) {
	while (n > 0) {
		ssize_t w = write(fd, b, (size_t)n);
		if (w < 0) { if (errno == EINTR) continue; return -1; }
		b += w;
		n -= w;
	}
	return 0;
}

static int read_pid(const char *file) {
	FILE *f = fopen(file, "r");
	int pid = 0;
	if (!f) return 0;
	if (fscanf(f, "%d", &pid) != 1) pid = 0;
	fclose(f);
	return pid;
}

int main(int argc, char **argv) {
	if (argc < 5 || strcmp(argv[3], "--") != 0) {
		fprintf(stderr, "usage: pty-relay SOCKET PIDFILE -- RUNTIME ARGS...\n");
		return 2;
	}
	const char *pidfile = argv[2];
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(argv[1]) >= sizeof(addr.sun_path)) { fprintf(stderr, "pty-relay: socket path too long\n"); return 2; }
	strcpy(addr.sun_path, argv[1]);
	unlink(argv[1]);
	if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(ls, 1) < 0) {
		perror("pty-relay: console socket");
		return 2;
	}
	sock_path = argv[1];
	atexit(cleanup);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);
	pid_t rt = fork();
	if (rt == 0) {
		sigprocmask(SIG_UNBLOCK, &mask, NULL);
		execvp(argv[4], argv + 4);
		fprintf(stderr, "pty-relay: %s: %s\n", argv[4], strerror(errno));
		_exit(127);
	}
	int conn = -1, master = -1, in_open = 1, ctl_open = fcntl(3, F_GETFD) >= 0, target = 0, code = -1, rt_done = 0;
	struct winsize pending = { 0 };
	char ctl[512];
	size_t ctl_have = 0;
	char buf[65536];
	for (;;) {
		struct pollfd p[6];
		int n = 0, i_ls = -1, i_conn = -1, i_in = -1, i_m = -1, i_ctl = -1;
		p[n] = (struct pollfd){ .fd = sfd, .events = POLLIN }; n++;
		if (master < 0 && conn < 0) { i_ls = n; p[n++] = (struct pollfd){ .fd = ls, .events = POLLIN }; }
		if (conn >= 0) { i_conn = n; p[n++] = (struct pollfd){ .fd = conn, .events = POLLIN }; }
		if (master >= 0 && in_open) { i_in = n; p[n++] = (struct pollfd){ .fd = 0, .events = POLLIN }; }
		if (master >= 0) { i_m = n; p[n++] = (struct pollfd){ .fd = master, .events = POLLIN }; }
		if (ctl_open) { i_ctl = n; p[n++] = (struct pollfd){ .fd = 3, .events = POLLIN }; }
		/* once the command exited, drain what the terminal still holds, briefly */
		int r = poll(p, (nfds_t)n, code >= 0 ? 100 : -1);
		if (r < 0 && errno != EINTR) { perror("pty-relay: poll"); return 255; }
		if (r == 0) return code;
		if (p[0].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) > 0) {}
			int st;
			pid_t c;
			while ((c = waitpid(-1, &st, WNOHANG)) > 0) {
				int sc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				if (c == rt) {
					rt_done = 1;
					if (sc != 0) return sc; /* the runtime failed; its words went to stderr */
					target = read_pid(pidfile);
				} else {
					if (!target) target = read_pid(pidfile);
					if (c == target) code = sc;
				}
			}
			(void)rt_done;
		}
		if (i_ls >= 0 && p[i_ls].revents) conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (i_conn >= 0 && p[i_conn].revents) {
			master = recv_fd(conn);
			close(conn);
			conn = -1;
			if (master < 0) { perror("pty-relay: console"); return 255; }
			unlink(sock_path);
			sock_path = NULL;
			if (pending.ws_col) ioctl(master, TIOCSWINSZ, &pending);
			continue;
		}
		if (i_in >= 0 && p[i_in].revents) {
			ssize_t k = read(0, buf, sizeof(buf));
			if (k <= 0) in_open = 0;
			else write_all(master, buf, k);
		}
		if (i_m >= 0 && p[i_m].revents) {
			ssize_t k = read(master, buf, sizeof(buf));
			if (k <= 0) {
				if (code >= 0) return code;
				close(master);
				master = -2; /* every holder of the terminal closed it: wait for the exit status */
			} else if (write_all(1, buf, k) < 0) return code >= 0 ? code : 255;
		}
		if (i_ctl >= 0 && p[i_ctl].revents) {
			ssize_t k = read(3, ctl + ctl_have, sizeof(ctl) - 1 - ctl_have);
			if (k <= 0) { ctl_open = 0; continue; }
			ctl_have += (size_t)k;
			ctl[ctl_have] = 0;
			char *s = ctl, *nl;
			while ((nl = memchr(s, '\n', ctl_have - (size_t)(s - ctl)))) {
				*nl = 0;
				unsigned cols, rows;
				int sig;
				if (sscanf(s, "resize %u %u", &cols, &rows) == 2) {
					pending = (struct winsize){ .ws_col = (unsigned short)cols, .ws_row = (unsigned short)rows };
					if (master >= 0) ioctl(master, TIOCSWINSZ, &pending);
				} else if (sscanf(s, "signal %d", &sig) == 1) {
					/* as a key on a terminal would: to its foreground process group, else the command */
					pid_t fg = master >= 0 ? tcgetpgrp(master) : -1;
					if (!target) target = read_pid(pidfile);
					if (fg > 0) kill(-fg, sig);
					else if (target > 0) kill(target, sig);
				}
				s = nl + 1;
			}
			ctl_have -= (size_t)(s - ctl);
			memmove(ctl, s, ctl_have);
			if (ctl_have == sizeof(ctl) - 1) ctl_have = 0;
		}
		if (master == -2 && code >= 0) return code;
	}
}
