/*
 * respond.h - the answer a route writes in its manifest (handler:
 * {respond: {status, body, content_type}}, SPEC §3.2).
 */
#ifndef ASTER_HTTP_RESPOND_H
#define ASTER_HTTP_RESPOND_H

struct http_exchange;
struct respond_handler;

/* Answers ex with h's status (200 when unset) and body: a scalar as
 * written (text/plain unless content_type says otherwise), a mapping or
 * list as JSON; no body for 1xx, 204 and 304. */
void http_serve_respond(struct http_exchange *ex,
                        const struct respond_handler *h);

#endif
