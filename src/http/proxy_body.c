/*
 * proxy_body.c - a request body streamed to the upstream as it arrives
 * (SPEC §7.7: never buffered whole). The client's pieces go into the
 * attempt's output behind the head, chunk-framed when the client's
 * length is unknown; past PROXY_OUT_HIGH bytes waiting for the
 * upstream, the client's body pauses until the socket has taken them.
 * The body flows only while an attempt is connected: between attempts
 * it is paused, and once a piece has gone out the request cannot be
 * sent again (no retry).
 */
#include "http/proxy_int.h"

#include <stdio.h>

#include <event2/buffer.h>

#include "http/server.h"

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
		if (call->body.chunked)
			evbuffer_add_printf(call->out, "%zx\r\n", len);
		evbuffer_add(call->out, data, len);
		if (call->body.chunked)
			evbuffer_add(call->out, "\r\n", 2);
	}
	if (end > 0) {
		call->body.ended = 1;
		if (call->body.chunked)
			evbuffer_add(call->out, "0\r\n\r\n", 5);
	}
	if (evbuffer_get_length(call->out) >= PROXY_OUT_HIGH &&
	    !call->body.paused) {
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
