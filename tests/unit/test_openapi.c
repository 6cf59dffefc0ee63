/*
 * test_openapi.c - the OpenAPI 3.1 document (SPEC §14) of a validated
 * product: its shape, operationIds, path parameters, security by scope,
 * request and response schemas with $ref translated to components, the
 * problem response.
 *
 * The document is parsed back with json-c and read through paths such as
 * "paths|/gateway/v1/spaces|get|operationId" ('|' since OpenAPI path
 * keys hold '/'; a number indexes an array).
 */
#include "unit.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "config/manifest.h"
#include "diag.h"
#include "graph/graph.h"
#include "handlers/handlers.h"
#include "provider/registry.h"
#include "runtime/runtime.h"
#include "util/arena.h"
#include "util/strmap.h"

static struct provider_registry *reg;
static struct arena *ta;
static struct config *cfg;
static struct diag_list dl;
static json_object *doc;

static const char product_yaml[] =
	"kind: product\n"
	"id: demo\n"
	"name: Demo Product\n"
	"description: A product to document.\n"
	"version: 2.1.0\n"
	"server:\n"
	"  listen:\n"
	"    - address: 127.0.0.1:8080\n"
	"    - address: 127.0.0.1:8081\n"
	"      scopes: [internal]\n";

static const char auth_yaml[] =
	"kind: module\nid: auth\ndisplayName: Auth\nversion: 1.0.0\n"
	"provides: [auth]\n";

static const char core_yaml[] =
	"kind: module\nid: core\ndisplayName: Core\nversion: 1.0.0\n"
	"services:\n"
	"  - id: gateway\n"
	"    provider: gateway\n"
	"routes:\n"
	"  - id: route:core.health\n"
	"    scope: public\n"
	"    methods: [GET]\n"
	"    mountPath: /gateway/v1/health\n"
	"    handler: { service: gateway, operation: health }\n";

static const char other_yaml[] =
	"kind: module\nid: other\ndisplayName: Other\nversion: 1.0.0\n"
	"schemas:\n"
	"  Thing: { type: integer, minimum: 1.5, exclusiveMaximum: 1e3,\n"
	"           const: 7 }\n";

static const char spaces_yaml[] =
	"kind: module\n"
	"id: spaces\n"
	"displayName: Spaces\n"
	"version: 1.0.0\n"
	"requires: [auth]\n"
	"routes:\n"
	"  - id: route:spaces.list\n"
	"    scope: user\n"
	"    methods: [GET, POST]\n"
	"    mountPath: /gateway/v1/spaces\n"
	"    handler: { respond: { status: 200 } }\n"
	"    summary: List spaces\n"
	"    description: Every space the caller may see.\n"
	"    request: { schema: { $ref: SpaceInput }, description: A space }\n"
	"    responses:\n"
	"      \"200\":\n"
	"        description: The spaces\n"
	"        schema: { type: array, items: { $ref: Space } }\n"
	"      \"404\": { description: No such thing }\n"
	"  - id: route:spaces.one\n"
	"    scope: user\n"
	"    methods: [GET, PATCH, DELETE]\n"
	"    mountPath: /gateway/v1/spaces/{spaceId}\n"
	"    handler: { respond: { status: 200 } }\n"
	"    responses:\n"
	"      \"201\": { description: Made }\n"
	"  - id: route:spaces.same-shape\n"
	"    scope: user\n"
	"    methods: [PUT]\n"
	"    mountPath: /gateway/v1/spaces/{other}\n"
	"    handler: { respond: { status: 200 } }\n"
	"  - id: route:spaces.public\n"
	"    scope: public\n"
	"    methods: [GET]\n"
	"    mountPath: /gateway/v1/spaces-public\n"
	"    handler: { respond: { status: 200 } }\n"
	"  - id: route:spaces.admin\n"
	"    scope: admin\n"
	"    methods: [GET]\n"
	"    mountPath: /gateway/v1/admin/spaces\n"
	"    handler: { respond: { status: 200 } }\n"
	"  - id: route:spaces.internal\n"
	"    scope: internal\n"
	"    methods: [GET]\n"
	"    mountPath: /gateway/v1/internal/spaces\n"
	"    handler: { respond: { status: 200 } }\n"
	"  - id: route:spaces.files\n"
	"    scope: public\n"
	"    methods: [GET, HEAD]\n"
	"    mountPath: /gateway/v1/files\n"
	"    match: prefix\n"
	"    handler: { static: { root: /tmp } }\n"
	"  - id: route:spaces.files-index\n"
	"    scope: public\n"
	"    methods: [GET]\n"
	"    mountPath: /gateway/v1/files\n"
	"    handler: { respond: { status: 200 } }\n"
	"  - id: route:spaces.list.post\n"
	"    scope: public\n"
	"    methods: [GET]\n"
	"    mountPath: /gateway/v1/clash\n"
	"    handler: { respond: { status: 200 } }\n"
	"  - id: route:spaces.body\n"
	"    scope: public\n"
	"    methods: [GET]\n"
	"    mountPath: /gateway/v1/body\n"
	"    handler:\n"
	"      respond:\n"
	"        body: { n: 3, q: \"3\", f: +1.50, z: 007, e: 1E3, h: 0x1F,\n"
	"                t: True, nl: ~, s: hello, l: [1, two], i: .inf,\n"
	"                big: 123456789012345678901234567890, neg: -.5,\n"
	"                tagged: !!str 12 }\n"
	"schemas:\n"
	"  Space:\n"
	"    type: object\n"
	"    required: [id, name]\n"
	"    additionalProperties: false\n"
	"    properties:\n"
	"      id: { type: string, format: uuid }\n"
	"      name: { type: string, minLength: \"3\", maxLength: 64 }\n"
	"      kind: { enum: [1, \"2\", true, null, abc, -0.50] }\n"
	"      thing: { $ref: other.Thing }\n"
	"      type: { type: [string, null], description: \"12\" }\n"
	"  SpaceInput:\n"
	"    type: object\n"
	"    properties:\n"
	"      name: { type: string, pattern: \"^[a-z]+$\" }\n";

static void
setup(void)
{
	reg = registry_new(unit_test_modules_dir());
	ck_assert_ptr_nonnull(reg);
	ta = arena_new();
	ck_assert_ptr_nonnull(ta);
	cfg = config_new("conf.d");
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(diag_list_init(&dl), 0);
	doc = NULL;
}

static void
teardown(void)
{
	json_object_put(doc);
	diag_list_release(&dl);
	config_free(cfg);
	arena_free(ta);
	registry_free(reg);
}

static void
add(const char *rel, const char *text)
{
	config_add_text(cfg, &dl, rel, text, strlen(text));
}

static void
load(void)
{
	size_t errors;

	add("product.yaml", product_yaml);
	add("modules/auth.yaml", auth_yaml);
	add("modules/core.yaml", core_yaml);
	add("modules/other.yaml", other_yaml);
	add("modules/spaces.yaml", spaces_yaml);
	config_index_modules(cfg);
	errors = graph_validate(cfg, reg, &dl);
	ck_assert_msg(errors == 0, "%zu errors, first: %s at line %u", errors,
	              dl.n ? dl.items[0]->message : "?",
	              dl.n ? dl.items[0]->mark.line : 0);
}

/* The document for scopes, parsed. */
static json_object *
document(unsigned scopes)
{
	struct generation gen;
	struct request_ctx ctx;
	char *text;
	json_object *o;

	memset(&gen, 0, sizeof(gen));
	memset(&ctx, 0, sizeof(ctx));
	gen.cfg = cfg;
	ctx.gen = &gen;
	text = openapi_document(&ctx, scopes);
	ck_assert_ptr_nonnull(text);
	o = json_tokener_parse(text);
	ck_assert_msg(o != NULL, "not JSON: %s", text);
	free(text);
	return o;
}

/* The value at a '|'-separated path, or NULL. */
static json_object *
at(json_object *o, const char *path)
{
	char *copy = arena_strdup(ta, path), *key, *save = NULL;

	for (key = strtok_r(copy, "|", &save); key != NULL && o != NULL;
	     key = strtok_r(NULL, "|", &save)) {
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)atoi(key));
		else if (!json_object_object_get_ex(o, key, &o))
			o = NULL;
	}
	return o;
}

/* The value at path as compact JSON text ("<absent>" if none). */
static const char *
text(const char *path)
{
	json_object *o = at(doc, path);

	if (o == NULL && !json_object_object_get_ex(doc, "paths", NULL))
		return "<no document>";
	if (o == NULL) {
		/* JSON null and absent differ: look again at the parent. */
		const char *bar = strrchr(path, '|');
		json_object *parent = bar != NULL ? at(doc, arena_strndup(ta,
		                      path, (size_t)(bar - path))) : doc;

		if (parent != NULL && json_object_is_type(parent,
		    json_type_object) && json_object_object_get_ex(parent,
		    bar != NULL ? bar + 1 : path, NULL))
			return "null";
		return "<absent>";
	}
	return arena_strdup(ta, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int
has(const char *path)
{
	return strcmp(text(path), "<absent>") != 0;
}

#define DEFAULT_SCOPES (SCOPE_PUBLIC | SCOPE_USER | SCOPE_ADMIN)
#define SPACES "paths|/gateway/v1/spaces"
#define ONE "paths|/gateway/v1/spaces/{spaceId}"

START_TEST(test_shape)
{
	load();
	doc = document(DEFAULT_SCOPES);
	ck_assert_str_eq(text("openapi"), "\"3.1.0\"");
	ck_assert_str_eq(text("info"), "{\"title\":\"Demo Product\","
	                 "\"version\":\"2.1.0\",\"description\":"
	                 "\"A product to document.\"}");
	ck_assert_str_eq(text("components|securitySchemes|bearerAuth|type"),
	                 "\"http\"");
	ck_assert_str_eq(text("components|securitySchemes|bearerAuth|scheme"),
	                 "\"bearer\"");
	ck_assert_str_eq(text("components|schemas|Problem|required"),
	                 "[\"type\",\"title\",\"status\",\"code\"]");
	ck_assert_str_eq(text("components|schemas|Problem|properties|status|"
	                      "type"), "\"integer\"");
	ck_assert_str_eq(text("components|responses|Problem|content|"
	                      "application/problem+json|schema|$ref"),
	                 "\"#/components/schemas/Problem\"");
	ck_assert_str_eq(text("tags"), "[{\"name\":\"core\",\"description\":"
	                 "\"Core\"},{\"name\":\"spaces\",\"description\":"
	                 "\"Spaces\"}]");
	ck_assert_str_eq(text(SPACES "|get|tags"), "[\"spaces\"]");
	ck_assert_str_eq(text(SPACES "|get|summary"), "\"List spaces\"");
	ck_assert_str_eq(text(SPACES "|get|description"),
	                 "\"Every space the caller may see.\"");
}
END_TEST

START_TEST(test_operation_ids)
{
	struct strmap *seen;
	json_object *paths;

	load();
	doc = document(DEFAULT_SCOPES);
	ck_assert_str_eq(text(SPACES "|get|operationId"), "\"spaces.list\"");
	ck_assert_str_eq(text(SPACES "|post|operationId"),
	                 "\"spaces.list.post\"");
	ck_assert_str_eq(text(ONE "|get|operationId"), "\"spaces.one\"");
	ck_assert_str_eq(text(ONE "|patch|operationId"),
	                 "\"spaces.one.patch\"");
	ck_assert_str_eq(text(ONE "|delete|operationId"),
	                 "\"spaces.one.delete\"");
	/* The route whose id is another's derived operationId. */
	ck_assert_str_eq(text("paths|/gateway/v1/clash|get|operationId"),
	                 "\"spaces.list.post_2\"");
	ck_assert_str_eq(text("paths|/gateway/v1/health|get|operationId"),
	                 "\"core.health\"");
	/* Unique over the document. */
	seen = strmap_new(ta);
	paths = at(doc, "paths");
	json_object_object_foreach(paths, path, item) {
		json_object_object_foreach(item, method, op) {
			json_object *id;

			ck_assert_msg(json_object_object_get_ex(op,
			              "operationId", &id), "%s %s has no "
			              "operationId", method, path);
			ck_assert_msg(strmap_put(seen, arena_strdup(ta,
			              json_object_get_string(id)), op) == NULL,
			              "operationId %s twice",
			              json_object_get_string(id));
		}
	}
}
END_TEST

START_TEST(test_parameters)
{
	load();
	doc = document(DEFAULT_SCOPES);
	ck_assert_str_eq(text(ONE "|get|parameters"),
	                 "[{\"name\":\"spaceId\",\"in\":\"path\","
	                 "\"required\":true,\"schema\":{\"type\":"
	                 "\"string\"}}]");
	/* /spaces/{other} has the shape of /spaces/{spaceId}: one path,
	 * named as first written. */
	ck_assert(!has("paths|/gateway/v1/spaces/{other}"));
	ck_assert_str_eq(text(ONE "|put|operationId"),
	                 "\"spaces.same-shape\"");
	ck_assert_str_eq(text(ONE "|put|parameters|0|name"), "\"spaceId\"");
	ck_assert(!has(SPACES "|get|parameters"));
}
END_TEST

START_TEST(test_security_by_scope)
{
	load();
	doc = document(DEFAULT_SCOPES);
	ck_assert_str_eq(text(SPACES "|get|security"),
	                 "[{\"bearerAuth\":[]}]");
	ck_assert_str_eq(text("paths|/gateway/v1/admin/spaces|get|security"),
	                 "[{\"bearerAuth\":[]}]");
	ck_assert(!has("paths|/gateway/v1/spaces-public|get|security"));
	ck_assert_str_eq(text(SPACES "|get|responses|401|$ref"),
	                 "\"#/components/responses/Problem\"");
	ck_assert(!has("paths|/gateway/v1/spaces-public|get|responses|401"));
	/* Internal routes are not in the default document. */
	ck_assert(!has("paths|/gateway/v1/internal/spaces"));
	json_object_put(doc);

	doc = document(SCOPE_PUBLIC);
	ck_assert(!has(SPACES));
	ck_assert(!has("paths|/gateway/v1/admin/spaces"));
	ck_assert(has("paths|/gateway/v1/spaces-public|get"));
	ck_assert_str_eq(text("tags|0|name"), "\"core\"");
	json_object_put(doc);

	doc = document(SCOPE_INTERNAL);
	ck_assert(has("paths|/gateway/v1/internal/spaces|get"));
	ck_assert(!has("paths|/gateway/v1/health"));
}
END_TEST

START_TEST(test_bodies_and_refs)
{
	load();
	doc = document(DEFAULT_SCOPES);
	ck_assert_str_eq(text(SPACES "|post|requestBody"),
	                 "{\"description\":\"A space\",\"required\":true,"
	                 "\"content\":{\"application/json\":{\"schema\":"
	                 "{\"$ref\":\"#/components/schemas/"
	                 "spaces.SpaceInput\"}}}}");
	/* GET takes no body even where the route has a request schema. */
	ck_assert(!has(SPACES "|get|requestBody"));
	ck_assert_str_eq(text(SPACES "|get|responses|200"),
	                 "{\"description\":\"The spaces\",\"content\":"
	                 "{\"application/json\":{\"schema\":{\"type\":"
	                 "\"array\",\"items\":{\"$ref\":"
	                 "\"#/components/schemas/spaces.Space\"}}}}}");
	ck_assert_str_eq(text(SPACES "|get|responses|404"),
	                 "{\"description\":\"No such thing\",\"content\":"
	                 "{\"application/problem+json\":{\"schema\":"
	                 "{\"$ref\":\"#/components/schemas/Problem\"}}}}");
	ck_assert_str_eq(text(SPACES "|get|responses|default|$ref"),
	                 "\"#/components/responses/Problem\"");
	/* A declared success answer replaces the default 200. */
	ck_assert(has(ONE "|get|responses|201"));
	ck_assert(!has(ONE "|get|responses|200"));
	ck_assert_str_eq(text("paths|/gateway/v1/spaces-public|get|"
	                      "responses|200"), "{\"description\":\"OK\"}");
	/* The provider's default summary and answer schema. */
	ck_assert_str_eq(text("paths|/gateway/v1/health|get|summary"),
	                 "\"Liveness of the asterd process\"");
	ck_assert_str_eq(text("paths|/gateway/v1/health|get|responses|200|"
	                      "content|application/json|schema|required"),
	                 "[\"status\"]");
}
END_TEST

START_TEST(test_components)
{
	load();
	doc = document(DEFAULT_SCOPES);
	ck_assert_str_eq(text("components|schemas|spaces.Space"),
	    "{\"type\":\"object\",\"required\":[\"id\",\"name\"],"
	    "\"additionalProperties\":false,\"properties\":{"
	    "\"id\":{\"type\":\"string\",\"format\":\"uuid\"},"
	    "\"name\":{\"type\":\"string\",\"minLength\":3,\"maxLength\":64},"
	    "\"kind\":{\"enum\":[1,\"2\",true,null,\"abc\",-0.50]},"
	    "\"thing\":{\"$ref\":\"#/components/schemas/other.Thing\"},"
	    "\"type\":{\"type\":[\"string\",\"null\"],\"description\":\"12\"}"
	    "}}");
	ck_assert_str_eq(text("components|schemas|other.Thing"),
	                 "{\"type\":\"integer\",\"minimum\":1.5,"
	                 "\"exclusiveMaximum\":1e3,\"const\":7}");
	ck_assert(has("components|schemas|spaces.SpaceInput"));
	/* Schemas of every member, whether or not a route uses them. */
	json_object_put(doc);
	doc = document(SCOPE_INTERNAL);
	ck_assert(has("components|schemas|spaces.Space"));
}
END_TEST

/* Exact before prefix on one path and method; the prefix route keeps
 * the methods the exact one lacks. */
START_TEST(test_prefix_routes)
{
	load();
	doc = document(DEFAULT_SCOPES);
	ck_assert_str_eq(text("paths|/gateway/v1/files|get|operationId"),
	                 "\"spaces.files-index\"");
	ck_assert(!has("paths|/gateway/v1/files|get|x-aster-match"));
	ck_assert_str_eq(text("paths|/gateway/v1/files|head|operationId"),
	                 "\"spaces.files.head\"");
	ck_assert_str_eq(text("paths|/gateway/v1/files|head|x-aster-match"),
	                 "\"prefix\"");
}
END_TEST

static Suite *
openapi_suite(void)
{
	Suite *s = suite_create("openapi");
	TCase *tc = tcase_create("document");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_shape);
	tcase_add_test(tc, test_operation_ids);
	tcase_add_test(tc, test_parameters);
	tcase_add_test(tc, test_security_by_scope);
	tcase_add_test(tc, test_bodies_and_refs);
	tcase_add_test(tc, test_components);
	tcase_add_test(tc, test_prefix_routes);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(openapi_suite)
