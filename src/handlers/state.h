/*
 * state.h - what the files of the internal state API share (state.c,
 * state_doc.c, state_list.c); not seen elsewhere.
 */
#ifndef ASTER_HANDLERS_STATE_H
#define ASTER_HANDLERS_STATE_H

#include <stddef.h>

#include <aster/store.h>

struct json_object;

struct aster_request;

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
const char *state_param_from_end(const struct aster_request *r, size_t back);

/* The store the route's module reaches; when there is none, answers 503
 * itself and returns NULL. */
const struct aster_store *state_store_or_answer(struct aster_request *r);

/* Answers a store failure: 503 unavailable (Retry-After: 1) or 500. */
void state_send_store_error(struct aster_request *r,
                            enum aster_store_status st, const char *error);

/* Answers 500 internal, out of memory. */
void state_send_out_of_memory(struct aster_request *r);

/* Answers status with o as application/json; takes o. */
void state_send_json(struct aster_request *r, int status,
                     struct json_object *o);

/* The two operations of the gateway provider (state_doc.c,
 * state_list.c), as struct aster_operation's handle. */
int state_serve_document(void *self, struct aster_request *r);
int state_list_documents(void *self, struct aster_request *r);

#endif
