/*
 * proxy_response.c - the upstream's answer, streamed to the client
 * (SPEC §7.7).
 *
 * Interim heads (103) pass on; a 101 to an Upgrade becomes a tunnel
 * (proxy_tunnel.c). Once the final head has come nothing is retried:
 * the head goes to the client with the upstream's fields, less the
 * hop-by-hop ones, and the body follows as it arrives, the upstream
 * read pausing while the client's queue is full (a large Content-Length
 * body moves by splice(2), proxy_splice.c). A complete response gives
 * its connection back to the pool when it can carry another request.
 */
#include "http/proxy_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/server.h"
#include "log.h"

/* --- the response ------------------------------------------------------ */

static void
client_drained(struct http_exchange *ex, void *arg)
{
	struct proxy_call *call = arg;

	(void)ex;
	if (!call->paused || call->conn == NULL)
		return;
	call->paused = 0;
	if (upconn_wait(call->conn, EV_READ, call->try_timeout_ms,
	                proxy_response_read, call) < 0)
		proxy_fail(call, 502, "bad-gateway", NULL);
}

/* The length the client is told: the upstream's, or -1 (chunked). A
 * HEAD answer announces the length a GET would have had. */
static int64_t
client_length(struct proxy_call *call)
{
	const struct http_response *r = &call->resp;
	const char *cl;

	if (r->framing == RESP_LENGTH)
		return (int64_t)r->length;
	if (call->head_request && r->status != 204 && r->status != 304 &&
	    (cl = resp_header(r, "Content-Length")) != NULL)
		return (int64_t)strtoull(cl, NULL, 10);
	/* A HEAD answer without a length (a chunked GET) announces none:
	 * Content-Length: 0 would claim the GET has no content. */
	if (r->framing == RESP_NO_BODY && !call->head_request &&
	    r->status != 204 && r->status != 304 && r->status >= 200)
		return 0;
	return -1;
}

void
proxy_forward_head(struct proxy_call *call, int upgrade)
{
	const struct http_response *r = &call->resp;
	int has_connection = resp_header(r, "Connection") != NULL;
	size_t i;

	for (i = 0; i < r->nfields; i++)
		if (proxy_response_field_passes(r, r->fields[i].name, upgrade,
		                                has_connection))
			http_add_header(call->ex, r->fields[i].name,
			                r->fields[i].value);
}

static void
forward_interim(struct proxy_call *call)
{
	const struct http_response *r = &call->resp;
	int has_connection = resp_header(r, "Connection") != NULL;
	const char *names[32], *values[32];
	size_t i, n = 0;

	for (i = 0; i < r->nfields && n < 32; i++) {
		if (!proxy_response_field_passes(r, r->fields[i].name, 0,
		                                 has_connection))
			continue;
		names[n] = r->fields[i].name;
		values[n++] = r->fields[i].value;
	}
	http_send_interim(call->ex, r->status, names, values, n);
}

/* The final head has come: from now the client hears it all. */
static int
final_head(struct proxy_call *call)
{
	call->head_seen = 1;
	event_del(&call->timer);
	proxy_attempt_log(call, UPSTREAM_OK);
	uptarget_record(call->target, UPSTREAM_OK);
	proxy_forward_head(call, 0);
	call->stream_begun = 1;
	if (http_stream_begin(call->ex, call->resp.status,
	                      client_length(call)) < 0)
		return -1;
	http_stream_on_drain(call->ex, client_drained, call);
	return 0;
}

/*
 * How long the target keeps an idle connection, when it says so
 * (`Keep-Alive: timeout=5`, as Node and Apache do): the pool lets the
 * connection go half a second before, so that it is not the target's
 * close that a request meets. 0 when it does not say.
 */
static unsigned
target_idle_ms(const struct http_response *r)
{
	const char *ka = resp_header(r, "Keep-Alive"), *p;
	unsigned long sec;

	if (ka == NULL || (p = strcasestr(ka, "timeout=")) == NULL)
		return 0;
	sec = strtoul(p + 8, NULL, 10);
	if (sec == 0 || sec > UPSTREAM_IDLE_MS / 1000)
		return 0;
	return (unsigned)sec * 1000 - 500;
}

/* The response is complete: the stream ends, the connection goes back
 * to the pool when it can carry another request. */
static void
response_done(struct proxy_call *call, int reusable)
{
	size_t i;

	for (i = 0; i < call->resp.ntrailers; i++)
		http_stream_trailer(call->ex, call->resp.trailers[i].name,
		                    call->resp.trailers[i].value);
	call->done = 1;
	http_on_abandon(call->ex, NULL, NULL);
	http_stream_end(call->ex);
	call->target->in_flight--;
	uptarget_unref(call->target);
	call->target = NULL;
	if (reusable && call->resp.keep_alive && call->written &&
	    call->conn != NULL) {
		call->conn->idle_ms = target_idle_ms(&call->resp);
		upconn_release(call->conn);
	}
	else if (call->conn != NULL)
		upconn_close(call->conn);
	call->conn = NULL;
	proxy_call_free(call);
}

/* The upstream broke off after the head (or the client did, for
 * UPSTREAM_OK): the client's body is cut. */
void
proxy_response_broken(struct proxy_call *call, enum upstream_outcome o)
{
	if (o != UPSTREAM_OK) {
		proxy_attempt_log(call, o);
		if (call->target != NULL && call->target->up != NULL)
			call->target->up->counts.attempts[o]++;
	}
	proxy_fail(call, 502, "bad-gateway", NULL);
}

/* Feeds what arrived; 1 to read on, 0 when the call ended or waits. */
static int
response_feed(struct proxy_call *call, const char *data, size_t len)
{
	while (len > 0 || (call->head_seen && !call->done)) {
		const char *piece;
		size_t used = 0, plen = 0;
		enum resp_result rr = resp_parse(&call->resp, data, len, &used,
		                                 &piece, &plen);

		data += used;
		len -= used;
		switch (rr) {
		case RESP_MORE:
			return 1;
		case RESP_HEAD:
			if (call->resp.status == 101) {
				if (!call->upgrade) {
					proxy_attempt_failed(call,
					               UPSTREAM_BAD_RESPONSE);
					return 0;
				}
				proxy_tunnel(call, data, len);
				return 0;
			}
			if (call->resp.status < 200) {
				if (call->resp.status != 100)
					forward_interim(call);
				continue;
			}
			if (final_head(call) < 0) {
				proxy_fail(call, 502, "bad-gateway", NULL);
				return 0;
			}
			continue;
		case RESP_BODY:
			switch (http_stream_write(call->ex, piece, plen)) {
			case -1:
				proxy_fail(call, 502, "bad-gateway", NULL);
				return 0;
			case 0:
				call->paused = 1;
				break;
			}
			continue;
		case RESP_DONE:
			response_done(call, len == 0);
			return 0;
		case RESP_ERROR:
			if (call->head_seen)
				proxy_response_broken(call,
				                      UPSTREAM_BAD_RESPONSE);
			else
				proxy_attempt_failed(call, UPSTREAM_BAD_RESPONSE);
			return 0;
		}
	}
	return 1;
}

void
proxy_response_feed_end(struct proxy_call *call)
{
	response_feed(call, "", 0);
}

/* The connection ended (FIN or reset) with what was read so far. */
static void
response_eof(struct proxy_call *call, int reset)
{
	if (!call->got_byte) {
		proxy_attempt_failed(call, UPSTREAM_RESET);
		return;
	}
	if (!reset && resp_finish(&call->resp) == RESP_DONE) {
		if (!call->head_seen) {
			proxy_attempt_failed(call, UPSTREAM_BAD_RESPONSE);
			return;
		}
		response_done(call, 0);
		return;
	}
	if (!call->head_seen)
		proxy_attempt_failed(call, call->got_byte ? UPSTREAM_BAD_RESPONSE :
		               UPSTREAM_RESET);
	else
		proxy_response_broken(call, UPSTREAM_RESET);
}

void
proxy_response_read(struct upconn *c, short what, void *arg)
{
	static char buf[UPSTREAM_READ_BUF];
	struct proxy_call *call = arg;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		if (!call->head_seen)
			proxy_attempt_failed(call, UPSTREAM_TIMEOUT);
		else
			proxy_response_broken(call, UPSTREAM_TIMEOUT);
		return;
	}
	n = upconn_recv(c, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		if (call->written || call->head_seen)
			upconn_wait(c, EV_READ | (c->ssl != NULL && c->want ==
			            EV_WRITE ? EV_WRITE : 0), call->head_seen ?
			            call->try_timeout_ms : proxy_attempt_wait_ms(call),
			            proxy_response_read, call);
		else
			proxy_request_wait(call);
		return;
	}
	if (n <= 0) {
		response_eof(call, n < 0);
		return;
	}
	call->got_byte = 1;
	if (!response_feed(call, buf, (size_t)n))
		return;
	/* A large body left to come, and the client's queue empty: the
	 * kernel moves the rest. */
	if (call->head_seen && !call->paused && proxy_splice_try(call))
		return;
	/* Still going: wait for more, unless the client must catch up
	 * first (its queue passed the mark during these writes): the
	 * drain hook reads on. */
	if (call->stream_begun)
		http_stream_flush(call->ex);
	if (call->paused) {
		upconn_wait(c, 0, 0, proxy_response_read, call);
		return;
	}
	if (!call->written && !call->head_seen) {
		proxy_request_wait(call);
		return;
	}
	upconn_wait(c, EV_READ, call->head_seen ? call->try_timeout_ms :
	            proxy_attempt_wait_ms(call), proxy_response_read, call);
}
