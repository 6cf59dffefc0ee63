/*
 * server.c - the HTTP/1.1 server of server.h.
 *
 * One http_conn per accepted socket and one http_exchange per connection,
 * reused for every request on it: the parser's buffers and the response
 * header buffer outlive a request, so a keep-alive stream runs without
 * allocating. A connection serves one request at a time: the next one,
 * pipelined or not, is parsed only once the current response has been
 * written. That keeps responses in order and the exchange's strings valid
 * until on_complete has run; since a small response is usually written
 * at once (below), pipelined requests still run in one read callback.
 *
 * A connection is always in one of these states:
 *
 *   IDLE      no byte of a request yet; the idle deadline runs (close)
 *   READING   a request is arriving; the request deadline runs (408)
 *   HANDLING  the handler has the exchange; the handler deadline runs
 *             (504, see below), armed only when the handler returns
 *             without answering, so an answer given at once never
 *             touches the wheel
 *   WRITING   the response is on its way; if the socket did not take
 *             it whole, the rest is queued, and a write deadline renewed
 *             by every write that makes progress catches a client that
 *             stops reading
 *   LINGER    after an error response: our side is shut down and input is
 *             read and dropped for a moment, so that a client still
 *             sending its body reads the error instead of a reset
 *
 * A keep-alive request costs two system calls, one recv() and one
 * send(), and no libevent call: the connection has a plain read event
 * that stays added, and deadlines are timestamps. (A bufferevent asked
 * FIONREAD before every read, and re-arming a timer per request cost an
 * event_add() and an event_del().)
 *
 * Input: each readable event gets one recv() into the server's read
 * buffer, parsed at once; the parser copies what it keeps, so between
 * requests a connection holds no input buffer. Only bytes it cannot parse
 * yet - pipelined behind a request being handled, or arriving meanwhile -
 * are kept in the connection's own buffer, and reading pauses while that
 * holds READ_HIGH_WATER bytes. Reading goes on while a request is handled
 * so that a client that goes away is noticed.
 *
 * Output: a response goes out in one system call - copied into one piece
 * when small, else in one sendmsg() from where its parts lie - and only
 * what the socket does not take is queued in the connection's evbuffer,
 * with a write event added until the queue is empty. (Queuing everything
 * would cost two epoll_ctl() calls per response and a copy.) on_complete
 * never runs inside http_respond(): a response written at once is
 * completed by conn_process() when the handler returns, or, answered
 * later, from the server's "soon" event in the same loop turn (an
 * orphan's, from a one-off event).
 *
 * Deadlines: each connection has at most one, a monotonic time in
 * milliseconds on a timing wheel of TICK_MS slots that one periodic event
 * per server sweeps; a timeout fires up to one tick late. Moving a
 * deadline within its slot is a store, and clearing one is lazy (the sweep
 * unlinks it), so a keep-alive stream touches the wheel a few times a
 * second per connection. "Now" is read once per callback of ours, as
 * libevent reads it once per loop turn for its own timers.
 *
 * A client that goes away while the handler has the exchange leaves it
 * "orphaned": detached from the connection (which is freed), kept on the
 * server's orphan list, and finished by http_respond().
 *
 * A handler that has not answered request_timeout_ms after the request
 * arrived whole is answered for: 504 gateway-timeout through the error
 * hook, on the same exchange (its request, data and access line are the
 * request's). The handler still holds the exchange (ex->held) and will
 * answer it, late; until then the exchange keeps its request and data,
 * so it is never recycled: once the 504 is written it becomes an orphan
 * and the connection, kept alive, gets a new exchange (the only
 * allocation, on this rare path). The late answer is dropped and frees
 * the orphan; its data is released only then, after the access line.
 *
 * Handlers may call anything here from any callback, http_server_free()
 * included: our own callbacks count themselves in s->depth, and a free
 * while one is on the stack waits until it unwinds.
 */
#include "http/server.h"

#include <sys/queue.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event_struct.h>
#include <event2/listener.h>

#include "http/parse.h"
#include "http/problem.h"
#include "http/readpool.h"
#include "http/tls.h"

#define DEFAULT_MAX_HEADER  16384
/* One recv() takes at most this much: a request head or two, and bodies
 * in pieces the parser copies. */
#define READ_BUF            (32 * 1024)
/* Input kept while a request is handled: enough for a few pipelined
 * requests, and reading goes on (so a disconnect is noticed) until it is
 * full. */
#define READ_HIGH_WATER     (64 * 1024)
#define KEEP_MIN            4096
#define LINGER_MS           2000
#define ACCEPT_RETRY_MS     100
/* The wheel: 512 slots of 100 ms turn in 51.2 s; a later deadline stays
 * on its slot for more turns. */
#define TICK_MS             100
#define WHEEL_SLOTS         512
#define PEER_LEN            (INET6_ADDRSTRLEN + 2)
/* Body chains of an evbuffer sent straight away; more are queued. */
#define MAX_BODY_IOV        8
/* A response up to this size is copied into one piece and sent with
 * send(): the kernel's copy of each iovec piece has a fixed cost larger
 * than that of copying a few hundred bytes here (measured: the status
 * line, handler fields, framing and body of a small answer cost some
 * 0.1 us more as four pieces), and send() has no msghdr to copy in. */
#define FLAT_MAX            2048
/* TLS: a response up to one record's worth is written from the stack;
 * queued output is written a record at a time. */
#define TLS_RECORD          16384
/* File bodies (FILES below): one sendfile() moves at most FILE_BURST, so
 * that a fast download lets the other connections have their turn; a TLS
 * connection reads FILE_CHUNK at a time, with FILE_READERS threads per
 * server to read them. */
#define FILE_BURST          (1024 * 1024)
#define FILE_CHUNK          (64 * 1024)
#define FILE_READERS        2

enum conn_state {
	CONN_IDLE,
	CONN_READING,
	CONN_HANDLING,
	CONN_WRITING,
	CONN_LINGER,
};

struct http_exchange {
	struct http_conn *conn;         /* NULL once orphaned */
	struct http_server *server;     /* NULL once the server is freed */
	struct event_base *base;
	struct http_request req;
	uint64_t started_us;
	char peer[PEER_LEN];

	char *rhdr;                     /* "Name: value\r\n" added so far */
	size_t rhdr_len;
	size_t rhdr_cap;
	int status;
	size_t bytes_sent;
	unsigned responded:1;
	unsigned close:1;               /* close after this response */
	unsigned failed:1;              /* the server's own error: linger */
	unsigned counted:1;             /* in s->in_flight */
	unsigned head:1;                /* a HEAD request */
	unsigned held:1;                /* dispatched: the handler owes an
	                                   answer */
	unsigned timed_out:1;           /* the server answered 504 for it */

	void *data;
	void (*release)(void *data);
	void (*done)(struct http_exchange *ex, void *arg);
	void *done_arg;

	TAILQ_ENTRY(http_exchange) orphan_link;
};

struct http_conn {
	struct http_server *server;
	struct http_exchange *ex;
	evutil_socket_t fd;
	enum conn_state state;
	struct event rev;               /* EV_READ | EV_PERSIST */
	struct event *wev;              /* made when output is first queued */
	struct evbuffer *out;           /* what the socket did not take */

	/* Input read and not parsed yet: in[off..len). */
	char *in;
	size_t in_off;
	size_t in_len;
	size_t in_cap;
	/* The rest of what this callback read into the server's buffer. */
	const char *rd;
	size_t rd_len;

	uint64_t deadline;              /* monotonic ms; 0: none */
	unsigned slot;                  /* of the wheel, while on it */
	unsigned on_wheel:1;
	unsigned soon:1;                /* on s->soon */
	unsigned reading:1;             /* rev is added */
	unsigned writing:1;             /* wev is added */
	unsigned full:1;                /* reading paused at the high water */
	unsigned peer_eof:1;            /* the client sent FIN */
	unsigned in_process:1;          /* conn_process() is on the stack */
	unsigned written:1;             /* the response is out: complete it */
	unsigned broken:1;              /* a send failed: close */
	/* TLS only (tls != NULL): see TLS below. */
	unsigned tls_rw:1;              /* a read waits for POLLOUT */
	unsigned tls_wr:1;              /* a write waits for POLLIN */
	unsigned tls_up:1;              /* the handshake is done */
	unsigned more:1;                /* send with MSG_MORE: a file follows */
	struct ssl_st *tls;
	struct conn_file *file;         /* a file body still to send */
	LIST_ENTRY(http_conn) wheel_link;
	LIST_ENTRY(http_conn) soon_link;
	TAILQ_ENTRY(http_conn) link;
};

TAILQ_HEAD(conn_list, http_conn);
LIST_HEAD(conn_slot, http_conn);
TAILQ_HEAD(exchange_list, http_exchange);

struct http_server {
	struct event_base *base;
	struct evconnlistener *listener;    /* NULL once draining */
	struct event *retry;                /* accepting again after EMFILE */
	struct event *tick;                 /* sweeps the wheel */
	struct event *soon_ev;              /* made active for s->soon */
	struct http_limits limits;
	unsigned first_ms;                  /* a new connection's first byte */
	unsigned write_ms;                  /* a queued response's progress;
	                                       also a TLS handshake's time */
	struct ssl_ctx_st *tls;             /* for new connections, or NULL */
	struct readpool *readers;           /* TLS file reads; made on use */
	http_handler_fn handler;
	http_error_fn on_error;
	void *arg;
	struct conn_list conns;
	struct exchange_list orphans;
	/* Written at once outside conn_process(), or broken: finished in
	 * this loop turn, outside of the caller's stack. */
	struct conn_slot soon;
	struct conn_slot wheel[WHEEL_SLOTS];
	uint64_t wheel_tick;                /* first tick not fully swept */
	size_t nwheel;                      /* connections on the wheel */
	char *rbuf;                         /* READ_BUF bytes */
	size_t nconns;
	size_t in_flight;
	uint64_t now_us;                    /* valid while now_fresh */
	unsigned depth;                     /* our callbacks on the stack */
	unsigned draining:1;
	unsigned dying:1;                   /* http_server_free() was called */
	unsigned accepting:1;               /* the listener is enabled */
	unsigned backoff:1;                 /* accept failed: waiting */
	unsigned ticking:1;                 /* tick is added */
	unsigned now_fresh:1;
	time_t date_sec;
	char date[48];                      /* "Date: ...\r\n" */
	size_t date_len;
};

static void conn_process(struct http_conn *c);
static void conn_close(struct http_conn *c);
static void conn_fail(struct http_conn *c, int status, const char *code,
                      const char *detail);

/* --- small helpers ----------------------------------------------------- */

/*
 * Monotonic microseconds. Inside one of our callbacks the clock is read
 * once, and every request and deadline of the callback takes that time;
 * outside (a handler answering from its own event) it is read afresh.
 */
static uint64_t
server_now(struct http_server *s)
{
	struct timespec ts;

	if (s->now_fresh)
		return s->now_us;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->now_us = (uint64_t)ts.tv_sec * 1000000u +
	    (uint64_t)ts.tv_nsec / 1000u;
	s->now_fresh = s->depth > 0;
	return s->now_us;
}

/* Writes v in decimal at p; returns the end. */
static char *
put_uint(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static char *
put_str(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

#define PUT_LIT(p, lit) put_str((p), (lit), sizeof(lit) - 1)

static char *
put_2digits(char *p, int v)
{
	*p++ = (char)('0' + v / 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

/*
 * The Date field line, formatted once a second: locale-free (strftime's
 * names follow LC_TIME) and cheap on the request path.
 */
static const char *
server_date(struct http_server *s, size_t *len)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct timeval tv;
	struct tm tm;
	char *p = s->date;

	event_base_gettimeofday_cached(s->base, &tv);
	if (tv.tv_sec != s->date_sec && gmtime_r(&tv.tv_sec, &tm) != NULL) {
		p = PUT_LIT(p, "Date: ");
		p = put_str(p, days + 3 * tm.tm_wday, 3);
		p = PUT_LIT(p, ", ");
		p = put_2digits(p, tm.tm_mday);
		*p++ = ' ';
		p = put_str(p, months + 3 * tm.tm_mon, 3);
		*p++ = ' ';
		p = put_uint(p, (uint64_t)tm.tm_year + 1900);
		*p++ = ' ';
		p = put_2digits(p, tm.tm_hour);
		*p++ = ':';
		p = put_2digits(p, tm.tm_min);
		*p++ = ':';
		p = put_2digits(p, tm.tm_sec);
		p = PUT_LIT(p, " GMT\r\n");
		s->date_len = (size_t)(p - s->date);
		s->date_sec = tv.tv_sec;
	}
	*len = s->date_len;
	return s->date;
}

static void
peer_text(const struct sockaddr *sa, char *out)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	switch (sa->sa_family) {
	case AF_INET:
		if (inet_ntop(AF_INET, &sin->sin_addr, out, PEER_LEN) == NULL)
			strcpy(out, "?");
		break;
	case AF_INET6:
		out[0] = '[';
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, out + 1,
		              PEER_LEN - 2) == NULL)
			strcpy(out + 1, "?");
		strcat(out, "]");
		break;
	default:
		strcpy(out, "unix");
		break;
	}
}

/* --- the listener ------------------------------------------------------ */

/* Accepts while there is room, no drain, no backoff; pausing leaves new
 * connections in the kernel's backlog. */
static void
listener_update(struct http_server *s)
{
	int want;

	if (s->listener == NULL)
		return;
	want = !s->draining && !s->dying && !s->backoff &&
	    (s->limits.max_connections == 0 ||
	     s->nconns < s->limits.max_connections);
	if (want && !s->accepting) {
		if (evconnlistener_enable(s->listener) == 0)
			s->accepting = 1;
	} else if (!want && s->accepting) {
		if (evconnlistener_disable(s->listener) == 0)
			s->accepting = 0;
	}
}

static void server_destroy(struct http_server *s);

static void
server_leave(struct http_server *s)
{
	if (--s->depth > 0)
		return;
	s->now_fresh = 0;
	if (s->dying)
		server_destroy(s);
}

/* --- exchanges --------------------------------------------------------- */

static struct http_exchange *
exchange_new(struct http_server *s)
{
	struct http_exchange *ex = calloc(1, sizeof(*ex));

	if (ex == NULL)
		return NULL;
	ex->server = s;
	ex->base = s->base;
	http_request_init(&ex->req);
	return ex;
}

static void
exchange_free(struct http_exchange *ex)
{
	if (ex->release != NULL)
		ex->release(ex->data);
	http_request_free(&ex->req);
	free(ex->rhdr);
	free(ex);
}

/*
 * The response has been written, or never will be: counters first, then
 * the access log (done) and the data's release, which waits for the
 * handler's answer when the server answered for it (504). Runs again for
 * the release then (done does not). Touches neither the server nor the
 * connection after done, which may free either.
 */
static void
exchange_complete(struct http_exchange *ex)
{
	void (*done)(struct http_exchange *, void *) = ex->done;
	void (*release)(void *);
	void *data;

	if (ex->counted) {
		ex->counted = 0;
		if (ex->server != NULL)
			ex->server->in_flight--;
	}
	ex->done = NULL;
	if (done != NULL)
		done(ex, ex->done_arg);
	/* Timed out: the handler still uses its data until it answers. */
	if (ex->held)
		return;
	release = ex->release;
	data = ex->data;
	ex->release = NULL;
	ex->data = NULL;
	if (release != NULL)
		release(data);
}

/* Ready for the connection's next request. */
static void
exchange_recycle(struct http_exchange *ex)
{
	ex->rhdr_len = 0;
	ex->status = 0;
	ex->bytes_sent = 0;
	ex->responded = 0;
	ex->close = 0;
	ex->failed = 0;
	ex->head = 0;
	ex->timed_out = 0;
	ex->done_arg = NULL;
}

static void
orphan_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_exchange *ex = arg;

	(void)fd;
	(void)what;
	exchange_complete(ex);
	exchange_free(ex);
}

/*
 * An orphan has been answered: nobody is left to write to. It leaves the
 * server's books now (the server may be freed before the next turn) and
 * is completed in the next loop turn, like any exchange: never inside
 * http_respond(), whose caller may still use what on_complete releases.
 */
static void
orphan_finish(struct http_exchange *ex)
{
	struct timeval now = { 0, 0 };

	if (ex->server != NULL) {
		TAILQ_REMOVE(&ex->server->orphans, ex, orphan_link);
		if (ex->counted)
			ex->server->in_flight--;
		ex->counted = 0;
		ex->server = NULL;
	}
	if (event_base_once(ex->base, -1, EV_TIMEOUT, orphan_done_cb, ex,
	                    &now) == -1)
		orphan_done_cb(-1, 0, ex);
}

/* --- deadlines --------------------------------------------------------- */

/*
 * Gives c the deadline ms from now, or none for 0. Clearing only zeroes
 * the time: the sweep unlinks the connection, unless a new deadline in
 * the same slot came first, which is the keep-alive case (idle, then
 * none while a request runs, then idle again a few microseconds later).
 */
static void
conn_deadline(struct http_conn *c, unsigned ms)
{
	struct http_server *s = c->server;
	struct timeval tv = { 0, TICK_MS * 1000 };
	uint64_t now, at;
	unsigned slot;

	if (ms == 0) {
		c->deadline = 0;
		return;
	}
	now = server_now(s) / 1000u;
	at = now + ms;
	slot = (unsigned)(at / TICK_MS % WHEEL_SLOTS);
	c->deadline = at;
	if (c->on_wheel && c->slot == slot)
		return;
	if (c->on_wheel) {
		LIST_REMOVE(c, wheel_link);
	} else {
		c->on_wheel = 1;
		s->nwheel++;
	}
	c->slot = slot;
	LIST_INSERT_HEAD(&s->wheel[slot], c, wheel_link);
	if (!s->ticking && evtimer_add(s->tick, &tv) == 0) {
		s->ticking = 1;
		s->wheel_tick = now / TICK_MS;
	}
}

static void
wheel_unlink(struct http_conn *c)
{
	if (!c->on_wheel)
		return;
	LIST_REMOVE(c, wheel_link);
	c->on_wheel = 0;
	c->server->nwheel--;
}

/*
 * The handler has not answered in time: the error hook answers 504 in
 * its place (see the top), and the connection goes on as after any
 * answer. The request was read whole, so the stream is still framed and
 * a keep-alive connection stays open.
 */
static void
handler_timeout(struct http_conn *c)
{
	struct http_server *s = c->server;
	struct http_exchange *ex = c->ex;
	char detail[96];

	snprintf(detail, sizeof(detail), "the request was not answered "
	         "within %u ms", s->limits.request_timeout_ms);
	s->on_error(ex, 504, "gateway-timeout", detail, s->arg);
	if (!ex->responded && !s->dying)
		problem_send(ex, 504, "gateway-timeout", detail, NULL);
	/* That answer was the server's: the handler still owes its own
	 * (respond() completes nothing, so nothing has run meanwhile). */
	if (ex->responded) {
		ex->timed_out = 1;
		ex->held = 1;
	}
}

/* c's deadline has passed. */
static void
conn_expire(struct http_conn *c)
{
	switch (c->state) {
	case CONN_READING:
		conn_fail(c, 408, "request-timeout",
		          "request not complete in time");
		break;
	case CONN_HANDLING:
		handler_timeout(c);
		break;
	default:
		/* idle, lingering, or a client that stopped reading */
		conn_close(c);
		break;
	}
}

/*
 * Every TICK_MS: the slots from the first one not fully swept to the
 * current one (swept again next time: it may hold deadlines still to
 * come). A slot also holds deadlines of later turns of the wheel, which
 * stay. Expiring runs callbacks that may close other connections of the
 * slot, so it is taken off whole and each connection put back or expired
 * in turn.
 */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *s = arg;
	struct conn_slot due, *slot;
	struct http_conn *c;
	uint64_t now, cur, t, n;

	(void)fd;
	(void)what;
	s->depth++;
	now = server_now(s) / 1000u;
	cur = now / TICK_MS;
	n = cur >= s->wheel_tick ? cur - s->wheel_tick + 1 : 1;
	if (n > WHEEL_SLOTS)
		n = WHEEL_SLOTS;
	for (t = cur + 1 - n; t <= cur; t++) {
		slot = &s->wheel[t % WHEEL_SLOTS];
		LIST_INIT(&due);
		if ((c = LIST_FIRST(slot)) != NULL) {
			due.lh_first = c;
			c->wheel_link.le_prev = &due.lh_first;
			LIST_INIT(slot);
		}
		while ((c = LIST_FIRST(&due)) != NULL) {
			LIST_REMOVE(c, wheel_link);
			if (s->dying || c->deadline > now) {
				LIST_INSERT_HEAD(slot, c, wheel_link);
				continue;
			}
			c->on_wheel = 0;
			s->nwheel--;
			if (c->deadline != 0) {
				c->deadline = 0;
				conn_expire(c);
			}
		}
	}
	s->wheel_tick = cur;
	if (s->nwheel == 0 && !s->dying) {
		event_del(s->tick);
		s->ticking = 0;
	}
	server_leave(s);
}

/* --- connections ------------------------------------------------------- */

/* Has the soon event finish c in this loop turn, outside of the caller's
 * stack: a handler may be deep in its own work. */
static void
conn_soon(struct http_conn *c)
{
	struct http_server *s = c->server;

	if (c->soon)
		return;
	if (LIST_EMPTY(&s->soon))
		event_active(s->soon_ev, EV_TIMEOUT, 1);
	LIST_INSERT_HEAD(&s->soon, c, soon_link);
	c->soon = 1;
}

static void tls_events(struct http_conn *c);

/* Reads input (or not). For TLS, reading is what the server wants, and
 * tls_events() decides what the socket waits for. */
static void
conn_reading(struct http_conn *c, int on)
{
	if (c->tls != NULL) {
		c->reading = on != 0;
		tls_events(c);
		return;
	}
	if (on && !c->reading) {
		if (event_add(&c->rev, NULL) == 0)
			c->reading = 1;
	} else if (!on && c->reading) {
		event_del(&c->rev);
		c->reading = 0;
	}
}

/* Drops the input kept. */
static void
conn_in_free(struct http_conn *c)
{
	free(c->in);
	c->in = NULL;
	c->in_off = c->in_len = c->in_cap = 0;
}

/* Room at the end of c->in for more input (compacted, grown up to
 * READ_HIGH_WATER); 0 when out of memory. */
static size_t
conn_in_room(struct http_conn *c)
{
	size_t cap;
	char *p;

	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	if (c->in_len == c->in_cap && c->in_cap < READ_HIGH_WATER) {
		cap = c->in_cap == 0 ? KEEP_MIN : c->in_cap * 2;
		if ((p = realloc(c->in, cap)) == NULL)
			return 0;
		c->in = p;
		c->in_cap = cap;
	}
	return c->in_cap - c->in_len;
}

/* Keeps the rest of what was read (c->in is empty then): -1 when out of
 * memory. */
static int
conn_keep(struct http_conn *c)
{
	size_t cap = KEEP_MIN;
	char *p;

	while (cap < c->rd_len)
		cap *= 2;
	if (cap > c->in_cap) {
		if ((p = realloc(c->in, cap)) == NULL)
			return -1;
		c->in = p;
		c->in_cap = cap;
	}
	memcpy(c->in, c->rd, c->rd_len);
	c->in_off = 0;
	c->in_len = c->rd_len;
	c->rd_len = 0;
	return 0;
}

/* The queue of output, made on first use; NULL when out of memory. */
static struct evbuffer *
conn_out(struct http_conn *c)
{
	if (c->out == NULL)
		c->out = evbuffer_new();
	return c->out;
}

static int
conn_queued(const struct http_conn *c)
{
	return c->out != NULL && evbuffer_get_length(c->out) > 0;
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg);
static void tls_write_cb(evutil_socket_t fd, short what, void *arg);

/* The write event, made on first use; NULL when out of memory. */
static struct event *
conn_wev(struct http_conn *c)
{
	if (c->wev == NULL)
		c->wev = event_new(c->server->base, c->fd,
		                   EV_WRITE | EV_PERSIST, c->tls != NULL ?
		                   tls_write_cb : conn_write_cb, c);
	return c->wev;
}

/*
 * Output is queued: the write event writes it as the socket takes it. A
 * response (not a 100 Continue while the request arrives) gets the write
 * deadline, renewed by each call. Returns -1 when out of memory, and c is
 * broken then.
 */
static int
conn_want_write(struct http_conn *c)
{
	struct http_server *s = c->server;

	if (conn_wev(c) == NULL ||
	    (c->tls == NULL && !c->writing &&
	     event_add(c->wev, NULL) == -1)) {
		c->broken = 1;
		conn_soon(c);
		return -1;
	}
	if (c->tls != NULL)
		tls_events(c);
	else
		c->writing = 1;
	if (c->state == CONN_WRITING)
		conn_deadline(c, s->write_ms);
	return 0;
}

/*
 * Sends iov[0..n) after whatever output is still queued: straight to the
 * socket when nothing is (as one piece when small, see FLAT_MAX), and
 * what the socket does not take is queued. Returns 1 when everything
 * went out. A failed send marks the connection
 * broken and has the soon event close it.
 */
static int tls_send(struct http_conn *c, struct iovec *iov, size_t n);

static int
conn_send(struct http_conn *c, struct iovec *iov, size_t n)
{
	char flat[FLAT_MAX];
	struct evbuffer *out;
	struct iovec one;
	struct msghdr msg;
	ssize_t w = 0;
	size_t i, off, total = 0;
	int flags = MSG_NOSIGNAL | (c->more ? MSG_MORE : 0);

	if (c->tls != NULL)
		return tls_send(c, iov, n);
	if (c->broken) {
		conn_soon(c);
		return 0;
	}
	if (!conn_queued(c)) {
		for (i = 0; i < n; i++)
			total += iov[i].iov_len;
		if (n > 1 && total <= sizeof(flat)) {
			for (i = 0, off = 0; i < n; i++) {
				memcpy(flat + off, iov[i].iov_base,
				       iov[i].iov_len);
				off += iov[i].iov_len;
			}
			one.iov_base = flat;
			one.iov_len = total;
			iov = &one;
			n = 1;
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = n;
		do
			w = n == 1 ? send(c->fd, iov->iov_base, iov->iov_len,
			                  flags) :
			    sendmsg(c->fd, &msg, flags);
		while (w == -1 && errno == EINTR);
		if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
			c->broken = 1;
			conn_soon(c);
			return 0;
		}
		if (w == -1)
			w = 0;
	}
	for (i = 0; i < n; i++) {
		off = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
		w -= (ssize_t)off;
		if (off == iov[i].iov_len)
			continue;
		if ((out = conn_out(c)) == NULL ||
		    evbuffer_add(out, (char *)iov[i].iov_base + off,
		                 iov[i].iov_len - off) == -1) {
			c->broken = 1;
			conn_soon(c);
			return 0;
		}
	}
	if (!conn_queued(c))
		return 1;
	conn_want_write(c);
	return 0;
}

static void
request_begin(struct http_conn *c)
{
	struct http_server *s = c->server;

	conn_deadline(c, 0);
	http_request_reset(&c->ex->req, s->limits.max_header_bytes,
	                   s->limits.max_body_bytes);
	c->ex->started_us = server_now(s);
	c->state = CONN_READING;
}

static void
conn_dispatch(struct http_conn *c)
{
	struct http_server *s = c->server;
	struct http_exchange *ex = c->ex;

	conn_deadline(c, 0);
	c->state = CONN_HANDLING;
	ex->counted = 1;
	s->in_flight++;
	ex->head = strcmp(ex->req.method, "HEAD") == 0;
	ex->close = !ex->req.keep_alive;
	ex->held = 1;
	s->handler(ex, s->arg);
	/* Not answered at once: the handler deadline, from the arrival
	 * (now was read when this callback began). */
	if (c->state == CONN_HANDLING && !s->dying)
		conn_deadline(c, s->limits.request_timeout_ms);
}

/*
 * An error the server found itself: answered through the error hook, and
 * the connection closes after it (the rest of the input cannot be framed,
 * or the client is too slow to keep).
 */
static void
conn_fail(struct http_conn *c, int status, const char *code,
          const char *detail)
{
	struct http_server *s = c->server;
	struct http_exchange *ex = c->ex;

	conn_deadline(c, 0);
	conn_reading(c, 0);
	c->full = 0;
	conn_in_free(c);
	c->rd_len = 0;
	c->state = CONN_HANDLING;
	ex->counted = 1;
	s->in_flight++;
	ex->head = ex->req.method != NULL &&
	    strcmp(ex->req.method, "HEAD") == 0;
	ex->close = 1;
	ex->failed = 1;
	s->on_error(ex, status, code, detail, s->arg);
	/* The hook must answer at once; one that did not gets the default. */
	if (!ex->responded && !s->dying)
		problem_send(ex, status, code, detail, NULL);
}

static void
send_continue(struct http_conn *c)
{
	static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct iovec iov = { (void *)line, sizeof(line) - 1 };

	conn_send(c, &iov, 1);
}

static void conn_linger(struct http_conn *c);

/*
 * The 504 is out and the handler still holds c's exchange: the exchange
 * is left to it as an orphan (its late answer frees it), and c gets a
 * new one. -1 when out of memory (c keeps the old one then, and closing
 * c orphans it).
 */
static int
conn_leave_exchange(struct http_conn *c)
{
	struct http_server *s = c->server;
	struct http_exchange *old = c->ex, *ex = exchange_new(s);

	if (ex == NULL)
		return -1;
	memcpy(ex->peer, old->peer, sizeof(ex->peer));
	ex->conn = c;
	old->conn = NULL;
	TAILQ_INSERT_TAIL(&s->orphans, old, orphan_link);
	c->ex = ex;
	return 0;
}

/*
 * The response is out: completes the exchange and readies the connection
 * for the next request. Returns 1 if it waits for one, 0 if it closed (c
 * is gone), lingers, or the server is being freed.
 */
static int
response_done(struct http_conn *c)
{
	struct http_server *s = c->server;
	struct http_exchange *ex = c->ex;

	c->written = 0;
	exchange_complete(ex);
	if (s->dying)
		return 0;
	if (ex->failed) {
		conn_linger(c);
		return 0;
	}
	/* After complete: its callback may have started a drain. */
	if (ex->close || s->draining) {
		conn_close(c);
		return 0;
	}
	if (ex->held && conn_leave_exchange(c) == -1) {
		conn_close(c);
		return 0;
	}
	ex = c->ex;
	exchange_recycle(ex);
	c->state = CONN_IDLE;
	conn_deadline(c, s->limits.idle_timeout_ms);
	return 1;
}

/*
 * Parses what has arrived, as long as the connection waits for a request:
 * first the input kept from before, then what this callback read (c->rd);
 * dispatches a complete request, answers a broken one. What cannot be
 * parsed yet is kept.
 */
static void
conn_process(struct http_conn *c)
{
	struct http_server *s = c->server;
	struct http_request *r = &c->ex->req;
	enum http_parse_result res;
	const char *p;
	size_t n, used;
	int kept;

	c->in_process = 1;
	while (!s->dying) {
		/* answered at once by the handler */
		if (c->state == CONN_WRITING && c->written) {
			c->in_process = 0;
			if (!response_done(c))
				return;
			c->in_process = 1;
		}
		if (c->state != CONN_IDLE && c->state != CONN_READING)
			break;
		if ((kept = c->in_off < c->in_len)) {
			p = c->in + c->in_off;
			n = c->in_len - c->in_off;
		} else if (c->rd_len > 0) {
			p = c->rd;
			n = c->rd_len;
		} else {
			break;
		}
		if (c->state == CONN_IDLE)
			request_begin(c);
		res = http_request_parse(r, p, n, &used);
		if (!kept) {
			c->rd += used;
			c->rd_len -= used;
		} else if ((c->in_off += used) == c->in_len) {
			conn_in_free(c);
		}
		switch (res) {
		case HTTP_PARSE_MORE:
			break;
		case HTTP_PARSE_HEAD:
			if (r->expect_continue)
				send_continue(c);
			break;
		case HTTP_PARSE_DONE:
			conn_dispatch(c);
			break;
		case HTTP_PARSE_ERROR:
			conn_fail(c, r->status, r->code, r->detail);
			break;
		}
	}
	c->in_process = 0;
	if (s->dying)
		return;
	/* The server's buffer is read into again by the next callback. */
	if (c->rd_len > 0 && conn_keep(c) == -1) {
		conn_close(c);
		return;
	}
	if (c->full && c->in_len - c->in_off < READ_HIGH_WATER) {
		c->full = 0;
		conn_reading(c, 1);
	}
	if (c->state == CONN_READING) {
		if (c->peer_eof)
			conn_close(c);
		else if (c->deadline == 0)
			conn_deadline(c, s->limits.request_timeout_ms);
	} else if (c->state == CONN_IDLE && c->peer_eof) {
		conn_close(c);
	}
}

/* After an error response: see LINGER at the top. */
static void
conn_linger(struct http_conn *c)
{
	if (c->peer_eof) {
		conn_close(c);
		return;
	}
	c->state = CONN_LINGER;
	if (c->tls != NULL)
		tls_conn_shutdown(c->tls);
	shutdown(c->fd, SHUT_WR);
	conn_in_free(c);
	conn_reading(c, 1);
	conn_deadline(c, LINGER_MS);
}

/*
 * Where the next read goes: the server's buffer when the connection can
 * parse it at once (returns 1), else the end of the input it keeps (0).
 * *room is 0 when out of memory.
 */
static inline int
conn_read_into(struct http_conn *c, char **buf, size_t *room)
{
	if (c->in_off == c->in_len && (c->state == CONN_IDLE ||
	    c->state == CONN_READING || c->state == CONN_LINGER)) {
		*buf = c->server->rbuf;
		*room = READ_BUF;
		return 1;
	}
	*room = conn_in_room(c);
	*buf = c->in + c->in_len;
	return 0;
}

/*
 * What a read brought: n bytes at buf (see conn_read_into()), 0 at the
 * end of input, -1 on an error. A client that has sent everything and
 * shut its side down may still read the response being written; any
 * other end of input closes.
 */
static inline void
conn_input(struct http_conn *c, char *buf, ssize_t n, int direct)
{
	if (n == 0 && c->state == CONN_WRITING) {
		c->peer_eof = 1;
		conn_reading(c, 0);
	} else if (n <= 0) {
		conn_close(c);
	} else if (c->state == CONN_LINGER) {
		/* dropped */
	} else if (direct) {
		c->rd = buf;
		c->rd_len = (size_t)n;
		conn_process(c);
	} else {
		c->in_len += (size_t)n;
		if (c->in_len - c->in_off >= READ_HIGH_WATER) {
			c->full = 1;
			conn_reading(c, 0);
		}
		conn_process(c);
	}
}

/* One recv() per readable event, handled by conn_input(). */
static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	struct http_server *s = c->server;
	char *buf;
	size_t room;
	ssize_t n;
	int direct;

	(void)what;
	direct = conn_read_into(c, &buf, &room);
	n = -1;
	errno = ENOMEM;
	if (room > 0) {
		do
			n = recv(fd, buf, room, 0);
		while (n == -1 && errno == EINTR);
	}
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	s->depth++;
	conn_input(c, buf, n, direct);
	server_leave(s);
}

static ssize_t file_sendfile(struct http_conn *c);

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	struct http_server *s = c->server;
	ssize_t n = 0, m = 0;

	(void)what;
	s->depth++;
	if (conn_queued(c))
		n = evbuffer_write(c->out, fd);
	/* A file body follows the head (and whatever was queued). */
	if (n != -1 && !conn_queued(c) && c->file != NULL)
		m = file_sendfile(c);
	if ((n == -1 || m == -1) && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR) {
		conn_close(c);
	} else if (conn_queued(c) || c->file != NULL) {
		if ((n > 0 || m > 0) && c->state == CONN_WRITING)
			conn_deadline(c, s->write_ms);
	} else {
		/* The queued rest is out: the next response goes straight
		 * to the socket again. */
		event_del(c->wev);
		c->writing = 0;
		/* Also called once a 100 Continue is out: nothing to do
		 * then. */
		if (c->state == CONN_WRITING && response_done(c))
			conn_process(c);
	}
	server_leave(s);
}

/* Finishes the connections of s->soon: a broken one closes, a response
 * written at once outside conn_process() is completed. */
static void
soon_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *s = arg;
	struct conn_slot due;
	struct http_conn *c;

	(void)fd;
	(void)what;
	s->depth++;
	/* Taken off whole: finishing one may close another. */
	LIST_INIT(&due);
	if ((c = LIST_FIRST(&s->soon)) != NULL) {
		due.lh_first = c;
		c->soon_link.le_prev = &due.lh_first;
		LIST_INIT(&s->soon);
	}
	while ((c = LIST_FIRST(&due)) != NULL) {
		LIST_REMOVE(c, soon_link);
		c->soon = 0;
		if (s->dying)
			continue;
		if (c->broken)
			conn_close(c);
		else if (c->state == CONN_WRITING && c->written &&
		    response_done(c))
			conn_process(c);
	}
	server_leave(s);
}

/* --- TLS ---------------------------------------------------------------- */

/*
 * A TLS connection (c->tls) runs the same states as a plain one, with
 * OpenSSL between the socket and the buffers (tls.h), and callbacks of
 * its own, so that the plain path never asks whether it is TLS but in
 * conn_send(). The handshake needs no state: the first reads do it, while
 * the connection is IDLE with the write deadline (the request timeout)
 * instead of the idle one, and a client that sends garbage fails it and
 * is closed.
 *
 * Reading: one SSL_read per readable event, at most one record, through
 * conn_input() like a recv(). What OpenSSL decrypted and the read did
 * not take lies in the connection, and the socket will not say so: the
 * read event is made active by hand while tls_conn_pending() says so.
 *
 * Writing: output is written record by record, from the stack when a
 * response fits in one, else from the queue (c->out); a write that must
 * be repeated is repeated from the queue, which then begins with the
 * same bytes (moving buffer, tls.h).
 *
 * Either may wait for the other readiness of the socket (a read wanting
 * to write a handshake message, a write waiting for one): c->tls_rw and
 * c->tls_wr say so, and tls_events() derives the events to wait for from
 * them, c->reading (the server wants input) and the queue. The callback
 * that finds the other direction waiting runs that one instead.
 */

/* Adds and removes c's events to match what it waits for; an active
 * read event for decrypted input left over. */
static void
tls_events(struct http_conn *c)
{
	int r = (c->reading && !c->tls_rw) || c->tls_wr;
	int w = (conn_queued(c) && !c->tls_wr) || c->tls_rw;
	int radded = event_pending(&c->rev, EV_READ, NULL) != 0;

	if (r && !radded)
		event_add(&c->rev, NULL);
	else if (!r && radded)
		event_del(&c->rev);
	if (r && c->reading && tls_conn_pending(c->tls) > 0)
		event_active(&c->rev, EV_READ, 1);
	if (w && !c->writing && conn_wev(c) != NULL &&
	    event_add(c->wev, NULL) == 0)
		c->writing = 1;
	else if (!w && c->writing) {
		event_del(c->wev);
		c->writing = 0;
	}
}

/* The wait that io (of a call that moved nothing) asks for: read wants
 * write or write wants read; a plain want needs no change. */
static void
tls_wait(struct http_conn *c, enum tls_io io, int reading)
{
	if (reading && io == TLS_IO_WANT_WRITE)
		c->tls_rw = 1;
	else if (!reading && io == TLS_IO_WANT_READ)
		c->tls_wr = 1;
	else
		return;
	tls_events(c);
}

/* Writes the queue a record at a time until it is empty or the socket
 * is full. Returns the bytes written, or -1 when the connection broke;
 * *io is the state of the last write. */
static ssize_t
tls_flush(struct http_conn *c, enum tls_io *io)
{
	unsigned char *p;
	size_t len, w;
	ssize_t total = 0;

	*io = TLS_IO_DONE;
	while (c->out != NULL && (len = evbuffer_get_length(c->out)) > 0) {
		if (len > TLS_RECORD)
			len = TLS_RECORD;
		if ((p = evbuffer_pullup(c->out, (ssize_t)len)) == NULL)
			return -1;
		if ((w = tls_conn_write(c->tls, p, len, io)) == 0)
			break;
		evbuffer_drain(c->out, w);
		total += (ssize_t)w;
	}
	if (*io == TLS_IO_ERROR || *io == TLS_IO_EOF)
		return -1;
	if (*io == TLS_IO_WANT_READ)
		tls_wait(c, *io, 0);
	return total;
}

/* conn_send() for TLS: returns 1 when everything went out. */
static int
tls_send(struct http_conn *c, struct iovec *iov, size_t n)
{
	char flat[TLS_RECORD];
	struct evbuffer *out;
	enum tls_io io = TLS_IO_DONE;
	size_t i, off = 0, total = 0, w = 0;

	if (c->broken)
		goto broken;
	for (i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (!conn_queued(c) && total <= sizeof(flat)) {
		for (i = 0; i < n; i++) {
			memcpy(flat + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		if (total > 0)
			w = tls_conn_write(c->tls, flat, total, &io);
		if (w == total)
			return 1;
		if (w == 0 && (io == TLS_IO_ERROR || io == TLS_IO_EOF))
			goto broken;
		if ((out = conn_out(c)) == NULL ||
		    evbuffer_add(out, flat + w, total - w) == -1)
			goto broken;
		if (w == 0)
			tls_wait(c, io, 0);
	} else {
		if ((out = conn_out(c)) == NULL)
			goto broken;
		for (i = 0; i < n; i++)
			if (evbuffer_add(out, iov[i].iov_base,
			                 iov[i].iov_len) == -1)
				goto broken;
		if (tls_flush(c, &io) == -1)
			goto broken;
	}
	if (!conn_queued(c))
		return 1;
	conn_want_write(c);
	return 0;
broken:
	c->broken = 1;
	conn_soon(c);
	return 0;
}

static int tls_file_feed(struct http_conn *c);

/*
 * Writes the queue, feeding it from a file body as it drains (FILES).
 * Returns 1 when everything is out, 0 when the socket or a read is
 * waited for, -1 when the connection broke.
 */
static int
tls_pump(struct http_conn *c)
{
	struct http_server *s = c->server;
	enum tls_io io;
	ssize_t n, total = 0;
	int fed = 0;

	/* Round again while a chunk is fed, up to FILE_BURST: the chunk
	 * fed last stays queued, so the write event comes back for it. */
	for (;;) {
		if ((n = tls_flush(c, &io)) == -1)
			return -1;
		total += n;
		if (c->file == NULL || (fed = tls_file_feed(c)) <= 0 ||
		    total >= FILE_BURST)
			break;
	}
	if (fed == -1)
		return -1;
	tls_events(c);
	if (!conn_queued(c) && c->file == NULL)
		return 1;
	if (total > 0 && c->state == CONN_WRITING)
		conn_deadline(c, s->write_ms);
	return 0;
}

/* The queue can be written (conn_write_cb() for TLS), or a file body's
 * chunk has been read. */
static void
tls_output(struct http_conn *c)
{
	switch (tls_pump(c)) {
	case -1:
		conn_close(c);
		break;
	case 1:
		if (c->state == CONN_WRITING && response_done(c))
			conn_process(c);
		break;
	}
}

/* The socket is readable (conn_read_cb() for TLS). */
static void
tls_input(struct http_conn *c)
{
	struct http_server *s = c->server;
	enum tls_io io = TLS_IO_ERROR;
	char *buf;
	size_t room, n = 0;
	int direct;

	direct = conn_read_into(c, &buf, &room);
	if (room > 0)
		n = tls_conn_read(c->tls, buf, room, &io);
	if (!c->tls_up && tls_conn_established(c->tls)) {
		c->tls_up = 1;
		if (c->state == CONN_IDLE)
			conn_deadline(c, s->first_ms);
	}
	switch (io) {
	case TLS_IO_DONE:
		if (c->reading && tls_conn_pending(c->tls) > 0)
			event_active(&c->rev, EV_READ, 1);
		conn_input(c, buf, (ssize_t)n, direct);
		break;
	case TLS_IO_WANT_READ:
		break;
	case TLS_IO_WANT_WRITE:
		tls_wait(c, io, 1);
		break;
	case TLS_IO_EOF:
		conn_input(c, buf, 0, direct);
		break;
	case TLS_IO_ERROR:
		conn_close(c);
		break;
	}
}

static void
tls_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	struct http_server *s = c->server;

	/* Our close_notify is sent: what comes is dropped unread. */
	if (c->state == CONN_LINGER && !c->tls_wr) {
		conn_read_cb(fd, what, arg);
		return;
	}
	s->depth++;
	if (c->tls_wr) {
		c->tls_wr = 0;
		tls_events(c);
		tls_output(c);
	} else {
		tls_input(c);
	}
	server_leave(s);
}

static void
tls_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	struct http_server *s = c->server;

	(void)fd;
	(void)what;
	s->depth++;
	if (c->tls_rw) {
		c->tls_rw = 0;
		tls_events(c);
		tls_input(c);
	} else {
		tls_output(c);
	}
	server_leave(s);
}

/* --- files --------------------------------------------------------------- */

/*
 * A file body (http_respond_file()) is sent from its descriptor as the
 * socket takes it, so a response holds the same memory whatever the
 * file's size, and a client that reads slowly or not at all holds it
 * back instead of making the server buffer the file.
 *
 * A file that fits in one record behind its head and is cached goes out
 * with it in one piece (send_small_file()), plain or TLS. Otherwise:
 *
 * Plain connections: the head goes out with MSG_MORE, so that the first
 * bytes of the file join it in a segment, then sendfile() moves the file
 * from the page cache to the socket without a copy through the process,
 * on write readiness, FILE_BURST at a time (as nginx does). Only a page that
 * is not cached makes sendfile() wait for the disk inside the kernel, on
 * the loop's thread, as with nginx without aio; no mmap(), so a file
 * truncated meanwhile is not a SIGBUS but a short sendfile(), which
 * closes the connection (the promised length cannot be kept).
 *
 * TLS connections must encrypt what they send, so the file is read, in
 * FILE_CHUNK pieces, and never so that the loop could wait for the disk:
 * the loop asks with preadv2(RWF_NOWAIT), which copies what the page
 * cache holds and fails at once with EAGAIN for what it does not, and
 * only then are the server's reader threads (readpool.h) asked to read
 * the chunk. Most chunks are cached, and a thread's round trip (two
 * context switches and an eventfd) would cost a small file some 15% of
 * its requests per second. A chunk read is copied into the output queue
 * once that has drained to one record, and the next is read at once. A
 * connection holds at most a chunk in the queue and one in its buffer;
 * the head waits in the queue for the first chunk, so a small file takes
 * one record if it was not cached. A connection that closes while a
 * thread reads for it leaves its file to the read's completion, which
 * frees it.
 */
struct conn_file {
	struct http_conn *conn;     /* NULL: the connection is gone */
	int fd;
	off_t off;                  /* the next byte to send (TLS: read) */
	size_t left;                /* bytes from off still to send (read) */
	/* TLS */
	char *buf;                  /* FILE_CHUNK bytes, made on first use */
	size_t ready;               /* read into buf, not queued yet */
	unsigned reading:1;         /* job is with the readers */
	unsigned no_nowait:1;       /* the file system has no RWF_NOWAIT */
	struct readpool_job job;
};

static void
file_free(struct conn_file *f)
{
	close(f->fd);
	free(f->buf);
	free(f);
}

/* The connection closes: the file goes now, or with its read. */
static void
file_drop(struct http_conn *c)
{
	struct conn_file *f = c->file;

	c->file = NULL;
	if (f->reading)
		f->conn = NULL;
	else
		file_free(f);
}

/* The body is all sent (plain) or queued (TLS). */
static void
file_finish(struct http_conn *c)
{
	file_free(c->file);
	c->file = NULL;
}

/*
 * Plain: one sendfile() of at most FILE_BURST. Returns the bytes sent
 * (the file is closed once they are all out), or -1 with errno: EAGAIN
 * when the socket is full, EIO when the file came up short.
 */
static ssize_t
file_sendfile(struct http_conn *c)
{
	struct conn_file *f = c->file;
	size_t want = f->left < FILE_BURST ? f->left : FILE_BURST;
	ssize_t n;

	do
		n = sendfile(c->fd, f->fd, &f->off, want);
	while (n == -1 && errno == EINTR);
	if (n == 0) {
		errno = EIO;
		return -1;
	}
	if (n > 0 && (f->left -= (size_t)n) == 0)
		file_finish(c);
	return n;
}

static void file_read_done(struct readpool_job *job, void *arg);

/*
 * TLS: what the page cache holds of the next chunk, without waiting:
 * the bytes read (then ready), or 0 when none is cached or the call
 * cannot say, so that the readers read it and judge the end of the file
 * or an error.
 */
static ssize_t
file_read_cached(struct conn_file *f, size_t want)
{
	struct iovec v = { f->buf, want };
	ssize_t n;

	if (f->no_nowait)
		return 0;
	do
		n = preadv2(f->fd, &v, 1, f->off, RWF_NOWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno != EAGAIN)
		f->no_nowait = 1;       /* EOPNOTSUPP: not on this file */
	if (n <= 0)
		return 0;
	f->ready = (size_t)n;
	f->off += n;
	f->left -= (size_t)n;
	return n;
}

/* TLS: reads the next chunk from the page cache or has the readers read
 * it; -1 when neither can. */
static int
file_read_start(struct http_conn *c)
{
	struct http_server *s = c->server;
	struct conn_file *f = c->file;
	size_t want = f->left < FILE_CHUNK ? f->left : FILE_CHUNK;

	/* A file smaller than a chunk gets a buffer of its size. */
	if (f->buf == NULL && (f->buf = malloc(want)) == NULL)
		return -1;
	if (file_read_cached(f, want) > 0)
		return 0;
	if (s->readers == NULL &&
	    (s->readers = readpool_new(s->base, FILE_READERS)) == NULL)
		return -1;
	f->job.fd = f->fd;
	f->job.offset = f->off;
	f->job.buf = f->buf;
	f->job.len = want;
	f->job.done = file_read_done;
	f->job.arg = f;
	if (readpool_submit(s->readers, &f->job) == -1)
		return -1;
	f->reading = 1;
	return 0;
}

/*
 * TLS: queues the chunk read once the queue is down to a record, and
 * starts reading the next; the file is closed once its last chunk is
 * queued. Returns 1 when bytes were queued, 0 when not, -1 on failure.
 */
static int
tls_file_feed(struct http_conn *c)
{
	struct conn_file *f = c->file;
	struct evbuffer *out = conn_out(c);
	int fed = 0;

	if (out == NULL)
		return -1;
	/* Round again when a chunk came from the page cache at once. */
	for (;;) {
		if (f->ready > 0 && evbuffer_get_length(out) <= TLS_RECORD) {
			if (evbuffer_add(out, f->buf, f->ready) == -1)
				return -1;
			f->ready = 0;
			fed = 1;
		}
		if (f->ready > 0 || f->reading)
			return fed;
		if (f->left == 0) {
			file_finish(c);
			return fed;
		}
		if (file_read_start(c) == -1)
			return -1;
	}
}

/* TLS: a chunk has been read (on the loop's thread). */
static void
file_read_done(struct readpool_job *job, void *arg)
{
	struct conn_file *f = arg;
	struct http_conn *c = f->conn;
	struct http_server *s;

	f->reading = 0;
	if (c == NULL) {
		file_free(f);
		return;
	}
	s = c->server;
	s->depth++;
	if (job->result != (ssize_t)job->len) {
		/* An error, or a file cut short: the length promised
		 * cannot be kept. */
		conn_close(c);
	} else {
		f->ready = job->len;
		f->off += (off_t)job->len;
		f->left -= job->len;
		tls_output(c);
	}
	server_leave(s);
}

/*
 * A head and a file that fit in one TLS record, the file cached: read
 * behind the head on the stack without waiting and sent as one piece,
 * as a small buffer body is; one read and one send, where sendfile()
 * would cost a small file some 10% more CPU. Returns 1 or 0 as
 * conn_send(), or -1 when the file is not all cached (nothing was sent
 * then).
 */
static int
send_small_file(struct http_conn *c, struct iovec *iov, size_t n, int fd,
                off_t off, size_t len)
{
	char flat[TLS_RECORD];
	struct iovec one, v;
	size_t i, head = 0;
	ssize_t r;

	for (i = 0; i < n; i++)
		head += iov[i].iov_len;
	if (conn_queued(c) || head + len > sizeof(flat))
		return -1;
	v.iov_base = flat + head;
	v.iov_len = len;
	do
		r = preadv2(fd, &v, 1, off, RWF_NOWAIT);
	while (r == -1 && errno == EINTR);
	if (r != (ssize_t)len)
		return -1;
	for (i = 0, head = 0; i < n; i++) {
		memcpy(flat + head, iov[i].iov_base, iov[i].iov_len);
		head += iov[i].iov_len;
	}
	one.iov_base = flat;
	one.iov_len = head + len;
	return conn_send(c, &one, 1);
}

/*
 * Sends the head iov[0..n) and then len bytes of fd from off, taking fd.
 * Returns 1 when all went out at once, else 0: the write event or the
 * readers carry on, or c is broken.
 */
static int
send_file_response(struct http_conn *c, struct iovec *iov, size_t n, int fd,
                   off_t off, size_t len)
{
	struct conn_file *f;
	struct evbuffer *out;
	ssize_t w;
	size_t i;

	if (len == 0) {
		close(fd);
		return conn_send(c, iov, n);
	}
	if ((w = send_small_file(c, iov, n, fd, off, len)) != -1) {
		close(fd);
		return (int)w;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		close(fd);
		goto broken;
	}
	f->conn = c;
	f->fd = fd;
	f->off = off;
	f->left = len;
	c->file = f;
	if (c->tls != NULL) {
		if (c->broken || (out = conn_out(c)) == NULL)
			goto broken;
		for (i = 0; i < n; i++)
			if (evbuffer_add(out, iov[i].iov_base,
			                 iov[i].iov_len) == -1)
				goto broken;
		/* The deadline runs from here, also while a read is. */
		conn_deadline(c, c->server->write_ms);
		if ((w = tls_pump(c)) == -1)
			goto broken;
		return (int)w;
	}
	c->more = 1;
	w = conn_send(c, iov, n);
	c->more = 0;
	if (w == 0)
		return 0;       /* the write event sends the file after */
	w = file_sendfile(c);
	if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
		goto broken;
	if (c->file == NULL)
		return 1;
	conn_want_write(c);
	return 0;
broken:
	c->broken = 1;
	conn_soon(c);
	return 0;
}

/*
 * Frees c. An exchange the handler still holds is orphaned (also after
 * a 504 in its place, once completed); one whose response was being
 * written is completed (the connection died).
 */
static void
conn_close(struct http_conn *c)
{
	struct http_server *s = c->server;
	struct http_exchange *ex = c->ex;

	wheel_unlink(c);
	if (c->soon)
		LIST_REMOVE(c, soon_link);
	TAILQ_REMOVE(&s->conns, c, link);
	s->nconns--;
	event_del(&c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->out != NULL)
		evbuffer_free(c->out);
	if (c->file != NULL)
		file_drop(c);
	if (c->tls != NULL) {
		tls_conn_shutdown(c->tls);
		tls_conn_free(c->tls);
	}
	close(c->fd);
	free(c->in);
	ex->conn = NULL;
	if (c->state == CONN_WRITING)
		exchange_complete(ex);
	/* Handling, or answered for (504) and still held: the handler's
	 * answer finishes it. */
	if (ex->held)
		TAILQ_INSERT_TAIL(&s->orphans, ex, orphan_link);
	else
		exchange_free(ex);
	free(c);
	listener_update(s);
}

/* Takes fd (closed on failure). */
static struct http_conn *
conn_new(struct http_server *s, evutil_socket_t fd,
         const struct sockaddr *sa)
{
	struct http_conn *c = calloc(1, sizeof(*c));
	struct http_exchange *ex = exchange_new(s);
	int one = 1;

	if (c == NULL || ex == NULL ||
	    (s->tls != NULL && (c->tls = tls_conn_new(s->tls, fd)) == NULL) ||
	    event_assign(&c->rev, s->base, fd, EV_READ | EV_PERSIST,
	                 c->tls != NULL ? tls_read_cb : conn_read_cb, c) == -1 ||
	    event_add(&c->rev, NULL) == -1) {
		close(fd);
		goto fail;
	}
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		                 sizeof(one));
	peer_text(sa, ex->peer);
	c->server = s;
	c->ex = ex;
	c->fd = fd;
	c->reading = 1;
	c->state = CONN_IDLE;
	ex->conn = c;
	TAILQ_INSERT_TAIL(&s->conns, c, link);
	s->nconns++;
	/* TLS: the handshake must be done within the request timeout. */
	conn_deadline(c, c->tls != NULL ? s->write_ms : s->first_ms);
	return c;
fail:
	if (ex != NULL)
		exchange_free(ex);
	if (c != NULL && c->tls != NULL)
		tls_conn_free(c->tls);
	free(c);
	return NULL;
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
	struct http_server *s = arg;

	(void)l;
	(void)salen;
	s->depth++;
	conn_new(s, fd, sa);
	listener_update(s);
	server_leave(s);
}

/* EMFILE and the like: accept() would fail again at once and the
 * listener would spin, so it pauses for a moment. */
static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct http_server *s = arg;
	struct timeval tv = { 0, ACCEPT_RETRY_MS * 1000 };

	(void)l;
	s->backoff = 1;
	listener_update(s);
	evtimer_add(s->retry, &tv);
}

static void
accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *s = arg;

	(void)fd;
	(void)what;
	s->backoff = 0;
	listener_update(s);
}

/* --- the server -------------------------------------------------------- */

static void
default_error(struct http_exchange *ex, int status, const char *code,
              const char *detail, void *arg)
{
	(void)arg;
	problem_send(ex, status, code, detail, NULL);
}

/*
 * See server.h. max_header_bytes 0 means 16 KiB; request_timeout_ms,
 * idle_timeout_ms and max_connections 0 mean none. A new connection
 * waits idle_timeout_ms (else request_timeout_ms) for its first byte; a
 * response that makes no progress for request_timeout_ms (else
 * idle_timeout_ms) closes the connection. fd is closed on failure too.
 */
struct http_server *
http_server_new(struct event_base *base, int fd,
                const struct http_limits *limits, http_handler_fn handler,
                http_error_fn on_error, void *arg)
{
	struct http_server *s = calloc(1, sizeof(*s));
	size_t i;

	if (s == NULL || evutil_make_socket_nonblocking(fd) == -1)
		goto fail;
	s->base = base;
	s->handler = handler;
	s->on_error = on_error != NULL ? on_error : default_error;
	s->arg = arg;
	s->date_sec = (time_t)-1;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->orphans);
	LIST_INIT(&s->soon);
	for (i = 0; i < WHEEL_SLOTS; i++)
		LIST_INIT(&s->wheel[i]);
	http_server_set_limits(s, limits);
	if ((s->rbuf = malloc(READ_BUF)) == NULL ||
	    (s->retry = evtimer_new(base, accept_retry_cb, s)) == NULL ||
	    (s->tick = event_new(base, -1, EV_PERSIST, tick_cb, s)) == NULL ||
	    (s->soon_ev = event_new(base, -1, 0, soon_cb, s)) == NULL)
		goto fail;
	s->listener = evconnlistener_new(base, accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (s->listener == NULL)
		goto fail;
	evconnlistener_set_error_cb(s->listener, accept_error_cb);
	s->accepting = 1;
	listener_update(s);
	return s;
fail:
	close(fd);
	if (s != NULL) {
		if (s->retry != NULL)
			event_free(s->retry);
		if (s->tick != NULL)
			event_free(s->tick);
		if (s->soon_ev != NULL)
			event_free(s->soon_ev);
		free(s->rbuf);
	}
	free(s);
	return NULL;
}

/* See server.h. A lower max_connections pauses accepting at once; open
 * connections are never closed for it. Deadlines already set stay. */
void
http_server_set_limits(struct http_server *s, const struct http_limits *limits)
{
	s->limits = *limits;
	if (s->limits.max_header_bytes == 0)
		s->limits.max_header_bytes = DEFAULT_MAX_HEADER;
	s->first_ms = limits->idle_timeout_ms != 0 ?
	    limits->idle_timeout_ms : limits->request_timeout_ms;
	s->write_ms = limits->request_timeout_ms != 0 ?
	    limits->request_timeout_ms : limits->idle_timeout_ms;
	listener_update(s);
}

/* See server.h. */
void
http_server_set_tls(struct http_server *s, struct ssl_ctx_st *ctx)
{
	struct ssl_ctx_st *old = s->tls;

	s->tls = tls_context_ref(ctx);
	tls_context_free(old);
}

/* See server.h. Closes the listening socket at once. */
void
http_server_drain(struct http_server *s)
{
	struct http_conn *c, *next;

	if (s->draining)
		return;
	s->draining = 1;
	if (s->listener != NULL) {
		evconnlistener_free(s->listener);
		s->listener = NULL;
		s->accepting = 0;
	}
	/* Closing an idle connection runs no callback, so next stays. */
	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->state == CONN_IDLE)
			conn_close(c);
	}
}

/* See server.h: dispatched (or failed) and not yet written, orphans
 * included. */
size_t
http_server_in_flight(const struct http_server *s)
{
	return s->in_flight;
}

/* See server.h. */
size_t
http_server_connections(const struct http_server *s)
{
	return s->nconns;
}

static void
server_destroy(struct http_server *s)
{
	struct http_conn *c;
	struct http_exchange *ex;

	/* Callbacks run from here find the server dying and do nothing. */
	s->depth++;
	if (s->listener != NULL)
		evconnlistener_free(s->listener);
	s->listener = NULL;
	while ((c = TAILQ_FIRST(&s->conns)) != NULL)
		conn_close(c);
	while ((ex = TAILQ_FIRST(&s->orphans)) != NULL) {
		TAILQ_REMOVE(&s->orphans, ex, orphan_link);
		ex->server = NULL;
	}
	/* After the connections: their reads under way now only free. */
	readpool_free(s->readers);
	event_free(s->retry);
	event_free(s->tick);
	event_free(s->soon_ev);
	tls_context_free(s->tls);
	free(s->rbuf);
	free(s);
}

/*
 * See server.h. Responses being written are cut off (their on_complete
 * runs now); exchanges a handler still holds stay valid until answered.
 * Called from one of s's own callbacks, the work waits until it returns.
 */
void
http_server_free(struct http_server *s)
{
	if (s == NULL || s->dying)
		return;
	s->dying = 1;
	if (s->depth == 0)
		server_destroy(s);
}

/* --- the request ------------------------------------------------------- */

/* See server.h; "" when the request line could not be read. */
const char *
http_method(const struct http_exchange *ex)
{
	return ex->req.method != NULL ? ex->req.method : "";
}

/* See server.h; "" when the request line could not be read. */
const char *
http_target(const struct http_exchange *ex)
{
	return ex->req.target != NULL ? ex->req.target : "";
}

/* See server.h; "*" for "OPTIONS *". */
const char *
http_path(const struct http_exchange *ex)
{
	return ex->req.path;
}

/* See server.h. */
const char *
http_path_raw(const struct http_exchange *ex)
{
	return ex->req.raw_path;
}

/* See server.h. */
const char *
http_query(const struct http_exchange *ex)
{
	return ex->req.query;
}

/* See server.h. */
const char *
http_header(const struct http_exchange *ex, const char *name)
{
	return http_request_header(&ex->req, name);
}

/* See server.h; fields in the order received. */
int
http_header_at(const struct http_exchange *ex, size_t i, const char **name,
               const char **value)
{
	if (i >= ex->req.nfields)
		return 0;
	*name = ex->req.fields[i].name;
	*value = ex->req.fields[i].value;
	return 1;
}

/* See server.h; never NULL. */
const unsigned char *
http_body(const struct http_exchange *ex, size_t *len)
{
	*len = ex->req.body_len;
	return ex->req.body != NULL ? ex->req.body :
	    (const unsigned char *)"";
}

/* See server.h. */
const char *
http_peer(const struct http_exchange *ex)
{
	return ex->peer;
}

/* See server.h. Replacing data does not release the old one. */
void
http_set_data(struct http_exchange *ex, void *data,
              void (*release)(void *data))
{
	ex->data = data;
	ex->release = release;
}

/* See server.h. */
void *
http_data(const struct http_exchange *ex)
{
	return ex->data;
}

/* --- the response ------------------------------------------------------ */

static int
valid_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == ':')
			return 0;
	return 1;
}

static int
valid_value(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' && *s != '\t')
			return 0;
	return 1;
}

/*
 * See server.h. The server owns the framing: Content-Length,
 * Transfer-Encoding and Date are ignored, and "Connection: close" only
 * makes the connection close after the response. A name or value that
 * would break the header section (CR, LF, controls) is dropped, so a
 * handler echoing input cannot split a response.
 */
void
http_add_header(struct http_exchange *ex, const char *name,
                const char *value)
{
	size_t nlen, vlen, need;
	char *buf;

	if (ex->responded || !valid_name(name) || !valid_value(value))
		return;
	nlen = strlen(name);
	if ((nlen == 14 && strcasecmp(name, "Content-Length") == 0) ||
	    (nlen == 17 && strcasecmp(name, "Transfer-Encoding") == 0) ||
	    (nlen == 4 && strcasecmp(name, "Date") == 0))
		return;
	if (nlen == 10 && strcasecmp(name, "Connection") == 0) {
		if (strcasestr(value, "close") != NULL)
			ex->close = 1;
		return;
	}
	vlen = strlen(value);
	need = ex->rhdr_len + nlen + vlen + 4;
	if (need > ex->rhdr_cap) {
		size_t cap = ex->rhdr_cap < 256 ? 256 : ex->rhdr_cap;

		while (cap < need)
			cap *= 2;
		if ((buf = realloc(ex->rhdr, cap)) == NULL)
			return;
		ex->rhdr = buf;
		ex->rhdr_cap = cap;
	}
	buf = ex->rhdr + ex->rhdr_len;
	buf = put_str(buf, name, nlen);
	buf = PUT_LIT(buf, ": ");
	buf = put_str(buf, value, vlen);
	buf = PUT_LIT(buf, "\r\n");
	ex->rhdr_len = need;
}

/*
 * Builds the status line and header section as up to three pieces: the
 * fixed start (in pre), the handler's fields (in place), the framing (in
 * post). Returns the number of iovecs filled.
 */
static size_t
response_head(struct http_exchange *ex, char *pre, char *post,
              struct iovec *iov, int with_length, size_t len)
{
	struct http_server *s = ex->conn->server;
	const char *reason = http_reason(ex->status), *date;
	size_t n = 0, ndate;
	char *p;

	p = PUT_LIT(pre, "HTTP/1.1 ");
	p = put_uint(p, (uint64_t)ex->status);
	*p++ = ' ';
	p = put_str(p, reason, strlen(reason));
	p = PUT_LIT(p, "\r\n");
	date = server_date(s, &ndate);
	p = put_str(p, date, ndate);
	iov[n].iov_base = pre;
	iov[n++].iov_len = (size_t)(p - pre);
	if (ex->rhdr_len > 0) {
		iov[n].iov_base = ex->rhdr;
		iov[n++].iov_len = ex->rhdr_len;
	}
	p = post;
	if (with_length) {
		p = PUT_LIT(p, "Content-Length: ");
		p = put_uint(p, len);
		p = PUT_LIT(p, "\r\n");
	}
	if (ex->close)
		p = PUT_LIT(p, "Connection: close\r\n");
	else if (ex->req.minor == 0)
		p = PUT_LIT(p, "Connection: keep-alive\r\n");
	p = PUT_LIT(p, "\r\n");
	iov[n].iov_base = post;
	iov[n++].iov_len = (size_t)(p - post);
	return n;
}

/*
 * Sends head and body: a body in an evbuffer goes out from its chains
 * when there are few, else it is moved behind the head into the output.
 */
static int
send_response(struct http_conn *c, struct iovec *iov, size_t n,
              const void *body, size_t len, struct evbuffer *bodybuf)
{
	struct evbuffer_iovec vec[MAX_BODY_IOV];
	size_t peeked = 0;
	int chains, i, sent;

	if (len == 0)
		return conn_send(c, iov, n);
	if (bodybuf == NULL) {
		iov[n].iov_base = (void *)body;
		iov[n++].iov_len = len;
		return conn_send(c, iov, n);
	}
	/* With len -1, evbuffer_peek() stops counting at MAX_BODY_IOV:
	 * the bytes tell whether the chains it filled are all of them. */
	chains = evbuffer_peek(bodybuf, -1, NULL, vec, MAX_BODY_IOV);
	for (i = 0; i < chains && i < MAX_BODY_IOV; i++)
		peeked += vec[i].iov_len;
	if (peeked == len) {
		for (i = 0; i < chains; i++) {
			iov[n].iov_base = vec[i].iov_base;
			iov[n++].iov_len = vec[i].iov_len;
		}
		sent = conn_send(c, iov, n);
		evbuffer_drain(bodybuf, len);
		return sent;
	}
	if ((conn_send(c, iov, n) == 0 && c->broken) || conn_out(c) == NULL ||
	    evbuffer_add_buffer(c->out, bodybuf) == -1) {
		evbuffer_drain(bodybuf, len);
		c->broken = 1;
		conn_soon(c);
		return 0;
	}
	conn_want_write(c);
	return 0;
}

/* The body is body, or bodybuf, or len bytes of fd from off (fd -1:
 * none), which is closed in every case. */
static void
respond(struct http_exchange *ex, int status, const void *body, size_t len,
        struct evbuffer *bodybuf, int fd, off_t off)
{
	struct http_conn *c = ex->conn;
	struct iovec iov[3 + MAX_BODY_IOV];
	char pre[128], post[96];
	int with_body;
	size_t n;

	/* The handler's answer after the server's 504: dropped, and the
	 * exchange is the handler's no more. */
	if (ex->timed_out) {
		if (bodybuf != NULL)
			evbuffer_drain(bodybuf, len);
		if (ex->held) {
			ex->held = 0;
			if (c == NULL)
				orphan_finish(ex);
		}
		return;
	}
	/* Once per exchange, and only while the handler holds it. */
	if (ex->responded || (c != NULL && c->state != CONN_HANDLING)) {
		if (fd != -1)
			close(fd);
		return;
	}
	if (status < 200 || status > 599)
		status = 500;
	ex->responded = 1;
	ex->status = status;
	ex->held = 0;
	if (c == NULL) {
		if (bodybuf != NULL)
			evbuffer_drain(bodybuf, len);
		if (fd != -1)
			close(fd);
		orphan_finish(ex);
		return;
	}
	if (c->server->draining)
		ex->close = 1;
	/* The handler deadline is over; writing may set its own. */
	conn_deadline(c, 0);
	/* RFC 9110 §6.4.1: 204 and 304 have no content and 204 has no
	 * Content-Length; neither needs one to be framed. */
	with_body = status != 204 && status != 304;
	if (body == NULL && bodybuf == NULL && fd == -1 && !ex->head)
		len = 0;
	n = response_head(ex, pre, post, iov, with_body, len);
	c->state = CONN_WRITING;
	if (!with_body || ex->head) {
		if (bodybuf != NULL)
			evbuffer_drain(bodybuf, len);
		if (fd != -1)
			close(fd);
		c->written = conn_send(c, iov, n);
	} else if (fd != -1) {
		ex->bytes_sent = len;
		c->written = send_file_response(c, iov, n, fd, off, len);
	} else {
		ex->bytes_sent = len;
		c->written = send_response(c, iov, n, body, len, bodybuf);
	}
	if (c->written && !c->in_process)
		conn_soon(c);
}

/* See server.h. A status outside 200-599 is sent as 500. For HEAD, body
 * may be NULL with len the length to announce. */
void
http_respond(struct http_exchange *ex, int status, const void *body,
             size_t len)
{
	respond(ex, status, body, len, NULL, -1, 0);
}

/* See server.h. The chains of body are moved, not copied. */
void
http_respond_buffer(struct http_exchange *ex, int status,
                    struct evbuffer *body)
{
	respond(ex, status, NULL, evbuffer_get_length(body), body, -1, 0);
}

/*
 * See server.h. The body goes out as FILES above describes: sendfile()
 * on plain connections, chunks read by the reader threads on TLS ones.
 */
void
http_respond_file(struct http_exchange *ex, int status, int fd,
                  uint64_t offset, uint64_t length)
{
	if (length > SIZE_MAX || offset > (uint64_t)INT64_MAX - length) {
		close(fd);
		respond(ex, 500, NULL, 0, NULL, -1, 0);
		return;
	}
	respond(ex, status, NULL, (size_t)length, NULL, fd, (off_t)offset);
}

/* See server.h. */
int
http_status(const struct http_exchange *ex)
{
	return ex->status;
}

/* See server.h. */
int
http_timed_out(const struct http_exchange *ex)
{
	return ex->timed_out;
}

/* See server.h: queued body bytes (0 for HEAD, 204, 304). */
size_t
http_bytes_sent(const struct http_exchange *ex)
{
	return ex->bytes_sent;
}

/* See server.h. */
uint64_t
http_started_us(const struct http_exchange *ex)
{
	return ex->started_us;
}

/* See server.h. Also for the server's own error responses. */
void
http_on_complete(struct http_exchange *ex,
                 void (*done)(struct http_exchange *ex, void *arg),
                 void *arg)
{
	ex->done = done;
	ex->done_arg = arg;
}

/* See server.h; "Unknown" for a status without a standard phrase. */
const char *
http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 203: return "Non-Authoritative Information";
	case 204: return "No Content";
	case 205: return "Reset Content";
	case 206: return "Partial Content";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 425: return "Too Early";
	case 426: return "Upgrade Required";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}
