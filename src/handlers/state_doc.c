/*
 * state_doc.c - one document of the internal state API: GET, HEAD, PUT
 * and DELETE of .../{namespace}/{key}.
 *
 * Versions travel as strong ETags ("17"); If-Match makes a write or a
 * delete a compare-and-swap, If-None-Match: * a create, and either
 * failing is 412; GET with a matching If-None-Match is 304.
 */
#include "handlers/state.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "handlers/handlers.h"
#include "http/etag.h"
#include "http/problem.h"
#include "http/server.h"
#include "runtime/runtime.h"
#include "util/json_check.h"

/* A stored value can never be larger, whatever max_body_bytes says. */
#define VALUE_MAX (16u << 20)

struct state_call {
	struct http_exchange *ex;
	struct request_ctx *ctx;
	const struct aster_store *store;
	char *ns, *key;
	/* If-Match with '*' or several tags: the PUT or DELETE first reads
	 * the current version and then writes conditioned on it. */
	struct etag_list if_match;
	int is_delete;
};

static void
add_etag(struct http_exchange *ex, uint64_t version)
{
	char etag[32];

	snprintf(etag, sizeof(etag), "\"%llu\"", (unsigned long long)version);
	http_add_header(ex, "ETag", etag);
}

static void
call_free(struct state_call *c)
{
	free(c->ns);
	free(c->key);
	free(c);
}

static void
on_got(void *arg, enum aster_store_status st, const struct aster_doc *doc,
       const char *error)
{
	struct state_call *c = arg;
	struct http_exchange *ex = c->ex;
	const char *inm = http_header(ex, "If-None-Match");
	struct etag_list tags;

	if (st == ASTER_STORE_NOT_FOUND) {
		problem_send(ex, 404, "not-found", "no such key",
		             c->ctx->request_id);
	} else if (st != ASTER_STORE_OK) {
		state_send_store_error(ex, c->ctx, st, error);
	} else {
		add_etag(ex, doc->version);
		if (inm != NULL && etag_list_parse(inm, 1, &tags) == 0 &&
		    etag_list_matches(&tags, doc->version)) {
			http_respond(ex, 304, NULL, 0);
			call_free(c);
			return;
		}
		http_add_header(ex, "Content-Type", "application/json");
		http_respond(ex, 200, doc->value, doc->len);
	}
	call_free(c);
}

/* 0 when body is exactly one JSON value (white space around it
 * allowed); else -1 with a message in err. */
static int
check_json(const unsigned char *body, size_t len, char *err, size_t errlen)
{
	char why[128];

	if (len == 0) {
		snprintf(err, errlen, "the body is empty; a JSON value is "
		         "required");
		return -1;
	}
	if (json_check((const char *)body, len, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "the body is not valid JSON: %s", why);
		return -1;
	}
	return 0;
}

static void
on_put(void *arg, enum aster_store_status st, const struct aster_doc *doc,
       const char *error)
{
	struct state_call *c = arg;
	struct http_exchange *ex = c->ex;
	json_object *o;
	char etag[32];

	if (st == ASTER_STORE_CONFLICT) {
		problem_send(ex, 412, "precondition-failed", "the key's "
		             "version does not match the condition",
		             c->ctx->request_id);
	} else if (st != ASTER_STORE_OK) {
		state_send_store_error(ex, c->ctx, st, error);
	} else {
		snprintf(etag, sizeof(etag), "\"%llu\"",
		         (unsigned long long)doc->version);
		add_etag(ex, doc->version);
		o = json_object_new_object();
		json_object_object_add(o, "namespace",
		                       json_object_new_string(c->ns));
		json_object_object_add(o, "key",
		                       json_object_new_string(c->key));
		json_object_object_add(o, "etag", json_object_new_string(etag));
		handler_send_json(ex, doc->created ? 201 : 200, o);
	}
	call_free(c);
}

static void
on_deleted(void *arg, enum aster_store_status st, const char *error)
{
	struct state_call *c = arg;
	struct http_exchange *ex = c->ex;

	if (st == ASTER_STORE_OK)
		http_respond(ex, 204, NULL, 0);
	else if (st == ASTER_STORE_NOT_FOUND && !c->if_match.any)
		problem_send(ex, 404, "not-found", "no such key",
		             c->ctx->request_id);
	else if (st == ASTER_STORE_NOT_FOUND || st == ASTER_STORE_CONFLICT)
		problem_send(ex, 412, "precondition-failed", "the key's "
		             "version does not match the condition",
		             c->ctx->request_id);
	else
		state_send_store_error(ex, c->ctx, st, error);
	call_free(c);
}

static int
write_doc(struct state_call *c, enum aster_doc_cond cond, uint64_t version)
{
	const struct aster_store *s = c->store;
	const unsigned char *body;
	size_t len;

	if (c->is_delete)
		return s->ops->doc_delete(s->self, c->ns, c->key, cond, version,
		                          on_deleted, c);
	body = http_body(c->ex, &len);
	return s->ops->doc_put(s->self, c->ns, c->key, (const char *)body, len,
	                       cond, version, on_put, c);
}

/* If-Match with '*' or several tags: the current version decides. */
static void
on_read_for_write(void *arg, enum aster_store_status st,
                  const struct aster_doc *doc, const char *error)
{
	struct state_call *c = arg;

	/* Answered 504 meanwhile: no write after the client was told the
	 * request timed out (this answer is dropped, and lets ex go). */
	if (http_timed_out(c->ex)) {
		http_respond(c->ex, 504, NULL, 0);
		call_free(c);
		return;
	}
	if (st == ASTER_STORE_NOT_FOUND ||
	    (st == ASTER_STORE_OK &&
	     !etag_list_matches(&c->if_match, doc->version))) {
		problem_send(c->ex, 412, "precondition-failed", "the key's "
		             "version does not match the condition",
		             c->ctx->request_id);
		call_free(c);
		return;
	}
	if (st != ASTER_STORE_OK) {
		state_send_store_error(c->ex, c->ctx, st, error);
		call_free(c);
		return;
	}
	if (write_doc(c, ASTER_DOC_VERSION, doc->version) < 0) {
		problem_send(c->ex, 500, "internal", "the state store refused "
		             "the request", c->ctx->request_id);
		call_free(c);
	}
}

/*
 * Starts a PUT or DELETE under its conditions. Returns 0 when a callback
 * will answer, 1 when this answered already, -1 when the store refused.
 */
static int
start_write(struct state_call *c)
{
	struct http_exchange *ex = c->ex;
	const char *im = http_header(ex, "If-Match");
	const char *inm = http_header(ex, "If-None-Match");
	const struct aster_store *s = c->store;
	struct etag_list none;

	if (im != NULL && inm != NULL) {
		problem_send(ex, 400, "bad-request", "If-Match and "
		             "If-None-Match cannot be combined",
		             c->ctx->request_id);
		return 1;
	}
	if (inm != NULL) {
		if (c->is_delete ||
		    etag_list_parse(inm, 1, &none) < 0 || !none.any) {
			problem_send(ex, 400, "bad-request", "If-None-Match "
			             "must be '*' (create only, on PUT)",
			             c->ctx->request_id);
			return 1;
		}
		return write_doc(c, ASTER_DOC_ABSENT, 0) < 0 ? -1 : 0;
	}
	if (im == NULL)
		return write_doc(c, ASTER_DOC_ANY, 0) < 0 ? -1 : 0;
	if (etag_list_parse(im, 0, &c->if_match) < 0) {
		problem_send(ex, 400, "bad-request", "If-Match is not a list "
		             "of entity tags", c->ctx->request_id);
		return 1;
	}
	if (!c->if_match.any && c->if_match.n == 0) {
		problem_send(ex, 412, "precondition-failed", "no entity tag "
		             "of If-Match can match", c->ctx->request_id);
		return 1;
	}
	if (c->if_match.any && c->is_delete)
		return write_doc(c, ASTER_DOC_ANY, 0) < 0 ? -1 : 0;
	if (!c->if_match.any && c->if_match.n == 1)
		return write_doc(c, ASTER_DOC_VERSION,
		                 c->if_match.versions[0]) < 0 ? -1 : 0;
	return s->ops->doc_get(s->self, c->ns, c->key, on_read_for_write,
	                       c) < 0 ? -1 : 0;
}

/* Checks what a document request carries before the store is asked;
 * answers and returns -1 when something is wrong. */
static int
check_document_request(struct http_exchange *ex, struct request_ctx *ctx,
                       const char *ns, const char *key, int is_put)
{
	const unsigned char *body;
	size_t len;
	char err[256];

	if (ns == NULL || key == NULL || !state_valid_namespace(ns)) {
		problem_send(ex, 400, "bad-request", "a namespace is 1 to 128 "
		             "letters, digits, '.', '_' or '-'",
		             ctx->request_id);
		return -1;
	}
	if (!state_valid_key(key)) {
		problem_send(ex, 400, "bad-request", "a key is UTF-8 text of 1 "
		             "to 512 bytes, without control characters",
		             ctx->request_id);
		return -1;
	}
	if (!is_put)
		return 0;
	body = http_body(ex, &len);
	if (len > VALUE_MAX) {
		problem_send(ex, 413, "payload-too-large", "a value is at most "
		             "16 MiB", ctx->request_id);
		return -1;
	}
	if (check_json(body, len, err, sizeof(err)) < 0) {
		problem_send(ex, 400, "invalid-json", err, ctx->request_id);
		return -1;
	}
	return 0;
}

void
state_serve_document(struct http_exchange *ex, struct request_ctx *ctx)
{
	const char *method = http_method(ex);
	const char *ns = state_param_from_end(ctx, 2);
	const char *key = state_param_from_end(ctx, 1);
	int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	int is_put = strcmp(method, "PUT") == 0;
	const struct aster_store *s;
	struct state_call *c;
	int rc;

	if (!is_get && !is_put && strcmp(method, "DELETE") != 0) {
		http_add_header(ex, "Allow", "GET, HEAD, PUT, DELETE");
		problem_send(ex, 405, "method-not-allowed", NULL,
		             ctx->request_id);
		return;
	}
	if (check_document_request(ex, ctx, ns, key, is_put) < 0 ||
	    (s = state_store_or_answer(ex, ctx)) == NULL)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ns = strdup(ns)) == NULL || (c->key = strdup(key)) == NULL) {
		if (c != NULL)
			call_free(c);
		state_send_out_of_memory(ex, ctx);
		return;
	}
	c->ex = ex;
	c->ctx = ctx;
	c->store = s;
	c->is_delete = !is_get && !is_put;
	rc = is_get ? s->ops->doc_get(s->self, ns, key, on_got, c) :
	     start_write(c);
	if (rc == 0)
		return;
	if (rc < 0)
		problem_send(ex, 500, "internal", "the state store refused the "
		             "request", ctx->request_id);
	call_free(c);
}

