/*
 * conn.c - a connection's life: read, parse, dispatch, write, linger,
 * close.
 *
 * A connection is always in one of these states:
 *
 *   IDLE      no byte of a request yet; the idle deadline runs (close)
 *   READING   a request is arriving; the request deadline runs (408)
 *   HANDLING  the handler has the exchange; the handler deadline runs
 *             (504, see exchange.c), armed only when the handler returns
 *             without answering, so an answer given at once never
 *             touches the wheel
 *   WRITING   the response is on its way; if the socket did not take
 *             it whole, the rest is queued, and a write deadline renewed
 *             by every write that makes progress catches a client that
 *             stops reading
 *   STREAMING a streamed response's head is out and the handler writes
 *             its body (stream.c); only output that stops moving has a
 *             deadline, the write one
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
 */
#include "http/server_int.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/problem.h"
#include "http/tls.h"

/* Input kept while a request is handled: enough for a few pipelined
 * requests, and reading goes on (so a disconnect is noticed) until it is
 * full. */
#define READ_HIGH_WATER     (64 * 1024)
#define KEEP_MIN            4096
#define LINGER_MS           2000
/* A response up to this size is copied into one piece and sent with
 * send(): the kernel's copy of each iovec piece has a fixed cost larger
 * than that of copying a few hundred bytes here (measured: the status
 * line, handler fields, framing and body of a small answer cost some
 * 0.1 us more as four pieces), and send() has no msghdr to copy in. */
#define FLAT_MAX            2048

/* Has the soon event finish c in this loop turn, outside of the caller's
 * stack: a handler may be deep in its own work. */
void
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

/* Reads input (or not). For TLS, reading is what the server wants, and
 * tls_events() decides what the socket waits for. */
void
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
struct evbuffer *
conn_out(struct http_conn *c)
{
	if (c->out == NULL)
		c->out = evbuffer_new();
	return c->out;
}

int
conn_queued(const struct http_conn *c)
{
	return c->out != NULL && evbuffer_get_length(c->out) > 0;
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg);

/* The write event, made on first use; NULL when out of memory. */
struct event *
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
int
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
	/* A stream's writes add to the queue without the socket taking
	 * any: only the write event's progress renews the deadline. */
	else if (c->state == CONN_STREAMING && c->deadline == 0)
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

int
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
void
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

void
conn_send_continue(struct http_conn *c)
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
	ex->tls = old->tls;
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
int
conn_response_done(struct http_conn *c)
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
void
conn_process(struct http_conn *c)
{
	struct http_server *s = c->server;
	struct http_request *r = &c->ex->req;
	enum http_parse_result res;
	const char *p;
	size_t n, used;
	int kept;

	/* A streamed body takes the input first (body_stream.c). */
	if (c->ex->body_fn != NULL)
		body_pump(c);
	c->in_process = 1;
	while (!s->dying) {
		/* answered at once by the handler */
		if (c->state == CONN_WRITING && c->written) {
			c->in_process = 0;
			if (!conn_response_done(c))
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
			if (s->on_head != NULL &&
			    s->on_head(c->ex, s->arg) == 1) {
				body_take(c);
				conn_dispatch(c);
			} else if (r->expect_continue) {
				conn_send_continue(c);
			}
			break;
		case HTTP_PARSE_DONE:
			conn_dispatch(c);
			break;
		case HTTP_PARSE_ERROR:
			conn_fail(c, r->status, r->code, r->detail);
			break;
		case HTTP_PARSE_BODY:
			/* only handed out to body_pump() */
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
	if (c->full && c->in_len - c->in_off < READ_HIGH_WATER &&
	    !body_holds_reading(c)) {
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
int
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
void
conn_input(struct http_conn *c, char *buf, ssize_t n, int direct)
{
	if (n == 0 && (c->state == CONN_WRITING ||
	    (c->state == CONN_STREAMING && !body_pending(c->ex)))) {
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
void
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
		if ((n > 0 || m > 0) && (c->state == CONN_WRITING ||
		    c->state == CONN_STREAMING))
			conn_deadline(c, s->write_ms);
		stream_drained(c);
	} else {
		/* The queued rest is out: the next response goes straight
		 * to the socket again. */
		event_del(c->wev);
		c->writing = 0;
		/* Also called once a 100 Continue is out: nothing to do
		 * then. A stream waits for its handler, not the client. */
		if (c->state == CONN_WRITING) {
			if (conn_response_done(c))
				conn_process(c);
		} else if (c->state == CONN_STREAMING) {
			conn_deadline(c, 0);
			stream_drained(c);
		}
	}
	server_leave(s);
}

/* Finishes the connections of s->soon: a broken one closes, a response
 * written at once outside conn_process() is completed. */
void
conn_soon_cb(evutil_socket_t fd, short what, void *arg)
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
		if (c->broken) {
			conn_close(c);
		} else if (c->state == CONN_WRITING && c->written) {
			if (conn_response_done(c))
				conn_process(c);
		} else if (c->body_kick) {
			c->body_kick = 0;
			conn_process(c);
		}
	}
	server_leave(s);
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

/*
 * Frees c. An exchange the handler still holds is orphaned (also after
 * a 504 in its place, once completed); one whose response was being
 * written is completed (the connection died).
 */
void
conn_close(struct http_conn *c)
{
	struct http_server *s = c->server;
	struct http_exchange *ex = c->ex;
	int ex_held = ex->held;

	wheel_unlink(c);
	if (c->soon)
		LIST_REMOVE(c, soon_link);
	TAILQ_REMOVE(&s->conns, c, link);
	/* A tunnel's connection left the count at http_detach(), and its
	 * socket is the caller's. */
	if (!c->detached)
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
	if (!c->detached)
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
	server_listener_update(s);
	/* Last: the hook may answer, which finishes the orphan; a body
	 * still streaming fails after it. */
	if (ex_held) {
		exchange_abandon(ex, s);
		body_gone(ex, s);
	}
}

/* Takes fd (closed on failure). */
struct http_conn *
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
	ex->tls = c->tls != NULL;
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
