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

#include "http/problem.h"
#include "http/server.h"
#include "runtime/runtime.h"
#include "util/hex.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000

struct list_call {
	struct http_exchange *ex;
	struct request_ctx *ctx;
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
		state_send_store_error(l->ex, l->ctx, st, error);
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
	http_add_header(l->ex, "Content-Type", "application/json");
	http_respond_buffer(l->ex, 200, out);
	evbuffer_free(out);
	list_free(l);
}

/* A query value, percent-decoded ('+' is a space, as forms send it);
 * NULL when malformed or holding a NUL byte. */
static char *
query_decode(const char *s, size_t len)
{
	char *out = malloc(len + 1);
	size_t i, o = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] != '%') {
			out[o++] = s[i];
		} else if (i + 2 < len &&
		           (hi = hex_digit((unsigned char)s[i + 1])) >= 0 &&
		           (lo = hex_digit((unsigned char)s[i + 2])) >= 0 &&
		           (hi | lo) != 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			free(out);
			return NULL;
		}
	}
	out[o] = '\0';
	return out;
}

/* Reads prefix, limit and cursor; answers 400 itself and returns -1 on a
 * bad one. Unknown parameters are ignored, as HTTP APIs usually do. */
static int
parse_list_query(struct list_call *l, size_t *limit)
{
	const char *q = http_query(l->ex), *p, *amp, *eq;
	char *v;

	*limit = LIST_DEFAULT;
	for (p = q; p != NULL && *p != '\0'; p = amp != NULL ? amp + 1 : NULL) {
		size_t nlen;

		amp = strchr(p, '&');
		eq = memchr(p, '=', amp != NULL ? (size_t)(amp - p) :
		            strlen(p));
		if (eq == NULL)
			continue;
		nlen = (size_t)(eq - p);
		v = query_decode(eq + 1, amp != NULL ? (size_t)(amp - eq - 1) :
		                 strlen(eq + 1));
		if (v == NULL) {
			problem_send(l->ex, 400, "bad-request", "a query "
			             "parameter is not well percent-encoded",
			             l->ctx->request_id);
			return -1;
		}
		if (nlen == 6 && memcmp(p, "prefix", 6) == 0) {
			free(l->prefix);
			l->prefix = v;
			continue;
		}
		if (nlen == 5 && memcmp(p, "limit", 5) == 0) {
			char *end;
			long n = strtol(v, &end, 10);
			int ok = *v != '\0' && *end == '\0' && n >= 1 &&
			         n <= LIST_MAX && isdigit((unsigned char)*v);

			free(v);
			if (!ok) {
				problem_send(l->ex, 400, "bad-request", "limit "
				             "must be an integer from 1 to 1000",
				             l->ctx->request_id);
				return -1;
			}
			*limit = (size_t)n;
			continue;
		}
		if (nlen == 6 && memcmp(p, "cursor", 6) == 0) {
			free(l->after);
			l->after = *v != '\0' ? cursor_decode(v) : NULL;
			if (*v != '\0' && l->after == NULL) {
				free(v);
				problem_send(l->ex, 400, "bad-request", "cursor "
				             "is not one this API returned",
				             l->ctx->request_id);
				return -1;
			}
			free(v);
			continue;
		}
		free(v);
	}
	return 0;
}

void
state_list_documents(struct http_exchange *ex, struct request_ctx *ctx)
{
	const char *ns = state_param_from_end(ctx, 1);
	const struct aster_store *s;
	struct list_call *l;
	size_t limit;

	if (ns == NULL || !state_valid_namespace(ns)) {
		problem_send(ex, 400, "bad-request", "a namespace is 1 to 128 "
		             "letters, digits, '.', '_' or '-'",
		             ctx->request_id);
		return;
	}
	if ((s = state_store_or_answer(ex, ctx)) == NULL)
		return;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->ns = strdup(ns)) == NULL) {
		free(l);
		state_send_out_of_memory(ex, ctx);
		return;
	}
	l->ex = ex;
	l->ctx = ctx;
	if (parse_list_query(l, &limit) < 0) {
		list_free(l);
		return;
	}
	if (l->prefix != NULL && *l->prefix != '\0' &&
	    !state_valid_key(l->prefix)) {
		problem_send(ex, 400, "bad-request", "prefix must be UTF-8 "
		             "text of at most 512 bytes, without control "
		             "characters", ctx->request_id);
		list_free(l);
		return;
	}
	if (s->ops->doc_list(s->self, l->ns, l->prefix, l->after, limit,
	                     on_listed, l) < 0) {
		problem_send(ex, 500, "internal", "the state store refused the "
		             "request", ctx->request_id);
		list_free(l);
	}
}

