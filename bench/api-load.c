/* A small HTTP/1.1 load generator for bench/api: C keep-alive connections
 * send GET PATH one request at a time each, for SECONDS; prints requests per
 * second and latency percentiles.  With -s N it first opens N slow clients
 * (from 127.0.0.100 and up, 20 per address) that trickle a header line
 * every second and never finish their request.
 *
 *   api-load -p PORT [-c CONNECTIONS] [-d SECONDS] [-s SLOW] [PATH]
 *
 * Output, one line: "rps=N p50_us=N p99_us=N errors=N slow_open=N". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 1024
#define MAX_SLOW 4096

struct conn {
	int fd;
	uint64_t sent_ns;
	char buf[16384];
	size_t len;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int dial(unsigned port, const char *src)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	if (src) {
		struct sockaddr_in me = {.sin_family = AF_INET};
		inet_pton(AF_INET, src, &me.sin_addr);
		if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
			close(fd);
			return -1;
		}
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The length of the complete response at the start of buf, or 0. */
static size_t complete(const char *buf, size_t len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *cl;

	if (!end)
		return 0;
	cl = memmem(buf, (size_t)(end - buf), "Content-Length: ", 16);
	if (!cl)
		return 0;
	{
		size_t want = (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10);
		return len >= want ? want : 0;
	}
}

int main(int argc, char **argv)
{
	unsigned port = 0, nconn = 16, seconds = 5, nslow = 0;
	const char *path = "/health";
	static struct conn conns[MAX_CONN];
	static int slow[MAX_SLOW];
	char req[256];
	size_t reqlen, nlat = 0, cap = 1 << 20;
	uint64_t *lat = malloc(cap * sizeof(*lat)), errors = 0, start, end, last_trickle = 0;
	unsigned slow_open = 0;
	int opt, ep;

	while ((opt = getopt(argc, argv, "p:c:d:s:")) != -1) {
		switch (opt) {
		case 'p': port = (unsigned)atoi(optarg); break;
		case 'c': nconn = (unsigned)atoi(optarg); break;
		case 'd': seconds = (unsigned)atoi(optarg); break;
		case 's': nslow = (unsigned)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: api-load -p PORT [-c N] [-d SECONDS] [-s SLOW] [PATH]\n");
			return 2;
		}
	}
	if (optind < argc)
		path = argv[optind];
	if (!port || nconn > MAX_CONN || nslow > MAX_SLOW || !lat)
		return 2;
	for (unsigned i = 0; i < nslow; i++) {
		char src[32];
		snprintf(src, sizeof(src), "127.0.0.%u", 100 + i / 20);
		slow[i] = dial(port, src);
		if (slow[i] >= 0 && write(slow[i], "GET /health HTTP/1.1\r\n", 22) == 22)
			slow_open++;
	}
	reqlen = (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
	ep = epoll_create1(EPOLL_CLOEXEC);
	for (unsigned i = 0; i < nconn; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
		conns[i].fd = dial(port, NULL);
		if (conns[i].fd < 0) {
			fprintf(stderr, "api-load: connect: %s\n", strerror(errno));
			return 1;
		}
		epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
		conns[i].sent_ns = now_ns();
		if (write(conns[i].fd, req, reqlen) != (ssize_t)reqlen)
			errors++;
	}
	start = now_ns();
	end = start + (uint64_t)seconds * 1000000000ull;
	while (now_ns() < end) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 100);
		uint64_t t = now_ns();

		if (nslow && t - last_trickle > 1000000000ull) {
			for (unsigned i = 0; i < nslow; i++)
				if (slow[i] >= 0)
					send(slow[i], "X-Slow: 1\r\n", 11, MSG_NOSIGNAL | MSG_DONTWAIT);
			last_trickle = t;
		}
		for (int k = 0; k < n; k++) {
			struct conn *c = &conns[evs[k].data.u32];
			ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
			size_t done;
			if (r <= 0) {
				errors++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = dial(port, NULL);
				c->len = 0;
				if (c->fd < 0)
					return 1;
				epoll_ctl(ep, EPOLL_CTL_ADD, c->fd,
				          &(struct epoll_event){.events = EPOLLIN, .data = evs[k].data});
				c->sent_ns = now_ns();
				if (write(c->fd, req, reqlen) != (ssize_t)reqlen)
					errors++;
				continue;
			}
			c->len += (size_t)r;
			while ((done = complete(c->buf, c->len))) {
				uint64_t t1 = now_ns();
				if (strncmp(c->buf, "HTTP/1.1 200", 12) != 0)
					errors++;
				if (nlat == cap) {
					uint64_t *nl = realloc(lat, 2 * cap * sizeof(*lat));
					if (!nl)
						return 1;
					lat = nl;
					cap *= 2;
				}
				lat[nlat++] = t1 - c->sent_ns;
				memmove(c->buf, c->buf + done, c->len - done);
				c->len -= done;
				c->sent_ns = t1;
				if (write(c->fd, req, reqlen) != (ssize_t)reqlen)
					errors++;
			}
		}
	}
	{
		double secs = (double)(now_ns() - start) / 1e9;
		unsigned still_open = 0;
		qsort(lat, nlat, sizeof(*lat), cmp_u64);
		for (unsigned i = 0; i < nslow; i++) {
			char b;
			if (slow[i] >= 0 && recv(slow[i], &b, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN)
				still_open++;
		}
		printf("rps=%.0f p50_us=%llu p99_us=%llu errors=%llu slow_open=%u\n", (double)nlat / secs,
		       nlat ? (unsigned long long)(lat[nlat / 2] / 1000) : 0,
		       nlat ? (unsigned long long)(lat[nlat * 99 / 100] / 1000) : 0,
		       (unsigned long long)errors, still_open);
	}
	return 0;
}
