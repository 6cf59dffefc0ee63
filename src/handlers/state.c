/*
 * state.c - the internal state API (SPEC §8), operations `state` and
 * `state-list` of the built-in gateway provider.
 *
 *   GET|HEAD|PUT|DELETE .../{namespace}/{key}   one JSON document
 *   GET .../{namespace}?prefix=&limit=&cursor=  a page of documents
 *
 * The documents live in the state store the route's module reaches
 * (aster/store.h): its own when it provides state-store, else the one it
 * needs. Versions travel as strong ETags ("17"); If-Match makes a write
 * or delete a compare-and-swap, If-None-Match: * a create, and either
 * failing is 412. Every store call answers later, so each request keeps
 * a small state of its own until its callback responds; the exchange
 * itself lives until answered, even if the client has gone.
 */
#include "handlers/handlers.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aster/store.h>

#include "http/problem.h"
#include "http/server.h"
#include "runtime/runtime.h"
#include "util/hex.h"
#include "util/json_check.h"

#define NAMESPACE_MAX 128
#define KEY_MAX 512
#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define ETAGS_MAX 16
/* A stored value can never be larger, whatever max_body_bytes says. */
#define VALUE_MAX (16u << 20)

struct state_call {
	struct http_exchange *ex;
	struct request_ctx *ctx;
	const struct aster_store *store;
	char *ns, *key;
	/* If-Match with '*' or several tags: the PUT or DELETE first reads
	 * the current version and then writes conditioned on it. */
	uint64_t etags[ETAGS_MAX];
	size_t netags;
	int any_etag;
	int is_delete;
};

/* --- answers ----------------------------------------------------------- */

static void
send_store_error(struct http_exchange *ex, struct request_ctx *ctx,
                 enum aster_store_status st, const char *error)
{
	char detail[512];

	if (st == ASTER_STORE_UNAVAILABLE) {
		snprintf(detail, sizeof(detail), "the state store is "
		         "unavailable%s%s", error != NULL ? ": " : "",
		         error != NULL ? error : "");
		http_add_header(ex, "Retry-After", "1");
		problem_send(ex, 503, "unavailable", detail, ctx->request_id);
		return;
	}
	snprintf(detail, sizeof(detail), "the state store failed: %s",
	         error != NULL ? error : "unknown error");
	problem_send(ex, 500, "internal", detail, ctx->request_id);
}

static void
send_out_of_memory(struct http_exchange *ex, struct request_ctx *ctx)
{
	problem_send(ex, 500, "internal", "out of memory", ctx->request_id);
}

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

/* --- checking names and headers ----------------------------------------- */

static int
valid_namespace(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > NAMESPACE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* UTF-8 well-formed (RFC 3629: no overlongs, surrogates or > U+10FFFF)
 * and no control characters. */
static int
valid_key(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;

	if (n == 0 || n > KEY_MAX)
		return 0;
	while (i < n) {
		unsigned char c = p[i];
		size_t len, k;
		uint32_t cp;

		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
		else return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += len;
	}
	return 1;
}

/* Parses one entity tag at *p: a "digits" tag sets *version and returns
 * 1; a foreign tag (which never matches a version), or a weak one when
 * weak_ok is 0 (If-Match compares strongly, If-None-Match weakly: RFC
 * 9110 13.1), returns 0; a malformed list returns -1. Advances *p past
 * it. */
static int
parse_etag(const char **p, uint64_t *version, int weak_ok)
{
	const char *s = *p;
	int weak = 0, digits = 1;
	uint64_t v = 0;

	if (s[0] == 'W' && s[1] == '/') {
		weak = 1;
		s += 2;
	}
	if (*s != '"')
		return -1;
	for (s++; *s != '"'; s++) {
		if (*s == '\0')
			return -1;
		if (!isdigit((unsigned char)*s) || v > UINT64_MAX / 10 - 1)
			digits = 0;
		else
			v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s + 1;
	if ((weak && !weak_ok) || !digits || v == 0)
		return 0;
	*version = v;
	return 1;
}

/*
 * An If-Match or If-None-Match header: "*" sets *any; otherwise the
 * strong version tags go to tags (others are dropped: they can match
 * nothing). Returns -1 when the header is malformed.
 */
static int
parse_etag_list(const char *h, int weak_ok, int *any, uint64_t *tags,
                size_t *ntags)
{
	const char *p = h;

	*any = 0;
	*ntags = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '*') {
		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		*any = 1;
		return *p == '\0' ? 0 : -1;
	}
	for (;;) {
		uint64_t v;
		int rc = parse_etag(&p, &v, weak_ok);

		if (rc < 0)
			return -1;
		if (rc == 1 && *ntags < ETAGS_MAX)
			tags[(*ntags)++] = v;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return -1;
		for (p++; *p == ' ' || *p == '\t' || *p == ','; p++)
			;
		if (*p == '\0')
			return 0;
	}
}

static int
etag_listed(const struct state_call *c, uint64_t version)
{
	size_t i;

	if (c->any_etag)
		return 1;
	for (i = 0; i < c->netags; i++)
		if (c->etags[i] == version)
			return 1;
	return 0;
}

/* --- GET ---------------------------------------------------------------- */

static void
on_got(void *arg, enum aster_store_status st, const struct aster_doc *doc,
       const char *error)
{
	struct state_call *c = arg;
	struct http_exchange *ex = c->ex;
	const char *inm = http_header(ex, "If-None-Match");
	uint64_t tags[ETAGS_MAX];
	size_t ntags, i;
	int any;

	if (st == ASTER_STORE_NOT_FOUND) {
		problem_send(ex, 404, "not-found", "no such key",
		             c->ctx->request_id);
	} else if (st != ASTER_STORE_OK) {
		send_store_error(ex, c->ctx, st, error);
	} else {
		add_etag(ex, doc->version);
		if (inm != NULL &&
		    parse_etag_list(inm, 1, &any, tags, &ntags) == 0) {
			for (i = 0; i < ntags && tags[i] != doc->version; i++)
				;
			if (any || i < ntags) {
				http_respond(ex, 304, NULL, 0);
				call_free(c);
				return;
			}
		}
		http_add_header(ex, "Content-Type", "application/json");
		http_respond(ex, 200, doc->value, doc->len);
	}
	call_free(c);
}

/* --- PUT ---------------------------------------------------------------- */

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
	const char *text;
	size_t len;
	char etag[32];

	if (st == ASTER_STORE_CONFLICT) {
		problem_send(ex, 412, "precondition-failed", "the key's "
		             "version does not match the condition",
		             c->ctx->request_id);
	} else if (st != ASTER_STORE_OK) {
		send_store_error(ex, c->ctx, st, error);
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
		text = json_object_to_json_string_length(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		http_add_header(ex, "Content-Type", "application/json");
		http_respond(ex, doc->created ? 201 : 200, text, len);
		json_object_put(o);
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
	else if (st == ASTER_STORE_NOT_FOUND && !c->any_etag)
		problem_send(ex, 404, "not-found", "no such key",
		             c->ctx->request_id);
	else if (st == ASTER_STORE_NOT_FOUND || st == ASTER_STORE_CONFLICT)
		problem_send(ex, 412, "precondition-failed", "the key's "
		             "version does not match the condition",
		             c->ctx->request_id);
	else
		send_store_error(ex, c->ctx, st, error);
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

	if (st == ASTER_STORE_NOT_FOUND ||
	    (st == ASTER_STORE_OK && !etag_listed(c, doc->version))) {
		problem_send(c->ex, 412, "precondition-failed", "the key's "
		             "version does not match the condition",
		             c->ctx->request_id);
		call_free(c);
		return;
	}
	if (st != ASTER_STORE_OK) {
		send_store_error(c->ex, c->ctx, st, error);
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
	uint64_t tags[ETAGS_MAX];
	size_t ntags;
	int any;

	if (im != NULL && inm != NULL) {
		problem_send(ex, 400, "bad-request", "If-Match and "
		             "If-None-Match cannot be combined",
		             c->ctx->request_id);
		return 1;
	}
	if (inm != NULL) {
		if (c->is_delete ||
		    parse_etag_list(inm, 1, &any, tags, &ntags) < 0 || !any) {
			problem_send(ex, 400, "bad-request", "If-None-Match "
			             "must be '*' (create only, on PUT)",
			             c->ctx->request_id);
			return 1;
		}
		return write_doc(c, ASTER_DOC_ABSENT, 0) < 0 ? -1 : 0;
	}
	if (im == NULL)
		return write_doc(c, ASTER_DOC_ANY, 0) < 0 ? -1 : 0;
	if (parse_etag_list(im, 0, &c->any_etag, c->etags, &c->netags) < 0) {
		problem_send(ex, 400, "bad-request", "If-Match is not a list "
		             "of entity tags", c->ctx->request_id);
		return 1;
	}
	if (!c->any_etag && c->netags == 0) {
		problem_send(ex, 412, "precondition-failed", "no entity tag "
		             "of If-Match can match", c->ctx->request_id);
		return 1;
	}
	if (c->any_etag && c->is_delete)
		return write_doc(c, ASTER_DOC_ANY, 0) < 0 ? -1 : 0;
	if (!c->any_etag && c->netags == 1)
		return write_doc(c, ASTER_DOC_VERSION, c->etags[0]) < 0 ? -1 : 0;
	return s->ops->doc_get(s->self, c->ns, c->key, on_read_for_write,
	                       c) < 0 ? -1 : 0;
}

/* --- list --------------------------------------------------------------- */

struct list_call {
	struct http_exchange *ex;
	struct request_ctx *ctx;
	char *ns, *prefix, *after;
};

static void
list_free(struct list_call *l)
{
	free(l->ns);
	free(l->prefix);
	free(l->after);
	free(l);
}

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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
	if (o == 0 || strlen(out) != o || !valid_key(out)) {
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
		send_store_error(l->ex, l->ctx, st, error);
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
		eq = memchr(p, '=', amp != NULL ? (size_t)(amp - p) : strlen(p));
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

/* --- entry points --------------------------------------------------------- */

/* The route's last params are namespace (and key): the names in the
 * mountPath are the operator's. */
static const char *
param_from_end(const struct request_ctx *ctx, size_t back)
{
	const struct route_match *m = &ctx->match;

	return m->nparams >= back ? m->params[m->nparams - back].value : NULL;
}

static const struct aster_store *
store_or_answer(struct http_exchange *ex, struct request_ctx *ctx)
{
	const struct aster_store *s = runtime_store_of(ctx->gen,
	                                               ctx->route->module);

	if (s == NULL) {
		http_add_header(ex, "Retry-After", "1");
		problem_send(ex, 503, "unavailable", "no state store is "
		             "running for this module", ctx->request_id);
	}
	return s;
}

static void
list_documents(struct http_exchange *ex, struct request_ctx *ctx)
{
	const char *ns = param_from_end(ctx, 1);
	const struct aster_store *s;
	struct list_call *l;
	size_t limit;

	if (ns == NULL || !valid_namespace(ns)) {
		problem_send(ex, 400, "bad-request", "a namespace is 1 to 128 "
		             "letters, digits, '.', '_' or '-'",
		             ctx->request_id);
		return;
	}
	if ((s = store_or_answer(ex, ctx)) == NULL)
		return;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->ns = strdup(ns)) == NULL) {
		free(l);
		send_out_of_memory(ex, ctx);
		return;
	}
	l->ex = ex;
	l->ctx = ctx;
	if (parse_list_query(l, &limit) < 0) {
		list_free(l);
		return;
	}
	if (l->prefix != NULL && *l->prefix != '\0' && !valid_key(l->prefix)) {
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

/* Checks what a document request carries before the store is asked;
 * answers and returns -1 when something is wrong. */
static int
check_document_request(struct http_exchange *ex, struct request_ctx *ctx,
                       const char *ns, const char *key, int is_put)
{
	const unsigned char *body;
	size_t len;
	char err[256];

	if (ns == NULL || key == NULL || !valid_namespace(ns)) {
		problem_send(ex, 400, "bad-request", "a namespace is 1 to 128 "
		             "letters, digits, '.', '_' or '-'",
		             ctx->request_id);
		return -1;
	}
	if (!valid_key(key)) {
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

static void
serve_document(struct http_exchange *ex, struct request_ctx *ctx)
{
	const char *method = http_method(ex);
	const char *ns = param_from_end(ctx, 2), *key = param_from_end(ctx, 1);
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
	    (s = store_or_answer(ex, ctx)) == NULL)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ns = strdup(ns)) == NULL || (c->key = strdup(key)) == NULL) {
		if (c != NULL)
			call_free(c);
		send_out_of_memory(ex, ctx);
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

void
handler_state(struct http_exchange *ex, struct request_ctx *ctx)
{
	if (strcmp(ctx->route->handler->operation, "state-list") == 0)
		list_documents(ex, ctx);
	else
		serve_document(ex, ctx);
}
