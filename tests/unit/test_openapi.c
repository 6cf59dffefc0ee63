/*
 * test_openapi.c - the OpenAPI 3.1 document (SPEC §14) of a validated
 * product (contract/openapi.h): its shape and servers, operationIds,
 * path parameters, security by scope, the error responses each route
 * can give, request bodies, success answers by handler form, and the
 * components the document reaches.
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
#include "contract/openapi.h"
#include "diag.h"
#include "graph/graph.h"
#include "provider/registry.h"
#include "util/arena.h"
#include "util/strmap.h"

static struct provider_registry *reg;
static struct arena *ta;
static struct config *cfg;
static struct diag_list dl;
static json_object *doc;

/* Listeners of every kind: TCP with default scopes, internal, IPv6 with
 * TLS for user and admin only, a Unix socket and an ephemeral port
 * (neither is a URL), a host name. */
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
	"      scopes: [internal]\n"
	"    - address: \"[::1]:8443\"\n"
	"      scopes: [user, admin]\n"
	"      tls: { cert: /dev/null, key: /dev/null }\n"
	"    - address: unix:/tmp/demo.sock\n"
	"    - address: 127.0.0.1:0\n"
	"      scopes: [public]\n"
	"    - address: LocalHost:9000\n"
	"      scopes: [internal]\n";

static const char auth_yaml[] =
	"kind: module\nid: auth\ndisplayName: Auth\nversion: 1.0.0\n"
	"provides: [auth]\n";

static const char core_yaml[] =
	"kind: module\nid: core\ndisplayName: Core\nversion: 1.0.0\n"
	"description: The core endpoints.\n"
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
	"rateLimit: { requests: 10, per_ms: 1000 }\n"
	"schemas:\n"
	"  Thing: { type: integer, minimum: 1.5, exclusiveMaximum: 1e3,\n"
	"           const: 7 }\n"
	"  Unused: { type: string }\n"
	"  Internal: { $ref: Deep }\n"
	"  Deep: { type: boolean }\n"
	"routes:\n"
	"  - id: route:other.limited\n"
	"    scope: public\n"
	"    methods: [GET]\n"
	"    mountPath: /gateway/v1/other\n"
	"    handler: { respond: { status: 204 } }\n"
	"  - id: route:other.internal\n"
	"    scope: internal\n"
	"    methods: [POST]\n"
	"    mountPath: /gateway/v1/internal/other\n"
	"    handler: { respond: { status: 200 } }\n"
	"    request: { schema: { $ref: Internal } }\n";

static const char spaces_yaml[] =
	"kind: module\n"
	"id: spaces\n"
	"displayName: Spaces\n"
	"version: 1.0.0\n"
	"requires: [auth]\n"
	"runtime: { command: [/bin/true] }\n"
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
	"    handler: { runtime: {} }\n"
	"    rateLimit: { requests: 1, per_ms: 1000 }\n"
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
	"        status: 202\n"
	"        body: { n: 3, q: \"3\", l: [1, two] }\n"
	"  - id: route:spaces.text\n"
	"    scope: public\n"
	"    methods: [GET]\n"
	"    mountPath: /gateway/v1/text\n"
	"    handler: { respond: { body: hello } }\n"
	"  - id: route:spaces.proxied\n"
	"    scope: user\n"
	"    methods: [POST]\n"
	"    mountPath: /gateway/v1/proxied\n"
	"    handler: { proxy: { upstream: \"http://127.0.0.1:9\" } }\n"
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

/* The document for scopes with the configured servers, parsed. */
static json_object *
document(unsigned scopes)
{
	struct openapi_server servers[8];
	size_t n = openapi_config_servers(cfg, servers, 8);
	char *text = openapi_document(cfg, servers, n, scopes);
	json_object *o;

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

/* The keys of the object at path, in order, comma separated. */
static const char *
keys(const char *path)
{
	json_object *o = at(doc, path);
	char *out = arena_alloc(ta, 1024);

	out[0] = '\0';
	ck_assert_msg(o != NULL && json_object_is_type(o, json_type_object),
	              "no object at %s", path);
	json_object_object_foreach(o, key, value) {
		(void)value;
		if (out[0] != '\0')
			strcat(out, ",");
		strcat(out, key);
	}
	return out;
}

#define DEFAULT_SCOPES (SCOPE_PUBLIC | SCOPE_USER | SCOPE_ADMIN)
#define SPACES "paths|/gateway/v1/spaces"
#define ONE "paths|/gateway/v1/spaces/{spaceId}"
#define PUBLIC "paths|/gateway/v1/spaces-public|get"
#define ADMIN "paths|/gateway/v1/admin/spaces|get"

START_TEST(test_shape)
{
	load();
	doc = document(DEFAULT_SCOPES);
	ck_assert_str_eq(keys(""), "openapi,info,servers,tags,paths,"
	                 "components");
	ck_assert_str_eq(text("openapi"), "\"3.1.0\"");
	/* No license: a product manifest has none to give. */
	ck_assert_str_eq(text("info"), "{\"title\":\"Demo Product\","
	                 "\"version\":\"2.1.0\",\"description\":"
	                 "\"A product to document.\"}");
	ck_assert_str_eq(text("components|securitySchemes|bearerAuth|type"),
	                 "\"http\"");
	ck_assert_str_eq(text("components|securitySchemes|bearerAuth|scheme"),
	                 "\"bearer\"");
	/* Tags: modules with a route in the document, described by their
	 * description, else their display name. */
	ck_assert_str_eq(text("tags"), "[{\"name\":\"core\",\"description\":"
	                 "\"The core endpoints.\",\"x-displayName\":\"Core\"},"
	                 "{\"name\":\"other\",\"description\":\"Other\","
	                 "\"x-displayName\":\"Other\"},"
	                 "{\"name\":\"spaces\",\"description\":\"Spaces\","
	                 "\"x-displayName\":\"Spaces\"}]");
	ck_assert_str_eq(text(SPACES "|get|tags"), "[\"spaces\"]");
	ck_assert_str_eq(text(SPACES "|get|summary"), "\"List spaces\"");
	ck_assert_str_eq(text(SPACES "|get|description"),
	                 "\"Every space the caller may see.\"");
	/* Without a summary: the provider's, else method and path. */
	ck_assert_str_eq(text("paths|/gateway/v1/health|get|summary"),
	                 "\"Liveness of the asterd process\"");
	ck_assert_str_eq(text(PUBLIC "|summary"),
	                 "\"GET /gateway/v1/spaces-public\"");
	ck_assert_str_eq(text(ONE "|patch|summary"),
	                 "\"PATCH /gateway/v1/spaces/{spaceId}\"");
}
END_TEST

START_TEST(test_servers)
{
	load();
	doc = document(DEFAULT_SCOPES);
	/* The TCP listeners serving the document's scopes, in order; not
	 * the Unix socket, not port 0. */
	ck_assert_str_eq(text("servers"),
	                 "[{\"url\":\"http://127.0.0.1:8080\"},"
	                 "{\"url\":\"https://[::1]:8443\"}]");
	/* Fewer listeners serve public routes: they say which. */
	ck_assert_str_eq(text(PUBLIC "|servers"),
	                 "[{\"url\":\"http://127.0.0.1:8080\"}]");
	ck_assert(!has(SPACES "|get|servers"));
	ck_assert(!has(ADMIN "|servers"));
	json_object_put(doc);

	doc = document(SCOPE_INTERNAL);
	ck_assert_str_eq(text("servers"),
	                 "[{\"url\":\"http://127.0.0.1:8081\"},"
	                 "{\"url\":\"http://localhost:9000\"}]");
	ck_assert(!has("paths|/gateway/v1/internal/spaces|get|servers"));
	json_object_put(doc);

	/* No server: no `servers` (OpenAPI's default, "/"). */
	{
		char *t = openapi_document(cfg, NULL, 0, DEFAULT_SCOPES);

		ck_assert_ptr_nonnull(t);
		doc = json_tokener_parse(t);
		free(t);
		ck_assert(!has("servers"));
		ck_assert(!has(PUBLIC "|servers"));
	}
}
END_TEST

START_TEST(test_server_urls)
{
	struct openapi_server s;
	char host[300];

	ck_assert_int_eq(openapi_server_set(&s, 0, "127.0.0.1", 80, 3), 0);
	ck_assert_str_eq(s.url, "http://127.0.0.1:80");
	ck_assert_uint_eq(s.scopes, 3);
	ck_assert_int_eq(openapi_server_set(&s, 1, "::1", 443, 1), 0);
	ck_assert_str_eq(s.url, "https://[::1]:443");
	ck_assert_int_eq(openapi_server_set(&s, 1, "[fe80::1]", 8443, 1), 0);
	ck_assert_str_eq(s.url, "https://[fe80::1]:8443");
	ck_assert_int_eq(openapi_server_set(&s, 0, "example.org", 65535, 1),
	                 0);
	ck_assert_str_eq(s.url, "http://example.org:65535");
	/* The longest host name fits; longer does not. */
	memset(host, 'a', 253);
	host[253] = '\0';
	ck_assert_int_eq(openapi_server_set(&s, 1, host, 65535, 1), 0);
	memset(host, 'a', 299);
	host[299] = '\0';
	ck_assert_int_eq(openapi_server_set(&s, 1, host, 65535, 1), -1);
}
END_TEST

/* Listeners as bound: the address as the runtime reports it; a
 * wildcard takes the host the client used. */
START_TEST(test_bound_servers)
{
	struct openapi_server s;

	ck_assert_int_eq(openapi_server_bound(&s, 0, "127.0.0.1:40001", NULL,
	                                      1), 0);
	ck_assert_str_eq(s.url, "http://127.0.0.1:40001");
	ck_assert_int_eq(openapi_server_bound(&s, 1, "[::1]:8443", "x:1", 2),
	                 0);
	ck_assert_str_eq(s.url, "https://[::1]:8443");
	ck_assert_uint_eq(s.scopes, 2);
	ck_assert_int_eq(openapi_server_bound(&s, 0, "0.0.0.0:8080",
	                                      "api.example.org:443", 1), 0);
	ck_assert_str_eq(s.url, "http://api.example.org:8080");
	ck_assert_int_eq(openapi_server_bound(&s, 0, "[::]:8080",
	                                      "[2001:db8::1]:9", 1), 0);
	ck_assert_str_eq(s.url, "http://[2001:db8::1]:8080");
	ck_assert_int_eq(openapi_server_bound(&s, 0, "[::]:8080", "Example",
	                                      1), 0);
	ck_assert_str_eq(s.url, "http://Example:8080");
	/* A Host that is no plain host keeps the wildcard. */
	ck_assert_int_eq(openapi_server_bound(&s, 0, "0.0.0.0:8080",
	                                      "a/b@evil", 1), 0);
	ck_assert_str_eq(s.url, "http://0.0.0.0:8080");
	ck_assert_int_eq(openapi_server_bound(&s, 0, "0.0.0.0:8080", "[::1",
	                                      1), 0);
	ck_assert_str_eq(s.url, "http://0.0.0.0:8080");
	ck_assert_int_eq(openapi_server_bound(&s, 0, "0.0.0.0:8080", NULL, 1),
	                 0);
	ck_assert_str_eq(s.url, "http://0.0.0.0:8080");
	/* Malformed. */
	ck_assert_int_eq(openapi_server_bound(&s, 0, "127.0.0.1", NULL, 1), -1);
	ck_assert_int_eq(openapi_server_bound(&s, 0, ":80", NULL, 1), -1);
	ck_assert_int_eq(openapi_server_bound(&s, 0, "h:", NULL, 1), -1);
	ck_assert_int_eq(openapi_server_bound(&s, 0, "h:99999", NULL, 1), -1);
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
	ck_assert_str_eq(text(ADMIN "|security"), "[{\"bearerAuth\":[]}]");
	/* Public routes say that they need nothing. */
	ck_assert_str_eq(text(PUBLIC "|security"), "[]");
	ck_assert_str_eq(text("paths|/gateway/v1/health|get|security"), "[]");
	/* Internal routes are not in the default document. */
	ck_assert(!has("paths|/gateway/v1/internal/spaces"));
	json_object_put(doc);

	doc = document(SCOPE_PUBLIC);
	ck_assert(!has(SPACES));
	ck_assert(!has("paths|/gateway/v1/admin/spaces"));
	ck_assert(has(PUBLIC));
	ck_assert_str_eq(text("tags|0|name"), "\"core\"");
	/* Nothing needs the bearer scheme. */
	ck_assert(!has("components|securitySchemes"));
	json_object_put(doc);

	doc = document(SCOPE_INTERNAL);
	ck_assert_str_eq(text("paths|/gateway/v1/internal/spaces|get|"
	                      "security"), "[]");
	ck_assert(!has("paths|/gateway/v1/health"));
}
END_TEST

/* The response codes of each kind of route, and what they refer to. */
START_TEST(test_error_responses)
{
	load();
	doc = document(DEFAULT_SCOPES);
	/* Public, respond, exact literal path, GET: what any route can
	 * give, and no 504 (a respond handler answers at once). */
	ck_assert_str_eq(keys(PUBLIC "|responses"), "200,400,503,default");
	/* A module's rate limit. */
	ck_assert_str_eq(keys("paths|/gateway/v1/other|get|responses"),
	                 "204,400,429,503,default");
	/* Provider operation: 504 when its deadline passes. */
	ck_assert_str_eq(keys("paths|/gateway/v1/health|get|responses"),
	                 "200,400,503,504,default");
	/* User, declared 200 and 404; credentials: 401, 429 (failed ones
	 * are throttled) and 504 (the lookup may take a while). */
	ck_assert_str_eq(keys(SPACES "|get|responses"),
	                 "200,400,401,404,429,503,504,default");
	/* ... and its POST takes the JSON body the schema describes. */
	ck_assert_str_eq(keys(SPACES "|post|responses"),
	                 "200,400,401,404,413,415,422,429,503,504,default");
	/* A path parameter: 404. PATCH carries a body: 413. */
	ck_assert_str_eq(keys(ONE "|get|responses"),
	                 "201,400,401,404,429,503,504,default");
	ck_assert_str_eq(keys(ONE "|patch|responses"),
	                 "201,400,401,404,413,429,503,504,default");
	ck_assert_str_eq(keys(ONE "|delete|responses"),
	                 "201,400,401,404,429,503,504,default");
	/* Admin: 403; a runtime handler: 502. */
	ck_assert_str_eq(keys(ADMIN "|responses"),
	                 "200,400,401,403,429,502,503,504,default");
	/* Static, prefix: 404 and 416, and its file answers. */
	ck_assert_str_eq(keys("paths|/gateway/v1/files|head|responses"),
	                 "200,206,304,400,404,416,503,504,default");
	/* Proxy, POST. */
	ck_assert_str_eq(keys("paths|/gateway/v1/proxied|post|responses"),
	                 "200,400,401,413,429,502,503,504,default");

	ck_assert_str_eq(text(SPACES "|get|responses|401"),
	                 "{\"$ref\":\"#/components/responses/Unauthorized\"}");
	ck_assert_str_eq(text(SPACES "|post|responses|422"),
	                 "{\"$ref\":\"#/components/responses/"
	                 "ValidationFailed\"}");
	ck_assert_str_eq(text(ADMIN "|responses|403|$ref"),
	                 "\"#/components/responses/Forbidden\"");
	ck_assert_str_eq(text(PUBLIC "|responses|default|$ref"),
	                 "\"#/components/responses/Problem\"");
	/* A declared error is the route's own; without a schema, a
	 * problem. */
	ck_assert_str_eq(text(SPACES "|get|responses|404"),
	                 "{\"description\":\"No such thing\",\"content\":"
	                 "{\"application/problem+json\":{\"schema\":"
	                 "{\"$ref\":\"#/components/schemas/Problem\"}}}}");
}
END_TEST

START_TEST(test_error_components)
{
	load();
	doc = document(DEFAULT_SCOPES);
	ck_assert_str_eq(keys("components|responses"),
	                 "BadRequest,Unauthorized,Forbidden,NotFound,"
	                 "PayloadTooLarge,UnsupportedMediaType,"
	                 "RangeNotSatisfiable,ValidationFailed,RateLimited,"
	                 "BadGateway,Unavailable,GatewayTimeout,Problem");
	ck_assert_str_eq(text("components|responses|Unauthorized|content"),
	                 "{\"application/problem+json\":{\"schema\":{\"$ref\":"
	                 "\"#/components/schemas/Problem\"}}}");
	ck_assert_str_eq(text("components|responses|Unauthorized|headers|"
	                      "WWW-Authenticate|required"), "true");
	ck_assert_str_eq(keys("components|responses|RateLimited|headers"),
	                 "Retry-After,RateLimit-Limit,RateLimit-Remaining,"
	                 "RateLimit-Reset");
	ck_assert_str_eq(text("components|responses|Unavailable|headers|"
	                      "Retry-After|required"), "false");
	ck_assert_str_eq(text("components|responses|ValidationFailed|"
	                      "content|application/problem+json|schema|$ref"),
	                 "\"#/components/schemas/ValidationProblem\"");
	ck_assert_str_eq(text("components|schemas|Problem|required"),
	                 "[\"type\",\"title\",\"status\",\"code\"]");
	ck_assert_str_eq(text("components|schemas|ValidationProblem|allOf"),
	                 "[{\"$ref\":\"#/components/schemas/Problem\"}]");
	ck_assert_str_eq(text("components|schemas|ValidationProblem|"
	                      "properties|errors|items|required"),
	                 "[\"pointer\",\"detail\"]");
	json_object_put(doc);

	/* Only those used: public routes meet no 401, 413, 422... */
	doc = document(SCOPE_PUBLIC);
	ck_assert_str_eq(keys("components|responses"),
	                 "BadRequest,NotFound,RangeNotSatisfiable,RateLimited,"
	                 "Unavailable,GatewayTimeout,Problem");
	ck_assert(!has("components|schemas|ValidationProblem"));
	ck_assert(has("components|schemas|Problem"));
}
END_TEST

START_TEST(test_request_bodies)
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
	/* No schema, no requestBody (the body is the handler's affair). */
	ck_assert(!has("paths|/gateway/v1/proxied|post|requestBody"));
	ck_assert(!has(ONE "|patch|requestBody"));
	json_object_put(doc);

	doc = document(SCOPE_INTERNAL);
	ck_assert_str_eq(text("paths|/gateway/v1/internal/other|post|"
	                      "requestBody|content|application/json|schema"),
	                 "{\"$ref\":\"#/components/schemas/other.Internal\"}");
}
END_TEST

START_TEST(test_success_answers)
{
	load();
	doc = document(DEFAULT_SCOPES);
	/* Declared: replaces the default success answer. */
	ck_assert_str_eq(text(SPACES "|get|responses|200"),
	                 "{\"description\":\"The spaces\",\"content\":"
	                 "{\"application/json\":{\"schema\":{\"type\":"
	                 "\"array\",\"items\":{\"$ref\":"
	                 "\"#/components/schemas/spaces.Space\"}}}}}");
	ck_assert(!has(ONE "|get|responses|200"));
	/* The provider operation's schema. */
	ck_assert_str_eq(text("paths|/gateway/v1/health|get|responses|200|"
	                      "content|application/json|schema|required"),
	                 "[\"status\"]");
	/* respond: its status, and its body exactly. */
	ck_assert_str_eq(text(PUBLIC "|responses|200"),
	                 "{\"description\":\"The configured answer\"}");
	ck_assert_str_eq(text("paths|/gateway/v1/body|get|responses|202"),
	                 "{\"description\":\"The configured answer\","
	                 "\"content\":{\"application/json\":{\"schema\":"
	                 "{\"const\":{\"n\":3,\"q\":\"3\",\"l\":[1,\"two\"]}}"
	                 "}}}");
	ck_assert_str_eq(text("paths|/gateway/v1/text|get|responses|200|"
	                      "content"),
	                 "{\"text/plain; charset=utf-8\":{\"schema\":"
	                 "{\"type\":\"string\",\"const\":\"hello\"}}}");
	ck_assert_str_eq(text("paths|/gateway/v1/other|get|responses|204"),
	                 "{\"description\":\"The configured answer\"}");
	ck_assert_str_eq(text("paths|/gateway/v1/proxied|post|responses|200|"
	                      "description"), "\"The answer of the upstream "
	                 "or runtime, passed through\"");
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
	/* What the operations reach (Thing through Space), in module and
	 * manifest order, then the problems; nothing else. */
	ck_assert_str_eq(keys("components|schemas"),
	                 "other.Thing,spaces.Space,spaces.SpaceInput,Problem,"
	                 "ValidationProblem");
	json_object_put(doc);

	/* A schema only internal routes use belongs to their document, and
	 * what it refers to comes along. */
	doc = document(SCOPE_INTERNAL);
	ck_assert_str_eq(keys("components|schemas"),
	                 "other.Internal,other.Deep,Problem,"
	                 "ValidationProblem");
	ck_assert_str_eq(text("components|schemas|other.Internal"),
	                 "{\"$ref\":\"#/components/schemas/other.Deep\"}");
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
	tcase_add_test(tc, test_servers);
	tcase_add_test(tc, test_server_urls);
	tcase_add_test(tc, test_bound_servers);
	tcase_add_test(tc, test_operation_ids);
	tcase_add_test(tc, test_parameters);
	tcase_add_test(tc, test_security_by_scope);
	tcase_add_test(tc, test_error_responses);
	tcase_add_test(tc, test_error_components);
	tcase_add_test(tc, test_request_bodies);
	tcase_add_test(tc, test_success_answers);
	tcase_add_test(tc, test_components);
	tcase_add_test(tc, test_prefix_routes);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(openapi_suite)
