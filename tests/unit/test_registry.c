/*
 * test_registry.c - finding providers (built in, or NAME.so on the module
 * path), refusing unusable shared objects with a message naming the file,
 * and checking a service's config against a provider (SPEC §4).
 *
 * Uses the test-only providers of tests/providers/: testecho (a complete
 * provider), badabi (built for the next ABI), nosymbol (no descriptor),
 * misnamed (a descriptor naming another provider).
 */
#include "unit.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "aster/provider.h"
#include "config/yaml.h"
#include "diag.h"
#include "provider/check.h"
#include "provider/host.h"
#include "provider/registry.h"
#include "util/arena.h"

static struct provider_registry *reg;
static struct arena *arena;
static struct diag_list dl;

static const struct source src = {"conf.d/modules/echo.yaml",
                                  "/etc/aster/conf.d/modules"};

static void
setup(void)
{
	reg = registry_new(unit_test_modules_dir());
	ck_assert_ptr_nonnull(reg);
	arena = arena_new();
	ck_assert_ptr_nonnull(arena);
	ck_assert_int_eq(diag_list_init(&dl), 0);
}

static void
teardown(void)
{
	diag_list_release(&dl);
	arena_free(arena);
	registry_free(reg);
	reg = NULL;
	arena = NULL;
}

/* dir/name.so, as the registry names it. */
static const char *
object_path(const char *name)
{
	return arena_printf(arena, "%s/%s.so", unit_test_modules_dir(), name);
}

/* True when s holds the decimal number n, not as part of a longer one. */
static int
has_number(const char *s, unsigned n)
{
	char want[16];
	size_t len;
	const char *p;

	snprintf(want, sizeof(want), "%u", n);
	len = strlen(want);
	for (p = strstr(s, want); p != NULL; p = strstr(p + 1, want))
		if ((p == s || !isdigit((unsigned char)p[-1])) &&
		    !isdigit((unsigned char)p[len]))
			return 1;
	return 0;
}

static const struct aster_operation *
find_operation(const struct aster_provider *p, const char *name)
{
	const struct aster_operation *op;

	for (op = p->operations; op != NULL && op->name != NULL; op++)
		if (strcmp(op->name, name) == 0)
			return op;
	return NULL;
}

/* --- registry_get ---------------------------------------------------- */

START_TEST(test_get_testecho)
{
	const char *err = "untouched";
	const struct aster_provider *p = registry_get(reg, "testecho", &err);

	ck_assert_msg(p != NULL, "testecho: %s", err ? err : "(no message)");
	ck_assert_ptr_null(err);
	ck_assert_uint_eq(p->abi, ASTER_PROVIDER_ABI);
	ck_assert_str_eq(p->name, "testecho");
	ck_assert_ptr_nonnull(p->config_keys);
	ck_assert_ptr_nonnull(p->validate);
	ck_assert_ptr_nonnull(p->start);
	ck_assert_ptr_nonnull(p->stop);
	ck_assert_ptr_nonnull(find_operation(p, "echo"));
	ck_assert_ptr_nonnull(find_operation(p, "ping"));
	ck_assert_str_eq(find_operation(p, "echo")->methods, "GET,POST");
	ck_assert_str_eq(find_operation(p, "ping")->methods, "GET");
	ck_assert_ptr_null(find_operation(p, "pong"));
	/* Loaded once: the same descriptor every time. */
	ck_assert_ptr_eq(registry_get(reg, "testecho", NULL), p);
}
END_TEST

/* The start hook allocates, stop frees (ASan's leak check watches). */
START_TEST(test_testecho_lifecycle)
{
	const struct aster_provider *p = registry_get(reg, "testecho", NULL);
	const char *cause = NULL;
	void *state = NULL;
	node_t **docs = NULL;
	size_t ndocs = 0;
	static const char text[] = "greeting: hi\nport: 8080\n";

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->start(provider_host(), NULL, NULL, &state,
	                          &cause), ASTER_STARTED);
	ck_assert_ptr_nonnull(state);
	p->stop(state);

	yaml_parse(arena, &src, text, sizeof(text) - 1, &dl, &docs, &ndocs);
	ck_assert_uint_eq(ndocs, 1);
	state = NULL;
	ck_assert_int_eq(p->start(provider_host(), NULL, docs[0], &state,
	                          &cause), ASTER_STARTED);
	ck_assert_ptr_nonnull(state);
	p->stop(state);
}
END_TEST

START_TEST(test_builtin_gateway)
{
	struct provider_registry *empty = registry_new("");
	const char *err = "untouched";
	const struct aster_provider *p;

	ck_assert_ptr_nonnull(empty);
	p = registry_get(empty, "gateway", &err);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(p->name, "gateway");
	ck_assert_uint_eq(p->abi, ASTER_PROVIDER_ABI);
	ck_assert_ptr_nonnull(find_operation(p, "health"));
	ck_assert_ptr_null(registry_get(empty, "testecho", NULL));
	registry_free(empty);
}
END_TEST

START_TEST(test_bad_abi)
{
	const char *err = NULL;
	const struct aster_provider *p = registry_get(reg, "badabi", &err);

	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, object_path("badabi")) != NULL,
	              "the message must name the file: %s", err);
	ck_assert_msg(has_number(err, ASTER_PROVIDER_ABI + 1),
	              "the message must name the provider's ABI: %s", err);
	ck_assert_msg(has_number(err, ASTER_PROVIDER_ABI),
	              "the message must name asterd's ABI: %s", err);
	/* Judged once, refused every time with the same message. */
	err = NULL;
	ck_assert_ptr_null(registry_get(reg, "badabi", &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, "badabi.so"));
}
END_TEST

START_TEST(test_no_symbol)
{
	const char *err = NULL;

	ck_assert_ptr_null(registry_get(reg, "nosymbol", &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, object_path("nosymbol")) != NULL,
	              "the message must name the file: %s", err);
	ck_assert_msg(strstr(err, "aster_provider") != NULL,
	              "the message must name the missing symbol: %s", err);
}
END_TEST

START_TEST(test_misnamed)
{
	const char *err = NULL;

	ck_assert_ptr_null(registry_get(reg, "misnamed", &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, object_path("misnamed")) != NULL,
	              "the message must name the file: %s", err);
	ck_assert_msg(strstr(err, "somethingelse") != NULL,
	              "the message must name the descriptor's name: %s", err);
	/* The name the descriptor claims is no provider either. */
	err = "untouched";
	ck_assert_ptr_null(registry_get(reg, "somethingelse", &err));
	ck_assert_ptr_null(err);
}
END_TEST

START_TEST(test_missing)
{
	const char *err = "untouched";

	ck_assert_ptr_null(registry_get(reg, "no-such-provider", &err));
	ck_assert_ptr_null(err);
	ck_assert_ptr_null(registry_get(reg, "no-such-provider", NULL));
	err = "untouched";
	ck_assert_ptr_null(registry_get(reg, "", &err));
	ck_assert_ptr_null(err);
}
END_TEST

/* A name never leaves the module path. */
START_TEST(test_name_with_slash)
{
	const char *err = "untouched";
	const char *name = arena_printf(arena, "../modules/testecho");

	ck_assert_ptr_null(registry_get(reg, name, &err));
	ck_assert_ptr_null(err);
	ck_assert_ptr_null(registry_get(reg, "./testecho", NULL));
}
END_TEST

/* Directories are tried in order; missing and empty entries are skipped. */
START_TEST(test_path_list)
{
	const char *path = arena_printf(arena, "/nonexistent/aster::%s:",
	                                unit_test_modules_dir());
	struct provider_registry *r = registry_new(path);

	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(registry_path(r), path);
	ck_assert_ptr_nonnull(registry_get(r, "testecho", NULL));
	registry_free(r);
}
END_TEST

START_TEST(test_names)
{
	size_t n = 0, i;
	const char *const *names = registry_names(reg, &n);
	int gateway = 0, testecho = 0;

	ck_assert_ptr_nonnull(names);
	for (i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(names[i]);
		ck_assert_msg(strchr(names[i], '/') == NULL &&
		              strstr(names[i], ".so") == NULL,
		              "'%s' is a file, not a provider name", names[i]);
		gateway += strcmp(names[i], "gateway") == 0;
		testecho += strcmp(names[i], "testecho") == 0;
	}
	ck_assert_int_eq(gateway, 1);
	ck_assert_int_eq(testecho, 1);
	ck_assert_str_eq(registry_path(reg), unit_test_modules_dir());
}
END_TEST

/* --- provider_check_config ------------------------------------------- */

/*
 * Parses "config: ..." style text (one mapping document) and checks its
 * `config` value against p, `at` being the document. Returns the count
 * provider_check_config answers.
 */
static size_t
check_with(const struct aster_provider *p, const char *text)
{
	node_t **docs = NULL;
	size_t ndocs = 0, before = dl.errors, n;

	yaml_parse(arena, &src, text, strlen(text), &dl, &docs, &ndocs);
	ck_assert_msg(dl.errors == before, "YAML error in the test: %s",
	              dl.n ? dl.items[dl.n - 1]->message : "");
	ck_assert_uint_eq(ndocs, 1);
	n = provider_check_config(&dl, arena, p, node_get(docs[0], "config"),
	                          docs[0]);
	ck_assert_uint_eq(n, dl.errors - before);
	return n;
}

static size_t
check(const char *text)
{
	const struct aster_provider *p = registry_get(reg, "testecho", NULL);

	ck_assert_ptr_nonnull(p);
	return check_with(p, text);
}

/* Every diagnostic must be provider-config; returns the i-th. */
static const struct diag *
diag_at(size_t i, unsigned line, unsigned col)
{
	const struct diag *d;
	size_t j;

	for (j = 0; j < dl.n; j++)
		ck_assert_str_eq(dl.items[j]->code, "provider-config");
	ck_assert_uint_gt(dl.n, i);
	d = dl.items[i];
	ck_assert_msg(d->mark.line == line && d->mark.col == col,
	              "'%s' at %u:%u, want %u:%u", d->message, d->mark.line,
	              d->mark.col, line, col);
	ck_assert_ptr_eq(d->mark.src, &src);
	return d;
}

START_TEST(test_config_ok)
{
	ck_assert_uint_eq(check("id: a\nconfig:\n  greeting: hi\n"), 0);
	ck_assert_uint_eq(check("config:\n  greeting: hello\n  port: 1\n"
	                        "  verbose: true\n  root: ./data\n"
	                        "  tags: [a, b]\n"), 0);
	ck_assert_uint_eq(check("config: {greeting: x, port: 65535, "
	                        "verbose: false, tags: []}\n"), 0);
	/* booleans are spelt as in manifests (YAML 1.2 core) */
	ck_assert_uint_eq(check("config: {greeting: x, verbose: True}\n"), 0);
	ck_assert_uint_eq(check("config: {greeting: x, verbose: FALSE}\n"),
	                  0);
	/* quoting does not change a scalar's type */
	ck_assert_uint_eq(check("config: {greeting: x, port: \"8080\"}\n"),
	                  0);
	ck_assert_uint_eq(check("config:\n  greeting: \"0123456789012345"
	                        "678901234567890123456789012345678901234567"
	                        "890123\"\n"), 0);
	ck_assert_uint_eq(dl.n, 0);
}
END_TEST

START_TEST(test_config_unknown_key)
{
	const struct diag *d;

	ck_assert_uint_eq(check("config:\n  greeting: hi\n  verbos: true\n"),
	                  1);
	d = diag_at(0, 3, 3);
	ck_assert_ptr_nonnull(strstr(d->message, "verbos"));
	ck_assert_ptr_nonnull(d->hint);
	ck_assert_str_eq(d->hint, "did you mean 'verbose'?");
}
END_TEST

START_TEST(test_config_unknown_key_far)
{
	const struct diag *d;

	ck_assert_uint_eq(check("config: {greeting: hi, colour: red}\n"), 1);
	d = diag_at(0, 1, 24);
	ck_assert_ptr_null(d->hint);
}
END_TEST

/* The mapping that lacks the key: at its first key. */
START_TEST(test_config_missing_required)
{
	const struct diag *d;

	ck_assert_uint_eq(check("id: a\nconfig:\n  port: 8080\n"), 1);
	d = diag_at(0, 3, 3);
	ck_assert_ptr_nonnull(strstr(d->message, "greeting"));
}
END_TEST

/* No config: at all: at the node given as the service's place. */
START_TEST(test_config_absent)
{
	ck_assert_uint_eq(check("id: a\nprovider: testecho\n"), 1);
	diag_at(0, 1, 1);
}
END_TEST

struct bad_value {
	const char *text;
	unsigned line, col;
	const char *mentions;
};

static const struct bad_value bad_values[] = {
	{"config: {greeting: hi, port: http}\n", 1, 30, "port"},
	{"config: {greeting: hi, port: 0}\n", 1, 30, "port"},
	{"config: {greeting: hi, port: 65536}\n", 1, 30, "port"},
	{"config: {greeting: hi, port: -1}\n", 1, 30, "port"},
	{"config: {greeting: hi, port: 80.5}\n", 1, 30, "port"},
	{"config: {greeting: hi, port: [80]}\n", 1, 30, "port"},
	{"config: {greeting: hi, verbose: maybe}\n", 1, 33, "verbose"},
	{"config: {greeting: hi, verbose: [true]}\n", 1, 33, "verbose"},
	{"config: {greeting: hi, tags: one}\n", 1, 30, "tags"},
	{"config: {greeting: hi, tags: {a: b}}\n", 1, 31, "tags"},
	{"config: {greeting: hi, root: [a]}\n", 1, 30, "root"},
	{"config: {greeting: [hi]}\n", 1, 20, "greeting"},
	{"config:\n  greeting: {text: hi}\n", 2, 14, "greeting"},
};

START_TEST(test_config_bad_value)
{
	const struct bad_value *row = &bad_values[_i];
	const struct diag *d;

	ck_assert_msg(check(row->text) == 1, "%s", row->text);
	d = diag_at(0, row->line, row->col);
	ck_assert_msg(strstr(d->message, row->mentions) != NULL,
	              "'%s' should mention '%s'", d->message, row->mentions);
}
END_TEST

/* The validate hook reports at the node it names. */
START_TEST(test_config_validate_hook)
{
	const struct diag *d;

	ck_assert_uint_eq(check("config:\n  port: 80\n  greeting: \"\"\n"), 1);
	d = diag_at(0, 3, 13);
	ck_assert_ptr_nonnull(strstr(d->message, "greeting"));
}
END_TEST

START_TEST(test_config_validate_too_long)
{
	ck_assert_uint_eq(check("config:\n  greeting: \"01234567890123456789"
	                        "01234567890123456789012345678901234567890"
	                        "1234\"\n"), 1);
	diag_at(0, 2, 13);
}
END_TEST

/* The hook runs only on a config the table found nothing wrong with. */
START_TEST(test_config_validate_after_table)
{
	ck_assert_uint_eq(check("config: {greeting: \"\", port: http}\n"), 1);
	ck_assert_ptr_nonnull(strstr(diag_at(0, 1, 30)->message, "port"));
}
END_TEST

/* Every problem of one config in one pass. */
START_TEST(test_config_all_at_once)
{
	ck_assert_uint_eq(check("config:\n  port: nope\n  verbose: 1\n"
	                        "  tag: [x]\n"), 4);
	ck_assert_uint_eq(dl.n, 4);
}
END_TEST

/* A provider without a key table takes no keys. */
START_TEST(test_config_no_table)
{
	const struct aster_provider *gw = registry_get(reg, "gateway", NULL);

	ck_assert_ptr_nonnull(gw);
	ck_assert_uint_eq(check_with(gw, "id: a\n"), 0);
	ck_assert_uint_eq(check_with(gw, "config: {}\n"), 0);
	ck_assert_uint_eq(check_with(gw, "config: {anything: 1}\n"), 1);
	diag_at(0, 1, 10);
}
END_TEST

START_TEST(test_host_table)
{
	const struct aster_host *h = provider_host();

	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(h->abi, ASTER_PROVIDER_ABI);
	ck_assert_ptr_nonnull(h->node_kind);
	ck_assert_ptr_nonnull(h->scalar);
	ck_assert_ptr_nonnull(h->map_get);
	ck_assert_ptr_nonnull(h->size);
	ck_assert_ptr_nonnull(h->map_key_at);
	ck_assert_ptr_nonnull(h->map_value_at);
	ck_assert_ptr_nonnull(h->seq_at);
	ck_assert_ptr_nonnull(h->resolve_path);
	ck_assert_ptr_nonnull(h->report);
	ck_assert_ptr_nonnull(h->started);
}
END_TEST

static Suite *
registry_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("registry");
	TCase *cc = tcase_create("check");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_get_testecho);
	tcase_add_test(tc, test_testecho_lifecycle);
	tcase_add_test(tc, test_builtin_gateway);
	tcase_add_test(tc, test_bad_abi);
	tcase_add_test(tc, test_no_symbol);
	tcase_add_test(tc, test_misnamed);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_name_with_slash);
	tcase_add_test(tc, test_path_list);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(cc, setup, teardown);
	tcase_add_test(cc, test_config_ok);
	tcase_add_test(cc, test_config_unknown_key);
	tcase_add_test(cc, test_config_unknown_key_far);
	tcase_add_test(cc, test_config_missing_required);
	tcase_add_test(cc, test_config_absent);
	tcase_add_loop_test(cc, test_config_bad_value, 0,
	                    (int)(sizeof(bad_values) / sizeof(bad_values[0])));
	tcase_add_test(cc, test_config_validate_hook);
	tcase_add_test(cc, test_config_validate_too_long);
	tcase_add_test(cc, test_config_validate_after_table);
	tcase_add_test(cc, test_config_all_at_once);
	tcase_add_test(cc, test_config_no_table);
	tcase_add_test(cc, test_host_table);
	suite_add_tcase(s, cc);
	return s;
}

UNIT_MAIN(registry_suite)
