/*
 * openapi_schema.c - manifest schemas as OpenAPI 3.1 schemas, and the
 * components.schemas a document needs.
 *
 * Scalars in the YAML tree are untyped text. A schema keyword types its
 * own value, as config/jsonschema.c reads it (`minLength: "3"` is 3, and
 * `type: null` names the type "null"). Where a manifest writes a JSON
 * value (enum, const, default, examples), a plain scalar is read as YAML
 * 1.2's core schema reads it (config/yaml_json.h), so `3` is a number and
 * `"3"` a string.
 *
 * A named schema becomes the component "module.Name": the spelling a
 * manifest's $ref uses across modules, unique in the product, and within
 * the characters OpenAPI tools accept in component names (module ids and
 * schema names never hold others). Only the schemas the document reaches
 * from its operations are emitted, so a document of some scopes carries
 * no schema that only routes of other scopes use, and linters find no
 * unused component.
 */
#include "contract/openapi_int.h"

#include <string.h>

#include "config/yaml_json.h"
#include "util/arena.h"
#include "util/strmap.h"

/* A named schema referred to and not translated yet. */
struct schema_pending {
	const char *name;           /* "module.Name" */
	const struct module *owner;
	const node_t *schema;
	struct schema_pending *next;
};

static const char problem_schema[] =
	"{\"type\":\"object\","
	"\"description\":\"An RFC 9457 problem: every error asterd "
	"answers\","
	"\"required\":[\"type\",\"title\",\"status\",\"code\"],"
	"\"properties\":{"
	"\"type\":{\"type\":\"string\",\"examples\":[\"about:blank\"]},"
	"\"title\":{\"type\":\"string\",\"examples\":[\"Not Found\"]},"
	"\"status\":{\"type\":\"integer\",\"minimum\":400,\"maximum\":599},"
	"\"detail\":{\"type\":\"string\"},"
	"\"code\":{\"type\":\"string\",\"examples\":[\"not-found\"]},"
	"\"requestId\":{\"type\":\"string\"}}}";

static const char validation_problem_schema[] =
	"{\"description\":\"A problem that lists where the body breaks the "
	"route's schema: JSON Pointers into the body (RFC 6901), the first "
	"error at least, at most 20\","
	"\"allOf\":[{\"$ref\":\"" OPENAPI_SCHEMAS "Problem\"}],"
	"\"type\":\"object\",\"required\":[\"errors\"],"
	"\"properties\":{\"errors\":{\"type\":\"array\",\"minItems\":1,"
	"\"maxItems\":20,\"items\":{\"type\":\"object\","
	"\"required\":[\"pointer\",\"detail\"],"
	"\"properties\":{\"pointer\":{\"type\":\"string\","
	"\"examples\":[\"/items/2/name\"]},"
	"\"detail\":{\"type\":\"string\"}}}}}}";

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
	{"$comment", KW_NAMES},
	{"pattern", KW_NAMES},
	{"format", KW_NAMES},
	{"$ref", KW_REF},
};

json_object *
openapi_ref(const char *pointer)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "$ref", json_object_new_string(pointer));
	return o;
}

/* Records that the document refers to component name, the schema
 * `schema_name` of module mid, queueing it for translation. */
static void
refer(struct openapi_doc *d, const char *name, const char *mid,
      const char *schema_name)
{
	const struct module *m;
	struct schema_pending *t;
	const node_t *schema;

	if (strmap_get(d->schemas, name) != NULL)
		return;
	m = config_find_module(d->cfg, mid);
	schema = m != NULL ? node_get(m->schemas, schema_name) : NULL;
	if (schema == NULL)
		return;     /* validation rules this out */
	t = arena_alloc(d->a, sizeof(*t));
	t->name = name;
	t->owner = m;
	t->schema = schema;
	t->next = d->pending;
	d->pending = t;
	/* Taken until translated, so it is queued once. */
	strmap_put(d->schemas, name, t);
}

/* A manifest $ref ("Name" in owner, or "module.Name", split at the last
 * dot) as a JSON pointer to its component. */
static json_object *
ref_json(struct openapi_doc *d, const struct module *owner, const node_t *ref)
{
	const char *dot, *name, *mid;

	if (ref->kind != NODE_SCALAR)
		return yaml_to_json(ref, 0);
	if ((dot = strrchr(ref->value, '.')) != NULL) {
		name = arena_strdup(d->a, ref->value);
		mid = arena_strndup(d->a, ref->value,
		                    (size_t)(dot - ref->value));
		refer(d, name, mid, dot + 1);
	} else {
		name = arena_printf(d->a, "%s.%s", owner->id, ref->value);
		refer(d, name, owner->id, ref->value);
	}
	return json_object_new_string(arena_printf(d->a, OPENAPI_SCHEMAS "%s",
	                                           name));
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
properties_json(struct openapi_doc *d, const struct module *owner,
                const node_t *n)
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
			    openapi_schema(d, owner, n->pairs[i].value));
	return o;
}

static json_object *
keyword_json(struct openapi_doc *d, const struct module *owner,
             const char *key, const node_t *v)
{
	size_t i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strcmp(key, keywords[i].name) != 0)
			continue;
		switch (keywords[i].kind) {
		case KW_SCHEMA:
			return openapi_schema(d, owner, v);
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

json_object *
openapi_schema(struct openapi_doc *d, const struct module *owner,
               const node_t *n)
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
			continue;   /* a merged key behind an explicit one */
		json_object_object_add(o, key, keyword_json(d, owner, key,
		                       n->pairs[i].value));
	}
	return o;
}

/* Translates the queued schemas, and those they refer to in turn. Each
 * is translated once: refer() queues a name only the first time. */
static void
translate_pending(struct openapi_doc *d, json_object *done)
{
	struct schema_pending *t;

	while ((t = d->pending) != NULL) {
		d->pending = t->next;
		json_object_object_add(done, t->name,
		                       openapi_schema(d, t->owner, t->schema));
	}
}

void
openapi_add_schemas(struct openapi_doc *d, json_object *schemas)
{
	json_object *done = json_object_new_object();
	json_object *s;
	size_t i;
	uint32_t j;

	translate_pending(d, done);
	for (i = 0; i < d->cfg->nmembers; i++) {
		const struct module *m = d->cfg->members[i];

		for (j = 0; m->schemas != NULL &&
		     m->schemas->kind == NODE_MAP && j < m->schemas->n; j++) {
			const char *name = arena_printf(d->a, "%s.%s", m->id,
			    m->schemas->pairs[j].key->value);

			if (json_object_object_get_ex(done, name, &s))
				json_object_object_add(schemas, name,
				                       json_object_get(s));
		}
	}
	json_object_put(done);
	if (openapi_error_schema_used(d, "Problem"))
		json_object_object_add(schemas, "Problem",
		                       json_tokener_parse(problem_schema));
	if (openapi_error_schema_used(d, "ValidationProblem"))
		json_object_object_add(schemas, "ValidationProblem",
		    json_tokener_parse(validation_problem_schema));
}
