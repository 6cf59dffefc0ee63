/*
 * handlers.h - the handler forms of SPEC §3.2, serving one request each.
 *
 * Each takes the exchange and the request context (route, match,
 * generation) and answers through http_respond() or problem_send().
 */
#ifndef ASTER_HANDLERS_H
#define ASTER_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

struct aster_node;
struct http_exchange;
struct json_object;
struct request_ctx;

/* Answers status with o as application/json; takes o. */
void handler_send_json(struct http_exchange *ex, int status,
                       struct json_object *o);

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

/* The gateway operations on credentials: `whoami` (the caller's
 * credential) and the admin API key endpoints `keys-create` (POST, 201
 * with the key shown once), `keys-list` and `keys-revoke` (DELETE
 * .../{keyId}, 204), through the product's auth service. */
void handler_keys(struct http_exchange *ex, struct request_ctx *ctx);

/* keys.c, shared with the control socket: an API key as JSON
 * ({"id","name","role","spaces","expires_at"} and "key" when just
 * created, else the four times); a Unix time as RFC 3339 UTC (NULL for
 * 0); parsing RFC 3339 (0 or -1); and a key spec from its JSON object
 * (NULL, or what is wrong; spaces point into o, through the caller's
 * array of max entries). */
struct aster_api_key;
struct aster_api_key_spec;
struct json_object *keys_json(const struct aster_api_key *k);
struct json_object *keys_time_json(int64_t t);
int keys_parse_time(const char *s, int64_t *out);
const char *keys_spec_from_json(struct json_object *o,
                                struct aster_api_key_spec *spec,
                                const char **spaces, size_t max);

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
