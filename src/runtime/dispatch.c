/*
 * dispatch.c - from a matched route to the code that answers it.
 *
 * The runtime has already matched the route, checked the credential,
 * applied rate limits, seen the module running and validated the body;
 * what is left is the handler form. Operations go to their provider's
 * handle() through aster/http.h, the built-in gateway provider's
 * exactly as a .so provider's; respond and static are served by the HTTP
 * layer from the route's own declaration, proxies by the HTTP layer's
 * client of upstreams (runtime/proxy.c says what to forward), and so
 * are runtimes, to their process's socket.
 */
#include "runtime/runtime.h"

#include <stdio.h>
#include <string.h>

#include <aster/provider.h>

#include "http/problem.h"
#include "http/respond.h"
#include "http/server.h"
#include "http/static.h"

static void
unavailable(struct http_exchange *ex, struct request_ctx *ctx,
            const char *detail)
{
	http_add_header(ex, "Retry-After", "1");
	problem_send(ex, 503, "unavailable", detail, ctx->request_id);
}

static const struct aster_operation *
find_operation(const struct aster_provider *p, const char *name)
{
	const struct aster_operation *op;

	for (op = p->operations; op != NULL && op->name != NULL; op++)
		if (strcmp(op->name, name) == 0)
			return op;
	return NULL;
}

/* The started instance of service s in the request's generation. */
static struct service_run *
find_service_run(struct request_ctx *ctx, const struct service *s)
{
	struct module_run *run = generation_find_run(ctx->gen, s->module->id);
	size_t i;

	if (run == NULL)
		return NULL;
	run = module_run_live(run);
	for (i = 0; i < run->nservices; i++)
		if (run->services[i].service == s)
			return &run->services[i];
	return NULL;
}

static void
run_operation(struct http_exchange *ex, struct request_ctx *ctx)
{
	const struct handler *h = ctx->route->handler;
	const struct service *s = h->target;
	const struct aster_provider *p = s != NULL ? s->impl : NULL;
	const struct aster_operation *op;
	struct service_run *sr;
	char detail[256];

	op = p != NULL ? find_operation(p, h->operation) : NULL;
	if (op == NULL || op->handle == NULL) {
		snprintf(detail, sizeof(detail), "provider '%s' does not serve "
		         "operation '%s' over HTTP", p != NULL ? p->name :
		         s != NULL ? s->provider : "?", h->operation);
		problem_send(ex, 503, "unavailable", detail, ctx->request_id);
		return;
	}
	/* Its client left while the credential was checked: the operation
	 * would begin with nobody to tell, so it does not begin (this
	 * answer is dropped and releases the exchange). */
	if (http_abandoned(ex)) {
		problem_send(ex, 503, "unavailable", NULL, ctx->request_id);
		return;
	}
	sr = find_service_run(ctx, s);
	if (sr == NULL || !sr->started) {
		snprintf(detail, sizeof(detail), "service '%s.%s' (provider "
		         "'%s') is not running", s->module->id, s->id, p->name);
		unavailable(ex, ctx, detail);
		return;
	}
	if (op->handle(sr->state, runtime_request_api(ctx, ex)) != 0 &&
	    http_status(ex) == 0) {
		snprintf(detail, sizeof(detail), "provider '%s' failed to "
		         "answer operation '%s'", p->name, op->name);
		problem_send(ex, 500, "internal", detail, ctx->request_id);
	}
}

void
runtime_dispatch(struct http_exchange *ex, struct request_ctx *ctx)
{
	const struct handler *h = ctx->route->handler;

	switch (h->kind) {
	case HANDLER_OPERATION:
		run_operation(ex, ctx);
		return;
	case HANDLER_RESPOND:
		http_serve_respond(ex, h->respond);
		return;
	case HANDLER_STATIC:
		http_serve_static(ex, h->statik->root, h->statik->index,
		                  ctx->route->prefix ? ctx->match.rest : "",
		                  ctx->request_id);
		return;
	case HANDLER_PROXY:
		runtime_proxy(ex, ctx);
		return;
	case HANDLER_RUNTIME:
		runtime_forward(ex, ctx);
		return;
	}
	problem_send(ex, 500, "internal", "unknown handler form",
	             ctx->request_id);
}
