/*
 * proxy_attempt.c - one attempt of a forwarded exchange, and what comes
 * after a failed one (SPEC §7.7).
 *
 * An attempt picks a target, takes a pooled connection (or opens one
 * within connect_timeout_ms, with TLS for an https target), writes the
 * request and waits for the answer, all within try_timeout_ms and what
 * is left of timeout_ms. It fails before the response head on a refused
 * or timed out connect, a reset or close, or a timeout; then, as long
 * as retries and time allow, the next attempt goes to another target
 * when the method is idempotent or the request was never sent. A failure
 * on a reused pooled connection before any response byte earns one
 * retry on a fresh connection that does not count (the upstream may have
 * closed it as we sent: the keep-alive race).
 */
#include "http/proxy_int.h"

#include <errno.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"

static void request_write(struct upconn *c, short what, void *arg);

/* Request bytes the upstream has not taken: the head (and a body read
 * whole), then a streamed body's. */
static size_t
request_queued(const struct proxy_call *call)
{
	return evbuffer_get_length(call->out) + proxy_body_pending(call);
}

/* --- one attempt ------------------------------------------------------- */

void
proxy_attempt_log(struct proxy_call *call, enum upstream_outcome o)
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
void
proxy_attempt_end(struct proxy_call *call, enum upstream_outcome o)
{
	proxy_attempt_log(call, o);
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
void
proxy_attempt_failed(struct proxy_call *call, enum upstream_outcome o)
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
		proxy_attempt_log(call, o);
		call->target->in_flight--;
		uptarget_unref(call->target);
		call->target = NULL;
		call->fresh_retry_done = 1;
		call->fresh_only = 1;
		proxy_attempt_begin(call);
		return;
	}
	proxy_attempt_end(call, o);
	call->last_fail = o;
	if (may && call->retries_left > 0 && call->attempt <
	    PROXY_MAX_ATTEMPTS) {
		call->retries_left--;
		proxy_attempt_begin(call);
		return;
	}
	proxy_fail_by_outcome(call, o);
}

/* The deadline of one wait within the attempt. */
unsigned
proxy_attempt_wait_ms(struct proxy_call *call)
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
		proxy_fail(call, 500, "internal", "out of memory");
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
	proxy_fail(call, 400, "bad-request", "the request body broke off");
}

/* An https target's handshake, one step per event. */
static void
handshake(struct upconn *c, short what, void *arg)
{
	struct proxy_call *call = arg;

	if (what & EV_TIMEOUT) {
		call->last_why = "TLS handshake timed out";
		proxy_attempt_failed(call, UPSTREAM_CONNECT_ERROR);
		return;
	}
	switch (upconn_handshake(c)) {
	case 1:
		send_request(call);
		return;
	case 0:
		if (upconn_wait(c, c->want, proxy_attempt_wait_ms(call), handshake,
		                call) == 0)
			return;
		call->last_why = "out of memory";
		break;
	default:
		call->last_why = c->tls_why;
		break;
	}
	proxy_attempt_failed(call, UPSTREAM_CONNECT_ERROR);
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
		proxy_attempt_failed(call, call->connect_cut ? UPSTREAM_TIMEOUT :
		               UPSTREAM_CONNECT_ERROR);
		return;
	}
	if ((err = upconn_connect_result(c)) != 0) {
		call->last_why = strerror(err);
		proxy_attempt_failed(call, UPSTREAM_CONNECT_ERROR);
		return;
	}
	if (c->target->scheme != TARGET_HTTPS) {
		send_request(call);
		return;
	}
	if (upconn_tls_start(c) < 0) {
		call->last_why = c->tls_why;
		proxy_attempt_failed(call, UPSTREAM_CONNECT_ERROR);
		return;
	}
	handshake(c, EV_WRITE, call);
}

void
proxy_attempt_begin(struct proxy_call *call)
{
	struct upstream *u = call->up;
	unsigned retry_ms = 0, connect_ms;
	struct uptarget *t;
	int err;

	t = upstream_pick(u, call->tried, call->ntried, &retry_ms);
	if (t == NULL) {
		if (call->attempt == 0)
			proxy_fail_unavailable(call, retry_ms);
		else
			proxy_fail_by_outcome(call, call->last_fail);
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
		proxy_attempt_failed(call, UPSTREAM_CONNECT_ERROR);
		return;
	}
	connect_ms = u->connect_timeout_ms < proxy_attempt_wait_ms(call) ?
	    u->connect_timeout_ms : proxy_attempt_wait_ms(call);
	call->connect_cut = connect_ms < u->connect_timeout_ms;
	if (upconn_wait(call->conn, EV_WRITE, connect_ms, connected,
	                call) < 0)
		proxy_attempt_failed(call, UPSTREAM_CONNECT_ERROR);
}

/* --- writing the request ----------------------------------------------- */

/* The socket took what it could; wait for room, the rest of a streamed
 * body, or the answer (which may come early). */
void
proxy_request_wait(struct proxy_call *call)
{
	short what = EV_READ;

	if (request_queued(call) > 0)
		what |= EV_WRITE;
	if (upconn_wait(call->conn, what, proxy_attempt_wait_ms(call),
	                request_queued(call) > 0 ? request_write :
	                proxy_response_read, call) < 0)
		proxy_attempt_failed(call, UPSTREAM_RESET);
}

static void
request_write(struct upconn *c, short what, void *arg)
{
	struct proxy_call *call = arg;
	int n;

	if (what & EV_TIMEOUT) {
		proxy_attempt_failed(call, UPSTREAM_TIMEOUT);
		return;
	}
	if (what & EV_READ) {
		/* An answer (or a close) before the request was all out. */
		proxy_response_read(c, EV_READ, call);
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
		proxy_attempt_failed(call, UPSTREAM_RESET);
		return;
	}
	if (evbuffer_get_length(call->out) == 0 &&
	    proxy_body_write(call) < 0) {
		proxy_attempt_failed(call, UPSTREAM_RESET);
		return;
	}
	if (request_queued(call) == 0 && proxy_body_complete(call))
		call->written = 1;
	if (request_queued(call) < PROXY_OUT_HIGH / 2)
		proxy_body_flow(call);
	proxy_request_wait(call);
}
