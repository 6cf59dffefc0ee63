/*
 * body_stream.c - request bodies streamed to the handler as they arrive,
 * and connections handed over for tunnels (server.h).
 *
 * When the head hook takes a request's body, the exchange is dispatched
 * at the end of the head and the connection stops reading: nothing of
 * the body is read before the handler asks for it with
 * http_body_stream(). From then on each read lands in the connection's
 * own buffer (as any input while a request is handled) and body_pump()
 * runs the parser over it in its handing-out mode: the pieces of the
 * body, de-chunked, go to the handler from where they lie, and the
 * framing, the limits and the end are the parser's, as for a body read
 * whole. Bytes after the body stay in the buffer for the next request.
 * Pausing stops reading the socket, so a client that sends faster than
 * the handler's sink takes is held back by TCP itself.
 *
 * Deadlines: while the body comes, each read that brings some of it
 * renews the write deadline (s->write_ms, a transfer's progress), and a
 * body that stops coming closes the connection; paused, or once the
 * body is in, the handler deadline runs again (504).
 *
 * An answer given before the body is all in ends its streaming: the
 * handler hears no more of it, and the connection lingers after the
 * answer (the unread rest cannot be framed) so that the client reads
 * the answer rather than a reset.
 */
#include "http/server_int.h"

#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

/* See server_int.h. */
void
body_take(struct http_conn *c)
{
	struct http_exchange *ex = c->ex;

	ex->body_streamed = 1;
	http_request_hand_out(&ex->req);
	conn_reading(c, 0);
}

/* See server_int.h. */
int
body_pending(const struct http_exchange *ex)
{
	return ex->body_streamed && !ex->body_done;
}

/* See server_int.h. */
int
body_holds_reading(const struct http_conn *c)
{
	const struct http_exchange *ex = c->ex;

	if (!ex->body_streamed)
		return 0;
	if (ex->body_failed)
		return 1;
	return !ex->body_done && (ex->body_fn == NULL || ex->body_paused);
}

/* The body ended (1) or failed (-1): the handler hears it last. */
static void
body_end(struct http_conn *c, int end)
{
	struct http_exchange *ex = c->ex;
	struct http_server *s = c->server;
	http_body_fn fn = ex->body_fn;
	void *arg = ex->body_arg;

	ex->body_fn = NULL;
	ex->body_done = 1;
	if (end < 0) {
		/* What follows cannot be framed. */
		ex->body_failed = 1;
		ex->close = 1;
		conn_reading(c, 0);
	}
	if (c->state == CONN_HANDLING)
		conn_deadline(c, s->limits.request_timeout_ms);
	fn(ex, NULL, 0, end, arg);
}

/* See server_int.h. */
void
body_pump(struct http_conn *c)
{
	struct http_exchange *ex = c->ex;
	struct http_server *s = c->server;
	struct http_request *r = &ex->req;
	enum http_parse_result res;
	size_t used, took = 0;

	if (c->state != CONN_HANDLING && c->state != CONN_STREAMING)
		return;
	while (ex->body_fn != NULL && !ex->body_paused && !s->dying) {
		res = http_request_parse(r, c->in != NULL ? c->in + c->in_off :
		                         "", c->in_len - c->in_off, &used);
		c->in_off += used;
		took += used;
		if (res == HTTP_PARSE_MORE)
			break;
		if (res == HTTP_PARSE_BODY) {
			ex->body_fn(ex, r->piece, r->piece_len, 0,
			            ex->body_arg);
			continue;
		}
		body_end(c, res == HTTP_PARSE_DONE ? 1 : -1);
		break;
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	/* Progress renews the deadline of a body still coming. */
	if (took > 0 && ex->body_fn != NULL && !ex->body_paused &&
	    c->state == CONN_HANDLING && !s->dying)
		conn_deadline(c, s->write_ms);
}

/* Has the soon event pump what input waits (not on the caller's
 * stack) and reads on. */
static void
body_kick(struct http_conn *c)
{
	c->body_kick = 1;
	conn_soon(c);
	if (!c->full)
		conn_reading(c, 1);
}

/* See server.h. */
int
http_body_streamed(const struct http_exchange *ex)
{
	return ex->body_streamed;
}

/* See server.h. */
void
http_body_stream(struct http_exchange *ex, http_body_fn fn, void *arg)
{
	struct http_conn *c = ex->conn;

	if (!body_pending(ex) || ex->body_fn != NULL || fn == NULL)
		return;
	/* The client went before the handler asked: it hears so now. */
	if (c == NULL) {
		ex->body_done = 1;
		ex->body_failed = 1;
		fn(ex, NULL, 0, -1, arg);
		return;
	}
	ex->body_fn = fn;
	ex->body_arg = arg;
	if (ex->req.expect_continue && !ex->responded)
		conn_send_continue(c);
	if (ex->body_paused)
		return;
	if (c->state == CONN_HANDLING)
		conn_deadline(c, c->server->write_ms);
	body_kick(c);
}

/* See server.h. */
void
http_body_pause(struct http_exchange *ex, int paused)
{
	struct http_conn *c = ex->conn;

	if (!body_pending(ex) || (ex->body_paused != 0) == (paused != 0))
		return;
	ex->body_paused = paused != 0;
	if (c == NULL || ex->body_fn == NULL)
		return;
	if (paused) {
		conn_reading(c, 0);
		if (c->state == CONN_HANDLING)
			conn_deadline(c, c->server->limits.request_timeout_ms);
		return;
	}
	if (c->state == CONN_HANDLING)
		conn_deadline(c, c->server->write_ms);
	body_kick(c);
}

/* See server_int.h. */
void
body_drop(struct http_exchange *ex)
{
	ex->body_fn = NULL;
	ex->body_done = 1;
	ex->body_failed = 1;
	ex->close = 1;
	ex->failed = 1;     /* linger: see the top */
}

/* See server_int.h. */
void
body_gone(struct http_exchange *ex, struct http_server *s)
{
	http_body_fn fn = ex->body_fn;

	if (fn == NULL || !ex->held || s->dying)
		return;
	ex->body_fn = NULL;
	ex->body_done = 1;
	ex->body_failed = 1;
	fn(ex, NULL, 0, -1, ex->body_arg);
}

/*
 * See server.h. The connection leaves the books at once (count, wheel,
 * events) and its socket is the caller's; the rest of it is freed, and
 * ex completed, from the soon event, which also keeps this safe from a
 * handler that detaches inside its call.
 */
evutil_socket_t
http_detach(struct http_exchange *ex, struct evbuffer *in,
            struct evbuffer *out)
{
	struct http_conn *c = ex->conn;
	struct http_server *s;

	if (c == NULL || c->tls != NULL || c->broken || c->detached ||
	    !ex->streaming || !ex->held || ex->timed_out ||
	    c->state != CONN_STREAMING || body_pending(ex))
		return -1;
	if (c->in_len > c->in_off &&
	    evbuffer_add(in, c->in + c->in_off, c->in_len - c->in_off) == -1)
		return -1;
	/* Read by this callback and not parsed (a detach inside the
	 * handler's call). */
	if (c->rd_len > 0 && evbuffer_add(in, c->rd, c->rd_len) == -1)
		return -1;
	if (conn_queued(c) && evbuffer_add_buffer(out, c->out) == -1)
		return -1;
	if (ex->head_pending) {
		if (evbuffer_add(out, ex->shead, ex->shead_len) == -1)
			return -1;
		ex->head_pending = 0;
	}
	s = c->server;
	c->in_off = c->in_len = 0;
	c->rd_len = 0;
	wheel_unlink(c);
	c->deadline = 0;
	conn_reading(c, 0);
	event_del(&c->rev);
	if (c->wev != NULL)
		event_del(c->wev);
	c->writing = 0;
	c->detached = 1;
	s->nconns--;
	server_listener_update(s);
	ex->held = 0;
	ex->close = 1;
	ex->failed = 0;
	c->state = CONN_WRITING;
	c->written = 1;
	if (!c->in_process)
		conn_soon(c);
	return c->fd;
}
