/*
 * inspect.c - the operation `inspect`: everything a provider can read
 * from a request, answered as one JSON object (200), with the header
 * X-Probe-Method: METHOD (which a HEAD request shows without a body):
 *
 *   method, path      aster_method(), aster_path()
 *   params            {NAME: value or null} for each `param=NAME` of the
 *                     query, through aster_param()
 *   param_list        [[name, value], ...] from aster_param_at()
 *   query             {name: [values]} for each name aster_query_at()
 *                     gives, every value aster_query(r, name, nth) has
 *   query_list        [[name, value], ...] from aster_query_at()
 *   asked             {NAME: [values]} for each `ask=NAME`, through
 *                     aster_query(): to ask for names not in the query
 *   headers           {NAME: value or null} for each `header=NAME`,
 *                     through aster_header()
 *   header_list       [[name, value], ...] from aster_header_at()
 *   body_length, body the body (a string, or null when aster_body()
 *                     gives NULL)
 *   credential        null, or {kind, id, name, role, spaces (null when
 *                     not limited), expires_at}
 *   space, request_id, trace_id, client   strings or null
 *   store             whether aster_request_store() is not NULL
 *   alive             aster_alive()
 *
 * Lists stop at QUERY_MAX entries, so that a broken implementation
 * cannot keep it looping.
 */
#include "probe.h"

#include <stdint.h>

#define QUERY_MAX 1000

static json_object *
string_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

static json_object *
pair(const char *name, const char *value)
{
	json_object *a = json_object_new_array();

	json_object_array_add(a, string_or_null(name));
	json_object_array_add(a, string_or_null(value));
	return a;
}

/* Every value of query parameter name, through aster_query(). */
static json_object *
query_values(const struct aster_request *r, const char *name)
{
	json_object *a = json_object_new_array();
	const char *v;
	size_t nth;

	for (nth = 0; nth < QUERY_MAX &&
	     (v = aster_query(r, name, nth)) != NULL; nth++)
		json_object_array_add(a, json_object_new_string(v));
	return a;
}

/* For each value of the query's meta parameter meta, NAME: what read
 * gives for it. */
static json_object *
each_asked(const struct aster_request *r, const char *meta,
           json_object *(*read)(const struct aster_request *, const char *))
{
	json_object *o = json_object_new_object();
	const char *name;
	size_t nth;

	for (nth = 0; nth < QUERY_MAX &&
	     (name = aster_query(r, meta, nth)) != NULL; nth++)
		json_object_object_add(o, name, read(r, name));
	return o;
}

static json_object *
read_param(const struct aster_request *r, const char *name)
{
	return string_or_null(aster_param(r, name));
}

static json_object *
read_header(const struct aster_request *r, const char *name)
{
	return string_or_null(aster_header(r, name));
}

static json_object *
param_list(const struct aster_request *r)
{
	json_object *list = json_object_new_array();
	const char *name, *value;
	size_t i;

	for (i = 0; i < QUERY_MAX && aster_param_at(r, i, &name, &value);
	     i++)
		json_object_array_add(list, pair(name, value));
	return list;
}

static void
add_query(const struct aster_request *r, json_object *o)
{
	json_object *byname = json_object_new_object();
	json_object *list = json_object_new_array();
	const char *name, *value;
	size_t i;

	for (i = 0; i < QUERY_MAX && aster_query_at(r, i, &name, &value);
	     i++) {
		json_object_array_add(list, pair(name, value));
		if (name != NULL &&
		    !json_object_object_get_ex(byname, name, NULL))
			json_object_object_add(byname, name,
			                       query_values(r, name));
	}
	json_object_object_add(o, "query", byname);
	json_object_object_add(o, "query_list", list);
	json_object_object_add(o, "asked", each_asked(r, "ask", query_values));
}

static void
add_headers(const struct aster_request *r, json_object *o)
{
	json_object *list = json_object_new_array();
	const char *name, *value;
	size_t i;

	for (i = 0; i < QUERY_MAX && aster_header_at(r, i, &name, &value);
	     i++)
		json_object_array_add(list, pair(name, value));
	json_object_object_add(o, "headers",
	                       each_asked(r, "header", read_header));
	json_object_object_add(o, "header_list", list);
}

static void
add_body(const struct aster_request *r, json_object *o)
{
	size_t len = SIZE_MAX;
	const void *body = aster_body(r, &len);

	json_object_object_add(o, "body_length",
	                       json_object_new_int64((int64_t)len));
	json_object_object_add(o, "body", body != NULL ?
	    json_object_new_string_len(body, (int)len) : NULL);
}

static json_object *
credential_json(const struct aster_credential *c)
{
	json_object *o, *spaces = NULL;
	size_t i;

	if (c == NULL)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "kind", string_or_null(c->kind));
	json_object_object_add(o, "id", string_or_null(c->id));
	json_object_object_add(o, "name", string_or_null(c->name));
	json_object_object_add(o, "role", string_or_null(c->role));
	if (c->nspaces > 0) {
		spaces = json_object_new_array();
		for (i = 0; i < c->nspaces; i++)
			json_object_array_add(spaces,
			                      string_or_null(c->spaces[i]));
	}
	json_object_object_add(o, "spaces", spaces);
	json_object_object_add(o, "expires_at",
	                       json_object_new_int64(c->expires_at));
	return o;
}

int
probe_inspect(void *state, struct aster_request *r)
{
	json_object *o = json_object_new_object();

	(void)state;
	json_object_object_add(o, "method", string_or_null(aster_method(r)));
	json_object_object_add(o, "path", string_or_null(aster_path(r)));
	json_object_object_add(o, "params", each_asked(r, "param", read_param));
	json_object_object_add(o, "param_list", param_list(r));
	add_query(r, o);
	add_headers(r, o);
	add_body(r, o);
	json_object_object_add(o, "credential",
	                       credential_json(aster_credential(r)));
	json_object_object_add(o, "space", string_or_null(aster_space(r)));
	json_object_object_add(o, "request_id",
	                       string_or_null(aster_request_id(r)));
	json_object_object_add(o, "trace_id", string_or_null(aster_trace_id(r)));
	json_object_object_add(o, "client", string_or_null(aster_client(r)));
	json_object_object_add(o, "store", json_object_new_boolean(
	    aster_request_store(r) != NULL));
	json_object_object_add(o, "alive", json_object_new_int(aster_alive(r)));
	if (aster_add_header(r, "X-Probe-Method", aster_method(r)) != 0) {
		json_object_put(o);
		return -1;
	}
	probe_respond_object(r, 200, o);
	return 0;
}
