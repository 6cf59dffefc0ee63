/*
 * openapi.c - the OpenAPI 3.1 document of a generation's routes (SPEC §14).
 *
 * Everything comes from the manifests: one path per mount path, one
 * operation per method, request and response schemas translated from
 * their YAML form, and the modules' named schemas under
 * components.schemas as "module.Name" (the spelling a manifest's $ref
 * uses across modules, and within the characters OpenAPI allows in
 * component names). Errors are RFC 9457 problems (SPEC §7.2): every
 * operation refers to components.responses.Problem for `default`.
 *
 * Choices a generator will see:
 * - operationId is the route id without "route:"; a route with several
 *   methods keeps it for its first method and appends ".method" for the
 *   others, so adding a method never renames an existing operation. A
 *   clash with another route's id gets a "_2" suffix.
 * - Mount paths of one shape (/a/{x}, /a/{y}) are one OpenAPI path, named
 *   after the first; a prefix route is documented at its mount path, and
 *   where an exact route of the same shape has the method, the exact one
 *   is the operation, as it is for the router.
 * - Only ctx->gen->cfg is read, so `asterd --openapi` can pass a context
 *   holding nothing but a generation.
 *
 * Scalars in the YAML tree are untyped text. A schema keyword types its
 * own value, as config/jsonschema.c reads it (`minLength: "3"` is 3, and
 * `type: null` names the type "null"). Where a manifest writes a JSON
 * value (enum, const, default; a respond body), a plain scalar is read as
 * YAML 1.2's core schema reads it, so `3` is a number and `"3"` a string;
 * hex, octal and .inf stay strings, as JSON has no spelling for them.
 */
#include "handlers/handlers.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "aster/provider.h"
#include "config/yaml_json.h"
#include "runtime/runtime.h"
#include "util/arena.h"
#include "util/strmap.h"

#define SCHEMA_PREFIX "#/components/schemas/"

static const char problem_schema[] =
	"{\"type\":\"object\","
	"\"description\":\"An RFC 9457 problem: every error asterd answers\","
	"\"required\":[\"type\",\"title\",\"status\",\"code\"],"
	"\"properties\":{"
	"\"type\":{\"type\":\"string\"},"
	"\"title\":{\"type\":\"string\"},"
	"\"status\":{\"type\":\"integer\",\"minimum\":400,\"maximum\":599},"
	"\"detail\":{\"type\":\"string\"},"
	"\"code\":{\"type\":\"string\"},"
	"\"requestId\":{\"type\":\"string\"}}}";

static const char problem_response[] =
	"{\"description\":\"An error, as an RFC 9457 problem\","
	"\"content\":{\"application/problem+json\":"
	"{\"schema\":{\"$ref\":\"" SCHEMA_PREFIX "Problem\"}}}}";

static const char bearer_scheme[] =
	"{\"type\":\"http\",\"scheme\":\"bearer\","
	"\"description\":\"An API key issued by the auth module, or a JWT\"}";

struct doc {
	struct arena *a;
	const struct config *cfg;
	unsigned scopes;
	json_object *paths;
	struct strmap *items;       /* shape -> struct path_item */
	struct strmap *op_ids;      /* operationIds taken */
};

struct path_item {
	const char *path;           /* the template, as first written */
	json_object *item;
};

/* --- schemas -------------------------------------------------------------- */

enum kw_kind {
	KW_SCHEMA,                  /* a schema, or true/false */
	KW_PROPERTIES,              /* name -> schema */
	KW_NAMES,                   /* a string or a list of strings */
	KW_TYPED,                   /* number or boolean, quoted or not */
	KW_VALUE,                   /* a JSON value, typed by quoting */
	KW_REF,
};

static const struct {
	const char *name;
	enum kw_kind kind;
} keywords[] = {
	{"type", KW_NAMES},
	{"properties", KW_PROPERTIES},
	{"required", KW_NAMES},
	{"additionalProperties", KW_SCHEMA},
	{"items", KW_SCHEMA},
	{"enum", KW_VALUE},
	{"const", KW_VALUE},
	{"default", KW_VALUE},
	{"examples", KW_VALUE},
	{"minLength", KW_TYPED},
	{"maxLength", KW_TYPED},
	{"minimum", KW_TYPED},
	{"maximum", KW_TYPED},
	{"exclusiveMinimum", KW_TYPED},
	{"exclusiveMaximum", KW_TYPED},
	{"minItems", KW_TYPED},
	{"maxItems", KW_TYPED},
	{"deprecated", KW_TYPED},
	{"readOnly", KW_TYPED},
	{"writeOnly", KW_TYPED},
	{"title", KW_NAMES},
	{"description", KW_NAMES},
	{"pattern", KW_NAMES},
	{"format", KW_NAMES},
	{"$ref", KW_REF},
};

static json_object *schema_json(struct doc *d, const struct module *owner,
                                const node_t *n);

/* {"$ref": pointer} */
static json_object *
ref_object(const char *pointer)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "$ref", json_object_new_string(pointer));
	return o;
}

/* A manifest $ref ("Name" in owner, or "module.Name") as a JSON pointer
 * to its component. */
static json_object *
ref_json(struct doc *d, const struct module *owner, const node_t *ref)
{
	if (ref->kind != NODE_SCALAR)
		return yaml_to_json(ref, 0);
	if (strchr(ref->value, '.') != NULL)
		return json_object_new_string(arena_printf(d->a,
		    SCHEMA_PREFIX "%s", ref->value));
	return json_object_new_string(arena_printf(d->a, SCHEMA_PREFIX "%s.%s",
	                              owner->id, ref->value));
}

/* Strings as written: `type: null` names the type "null". */
static json_object *
names_json(const node_t *n)
{
	json_object *a;
	uint32_t i;

	if (n->kind == NODE_SCALAR)
		return json_object_new_string_len(n->value, (int)n->len);
	if (n->kind != NODE_SEQ)
		return yaml_to_json(n, 0);
	a = json_object_new_array_ext((int)n->n);
	for (i = 0; i < n->n; i++)
		json_object_array_add(a, names_json(n->items[i]));
	return a;
}

static json_object *
properties_json(struct doc *d, const struct module *owner, const node_t *n)
{
	json_object *o;
	uint32_t i;

	if (n->kind != NODE_MAP)
		return yaml_to_json(n, 0);
	o = json_object_new_object();
	for (i = 0; i < n->n; i++)
		if (!json_object_object_get_ex(o, n->pairs[i].key->value,
		                               NULL))
			json_object_object_add(o, n->pairs[i].key->value,
			    schema_json(d, owner, n->pairs[i].value));
	return o;
}

static json_object *
keyword_json(struct doc *d, const struct module *owner, const char *key,
             const node_t *v)
{
	size_t i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strcmp(key, keywords[i].name) != 0)
			continue;
		switch (keywords[i].kind) {
		case KW_SCHEMA:
			return schema_json(d, owner, v);
		case KW_PROPERTIES:
			return properties_json(d, owner, v);
		case KW_NAMES:
			return names_json(v);
		case KW_TYPED:
			return yaml_to_json(v, 1);
		case KW_VALUE:
			return yaml_to_json(v, 0);
		case KW_REF:
			return ref_json(d, owner, v);
		}
	}
	return yaml_to_json(v, 0);
}

/*
 * A manifest schema (validated by config/jsonschema.c) as JSON Schema:
 * each keyword types its own value, as the checker read it.
 */
static json_object *
schema_json(struct doc *d, const struct module *owner, const node_t *n)
{
	json_object *o;
	uint32_t i;

	if (n->kind == NODE_SCALAR)
		return yaml_to_json(n, 1);     /* true / false */
	if (n->kind != NODE_MAP)
		return yaml_to_json(n, 0);
	o = json_object_new_object();
	for (i = 0; i < n->n; i++) {
		const char *key = n->pairs[i].key->value;

		if (json_object_object_get_ex(o, key, NULL))
			continue;       /* a merged key behind an explicit one */
		json_object_object_add(o, key, keyword_json(d, owner, key,
		                       n->pairs[i].value));
	}
	return o;
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

/* --- operations ----------------------------------------------------------- */

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

static const char *
operation_id(struct doc *d, const struct route *r, size_t method)
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
		json_object_object_add(p, "in", json_object_new_string("path"));
		json_object_object_add(p, "required",
		                       json_object_new_boolean(1));
		json_object_object_add(schema, "type",
		                       json_object_new_string("string"));
		json_object_object_add(p, "schema", schema);
		json_object_array_add(a, p);
	}
	return a;
}

static int
is_error_status(const char *code)
{
	return code[0] == '4' || code[0] == '5' ||
	       strcmp(code, "default") == 0;
}

static json_object *
problem_ref(void)
{
	return ref_object("#/components/responses/Problem");
}

/* One declared response: its description, and its schema (the problem
 * schema for errors that give none) under the matching media type. */
static json_object *
response_json(struct doc *d, const struct route *r, const char *code,
              const node_t *v)
{
	const node_t *desc = node_get(v, "description");
	const node_t *schema = node_get(v, "schema");
	int error = is_error_status(code);
	json_object *o = json_object_new_object();
	json_object *s;

	json_object_object_add(o, "description", json_object_new_string(
	    desc != NULL && desc->kind == NODE_SCALAR ? desc->value : ""));
	if (schema != NULL)
		s = schema_json(d, r->module, schema);
	else if (error)
		s = ref_object(SCHEMA_PREFIX "Problem");
	else
		return o;
	json_object_object_add(o, "content", content_json(error ?
	    "application/problem+json" : "application/json", s));
	return o;
}

/* The success answer of a route that declares none: 200, with the
 * provider's default schema when it has one. */
static json_object *
default_success(const struct route *r)
{
	const struct aster_operation *op = provider_operation(r);
	json_object *o = json_object_new_object();
	json_object *schema;

	json_object_object_add(o, "description", json_object_new_string("OK"));
	if (op != NULL && op->response != NULL &&
	    (schema = json_tokener_parse(op->response)) != NULL)
		json_object_object_add(o, "content",
		                       content_json("application/json", schema));
	return o;
}

static json_object *
responses_json(struct doc *d, const struct route *r)
{
	const node_t *decl = r->responses;
	json_object *o = json_object_new_object();
	int success = 0;
	uint32_t i;

	for (i = 0; decl != NULL && decl->kind == NODE_MAP && i < decl->n;
	     i++) {
		const char *code = decl->pairs[i].key->value;

		success |= !is_error_status(code);
		json_object_object_add(o, code, response_json(d, r, code,
		                       decl->pairs[i].value));
	}
	if (!success)
		json_object_object_add(o, "200", default_success(r));
	if ((r->scope & (SCOPE_USER | SCOPE_ADMIN)) &&
	    !json_object_object_get_ex(o, "401", NULL))
		json_object_object_add(o, "401", problem_ref());
	if ((r->scope & (SCOPE_USER | SCOPE_ADMIN)) &&
	    !json_object_object_get_ex(o, "403", NULL))
		json_object_object_add(o, "403", problem_ref());
	if (!json_object_object_get_ex(o, "default", NULL))
		json_object_object_add(o, "default", problem_ref());
	return o;
}

static json_object *
request_body_json(struct doc *d, const struct route *r)
{
	json_object *o = json_object_new_object();

	if (r->request->description != NULL)
		json_object_object_add(o, "description", json_object_new_string(
		    r->request->description));
	json_object_object_add(o, "required", json_object_new_boolean(1));
	json_object_object_add(o, "content", content_json("application/json",
	    schema_json(d, r->module, r->request->schema)));
	return o;
}

static int
has_body(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	       strcmp(method, "OPTIONS") != 0;
}

static json_object *
operation_json(struct doc *d, const struct route *r, const char *path,
               size_t method)
{
	const struct aster_operation *op = provider_operation(r);
	const char *summary = r->summary != NULL ? r->summary :
	                      op != NULL ? op->summary : NULL;
	json_object *o = json_object_new_object();
	json_object *tags = json_object_new_array();
	json_object *params = parameters_json(path);

	json_object_object_add(o, "operationId", json_object_new_string(
	    operation_id(d, r, method)));
	if (summary != NULL)
		json_object_object_add(o, "summary",
		                       json_object_new_string(summary));
	if (r->description != NULL)
		json_object_object_add(o, "description",
		                       json_object_new_string(r->description));
	json_object_array_add(tags, json_object_new_string(r->module->id));
	json_object_object_add(o, "tags", tags);
	if (json_object_array_length(params) > 0)
		json_object_object_add(o, "parameters", params);
	else
		json_object_put(params);
	if (r->scope & (SCOPE_USER | SCOPE_ADMIN)) {
		json_object *sec = json_object_new_array();
		json_object *req = json_object_new_object();

		json_object_object_add(req, "bearerAuth",
		                       json_object_new_array());
		json_object_array_add(sec, req);
		json_object_object_add(o, "security", sec);
	}
	if (r->request != NULL && r->request->schema != NULL &&
	    has_body(r->methods.v[method]))
		json_object_object_add(o, "requestBody",
		                       request_body_json(d, r));
	json_object_object_add(o, "responses", responses_json(d, r));
	if (r->prefix)
		json_object_object_add(o, "x-aster-match",
		                       json_object_new_string("prefix"));
	return o;
}

/* --- the document ----------------------------------------------------------- */

static struct path_item *
path_item(struct doc *d, const struct route *r)
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
add_route(struct doc *d, const struct route *r)
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
included(const struct doc *d, const struct route *r)
{
	return (r->scope & d->scopes) && r->shape != NULL &&
	       r->mount_path != NULL && r->handler != NULL;
}

/* Exact routes first, so that they own a path's methods. */
static void
add_paths(struct doc *d, json_object *tags)
{
	const struct config *cfg = d->cfg;
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
			if (any && !json_object_object_get_ex(tags, m->id,
			                                      NULL))
				json_object_object_add(tags, m->id,
				    json_object_new_string(m->display_name));
		}
	}
}

static json_object *
tags_json(json_object *by_id)
{
	json_object *a = json_object_new_array();

	json_object_object_foreach(by_id, id, name) {
		json_object *t = json_object_new_object();

		json_object_object_add(t, "name", json_object_new_string(id));
		json_object_object_add(t, "description", json_object_get(name));
		json_object_array_add(a, t);
	}
	return a;
}

static json_object *
components_json(struct doc *d)
{
	json_object *c = json_object_new_object();
	json_object *schemas = json_object_new_object();
	json_object *responses = json_object_new_object();
	json_object *security = json_object_new_object();
	size_t i;
	uint32_t j;

	for (i = 0; i < d->cfg->nmembers; i++) {
		const struct module *m = d->cfg->members[i];

		for (j = 0; m->schemas != NULL && m->schemas->kind == NODE_MAP &&
		     j < m->schemas->n; j++)
			json_object_object_add(schemas, arena_printf(d->a,
			    "%s.%s", m->id, m->schemas->pairs[j].key->value),
			    schema_json(d, m, m->schemas->pairs[j].value));
	}
	json_object_object_add(schemas, "Problem",
	                       json_tokener_parse(problem_schema));
	json_object_object_add(responses, "Problem",
	                       json_tokener_parse(problem_response));
	json_object_object_add(security, "bearerAuth",
	                       json_tokener_parse(bearer_scheme));
	json_object_object_add(c, "schemas", schemas);
	json_object_object_add(c, "responses", responses);
	json_object_object_add(c, "securitySchemes", security);
	return c;
}

static json_object *
info_json(const struct product *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "title", json_object_new_string(p->name));
	json_object_object_add(o, "version",
	                       json_object_new_string(p->version));
	if (p->description != NULL)
		json_object_object_add(o, "description",
		                       json_object_new_string(p->description));
	return o;
}

/*
 * openapi_document() (handlers.h): the document as compact JSON text,
 * malloc'ed; NULL when out of memory.
 */
char *
openapi_document(const struct request_ctx *ctx, unsigned scopes)
{
	struct doc d;
	json_object *root, *tags;
	char *text;

	memset(&d, 0, sizeof(d));
	if ((d.a = arena_new()) == NULL)
		return NULL;
	d.cfg = ctx->gen->cfg;
	d.scopes = scopes;
	d.items = strmap_new(d.a);
	d.op_ids = strmap_new(d.a);
	d.paths = json_object_new_object();
	tags = json_object_new_object();
	add_paths(&d, tags);

	root = json_object_new_object();
	json_object_object_add(root, "openapi",
	                       json_object_new_string("3.1.0"));
	json_object_object_add(root, "info", info_json(d.cfg->product));
	json_object_object_add(root, "tags", tags_json(tags));
	json_object_object_add(root, "paths", d.paths);
	json_object_object_add(root, "components", components_json(&d));
	text = strdup(json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	json_object_put(tags);
	arena_free(d.a);
	return text;
}
