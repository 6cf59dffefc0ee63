/*
 * proxy_body.c - a request body streamed to the upstream as it arrives
 * (SPEC §7.7: never buffered whole). The client's pieces go to the
 * upstream behind the head, chunk-framed when the client's length is
 * unknown: straight to the socket when nothing waits before them, else
 * into a buffer kept with the call; past PROXY_OUT_HIGH bytes waiting,
 * the client's body pauses until the socket has taken them. The
 * body flows only while an attempt is connected: between attempts it is
 * paused, and once a piece has gone out the request cannot be sent
 * again (no retry).
 */
#include "http/proxy_int.h"

#include <sys/uio.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "http/server.h"

/* Room for n more bytes at the end of the pending bytes (moved to the
 * front first); -1 when out of memory. The buffer is kept with the
 * call, so a body costs no allocation once it has grown. */
static int
pend_room(struct proxy_call_body *b, size_t n)
{
	char *p;
	size_t cap;

	if (b->pend_off > 0) {
		memmove(b->pend, b->pend + b->pend_off, b->pend_len);
		b->pend_off = 0;
	}
	if (b->pend_len + n <= b->pend_cap)
		return 0;
	cap = b->pend_cap < 4096 ? 4096 : b->pend_cap;
	while (cap < b->pend_len + n)
		cap *= 2;
	if ((p = realloc(b->pend, cap)) == NULL)
		return -1;
	b->pend = p;
	b->pend_cap = cap;
	return 0;
}

/*
 * A piece of body, framed, on its way: straight to the socket when
 * nothing waits before it (no copy), the rest behind what waits. -1
 * when out of memory.
 */
static int
body_out(struct proxy_call *call, const void *data, size_t len)
{
	struct proxy_call_body *b = &call->body;
	char line[24];
	struct iovec iov[3];
	size_t n = 0, i;
	ssize_t sent = 0;

	if (b->chunked) {
		iov[n].iov_base = line;
		iov[n++].iov_len = (size_t)snprintf(line, sizeof(line),
		                                    "%zx\r\n", len);
	}
	iov[n].iov_base = (void *)data;
	iov[n++].iov_len = len;
	if (b->chunked) {
		iov[n].iov_base = (void *)"\r\n";
		iov[n++].iov_len = 2;
	}
	if (call->sending && call->conn != NULL && call->conn->ssl == NULL &&
	    evbuffer_get_length(call->out) == 0 && b->pend_len == 0) {
		sent = writev(call->conn->fd, iov, (int)n);
		if (sent > 0)
			call->sent_any = 1;
		else
			sent = 0;   /* the write path sees any error */
	}
	for (i = 0; i < n; i++) {
		size_t skip = (size_t)sent < iov[i].iov_len ? (size_t)sent :
		    iov[i].iov_len, rest = iov[i].iov_len - skip;

		sent -= (ssize_t)skip;
		if (rest == 0)
			continue;
		if (pend_room(b, rest) < 0)
			return -1;
		memcpy(b->pend + b->pend_len, (char *)iov[i].iov_base + skip,
		       rest);
		b->pend_len += rest;
	}
	return 0;
}

int
proxy_body_write(struct proxy_call *call)
{
	struct proxy_call_body *b = &call->body;
	ssize_t n;

	while (b->pend_len > 0) {
		n = upconn_send(call->conn, b->pend + b->pend_off, b->pend_len);
		if (n > 0) {
			call->sent_any = 1;
			b->pend_off += (size_t)n;
			b->pend_len -= (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return -1;
	}
	b->pend_off = 0;
	return 1;
}

size_t
proxy_body_pending(const struct proxy_call *call)
{
	return call->body.pend_len;
}

/* The last chunk of a chunked body. */
static int
body_out_last(struct proxy_call *call)
{
	struct proxy_call_body *b = &call->body;

	if (pend_room(b, 5) < 0)
		return -1;
	memcpy(b->pend + b->pend_len, "0\r\n\r\n", 5);
	b->pend_len += 5;
	return 0;
}

static void
body_piece(struct http_exchange *ex, const void *data, size_t len, int end,
           void *arg)
{
	struct proxy_call *call = arg;

	if (call->done)
		return;
	if (end < 0) {
		call->body.failed = 1;
		proxy_body_failed(call);
		return;
	}
	if (len > 0) {
		call->body.consumed = 1;
		if (body_out(call, data, len) < 0) {
			proxy_fail(call, 500, "internal", "out of memory");
			return;
		}
	}
	if (end > 0) {
		call->body.ended = 1;
		if (call->body.chunked && body_out_last(call) < 0) {
			proxy_fail(call, 500, "internal", "out of memory");
			return;
		}
	}
	if (call->body.pend_len >= PROXY_OUT_HIGH && !call->body.paused) {
		call->body.paused = 1;
		http_body_pause(ex, 1);
	}
	proxy_request_more(call);
}

void
proxy_body_flow(struct proxy_call *call)
{
	if (!call->body.streamed || call->body.ended || call->body.failed)
		return;
	if (!call->body.started) {
		call->body.started = 1;
		http_body_stream(call->ex, body_piece, call);
	} else if (call->body.paused) {
		call->body.paused = 0;
		http_body_pause(call->ex, 0);
	}
}

void
proxy_body_hold(struct proxy_call *call)
{
	if (!call->body.started || call->body.paused || call->body.ended ||
	    call->body.failed)
		return;
	call->body.paused = 1;
	http_body_pause(call->ex, 1);
}

int
proxy_body_complete(const struct proxy_call *call)
{
	return !call->body.streamed || call->body.ended;
}
