/*
 * openapi_live.h - the OpenAPI document a running product serves.
 */
#ifndef ASTER_RUNTIME_OPENAPI_LIVE_H
#define ASTER_RUNTIME_OPENAPI_LIVE_H

struct request_ctx;

/*
 * The OpenAPI 3.1 document of ctx's generation (its public, user and
 * admin routes) as JSON text, malloc'ed; NULL when out of memory. Its
 * servers are the runtime's TCP listeners as bound, so an ephemeral port
 * shows as the port it took, and a wildcard address as the host the
 * request's Host header names (openapi_server_bound()).
 */
char *runtime_openapi_document(const struct request_ctx *ctx);

#endif
