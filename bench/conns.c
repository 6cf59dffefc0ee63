/*
 * conns.c - opens many keep-alive HTTP/1.1 connections and holds them idle.
 *
 *     conns [-q] [-n N] [-c WINDOW] [-p PATH] [-t HOLD] [-w WAIT] HOST:PORT
 *
 * Opens N TCP connections to HOST:PORT (an IPv4 literal, a name, or
 * [IPv6]:PORT), sends one `GET PATH HTTP/1.1` with `Connection: keep-alive`
 * on each and reads the response: status line, headers, then a body of
 * Content-Length bytes (or a chunked body, up to its last chunk). At most
 * WINDOW connections are connecting or waiting for their response at a
 * time, so the server's accept queue never overflows. Every response must
 * be a 200 within WAIT seconds of the start.
 *
 * When all N have answered, prints "open N SECONDS" on stdout (the time it
 * took) and keeps the connections open, idle, for HOLD seconds or until
 * SIGTERM or SIGINT; then prints "held K", K being the connections the
 * server had not closed, and closes them all with a reset (SO_LINGER 0),
 * so that no TIME_WAIT sockets outlive the run. HOLD 0 closes at once,
 * which makes `conns -q -n 1 -t 0 ADDR` a health probe.
 *
 * Defaults: N 1, WINDOW 256, PATH /gateway/v1/health, HOLD 0, WAIT 30.
 * -q: no message on failure (for polling until a server is up).
 *
 * Exits 0 when every connection got its 200, 1 when one did not (refused,
 * reset, another status, WAIT elapsed), 64 on bad usage, 70 on a local
 * error (such as too few file descriptors).
 *
 * bench/http.sh builds it with the system C compiler.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 8192           /* status line and headers of a response */

enum state {
	C_UNUSED,
	C_CONNECTING,
	C_SENDING,
	C_READING,
	C_IDLE,                 /* answered, held open */
	C_CLOSED,               /* closed by the server while held */
};

enum body_kind { B_NONE, B_LENGTH, B_CHUNKED };

struct conn {
	int fd;
	unsigned char state;
	unsigned char body;     /* enum body_kind, once the head is read */
	unsigned short sent;    /* request bytes sent */
	unsigned short have;    /* head bytes in buf */
	char tail[5];           /* last bytes of a chunked body */
	long long left;         /* Content-Length bytes still to read */
	char *buf;              /* HEAD_MAX bytes while reading the head */
};

static int quiet;
static volatile sig_atomic_t stop;
static struct conn *conns;
static int nconns;
static char request[1024];
static size_t request_len;

static void
fail(int status, const char *fmt, ...)
{
	va_list ap;

	if (!quiet) {
		fputs("conns: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	exit(status);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
number(const char *s, const char *what, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		fail(64, "%s must be a number from %ld to %ld, not '%s'",
		     what, min, max, s);
	return (int)v;
}

/* Splits HOST:PORT or [HOST]:PORT and resolves it. */
static struct addrinfo *
resolve(const char *arg, char *host, size_t hostlen)
{
	struct addrinfo hints, *ai;
	const char *colon, *h = arg;
	size_t n;
	int rc;

	if (*arg == '[') {
		colon = strstr(arg, "]:");
		h = arg + 1;
		n = colon != NULL ? (size_t)(colon - h) : 0;
		if (colon != NULL)
			colon++;
	} else {
		colon = strrchr(arg, ':');
		n = colon != NULL ? (size_t)(colon - arg) : 0;
	}
	if (colon == NULL || n == 0 || n >= hostlen || colon[1] == '\0')
		fail(64, "address '%s' is not HOST:PORT or [HOST]:PORT", arg);
	memcpy(host, h, n);
	host[n] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc != 0)
		fail(1, "%s: %s", arg, gai_strerror(rc));
	return ai;
}

static void
watch(int ep, int op, int i, unsigned events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u32 = (unsigned)i;
	if (epoll_ctl(ep, op, conns[i].fd, &ev) < 0)
		fail(70, "epoll_ctl: %s", strerror(errno));
}

static void
open_one(int ep, const struct addrinfo *ai, int i)
{
	struct conn *c = &conns[i];
	struct linger lg = {1, 0};
	int one = 1;

	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	               0);
	if (c->fd < 0)
		fail(70, "socket %d: %s", i + 1, strerror(errno));
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    errno != EINPROGRESS)
		fail(errno == EADDRNOTAVAIL ? 70 : 1, "connection %d: connect: %s",
		     i + 1, strerror(errno));
	c->state = C_CONNECTING;
	watch(ep, EPOLL_CTL_ADD, i, EPOLLOUT);
}

/* The value of header name in the head, or NULL. */
static const char *
header(const char *head, const char *name, size_t *len)
{
	size_t n = strlen(name);
	const char *p = strstr(head, "\r\n"), *end;

	while (p != NULL && p[2] != '\r') {
		p += 2;
		end = strstr(p, "\r\n");
		if (end == NULL)
			return NULL;
		if ((size_t)(end - p) > n && p[n] == ':' &&
		    strncasecmp(p, name, n) == 0) {
			p += n + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			*len = (size_t)(end - p);
			while (*len > 0 && (p[*len - 1] == ' ' || p[*len - 1] == '\t'))
				(*len)--;
			return p;
		}
		p = end;
	}
	return NULL;
}

/* Consumes n body bytes; returns 1 when the body is complete. */
static int
body_bytes(struct conn *c, const char *p, size_t n)
{
	size_t k;

	if (c->body == B_LENGTH) {
		c->left -= (long long)n;
		return c->left <= 0;
	}
	if (c->body == B_CHUNKED) {
		/* Only the end matters: the last chunk and an empty trailer. */
		for (k = 0; k < n; k++) {
			memmove(c->tail, c->tail + 1, 4);
			c->tail[4] = p[k];
		}
		return memcmp(c->tail, "0\r\n\r\n", 5) == 0;
	}
	return 1;
}

/* Parses the head in c->buf (NUL-terminated, complete); returns 1 when the
 * body is already complete too. */
static int
parse_head(struct conn *c, int i, size_t headlen)
{
	const char *v;
	size_t len;
	char num[32];
	int status;

	if (strncmp(c->buf, "HTTP/1.", 7) != 0 || c->buf[8] != ' ')
		fail(1, "connection %d: not an HTTP/1.x response: %.40s", i + 1,
		     c->buf);
	status = atoi(c->buf + 9);
	if (status != 200)
		fail(1, "connection %d: status %d, expected 200: %.*s", i + 1,
		     status, (int)strcspn(c->buf, "\r\n"), c->buf);
	c->body = B_NONE;
	if ((v = header(c->buf, "Content-Length", &len)) != NULL) {
		if (len == 0 || len >= sizeof(num))
			fail(1, "connection %d: bad Content-Length", i + 1);
		memcpy(num, v, len);
		num[len] = '\0';
		c->body = B_LENGTH;
		c->left = atoll(num);
	} else if ((v = header(c->buf, "Transfer-Encoding", &len)) != NULL &&
	           len >= 7 && strncasecmp(v + len - 7, "chunked", 7) == 0) {
		c->body = B_CHUNKED;
		memset(c->tail, 0, sizeof(c->tail));
	} else {
		fail(1, "connection %d: a keep-alive response needs a "
		     "Content-Length or a chunked body", i + 1);
	}
	if ((v = header(c->buf, "Connection", &len)) != NULL && len == 5 &&
	    strncasecmp(v, "close", 5) == 0)
		fail(1, "connection %d: the server answered Connection: close",
		     i + 1);
	return body_bytes(c, c->buf + headlen, c->have - headlen);
}

/* Reads what is there; returns 1 when the response is complete. */
static int
read_response(struct conn *c, int i)
{
	char scratch[4096], *end;
	ssize_t r;

	for (;;) {
		if (c->body == B_NONE && c->buf != NULL) {
			if (c->have >= HEAD_MAX - 1)
				fail(1, "connection %d: response head over %d "
				     "bytes", i + 1, HEAD_MAX);
			r = read(c->fd, c->buf + c->have,
			         (size_t)(HEAD_MAX - 1 - c->have));
		} else {
			r = read(c->fd, scratch, sizeof(scratch));
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (r < 0)
			fail(1, "connection %d: read: %s", i + 1, strerror(errno));
		if (r == 0)
			fail(1, "connection %d: the server closed it before "
			     "the end of the response", i + 1);
		if (c->buf != NULL && c->body == B_NONE) {
			c->have += (unsigned short)r;
			c->buf[c->have] = '\0';
			end = strstr(c->buf, "\r\n\r\n");
			if (end != NULL && parse_head(c, i,
			                              (size_t)(end + 4 - c->buf)))
				return 1;
		} else if (body_bytes(c, scratch, (size_t)r)) {
			return 1;
		}
	}
}

/* One event on connection i while opening; returns 1 when it is answered. */
static int
step(int ep, int i, unsigned events)
{
	struct conn *c = &conns[i];
	socklen_t len = sizeof(int);
	ssize_t w;
	int err = 0;

	switch (c->state) {
	case C_CONNECTING:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err != 0)
			fail(1, "connection %d: connect: %s", i + 1, strerror(err));
		c->state = C_SENDING;
		/* fall through */
	case C_SENDING:
		while (c->sent < request_len) {
			w = write(c->fd, request + c->sent, request_len - c->sent);
			if (w < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (w < 0)
				fail(1, "connection %d: write: %s", i + 1,
				     strerror(errno));
			c->sent += (unsigned short)w;
		}
		c->buf = malloc(HEAD_MAX);
		if (c->buf == NULL)
			fail(70, "out of memory");
		c->have = 0;
		c->body = B_NONE;
		c->state = C_READING;
		watch(ep, EPOLL_CTL_MOD, i, EPOLLIN);
		return 0;
	case C_READING:
		if (!read_response(c, i))
			return 0;
		free(c->buf);
		c->buf = NULL;
		c->state = C_IDLE;
		watch(ep, EPOLL_CTL_MOD, i, EPOLLIN | EPOLLRDHUP);
		return 1;
	default:
		(void)events;
		return 0;
	}
}

/* An event on a held connection: the server closed it, or sent something
 * it should not have; returns 1 when it is closed. */
static int
idle_event(int ep, int i)
{
	struct conn *c = &conns[i];
	char scratch[512];
	ssize_t r;

	for (;;) {
		r = read(c->fd, scratch, sizeof(scratch));
		if (r > 0)
			continue;       /* unsolicited bytes: ignored */
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
		c->state = C_CLOSED;
		return 1;
	}
}

int
main(int argc, char **argv)
{
	const char *path = "/gateway/v1/health";
	struct epoll_event evs[256];
	struct addrinfo *ai;
	struct sigaction sa;
	struct rlimit rl;
	char host[256];
	double start, deadline, opened, hold_end;
	int n = 1, window = 256, hold = 0, wait_s = 30;
	int opt, ep, i, k, nev, started = 0, answered = 0, inflight = 0;
	int closed = 0, ms;

	while ((opt = getopt(argc, argv, "qn:c:p:t:w:")) != -1) {
		switch (opt) {
		case 'q': quiet = 1; break;
		case 'n': n = number(optarg, "-n", 1, 1000000); break;
		case 'c': window = number(optarg, "-c", 1, 100000); break;
		case 'p': path = optarg; break;
		case 't': hold = number(optarg, "-t", 0, 86400); break;
		case 'w': wait_s = number(optarg, "-w", 1, 86400); break;
		default:
			fail(64, "usage: conns [-q] [-n N] [-c WINDOW] [-p PATH] "
			     "[-t HOLD] [-w WAIT] HOST:PORT");
		}
	}
	if (optind != argc - 1)
		fail(64, "usage: conns [-q] [-n N] [-c WINDOW] [-p PATH] "
		     "[-t HOLD] [-w WAIT] HOST:PORT");
	ai = resolve(argv[optind], host, sizeof(host));
	request_len = (size_t)snprintf(request, sizeof(request),
	        "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: keep-alive\r\n"
	        "User-Agent: asterd-bench-conns\r\n\r\n", path,
	        argv[optind][0] == '[' ? argv[optind] : host);
	if (request_len >= sizeof(request))
		fail(64, "path too long");

	/* Descriptors: N sockets, epoll, stdio and a margin. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)n + 16) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)n + 16)
			fail(70, "%d connections need %d file descriptors; the "
			     "hard limit is %llu", n, n + 16,
			     (unsigned long long)rl.rlim_max);
		rl.rlim_cur = (rlim_t)n + 16;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			fail(70, "setrlimit: %s", strerror(errno));
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;      /* no SA_RESTART: epoll_wait returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	conns = calloc((size_t)n, sizeof(*conns));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (conns == NULL || ep < 0)
		fail(70, "cannot set up: %s", strerror(errno));
	nconns = n;

	start = now();
	deadline = start + wait_s;
	while (answered < n) {
		while (started < n && inflight < window) {
			open_one(ep, ai, started++);
			inflight++;
		}
		if (stop)
			fail(1, "interrupted with %d of %d answered", answered, n);
		ms = (int)((deadline - now()) * 1000);
		if (ms <= 0)
			fail(1, "%d of %d connections answered in %d s", answered,
			     n, wait_s);
		nev = epoll_wait(ep, evs, 256, ms);
		if (nev < 0 && errno != EINTR)
			fail(70, "epoll_wait: %s", strerror(errno));
		for (k = 0; k < nev; k++) {
			i = (int)evs[k].data.u32;
			if (conns[i].state == C_IDLE) {
				closed += idle_event(ep, i);
				continue;
			}
			if (step(ep, i, evs[k].events)) {
				answered++;
				inflight--;
			}
		}
	}
	opened = now();
	printf("open %d %.3f\n", n, opened - start);
	fflush(stdout);

	hold_end = opened + hold;
	while (!stop && (ms = (int)((hold_end - now()) * 1000)) > 0) {
		nev = epoll_wait(ep, evs, 256, ms);
		if (nev < 0 && errno != EINTR)
			fail(70, "epoll_wait: %s", strerror(errno));
		for (k = 0; k < nev; k++)
			if (conns[evs[k].data.u32].state == C_IDLE)
				closed += idle_event(ep, (int)evs[k].data.u32);
	}
	printf("held %d\n", n - closed);
	fflush(stdout);
	for (i = 0; i < nconns; i++)
		if (conns[i].fd >= 0 && conns[i].state != C_UNUSED)
			close(conns[i].fd);
	freeaddrinfo(ai);
	return 0;
}
