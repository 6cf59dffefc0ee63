/*
 * openapi.c - the OpenAPI 3.1 document of a product's routes (SPEC §14).
 *
 * Everything comes from the manifests: one path per mount path, one
 * operation per method, tagged with its module; request and response
 * schemas (openapi_schema.c); the problems each route can answer
 * (openapi_errors.c); bearer security on user and admin routes and an
 * explicit `security: []` elsewhere, so that no operation leaves its
 * security unsaid.
 *
 * Choices a generator will see:
 * - operationId is the route id without "route:"; a route with several
 *   methods keeps it for its first method and appends ".method" for the
 *   others, so adding a method never renames an existing operation. A
 *   clash with another route's id gets a "_2" suffix.
 * - A route without a summary gets its provider operation's, else
 *   "METHOD mountPath": tools list operations by summary.
 * - Mount paths of one shape (/a/{x}, /a/{y}) are one OpenAPI path, named
 *   after the first; a prefix route is documented at its mount path
 *   (x-aster-match: prefix), and where an exact route of the same shape
 *   has the method, the exact one is the operation, as it is for the
 *   router.
 * - The success answer, unless the route declares one: the provider
 *   operation's default schema under 200; a respond handler's own status
 *   and body; a static handler's file (200, 206, 304); a proxy's or
 *   runtime's answer (200, passed through).
 * - Responses are listed in code order, `default` last.
 */
#include "contract/openapi_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aster/provider.h"
#include "config/yaml_json.h"
#include "util/arena.h"
#include "util/strmap.h"

static const char bearer_scheme[] =
	"{\"type\":\"http\",\"scheme\":\"bearer\","
	"\"description\":\"An API key issued by the auth module, or a JWT "
	"it verifies\"}";

struct path_item {
	const char *path;           /* the template, as first written */
	json_object *item;
};

/* --- small pieces ------------------------------------------------------- */

static const struct aster_operation *
provider_operation(const struct route *r)
{
	const struct handler *h = r->handler;
	const struct aster_operation *op;

	if (h->kind != HANDLER_OPERATION || h->target == NULL ||
	    h->target->impl == NULL)
		return NULL;
	for (op = h->target->impl->operations; op != NULL && op->name != NULL;
	     op++)
		if (strcmp(op->name, h->operation) == 0)
			return op;
	return NULL;
}

static const char *
lower(struct arena *a, const char *s)
{
	char *l = arena_strdup(a, s), *p;

	for (p = l; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return l;
}

/* {"<media type>": {"schema": S}} */
static json_object *
content_json(const char *media, json_object *schema)
{
	json_object *c = json_object_new_object();
	json_object *m = json_object_new_object();

	json_object_object_add(m, "schema", schema);
	json_object_object_add(c, media, m);
	return c;
}

static void
add_string(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

/* --- responses ---------------------------------------------------------- */

static int
is_error_status(const char *code)
{
	return code[0] == '4' || code[0] == '5' ||
	       strcmp(code, "default") == 0;
}

/* One declared response: its description, and its schema (the problem
 * schema for errors that give none) under the matching media type. */
static json_object *
declared_response(struct openapi_doc *d, const struct route *r,
                  const char *code, const node_t *v)
{
	const node_t *desc = node_get(v, "description");
	const node_t *schema = node_get(v, "schema");
	int error = is_error_status(code);
	json_object *o = json_object_new_object();
	json_object *s;

	add_string(o, "description", desc != NULL &&
	           desc->kind == NODE_SCALAR ? desc->value : "");
	if (schema != NULL) {
		s = openapi_schema(d, r->module, schema);
	} else if (error) {
		s = openapi_ref(OPENAPI_SCHEMAS "Problem");
		d->problem_used = 1;
	} else {
		return o;
	}
	json_object_object_add(o, "content", content_json(error ?
	    "application/problem+json" : "application/json", s));
	return o;
}

static json_object *
described(const char *description)
{
	json_object *o = json_object_new_object();

	add_string(o, "description", description);
	return o;
}

/* A respond handler's answer: its status, and its body exactly. */
static void
respond_success(const struct respond_handler *h, json_object *responses)
{
	int status = h->has_status ? (int)h->status : 200;
	json_object *o = described("The configured answer");
	const char *media = h->content_type;
	json_object *schema;
	char code[16];

	snprintf(code, sizeof(code), "%d", status);
	if (h->body != NULL && !node_is_null(h->body) && status >= 200 &&
	    status != 204 && status != 304) {
		schema = json_object_new_object();
		if (h->body->kind == NODE_SCALAR) {
			add_string(schema, "type", "string");
			json_object_object_add(schema, "const",
			    json_object_new_string_len(h->body->value,
			                               (int)h->body->len));
			if (media == NULL)
				media = "text/plain; charset=utf-8";
		} else {
			json_object_object_add(schema, "const",
			                       yaml_to_json(h->body, 0));
			if (media == NULL)
				media = "application/json";
		}
		json_object_object_add(o, "content",
		                       content_json(media, schema));
	}
	json_object_object_add(responses, code, o);
}

/* The success answers of a route that declares none. */
static void
default_success(const struct route *r, json_object *responses)
{
	const struct aster_operation *op = provider_operation(r);
	json_object *o, *schema;

	switch (r->handler->kind) {
	case HANDLER_RESPOND:
		respond_success(r->handler->respond, responses);
		return;
	case HANDLER_STATIC:
		json_object_object_add(responses, "200", described("The file, "
		    "its Content-Type from its extension"));
		json_object_object_add(responses, "206", described("The one "
		    "range of the file the Range header asked for"));
		json_object_object_add(responses, "304", described("Not "
		    "modified since the ETag or date the request gave"));
		return;
	case HANDLER_PROXY:
	case HANDLER_RUNTIME:
		json_object_object_add(responses, "200", described("The "
		    "answer of the upstream or runtime, passed through"));
		return;
	case HANDLER_OPERATION:
		break;
	}
	o = described("OK");
	if (op != NULL && op->response != NULL &&
	    (schema = json_tokener_parse(op->response)) != NULL)
		json_object_object_add(o, "content", content_json(
		                       "application/json", schema));
	json_object_object_add(responses, "200", o);
}

static int
compare_codes(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* responses with its keys in order ("default" sorts after the codes);
 * takes responses. */
static json_object *
sorted(struct openapi_doc *d, json_object *responses)
{
	size_t n = (size_t)json_object_object_length(responses), i = 0;
	const char **keys = arena_alloc(d->a, (n + 1) * sizeof(*keys));
	json_object *o = json_object_new_object(), *v;

	json_object_object_foreach(responses, key, value) {
		(void)value;
		keys[i++] = arena_strdup(d->a, key);
	}
	qsort(keys, n, sizeof(*keys), compare_codes);
	for (i = 0; i < n; i++) {
		json_object_object_get_ex(responses, keys[i], &v);
		json_object_object_add(o, keys[i], json_object_get(v));
	}
	json_object_put(responses);
	return o;
}

static json_object *
responses_json(struct openapi_doc *d, const struct route *r,
               const char *method)
{
	const node_t *decl = r->responses;
	json_object *o = json_object_new_object();
	int success = 0;
	uint32_t i;

	for (i = 0; decl != NULL && decl->kind == NODE_MAP && i < decl->n;
	     i++) {
		const char *code = decl->pairs[i].key->value;

		success |= !is_error_status(code);
		json_object_object_add(o, code, declared_response(d, r, code,
		                       decl->pairs[i].value));
	}
	if (!success)
		default_success(r, o);
	openapi_add_errors(d, r, method, o);
	return sorted(d, o);
}

/* --- operations --------------------------------------------------------- */

static const char *
operation_id(struct openapi_doc *d, const struct route *r, size_t method)
{
	const char *base = strncmp(r->id, "route:", 6) == 0 ? r->id + 6 :
	                   r->id;
	const char *id = method == 0 ? base : arena_printf(d->a, "%s.%s",
	                 base, lower(d->a, r->methods.v[method]));
	const char *unique = id;
	unsigned n;

	for (n = 2; strmap_put(d->op_ids, unique, (void *)r) != NULL; n++)
		unique = arena_printf(d->a, "%s_%u", id, n);
	return unique;
}

/* Every {name} of the path template as a path parameter. */
static json_object *
parameters_json(const char *path)
{
	json_object *a = json_object_new_array();
	const char *s, *e;

	for (s = strchr(path, '{'); s != NULL; s = strchr(e, '{')) {
		json_object *p = json_object_new_object();
		json_object *schema = json_object_new_object();

		if ((e = strchr(s, '}')) == NULL)
			break;
		json_object_object_add(p, "name",
		    json_object_new_string_len(s + 1, (int)(e - s - 1)));
		add_string(p, "in", "path");
		json_object_object_add(p, "required",
		                       json_object_new_boolean(1));
		add_string(schema, "type", "string");
		json_object_object_add(p, "schema", schema);
		json_object_array_add(a, p);
	}
	return a;
}

/* [{"bearerAuth": []}] on user and admin routes; [] (none needed)
 * elsewhere. */
static json_object *
security_json(struct openapi_doc *d, const struct route *r)
{
	json_object *sec = json_object_new_array();
	json_object *req;

	if (!(r->scope & (SCOPE_USER | SCOPE_ADMIN)))
		return sec;
	req = json_object_new_object();
	json_object_object_add(req, "bearerAuth", json_object_new_array());
	json_object_array_add(sec, req);
	d->bearer_used = 1;
	return sec;
}

static json_object *
request_body_json(struct openapi_doc *d, const struct route *r)
{
	json_object *o = json_object_new_object();

	if (r->request->description != NULL)
		add_string(o, "description", r->request->description);
	json_object_object_add(o, "required", json_object_new_boolean(1));
	json_object_object_add(o, "content", content_json("application/json",
	    openapi_schema(d, r->module, r->request->schema)));
	return o;
}

static int
takes_body(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	       strcmp(method, "OPTIONS") != 0;
}

static json_object *
server_json(const struct openapi_server *s)
{
	json_object *o = json_object_new_object();

	add_string(o, "url", s->url);
	return o;
}

/* The servers among d's whose listeners serve one of scopes. */
static json_object *
servers_json(const struct openapi_doc *d, unsigned scopes)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < d->nservers; i++)
		if (d->servers[i].scopes & scopes)
			json_object_array_add(a, server_json(&d->servers[i]));
	return a;
}

/* An operation's own servers, when fewer of the document's serve its
 * scope (a listener answers 404 for a scope it does not list); NULL
 * when the document's all do, or none does (the route is unreachable,
 * which --check-config warns of). */
static json_object *
operation_servers(const struct openapi_doc *d, const struct route *r)
{
	size_t i, all = 0, some = 0;

	for (i = 0; i < d->nservers; i++) {
		if (!(d->servers[i].scopes & d->scopes))
			continue;
		all++;
		some += (d->servers[i].scopes & r->scope) != 0;
	}
	return some == all || some == 0 ? NULL : servers_json(d, r->scope);
}

static json_object *
operation_json(struct openapi_doc *d, const struct route *r, const char *path,
               size_t method)
{
	const struct aster_operation *op = provider_operation(r);
	const char *m = r->methods.v[method];
	const char *summary = r->summary != NULL ? r->summary :
	                      op != NULL && op->summary != NULL ? op->summary :
	                      arena_printf(d->a, "%s %s", m, r->mount_path);
	json_object *o = json_object_new_object();
	json_object *tags = json_object_new_array();
	json_object *params = parameters_json(path);
	json_object *servers = operation_servers(d, r);

	add_string(o, "operationId", operation_id(d, r, method));
	add_string(o, "summary", summary);
	if (r->description != NULL)
		add_string(o, "description", r->description);
	json_object_array_add(tags, json_object_new_string(r->module->id));
	json_object_object_add(o, "tags", tags);
	if (servers != NULL)
		json_object_object_add(o, "servers", servers);
	if (json_object_array_length(params) > 0)
		json_object_object_add(o, "parameters", params);
	else
		json_object_put(params);
	json_object_object_add(o, "security", security_json(d, r));
	if (r->request != NULL && r->request->schema != NULL && takes_body(m))
		json_object_object_add(o, "requestBody",
		                       request_body_json(d, r));
	json_object_object_add(o, "responses", responses_json(d, r, m));
	if (r->prefix)
		add_string(o, "x-aster-match", "prefix");
	return o;
}

/* --- the document ------------------------------------------------------- */

static struct path_item *
path_item(struct openapi_doc *d, const struct route *r)
{
	struct path_item *p = strmap_get(d->items, r->shape);

	if (p != NULL)
		return p;
	p = arena_alloc(d->a, sizeof(*p));
	p->path = r->mount_path;
	p->item = json_object_new_object();
	json_object_object_add(d->paths, p->path, p->item);
	strmap_put(d->items, r->shape, p);
	return p;
}

static void
add_route(struct openapi_doc *d, const struct route *r)
{
	struct path_item *p = path_item(d, r);
	size_t i;

	for (i = 0; i < r->methods.n; i++) {
		const char *m = lower(d->a, r->methods.v[i]);

		if (json_object_object_get_ex(p->item, m, NULL))
			continue;
		json_object_object_add(p->item, m,
		                       operation_json(d, r, p->path, i));
	}
}

static int
included(const struct openapi_doc *d, const struct route *r)
{
	return (r->scope & d->scopes) && r->shape != NULL &&
	       r->mount_path != NULL && r->handler != NULL;
}

/* The tag of module m: its id, described by its description (else its
 * display name, which x-displayName carries for viewers). */
static json_object *
tag_json(const struct module *m)
{
	json_object *t = json_object_new_object();

	add_string(t, "name", m->id);
	add_string(t, "description", m->description != NULL ?
	           m->description : m->display_name);
	add_string(t, "x-displayName", m->display_name);
	return t;
}

/* Exact routes first, so that they own a path's methods. */
static void
add_paths(struct openapi_doc *d, json_object *tags)
{
	const struct config *cfg = d->cfg;
	struct strmap *tagged = strmap_new(d->a);
	int prefix;
	size_t i, j;

	for (prefix = 0; prefix <= 1; prefix++) {
		for (i = 0; i < cfg->nmembers; i++) {
			const struct module *m = cfg->members[i];
			int any = 0;

			for (j = 0; j < m->routes.n; j++) {
				const struct route *r = m->routes.v[j];

				if (!included(d, r) || r->prefix != prefix)
					continue;
				add_route(d, r);
				any = 1;
			}
			if (any && strmap_put(tagged, m->id, (void *)m) == NULL)
				json_object_array_add(tags, tag_json(m));
		}
	}
}

/* Adds o under key when it has members; else drops it. */
static void
add_unless_empty(json_object *parent, const char *key, json_object *o)
{
	if (json_object_object_length(o) > 0)
		json_object_object_add(parent, key, o);
	else
		json_object_put(o);
}

static json_object *
components_json(struct openapi_doc *d)
{
	json_object *c = json_object_new_object();
	json_object *schemas = json_object_new_object();
	json_object *responses = json_object_new_object();
	json_object *security;

	openapi_add_schemas(d, schemas);
	openapi_add_error_responses(d, responses);
	add_unless_empty(c, "schemas", schemas);
	add_unless_empty(c, "responses", responses);
	if (d->bearer_used) {
		security = json_object_new_object();
		json_object_object_add(security, "bearerAuth",
		                       json_tokener_parse(bearer_scheme));
		json_object_object_add(c, "securitySchemes", security);
	}
	return c;
}

static json_object *
info_json(const struct product *p)
{
	json_object *o = json_object_new_object();

	add_string(o, "title", p->name);
	add_string(o, "version", p->version);
	if (p->description != NULL)
		add_string(o, "description", p->description);
	return o;
}

char *
openapi_document(const struct config *cfg,
                 const struct openapi_server *servers, size_t nservers,
                 unsigned scopes)
{
	struct openapi_doc d;
	json_object *root, *tags, *top;
	char *text;

	memset(&d, 0, sizeof(d));
	if ((d.a = arena_new()) == NULL)
		return NULL;
	d.cfg = cfg;
	d.scopes = scopes;
	d.servers = servers;
	d.nservers = nservers;
	d.items = strmap_new(d.a);
	d.op_ids = strmap_new(d.a);
	d.schemas = strmap_new(d.a);
	d.paths = json_object_new_object();
	tags = json_object_new_array();
	add_paths(&d, tags);

	root = json_object_new_object();
	add_string(root, "openapi", "3.1.0");
	json_object_object_add(root, "info", info_json(cfg->product));
	top = servers_json(&d, scopes);
	if (json_object_array_length(top) > 0)
		json_object_object_add(root, "servers", top);
	else
		json_object_put(top);
	json_object_object_add(root, "tags", tags);
	json_object_object_add(root, "paths", d.paths);
	json_object_object_add(root, "components", components_json(&d));
	text = strdup(json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	arena_free(d.a);
	return text;
}
