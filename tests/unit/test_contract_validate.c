/*
 * test_contract_validate.c - request bodies against compiled schemas
 * (SPEC §14): every keyword of the subset accepting and refusing, numbers
 * by value, lengths in code points, enum and const by JSON value, $ref
 * across modules and through recursion, the formats, JSON Pointers with
 * ~0 and ~1, the cap of 20 errors, strict parsing, json-c input, and the
 * Content-Type rule.
 *
 * Each test writes a product whose module `app` has one route with the
 * schema under test as its request.schema (YAML flow text, typed as the
 * loader types it), validates it with the real graph code, compiles the
 * contract and checks JSON texts against it. Errors are compared as
 * "pointer: detail" lines.
 */
#include "unit.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "config/manifest.h"
#include "contract/contract.h"
#include "diag.h"
#include "graph/graph.h"
#include "provider/registry.h"

static struct provider_registry *reg;
static struct config *cfg;
static struct diag_list dl;
static struct contract *contract;
static const struct contract_schema *schema;
static struct contract_report report;
static char errors_text[8192];

static const char product_yaml[] =
	"kind: product\nid: demo\nname: Demo\nversion: 1.0.0\n"
	"server:\n  listen:\n    - address: 127.0.0.1:8080\n";

static void
setup(void)
{
	reg = registry_new(unit_test_modules_dir());
	ck_assert_ptr_nonnull(reg);
	ck_assert_int_eq(diag_list_init(&dl), 0);
	cfg = NULL;
	contract = NULL;
	schema = NULL;
}

static void
teardown(void)
{
	contract_free(contract);
	config_free(cfg);
	diag_list_release(&dl);
	registry_free(reg);
}

static void
add(const char *rel, const char *text)
{
	config_add_text(cfg, &dl, rel, text, strlen(text));
}

/*
 * A product whose module app's route takes request_schema (flow YAML),
 * with app_schemas and other_schemas (flow mappings or NULL) as the
 * named schemas of modules app and other. Sets schema.
 */
static void
load_with(const char *request_schema, const char *app_schemas,
          const char *other_schemas)
{
	char app[8192], other[4096];
	size_t errors, i;
	const struct module *m = NULL;

	cfg = config_new("conf.d");
	ck_assert_ptr_nonnull(cfg);
	snprintf(app, sizeof(app),
	         "kind: module\nid: app\ndisplayName: App\nversion: 1.0.0\n"
	         "routes:\n"
	         "  - id: route:app.body\n"
	         "    scope: public\n"
	         "    methods: [POST]\n"
	         "    mountPath: /body\n"
	         "    handler: { respond: { status: 204 } }\n"
	         "    request: { schema: %s }\n"
	         "  - id: route:app.plain\n"
	         "    scope: public\n"
	         "    methods: [POST]\n"
	         "    mountPath: /plain\n"
	         "    handler: { respond: { status: 204 } }\n"
	         "%s%s\n", request_schema, app_schemas != NULL ?
	         "schemas: " : "", app_schemas != NULL ? app_schemas : "");
	snprintf(other, sizeof(other),
	         "kind: module\nid: other\ndisplayName: Other\n"
	         "version: 1.0.0\n%s%s\n", other_schemas != NULL ?
	         "schemas: " : "", other_schemas != NULL ? other_schemas : "");
	add("product.yaml", product_yaml);
	add("modules/app.yaml", app);
	add("modules/other.yaml", other);
	config_index_modules(cfg);
	errors = graph_validate(cfg, reg, &dl);
	ck_assert_msg(errors == 0, "%zu errors, first: %s (line %u)", errors,
	              dl.n ? dl.items[0]->message : "?",
	              dl.n ? dl.items[0]->mark.line : 0);
	contract = contract_compile(cfg);
	ck_assert_ptr_nonnull(contract);
	ck_assert_uint_eq(contract_count(contract), 1);
	for (i = 0; i < cfg->nmembers; i++)
		if (strcmp(cfg->members[i]->id, "app") == 0)
			m = cfg->members[i];
	ck_assert_ptr_nonnull(m);
	schema = contract_request_schema(contract, m->routes.v[0]);
	ck_assert_ptr_nonnull(schema);
	ck_assert_ptr_null(contract_request_schema(contract, m->routes.v[1]));
}

static void
load(const char *request_schema)
{
	load_with(request_schema, NULL, NULL);
}

/* The errors of the last check as "pointer: detail" lines. */
static const char *
errors_of(void)
{
	size_t i, used = 0;

	errors_text[0] = '\0';
	for (i = 0; i < report.nerrors; i++)
		used += (size_t)snprintf(errors_text + used,
		                         sizeof(errors_text) - used, "%s%s: %s",
		                         i > 0 ? "\n" : "",
		                         report.errors[i].pointer,
		                         report.errors[i].detail);
	return errors_text;
}

static enum contract_verdict
check_text(const char *json)
{
	return contract_check_text(contract, schema, json, strlen(json),
	                           &report);
}

#define VALID(json)                                                    \
	do {                                                           \
		enum contract_verdict v_ = check_text(json);           \
		ck_assert_msg(v_ == CONTRACT_VALID, "%s: verdict %d: %s%s", \
		              json, v_, errors_of(), report.why);      \
	} while (0)

/* Invalid with exactly these errors ("ptr: detail" lines). */
#define INVALID(json, expected)                                        \
	do {                                                           \
		enum contract_verdict v_ = check_text(json);           \
		ck_assert_msg(v_ == CONTRACT_INVALID, "%s: verdict %d %s", \
		              json, v_, report.why);                   \
		ck_assert_str_eq(errors_of(), expected);               \
	} while (0)

/* Invalid, whatever the messages: for keyword sweeps. */
#define REFUSED(json)                                                  \
	do {                                                           \
		enum contract_verdict v_ = check_text(json);           \
		ck_assert_msg(v_ == CONTRACT_INVALID, "%s: verdict %d", \
		              json, v_);                               \
	} while (0)

#define NOT_JSON(json, why_prefix)                                     \
	do {                                                           \
		enum contract_verdict v_ = check_text(json);           \
		ck_assert_msg(v_ == CONTRACT_INVALID_JSON, "%s: verdict %d", \
		              json, v_);                               \
		ck_assert_msg(strncmp(report.why, why_prefix,          \
		              strlen(why_prefix)) == 0, "%s: %s", json,  \
		              report.why);                             \
	} while (0)

/* ---- type ---------------------------------------------------------------- */

START_TEST(test_type)
{
	load("{ type: integer }");
	VALID("1");
	VALID("-0");
	VALID("1.0");
	VALID("1e2");
	VALID("-2.50e1");
	VALID("9223372036854775807");
	VALID("123456789012345678901234567890");
	INVALID("1.5", ": must be integer, not number");
	INVALID("\"1\"", ": must be integer, not string");
	INVALID("true", ": must be integer, not boolean");
	INVALID("null", ": must be integer, not null");
	INVALID("[]", ": must be integer, not array");
	INVALID("{}", ": must be integer, not object");
}
END_TEST

START_TEST(test_type_names)
{
	static const struct {
		const char *type, *good, *bad;
	} cases[] = {
		{"null", "null", "0"},
		{"boolean", "false", "0"},
		{"object", "{\"a\":1}", "[]"},
		{"array", "[1]", "{}"},
		{"number", "1", "\"1\""},
		{"number", "0.5", "null"},
		{"string", "\"\"", "1"},
	};
	char text[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		teardown();
		setup();
		snprintf(text, sizeof(text), "{ type: %s }", cases[i].type);
		load(text);
		VALID(cases[i].good);
		REFUSED(cases[i].bad);
	}
}
END_TEST

START_TEST(test_type_list)
{
	load("{ type: [string, null] }");
	VALID("\"x\"");
	VALID("null");
	INVALID("0", ": must be null or string, not integer");
	teardown();
	setup();
	/* Quoted or not, a type name is a name: "null" is the null type. */
	load("{ type: [\"integer\", \"null\", boolean] }");
	VALID("3");
	VALID("null");
	VALID("true");
	INVALID("3.5", ": must be null or boolean or integer, not number");
}
END_TEST

/* ---- objects ------------------------------------------------------------- */

START_TEST(test_properties_required)
{
	load("{ type: object, required: [id, name], properties: "
	     "{ id: { type: integer }, name: { type: string } } }");
	VALID("{\"id\":1,\"name\":\"a\"}");
	VALID("{\"id\":1,\"name\":\"a\",\"more\":[1,2]}");
	INVALID("{\"id\":\"1\",\"name\":2}",
	        "/id: must be integer, not string\n"
	        "/name: must be string, not integer");
	INVALID("{\"name\":\"a\"}", "/id: required property 'id' is missing");
	INVALID("{}", "/id: required property 'id' is missing\n"
	        "/name: required property 'name' is missing");
	/* Not an object: properties and required do not apply. */
	INVALID("[]", ": must be object, not array");
	teardown();
	setup();
	load("{ required: [a], properties: { b: { type: string } } }");
	VALID("1");
	VALID("{\"a\":null}");
	INVALID("{\"b\":\"x\"}", "/a: required property 'a' is missing");
}
END_TEST

START_TEST(test_additional_properties)
{
	load("{ properties: { a: { type: integer } }, required: [r], "
	     "additionalProperties: false }");
	/* A name only required is not a property: it is additional, so
	 * nothing passes this schema. */
	INVALID("{\"a\":1}", "/r: required property 'r' is missing");
	INVALID("{\"r\":1}", "/r: property 'r' is not allowed");
	INVALID("{\"a\":1,\"b\":2,\"c\":3}",
	        "/b: property 'b' is not allowed\n"
	        "/c: property 'c' is not allowed\n"
	        "/r: required property 'r' is missing");
	teardown();
	setup();
	load("{ properties: { a: { type: integer } }, "
	     "additionalProperties: { type: string, maxLength: 2 } }");
	VALID("{\"a\":1,\"b\":\"xy\"}");
	INVALID("{\"a\":1,\"b\":\"xyz\",\"c\":3}",
	        "/b: must be at most 2 characters long\n"
	        "/c: must be string, not integer");
	teardown();
	setup();
	load("{ additionalProperties: true }");
	VALID("{\"anything\":[1,{}]}");
}
END_TEST

START_TEST(test_merge_keys)
{
	/* A << merge adds keys; an explicit key of the same name wins. */
	load("{ examples: [&base { a: { type: integer },"
	     " b: { type: integer } }],"
	     " properties: { <<: *base, a: { type: string } }, "
	     "required: [a, b] }");
	VALID("{\"a\":\"x\",\"b\":1}");
	INVALID("{\"a\":1,\"b\":\"y\"}", "/a: must be string, not integer\n"
	        "/b: must be integer, not string");
}
END_TEST

START_TEST(test_duplicate_members)
{
	/* Every occurrence is checked: a handler may read either. */
	load("{ properties: { a: { type: integer } } }");
	VALID("{\"a\":1,\"a\":2}");
	INVALID("{\"a\":\"x\",\"a\":2}", "/a: must be integer, not string");
}
END_TEST

/* ---- arrays -------------------------------------------------------------- */

START_TEST(test_items)
{
	load("{ type: array, items: { type: object, required: [name] }, "
	     "minItems: 1, maxItems: 2.0 }");
	VALID("[{\"name\":1}]");
	VALID("[{\"name\":1},{\"name\":2}]");
	INVALID("[]", ": must have at least 1 item");
	INVALID("[{\"name\":1},{},{\"name\":2}]",
	        ": must have at most 2 items\n"
	        "/1/name: required property 'name' is missing");
	teardown();
	setup();
	load("{ items: false }");
	VALID("[]");
	VALID("{\"not\":\"an array\"}");
	INVALID("[1,2]", "/0: no value is allowed here\n"
	        "/1: no value is allowed here");
	teardown();
	setup();
	load("{ minItems: \"3\" }");
	VALID("[1,2,3]");
	INVALID("[[1,2,3]]", ": must have at least 3 items");
}
END_TEST

/* ---- enum and const ------------------------------------------------------ */

START_TEST(test_enum)
{
	load("{ enum: [1, \"1\", true, null, { a: [1, 2] }, 2.50] }");
	VALID("1");
	VALID("1.0");
	VALID("1e0");
	VALID("\"1\"");
	VALID("true");
	VALID("null");
	VALID("{\"a\":[1,2.0]}");
	VALID("2.5");
	VALID("25e-1");
	INVALID("false", ": must be one of 1, \"1\", true, null, "
	        "{\"a\":[1,2]}, 2.5");
	REFUSED("0");
	REFUSED("2");
	REFUSED("\"true\"");
	REFUSED("{\"a\":[2,1]}");
	REFUSED("{\"a\":[1,2],\"b\":1}");
	REFUSED("[1]");
	teardown();
	setup();
	/* Quoted scalars are strings, plain ones typed as YAML 1.2 core:
	 * hex, octal and .inf have no JSON spelling and stay strings. */
	load("{ enum: [\"3\", 0x1F, ~, .inf, True] }");
	VALID("\"3\"");
	VALID("\"0x1F\"");
	VALID("null");
	VALID("\".inf\"");
	VALID("true");
	REFUSED("3");
	REFUSED("31");
}
END_TEST

START_TEST(test_deep_values)
{
	char schema_text[512], body[256];
	size_t i;

	/* A const nested deeper than a body may be equals no body, and is
	 * not kept (the loader allows 100,000 levels). */
	strcpy(schema_text, "{ enum: [1, ");
	for (i = 0; i < 70; i++)
		strcat(schema_text, "[");
	for (i = 0; i < 70; i++)
		strcat(schema_text, "]");
	strcat(schema_text, "] }");
	load(schema_text);
	VALID("1");
	body[0] = '\0';
	for (i = 0; i < 64; i++)
		strcat(body, "[");
	for (i = 0; i < 64; i++)
		strcat(body, "]");
	/* Too long for the detail: cut. */
	INVALID(body, ": must be one of 1, ...");
}
END_TEST

START_TEST(test_const)
{
	load("{ const: { b: [true, null], a: 1 } }");
	VALID("{\"a\":1.0,\"b\":[true,null]}");
	INVALID("{\"a\":1,\"b\":[1,null]}",
	        ": must be {\"b\":[true,null],\"a\":1}");
	REFUSED("{\"a\":1}");
	teardown();
	setup();
	load("{ const: false }");
	VALID("false");
	INVALID("0", ": must be false");
	REFUSED("null");
	REFUSED("\"false\"");
	teardown();
	setup();
	load("{ const: 9007199254740993 }");
	VALID("9007199254740993");
	REFUSED("9007199254740992");
}
END_TEST

/* ---- strings ------------------------------------------------------------- */

START_TEST(test_lengths)
{
	load("{ type: string, minLength: \"2\", maxLength: 3.0 }");
	VALID("\"ab\"");
	VALID("\"abc\"");
	/* Code points, not bytes or UTF-16 units. */
	VALID("\"\xc3\xa9\xc3\xa9\xc3\xa9\"");
	VALID("\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\"");
	VALID("\"\\ud83d\\ude00\\u00e9\"");
	INVALID("\"\xf0\x9f\x98\x80\"", ": must be at least 2 characters long");
	INVALID("\"abcd\"", ": must be at most 3 characters long");
	INVALID("\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"",
	        ": must be at most 3 characters long");
	/* A long ASCII string and a long one with multibyte characters. */
	INVALID("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
	        ": must be at most 3 characters long");
	teardown();
	setup();
	load("{ minLength: 17, maxLength: 17 }");
	VALID("\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	      "\xc3\xa9\xc3\xa9\xc3\xa9\"");
	VALID("\"0123456789abcdef\\n\"");
	VALID("5");
	REFUSED("\"0123456789abcdef\"");
}
END_TEST

START_TEST(test_pattern)
{
	load("{ type: string, pattern: '\\d{3}' }");
	VALID("\"abc123def\"");            /* unanchored */
	INVALID("\"12a3\"", ": must match the pattern '\\d{3}'");
	teardown();
	setup();
	load("{ pattern: '^\\p{Letter}+$' }");
	VALID("\"\xc3\xa9t\xc3\xa9\"");
	VALID("\"\xce\xb1\xce\xb2\"");
	REFUSED("\"ab1\"");
	VALID("1");                        /* not a string */
	teardown();
	setup();
	/* Lookahead, and $ at the very end only (not before a newline). */
	load("{ pattern: '^(?=.*[A-Z])(?=.*\\d)[A-Za-z\\d]{8,}$' }");
	VALID("\"Passw0rdX\"");
	REFUSED("\"password1\"");
	REFUSED("\"Passw0rdX\\n\"");
	teardown();
	setup();
	/* \u escapes and [^]: as in JavaScript. */
	load("{ pattern: '^\\u00e9[^]\\u{1F600}$' }");
	VALID("\"\xc3\xa9\\n\xf0\x9f\x98\x80\"");
	REFUSED("\"e\\n\xf0\x9f\x98\x80\"");
}
END_TEST

START_TEST(test_pattern_limits)
{
	char *text;
	size_t n = 100000, i;

	/* A long string through a repeated group matches (JIT stack). */
	load("{ pattern: '^(a|b)+$' }");
	text = malloc(n + 3);
	ck_assert_ptr_nonnull(text);
	text[0] = '"';
	for (i = 1; i <= n; i++)
		text[i] = i % 3 ? 'a' : 'b';
	text[n + 1] = '"';
	text[n + 2] = '\0';
	VALID(text);
	teardown();
	setup();
	/* Catastrophic backtracking gives up and fails closed. */
	load("{ pattern: '^(a+)+$' }");
	memset(text + 1, 'a', 40);
	memcpy(text + 41, "!\"", 3);
	INVALID(text, ": could not be matched against the pattern '^(a+)+$' "
	        "within the match limit");
	free(text);
}
END_TEST

START_TEST(test_formats)
{
	static const char *const uuids[] = {
		"\"3f2504e0-4f89-11d3-9a0c-0305e82c3301\"",
		"\"00000000-0000-0000-0000-000000000000\"",
		"\"3F2504E0-4F89-11D3-9A0C-0305E82C3301\"",
	};
	static const char *const not_uuids[] = {
		"\"3f2504e04f8911d39a0c0305e82c3301\"",
		"\"{3f2504e0-4f89-11d3-9a0c-0305e82c3301}\"",
		"\"urn:uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301\"",
		"\"3f2504e0-4f89-11d3-9a0c-0305e82c330g\"",
		"\"3f2504e0-4f89-11d3-9a0c0-305e82c3301\"",
		"\"\"",
	};
	size_t i;

	load("{ format: uuid }");
	for (i = 0; i < sizeof(uuids) / sizeof(uuids[0]); i++)
		VALID(uuids[i]);
	for (i = 0; i < sizeof(not_uuids) / sizeof(not_uuids[0]); i++)
		INVALID(not_uuids[i], ": must be a UUID");
	VALID("42");                       /* formats apply to strings */
}
END_TEST

START_TEST(test_date_time)
{
	static const char *const good[] = {
		"\"2024-05-01T12:34:56Z\"",
		"\"2024-05-01t12:34:56z\"",
		"\"2024-05-01T12:34:56.123456789+05:30\"",
		"\"2024-02-29T00:00:00-00:00\"",
		"\"2000-02-29T23:59:59+23:59\"",
		"\"1990-12-31T23:59:60Z\"",          /* leap second */
		"\"1990-12-31T15:59:60-08:00\"",     /* 23:59:60 in UTC */
		"\"1990-12-31T00:29:60+00:30\"",
	};
	static const char *const bad[] = {
		"\"2024-05-01 12:34:56Z\"",          /* RFC 3339 needs T */
		"\"2024-05-01T12:34:56\"",           /* no offset */
		"\"2024-05-01T12:34:56+0530\"",      /* offset without ':' */
		"\"2024-05-01T12:34:56+05\"",
		"\"2023-02-29T00:00:00Z\"",          /* not a leap year */
		"\"1900-02-29T00:00:00Z\"",
		"\"2024-04-31T00:00:00Z\"",
		"\"2024-13-01T00:00:00Z\"",
		"\"2024-00-10T00:00:00Z\"",
		"\"2024-05-01T24:00:00Z\"",
		"\"2024-05-01T12:60:00Z\"",
		"\"2024-05-01T12:34:60Z\"",          /* 60 off 23:59 UTC */
		"\"1990-12-31T23:59:60+01:00\"",
		"\"2024-05-01T12:34:56.Z\"",
		"\"2024-05-01T12:34:56+24:00\"",
		"\"24-05-01T12:34:56Z\"",
		"\"2024-05-01T12:34:56Z \"",
		"\"2024-05-01\"",
	};
	size_t i;

	load("{ type: string, format: date-time }");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		VALID(good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		INVALID(bad[i], ": must be an RFC 3339 date-time");
}
END_TEST

START_TEST(test_email)
{
	static const char *const good[] = {
		"\"a@example.com\"",
		"\"first.last+tag@mail.example.co.uk\"",
		"\"o'hara!#$%&*/=?^_`{|}~-@x-y.example\"",
		"\"A@B.C\"",
		/* a local part of 64 bytes */
		("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaa@example.com\""),
	};
	static const char *const bad[] = {
		"\"plain\"",
		"\"@example.com\"",
		"\"a@\"",
		"\"a@localhost\"",                   /* one label */
		"\"a..b@example.com\"",
		"\".a@example.com\"",
		"\"a.@example.com\"",
		"\"a@-example.com\"",
		"\"a@example-.com\"",
		"\"a@exa_mple.com\"",
		"\"a@example..com\"",
		"\"a b@example.com\"",
		"\"\\\"q\\\"@example.com\"",          /* quoted local part */
		"\"a@[192.0.2.1]\"",
		"\"a@b@example.com\"",
		"\"\xc3\xa9@example.com\"",
		/* a local part of 65 bytes */
		("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaa@example.com\""),
	};
	size_t i;

	load("{ format: email }");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		VALID(good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		INVALID(bad[i], ": must be an email address");
}
END_TEST

/* ---- numbers ------------------------------------------------------------- */

START_TEST(test_minimum_maximum)
{
	load("{ minimum: 1, maximum: 10.5 }");
	VALID("1");
	VALID("1.0");
	VALID("10.5");
	VALID("1.05e1");
	VALID("\"not a number\"");
	INVALID("0.999", ": must be >= 1");
	INVALID("10.500001", ": must be <= 10.5");
	INVALID("1e400", ": must be <= 10.5");
	INVALID("-1e400", ": must be >= 1");
	teardown();
	setup();
	load("{ exclusiveMinimum: 0, exclusiveMaximum: \"1e2\" }");
	VALID("1e-300");
	VALID("99.99999");
	INVALID("0", ": must be > 0");
	INVALID("-0.0", ": must be > 0");
	INVALID("100", ": must be < 1e2");
	INVALID("1E2", ": must be < 1e2");
}
END_TEST

START_TEST(test_large_numbers)
{
	/* Integers within int64 compare exactly, also against doubles. */
	load("{ maximum: 9007199254740992 }");
	VALID("9007199254740992");
	VALID("9007199254740992.0");
	INVALID("9007199254740993", ": must be <= 9007199254740992");
	teardown();
	setup();
	load("{ minimum: 9223372036854775807, type: integer }");
	VALID("9223372036854775807");
	VALID("9223372036854775808");
	VALID("1e19");
	REFUSED("9223372036854775806");
	REFUSED("9.2e18");
	teardown();
	setup();
	load("{ maximum: -9223372036854775808 }");
	VALID("-9223372036854775808");
	VALID("-1e19");
	REFUSED("-9223372036854775807");
	teardown();
	setup();
	load("{ exclusiveMaximum: 0.5 }");
	VALID("0");
	VALID("0.49999999999999994");
	REFUSED("0.5");
	REFUSED("1");
}
END_TEST

START_TEST(test_number_spellings)
{
	/* Bodies read decimals on a fast path, schemas through strtod:
	 * both must give the same double. */
	load("{ const: 0.1 }");
	VALID("0.1");
	VALID("1e-1");
	VALID("0.10");
	VALID("100E-3");
	VALID("0.1000000000000000055511151231257827");
	REFUSED("0.30000000000000004");
	REFUSED("0.1000000000000001");
	INVALID("0.2", ": must be 0.1");
	teardown();
	setup();
	load("{ const: 1e22 }");
	VALID("1e22");
	VALID("10000000000000000000000");
	VALID("10000000000000000000000.0");
	REFUSED("1e23");
	teardown();
	setup();
	load("{ enum: [123456.789e3, -2.5e-3, 4.35] }");
	VALID("123456789");
	VALID("-0.0025");
	VALID("-25e-4");
	VALID("4.35");
	VALID("435e-2");
	REFUSED("4.349999999999999");
}
END_TEST

/* ---- $ref ---------------------------------------------------------------- */

START_TEST(test_ref_across_modules)
{
	load_with("{ $ref: Order }",
	          "{ Order: { type: object, required: [item], properties: "
	          "{ item: { $ref: other.Item }, note: { $ref: Note } } }, "
	          "Note: { type: string, maxLength: 3 } }",
	          "{ Item: { type: object, properties: "
	          "{ id: { $ref: Id } } }, "
	          "Id: { type: string, format: uuid } }");
	VALID("{\"item\":{\"id\":\"3f2504e0-4f89-11d3-9a0c-0305e82c3301\"}}");
	INVALID("{\"item\":{\"id\":\"x\"},\"note\":\"long\"}",
	        "/item/id: must be a UUID\n"
	        "/note: must be at most 3 characters long");
}
END_TEST

START_TEST(test_ref_with_siblings)
{
	/* 2020-12: a $ref applies alongside the other keywords. */
	load_with("{ $ref: Base, required: [b] }",
	          "{ Base: { type: object, required: [a] } }", NULL);
	VALID("{\"a\":1,\"b\":2}");
	INVALID("{}", "/b: required property 'b' is missing\n"
	        "/a: required property 'a' is missing");
}
END_TEST

START_TEST(test_ref_recursive)
{
	load_with("{ $ref: Tree }",
	          "{ Tree: { type: object, required: [name], "
	          "additionalProperties: false, properties: "
	          "{ name: { type: string }, children: { type: array, items: "
	          "{ $ref: Tree } } } } }", NULL);
	VALID("{\"name\":\"a\",\"children\":[{\"name\":\"b\",\"children\":"
	      "[{\"name\":\"c\"}]}]}");
	INVALID("{\"name\":\"a\",\"children\":[{\"name\":\"b\",\"children\":"
	        "[{\"nom\":\"c\"}]}]}",
	        "/children/0/children/0/nom: property 'nom' is not allowed\n"
	        "/children/0/children/0/name: required property 'name' is "
	        "missing");
}
END_TEST

START_TEST(test_ref_cycle)
{
	/* $refs alone in a cycle: each schema applies once, and ends. */
	load_with("{ $ref: A }",
	          "{ A: { $ref: B, minimum: 1 }, B: { $ref: C, maximum: 5 }, "
	          "C: { $ref: B, type: integer } }", NULL);
	VALID("3");
	INVALID("7.5", ": must be <= 5\n: must be integer, not number");
	INVALID("0", ": must be >= 1");
	teardown();
	setup();
	load_with("{ $ref: Self }", "{ Self: { $ref: Self } }", NULL);
	VALID("{\"anything\":true}");
}
END_TEST

/* ---- pointers and the cap ------------------------------------------------ */

START_TEST(test_pointers)
{
	load("{ additionalProperties: { type: array, items: "
	     "{ type: integer } } }");
	INVALID("{\"a/b\":[1,\"x\"],\"m~n\":[\"y\"],\"~1\":[true],"
	        "\"\":[null],\"\xc3\xa9\":[[]]}",
	        "/a~1b/1: must be integer, not string\n"
	        "/m~0n/0: must be integer, not string\n"
	        "/~01/0: must be integer, not boolean\n"
	        "//0: must be integer, not null\n"
	        "/\xc3\xa9/0: must be integer, not array");
	/* A NUL in a name cannot live in a C string: U+FFFD stands in. */
	INVALID("{\"a\\u0000b\":[{}]}",
	        "/a\xef\xbf\xbd" "b/0: must be integer, not object");
	teardown();
	setup();
	load("{ properties: { \"~/\": { required: [\"x/y\"] } } }");
	INVALID("{\"~/\":{}}", "/~0~1/x~1y: required property 'x/y' is "
	        "missing");
}
END_TEST

START_TEST(test_error_cap)
{
	char text[512];
	size_t i, used;

	load("{ items: { type: string } }");
	used = (size_t)snprintf(text, sizeof(text), "[");
	for (i = 0; i < 25; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		                         "%s%zu", i > 0 ? "," : "", i);
	snprintf(text + used, sizeof(text) - used, "]");
	ck_assert_int_eq(check_text(text), CONTRACT_INVALID);
	ck_assert_uint_eq(report.nerrors, CONTRACT_MAX_ERRORS);
	ck_assert_int_eq(report.truncated, 1);
	ck_assert_str_eq(report.errors[0].pointer, "/0");
	ck_assert_str_eq(report.errors[19].pointer, "/19");
	/* Exactly 20: not truncated. */
	ck_assert_int_eq(check_text("[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,"
	                            "16,17,18,19]"), CONTRACT_INVALID);
	ck_assert_uint_eq(report.nerrors, 20);
	ck_assert_int_eq(report.truncated, 0);
}
END_TEST

START_TEST(test_long_names_in_details)
{
	char text[512];

	load("{ additionalProperties: false }");
	snprintf(text, sizeof(text), "{\"%s\":1}",
	         "0123456789012345678901234567890123456789"
	         "0123456789012345678901234567890123456789");
	check_text(text);
	ck_assert_uint_eq(report.nerrors, 1);
	ck_assert_str_eq(report.errors[0].detail, "property '012345678901234"
	                 "5678901234567890123456789012345678901234567890123...'"
	                 " is not allowed");
	ck_assert_uint_eq(strlen(report.errors[0].pointer), 81);
}
END_TEST

START_TEST(test_boolean_schemas)
{
	load("true");
	VALID("{\"x\":[1,2,{}]}");
	teardown();
	setup();
	load("false");
	INVALID("null", ": no value is allowed here");
}
END_TEST

/* ---- parsing ------------------------------------------------------------- */

START_TEST(test_not_json)
{
	char deep[200];
	size_t i;

	load("true");
	NOT_JSON("", "the body is empty");
	NOT_JSON("   ", "a value is missing (at byte 3)");
	NOT_JSON("{\"a\":1", "the text ends inside an array or object");
	NOT_JSON("{\"a\":1} x", "more than one value (at byte 8)");
	NOT_JSON("01", "more than one value");
	NOT_JSON("1.", "a digit is missing in a number");
	NOT_JSON("+1", "not a JSON value");
	NOT_JSON("NaN", "not a JSON value");
	NOT_JSON("{'a':1}", "an object key must be a string");
	NOT_JSON("[1,]", "not a JSON value");
	NOT_JSON("\"a\tb\"", "a control character in a string");
	NOT_JSON("\"\\x\"", "an invalid escape in a string");
	NOT_JSON("\"\\u12\"", "a \\u escape needs four hex digits");
	NOT_JSON("\"\xc0\xaf\"", "invalid UTF-8 in a string");
	NOT_JSON("\"\xed\xa0\x80\"", "invalid UTF-8 in a string");
	NOT_JSON("\"abc", "a string does not end");
	NOT_JSON("\"abc\\", "a string does not end");
	NOT_JSON("tru", "not a JSON value");
	/* 64 nested containers are fine, 65 are not. */
	for (i = 0; i < 64; i++)
		deep[i] = '[';
	for (i = 0; i < 64; i++)
		deep[64 + i] = ']';
	deep[128] = '\0';
	VALID(deep);
	memmove(deep + 1, deep, 129);
	deep[0] = '[';
	deep[130] = '\0';
	deep[129] = ']';
	NOT_JSON(deep, "nested too deep");
}
END_TEST

START_TEST(test_escapes)
{
	load("{ const: \"a\\\"\\\\/\\b\\f\\n\\r\\t"
	     "\xc3\xa9\xf0\x9f\x98\x80\" }");
	VALID("\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"");
	VALID("\"a\\\"\\\\/\\b\\f\\n\\r\\t\xc3\xa9\xf0\x9f\x98\x80\"");
	teardown();
	setup();
	/* Unpaired surrogates decode to U+FFFD, as json-c has them. */
	load("{ const: \"\xef\xbf\xbdx\xef\xbf\xbd\" }");
	VALID("\"\\ud800x\\udc00\"");
	VALID("\"\\ud800x\\ud800\"");
}
END_TEST

/* ---- json-c input -------------------------------------------------------- */

START_TEST(test_json_c_input)
{
	json_object *o;

	load("{ type: object, required: [n], properties: { n: "
	     "{ type: integer, maximum: 10 }, s: { maxLength: 1 } } }");
	o = json_tokener_parse("{\"n\":3.0,\"s\":\"\xc3\xa9\"}");
	ck_assert_int_eq(contract_check_json(contract, schema, o, &report),
	                 CONTRACT_VALID);
	json_object_put(o);
	o = json_tokener_parse("{\"n\":11,\"s\":\"ab\"}");
	ck_assert_int_eq(contract_check_json(contract, schema, o, &report),
	                 CONTRACT_INVALID);
	ck_assert_str_eq(errors_of(), "/n: must be <= 10\n"
	                 "/s: must be at most 1 character long");
	json_object_put(o);
	ck_assert_int_eq(contract_check_json(contract, schema, NULL, &report),
	                 CONTRACT_INVALID);
	ck_assert_str_eq(errors_of(), ": must be object, not null");
	o = json_object_new_object();
	json_object_object_add(o, "n", json_object_new_string("\xff"));
	ck_assert_int_eq(contract_check_json(contract, schema, o, &report),
	                 CONTRACT_INVALID_JSON);
	ck_assert_str_eq(report.why, "a string is not UTF-8");
	json_object_put(o);
}
END_TEST

/* ---- Content-Type -------------------------------------------------------- */

START_TEST(test_media_type)
{
	static const char *const yes[] = {
		"application/json", "Application/JSON", " application/json ",
		"application/json; charset=utf-8",
		"application/json;charset=UTF-8",
		"application/json ; Charset=\"utf-8\"",
		"application/json;", "application/json; ;charset=utf-8",
	};
	static const char *const no[] = {
		"", "text/plain", "application/jsonx", "application/json-seq",
		"application/problem+json", "application/json; charset=latin1",
		"application/json; charset=utf-16",
		"application/json; charset=utf-8x",
		"application/json; boundary=x", "application/json; charset",
		"application/json; charset=\"utf-8", "application/json x",
		"application/json; charset=utf-8 x", "application/*", "*/*",
	};
	size_t i;

	ck_assert_int_eq(contract_json_media_type(NULL), 0);
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(contract_json_media_type(yes[i]) == 1, "%s",
		              yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(contract_json_media_type(no[i]) == 0, "%s",
		              no[i]);
}
END_TEST

static Suite *
contract_suite(void)
{
	Suite *s = suite_create("contract_validate");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_type);
	tcase_add_test(tc, test_type_names);
	tcase_add_test(tc, test_type_list);
	tcase_add_test(tc, test_properties_required);
	tcase_add_test(tc, test_additional_properties);
	tcase_add_test(tc, test_merge_keys);
	tcase_add_test(tc, test_duplicate_members);
	tcase_add_test(tc, test_items);
	tcase_add_test(tc, test_enum);
	tcase_add_test(tc, test_const);
	tcase_add_test(tc, test_deep_values);
	tcase_add_test(tc, test_lengths);
	tcase_add_test(tc, test_pattern);
	tcase_add_test(tc, test_pattern_limits);
	tcase_add_test(tc, test_formats);
	tcase_add_test(tc, test_date_time);
	tcase_add_test(tc, test_email);
	tcase_add_test(tc, test_minimum_maximum);
	tcase_add_test(tc, test_large_numbers);
	tcase_add_test(tc, test_number_spellings);
	tcase_add_test(tc, test_ref_across_modules);
	tcase_add_test(tc, test_ref_with_siblings);
	tcase_add_test(tc, test_ref_recursive);
	tcase_add_test(tc, test_ref_cycle);
	tcase_add_test(tc, test_pointers);
	tcase_add_test(tc, test_error_cap);
	tcase_add_test(tc, test_long_names_in_details);
	tcase_add_test(tc, test_boolean_schemas);
	tcase_add_test(tc, test_not_json);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_json_c_input);
	tcase_add_test(tc, test_media_type);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(contract_suite)
