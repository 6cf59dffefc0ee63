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

#include <aster/auth.h>

#include "handlers/handlers.h"
#include "runtime/runtime.h"

#define KEYS_MAX_SPACES 256

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
