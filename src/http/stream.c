/*
 * stream.c - streamed responses (server.h): a head first, then a body in
 * pieces as its source yields them, with back-pressure.
 *
 * http_stream_begin() makes the head and puts the connection in
 * STREAMING; the head leaves with the first piece or the end (one send
 * for a small answer), or alone at http_stream_flush(). The handler
 * still holds the exchange, so a client that goes away orphans it and
 * runs its abandon hook, as before an answer; the server's 504 no longer applies (the wheel closes a STREAMING
 * connection whose deadline passes, and only a queue that does not move
 * has one: the write deadline, renewed by progress). Each write goes out
 * as conn_send() sends a response: straight to the socket while nothing
 * is queued, else after the queue. What the handler hears is the
 * queue's length: "slow down" (0) above STREAM_HIGH, and the drain hook
 * once the write event has brought it under STREAM_LOW. So a streamed
 * response holds at most STREAM_HIGH plus one piece, whatever its
 * length. http_stream_end() turns the connection to WRITING: from there
 * the exchange completes exactly as after http_respond().
 */
#include "http/server_int.h"

#include <stdlib.h>
#include <string.h>

/* A chunk's size line: up to 16 hex digits and CRLF. */
#define SIZE_LINE           20

static const char crlf[] = "\r\n";

/* Writes "%zx\r\n" of n at p; returns its length. */
static size_t
chunk_size_line(char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[16];
	size_t i = 0, len = 0;

	do {
		tmp[i++] = hex[n & 0xf];
		n >>= 4;
	} while (n != 0);
	while (i > 0)
		p[len++] = tmp[--i];
	p[len++] = '\r';
	p[len++] = '\n';
	return len;
}

static int hold_head(struct http_exchange *ex, const struct iovec *iov,
                     size_t n);

/* See server.h. */
int
http_stream_begin(struct http_exchange *ex, int status, int64_t length)
{
	struct http_conn *c = ex->conn;
	struct iovec iov[3];
	char pre[HEAD_PRE], post[HEAD_POST];
	enum head_framing framing = FRAME_NONE;
	size_t n;

	if (ex->responded || ex->streaming || c == NULL || c->broken ||
	    ex->abandoned || c->state != CONN_HANDLING)
		return -1;
	if (status < 100 || status > 599)
		status = 500;
	ex->responded = 1;
	ex->streaming = 1;
	ex->status = status;
	if (c->server->draining)
		ex->close = 1;
	/* RFC 9110 §6.4.1, §15.2: no content after 1xx, 204, 304; a 101
	 * leaves HTTP behind, so the connection never serves another. */
	ex->no_body = ex->head || status < 200 || status == 204 ||
	    status == 304;
	if (status == 101)
		ex->close = 1;
	if (length >= 0 && status >= 200 && status != 204 && status != 304) {
		framing = FRAME_LENGTH;
		ex->sized = !ex->no_body;
		ex->stream_left = (uint64_t)length;
	} else if (length < 0 && !ex->no_body) {
		if (ex->req.minor == 1) {
			framing = FRAME_CHUNKED;
			ex->chunked = 1;
		} else {
			ex->close = 1;      /* the close ends the body */
		}
	}
	/* The handler deadline is over; a queue that stalls gets the
	 * write deadline. */
	conn_deadline(c, 0);
	c->state = CONN_STREAMING;
	n = response_head(ex, pre, post, iov, framing,
	                  framing == FRAME_LENGTH ? (uint64_t)length : 0);
	if (hold_head(ex, iov, n) < 0)
		conn_send(c, iov, n);
	return c->broken ? -1 : 0;
}

/*
 * Keeps the head to go out with what follows it (the first piece, or
 * the end): a small answer then leaves in one send, as a response in
 * memory does. http_stream_flush() sends it alone. -1 when out of
 * memory (send it now).
 */
static int
hold_head(struct http_exchange *ex, const struct iovec *iov, size_t n)
{
	size_t i, len = 0;
	char *p;

	for (i = 0; i < n; i++)
		len += iov[i].iov_len;
	if (len > ex->shead_cap) {
		if ((p = realloc(ex->shead, len)) == NULL)
			return -1;
		ex->shead = p;
		ex->shead_cap = len;
	}
	for (p = ex->shead, i = 0; i < n; i++) {
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	ex->shead_len = len;
	ex->head_pending = 1;
	return 0;
}

/* Sends iov[0..n) after the head held back, if it still is. */
static void
stream_send(struct http_exchange *ex, struct iovec *iov, size_t n)
{
	struct iovec all[8];
	size_t i;

	if (!ex->head_pending) {
		if (n > 0)
			conn_send(ex->conn, iov, n);
		return;
	}
	ex->head_pending = 0;
	all[0].iov_base = ex->shead;
	all[0].iov_len = ex->shead_len;
	for (i = 0; i < n && i + 1 < 8; i++)
		all[i + 1] = iov[i];
	conn_send(ex->conn, all, i + 1);
}

/* See server.h. */
void
http_stream_flush(struct http_exchange *ex)
{
	if (ex->head_pending && ex->conn != NULL && !ex->conn->broken)
		stream_send(ex, NULL, 0);
}

/* See server.h. */
int
http_send_interim(struct http_exchange *ex, int status,
                  const char *const *names, const char *const *values,
                  size_t nfields)
{
	struct http_conn *c = ex->conn;
	struct evbuffer *b;
	struct iovec iov;
	size_t i;
	int ok;

	if (ex->responded || c == NULL || c->broken || ex->abandoned ||
	    c->state != CONN_HANDLING || ex->req.minor == 0 ||
	    status < 100 || status > 199 || status == 101)
		return -1;
	if ((b = evbuffer_new()) == NULL)
		return -1;
	ok = evbuffer_add_printf(b, "HTTP/1.1 %d %s\r\n", status,
	                         http_reason(status)) != -1;
	for (i = 0; ok && i < nfields; i++)
		if (field_name_ok(names[i]) && field_value_ok(values[i]))
			ok = evbuffer_add_printf(b, "%s: %s\r\n", names[i],
			                         values[i]) != -1;
	ok = ok && evbuffer_add(b, crlf, 2) == 0;
	if (ok) {
		iov.iov_len = evbuffer_get_length(b);
		iov.iov_base = evbuffer_pullup(b, -1);
		ok = iov.iov_base != NULL;
	}
	if (ok)
		conn_send(c, &iov, 1);
	evbuffer_free(b);
	return ok && !c->broken ? 0 : -1;
}

/*
 * Whether the handler may write more: 1, or 0 above the high-water mark
 * (the drain hook is then due), or -1 for a connection gone or broken.
 */
static int
stream_level(struct http_exchange *ex)
{
	struct http_conn *c = ex->conn;

	if (c == NULL || c->broken)
		return -1;
	if (c->out != NULL && evbuffer_get_length(c->out) >= STREAM_HIGH) {
		ex->want_drain = 1;
		return 0;
	}
	return 1;
}

/* How many of len bytes may be written: all, or what a Content-Length
 * leaves (the rest would break the framing, and is dropped). 0 for none,
 * -1 when the stream does not take writes. */
static int64_t
stream_take(struct http_exchange *ex, size_t len)
{
	struct http_conn *c = ex->conn;

	if (!ex->streaming || c == NULL || c->broken ||
	    c->state != CONN_STREAMING)
		return -1;
	if (ex->no_body)
		return 0;
	if (ex->sized && len > ex->stream_left)
		len = (size_t)ex->stream_left;
	ex->stream_left -= ex->sized ? len : 0;
	ex->bytes_sent += len;
	return (int64_t)len;
}

/* See server.h. */
int
http_stream_write(struct http_exchange *ex, const void *data, size_t len)
{
	struct iovec iov[3];
	char line[SIZE_LINE];
	int64_t n = stream_take(ex, len);

	if (n == -1)
		return -1;
	if (n == 0)
		return stream_level(ex);
	if (!ex->chunked) {
		iov[0].iov_base = (void *)data;
		iov[0].iov_len = (size_t)n;
		stream_send(ex, iov, 1);
		return stream_level(ex);
	}
	iov[0].iov_base = line;
	iov[0].iov_len = chunk_size_line(line, (size_t)n);
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = (size_t)n;
	iov[2].iov_base = (void *)crlf;
	iov[2].iov_len = 2;
	stream_send(ex, iov, 3);
	return stream_level(ex);
}

/* Chains of a buffer written straight away; more are queued. */
#define MAX_WRITE_IOV       8

/* See server.h. A buffer of few chains goes out from them when nothing is
 * queued; else its chains move into the queue. */
int
http_stream_write_buffer(struct http_exchange *ex, struct evbuffer *data)
{
	struct http_conn *c = ex->conn;
	struct evbuffer_iovec vec[MAX_WRITE_IOV];
	struct iovec iov[MAX_WRITE_IOV + 2];
	char line[SIZE_LINE];
	size_t len = evbuffer_get_length(data), peeked = 0, k = 0;
	int64_t n = stream_take(ex, len);
	int chains, i;

	if (n <= 0) {
		evbuffer_drain(data, len);
		return n == -1 ? -1 : stream_level(ex);
	}
	http_stream_flush(ex);
	if (ex->chunked) {
		iov[k].iov_base = line;
		iov[k++].iov_len = chunk_size_line(line, (size_t)n);
	}
	chains = evbuffer_peek(data, (ssize_t)n, NULL, vec, MAX_WRITE_IOV);
	for (i = 0; i < chains && i < MAX_WRITE_IOV; i++)
		peeked += vec[i].iov_len;
	if (!conn_queued(c) && chains <= MAX_WRITE_IOV &&
	    peeked >= (size_t)n) {
		for (i = 0; i < chains; i++) {
			iov[k].iov_base = vec[i].iov_base;
			iov[k++].iov_len = vec[i].iov_len;
		}
		/* The last chain may hold bytes past n. */
		iov[k - 1].iov_len -= peeked - (size_t)n;
		if (ex->chunked) {
			iov[k].iov_base = (void *)crlf;
			iov[k++].iov_len = 2;
		}
		conn_send(c, iov, k);
	} else if (conn_out(c) == NULL ||
	    (ex->chunked && evbuffer_add(c->out, line, iov[0].iov_len) == -1) ||
	    evbuffer_remove_buffer(data, c->out, (size_t)n) != (int)n ||
	    (ex->chunked && evbuffer_add(c->out, crlf, 2) == -1)) {
		c->broken = 1;
		conn_soon(c);
	} else {
		conn_want_write(c);
	}
	evbuffer_drain(data, evbuffer_get_length(data));
	return stream_level(ex);
}

/* See server.h. */
evutil_socket_t
http_stream_socket(struct http_exchange *ex)
{
	struct http_conn *c = ex->conn;

	if (c == NULL || c->broken || c->tls != NULL || !ex->streaming ||
	    c->state != CONN_STREAMING || !ex->sized || ex->no_body ||
	    ex->head_pending || conn_queued(c))
		return -1;
	return c->fd;
}

/* See server.h. */
void
http_stream_moved(struct http_exchange *ex, size_t n)
{
	struct http_conn *c = ex->conn;

	if (stream_take(ex, n) <= 0 || c == NULL)
		return;
	conn_deadline(c, c->server->write_ms);
}

/* See server.h. */
void
http_stream_on_drain(struct http_exchange *ex,
                     void (*fn)(struct http_exchange *ex, void *arg),
                     void *arg)
{
	ex->drain = fn;
	ex->drain_arg = arg;
}

/* See server_int.h: the write event (plain or TLS) moved the queue. */
void
stream_drained(struct http_conn *c)
{
	struct http_exchange *ex = c->ex;

	if (c->state != CONN_STREAMING || !ex->want_drain ||
	    (c->out != NULL && evbuffer_get_length(c->out) >= STREAM_LOW))
		return;
	ex->want_drain = 0;
	if (ex->drain != NULL)
		ex->drain(ex, ex->drain_arg);
}

/* See server.h. Kept until the end; sent only there, and only chunked. */
void
http_stream_trailer(struct http_exchange *ex, const char *name,
                    const char *value)
{
	if (!ex->held || !field_name_ok(name) || !field_value_ok(value))
		return;
	field_line_add(&ex->trailers, &ex->trailers_len, &ex->trailers_cap,
	               name, strlen(name), value);
}

/* The last chunk, the trailers and the empty line. */
static void
send_last_chunk(struct http_exchange *ex)
{
	struct iovec iov[3];
	size_t n = 0;

	iov[n].iov_base = (void *)"0\r\n";
	iov[n++].iov_len = 3;
	if (ex->trailers_len > 0) {
		iov[n].iov_base = ex->trailers;
		iov[n++].iov_len = ex->trailers_len;
	}
	iov[n].iov_base = (void *)crlf;
	iov[n++].iov_len = 2;
	stream_send(ex, iov, n);
}

/*
 * Ends the handler's hold on ex: the body complete, or cut (the
 * connection then closes after what is queued, and a stream that never
 * began closes with no answer at all). From here the exchange completes
 * as after respond().
 */
static void
stream_finish(struct http_exchange *ex, int cut)
{
	struct http_conn *c = ex->conn;

	if (!ex->held)
		return;
	ex->held = 0;
	/* Answered for (504): the end is dropped, as respond() drops. */
	if (ex->timed_out) {
		if (c == NULL)
			exchange_orphan_finish(ex);
		return;
	}
	ex->responded = 1;
	if (body_pending(ex))
		body_drop(ex);
	if (c == NULL) {
		exchange_orphan_finish(ex);
		return;
	}
	if (!ex->streaming || (ex->sized && ex->stream_left > 0))
		cut = 1;
	if (cut) {
		ex->close = 1;
		ex->failed = 0;     /* no linger: the client sees the cut */
		http_stream_flush(ex);
	} else if (ex->chunked) {
		send_last_chunk(ex);
	} else {
		http_stream_flush(ex);
	}
	conn_deadline(c, 0);
	c->state = CONN_WRITING;
	if (c->broken)
		return;
	if (conn_queued(c))
		conn_want_write(c);
	else
		c->written = 1;
	if (c->written && !c->in_process)
		conn_soon(c);
}

/* See server.h. */
void
http_stream_end(struct http_exchange *ex)
{
	stream_finish(ex, 0);
}

/* See server.h. */
void
http_stream_abort(struct http_exchange *ex)
{
	stream_finish(ex, 1);
}

/* See server.h. */
int
http_is_tls(const struct http_exchange *ex)
{
	return ex->tls;
}
