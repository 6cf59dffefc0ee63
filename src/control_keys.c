/*
 * control_keys.c - `asterctl keys create|list|revoke` on the control
 * socket (SPEC §12): the way to the first admin key, when no credential
 * exists yet to call /gateway/v1/admin/keys with. Access to the socket
 * (its owner, root) is the authority.
 */
#include "control.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <aster/auth.h>

#include "runtime/runtime.h"

#define KEYS_MAX_SPACES 256

/* --- times and JSON --------------------------------------------------------
 * The control socket's JSON of a key: the same shape the auth module's
 * HTTP endpoints answer (modules/auth/http.c), which a provider cannot
 * share with asterd's own code (it never links against it). */

static json_object *
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

static int
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
static const char *
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
		    keys_parse_time(json_object_get_string(v),
		                    &spec->expires_at) < 0)
			return "\"expires_at\" must be an RFC 3339 time, such "
			       "as 2027-01-31T00:00:00Z";
	}
	return NULL;
}

static json_object *
keys_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_object *
keys_error(const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

static json_object *
keys_ok(const char *field, json_object *value)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, field, value);
	return o;
}

static const char *
status_text(enum aster_auth_status st)
{
	switch (st) {
	case ASTER_AUTH_INVALID:
		return "refused";
	case ASTER_AUTH_NOT_FOUND:
		return "no such key";
	case ASTER_AUTH_UNAVAILABLE:
		return "the state store is unavailable";
	default:
		return "failed";
	}
}

static void
answer_key(void *arg, enum aster_auth_status st,
           const struct aster_api_key *key, const char *detail)
{
	control_answer_later(arg, st == ASTER_AUTH_OK ?
	    keys_ok("key", keys_json(key)) :
	    keys_error("%s", detail != NULL ? detail : status_text(st)));
}

static void
answer_keys(void *arg, enum aster_auth_status st,
            const struct aster_api_key *keys, size_t n, const char *detail)
{
	json_object *a;
	size_t i;

	if (st != ASTER_AUTH_OK) {
		control_answer_later(arg, keys_error("%s", detail != NULL ?
		                     detail : status_text(st)));
		return;
	}
	a = json_object_new_array_ext((int)n);
	for (i = 0; i < n; i++)
		json_object_array_add(a, keys_json(&keys[i]));
	control_answer_later(arg, keys_ok("keys", a));
}

static json_object *
keys_create(const struct auth_handle *auth, json_object *req,
            struct control_pending *p)
{
	const char *spaces[KEYS_MAX_SPACES];
	struct aster_api_key_spec spec;
	const char *bad = keys_spec_from_json(req, &spec, spaces,
	                                      KEYS_MAX_SPACES);

	if (bad != NULL)
		return keys_error("%s", bad);
	if (auth->ops->key_create(auth->self, &spec, answer_key, p) < 0)
		return keys_error("the auth service refused the request");
	return NULL;
}

json_object *
control_keys(struct runtime *rt, json_object *req, struct control_pending *p)
{
	struct auth_handle auth;
	json_object *v;
	const char *action;

	if (!json_object_object_get_ex(req, "action", &v) ||
	    !json_object_is_type(v, json_type_string))
		return keys_error("\"action\" must be create, list or revoke");
	action = json_object_get_string(v);
	if (rt->current == NULL || runtime_auth_of(rt->current, &auth) < 0)
		return keys_error("no auth service is running (the product "
		                  "needs a module providing auth)");
	if (strcmp(action, "create") == 0)
		return keys_create(&auth, req, p);
	if (strcmp(action, "list") == 0)
		return auth.ops->key_list(auth.self, answer_keys, p) < 0 ?
		       keys_error("the auth service refused the request") :
		       NULL;
	if (strcmp(action, "revoke") != 0)
		return keys_error("unknown keys action '%s'", action);
	if (!json_object_object_get_ex(req, "id", &v) ||
	    !json_object_is_type(v, json_type_string))
		return keys_error("\"id\" (the key's id) is required");
	return auth.ops->key_revoke(auth.self, json_object_get_string(v),
	                            answer_key, p) < 0 ?
	       keys_error("the auth service refused the request") : NULL;
}
