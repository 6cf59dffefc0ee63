/*
 * proxy.c - a proxy or runtime route's request, as the HTTP layer is to
 * forward it (SPEC §7.7, §7.4, §10): the running upstream (or the
 * runtime process's socket), the path after strip_prefix, the timeouts,
 * and the caller's identity as X-Aster-* headers. The forwarding itself
 * is http/proxy.c's.
 */
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/problem.h"
#include "http/proxy.h"
#include "http/server.h"
#include "http/upstream.h"

#define IDENTITY_MAX 5
/* A body up to this is read whole: a retry can send it again. */
#define PROXY_REPLAY_MAX (64 * 1024)
/* A runtime route takes no settings: the proxy's defaults, no retry. */
#define RUNTIME_TIMEOUT_MS 30000

/* "a,b,c" of a limited credential's spaces, "*" for none; NULL when out
 * of memory. */
static char *
spaces_text(const struct request_credential *c)
{
	size_t i, len = 2;
	char *out, *p;

	if (c->nspaces == 0)
		return strdup("*");
	for (i = 0; i < c->nspaces; i++)
		len += strlen(c->spaces[i]) + 1;
	if ((out = malloc(len)) == NULL)
		return NULL;
	p = out;
	for (i = 0; i < c->nspaces; i++) {
		size_t n = strlen(c->spaces[i]);

		if (i > 0)
			*p++ = ',';
		memcpy(p, c->spaces[i], n);
		p += n;
	}
	*p = '\0';
	return out;
}

/* The identity headers of §7.4 into v; their count. */
static size_t
identity(struct request_ctx *ctx, struct proxy_header *v, char **spaces)
{
	const struct request_credential *c = ctx->cred;
	size_t n = 0, i;

	*spaces = NULL;
	if (c == NULL)
		return 0;
	v[n++] = (struct proxy_header){"X-Aster-Credential-Kind", c->kind};
	v[n++] = (struct proxy_header){"X-Aster-Credential-Id", c->id};
	v[n++] = (struct proxy_header){"X-Aster-Role", c->role};
	if ((*spaces = spaces_text(c)) != NULL)
		v[n++] = (struct proxy_header){"X-Aster-Spaces", *spaces};
	for (i = 0; i < ctx->match.nparams; i++)
		if (strcmp(ctx->match.params[i].name, "spaceId") == 0)
			v[n++] = (struct proxy_header){"X-Aster-Space",
			                               ctx->match.params[i].value};
	return n;
}

/* The path to forward: the whole one, or with strip_prefix what lies
 * below the mount point ("/" at least). */
static const char *
forwarded_path(struct http_exchange *ex, struct request_ctx *ctx)
{
	const struct proxy_handler *p = ctx->route->handler->proxy;

	if (!p->strip_prefix)
		return http_path_raw(ex);
	if (ctx->route->prefix && ctx->match.rest != NULL &&
	    ctx->match.rest[0] == '/')
		return ctx->match.rest;
	return "/";
}

/* Forwards ex as pr says (its upstream, path and settings), with the
 * request's ids and the caller's identity. */
static void
forward(struct http_exchange *ex, struct request_ctx *ctx,
        struct proxy_request *pr)
{
	struct proxy_header add[IDENTITY_MAX];
	char *spaces;

	pr->request_id = ctx->request_id;
	pr->traceparent = ctx->traceparent;
	pr->add = add;
	pr->nadd = identity(ctx, add, &spaces);
	http_proxy(ex, pr);
	free(spaces);
}

void
runtime_proxy(struct http_exchange *ex, struct request_ctx *ctx)
{
	const struct proxy_handler *p = ctx->route->handler->proxy;
	struct upstream *u = p->resolved != NULL ?
	    runtime_upstream_of(ctx->gen, p->resolved) : NULL;
	struct proxy_request pr;

	if (u == NULL) {
		http_add_header(ex, "Retry-After", "1");
		problem_send(ex, 503, "unavailable", "the upstream is not "
		             "running", ctx->request_id);
		return;
	}
	memset(&pr, 0, sizeof(pr));
	pr.upstream = u;
	pr.path = forwarded_path(ex, ctx);
	pr.timeout_ms = upstream_ms(p->timeout_ms);
	pr.try_timeout_ms = upstream_ms(p->try_timeout_ms);
	pr.retries = (unsigned)p->retries;
	pr.preserve_host = p->preserve_host;
	pr.pass_authorization = p->pass_authorization;
	forward(ex, ctx, &pr);
}

void
runtime_forward(struct http_exchange *ex, struct request_ctx *ctx)
{
	const char *id = ctx->route->module->id;
	struct module_run *run = generation_find_run(ctx->gen, id);
	struct proxy_request pr;
	struct upstream *u;
	unsigned retry_s = 1;
	char detail[160], retry[16];

	u = run != NULL ? runtime_proc_upstream(ctx->rt, run, &retry_s) : NULL;
	if (u == NULL) {
		snprintf(retry, sizeof(retry), "%u", retry_s);
		snprintf(detail, sizeof(detail), "the runtime of module '%s' "
		         "is not ready", id);
		http_add_header(ex, "Retry-After", retry);
		problem_send(ex, 503, "unavailable", detail, ctx->request_id);
		return;
	}
	memset(&pr, 0, sizeof(pr));
	pr.upstream = u;
	pr.path = http_path_raw(ex);
	pr.timeout_ms = RUNTIME_TIMEOUT_MS;
	pr.try_timeout_ms = RUNTIME_TIMEOUT_MS;
	forward(ex, ctx, &pr);
}

/* Does the route that will answer ex forward bodies as they come? */
static int
streams_bodies(struct listener_run *lr, struct http_exchange *ex)
{
	const char *path = http_path_raw(ex);
	struct route_match m;
	const struct route *r;
	char *buf;
	int status;

	if (path == NULL || (buf = malloc(strlen(path) + 1)) == NULL)
		return 0;
	status = router_match(lr->rt->current->router, lr->scopes,
	                      http_method(ex), path, buf, &m);
	r = m.route;
	free(buf);
	return status == 200 && r != NULL && r->handler != NULL &&
	    (r->handler->kind == HANDLER_PROXY ||
	     r->handler->kind == HANDLER_RUNTIME) &&
	    (r->request == NULL || r->request->schema == NULL);
}

int
runtime_on_head(struct http_exchange *ex, void *arg)
{
	struct listener_run *lr = arg;
	const char *cl = http_header(ex, "Content-Length");

	if (http_header(ex, "Transfer-Encoding") == NULL &&
	    (cl == NULL || strtoull(cl, NULL, 10) <= PROXY_REPLAY_MAX))
		return 0;
	return streams_bodies(lr, ex);
}
