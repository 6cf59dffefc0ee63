/*
 * test_plan_out.c - the three renderings of a plan (SPEC §6): what each
 * says, and that each is byte-identical whatever the files are called and
 * in whatever order they are read.
 */
#include "unit.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/plan_out.h"
#include "config/manifest.h"
#include "diag.h"
#include "graph/graph.h"
#include "provider/registry.h"

#define PRODUCT "kind: product\nid: shop\nname: Shop\nversion: 1.2.3\n"
#define STORE "kind: module\nid: store\ndisplayName: Store\nversion: 1.0.0\n" \
	"provides: [state-store]\n"
#define CORE "kind: module\nid: core\ndisplayName: Core\nversion: 0.1.0\n" \
	"services:\n  - id: gw\n    provider: gateway\n" \
	"routes:\n  - id: route:core.health\n    scope: public\n" \
	"    methods: [GET]\n    mountPath: /gateway/v1/health\n" \
	"    handler: { service: gw, operation: health }\n"
#define CART "kind: module\nid: cart\ndisplayName: Cart\nversion: 2.0.0\n" \
	"requires: [core]\nafter: [store]\nneeds: [state-store]\n"

enum format { TEXT, JSON, DOT };

struct file {
	const char *name;
	const char *text;
};

/* Renders the plan of files (in that order) as format; malloc'ed. */
static char *
render(const struct file *files, size_t n, enum format f)
{
	struct provider_registry *reg = registry_new(unit_test_modules_dir());
	struct config *cfg = config_new("conf.d");
	struct diag_list dl;
	char *out = NULL;
	size_t len = 0, i;
	FILE *mem;

	ck_assert_int_eq(diag_list_init(&dl), 0);
	for (i = 0; i < n; i++)
		config_add_text(cfg, &dl, files[i].name, files[i].text,
		                strlen(files[i].text));
	config_index_modules(cfg);
	ck_assert_uint_eq(graph_validate(cfg, reg, &dl), 0);
	ck_assert(cfg->planned);
	mem = open_memstream(&out, &len);
	if (f == TEXT)
		plan_print_text(cfg, mem);
	else if (f == JSON)
		plan_print_json(cfg, mem);
	else
		plan_print_dot(cfg, mem);
	fclose(mem);
	diag_list_release(&dl);
	config_free(cfg);
	registry_free(reg);
	return out;
}

static const struct file one_order[] = {
	{"product.yaml", PRODUCT}, {"modules/a.yaml", STORE},
	{"modules/b.yaml", CORE}, {"modules/c.yaml", CART},
};
static const struct file other_order[] = {
	{"zz/cart.yaml", CART}, {"core.yaml", CORE},
	{"product.yaml", PRODUCT}, {"m/store.yaml", STORE},
};

START_TEST(test_text)
{
	char *t = render(one_order, 4, TEXT);

	ck_assert_ptr_nonnull(strstr(t, "plan for product 'shop' 1.2.3: "
	                             "3 modules in 2 waves\n"
	                             "wave 1: core, store\nwave 2: cart\n"));
	ck_assert_ptr_nonnull(strstr(t, "  route route:core.health GET "
	                             "/gateway/v1/health [public] -> "
	                             "gw.health\n"));
	free(t);
}
END_TEST

START_TEST(test_json)
{
	char *t = render(one_order, 4, JSON);
	json_object *root = json_tokener_parse(t), *waves, *mods;

	ck_assert_ptr_nonnull(root);
	ck_assert(json_object_object_get_ex(root, "waves", &waves));
	ck_assert_str_eq(json_object_to_json_string_ext(waves,
	                 JSON_C_TO_STRING_PLAIN),
	                 "[[\"core\",\"store\"],[\"cart\"]]");
	ck_assert(json_object_object_get_ex(root, "modules", &mods));
	ck_assert_uint_eq(json_object_array_length(mods), 3);
	json_object_put(root);
	free(t);
}
END_TEST

/* A module without edges is printed too (it once read from a NULL edge
 * array); every edge kind has its style. */
START_TEST(test_dot)
{
	char *t = render(one_order, 4, DOT);

	ck_assert_ptr_nonnull(strstr(t, "digraph \"shop\" {"));
	ck_assert_ptr_nonnull(strstr(t, "\"store\" [label=\"store\\n1.0.0\"]"));
	ck_assert_ptr_nonnull(strstr(t, "\"cart\" -> \"core\";"));
	ck_assert_ptr_nonnull(strstr(t, "\"cart\" -> \"store\" "
	                             "[style=dashed, label=\"after\"];"));
	ck_assert_ptr_nonnull(strstr(t, "\"cart\" -> \"store\" "
	                             "[style=dotted, label=\"state-store\"];"));
	free(t);
}
END_TEST

START_TEST(test_independent_of_file_names_and_order)
{
	enum format f;

	for (f = TEXT; f <= DOT; f++) {
		char *a = render(one_order, 4, f);
		char *b = render(other_order, 4, f);
		char *c = render(one_order, 4, f);

		ck_assert_str_eq(a, b);
		ck_assert_str_eq(a, c);
		free(a);
		free(b);
		free(c);
	}
}
END_TEST

static Suite *
plan_out_suite(void)
{
	Suite *s = suite_create("plan_out");
	TCase *tc = tcase_create("formats");

	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_dot);
	tcase_add_test(tc, test_independent_of_file_names_and_order);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(plan_out_suite)
