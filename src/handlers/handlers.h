/*
 * handlers.h - what the core's own handlers share with the runtime until
 * each finds its layer: the respond form.
 */
#ifndef ASTER_HANDLERS_H
#define ASTER_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

struct http_exchange;
struct respond_handler;

/* handler: {respond: {status, body, content_type}} */
void handler_respond(struct http_exchange *ex,
                     const struct respond_handler *h);

#endif
