/*
 * proxy.c - an exchange forwarded to an upstream (SPEC §7.7): its setup
 * (what every attempt shares), its deadline, the client going away, the
 * errors it ends with, and the calls kept for the next exchanges.
 *
 * The attempts are proxy_attempt.c's, the response proxy_response.c's.
 * Out of attempts, the client gets 504 for a timeout, 502 otherwise,
 * and 503 with Retry-After when every target is ejected or down; the
 * detail names the upstream, never a target's address.
 */
#include "http/proxy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "http/problem.h"
#include "http/server.h"
#include "log.h"

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
	free(call->body.pend);
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
	call->body.pend = saved.body.pend;
	call->body.pend_cap = saved.body.pend_cap;
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
void
proxy_fail(struct proxy_call *call, int status, const char *code,
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
void
proxy_fail_by_outcome(struct proxy_call *call, enum upstream_outcome o)
{
	char detail[256];

	snprintf(detail, sizeof(detail), "upstream '%s' %s",
	         upstream_label(call->up), why_text(o));
	if (o == UPSTREAM_TIMEOUT)
		proxy_fail(call, 504, "gateway-timeout", detail);
	else
		proxy_fail(call, 502, "bad-gateway", detail);
}

void
proxy_fail_unavailable(struct proxy_call *call, unsigned retry_ms)
{
	char detail[256], after[16];

	snprintf(detail, sizeof(detail), "upstream '%s' has no target "
	         "available", upstream_label(call->up));
	snprintf(after, sizeof(after), "%u", retry_ms == 0 ? 1 :
	         (retry_ms + 999) / 1000);
	http_add_header(call->ex, "Retry-After", after);
	proxy_fail(call, 503, "unavailable", detail);
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
		proxy_attempt_end(call, UPSTREAM_TIMEOUT);
	}
	proxy_fail_by_outcome(call, UPSTREAM_TIMEOUT);
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
	proxy_attempt_begin(call);
}
