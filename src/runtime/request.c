/*
 * request.c - one request, from the server to a handler (SPEC §7).
 *
 * The request takes a reference to the current generation and keeps it
 * until its response is written, so a reload never pulls a route table
 * from under a request in flight.
 */
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "http/problem.h"
#include "http/server.h"
#include "log.h"

#define REQUEST_ID_MAX 128

/* xorshift128+: request and span ids need uniqueness, not secrecy, and
 * must cost nothing per request; seeded once from the kernel. */
static uint64_t rng_state[2];

static uint64_t
rng_next(void)
{
	uint64_t s1 = rng_state[0];
	const uint64_t s0 = rng_state[1];

	if ((rng_state[0] | rng_state[1]) == 0) {
		if (getrandom(rng_state, sizeof(rng_state), 0) !=
		    sizeof(rng_state))
			rng_state[0] = (uint64_t)runtime_now_us() | 1;
		s1 = rng_state[0];
	}
	rng_state[0] = s0;
	s1 ^= s1 << 23;
	rng_state[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
	return rng_state[1] + s0;
}

static void
hex64(char *out, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 15; i >= 0; i--, v >>= 4)
		out[i] = digits[v & 15];
}

static int
valid_request_id(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++)
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f ||
		    n >= REQUEST_ID_MAX)
			return 0;
	return n > 0;
}

static void
set_request_id(struct request_ctx *ctx, const char *given)
{
	if (valid_request_id(given)) {
		strcpy(ctx->request_id, given);
		return;
	}
	hex64(ctx->request_id, rng_next());
	hex64(ctx->request_id + 16, rng_next());
	ctx->request_id[32] = '\0';
}

static int
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* A W3C traceparent of version 00, with ids that are not all zeros. */
static int
valid_traceparent(const char *t)
{
	return t != NULL && strlen(t) == 55 && t[2] == '-' && t[35] == '-' &&
	    t[52] == '-' && is_hex(t, 2) && strncmp(t, "ff", 2) != 0 &&
	    is_hex(t + 3, 32) && is_hex(t + 36, 16) && is_hex(t + 53, 2) &&
	    strspn(t + 3, "0") < 32 && strspn(t + 36, "0") < 16;
}

/*
 * W3C trace context: keep the caller's trace id and flags (its sampling
 * decision), give the hop a new parent id; start a trace, sampled, when
 * there is none (or it is malformed).
 */
static void
set_traceparent(struct request_ctx *ctx, const char *given)
{
	char *tp = ctx->traceparent;

	memcpy(tp, "00-", 3);
	if (valid_traceparent(given)) {
		memcpy(tp + 3, given + 3, 32);
		memcpy(tp + 52, given + 52, 4);
	} else {
		hex64(tp + 3, rng_next());
		hex64(tp + 19, rng_next());
		memcpy(tp + 52, "-01", 4);
	}
	tp[35] = '-';
	hex64(tp + 36, rng_next() | 1);
}

static void
release_ctx(void *data)
{
	struct request_ctx *ctx = data;

	generation_unref(ctx->gen);
	free(ctx->path_copy);
	free(ctx->cred);
	free(ctx->query);
	free(ctx);
}

static void
on_complete(struct http_exchange *ex, void *arg)
{
	struct request_ctx *ctx = arg;
	struct access_entry e;
	char trace_id[33];

	if (!log_access_enabled())
		return;
	e.request_id = ctx->request_id;
	memcpy(trace_id, ctx->traceparent + 3, 32);  /* "" if never set */
	trace_id[32] = '\0';
	e.trace_id = trace_id[0] != '\0' ? trace_id : NULL;
	e.route_id = ctx->route != NULL ? ctx->route->id : NULL;
	e.module = ctx->route != NULL ? ctx->route->module->id : NULL;
	e.method = http_method(ex);
	e.path = http_target(ex);       /* as received: %0A stays %0A */
	e.path_len = e.path != NULL ? strcspn(e.path, "?") : 0;
	e.user_agent = http_header(ex, "User-Agent");
	e.status = http_status(ex);
	e.bytes = http_bytes_sent(ex);
	e.duration_ms = (double)(runtime_now_us() - http_started_us(ex)) /
	                1000.0;
	log_access(&e);
}

static void
answer_options_or_405(struct http_exchange *ex, struct request_ctx *ctx)
{
	char allow[128];

	router_allow_text(ctx->match.allowed, allow, sizeof(allow));
	http_add_header(ex, "Allow", allow);
	if (strcmp(http_method(ex), "OPTIONS") == 0) {
		http_respond(ex, 204, NULL, 0);
		return;
	}
	problem_send(ex, 405, "method-not-allowed", "the resource does not "
	             "answer this method", ctx->request_id);
}

static int
refuse_unless_running(struct http_exchange *ex, struct request_ctx *ctx)
{
	struct module_run *run = generation_find_run(ctx->gen,
	                                             ctx->route->module->id);

	if (run != NULL && module_run_live(run)->state == MODULE_RUNNING)
		return 0;
	http_add_header(ex, "Retry-After", "1");
	problem_send(ex, 503, "unavailable", "the module serving this route "
	             "is not running", ctx->request_id);
	return 1;
}

/*
 * A credential limited to some spaces reaches no other (SPEC §7.4): a
 * route's {spaceId} outside the limit is 404, as a space that does not
 * exist would be, so the limit tells nothing about other spaces.
 */
static int
refuse_outside_spaces(struct http_exchange *ex, struct request_ctx *ctx)
{
	const struct request_credential *c = ctx->cred;
	const char *space = NULL;
	size_t i;

	if (c == NULL || c->nspaces == 0)
		return 0;
	for (i = 0; i < ctx->match.nparams; i++)
		if (strcmp(ctx->match.params[i].name, "spaceId") == 0)
			space = ctx->match.params[i].value;
	if (space == NULL)
		return 0;
	for (i = 0; i < c->nspaces; i++)
		if (strcmp(c->spaces[i], space) == 0)
			return 0;
	problem_send(ex, 404, "not-found", "no such space", ctx->request_id);
	return 1;
}

/* What follows the credential check: space limit, rate limit, module
 * state, request body, handler. */
static void
continue_request(struct http_exchange *ex, struct request_ctx *ctx)
{
	if (refuse_outside_spaces(ex, ctx))
		return;
	if (!ratelimit_check(ctx->rt, ex, ctx, ctx->cred != NULL ?
	                     ctx->cred->id : NULL) &&
	    !refuse_unless_running(ex, ctx) && !runtime_refuse_body(ex, ctx))
		runtime_dispatch(ex, ctx);
}

/* The caller on a runtime's gateway socket: its module (SPEC §10). */
static struct request_credential *
runtime_caller(const char *module)
{
	struct aster_credential c;

	memset(&c, 0, sizeof(c));
	c.kind = "runtime";
	c.id = module;
	c.role = "internal";
	return runtime_credential_copy(&c);
}

void
runtime_on_request(struct http_exchange *ex, void *arg)
{
	struct listener_run *lr = arg;
	struct request_ctx *ctx = calloc(1, sizeof(*ctx));
	const char *path = http_path_raw(ex);
	int status;

	if (ctx == NULL) {
		problem_send(ex, 500, "internal", "out of memory", NULL);
		return;
	}
	ctx->rt = lr->rt;
	ctx->listener = lr;
	ctx->gen = generation_ref(lr->rt->current);
	if (lr->runtime_module != NULL)
		ctx->cred = runtime_caller(lr->runtime_module);
	set_request_id(ctx, http_header(ex, "X-Request-Id"));
	set_traceparent(ctx, http_header(ex, "traceparent"));
	http_set_data(ex, ctx, release_ctx);
	http_on_complete(ex, on_complete, ctx);
	http_add_header(ex, "X-Request-Id", ctx->request_id);
	ctx->path_copy = malloc(strlen(path) + 1);
	status = ctx->path_copy == NULL ? 500 :
	         router_match(ctx->gen->router, lr->scopes, http_method(ex),
	                      path, ctx->path_copy, &ctx->match);
	ctx->route = ctx->match.route;
	if (status == 404) {
		problem_send(ex, 404, "route-not-found", "no route matches "
		             "this path", ctx->request_id);
	} else if (status == 405 || ctx->route == NULL) {
		answer_options_or_405(ex, ctx);
	} else if (status != 200) {
		problem_send(ex, 500, "internal", NULL, ctx->request_id);
	} else {
		runtime_authenticate(ex, ctx, continue_request);
	}
}

/* A request the server refused before it was whole (400, 408, 413, 431,
 * 501, 505) still gets an id and an access line. One whose handler did
 * not answer in time (504) has both already, from its context. */
void
runtime_on_http_error(struct http_exchange *ex, int status, const char *code,
                      const char *detail, void *arg)
{
	struct request_ctx *ctx = http_data(ex);

	(void)arg;
	if (ctx != NULL) {
		problem_send(ex, status, code, detail, ctx->request_id);
		return;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		problem_send(ex, status, code, detail, NULL);
		return;
	}
	/* Fields parsed before the refusal (all of them when only the path
	 * was wrong) still name the request and its trace. */
	set_request_id(ctx, http_header(ex, "X-Request-Id"));
	set_traceparent(ctx, http_header(ex, "traceparent"));
	http_set_data(ex, ctx, free);
	http_on_complete(ex, on_complete, ctx);
	http_add_header(ex, "X-Request-Id", ctx->request_id);
	problem_send(ex, status, code, detail, ctx->request_id);
}
