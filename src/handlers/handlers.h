/*
 * handlers.h - the handler forms of SPEC §3.2, serving one request each.
 *
 * Each takes the exchange and the request context (route, match,
 * generation) and answers through http_respond() or problem_send().
 */
#ifndef ASTER_HANDLERS_H
#define ASTER_HANDLERS_H

struct aster_node;
struct http_exchange;
struct json_object;
struct request_ctx;

/* Runs ctx->route's handler. */
void handler_run(struct http_exchange *ex, struct request_ctx *ctx);

/* handler: {respond: {status, body, content_type}} */
void handler_respond(struct http_exchange *ex, struct request_ctx *ctx);

/* handler: {static: {root, index}}: GET/HEAD of files below root, no
 * escape through ".." or symlinks, ETag and Last-Modified with 304,
 * Content-Type by extension, single Range requests (206/416). */
void handler_static(struct http_exchange *ex, struct request_ctx *ctx);

/* The built-in gateway provider's operations: health, ready, product,
 * modules, routes, openapi. */
void handler_gateway(struct http_exchange *ex, struct request_ctx *ctx);

/* The gateway operations `state` (GET, HEAD, PUT, DELETE of one
 * document) and `state-list` of the internal state API (SPEC §8), on the
 * state store the route's module reaches. */
void handler_state(struct http_exchange *ex, struct request_ctx *ctx);

/* The OpenAPI 3.1 document of the generation's routes of the given
 * scopes (enum scope bits), as JSON text (malloc'ed). */
char *openapi_document(const struct request_ctx *ctx, unsigned scopes);

/*
 * A YAML value as JSON, for respond bodies and OpenAPI schemas: mappings
 * and lists become objects and arrays; a plain scalar that reads as a
 * decimal number, true/false or null (YAML 1.2 core) becomes that, any
 * other scalar a string. as_plain types quoted scalars the same way, for
 * places whose type is fixed (`minLength: "3"` is 3). Returns a new json-c
 * reference (NULL stands for JSON null).
 */
struct json_object *handler_yaml_json(const struct aster_node *n,
                                      int as_plain);

#endif
