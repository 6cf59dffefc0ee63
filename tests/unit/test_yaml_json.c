/*
 * test_yaml_json.c - YAML values of a manifest as JSON (config/yaml_json.h):
 * how untyped scalars are typed (YAML 1.2 core schema), numbers rewritten
 * into JSON's grammar with their digits kept, quoting and !!str, merged
 * keys, and the as_plain reading of quoted scalars.
 */
#include "unit.h"

#include <json-c/json.h>
#include <string.h>

#include "config/node.h"
#include "config/yaml.h"
#include "config/yaml_json.h"
#include "diag.h"
#include "util/arena.h"

static struct arena *arena;
static struct diag_list dl;

static void
setup(void)
{
	arena = arena_new();
	ck_assert_ptr_nonnull(arena);
	ck_assert_int_eq(diag_list_init(&dl), 0);
}

static void
teardown(void)
{
	diag_list_release(&dl);
	arena_free(arena);
}

/* The one document of text. */
static const node_t *
parse(const char *text)
{
	static const struct source src = {"test.yaml", "."};
	node_t **docs;
	size_t ndocs;

	ck_assert_uint_eq(yaml_parse(arena, &src, text, strlen(text), &dl,
	                             &docs, &ndocs), 0);
	ck_assert_uint_eq(ndocs, 1);
	return docs[0];
}

/* n as compact JSON text ("null" for NULL), in the arena. */
static const char *
json_text(const node_t *n, int as_plain)
{
	json_object *o = yaml_to_json(n, as_plain);
	const char *t = arena_strdup(arena, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	return t;
}

START_TEST(test_scalars_typed)
{
	const node_t *n = parse(
	    "{ n: 3, q: \"3\", f: +1.50, z: 007, e: 1E3, h: 0x1F, t: True,\n"
	    "  nl: ~, s: hello, l: [1, two], i: .inf,\n"
	    "  big: 123456789012345678901234567890, neg: -.5,\n"
	    "  tagged: !!str 12, qnull: \"null\", huge: 1e999 }\n");

	ck_assert_str_eq(json_text(n, 0),
	    "{\"n\":3,\"q\":\"3\",\"f\":1.50,\"z\":7,\"e\":1E3,\"h\":\"0x1F\","
	    "\"t\":true,\"nl\":null,\"s\":\"hello\",\"l\":[1,\"two\"],"
	    "\"i\":\".inf\",\"big\":123456789012345678901234567890,"
	    "\"neg\":-0.5,\"tagged\":\"12\",\"qnull\":\"null\","
	    "\"huge\":\"1e999\"}");
}
END_TEST

START_TEST(test_as_plain)
{
	const node_t *n = parse("{ q: \"3\", b: 'false', tagged: !!str 4,\n"
	                        "  qnull: \"null\" }\n");
	json_object *o = yaml_to_json(node_get(n, "q"), 1);

	ck_assert(json_object_is_type(o, json_type_int));
	ck_assert_int_eq(json_object_get_int(o), 3);
	json_object_put(o);
	ck_assert_str_eq(json_text(node_get(n, "b"), 1), "false");
	ck_assert_str_eq(json_text(node_get(n, "tagged"), 1), "\"4\"");
	/* A quoted "null" is a string even so. */
	ck_assert_str_eq(json_text(node_get(n, "qnull"), 1), "\"null\"");
}
END_TEST

START_TEST(test_merged_keys_lose)
{
	const node_t *n = parse("base: &b { a: 1, b: 2 }\n"
	                        "m: { <<: *b, a: 3 }\n");

	ck_assert_str_eq(json_text(node_get(n, "m"), 0), "{\"a\":3,\"b\":2}");
}
END_TEST

START_TEST(test_null_node)
{
	ck_assert_ptr_null(yaml_to_json(NULL, 0));
}
END_TEST

static Suite *
yaml_json_suite(void)
{
	Suite *s = suite_create("yaml_json");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_scalars_typed);
	tcase_add_test(tc, test_as_plain);
	tcase_add_test(tc, test_merged_keys_lose);
	tcase_add_test(tc, test_null_node);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(yaml_json_suite)
