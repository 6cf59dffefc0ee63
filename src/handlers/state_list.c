/*
 * state_list.c - a page of a namespace's documents: GET
 * .../{namespace}?prefix=&limit=&cursor=, answering
 * {"items": [{"key", "value", "etag"}], "cursor": NEXT or null}.
 *
 * Keys come in byte order, and the cursor is the last key of the page
 * (opaque, base64url): the next page starts after it, so every key
 * present throughout a walk is listed exactly once however the namespace
 * changes meanwhile.
 */
#include "handlers/state.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aster/http.h>


#define LIST_DEFAULT 100
#define LIST_MAX 1000

struct list_call {
	struct aster_request *r;
	char *ns, *prefix, *after;
};

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
list_free(struct list_call *l)
{
	free(l->ns);
	free(l->prefix);
	free(l->after);
	free(l);
}

/* The cursor is the last key listed, base64url without padding: opaque
 * to clients, and stable however the namespace changes meanwhile. */
static void
cursor_encode(struct evbuffer *out, const char *key)
{
	const unsigned char *p = (const unsigned char *)key;
	size_t n = strlen(key), i;
	char q[4];

	for (i = 0; i + 2 < n; i += 3) {
		q[0] = b64url[p[i] >> 2];
		q[1] = b64url[(p[i] & 3) << 4 | p[i + 1] >> 4];
		q[2] = b64url[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		q[3] = b64url[p[i + 2] & 63];
		evbuffer_add(out, q, 4);
	}
	if (n - i == 1) {
		q[0] = b64url[p[i] >> 2];
		q[1] = b64url[(p[i] & 3) << 4];
		evbuffer_add(out, q, 2);
	} else if (n - i == 2) {
		q[0] = b64url[p[i] >> 2];
		q[1] = b64url[(p[i] & 3) << 4 | p[i + 1] >> 4];
		q[2] = b64url[(p[i + 1] & 15) << 2];
		evbuffer_add(out, q, 3);
	}
}

/* Decodes a cursor into a new string; NULL if it is not one. */
static char *
cursor_decode(const char *s)
{
	size_t n = strlen(s), i, o = 0;
	uint32_t acc = 0;
	int bits = 0;
	char *out;

	if (n % 4 == 1)
		return NULL;
	out = malloc(n * 3 / 4 + 2);
	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *at = strchr(b64url, s[i]);

		if (s[i] == '\0' || at == NULL) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)(at - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	out[o] = '\0';
	if (o == 0 || strlen(out) != o || !state_valid_key(out)) {
		free(out);
		return NULL;
	}
	return out;
}

static void
add_json_string(struct evbuffer *out, const char *s)
{
	json_object *o = json_object_new_string(s);
	size_t len;
	const char *text = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	evbuffer_add(out, text, len);
	json_object_put(o);
}

static void
on_listed(void *arg, enum aster_store_status st, const struct aster_doc *docs,
          size_t n, int more, const char *error)
{
	struct list_call *l = arg;
	struct evbuffer *out;
	size_t i;

	if (st != ASTER_STORE_OK) {
		state_send_store_error(l->r, st, error);
		list_free(l);
		return;
	}
	out = evbuffer_new();
	evbuffer_add(out, "{\"items\":[", 10);
	for (i = 0; i < n; i++) {
		evbuffer_add(out, i ? ",{\"key\":" : "{\"key\":", i ? 8 : 7);
		add_json_string(out, docs[i].key);
		evbuffer_add(out, ",\"value\":", 9);
		evbuffer_add(out, docs[i].value, docs[i].len);
		evbuffer_add_printf(out, ",\"etag\":\"\\\"%llu\\\"\"}",
		                    (unsigned long long)docs[i].version);
	}
	evbuffer_add(out, "],\"cursor\":", 11);
	if (more && n > 0) {
		evbuffer_add(out, "\"", 1);
		cursor_encode(out, docs[n - 1].key);
		evbuffer_add(out, "\"}", 2);
	} else {
		evbuffer_add(out, "null}", 5);
	}
	aster_respond(l->r, 200, "application/json", evbuffer_pullup(out, -1),
	              evbuffer_get_length(out));
	evbuffer_free(out);
	list_free(l);
}

/* Reads prefix, limit and cursor (the first of each); answers 400
 * itself and returns -1 on a bad one. Unknown parameters are ignored, as
 * HTTP APIs usually do. */
static int
parse_list_query(struct list_call *l, size_t *limit)
{
	const char *prefix = aster_query(l->r, "prefix", 0);
	const char *lim = aster_query(l->r, "limit", 0);
	const char *cursor = aster_query(l->r, "cursor", 0);
	char *end;
	long n;

	*limit = LIST_DEFAULT;
	if (prefix != NULL && (l->prefix = strdup(prefix)) == NULL) {
		state_send_out_of_memory(l->r);
		return -1;
	}
	if (lim != NULL) {
		n = strtol(lim, &end, 10);
		if (!isdigit((unsigned char)*lim) || *end != '\0' || n < 1 ||
		    n > LIST_MAX) {
			aster_problem(l->r, 400, "bad-request", "limit must be "
			              "an integer from 1 to 1000", NULL, 0);
			return -1;
		}
		*limit = (size_t)n;
	}
	if (cursor != NULL && *cursor != '\0' &&
	    (l->after = cursor_decode(cursor)) == NULL) {
		aster_problem(l->r, 400, "bad-request", "cursor is not one this "
		              "API returned", NULL, 0);
		return -1;
	}
	return 0;
}

int
state_list_documents(void *self, struct aster_request *r)
{
	const char *ns = state_param_from_end(r, 1);
	const struct aster_store *s;
	struct list_call *l;
	size_t limit;

	(void)self;
	if (ns == NULL || !state_valid_namespace(ns)) {
		aster_problem(r, 400, "bad-request", "a namespace is 1 to 128 "
		              "letters, digits, '.', '_' or '-'", NULL, 0);
		return 0;
	}
	if ((s = state_store_or_answer(r)) == NULL)
		return 0;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->ns = strdup(ns)) == NULL) {
		free(l);
		state_send_out_of_memory(r);
		return 0;
	}
	l->r = r;
	if (parse_list_query(l, &limit) < 0) {
		list_free(l);
		return 0;
	}
	if (l->prefix != NULL && *l->prefix != '\0' &&
	    !state_valid_key(l->prefix)) {
		aster_problem(r, 400, "bad-request", "prefix must be UTF-8 "
		              "text of at most 512 bytes, without control "
		              "characters", NULL, 0);
		list_free(l);
		return 0;
	}
	if (s->ops->doc_list(s->self, l->ns, l->prefix, l->after, limit,
	                     on_listed, l) < 0) {
		aster_problem(r, 500, "internal", "the state store refused the "
		              "request", NULL, 0);
		list_free(l);
	}
	return 0;
}

