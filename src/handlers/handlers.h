/*
 * handlers.h - what the core's own handlers share with the runtime until
 * each finds its layer: the respond form, the YAML-to-JSON reading of
 * manifest values, and the OpenAPI document.
 */
#ifndef ASTER_HANDLERS_H
#define ASTER_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

struct aster_node;
struct http_exchange;
struct json_object;
struct request_ctx;
struct respond_handler;

/* handler: {respond: {status, body, content_type}} */
void handler_respond(struct http_exchange *ex,
                     const struct respond_handler *h);

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
