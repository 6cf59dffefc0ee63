/*
 * handlers.h - what the core's own handlers share with the runtime until
 * each finds its layer: the respond form, the YAML-to-JSON reading of
 * manifest values, and the OpenAPI document.
 */
#ifndef ASTER_HANDLERS_H
#define ASTER_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

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

#endif
