/*
 * soak.c - mixed traffic at a fixed rate against a running asterd, with a
 * reload every RELOAD seconds and a sample of asterd's memory and file
 * descriptors every minute.
 *
 *     soak -P PID -a PUBLIC -i INTERNAL -s SOCKET -c ASTERCTL -d CONFDIR
 *          [-t SECONDS] [-r RATE] [-R RELOAD] [-k KEYS] [-H SLOWHDR]
 *          [-L SLOWREAD] [-l LOG]
 *
 * PUBLIC and INTERNAL are listener addresses as asterd prints them
 * (127.0.0.1:PORT, [::1]:PORT). First KEYS state keys (soak/k0...) are
 * PUT once, so that every later GET finds its key. Then, for SECONDS, an
 * open loop sends RATE requests a second (due times fixed from the start,
 * whatever the answers take) on keep-alive connections, opening more
 * when all are busy (up to MAX_CONNS per listener), in this mix:
 *
 *   health    30 %  GET /gateway/v1/health                    200
 *   notfound  15 %  GET /soak/none/N                          404
 *   badkey    10 %  GET /gateway/v1/whoami, a made-up API key 401 or 429
 *   get       25 %  GET /gateway/v1/internal/state/soak/kN    200
 *   put       20 %  PUT /gateway/v1/internal/state/soak/kN    200
 *
 * (429: asterd throttles failed credentials per client address.) Beside
 * them, SLOWHDR connections send GET /gateway/v1/health a byte every
 * DRIP_MS, and SLOWREAD connections ask for /gateway/v1/openapi.json with
 * a small receive buffer and read it SLOW_READ_BYTES at a time every
 * DRIP_MS; both expect 200 and start over when answered. Every RELOAD
 * seconds the module file CONFDIR/modules/soak-extra.yaml is written or
 * removed (in turn) and `ASTERCTL -s SOCKET reload` runs; its exit status
 * must be 0.
 *
 * A request fails on a transport error (connect, reset, close before the
 * whole answer, no answer within TIMEOUT_MS or SLOW_TIMEOUT_MS), a 5xx, or
 * a status not expected for its kind. A request due while every allowed
 * connection is busy is not sent and counted as "behind" (the rate was not
 * held).
 *
 * Prints, each minute and at the end:
 *   minute M rss_kib R fds F clients C sent S failed X transport T
 *          status5xx U unexpected W behind B reloads L reload_failed Q
 *          max_ms Z
 * (counts of that minute; R and F sampled from /proc/PID at its end, C
 * the connections this program had open to asterd then),
 * then per kind "kind NAME sent N 2xx A 4xx B 5xx C transport D
 * unexpected E", then "total sent N failed F behind B reloads L
 * reload_failed Q max_ms Z" (Z, like the minutes' Z, the slowest answer
 * outside the slow clients). The first failures are described on stderr,
 * and the output of asterctl goes to LOG (default /dev/null).
 *
 * Exits 0 when it ran to the end (the verdict is bench/soak.sh's), 1 when
 * asterd exited or the setup failed, 64 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 512           /* per listener */
#define TIMEOUT_MS 10000
#define SLOW_TIMEOUT_MS 30000
#define IDLE_REUSE_MS 20000     /* older idle connections are closed */
#define DRIP_MS 50
#define SLOW_READ_BYTES 256
#define HEAD_MAX 16384
#define MAX_FAILURE_NOTES 20

extern char **environ;

enum kind { K_HEALTH, K_NOTFOUND, K_BADKEY, K_GET, K_PUT, K_SLOWHDR,
            K_SLOWREAD, K_NKINDS };

static const char *const kind_name[K_NKINDS] = {
	"health", "notfound", "badkey", "get", "put", "slowhdr", "slowread",
};

/* Out of 100. */
static const int kind_weight[K_SLOWHDR] = {30, 15, 10, 25, 20};

enum cstate { C_FREE, C_CONNECTING, C_SENDING, C_DRIPPING, C_READING,
              C_IDLE };

struct conn {
	int fd;
	int internal;           /* on the internal listener */
	enum cstate state;
	enum kind kind;
	int slow;               /* a slow client's connection: never pooled */
	uint64_t started;       /* request start, ms */
	uint64_t last;          /* last use, ms */
	uint64_t next_drip;
	char out[1024];
	size_t outlen, sent;
	char head[HEAD_MAX];
	size_t have;
	int head_done, status, close_after;
	long long body_left;    /* Content-Length left; -1 chunked; -2 EOF */
	long long chunk_left;   /* chunked: bytes of the chunk, -1 size line */
	int chunk_crlf;         /* chunked: CRLF after the data to skip */
	unsigned events;        /* what epoll watches for it */
};

struct counts {
	long sent, failed, transport, s5xx, unexpected, behind;
	long reloads, reload_failed;
	uint64_t max_ms;
};

static struct conn *conns;
static int nconns_max;
static int ep;
static struct sockaddr_storage addr[2];
static socklen_t addrlen[2];
static int busy[2], open_conns[2];
static struct counts minute, total;
static long by_kind[K_NKINDS][6];   /* sent 2xx 4xx 5xx transport unexp */
static int failure_notes;
static unsigned long seq;
static int nkeys = 200;
static volatile sig_atomic_t stop_flag;
static int ending;              /* the run is over: slow clients stop */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
usage(void)
{
	fprintf(stderr, "usage: soak -P PID -a PUBLIC -i INTERNAL -s SOCKET "
	        "-c ASTERCTL -d CONFDIR [-t SECONDS] [-r RATE] [-R RELOAD] "
	        "[-k KEYS] [-H SLOWHDR] [-L SLOWREAD] [-l LOG]\n");
	exit(64);
}

static long
number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max)
		usage();
	return v;
}

/* HOST:PORT or [HOST]:PORT into addr[i]. */
static int
parse_address(const char *arg, int i)
{
	char host[256];
	const char *port;
	struct addrinfo hints, *res;
	size_t n;

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		n = (size_t)(close - arg - 1);
		port = close + 2;
		arg++;
	} else {
		port = strrchr(arg, ':');
		if (port == NULL)
			return -1;
		n = (size_t)(port - arg);
		port++;
	}
	if (n >= sizeof(host))
		return -1;
	memcpy(host, arg, n);
	host[n] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	memcpy(&addr[i], res->ai_addr, res->ai_addrlen);
	addrlen[i] = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void
note_failure(const struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (failure_notes++ >= MAX_FAILURE_NOTES)
		return;
	fprintf(stderr, "soak: %s failed: ", kind_name[c->kind]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
expected(enum kind k, int status)
{
	switch (k) {
	case K_NOTFOUND:
		return status == 404;
	case K_BADKEY:
		return status == 401 || status == 429;
	default:
		return status == 200;
	}
}

/* --- connections ----------------------------------------------------- */

/* Level-triggered epoll: a connection waits for output only while it has
 * some to send, and a slow reader for nothing (its reads are timed). */
static void
watch(struct conn *c, unsigned events)
{
	struct epoll_event ev;

	if (c->fd < 0 || c->events == events)
		return;
	ev.events = events;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = events;
}

static void
watch_input(struct conn *c)
{
	watch(c, c->kind == K_SLOWREAD ? 0 : EPOLLIN | EPOLLRDHUP);
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		struct linger lg = {1, 0};

		/* A reset: no TIME_WAIT piles up over the run. */
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c->fd);
		open_conns[c->internal]--;
	}
	if (c->state != C_IDLE && c->state != C_FREE && !c->slow)
		busy[c->internal]--;
	c->fd = -1;
	c->state = C_FREE;
}

static int
conn_open(struct conn *c, int internal, int rcvbuf)
{
	int fd = socket(addr[internal].ss_family,
	                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	struct epoll_event ev;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (connect(fd, (struct sockaddr *)&addr[internal],
	            addrlen[internal]) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return -1;
	}
	c->events = ev.events;
	c->fd = fd;
	c->internal = internal;
	c->state = C_CONNECTING;
	open_conns[internal]++;
	return 0;
}

/* The request of kind k into c->out. */
static void
build_request(struct conn *c, enum kind k)
{
	unsigned long n = seq++;
	const char *host = "Host: soak\r\nUser-Agent: asterd-soak\r\n";
	int len = 0;

	switch (k) {
	case K_HEALTH:
	case K_SLOWHDR:
		len = snprintf(c->out, sizeof(c->out), "GET /gateway/v1/health "
		               "HTTP/1.1\r\n%s\r\n", host);
		break;
	case K_NOTFOUND:
		len = snprintf(c->out, sizeof(c->out), "GET /soak/none/%lu "
		               "HTTP/1.1\r\n%s\r\n", n, host);
		break;
	case K_BADKEY:
		len = snprintf(c->out, sizeof(c->out), "GET /gateway/v1/whoami "
		               "HTTP/1.1\r\n%sAuthorization: Bearer aster_%016lx_"
		               "soakSOAKsoakSOAKsoakSOAKsoakSOAKsoakSOAKsoa\r\n\r\n",
		               host, 0x5000000000000000ul + n);
		break;
	case K_GET:
		len = snprintf(c->out, sizeof(c->out), "GET /gateway/v1/internal/"
		               "state/soak/k%lu HTTP/1.1\r\n%s\r\n",
		               n % (unsigned long)nkeys, host);
		break;
	case K_PUT: {
		char body[128];
		int blen = snprintf(body, sizeof(body), "{\"n\":%lu,\"pad\":"
		                    "\"soak soak soak soak soak soak\"}", n);

		len = snprintf(c->out, sizeof(c->out), "PUT /gateway/v1/internal/"
		               "state/soak/k%lu HTTP/1.1\r\n%sContent-Type: "
		               "application/json\r\nContent-Length: %d\r\n\r\n%s",
		               n % (unsigned long)nkeys, host, blen, body);
		break;
	}
	case K_SLOWREAD:
		len = snprintf(c->out, sizeof(c->out), "GET /gateway/v1/openapi.json"
		               " HTTP/1.1\r\n%s\r\n", host);
		break;
	default:
		break;
	}
	c->kind = k;
	c->outlen = (size_t)len;
	c->sent = 0;
	c->have = 0;
	c->head_done = 0;
	c->status = 0;
	c->close_after = 0;
	c->started = now_ms();
	c->next_drip = c->started;
}

static void
count_sent(enum kind k)
{
	minute.sent++;
	total.sent++;
	by_kind[k][0]++;
}

/* A request ended: failed (why != NULL, or a bad status) or answered. */
static void
finish(struct conn *c, const char *why)
{
	uint64_t took = now_ms() - c->started;
	int failed = 0;

	/* The slowest answer to the rate's requests (slow clients take
	 * seconds by design). */
	if (!c->slow && took > minute.max_ms)
		minute.max_ms = took;
	if (!c->slow && took > total.max_ms)
		total.max_ms = took;
	if (why != NULL) {
		minute.transport++;
		total.transport++;
		by_kind[c->kind][4]++;
		note_failure(c, "%s after %llu ms", why,
		             (unsigned long long)took);
		failed = 1;
	} else {
		int cls = c->status / 100;

		if (cls == 2)
			by_kind[c->kind][1]++;
		else if (cls == 4)
			by_kind[c->kind][2]++;
		else if (cls == 5)
			by_kind[c->kind][3]++;
		if (cls == 5) {
			minute.s5xx++;
			total.s5xx++;
			note_failure(c, "status %d", c->status);
			failed = 1;
		} else if (!expected(c->kind, c->status)) {
			minute.unexpected++;
			total.unexpected++;
			by_kind[c->kind][5]++;
			note_failure(c, "unexpected status %d", c->status);
			failed = 1;
		}
	}
	if (failed) {
		minute.failed++;
		total.failed++;
	}
}

static const char *
find_header(const char *head, const char *name)
{
	size_t n = strlen(name);
	const char *p = strstr(head, "\r\n");

	while (p != NULL && p[2] != '\r') {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
		p = strstr(p, "\r\n");
	}
	return NULL;
}

/* Parses a complete head (NUL-terminated in c->head). */
static int
parse_head(struct conn *c)
{
	const char *v;

	if (strncmp(c->head, "HTTP/1.", 7) != 0 || c->head[8] != ' ')
		return -1;
	c->status = atoi(c->head + 9);
	if (c->status < 100 || c->status > 599)
		return -1;
	v = find_header(c->head, "Connection");
	c->close_after = v != NULL && strncasecmp(v, "close", 5) == 0;
	if ((v = find_header(c->head, "Transfer-Encoding")) != NULL &&
	    strncasecmp(v, "chunked", 7) == 0) {
		c->body_left = -1;
		c->chunk_left = -1;
		c->chunk_crlf = 0;
	} else if ((v = find_header(c->head, "Content-Length")) != NULL) {
		c->body_left = atoll(v);
	} else if (c->status == 204 || c->status == 304) {
		c->body_left = 0;
	} else {
		c->body_left = -2;
		c->close_after = 1;
	}
	return 0;
}

/*
 * Consumes n body bytes at p (a chunked body's framing included). 1 when
 * the body is complete, 0 when more is needed, -1 on a framing error.
 */
static int
body_bytes(struct conn *c, const char *p, size_t n)
{
	if (c->body_left >= 0) {
		c->body_left -= (long long)n;
		return c->body_left <= 0;
	}
	if (c->body_left == -2)
		return 0;
	/* Chunked: the size lines are kept in head (the head is done). */
	while (n > 0) {
		if (c->chunk_crlf > 0) {
			c->chunk_crlf--;
			p++;
			n--;
		} else if (c->chunk_left > 0) {
			size_t take = n < (size_t)c->chunk_left ? n :
			              (size_t)c->chunk_left;

			c->chunk_left -= (long long)take;
			p += take;
			n -= take;
			if (c->chunk_left == 0)
				c->chunk_crlf = 2;
		} else {
			char *nl;

			if (c->have + 1 >= sizeof(c->head))
				return -1;
			c->head[c->have++] = *p++;
			n--;
			c->head[c->have] = '\0';
			if ((nl = strstr(c->head, "\r\n")) == NULL)
				continue;
			if (c->chunk_left == -3) {      /* trailer lines */
				if (nl == c->head)
					return 1;
				c->have = 0;
				continue;
			}
			c->chunk_left = strtoll(c->head, NULL, 16);
			c->have = 0;
			if (c->chunk_left == 0)
				c->chunk_left = -3;
		}
	}
	return 0;
}

static void
release(struct conn *c)
{
	c->state = C_IDLE;
	c->last = now_ms();
	busy[c->internal]--;
}

static void start_slow(struct conn *c, enum kind k);

/* The response is complete: count it, then reuse or close. */
static void
answered(struct conn *c)
{
	finish(c, NULL);
	if (c->slow && !ending) {
		enum kind k = c->kind;

		if (c->close_after)
			conn_close(c);
		start_slow(c, k);
		return;
	}
	if (c->slow) {
		conn_close(c);
		return;
	}
	if (c->close_after)
		conn_close(c);
	else
		release(c);
}

static void
fail_conn(struct conn *c, const char *why)
{
	int slow = c->slow;
	enum kind k = c->kind;

	finish(c, why);
	conn_close(c);
	if (slow && !ending)
		start_slow(c, k);
}

/* Reads what is there (a slow reader: one small read). */
static void
on_readable(struct conn *c)
{
	char buf[16384];
	size_t max = c->kind == K_SLOWREAD ? SLOW_READ_BYTES : sizeof(buf);

	for (;;) {
		ssize_t n = recv(c->fd, buf, max, 0);
		size_t off = 0;
		int done;

		if (n == 0) {
			if (c->head_done && c->body_left == -2) {
				answered(c);
				return;
			}
			fail_conn(c, "connection closed before the answer ended");
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			fail_conn(c, strerror(errno));
			return;
		}
		if (!c->head_done) {
			char *end;
			size_t room = sizeof(c->head) - 1 - c->have;
			size_t take = (size_t)n < room ? (size_t)n : room;

			memcpy(c->head + c->have, buf, take);
			c->have += take;
			c->head[c->have] = '\0';
			end = strstr(c->head, "\r\n\r\n");
			if (end == NULL) {
				if (c->have == sizeof(c->head) - 1) {
					fail_conn(c, "response head too long");
					return;
				}
				if (c->kind == K_SLOWREAD)
					return;
				continue;
			}
			end[2] = '\0';
			if (parse_head(c) < 0) {
				fail_conn(c, "malformed response head");
				return;
			}
			off = take - (c->have - (size_t)(end + 4 - c->head));
			c->head_done = 1;
			c->have = 0;
			if (c->body_left == 0) {
				answered(c);
				return;
			}
		}
		done = body_bytes(c, buf + off, (size_t)n - off);
		if (done < 0) {
			fail_conn(c, "malformed chunked body");
			return;
		}
		if (done) {
			answered(c);
			return;
		}
		if (c->kind == K_SLOWREAD)
			return;
	}
}

static void
on_writable(struct conn *c)
{
	while (c->sent < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->sent, c->outlen - c->sent,
		                 MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			watch(c, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
			return;
		}
		if (n <= 0) {
			fail_conn(c, n < 0 ? strerror(errno) : "send failed");
			return;
		}
		c->sent += (size_t)n;
	}
	c->state = C_READING;
	watch_input(c);
}

static void
on_event(struct conn *c, unsigned events)
{
	if (c->state == C_IDLE) {
		/* The server closed a connection we were not using. */
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
			c->state = C_READING;   /* for conn_close's count */
			busy[c->internal]++;
			conn_close(c);
		}
		return;
	}
	if (c->state == C_CONNECTING && (events & (EPOLLOUT | EPOLLERR |
	                                           EPOLLHUP))) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			fail_conn(c, strerror(err));
			return;
		}
		c->state = c->kind == K_SLOWHDR ? C_DRIPPING : C_SENDING;
		if (c->state == C_DRIPPING)
			watch_input(c);
	}
	if (c->state == C_SENDING && (events & EPOLLOUT))
		on_writable(c);
	if (c->state == C_READING && c->kind != K_SLOWREAD &&
	    (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		on_readable(c);
}

/* --- scheduling -------------------------------------------------------- */

static struct conn *
idle_conn(int internal)
{
	uint64_t t = now_ms();
	int i;

	for (i = 0; i < nconns_max; i++) {
		struct conn *c = &conns[i];

		if (c->state != C_IDLE || c->internal != internal)
			continue;
		if (t - c->last > IDLE_REUSE_MS) {
			c->state = C_READING;
			busy[internal]++;
			conn_close(c);
			continue;
		}
		return c;
	}
	return NULL;
}

static struct conn *
free_conn(void)
{
	int i;

	for (i = 0; i < nconns_max; i++)
		if (conns[i].state == C_FREE && !conns[i].slow)
			return &conns[i];
	return NULL;
}

static enum kind
pick_kind(unsigned long n)
{
	/* A fixed, well-mixed sequence: n * 37 mod 100 visits every value. */
	int r = (int)((n * 37u) % 100u), k;

	for (k = 0; k < K_SLOWHDR; k++) {
		if (r < kind_weight[k])
			return (enum kind)k;
		r -= kind_weight[k];
	}
	return K_HEALTH;
}

static void
send_one(unsigned long n)
{
	enum kind k = pick_kind(n);
	int internal = k == K_GET || k == K_PUT;
	struct conn *c = idle_conn(internal);

	if (c == NULL) {
		if (open_conns[internal] >= MAX_CONNS ||
		    (c = free_conn()) == NULL) {
			minute.behind++;
			total.behind++;
			return;
		}
		if (conn_open(c, internal, 0) < 0) {
			c->kind = k;
			c->started = now_ms();
			count_sent(k);
			finish(c, "connect failed");
			c->fd = -1;
			c->state = C_FREE;
			return;
		}
		busy[internal]++;
		build_request(c, k);
		count_sent(k);
		return;                 /* sent once connected */
	}
	busy[internal]++;
	build_request(c, k);
	count_sent(k);
	c->state = C_SENDING;
	on_writable(c);
}

static void
start_slow(struct conn *c, enum kind k)
{
	c->slow = 1;
	if (c->fd < 0 && conn_open(c, 0, k == K_SLOWREAD ? 4096 : 0) < 0) {
		c->kind = k;
		c->started = now_ms();
		count_sent(k);
		finish(c, "connect failed");
		c->state = C_FREE;
		return;
	}
	build_request(c, k);
	count_sent(k);
	if (c->state != C_CONNECTING)
		c->state = k == K_SLOWHDR ? C_DRIPPING : C_SENDING;
	if (c->state == C_SENDING)
		on_writable(c);
}

/* Slow clients' turns, and timeouts. */
static void
tick(uint64_t t)
{
	int i;

	for (i = 0; i < nconns_max; i++) {
		struct conn *c = &conns[i];
		uint64_t limit = c->slow ? SLOW_TIMEOUT_MS : TIMEOUT_MS;

		if (c->state == C_FREE || c->state == C_IDLE)
			continue;
		if (t > c->started && t - c->started > limit) {
			fail_conn(c, "no answer in time");
			continue;
		}
		if (t < c->next_drip)
			continue;
		if (c->state == C_DRIPPING) {
			ssize_t n = send(c->fd, c->out + c->sent, 1,
			                 MSG_NOSIGNAL);

			if (n < 0 && errno != EAGAIN) {
				fail_conn(c, strerror(errno));
				continue;
			}
			if (n == 1 && ++c->sent == c->outlen)
				c->state = C_READING;
			c->next_drip = t + DRIP_MS;
		} else if (c->state == C_READING && c->kind == K_SLOWREAD) {
			c->next_drip = t + DRIP_MS;
			on_readable(c);
		}
	}
}

/* --- reloads and samples ---------------------------------------------- */

static const char *asterctl, *control_socket, *confdir, *ctl_log =
    "/dev/null";
static pid_t reload_pid = -1;
static int reload_count;

static void
toggle_module(void)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/modules/soak-extra.yaml", confdir);
	if (reload_count % 2 == 1) {
		unlink(path);
		return;
	}
	f = fopen(path, "w");
	if (f == NULL)
		return;
	fprintf(f, "kind: module\nid: soakextra\ndisplayName: Soak extra\n"
	        "version: 1.0.0\nroutes:\n  - id: route:soakextra.get\n"
	        "    scope: public\n    methods: [GET]\n"
	        "    mountPath: /soak/extra\n"
	        "    handler: { respond: { status: 200, body: extra } }\n");
	fclose(f);
}

static void
start_reload(void)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = {(char *)asterctl, "-s", (char *)control_socket,
	                "reload", NULL};

	toggle_module();
	reload_count++;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, ctl_log,
	                                 O_WRONLY | O_APPEND | O_CREAT, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (posix_spawn(&reload_pid, asterctl, &fa, NULL, argv, environ) != 0) {
		reload_pid = -1;
		minute.reload_failed++;
		total.reload_failed++;
		fprintf(stderr, "soak: cannot run %s\n", asterctl);
	}
	posix_spawn_file_actions_destroy(&fa);
	minute.reloads++;
	total.reloads++;
}

static void
reap_reload(void)
{
	int st;

	if (reload_pid < 0 || waitpid(reload_pid, &st, WNOHANG) != reload_pid)
		return;
	reload_pid = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		minute.reload_failed++;
		total.reload_failed++;
		fprintf(stderr, "soak: reload %d: asterctl exit %d (see %s)\n",
		        reload_count, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
		        ctl_log);
	}
}

static long
rss_kib(pid_t pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static long
fd_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
print_minute(int m, pid_t pid)
{
	printf("minute %d rss_kib %ld fds %ld clients %d sent %ld failed %ld "
	       "transport %ld status5xx %ld unexpected %ld behind %ld "
	       "reloads %ld reload_failed %ld max_ms %llu\n", m, rss_kib(pid),
	       fd_count(pid), open_conns[0] + open_conns[1], minute.sent,
	       minute.failed, minute.transport,
	       minute.s5xx, minute.unexpected, minute.behind, minute.reloads,
	       minute.reload_failed, (unsigned long long)minute.max_ms);
	fflush(stdout);
	memset(&minute, 0, sizeof(minute));
}

/* --- set-up: the keys GETs read --------------------------------------- */

/* PUTs every key once on one blocking connection. */
static int
prefill(void)
{
	struct conn c;
	int i;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	for (i = 0; i < nkeys; i++) {
		if (c.fd < 0) {
			c.fd = socket(addr[1].ss_family, SOCK_STREAM | SOCK_CLOEXEC,
			              0);
			if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&addr[1],
			                        addrlen[1]) < 0) {
				perror("soak: prefill connect");
				return -1;
			}
		}
		seq = (unsigned long)i;
		build_request(&c, K_PUT);
		if (send(c.fd, c.out, c.outlen, MSG_NOSIGNAL) !=
		    (ssize_t)c.outlen) {
			perror("soak: prefill send");
			return -1;
		}
		for (;;) {
			char buf[4096];
			ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
			char *end;

			if (n <= 0) {
				fprintf(stderr, "soak: prefill: no answer\n");
				return -1;
			}
			if (c.have + (size_t)n >= sizeof(c.head))
				return -1;
			memcpy(c.head + c.have, buf, (size_t)n);
			c.have += (size_t)n;
			c.head[c.have] = '\0';
			if ((end = strstr(c.head, "\r\n\r\n")) == NULL)
				continue;
			end[2] = '\0';
			if (parse_head(&c) < 0 || c.body_left < 0 ||
			    c.have - (size_t)(end + 4 - c.head) <
			    (size_t)c.body_left)
				continue;
			break;
		}
		if (c.status != 200 && c.status != 201) {
			fprintf(stderr, "soak: prefill PUT k%d: status %d\n", i,
			        c.status);
			return -1;
		}
		if (c.close_after) {
			close(c.fd);
			c.fd = -1;
		}
	}
	if (c.fd >= 0)
		close(c.fd);
	seq = 0;
	return 0;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

int
main(int argc, char **argv)
{
	const char *pub = NULL, *internal = NULL;
	long seconds = 600, rate = 2000, reload_s = 30, slowhdr = 4,
	     slowread = 4;
	pid_t pid = 0;
	struct epoll_event evs[256];
	unsigned long issued = 0;
	uint64_t start, next_reload, next_minute, t;
	int opt, i, m = 0, rc = 0;

	while ((opt = getopt(argc, argv, "P:a:i:s:c:d:t:r:R:k:H:L:l:")) != -1) {
		switch (opt) {
		case 'P': pid = (pid_t)number(optarg, 1, 1 << 30); break;
		case 'a': pub = optarg; break;
		case 'i': internal = optarg; break;
		case 's': control_socket = optarg; break;
		case 'c': asterctl = optarg; break;
		case 'd': confdir = optarg; break;
		case 't': seconds = number(optarg, 1, 86400); break;
		case 'r': rate = number(optarg, 1, 100000); break;
		case 'R': reload_s = number(optarg, 1, 3600); break;
		case 'k': nkeys = (int)number(optarg, 1, 1000000); break;
		case 'H': slowhdr = number(optarg, 0, 64); break;
		case 'L': slowread = number(optarg, 0, 64); break;
		case 'l': ctl_log = optarg; break;
		default: usage();
		}
	}
	if (pid == 0 || pub == NULL || internal == NULL ||
	    control_socket == NULL || asterctl == NULL || confdir == NULL ||
	    optind != argc)
		usage();
	if (parse_address(pub, 0) < 0 || parse_address(internal, 1) < 0) {
		fprintf(stderr, "soak: bad address %s or %s\n", pub, internal);
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	nconns_max = 2 * MAX_CONNS + (int)(slowhdr + slowread);
	conns = calloc((size_t)nconns_max, sizeof(*conns));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (conns == NULL || ep < 0)
		return 1;
	for (i = 0; i < nconns_max; i++)
		conns[i].fd = -1;
	if (prefill() < 0)
		return 1;

	for (i = 0; i < slowhdr; i++)
		start_slow(&conns[2 * MAX_CONNS + i], K_SLOWHDR);
	for (i = 0; i < slowread; i++)
		start_slow(&conns[2 * MAX_CONNS + slowhdr + i], K_SLOWREAD);
	start = now_ms();
	next_reload = start + (uint64_t)reload_s * 1000u;
	next_minute = start + 60000u;
	while (!stop_flag) {
		uint64_t due;
		int n, wait;

		t = now_ms();
		if (t - start >= (uint64_t)seconds * 1000u)
			break;
		due = (t - start) * (uint64_t)rate / 1000u;
		while (issued < due)
			send_one(issued++);
		tick(t);
		reap_reload();
		if (t >= next_reload) {
			if (reload_pid < 0)
				start_reload();
			next_reload += (uint64_t)reload_s * 1000u;
		}
		if (t >= next_minute) {
			print_minute(++m, pid);
			next_minute += 60000u;
		}
		if (kill(pid, 0) < 0) {
			fprintf(stderr, "soak: asterd (pid %d) exited\n",
			        (int)pid);
			rc = 1;
			break;
		}
		wait = (int)((issued + 1) * 1000u / (uint64_t)rate -
		             (t - start));
		if (wait > DRIP_MS / 5)
			wait = DRIP_MS / 5;
		if (wait < 0)
			wait = 0;
		n = epoll_wait(ep, evs, 256, wait);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c->fd >= 0)
				on_event(c, evs[i].events);
		}
	}
	/* Requests still out, slow ones included, are given their time. */
	ending = 1;
	t = now_ms();
	while (rc == 0) {
		int pending = 0;

		for (i = 0; i < nconns_max; i++)
			if (conns[i].state != C_FREE &&
			    conns[i].state != C_IDLE)
				pending++;
		reap_reload();
		if ((pending == 0 && reload_pid < 0) ||
		    now_ms() - t > SLOW_TIMEOUT_MS)
			break;
		tick(now_ms());
		{
			int n = epoll_wait(ep, evs, 256, 10);

			for (i = 0; i < n; i++) {
				struct conn *c = evs[i].data.ptr;

				if (c->fd >= 0)
					on_event(c, evs[i].events);
			}
		}
	}
	if (minute.sent > 0 || m == 0)
		print_minute(++m, pid);
	for (i = 0; i < K_NKINDS; i++)
		printf("kind %s sent %ld 2xx %ld 4xx %ld 5xx %ld transport %ld "
		       "unexpected %ld\n", kind_name[i], by_kind[i][0],
		       by_kind[i][1], by_kind[i][2], by_kind[i][3],
		       by_kind[i][4], by_kind[i][5]);
	printf("total sent %ld failed %ld behind %ld reloads %ld "
	       "reload_failed %ld max_ms %llu\n", total.sent, total.failed,
	       total.behind, total.reloads, total.reload_failed,
	       (unsigned long long)total.max_ms);
	for (i = 0; i < nconns_max; i++)
		if (conns[i].fd >= 0)
			conn_close(&conns[i]);
	return rc;
}
