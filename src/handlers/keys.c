/*
 * keys.c - the gateway operations on credentials (SPEC §9, §12):
 * `whoami`, and the admin API key endpoints `keys-create`, `keys-list`,
 * `keys-revoke`, served through the product's auth service
 * (aster/auth.h). The JSON of a key is shared with the control socket.
 */
#include "handlers/handlers.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <aster/auth.h>

#include "http/problem.h"
#include "http/server.h"
#include "runtime/runtime.h"
#include "util/json_check.h"

/* --- times and JSON --------------------------------------------------------- */

json_object *
keys_time_json(int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		return NULL;
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(buf);
}

int
keys_parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;
	int sign, oh, om;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return -1;
	if (*end == '.')        /* fractions of a second: dropped */
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	t = timegm(&tm);
	if (*end == 'Z' || *end == 'z') {
		end++;
	} else if ((*end == '+' || *end == '-') &&
	           sscanf(end + 1, "%2d:%2d", &oh, &om) == 2) {
		sign = *end == '-' ? 1 : -1;
		t += sign * (oh * 3600 + om * 60);
		end += 6;
	} else {
		return -1;
	}
	if (*end != '\0' || t == (time_t)-1)
		return -1;
	*out = (int64_t)t;
	return 0;
}

static json_object *
spaces_json(const char *const *spaces, size_t n)
{
	json_object *a;
	size_t i;

	if (n == 0)
		return NULL;
	a = json_object_new_array_ext((int)n);
	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(spaces[i]));
	return a;
}

static json_object *
string_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

json_object *
keys_json(const struct aster_api_key *k)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(k->id));
	json_object_object_add(o, "name", json_object_new_string(k->name));
	json_object_object_add(o, "role", json_object_new_string(k->role));
	json_object_object_add(o, "spaces", spaces_json(k->spaces,
	                                                k->nspaces));
	json_object_object_add(o, "expires_at", keys_time_json(k->expires_at));
	if (k->key != NULL) {
		json_object_object_add(o, "key",
		                       json_object_new_string(k->key));
		return o;
	}
	json_object_object_add(o, "created_at", keys_time_json(k->created_at));
	json_object_object_add(o, "revoked_at", keys_time_json(k->revoked_at));
	json_object_object_add(o, "last_used_at",
	                       keys_time_json(k->last_used_at));
	return o;
}

/*
 * A key spec from a JSON object {"name", "role", "spaces"?, "expires_at"?}
 * into spec, pointing into o (spaces into the caller's array of max
 * entries). Returns NULL, or what is wrong.
 */
const char *
keys_spec_from_json(json_object *o, struct aster_api_key_spec *spec,
                    const char **spaces, size_t max)
{
	json_object *v;
	size_t i, n;

	memset(spec, 0, sizeof(*spec));
	if (!json_object_is_type(o, json_type_object))
		return "the body must be a JSON object";
	if (!json_object_object_get_ex(o, "name", &v) ||
	    !json_object_is_type(v, json_type_string))
		return "\"name\" (a string) is required";
	spec->name = json_object_get_string(v);
	if (!json_object_object_get_ex(o, "role", &v) ||
	    !json_object_is_type(v, json_type_string))
		return "\"role\" (\"admin\" or \"user\") is required";
	spec->role = json_object_get_string(v);
	if (json_object_object_get_ex(o, "spaces", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_array))
			return "\"spaces\" must be a list of space ids";
		n = json_object_array_length(v);
		if (n > max)
			return "\"spaces\" lists too many spaces";
		for (i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(v, i);

			if (!json_object_is_type(e, json_type_string))
				return "\"spaces\" must be a list of space ids";
			spaces[i] = json_object_get_string(e);
		}
		spec->spaces = spaces;
		spec->nspaces = n;
	}
	if (json_object_object_get_ex(o, "expires_at", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_string) ||
		    keys_parse_time(json_object_get_string(v),
		                    &spec->expires_at) < 0)
			return "\"expires_at\" must be an RFC 3339 time, such "
			       "as 2027-01-31T00:00:00Z";
	}
	return NULL;
}

/* --- the HTTP side ---------------------------------------------------------- */

#define KEYS_MAX_SPACES 256

/* An auth service failure: 400/422, 404, 503 or 500. */
static void
send_auth_error(struct http_exchange *ex, enum aster_auth_status st,
                const char *detail)
{
	struct request_ctx *ctx = http_data(ex);

	switch (st) {
	case ASTER_AUTH_INVALID:
		problem_send(ex, 422, "validation-failed", detail,
		             ctx->request_id);
		return;
	case ASTER_AUTH_NOT_FOUND:
		problem_send(ex, 404, "not-found", detail != NULL ? detail :
		             "no such key", ctx->request_id);
		return;
	case ASTER_AUTH_UNAVAILABLE:
		http_add_header(ex, "Retry-After", "1");
		problem_send(ex, 503, "unavailable", detail, ctx->request_id);
		return;
	default:
		problem_send(ex, 500, "internal", detail, ctx->request_id);
	}
}

static void
on_created(void *arg, enum aster_auth_status st,
           const struct aster_api_key *key, const char *detail)
{
	if (st != ASTER_AUTH_OK)
		send_auth_error(arg, st, detail);
	else
		handler_send_json(arg, 201, keys_json(key));
}

static void
on_listed(void *arg, enum aster_auth_status st,
          const struct aster_api_key *keys, size_t n, const char *detail)
{
	json_object *o, *items;
	size_t i;

	if (st != ASTER_AUTH_OK) {
		send_auth_error(arg, st, detail);
		return;
	}
	o = json_object_new_object();
	items = json_object_new_array_ext((int)n);
	for (i = 0; i < n; i++)
		json_object_array_add(items, keys_json(&keys[i]));
	json_object_object_add(o, "items", items);
	handler_send_json(arg, 200, o);
}

static void
on_revoked(void *arg, enum aster_auth_status st,
           const struct aster_api_key *key, const char *detail)
{
	(void)key;
	if (st != ASTER_AUTH_OK)
		send_auth_error(arg, st, detail);
	else
		http_respond(arg, 204, NULL, 0);
}

/* The body as JSON, or NULL when it is not exactly one JSON value. */
static json_object *
parse_body(const unsigned char *body, size_t len)
{
	struct json_tokener *tok;
	json_object *o;

	if (len == 0 || len > INT32_MAX ||
	    json_check((const char *)body, len, NULL, 0) < 0 ||
	    (tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, (const char *)body, (int)len);
	json_tokener_free(tok);
	return o;
}

static void
create_key(struct http_exchange *ex, struct request_ctx *ctx,
           const struct auth_handle *auth)
{
	const char *spaces[KEYS_MAX_SPACES];
	struct aster_api_key_spec spec;
	const unsigned char *body;
	json_object *o;
	const char *bad;
	size_t len;

	body = http_body(ex, &len);
	if ((o = parse_body(body, len)) == NULL) {
		problem_send(ex, 400, "invalid-json", "the body must be a JSON "
		             "object {\"name\", \"role\", \"spaces\", "
		             "\"expires_at\"}", ctx->request_id);
		return;
	}
	if ((bad = keys_spec_from_json(o, &spec, spaces,
	                               KEYS_MAX_SPACES)) != NULL) {
		problem_send(ex, 422, "validation-failed", bad,
		             ctx->request_id);
	} else if (auth->ops->key_create(auth->self, &spec, on_created,
	                                 ex) < 0) {
		problem_send(ex, 500, "internal", "the auth service refused "
		             "the request", ctx->request_id);
	}
	json_object_put(o);
}

static void
whoami(struct http_exchange *ex, struct request_ctx *ctx)
{
	const struct request_credential *c = ctx->cred;
	json_object *o = json_object_new_object();

	if (c == NULL) {        /* only reachable on a public route */
		json_object_put(o);
		http_add_header(ex, "WWW-Authenticate", "Bearer");
		problem_send(ex, 401, "unauthorized", "a bearer credential is "
		             "required", ctx->request_id);
		return;
	}
	json_object_object_add(o, "kind", json_object_new_string(c->kind));
	json_object_object_add(o, "id", json_object_new_string(c->id));
	json_object_object_add(o, "name", string_or_null(c->name));
	json_object_object_add(o, "role", json_object_new_string(c->role));
	json_object_object_add(o, "spaces", spaces_json(c->spaces,
	                                                c->nspaces));
	json_object_object_add(o, "expires_at", keys_time_json(c->expires_at));
	handler_send_json(ex, 200, o);
}

void
handler_keys(struct http_exchange *ex, struct request_ctx *ctx)
{
	const char *op = ctx->route->handler->operation;
	const struct route_match *m = &ctx->match;
	struct auth_handle auth;

	if (strcmp(op, "whoami") == 0) {
		whoami(ex, ctx);
		return;
	}
	if (runtime_auth_of(ctx->gen, &auth) < 0) {
		http_add_header(ex, "Retry-After", "1");
		problem_send(ex, 503, "unavailable", "no auth service is "
		             "running", ctx->request_id);
		return;
	}
	if (strcmp(op, "keys-create") == 0)
		create_key(ex, ctx, &auth);
	else if (strcmp(op, "keys-list") == 0 &&
	         auth.ops->key_list(auth.self, on_listed, ex) == 0)
		return;
	else if (strcmp(op, "keys-revoke") == 0 && m->nparams > 0 &&
	         auth.ops->key_revoke(auth.self,
	                              m->params[m->nparams - 1].value,
	                              on_revoked, ex) == 0)
		return;
	else if (strcmp(op, "keys-create") != 0)
		problem_send(ex, 500, "internal", "the auth service refused "
		             "the request", ctx->request_id);
}
