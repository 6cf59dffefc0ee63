/*
 * proxy.c - an exchange forwarded to an upstream (SPEC §7.7): attempts,
 * retries, errors, and the response streamed back.
 *
 * An attempt picks a target, takes a pooled connection (or opens one
 * within connect_timeout_ms), writes the request and reads the answer,
 * all within try_timeout_ms and what is left of timeout_ms. It fails
 * before the response head on a refused or timed out connect, a reset or
 * close, or a timeout; then, as long as retries and time allow, the next
 * attempt goes to another target when the method is idempotent or the
 * request was never sent. A failure on a reused pooled connection before
 * any response byte earns one retry on a fresh connection that does not
 * count (the upstream may have closed it as we sent: the keep-alive
 * race). Once the final head has come, nothing is retried: the head goes
 * to the client and the body follows as it arrives, the upstream read
 * pausing while the client's queue is full. Out of attempts, the client
 * gets 504 for a timeout, 502 otherwise, and 503 with Retry-After when
 * every target is ejected or down.
 */
#include "http/proxy_int.h"

#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "http/problem.h"
#include "http/server.h"
#include "log.h"

static void attempt_begin(struct proxy_call *call);
static void response_read(struct upconn *c, short what, void *arg);
static void request_write(struct upconn *c, short what, void *arg);

/* --- the end ----------------------------------------------------------- */

/*
 * Calls that ended, kept with their buffers (the head's, the request's,
 * the response parser's) for the next: a steady stream of requests
 * allocates nothing for them. At most CALLS_KEPT, freed at exit.
 */
#define CALLS_KEPT 256

static struct proxy_call *calls_kept[CALLS_KEPT];
static size_t ncalls_kept;

static void
call_destroy(struct proxy_call *call)
{
	if (call->fixed != NULL)
		evbuffer_free(call->fixed);
	if (call->out != NULL)
		evbuffer_free(call->out);
	resp_free(&call->resp);
	free(call->path);
	free(call);
}

static void
calls_drop_kept(void)
{
	while (ncalls_kept > 0)
		call_destroy(calls_kept[--ncalls_kept]);
}

/* A clean call: a kept one (its buffers emptied) or a new one. */
static struct proxy_call *
call_take(void)
{
	struct proxy_call *call, saved;

	if (ncalls_kept == 0) {
		call = calloc(1, sizeof(*call));
		if (call != NULL)
			resp_init(&call->resp, UPSTREAM_MAX_HEAD);
		return call;
	}
	call = calls_kept[--ncalls_kept];
	saved = *call;
	memset(call, 0, sizeof(*call));
	call->fixed = saved.fixed;
	call->out = saved.out;
	call->resp = saved.resp;
	call->path = saved.path;
	call->path_cap = saved.path_cap;
	return call;
}

void
proxy_call_free(struct proxy_call *call)
{
	static int registered;

	proxy_splice_free(call);
	if (call->conn != NULL)
		upconn_close(call->conn);
	if (call->target != NULL) {
		call->target->in_flight--;
		uptarget_unref(call->target);
	}
	if (call->timer_set)
		event_del(&call->timer);
	upstream_unref(call->up);
	if (ncalls_kept == CALLS_KEPT) {
		call_destroy(call);
		return;
	}
	if (!registered)
		registered = atexit(calls_drop_kept) == 0;
	if (call->fixed != NULL)
		evbuffer_drain(call->fixed, evbuffer_get_length(call->fixed));
	if (call->out != NULL)
		evbuffer_drain(call->out, evbuffer_get_length(call->out));
	calls_kept[ncalls_kept++] = call;
}

/* Answers with a problem and ends the call. */
static void
fail_with(struct proxy_call *call, int status, const char *code,
          const char *detail)
{
	struct http_exchange *ex = call->ex;

	call->done = 1;
	http_on_abandon(ex, NULL, NULL);
	if (call->stream_begun)
		http_stream_abort(ex);
	else
		problem_send(ex, status, code, detail, call->request_id);
	proxy_call_free(call);
}

static const char *
why_text(enum upstream_outcome o)
{
	switch (o) {
	case UPSTREAM_CONNECT_ERROR: return "could not be reached";
	case UPSTREAM_TIMEOUT: return "did not answer in time";
	case UPSTREAM_RESET: return "closed the connection";
	case UPSTREAM_BAD_RESPONSE: return "sent an invalid response";
	default: return "failed";
	}
}

/* Out of attempts: 504 for a timeout, 502 for the rest. The detail
 * names the upstream, never a target's address. */
static void
fail_by_outcome(struct proxy_call *call, enum upstream_outcome o)
{
	char detail[256];

	snprintf(detail, sizeof(detail), "upstream '%s' %s",
	         upstream_label(call->up), why_text(o));
	if (o == UPSTREAM_TIMEOUT)
		fail_with(call, 504, "gateway-timeout", detail);
	else
		fail_with(call, 502, "bad-gateway", detail);
}

static void
fail_unavailable(struct proxy_call *call, unsigned retry_ms)
{
	char detail[256], after[16];

	snprintf(detail, sizeof(detail), "upstream '%s' has no target "
	         "available", upstream_label(call->up));
	snprintf(after, sizeof(after), "%u", retry_ms == 0 ? 1 :
	         (retry_ms + 999) / 1000);
	http_add_header(call->ex, "Retry-After", after);
	fail_with(call, 503, "unavailable", detail);
}

/* --- one attempt ------------------------------------------------------- */

static void
attempt_log(struct proxy_call *call, enum upstream_outcome o)
{
	if (!log_enabled(LOG_DEBUG))
		return;
	log_msg(LOG_DEBUG, "request %s: upstream %s target %s attempt %u%s: "
	        "%s in %.1f ms%s%s", call->request_id,
	        upstream_label(call->up), call->target->url, call->attempt,
	        call->reused ? " (pooled)" : "", upstream_outcome_name(o),
	        (double)(upstream_now_ms() - call->attempt_start_ms),
	        o != UPSTREAM_OK && call->last_why != NULL ? ": " : "",
	        o != UPSTREAM_OK && call->last_why != NULL ? call->last_why :
	        "");
	call->last_why = NULL;
}

/* The attempt is over (the connection has gone or been kept). */
static void
attempt_end(struct proxy_call *call, enum upstream_outcome o)
{
	attempt_log(call, o);
	uptarget_record(call->target, o);
	call->target->in_flight--;
	uptarget_unref(call->target);
	call->target = NULL;
}

static unsigned
ms_until(uint64_t deadline)
{
	uint64_t now = upstream_now_ms();

	return deadline > now ? (unsigned)(deadline - now) : 1;
}

/* Could the request go out again? A streamed body that has begun to
 * go is gone. */
static int
replayable(const struct proxy_call *call)
{
	return !call->body.streamed || !call->body.consumed;
}

/* Is there time for another attempt? One that timed out at the
 * exchange's own deadline used the last of it, even when its timer (on
 * the loop's coarser clock) fired a few ms early. */
static int
time_left(const struct proxy_call *call, enum upstream_outcome o)
{
	if (o == UPSTREAM_TIMEOUT &&
	    call->attempt_deadline_ms >= call->deadline_ms)
		return 0;
	return upstream_now_ms() + PROXY_MIN_TRY_MS <= call->deadline_ms;
}

/* The attempt failed before the final head: retry or answer. */
static void
attempt_failed(struct proxy_call *call, enum upstream_outcome o)
{
	int reused = call->reused, never_sent = !call->sent_any;
	int may = (call->idempotent || never_sent) && replayable(call) &&
	    time_left(call, o);

	call->sending = 0;
	proxy_body_hold(call);
	if (call->conn != NULL) {
		upconn_close(call->conn);
		call->conn = NULL;
	}
	/* A pooled connection the upstream had closed says nothing about
	 * the target: it is not a failure of the target. */
	if (reused && !call->got_byte && o == UPSTREAM_RESET &&
	    !call->fresh_retry_done && may) {
		attempt_log(call, o);
		call->target->in_flight--;
		uptarget_unref(call->target);
		call->target = NULL;
		call->fresh_retry_done = 1;
		call->fresh_only = 1;
		attempt_begin(call);
		return;
	}
	attempt_end(call, o);
	call->last_fail = o;
	if (may && call->retries_left > 0 && call->attempt <
	    PROXY_MAX_ATTEMPTS) {
		call->retries_left--;
		attempt_begin(call);
		return;
	}
	fail_by_outcome(call, o);
}

/* The deadline of one wait within the attempt. */
static unsigned
attempt_wait_ms(struct proxy_call *call)
{
	return ms_until(call->attempt_deadline_ms);
}

static int
build_request(struct proxy_call *call)
{
	if (call->out == NULL && (call->out = evbuffer_new()) == NULL)
		return -1;
	evbuffer_drain(call->out, evbuffer_get_length(call->out));
	if (proxy_head_attempt(call->out, call->ex, call, call->target) < 0 ||
	    evbuffer_add_buffer_reference(call->out, call->fixed) < 0)
		return -1;
	if (!call->body.streamed && call->body.len > 0 &&
	    evbuffer_add_reference(call->out, call->body.data, call->body.len,
	                           NULL, NULL) < 0)
		return -1;
	return 0;
}

static void
send_request(struct proxy_call *call)
{
	call->sent_any = 0;
	call->written = 0;
	call->got_byte = 0;
	if (build_request(call) < 0) {
		fail_with(call, 500, "internal", "out of memory");
		return;
	}
	resp_begin(&call->resp, call->head_request);
	call->sending = 1;
	request_write(call->conn, EV_WRITE, call);
	if (call->sending)
		proxy_body_flow(call);
}

void
proxy_request_more(struct proxy_call *call)
{
	if (call->sending && call->conn != NULL)
		request_write(call->conn, EV_WRITE, call);
}

void
proxy_body_failed(struct proxy_call *call)
{
	fail_with(call, 400, "bad-request", "the request body broke off");
}

/* An https target's handshake, one step per event. */
static void
handshake(struct upconn *c, short what, void *arg)
{
	struct proxy_call *call = arg;

	if (what & EV_TIMEOUT) {
		call->last_why = "TLS handshake timed out";
		attempt_failed(call, UPSTREAM_CONNECT_ERROR);
		return;
	}
	switch (upconn_handshake(c)) {
	case 1:
		send_request(call);
		return;
	case 0:
		if (upconn_wait(c, c->want, attempt_wait_ms(call), handshake,
		                call) == 0)
			return;
		call->last_why = "out of memory";
		break;
	default:
		call->last_why = c->tls_why;
		break;
	}
	attempt_failed(call, UPSTREAM_CONNECT_ERROR);
}

static void
connected(struct upconn *c, short what, void *arg)
{
	struct proxy_call *call = arg;
	int err;

	if (what & EV_TIMEOUT) {
		/* Cut by the attempt's time rather than connect_timeout_ms:
		 * no answer in time, like any other wait of the attempt. */
		call->last_why = "connect timed out";
		attempt_failed(call, call->connect_cut ? UPSTREAM_TIMEOUT :
		               UPSTREAM_CONNECT_ERROR);
		return;
	}
	if ((err = upconn_connect_result(c)) != 0) {
		call->last_why = strerror(err);
		attempt_failed(call, UPSTREAM_CONNECT_ERROR);
		return;
	}
	if (c->target->scheme != TARGET_HTTPS) {
		send_request(call);
		return;
	}
	if (upconn_tls_start(c) < 0) {
		call->last_why = c->tls_why;
		attempt_failed(call, UPSTREAM_CONNECT_ERROR);
		return;
	}
	handshake(c, EV_WRITE, call);
}

static void
attempt_begin(struct proxy_call *call)
{
	struct upstream *u = call->up;
	unsigned retry_ms = 0, connect_ms;
	struct uptarget *t;
	int err;

	t = upstream_pick(u, call->tried, call->ntried, &retry_ms);
	if (t == NULL) {
		if (call->attempt == 0)
			fail_unavailable(call, retry_ms);
		else
			fail_by_outcome(call, call->last_fail);
		return;
	}
	call->target = uptarget_ref(t);
	t->in_flight++;
	if (call->ntried < PROXY_MAX_ATTEMPTS)
		call->tried[call->ntried++] = t;
	call->attempt++;
	call->attempt_start_ms = upstream_now_ms();
	call->attempt_deadline_ms = call->attempt_start_ms +
	    call->try_timeout_ms;
	if (call->attempt_deadline_ms > call->deadline_ms)
		call->attempt_deadline_ms = call->deadline_ms;
	call->reused = 0;
	call->sent_any = 0;
	call->got_byte = 0;
	if (!call->fresh_only && (call->conn = upconn_take_idle(t)) != NULL) {
		call->reused = 1;
		send_request(call);
		return;
	}
	call->fresh_only = 0;
	if ((call->conn = upconn_open(t, &err)) == NULL) {
		call->last_why = strerror(err);
		attempt_failed(call, UPSTREAM_CONNECT_ERROR);
		return;
	}
	connect_ms = u->connect_timeout_ms < attempt_wait_ms(call) ?
	    u->connect_timeout_ms : attempt_wait_ms(call);
	call->connect_cut = connect_ms < u->connect_timeout_ms;
	if (upconn_wait(call->conn, EV_WRITE, connect_ms, connected,
	                call) < 0)
		attempt_failed(call, UPSTREAM_CONNECT_ERROR);
}

/* --- writing the request ----------------------------------------------- */

/* The socket took what it could; wait for room, the rest of a streamed
 * body, or the answer (which may come early). */
static void
request_wait(struct proxy_call *call)
{
	short what = EV_READ;

	if (evbuffer_get_length(call->out) > 0)
		what |= EV_WRITE;
	if (upconn_wait(call->conn, what, attempt_wait_ms(call),
	                evbuffer_get_length(call->out) > 0 ? request_write :
	                response_read, call) < 0)
		attempt_failed(call, UPSTREAM_RESET);
}

static void
request_write(struct upconn *c, short what, void *arg)
{
	struct proxy_call *call = arg;
	int n;

	if (what & EV_TIMEOUT) {
		attempt_failed(call, UPSTREAM_TIMEOUT);
		return;
	}
	if (what & EV_READ) {
		/* An answer (or a close) before the request was all out. */
		response_read(c, EV_READ, call);
		return;
	}
	while (evbuffer_get_length(call->out) > 0) {
		n = upconn_write(c, call->out);
		if (n > 0) {
			call->sent_any = 1;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		attempt_failed(call, UPSTREAM_RESET);
		return;
	}
	if (evbuffer_get_length(call->out) == 0 && proxy_body_complete(call))
		call->written = 1;
	if (evbuffer_get_length(call->out) < PROXY_OUT_HIGH / 2)
		proxy_body_flow(call);
	request_wait(call);
}

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
	                response_read, call) < 0)
		fail_with(call, 502, "bad-gateway", NULL);
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
	attempt_log(call, UPSTREAM_OK);
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
		attempt_log(call, o);
		if (call->target != NULL && call->target->up != NULL)
			call->target->up->counts.attempts[o]++;
	}
	fail_with(call, 502, "bad-gateway", NULL);
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
					attempt_failed(call,
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
				fail_with(call, 502, "bad-gateway", NULL);
				return 0;
			}
			continue;
		case RESP_BODY:
			switch (http_stream_write(call->ex, piece, plen)) {
			case -1:
				fail_with(call, 502, "bad-gateway", NULL);
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
				attempt_failed(call, UPSTREAM_BAD_RESPONSE);
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
		attempt_failed(call, UPSTREAM_RESET);
		return;
	}
	if (!reset && resp_finish(&call->resp) == RESP_DONE) {
		if (!call->head_seen) {
			attempt_failed(call, UPSTREAM_BAD_RESPONSE);
			return;
		}
		response_done(call, 0);
		return;
	}
	if (!call->head_seen)
		attempt_failed(call, call->got_byte ? UPSTREAM_BAD_RESPONSE :
		               UPSTREAM_RESET);
	else
		proxy_response_broken(call, UPSTREAM_RESET);
}

static void
response_read(struct upconn *c, short what, void *arg)
{
	static char buf[UPSTREAM_READ_BUF];
	struct proxy_call *call = arg;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		if (!call->head_seen)
			attempt_failed(call, UPSTREAM_TIMEOUT);
		else
			proxy_response_broken(call, UPSTREAM_TIMEOUT);
		return;
	}
	n = upconn_recv(c, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		if (call->written || call->head_seen)
			upconn_wait(c, EV_READ | (c->ssl != NULL && c->want ==
			            EV_WRITE ? EV_WRITE : 0), call->head_seen ?
			            call->try_timeout_ms : attempt_wait_ms(call),
			            response_read, call);
		else
			request_wait(call);
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
		upconn_wait(c, 0, 0, response_read, call);
		return;
	}
	if (!call->written && !call->head_seen) {
		request_wait(call);
		return;
	}
	upconn_wait(c, EV_READ, call->head_seen ? call->try_timeout_ms :
	            attempt_wait_ms(call), response_read, call);
}

/* --- the exchange ------------------------------------------------------ */

static void
whole_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_call *call = arg;

	(void)fd;
	(void)what;
	if (call->head_seen)
		return;
	if (call->target != NULL) {
		if (call->conn != NULL) {
			upconn_close(call->conn);
			call->conn = NULL;
		}
		attempt_end(call, UPSTREAM_TIMEOUT);
	}
	fail_by_outcome(call, UPSTREAM_TIMEOUT);
}

/* The client went away, or the server answered 504 in our place: stop
 * (the connection to the upstream cannot be reused mid-exchange). */
static void
abandoned(struct http_exchange *ex, void *arg)
{
	struct proxy_call *call = arg;

	(void)ex;
	if (call->done)
		return;
	call->done = 1;
	log_msg(LOG_DEBUG, "request %s: the client left; upstream %s "
	        "abandoned", call->request_id, upstream_label(call->up));
	if (call->target != NULL) {
		call->target->in_flight--;
		uptarget_unref(call->target);
		call->target = NULL;
	}
	if (call->stream_begun)
		http_stream_abort(call->ex);
	else
		problem_send(call->ex, 502, "bad-gateway", NULL,
		             call->request_id);
	proxy_call_free(call);
}

static int
is_idempotent(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 ||
	    strcmp(m, "OPTIONS") == 0 || strcmp(m, "PUT") == 0 ||
	    strcmp(m, "DELETE") == 0;
}

/* The body: read whole (replayable), or streamed as it comes. */
static void
body_setup(struct proxy_call *call, struct http_exchange *ex)
{
	const char *cl = http_header(ex, "Content-Length");

	if (!http_body_streamed(ex)) {
		call->body.data = http_body(ex, &call->body.len);
		call->body.length = call->body.len;
		return;
	}
	call->body.streamed = 1;
	call->body.chunked = http_header(ex, "Transfer-Encoding") != NULL;
	call->body.length = cl != NULL && !call->body.chunked ?
	    strtoull(cl, NULL, 10) : 0;
}

/* The path into the call's own buffer (kept from call to call). */
static int
copy_path(struct proxy_call *call, const char *path)
{
	size_t len = strlen(path) + 1;

	if (len > call->path_cap) {
		char *p = realloc(call->path, len);

		if (p == NULL)
			return -1;
		call->path = p;
		call->path_cap = len;
	}
	memcpy(call->path, path, len);
	return 0;
}

static int
call_setup(struct proxy_call *call, struct http_exchange *ex,
           const struct proxy_request *pr)
{
	struct timeval tv;
	size_t tp = pr->traceparent != NULL ? strlen(pr->traceparent) : 0;

	call->ex = ex;
	call->up = upstream_ref(pr->upstream);
	if (copy_path(call, pr->path) < 0)
		return -1;
	snprintf(call->request_id, sizeof(call->request_id), "%s",
	         pr->request_id != NULL ? pr->request_id : "");
	if (tp == 55)
		memcpy(call->traceparent, pr->traceparent, 56);
	else
		memcpy(call->traceparent, "00-00000000000000000000000000000001"
		       "-0000000000000001-01", 56);
	call->try_timeout_ms = pr->try_timeout_ms;
	call->retries_left = pr->retries;
	call->preserve_host = pr->preserve_host;
	call->idempotent = is_idempotent(http_method(ex));
	call->head_request = strcmp(http_method(ex), "HEAD") == 0;
	/* A TLS listener's connection cannot be handed to a tunnel: the
	 * request goes without its Upgrade (the target answers it as a
	 * plain request), rather than be cut after a 101. */
	call->upgrade = proxy_is_upgrade(ex) && !http_is_tls(ex);
	body_setup(call, ex);
	call->deadline_ms = upstream_now_ms() + pr->timeout_ms;
	if (call->fixed == NULL)
		call->fixed = evbuffer_new();
	evtimer_assign(&call->timer, call->up->base, whole_deadline, call);
	call->timer_set = 1;
	if (call->fixed == NULL ||
	    proxy_head_fixed(call->fixed, ex, pr, &call->body,
	                     call->upgrade) < 0)
		return -1;
	tv.tv_sec = pr->timeout_ms / 1000;
	tv.tv_usec = (pr->timeout_ms % 1000) * 1000;
	return evtimer_add(&call->timer, &tv);
}

void
http_proxy(struct http_exchange *ex, const struct proxy_request *pr)
{
	struct proxy_call *call = call_take();

	if (call == NULL) {
		problem_send(ex, 500, "internal", "out of memory",
		             pr->request_id);
		return;
	}
	if (call_setup(call, ex, pr) < 0) {
		problem_send(ex, 500, "internal", "out of memory",
		             pr->request_id);
		proxy_call_free(call);
		return;
	}
	http_on_abandon(ex, abandoned, call);
	attempt_begin(call);
}
