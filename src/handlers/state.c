/*
 * state.c - the internal state API (SPEC §8), operations `state` and
 * `state-list` of the built-in gateway provider: the entry point and what
 * both operations share (names, the store, errors).
 *
 *   GET|HEAD|PUT|DELETE .../{namespace}/{key}   one JSON document
 *                                               (state_doc.c)
 *   GET .../{namespace}?prefix=&limit=&cursor=  a page of documents
 *                                               (state_list.c)
 *
 * The documents live in the state store the route's module reaches
 * (aster/store.h): its own when it provides state-store, else the one it
 * needs. Every store call answers later, so each request keeps a small
 * state of its own until its callback responds; the exchange itself
 * lives until answered, even if the client has gone or the server has
 * answered 504 in its place (the callback's answer is then dropped).
 */
#include "handlers/state.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "handlers/handlers.h"
#include "http/problem.h"
#include "http/server.h"
#include "runtime/runtime.h"
#include "util/utf8.h"

int
state_valid_namespace(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > STATE_NAMESPACE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

int
state_valid_key(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, len;

	if (n == 0 || n > STATE_KEY_MAX)
		return 0;
	for (; i < n; i += len)
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (len = utf8_sequence(p + i, n - i)) == 0)
			return 0;
	return 1;
}

const char *
state_param_from_end(const struct request_ctx *ctx, size_t back)
{
	const struct route_match *m = &ctx->match;

	return m->nparams >= back ? m->params[m->nparams - back].value : NULL;
}

const struct aster_store *
state_store_or_answer(struct http_exchange *ex, struct request_ctx *ctx)
{
	const struct aster_store *s = runtime_store_of(ctx->gen,
	                                               ctx->route->module);

	if (s == NULL) {
		http_add_header(ex, "Retry-After", "1");
		problem_send(ex, 503, "unavailable", "no state store is "
		             "running for this module", ctx->request_id);
	}
	return s;
}

void
state_send_store_error(struct http_exchange *ex, struct request_ctx *ctx,
                 enum aster_store_status st, const char *error)
{
	char detail[512];

	if (st == ASTER_STORE_UNAVAILABLE) {
		snprintf(detail, sizeof(detail), "the state store is "
		         "unavailable%s%s", error != NULL ? ": " : "",
		         error != NULL ? error : "");
		http_add_header(ex, "Retry-After", "1");
		problem_send(ex, 503, "unavailable", detail, ctx->request_id);
		return;
	}
	snprintf(detail, sizeof(detail), "the state store failed: %s",
	         error != NULL ? error : "unknown error");
	problem_send(ex, 500, "internal", detail, ctx->request_id);
}

void
state_send_out_of_memory(struct http_exchange *ex, struct request_ctx *ctx)
{
	problem_send(ex, 500, "internal", "out of memory", ctx->request_id);
}

void
handler_state(struct http_exchange *ex, struct request_ctx *ctx)
{
	if (strcmp(ctx->route->handler->operation, "state-list") == 0)
		state_list_documents(ex, ctx);
	else
		state_serve_document(ex, ctx);
}
