/*
 * state.h - what the files of the internal state API share (state.c,
 * state_doc.c, state_list.c); not seen elsewhere.
 */
#ifndef ASTER_HANDLERS_STATE_H
#define ASTER_HANDLERS_STATE_H

#include <stddef.h>

#include <aster/store.h>

struct http_exchange;
struct request_ctx;

#define STATE_NAMESPACE_MAX 128
#define STATE_KEY_MAX 512

/* A namespace: 1 to 128 letters, digits, '.', '_' or '-'. */
int state_valid_namespace(const char *s);

/* A key (or prefix): 1 to 512 bytes of well-formed UTF-8 (RFC 3629: no
 * overlongs, surrogates or code points past U+10FFFF) without control
 * characters. */
int state_valid_key(const char *s);

/* The back-th path parameter from the end, or NULL: the route's last
 * params are namespace (and key), whatever the mountPath names them. */
const char *state_param_from_end(const struct request_ctx *ctx,
                                 size_t back);

/* The store the route's module reaches; when there is none, answers 503
 * itself and returns NULL. */
const struct aster_store *state_store_or_answer(struct http_exchange *ex,
                                                struct request_ctx *ctx);

/* Answers a store failure: 503 unavailable (Retry-After: 1) or 500. */
void state_send_store_error(struct http_exchange *ex, struct request_ctx *ctx,
                            enum aster_store_status st, const char *error);

/* Answers 500 internal, out of memory. */
void state_send_out_of_memory(struct http_exchange *ex,
                              struct request_ctx *ctx);

/* The two operations (state_doc.c, state_list.c). */
void state_serve_document(struct http_exchange *ex, struct request_ctx *ctx);
void state_list_documents(struct http_exchange *ex, struct request_ctx *ctx);

#endif
