/*
 * auth.c - who is calling: the bearer token of a user or admin route,
 * verified by the product's auth service (aster/auth.h), and the scope
 * rule of SPEC §7.4 applied to the answer.
 *
 * The auth service is found in the request's generation (credential.c).
 * A token verified at once (a cached key, a JWT) continues the request
 * inside the call; one that needs the store continues it from the
 * callback. The credential is copied into the request context.
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
	runtime_continue_request(ex, ctx);
}

void
runtime_authenticate(struct http_exchange *ex, struct request_ctx *ctx)
{
	const char *header = http_header(ex, "Authorization");
	struct auth_handle auth;
	struct module_run *run;
	const char *token;
	size_t len;

	if (!(ctx->route->scope & (SCOPE_USER | SCOPE_ADMIN))) {
		runtime_continue_request(ex, ctx);
		return;
	}
	if (header == NULL) {
		refuse_401(ex, ctx, "a bearer credential is required", 0);
		return;
	}
	if ((token = bearer_token(header, &len)) == NULL) {
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
	if (auth.ops->verify(auth.self, token, len, on_verified, ex) < 0)
		problem_send(ex, 500, "internal", "the auth service refused "
		             "the request", ctx->request_id);
}
