/*
 * auth.c - who is calling: the bearer token of a user or admin route,
 * verified by the product's auth service (aster/auth.h), and the scope
 * rule of SPEC §7.4 applied to the answer.
 *
 * The auth service is found in the request's generation (credential.c).
 * A token verified at once (a cached key, a JWT) continues the request
 * inside the call; one that needs the store continues it from the
 * callback. The credential is copied into the request context.
 *
 * Failed credentials are throttled here, per client address, before
 * the service sees the token (SPEC §7.4, aster/auth.h): a request
 * presenting a credential is refused 429 when its address's bucket in
 * rt->failures (under the limit the service reports) has no token left;
 * a failure takes one. A verify still in flight when verify() returns
 * (a store lookup) holds a token until it answers and gives it back
 * unless it failed, so concurrent guesses from one address cannot
 * start more lookups than the bucket holds; a credential answered
 * inside the call (a cached key, a JWT) costs one hash lookup and
 * creates no bucket. A request without Authorization is not counted:
 * it costs nothing, and a browser or a client probing a route's scope
 * sends that. IPv6 clients are counted per /64, the block one host
 * usually holds; Unix-socket clients share the bucket "unix".
 */
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <aster/auth.h>
#include <aster/provider.h>

#include "http/problem.h"
#include "http/server.h"

/* --- failed credentials ---------------------------------------------- */

#define FAILURE_SCOPE "auth:failed"

/* The failed-credential limit of the auth service (its default when
 * there is none running) as a rate limit. */
static void
failure_limit(struct generation *g, struct rate_limit *out)
{
	struct aster_auth_limit l = {ASTER_AUTH_FAILURES_REQUESTS,
	                             ASTER_AUTH_FAILURES_PER_MS,
	                             ASTER_AUTH_FAILURES_BURST};
	struct auth_handle auth;

	if (runtime_auth_of(g, &auth) == 0 && auth.ops->failure_limit != NULL)
		auth.ops->failure_limit(auth.self, &l);
	memset(out, 0, sizeof(*out));
	out->requests = l.requests;
	out->per_ms = l.per_ms;
	out->burst = l.burst;
}

/* Checks ex's address before its credential is looked at; 0, or 1 when
 * the address is over its limit and ex has been answered 429. */
static int
failure_check(struct http_exchange *ex, struct request_ctx *ctx)
{
	struct failure_hold *h = &ctx->auth_hold;
	struct ratelimit_result r;
	char detail[128], v[24];

	if (ctx->rt == NULL || ctx->rt->failures == NULL)
		return 0;
	failure_limit(ctx->gen, &h->limit);
	ratelimit_client_key(http_peer(ex), h->client, sizeof(h->client));
	if (ratelimit_peek(ctx->rt->failures, &h->limit, FAILURE_SCOPE,
	                   h->client, runtime_now_us() / 1000, &r))
		return 0;
	snprintf(v, sizeof(v), "%lld", r.retry_after_s);
	http_add_header(ex, "Retry-After", v);
	snprintf(detail, sizeof(detail), "too many failed credentials from "
	         "this address; retry in %lld s", r.retry_after_s);
	problem_send(ex, 429, "rate-limited", detail, ctx->request_id);
	return 1;
}

/* Takes a token from the address's bucket (checked by failure_check());
 * 1 when one was taken. */
static int
failure_take(struct request_ctx *ctx)
{
	struct failure_hold *h = &ctx->auth_hold;
	struct ratelimit_result r;

	if (ctx->rt == NULL || ctx->rt->failures == NULL)
		return 0;
	return ratelimit_take(ctx->rt->failures, &h->limit, FAILURE_SCOPE,
	                      h->client, runtime_now_us() / 1000, &r);
}

/* The verify in flight did not fail: its token goes back. */
static void
failure_give_back(struct request_ctx *ctx)
{
	struct failure_hold *h = &ctx->auth_hold;

	if (!h->held)
		return;
	h->held = 0;
	ratelimit_give_back(ctx->rt->failures, &h->limit, FAILURE_SCOPE,
	                    h->client, runtime_now_us() / 1000);
}

/* --- verifying ----------------------------------------------------------- */

static void
refuse_401(struct http_exchange *ex, struct request_ctx *ctx,
           const char *detail, int invalid_token)
{
	http_add_header(ex, "WWW-Authenticate", invalid_token ?
	                "Bearer error=\"invalid_token\"" : "Bearer");
	problem_send(ex, 401, "unauthorized", detail, ctx->request_id);
}

/* The token of "Authorization: Bearer TOKEN" (scheme case-insensitive,
 * RFC 9110 11.1), or NULL. */
static const char *
bearer_token(const char *h, size_t *len)
{
	const char *t, *end;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	for (t = h + 7; *t == ' '; t++)
		;
	for (end = t; *end != '\0' && *end != ' ' && *end != '\t'; end++)
		;
	*len = (size_t)(end - t);
	return *len > 0 && *end == '\0' ? t : NULL;
}

static void
on_verified(void *arg, enum aster_auth_status st,
            const struct aster_credential *cred, const char *detail)
{
	struct http_exchange *ex = arg;
	struct request_ctx *ctx = http_data(ex);
	char text[256];

	if (ctx->auth_hold.answered != NULL) {     /* inside verify() */
		*ctx->auth_hold.answered = 1;
		ctx->auth_hold.answered = NULL;
		if (st == ASTER_AUTH_INVALID)
			(void)failure_take(ctx);
	} else if (st == ASTER_AUTH_OK || st == ASTER_AUTH_UNAVAILABLE) {
		failure_give_back(ctx);
	}
	ctx->auth_hold.held = 0;    /* a failure keeps its token */
	/* Answered 504 meanwhile: the request goes no further (this
	 * answer is dropped and lets the exchange go). */
	if (http_timed_out(ex)) {
		http_respond(ex, 504, NULL, 0);
		return;
	}
	if (st == ASTER_AUTH_UNAVAILABLE) {
		http_add_header(ex, "Retry-After", "1");
		problem_send(ex, 503, "unavailable", detail != NULL ? detail :
		             "credentials cannot be verified now",
		             ctx->request_id);
		return;
	}
	if (st != ASTER_AUTH_OK) {
		refuse_401(ex, ctx, detail != NULL ? detail :
		           "the credential is not valid", 1);
		return;
	}
	if ((ctx->cred = runtime_credential_copy(cred)) == NULL) {
		problem_send(ex, 500, "internal", "out of memory",
		             ctx->request_id);
		return;
	}
	if ((ctx->route->scope & SCOPE_ADMIN) &&
	    strcmp(ctx->cred->role, "admin") != 0) {
		snprintf(text, sizeof(text), "the credential's role is '%s'; "
		         "this route needs role admin", ctx->cred->role);
		problem_send(ex, 403, "forbidden", text, ctx->request_id);
		return;
	}
	ctx->after_auth(ex, ctx);
}

void
runtime_authenticate(struct http_exchange *ex, struct request_ctx *ctx,
                     request_step_fn next)
{
	const char *header = http_header(ex, "Authorization");
	struct auth_handle auth;
	struct module_run *run;
	const char *token;
	size_t len;
	int answered = 0, rc;

	if (!(ctx->route->scope & (SCOPE_USER | SCOPE_ADMIN))) {
		next(ex, ctx);
		return;
	}
	ctx->after_auth = next;
	if (header == NULL) {
		refuse_401(ex, ctx, "a bearer credential is required", 0);
		return;
	}
	if (failure_check(ex, ctx))
		return;
	if ((token = bearer_token(header, &len)) == NULL) {
		(void)failure_take(ctx);
		refuse_401(ex, ctx, "the Authorization header is not "
		           "'Bearer TOKEN'", 1);
		return;
	}
	if (runtime_auth_of(ctx->gen, &auth) < 0) {
		run = runtime_auth_run(ctx->gen);
		if (run != NULL && run->state != MODULE_RUNNING) {
			http_add_header(ex, "Retry-After", "1");
			problem_send(ex, 503, "unavailable", "the auth module "
			             "is not running", ctx->request_id);
			return;
		}
		refuse_401(ex, ctx, "the credential cannot be verified: no "
		           "service of the auth module verifies credentials",
		           1);
		return;
	}
	/* answered tells whether on_verified() ran inside the call: then
	 * it has charged a failure itself, and ctx may be gone. */
	ctx->auth_hold.answered = &answered;
	rc = auth.ops->verify(auth.self, token, len, on_verified, ex);
	if (answered)
		return;
	ctx->auth_hold.answered = NULL;
	if (rc < 0) {
		problem_send(ex, 500, "internal", "the auth service refused "
		             "the request", ctx->request_id);
		return;
	}
	/* A lookup in flight holds a token until it answers, so that
	 * concurrent guesses cannot pass the check together. */
	ctx->auth_hold.held = failure_take(ctx);
}
