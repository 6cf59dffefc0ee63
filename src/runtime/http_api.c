/*
 * http_api.c - aster/http.h on asterd's requests: the one place where a
 * provider's operation meets the HTTP server (SPEC §18).
 *
 * A struct aster_request is the request context's `api` member; every
 * call finds its context with request_of() and answers from the
 * exchange, the matched route and the verified credential. Built-in
 * operations (the gateway's, the state API) come through here exactly as
 * a .so provider's do.
 *
 * What a provider reads is computed on first use and kept in the context
 * (the decoded query, the credential's public form), so an operation that
 * reads nothing pays nothing.
 */
#include "runtime/runtime.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <aster/http.h>

#include "http/problem.h"
#include "http/server.h"
#include "runtime/describe.h"

static struct request_ctx *
request_of(const struct aster_request *r)
{
	return (struct request_ctx *)((char *)r -
	                              offsetof(struct request_ctx, api));
}

static const char *
api_method(const struct aster_request *r)
{
	return http_method(request_of(r)->ex);
}

static const char *
api_path(const struct aster_request *r)
{
	return http_path(request_of(r)->ex);
}

static const char *
api_param(const struct aster_request *r, const char *name)
{
	const struct request_ctx *ctx = request_of(r);
	size_t i;

	for (i = 0; i < ctx->match.nparams; i++)
		if (strcmp(ctx->match.params[i].name, name) == 0)
			return ctx->match.params[i].value;
	if (strcmp(name, "*") == 0 && ctx->route->prefix)
		return ctx->match.rest != NULL ? ctx->match.rest : "";
	return NULL;
}

static int
api_param_at(const struct aster_request *r, size_t i, const char **name,
             const char **value)
{
	const struct request_ctx *ctx = request_of(r);

	if (i >= ctx->match.nparams)
		return 0;
	*name = ctx->match.params[i].name;
	*value = ctx->match.params[i].value;
	return 1;
}

/* --- the query ------------------------------------------------------------ */

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) into out, form-style: '+' is a space, %XX a byte; a
 * '%' not followed by two hex digits, and %00 (a C string cannot hold
 * NUL), stay as written. Returns the end. */
static char *
form_decode(char *out, const char *s, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			*out++ = ' ';
		} else if (s[i] == '%' && i + 2 < n &&
		           (hi = hex_value(s[i + 1])) >= 0 &&
		           (lo = hex_value(s[i + 2])) >= 0 && (hi | lo) != 0) {
			*out++ = (char)(hi << 4 | lo);
			i += 2;
		} else {
			*out++ = s[i];
		}
	}
	*out++ = '\0';
	return out;
}

/* Splits the query into decoded pairs, once: one allocation holds the
 * pair array and the strings. */
static int
parse_query(struct request_ctx *ctx)
{
	const char *q = http_query(ctx->ex), *p, *amp, *eq;
	size_t len, n = 0, i = 0;
	char *text;

	ctx->query_parsed = 1;
	if (q == NULL || *q == '\0')
		return 0;
	len = strlen(q);
	for (p = q; p != NULL; p = strchr(p, '&'), p = p != NULL ? p + 1 : p)
		n++;
	ctx->query = malloc(n * sizeof(*ctx->query) + len + 2 * n);
	if (ctx->query == NULL)
		return -1;
	text = (char *)(ctx->query + n);
	for (p = q; i < n; p = amp + 1) {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = q + len;
		if (amp == p) {         /* "a&&b": no pair */
			n--;
			continue;
		}
		eq = memchr(p, '=', (size_t)(amp - p));
		ctx->query[i].name = text;
		text = form_decode(text, p, (size_t)((eq != NULL ? eq : amp) -
		                   p));
		ctx->query[i].value = text;
		text = eq != NULL ? form_decode(text, eq + 1,
		                                (size_t)(amp - eq - 1)) :
		       form_decode(text, "", 0);
		i++;
	}
	ctx->nquery = n;
	return 0;
}

static const char *
api_query(const struct aster_request *r, const char *name, size_t nth)
{
	struct request_ctx *ctx = request_of(r);
	size_t i;

	if (!ctx->query_parsed)
		parse_query(ctx);
	for (i = 0; i < ctx->nquery; i++)
		if (strcmp(ctx->query[i].name, name) == 0 && nth-- == 0)
			return ctx->query[i].value;
	return NULL;
}

static int
api_query_at(const struct aster_request *r, size_t i, const char **name,
             const char **value)
{
	struct request_ctx *ctx = request_of(r);

	if (!ctx->query_parsed)
		parse_query(ctx);
	if (i >= ctx->nquery)
		return 0;
	*name = ctx->query[i].name;
	*value = ctx->query[i].value;
	return 1;
}

/* --- headers, body, caller ---------------------------------------------- */

static const char *
api_header(const struct aster_request *r, const char *name)
{
	return http_header(request_of(r)->ex, name);
}

static int
api_header_at(const struct aster_request *r, size_t i, const char **name,
              const char **value)
{
	return http_header_at(request_of(r)->ex, i, name, value);
}

static const void *
api_body(const struct aster_request *r, size_t *len)
{
	return http_body(request_of(r)->ex, len);
}

static const struct aster_credential *
api_credential(const struct aster_request *r)
{
	struct request_ctx *ctx = request_of(r);
	const struct request_credential *c = ctx->cred;

	if (c == NULL)
		return NULL;
	ctx->cred_view.kind = c->kind;
	ctx->cred_view.id = c->id;
	ctx->cred_view.name = c->name;
	ctx->cred_view.role = c->role;
	ctx->cred_view.spaces = (const char *const *)c->spaces;
	ctx->cred_view.nspaces = c->nspaces;
	ctx->cred_view.expires_at = c->expires_at;
	return &ctx->cred_view;
}

static const char *
api_space(const struct aster_request *r)
{
	return api_param(r, "spaceId");
}

static const char *
api_request_id(const struct aster_request *r)
{
	return request_of(r)->request_id;
}

static const char *
api_trace_id(const struct aster_request *r)
{
	struct request_ctx *ctx = request_of(r);

	if (ctx->trace_id[0] == '\0') {
		memcpy(ctx->trace_id, ctx->traceparent + 3, 32);
		ctx->trace_id[32] = '\0';
	}
	return ctx->trace_id;
}

/* The peer without the brackets the server puts around IPv6. */
static const char *
api_client(const struct aster_request *r)
{
	struct request_ctx *ctx = request_of(r);
	const char *peer = http_peer(ctx->ex);
	size_t n;

	if (peer[0] != '[')
		return peer;
	if (ctx->client[0] == '\0') {
		n = strcspn(peer + 1, "]");
		if (n >= sizeof(ctx->client))
			n = sizeof(ctx->client) - 1;
		memcpy(ctx->client, peer + 1, n);
		ctx->client[n] = '\0';
	}
	return ctx->client;
}

static const struct aster_store *
api_store(const struct aster_request *r)
{
	struct request_ctx *ctx = request_of(r);

	return runtime_store_of(ctx->gen, ctx->route->module);
}

/* --- answering later ------------------------------------------------------ */

static int
api_alive(const struct aster_request *r)
{
	return !http_abandoned(request_of(r)->ex);
}

static void
on_abandoned(struct http_exchange *ex, void *arg)
{
	struct request_ctx *ctx = arg;

	(void)ex;
	if (ctx->abandon != NULL)
		ctx->abandon(&ctx->api, ctx->abandon_arg);
}

static void
api_on_abandon(struct aster_request *r, aster_abandon_fn fn, void *arg)
{
	struct request_ctx *ctx = request_of(r);

	ctx->abandon = fn;
	ctx->abandon_arg = arg;
	http_on_abandon(ctx->ex, on_abandoned, ctx);
}

/* --- answering ------------------------------------------------------------ */

/* RFC 9110 §5.6.2 tchar. */
static int
is_token(const char *s)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || strchr(extra, *s) != NULL))
			return 0;
	return 1;
}

/* Framing and the connection are the server's; the type goes with the
 * body through respond(). */
static int
server_owned(const char *name)
{
	static const char *const owned[] = {
		"Content-Length", "Transfer-Encoding", "Connection",
		"Content-Type", "Keep-Alive", "Upgrade", "Date", "X-Request-Id",
	};
	size_t i;

	for (i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if (strcasecmp(name, owned[i]) == 0)
			return 1;
	return 0;
}

static int
api_add_header(struct aster_request *r, const char *name, const char *value)
{
	if (name == NULL || value == NULL || !is_token(name) ||
	    server_owned(name) || strpbrk(value, "\r\n") != NULL)
		return -1;
	http_add_header(request_of(r)->ex, name, value);
	return 0;
}

static int
api_respond(struct aster_request *r, int status, const char *content_type,
            const void *body, size_t len)
{
	struct request_ctx *ctx = request_of(r);
	struct http_exchange *ex = ctx->ex;
	int dropped = http_abandoned(ex);

	if (status < 200 || status > 599 || (content_type != NULL &&
	    strpbrk(content_type, "\r\n") != NULL)) {
		problem_send(ex, 500, "internal", "the provider answered an "
		             "invalid status or Content-Type", ctx->request_id);
		return -1;
	}
	if (content_type != NULL)
		http_add_header(ex, "Content-Type", content_type);
	http_respond(ex, status, body, body != NULL ? len : 0);
	return dropped ? -1 : 0;
}

static int
api_problem(struct aster_request *r, int status, const char *code,
            const char *detail, const struct aster_problem_error *errors,
            size_t nerrors)
{
	struct request_ctx *ctx = request_of(r);
	struct http_exchange *ex = ctx->ex;
	struct problem_error errs[PROBLEM_MAX_ERRORS];
	int dropped = http_abandoned(ex);
	size_t i, n = 0;

	if (status < 400 || status > 599) {
		status = 500;
		code = "internal";
		dropped = 1;
	}
	for (i = 0; errors != NULL && i < nerrors && n < PROBLEM_MAX_ERRORS;
	     i++) {
		if (errors[i].pointer == NULL || errors[i].detail == NULL)
			continue;
		errs[n].pointer = errors[i].pointer;
		errs[n++].detail = errors[i].detail;
	}
	if (status == 401)
		http_add_header(ex, "WWW-Authenticate", "Bearer");
	problem_send_errors(ex, status, code, detail, ctx->request_id, errs, n);
	return dropped ? -1 : 0;
}

static char *
api_describe(const struct aster_request *r, const char *view, int *status)
{
	return runtime_describe(request_of(r), view, status);
}

static const struct aster_http api = {
	.method = api_method,
	.path = api_path,
	.param = api_param,
	.param_at = api_param_at,
	.query = api_query,
	.query_at = api_query_at,
	.header = api_header,
	.header_at = api_header_at,
	.body = api_body,
	.credential = api_credential,
	.space = api_space,
	.request_id = api_request_id,
	.trace_id = api_trace_id,
	.client = api_client,
	.store = api_store,
	.alive = api_alive,
	.on_abandon = api_on_abandon,
	.add_header = api_add_header,
	.respond = api_respond,
	.problem = api_problem,
	.describe = api_describe,
};

/* See runtime.h. */
struct aster_request *
runtime_request_api(struct request_ctx *ctx, struct http_exchange *ex)
{
	ctx->ex = ex;
	ctx->api.http = &api;
	return &ctx->api;
}
