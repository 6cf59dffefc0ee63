/*
 * http.c - the auth provider's endpoints (SPEC §9), served by the
 * provider itself through aster/http.h: `whoami` (the caller's
 * credential) and the admin API key endpoints `keys-create` (201, the key
 * shown this once), `keys-list` and `keys-revoke` (204).
 *
 * Each operation runs on the instance the route names, so a product that
 * mounts these routes on its auth service manages that service's keys.
 * The key operations answer later (aster/auth.h): the request is held
 * until their callback, which answers even after a 504 or a client gone
 * (the answer is then dropped, and releases the request).
 */
#include "au.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <aster/http.h>

#define KEYS_MAX_SPACES 256

/* --- JSON of keys ------------------------------------------------------------ */

/* A Unix time as RFC 3339 UTC; JSON null for 0. */
static json_object *
time_json(int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		return NULL;
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(buf);
}

/* RFC 3339 (fractions of a second dropped) into *out; 0, or -1. */
static int
parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;
	int sign, oh, om;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return -1;
	if (*end == '.')
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

/* The spaces a credential is limited to; JSON null when it is not. */
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

/* {"id","name","role","spaces","expires_at"} and "key" when just
 * created, else the times it was created, revoked and last used. */
static json_object *
key_json(const struct aster_api_key *k)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(k->id));
	json_object_object_add(o, "name", json_object_new_string(k->name));
	json_object_object_add(o, "role", json_object_new_string(k->role));
	json_object_object_add(o, "spaces", spaces_json(k->spaces,
	                                                k->nspaces));
	json_object_object_add(o, "expires_at", time_json(k->expires_at));
	if (k->key != NULL) {
		json_object_object_add(o, "key",
		                       json_object_new_string(k->key));
		return o;
	}
	json_object_object_add(o, "created_at", time_json(k->created_at));
	json_object_object_add(o, "revoked_at", time_json(k->revoked_at));
	json_object_object_add(o, "last_used_at", time_json(k->last_used_at));
	return o;
}

/*
 * A key spec from {"name", "role", "spaces"?, "expires_at"?} into spec,
 * pointing into o (spaces into the caller's array of max entries).
 * Returns NULL, or what is wrong.
 */
static const char *
spec_from_json(json_object *o, struct aster_api_key_spec *spec,
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
		/* SPEC §7.4: [] reaches no space, which a key cannot say
		 * yet (no limit reaches all): refused, not widened. */
		if (n == 0)
			return "\"spaces\" must list at least one space (null "
			       "or absent: every space)";
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
		    parse_time(json_object_get_string(v),
		               &spec->expires_at) < 0)
			return "\"expires_at\" must be an RFC 3339 time, such "
			       "as 2027-01-31T00:00:00Z";
	}
	return NULL;
}

/* --- answers ----------------------------------------------------------------- */

static void
send_json(struct aster_request *r, int status, json_object *o)
{
	size_t len;
	const char *text = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	aster_respond(r, status, "application/json", text, len);
	json_object_put(o);
}

/* A key operation's failure: 422, 404, 503 or 500. */
static void
send_auth_error(struct aster_request *r, enum aster_auth_status st,
                const char *detail)
{
	switch (st) {
	case ASTER_AUTH_INVALID:
		aster_problem(r, 422, "validation-failed", detail, NULL, 0);
		return;
	case ASTER_AUTH_NOT_FOUND:
		aster_problem(r, 404, "not-found", detail != NULL ? detail :
		              "no such key", NULL, 0);
		return;
	case ASTER_AUTH_UNAVAILABLE:
		aster_add_header(r, "Retry-After", "1");
		aster_problem(r, 503, "unavailable", detail, NULL, 0);
		return;
	default:
		aster_problem(r, 500, "internal", detail, NULL, 0);
	}
}

static void
on_created(void *arg, enum aster_auth_status st,
           const struct aster_api_key *key, const char *detail)
{
	if (st != ASTER_AUTH_OK)
		send_auth_error(arg, st, detail);
	else
		send_json(arg, 201, key_json(key));
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
		json_object_array_add(items, key_json(&keys[i]));
	json_object_object_add(o, "items", items);
	send_json(arg, 200, o);
}

static void
on_revoked(void *arg, enum aster_auth_status st,
           const struct aster_api_key *key, const char *detail)
{
	(void)key;
	if (st != ASTER_AUTH_OK)
		send_auth_error(arg, st, detail);
	else
		aster_respond(arg, 204, NULL, NULL, 0);
}

/* The body as JSON, or NULL when it is not exactly one JSON value
 * (white space around it allowed). */
static json_object *
parse_body(const void *body, size_t len)
{
	const char *text = body;
	struct json_tokener *tok;
	json_object *o;
	size_t end;

	if (len == 0 || len > INT32_MAX || (tok = json_tokener_new()) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len);
	end = json_tokener_get_parse_end(tok);
	while (end < len && strchr(" \t\r\n", text[end]) != NULL &&
	       text[end] != '\0')
		end++;
	if (o != NULL && end != len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* --- operations --------------------------------------------------------------- */

int
au_http_whoami(void *self, struct aster_request *r)
{
	const struct aster_credential *c = aster_credential(r);
	json_object *o;

	(void)self;
	if (c == NULL) {        /* only on a public route */
		aster_problem(r, 401, "unauthorized", "a bearer credential is "
		              "required", NULL, 0);
		return 0;
	}
	o = json_object_new_object();
	json_object_object_add(o, "kind", json_object_new_string(c->kind));
	json_object_object_add(o, "id", json_object_new_string(c->id));
	json_object_object_add(o, "name", c->name != NULL ?
	                       json_object_new_string(c->name) : NULL);
	json_object_object_add(o, "role", json_object_new_string(c->role));
	json_object_object_add(o, "spaces", spaces_json(c->spaces,
	                                                c->nspaces));
	json_object_object_add(o, "expires_at", time_json(c->expires_at));
	send_json(r, 200, o);
	return 0;
}

int
au_http_keys_create(void *self, struct aster_request *r)
{
	const char *spaces[KEYS_MAX_SPACES];
	struct aster_api_key_spec spec;
	const void *body;
	json_object *o;
	const char *bad;
	size_t len;

	body = aster_body(r, &len);
	if ((o = parse_body(body, len)) == NULL) {
		aster_problem(r, 400, "invalid-json", "the body must be a JSON "
		              "object {\"name\", \"role\", \"spaces\", "
		              "\"expires_at\"}", NULL, 0);
		return 0;
	}
	if ((bad = spec_from_json(o, &spec, spaces, KEYS_MAX_SPACES)) != NULL)
		aster_problem(r, 422, "validation-failed", bad, NULL, 0);
	else if (au_key_create(self, &spec, on_created, r) < 0)
		aster_problem(r, 500, "internal", "the auth service refused "
		              "the request", NULL, 0);
	json_object_put(o);
	return 0;
}

int
au_http_keys_list(void *self, struct aster_request *r)
{
	if (au_key_list(self, on_listed, r) < 0)
		aster_problem(r, 500, "internal", "the auth service refused "
		              "the request", NULL, 0);
	return 0;
}

/* The key id is the route's last parameter, whatever it is named. */
int
au_http_keys_revoke(void *self, struct aster_request *r)
{
	const char *name, *id = NULL;
	size_t i;

	for (i = 0; aster_param_at(r, i, &name, &id); i++)
		;
	if (i == 0) {
		aster_problem(r, 404, "not-found", "no key id in the path",
		              NULL, 0);
		return 0;
	}
	aster_param_at(r, i - 1, &name, &id);
	if (au_key_revoke(self, id, on_revoked, r) < 0)
		aster_problem(r, 500, "internal", "the auth service refused "
		              "the request", NULL, 0);
	return 0;
}
