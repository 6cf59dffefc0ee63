/*
 * server.c - the HTTP/1.1 server of server.h: the listener, accepting, and
 * the server's life (new, limits, drain, free).
 *
 * One http_conn per accepted socket and one http_exchange per connection,
 * reused for every request on it: the parser's buffers and the response
 * header buffer outlive a request, so a keep-alive stream runs without
 * allocating. A connection serves one request at a time: the next one,
 * pipelined or not, is parsed only once the current response has been
 * written. That keeps responses in order and the exchange's strings valid
 * until on_complete has run; since a small response is usually written
 * at once (conn.c), pipelined requests still run in one read callback.
 *
 * The server is split by idea, all on the structs of server_int.h:
 * conn.c runs a connection (read, parse, dispatch, write, linger,
 * close), conn_tls.c its TLS I/O, body_file.c file bodies, wheel.c the
 * deadlines, exchange.c the exchanges and the request accessors,
 * response.c the response (header fields, head, respond), stream.c
 * streamed responses, body_stream.c streamed request bodies and tunnels'
 * detach, date.c the clock and the Date field line. Each opens with the part of the
 * design that concerns it.
 *
 * Handlers may call anything here from any callback, http_server_free()
 * included: our own callbacks count themselves in s->depth, and a free
 * while one is on the stack waits until it unwinds.
 */
#include "http/server_int.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/listener.h>

#include "http/problem.h"
#include "http/readpool.h"
#include "http/tls.h"

#define DEFAULT_MAX_HEADER  16384
#define ACCEPT_RETRY_MS     100

/* --- the listener ------------------------------------------------------ */

/* Accepts while there is room, no drain, no backoff; pausing leaves new
 * connections in the kernel's backlog. */
void
server_listener_update(struct http_server *s)
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

void
server_leave(struct http_server *s)
{
	if (--s->depth > 0)
		return;
	s->now_fresh = 0;
	if (s->dying)
		server_destroy(s);
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
	server_listener_update(s);
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
	server_listener_update(s);
	evtimer_add(s->retry, &tv);
}

static void
accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *s = arg;

	(void)fd;
	(void)what;
	s->backoff = 0;
	server_listener_update(s);
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
	    (s->tick = event_new(base, -1, EV_PERSIST, wheel_tick_cb, s)) == NULL ||
	    (s->soon_ev = event_new(base, -1, 0, conn_soon_cb, s)) == NULL)
		goto fail;
	s->listener = evconnlistener_new(base, accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (s->listener == NULL)
		goto fail;
	evconnlistener_set_error_cb(s->listener, accept_error_cb);
	s->accepting = 1;
	server_listener_update(s);
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
	server_listener_update(s);
}

/* See server.h. */
void
http_server_set_tls(struct http_server *s, struct ssl_ctx_st *ctx)
{
	struct ssl_ctx_st *old = s->tls;

	s->tls = tls_context_ref(ctx);
	tls_context_free(old);
}

/* See server.h. */
void
http_server_set_head_hook(struct http_server *s, http_head_fn fn)
{
	s->on_head = fn;
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
