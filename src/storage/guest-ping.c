/*
 * ping for the busybox template. busybox's ping needs a raw socket, which a guest does not get
 * (no CAP_NET_RAW); this one uses the kernel's ICMP echo sockets, which a guest's own network
 * namespace allows to its groups (net.ipv4.ping_group_range, for IPv4 and IPv6 alike).
 * Built static, so that it runs in any guest: ping [-4|-6] [-c N] [-i S] [-W S] [-q] HOST
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_int(int sig) { (void)sig; stop = 1; }

static double now_ms(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void usage(void) {
	fprintf(stderr, "usage: ping [-4|-6] [-c COUNT] [-i INTERVAL] [-W TIMEOUT] [-q] HOST\n");
	exit(2);
}

/* A numeric address, or a name from /etc/hosts (a static binary has no resolver libraries). */
static int resolve(const char *host, int family, struct sockaddr_storage *ss) {
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	memset(ss, 0, sizeof(*ss));
	if (family != AF_INET6 && inet_pton(AF_INET, host, &a4->sin_addr) == 1) { a4->sin_family = AF_INET; return 0; }
	if (family != AF_INET && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) { a6->sin6_family = AF_INET6; return 0; }
	FILE *f = fopen("/etc/hosts", "r");
	if (!f) return -1;
	char line[512];
	int found = -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#');
		if (hash) *hash = 0;
		char *save, *addr = strtok_r(line, " \t\n", &save), *name;
		if (!addr) continue;
		while ((name = strtok_r(NULL, " \t\n", &save))) {
			if (strcmp(name, host) != 0) continue;
			if (family != AF_INET6 && inet_pton(AF_INET, addr, &a4->sin_addr) == 1) { a4->sin_family = AF_INET; found = 0; break; }
			if (family != AF_INET && inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) { a6->sin6_family = AF_INET6; found = 0; break; }
		}
	}
	fclose(f);
	return found;
}

int main(int argc, char **argv) {
	const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int family = strcmp(self, "ping6") == 0 ? AF_INET6 : AF_UNSPEC, quiet = 0, opt;
	long count = -1;
	double interval = 1.0, wait_s = 10.0;
	while ((opt = getopt(argc, argv, "46c:i:W:w:q")) != -1) {
		switch (opt) {
		case '4': family = AF_INET; break;
		case '6': family = AF_INET6; break;
		case 'c': count = strtol(optarg, NULL, 10); if (count <= 0) usage(); break;
		case 'i': interval = strtod(optarg, NULL); if (interval < 0.2) interval = 0.2; break;
		case 'W': case 'w': wait_s = strtod(optarg, NULL); if (wait_s <= 0) usage(); break;
		case 'q': quiet = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1) usage();
	const char *host = argv[optind];
	struct sockaddr_storage to;
	if (resolve(host, family, &to) != 0) { fprintf(stderr, "ping: %s: unknown host (give an address, or a name in /etc/hosts)\n", host); return 2; }
	int v6 = to.ss_family == AF_INET6;
	int s = socket(to.ss_family, SOCK_DGRAM, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (s < 0) {
		if (errno == EACCES || errno == EPERM)
			fprintf(stderr, "ping: ICMP echo sockets are not allowed to this group here (net.ipv4.ping_group_range)\n");
		else perror("ping: socket");
		return 2;
	}
	int on = 1;
	if (v6) setsockopt(s, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on));
	else setsockopt(s, IPPROTO_IP, IP_RECVTTL, &on, sizeof(on));
	char addr[INET6_ADDRSTRLEN];
	inet_ntop(to.ss_family, v6 ? (void *)&((struct sockaddr_in6 *)&to)->sin6_addr : (void *)&((struct sockaddr_in *)&to)->sin_addr, addr, sizeof(addr));
	printf("PING %s (%s) 56(%d) bytes of data.\n", host, addr, v6 ? 104 : 84);
	fflush(stdout);
	signal(SIGINT, on_int);

	long sent = 0, received = 0;
	double start = now_ms(), tmin = 1e12, tmax = 0, tsum = 0;
	unsigned char pkt[8 + 56], buf[2048], ctl[256];
	while (!stop && (count < 0 || sent < count)) {
		memset(pkt, 0, sizeof(pkt));
		if (v6) { struct icmp6_hdr *h = (void *)pkt; h->icmp6_type = ICMP6_ECHO_REQUEST; h->icmp6_seq = htons(sent + 1); }
		else { struct icmphdr *h = (void *)pkt; h->type = ICMP_ECHO; h->un.echo.sequence = htons(sent + 1); }
		double t0 = now_ms();
		/* the kernel fills in the identifier and the checksum of an echo socket */
		if (sendto(s, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) < 0) {
			fprintf(stderr, "ping: sendto %s: %s\n", addr, strerror(errno));
		}
		sent++;
		double deadline = t0 + ((count >= 0 && sent == count) ? wait_s * 1e3 : interval * 1e3);
		for (;;) {
			int left = (int)(deadline - now_ms());
			if (left <= 0 || stop) break;
			struct pollfd p = { s, POLLIN, 0 };
			if (poll(&p, 1, left) <= 0) continue;
			struct iovec iov = { buf, sizeof(buf) };
			struct msghdr m = { 0 };
			m.msg_iov = &iov; m.msg_iovlen = 1; m.msg_control = ctl; m.msg_controllen = sizeof(ctl);
			ssize_t n = recvmsg(s, &m, 0);
			if (n < 8) continue;
			int seq = v6 ? ntohs(((struct icmp6_hdr *)buf)->icmp6_seq) : ntohs(((struct icmphdr *)buf)->un.echo.sequence);
			int reply = v6 ? buf[0] == ICMP6_ECHO_REPLY : buf[0] == ICMP_ECHOREPLY;
			if (!reply || seq != sent) continue;
			int ttl = -1;
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
				if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) || (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT))
					memcpy(&ttl, CMSG_DATA(c), sizeof(int));
			double rtt = now_ms() - t0;
			received++; tsum += rtt;
			if (rtt < tmin) tmin = rtt;
			if (rtt > tmax) tmax = rtt;
			if (!quiet) { printf("%zd bytes from %s: icmp_seq=%d ttl=%d time=%.3f ms\n", n, addr, seq, ttl, rtt); fflush(stdout); }
			if (count >= 0 && sent == count) deadline = 0;
		}
	}
	printf("\n--- %s ping statistics ---\n%ld packets transmitted, %ld received, %ld%% packet loss, time %.0fms\n",
		host, sent, received, sent ? (sent - received) * 100 / sent : 0, now_ms() - start);
	if (received) printf("rtt min/avg/max = %.3f/%.3f/%.3f ms\n", tmin, tsum / received, tmax);
	return received ? 0 : 1;
}
