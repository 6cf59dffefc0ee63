/*
 * openapi_live.c - the OpenAPI document GET /gateway/v1/openapi.json
 * serves: the generation's routes (contract/openapi.h), with the
 * listeners as bound for servers.
 */
#include "runtime/openapi_live.h"

#include "contract/openapi.h"
#include "http/server.h"
#include "runtime/runtime.h"

char *
runtime_openapi_document(const struct request_ctx *ctx)
{
	struct openapi_server servers[RUNTIME_MAX_LISTENERS];
	const struct runtime *rt = ctx->rt;
	const char *host = ctx->ex != NULL ? http_header(ctx->ex, "Host") :
	                   NULL;
	size_t i, n = 0;

	for (i = 0; rt != NULL && i < rt->nlisteners &&
	     n < RUNTIME_MAX_LISTENERS; i++) {
		const struct listener_run *lr = &rt->listeners[i];

		if (lr->decl == NULL || lr->decl->kind != LISTEN_TCP ||
		    lr->bound == NULL)
			continue;
		if (openapi_server_bound(&servers[n], lr->decl->tls != NULL,
		                         lr->bound, host, lr->scopes) == 0)
			n++;
	}
	return openapi_document(ctx->gen->cfg, servers, n, SCOPE_PUBLIC |
	                        SCOPE_USER | SCOPE_ADMIN);
}
