/*
 * conn_tls.c - TLS I/O on the connections of conn.c.
 *
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
#include "http/server_int.h"

#include <string.h>

#include "http/tls.h"

/* Adds and removes c's events to match what it waits for; an active
 * read event for decrypted input left over. */
void
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
int
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

/*
 * Writes the queue, feeding it from a file body as it drains (body_file.c).
 * Returns 1 when everything is out, 0 when the socket or a read is
 * waited for, -1 when the connection broke.
 */
int
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
	if (total > 0 && (c->state == CONN_WRITING ||
	    c->state == CONN_STREAMING))
		conn_deadline(c, s->write_ms);
	return 0;
}

/* The queue can be written (conn_write_cb() for TLS), or a file body's
 * chunk has been read; a streamed response hears that its queue fell. */
void
tls_output(struct http_conn *c)
{
	switch (tls_pump(c)) {
	case -1:
		conn_close(c);
		return;
	case 1:
		if (c->state == CONN_WRITING) {
			if (conn_response_done(c))
				conn_process(c);
			return;
		}
		/* A stream waits for its handler, not the client. */
		if (c->state == CONN_STREAMING)
			conn_deadline(c, 0);
		break;
	}
	stream_drained(c);
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

void
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

void
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
