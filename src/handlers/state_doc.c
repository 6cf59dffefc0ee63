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

#include <aster/http.h>

#include "util/etag.h"
#include "util/json_check.h"

/* A stored value can never be larger, whatever max_body_bytes says. */
#define VALUE_MAX (16u << 20)

struct state_call {
	struct aster_request *r;
	const struct aster_store *store;
	char *ns, *key;
	/* If-Match with '*' or several tags: the PUT or DELETE first reads
	 * the current version and then writes conditioned on it. */
	struct etag_list if_match;
	int is_delete;
};

static void
add_etag(struct aster_request *r, uint64_t version)
{
	char etag[32];

	snprintf(etag, sizeof(etag), "\"%llu\"", (unsigned long long)version);
	aster_add_header(r, "ETag", etag);
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
	struct aster_request *r = c->r;
	const char *inm = aster_header(r, "If-None-Match");
	struct etag_list tags;

	if (st == ASTER_STORE_NOT_FOUND) {
		aster_problem(r, 404, "not-found", "no such key", NULL, 0);
	} else if (st != ASTER_STORE_OK) {
		state_send_store_error(r, st, error);
	} else {
		add_etag(r, doc->version);
		if (inm != NULL && etag_list_parse(inm, 1, &tags) == 0 &&
		    etag_list_matches(&tags, doc->version)) {
			aster_respond(r, 304, NULL, NULL, 0);
			call_free(c);
			return;
		}
		aster_respond(r, 200, "application/json", doc->value,
		              doc->len);
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
	struct aster_request *r = c->r;
	json_object *o;
	char etag[32];

	if (st == ASTER_STORE_CONFLICT) {
		aster_problem(r, 412, "precondition-failed", "the key's "
		              "version does not match the condition", NULL, 0);
	} else if (st != ASTER_STORE_OK) {
		state_send_store_error(r, st, error);
	} else {
		snprintf(etag, sizeof(etag), "\"%llu\"",
		         (unsigned long long)doc->version);
		add_etag(r, doc->version);
		o = json_object_new_object();
		json_object_object_add(o, "namespace",
		                       json_object_new_string(c->ns));
		json_object_object_add(o, "key",
		                       json_object_new_string(c->key));
		json_object_object_add(o, "etag", json_object_new_string(etag));
		state_send_json(r, doc->created ? 201 : 200, o);
	}
	call_free(c);
}

static void
on_deleted(void *arg, enum aster_store_status st, const char *error)
{
	struct state_call *c = arg;
	struct aster_request *r = c->r;

	if (st == ASTER_STORE_OK)
		aster_respond(r, 204, NULL, NULL, 0);
	else if (st == ASTER_STORE_NOT_FOUND && !c->if_match.any)
		aster_problem(r, 404, "not-found", "no such key", NULL, 0);
	else if (st == ASTER_STORE_NOT_FOUND || st == ASTER_STORE_CONFLICT)
		aster_problem(r, 412, "precondition-failed", "the key's "
		              "version does not match the condition", NULL, 0);
	else
		state_send_store_error(r, st, error);
	call_free(c);
}

static int
write_doc(struct state_call *c, enum aster_doc_cond cond, uint64_t version)
{
	const struct aster_store *s = c->store;
	const void *body;
	size_t len;

	if (c->is_delete)
		return s->ops->doc_delete(s->self, c->ns, c->key, cond, version,
		                          on_deleted, c);
	body = aster_body(c->r, &len);
	return s->ops->doc_put(s->self, c->ns, c->key, (const char *)body, len,
	                       cond, version, on_put, c);
}

/* If-Match with '*' or several tags: the current version decides. */
static void
on_read_for_write(void *arg, enum aster_store_status st,
                  const struct aster_doc *doc, const char *error)
{
	struct state_call *c = arg;
	struct aster_request *r = c->r;

	/* Abandoned meanwhile (504 sent, or the client gone): no write
	 * after the client was told the request timed out (this answer is
	 * dropped, and lets r go). */
	if (!aster_alive(r)) {
		aster_respond(r, 504, NULL, NULL, 0);
		call_free(c);
		return;
	}
	if (st == ASTER_STORE_NOT_FOUND ||
	    (st == ASTER_STORE_OK &&
	     !etag_list_matches(&c->if_match, doc->version))) {
		aster_problem(r, 412, "precondition-failed", "the key's "
		              "version does not match the condition", NULL, 0);
		call_free(c);
		return;
	}
	if (st != ASTER_STORE_OK) {
		state_send_store_error(c->r, st, error);
		call_free(c);
		return;
	}
	if (write_doc(c, ASTER_DOC_VERSION, doc->version) < 0) {
		aster_problem(r, 500, "internal", "the state store refused "
		              "the request", NULL, 0);
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
	struct aster_request *r = c->r;
	const char *im = aster_header(r, "If-Match");
	const char *inm = aster_header(r, "If-None-Match");
	const struct aster_store *s = c->store;
	struct etag_list none;

	if (im != NULL && inm != NULL) {
		aster_problem(r, 400, "bad-request", "If-Match and "
		              "If-None-Match cannot be combined", NULL, 0);
		return 1;
	}
	if (inm != NULL) {
		if (c->is_delete ||
		    etag_list_parse(inm, 1, &none) < 0 || !none.any) {
			aster_problem(r, 400, "bad-request", "If-None-Match "
			              "must be '*' (create only, on PUT)", NULL, 0);
			return 1;
		}
		return write_doc(c, ASTER_DOC_ABSENT, 0) < 0 ? -1 : 0;
	}
	if (im == NULL)
		return write_doc(c, ASTER_DOC_ANY, 0) < 0 ? -1 : 0;
	if (etag_list_parse(im, 0, &c->if_match) < 0) {
		aster_problem(r, 400, "bad-request", "If-Match is not a list "
		              "of entity tags", NULL, 0);
		return 1;
	}
	if (!c->if_match.any && c->if_match.n == 0) {
		aster_problem(r, 412, "precondition-failed", "no entity tag "
		              "of If-Match can match", NULL, 0);
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
check_document_request(struct aster_request *r, const char *ns,
                       const char *key, int is_put)
{
	const void *body;
	size_t len;
	char err[256];

	if (ns == NULL || key == NULL || !state_valid_namespace(ns)) {
		aster_problem(r, 400, "bad-request", "a namespace is 1 to 128 "
		              "letters, digits, '.', '_' or '-'", NULL, 0);
		return -1;
	}
	if (!state_valid_key(key)) {
		aster_problem(r, 400, "bad-request", "a key is UTF-8 text of 1 "
		              "to 512 bytes, without control characters", NULL, 0);
		return -1;
	}
	if (!is_put)
		return 0;
	body = aster_body(r, &len);
	if (len > VALUE_MAX) {
		aster_problem(r, 413, "payload-too-large", "a value is at most "
		              "16 MiB", NULL, 0);
		return -1;
	}
	if (check_json(body, len, err, sizeof(err)) < 0) {
		aster_problem(r, 400, "invalid-json", err, NULL, 0);
		return -1;
	}
	return 0;
}

int
state_serve_document(void *self, struct aster_request *r)
{
	const char *method = aster_method(r);
	const char *ns = state_param_from_end(r, 2);
	const char *key = state_param_from_end(r, 1);
	int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	int is_put = strcmp(method, "PUT") == 0;
	const struct aster_store *s;
	struct state_call *c;
	int rc;

	(void)self;
	if (!is_get && !is_put && strcmp(method, "DELETE") != 0) {
		aster_add_header(r, "Allow", "GET, HEAD, PUT, DELETE");
		aster_problem(r, 405, "method-not-allowed", NULL, NULL, 0);
		return 0;
	}
	if (check_document_request(r, ns, key, is_put) < 0 ||
	    (s = state_store_or_answer(r)) == NULL)
		return 0;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ns = strdup(ns)) == NULL || (c->key = strdup(key)) == NULL) {
		if (c != NULL)
			call_free(c);
		state_send_out_of_memory(r);
		return 0;
	}
	c->r = r;
	c->store = s;
	c->is_delete = !is_get && !is_put;
	rc = is_get ? s->ops->doc_get(s->self, ns, key, on_got, c) :
	     start_write(c);
	if (rc == 0)
		return 0;
	/* 1: start_write() answered already. */
	if (rc < 0)
		aster_problem(r, 500, "internal", "the state store refused the "
		              "request", NULL, 0);
	call_free(c);
	return 0;
}

