/*
 * test_diag.c - diagnostics: the compiler-style text, the summary line,
 * the --format json document of SPEC §5, and their order.
 */
#include "unit.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

static const struct source dir_src = {"conf.d", "/etc/aster/conf.d"};
static const struct source billing = {"conf.d/modules/billing.yaml",
                                      "/etc/aster/conf.d/modules"};
static const struct source payments = {"conf.d/modules/payments.yaml",
                                       "/etc/aster/conf.d/modules"};
static const struct source product = {"conf.d/product.yaml",
                                      "/etc/aster/conf.d"};

static struct diag_list dl;
static char *buf;
static size_t buflen;

static void
setup(void)
{
	ck_assert_int_eq(diag_list_init(&dl), 0);
	buf = NULL;
	buflen = 0;
}

static void
teardown(void)
{
	diag_list_release(&dl);
	free(buf);
	buf = NULL;
}

static struct mark
at(const struct source *src, unsigned line, unsigned col)
{
	struct mark m = {src, line, col};

	return m;
}

/* Runs one renderer into buf. */
enum renderer { TEXT, SUMMARY, JSON };

static const char *
render(enum renderer which, const char *summary)
{
	FILE *out;

	free(buf);
	buf = NULL;
	out = open_memstream(&buf, &buflen);
	ck_assert_ptr_nonnull(out);
	switch (which) {
	case TEXT:
		diag_render_text(&dl, out);
		break;
	case SUMMARY:
		diag_render_summary(&dl, out);
		break;
	case JSON:
		diag_render_json(&dl, summary, out);
		break;
	}
	ck_assert_int_eq(fclose(out), 0);
	return buf;
}

/* The SPEC §5 example, exactly. */
START_TEST(test_text_spec_example)
{
	struct mark m = at(&billing, 12, 7), n = at(&payments, 1, 1);
	struct diag *d = diag_error(&dl, &m, "missing-dependency",
	    "module '%s' requires '%s', which is not defined", "billing",
	    "payment");

	diag_hint(&dl, d, "did you mean '%s'?", "payments");
	diag_note(&dl, d, &n, "'%s' is defined here", "payments");
	ck_assert_str_eq(render(TEXT, NULL),
	    "conf.d/modules/billing.yaml:12:7: error: module 'billing' "
	    "requires 'payment', which is not defined [missing-dependency]\n"
	    "  hint: did you mean 'payments'?\n"
	    "  note: conf.d/modules/payments.yaml:1:1: 'payments' is "
	    "defined here\n");
}
END_TEST

START_TEST(test_text_warning_and_notes)
{
	struct mark m = at(&product, 3, 5), n1 = at(&billing, 2, 1),
	            n2 = at(&payments, 4, 9);
	struct diag *d = diag_warning(&dl, &m, "unused-module", "unused");

	diag_note(&dl, d, &n1, "first");
	diag_note(&dl, d, &n2, "second");
	ck_assert_str_eq(render(TEXT, NULL),
	    "conf.d/product.yaml:3:5: warning: unused [unused-module]\n"
	    "  note: conf.d/modules/billing.yaml:2:1: first\n"
	    "  note: conf.d/modules/payments.yaml:4:9: second\n");
}
END_TEST

/* Line 0: the whole file or the config dir, no line:col. */
START_TEST(test_text_without_position)
{
	struct mark m = at(&dir_src, 0, 0);

	diag_error(&dl, &m, "no-product", "no product in '%s'", "conf.d");
	ck_assert_str_eq(render(TEXT, NULL),
	    "conf.d: error: no product in 'conf.d' [no-product]\n");
}
END_TEST

START_TEST(test_text_without_mark)
{
	diag_error(&dl, NULL, "yaml-syntax", "no file at all");
	ck_assert_str_eq(render(TEXT, NULL),
	                 "error: no file at all [yaml-syntax]\n");
	ck_assert_uint_eq(dl.items[0]->mark.line, 0);
}
END_TEST

START_TEST(test_counts)
{
	struct mark m = at(&product, 1, 1);

	diag_error(&dl, &m, "a", "x");
	diag_warning(&dl, &m, "b", "x");
	diag_error(&dl, &m, "c", "x");
	ck_assert_uint_eq(dl.n, 3);
	ck_assert_uint_eq(dl.errors, 2);
	ck_assert_uint_eq(dl.warnings, 1);
}
END_TEST

struct plural {
	size_t errors, warnings;
	const char *text;
};

static const struct plural plurals[] = {
	{0, 0, "0 errors, 0 warnings\n"},
	{1, 0, "1 error, 0 warnings\n"},
	{0, 1, "0 errors, 1 warning\n"},
	{1, 1, "1 error, 1 warning\n"},
	{2, 1, "2 errors, 1 warning\n"},
	{1, 2, "1 error, 2 warnings\n"},
	{12, 30, "12 errors, 30 warnings\n"},
};

START_TEST(test_summary_plurals)
{
	const struct plural *row = &plurals[_i];
	struct mark m = at(&product, 1, 1);
	size_t i;

	for (i = 0; i < row->errors; i++)
		diag_error(&dl, &m, "e", "error %zu", i);
	for (i = 0; i < row->warnings; i++)
		diag_warning(&dl, &m, "w", "warning %zu", i);
	ck_assert_str_eq(render(SUMMARY, NULL), row->text);
}
END_TEST

static json_object *
parse_json(const char *text)
{
	json_object *root = json_tokener_parse(text);

	ck_assert_msg(root != NULL, "not JSON: %s", text);
	ck_assert(json_object_is_type(root, json_type_object));
	return root;
}

static json_object *
member(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v),
	              "no member '%s' in %s", key,
	              json_object_to_json_string(o));
	return v;
}

START_TEST(test_json_fields)
{
	struct mark m = at(&billing, 12, 7), n = at(&payments, 1, 1);
	struct mark w = at(&product, 3, 5);
	struct diag *d = diag_error(&dl, &m, "missing-dependency",
	                            "requires 'payment'");
	json_object *root, *diags, *e, *notes, *note, *v;
	size_t len = 0;

	diag_hint(&dl, d, "did you mean 'payments'?");
	diag_note(&dl, d, &n, "'payments' is defined here");
	diag_warning(&dl, &w, "unused-module", "unused \"quoted\" / slash");
	render(JSON, NULL);
	len = strlen(buf);
	ck_assert_uint_gt(len, 0);
	ck_assert_msg(buf[len - 1] == '\n', "JSON must end with a newline");
	ck_assert_ptr_null(memchr(buf, '\n', len - 1));
	root = parse_json(buf);

	ck_assert(!json_object_get_boolean(member(root, "ok")));
	ck_assert_int_eq(json_object_get_int(member(root, "errors")), 1);
	ck_assert_int_eq(json_object_get_int(member(root, "warnings")), 1);
	ck_assert(!json_object_object_get_ex(root, "summary", &v));
	diags = member(root, "diagnostics");
	ck_assert(json_object_is_type(diags, json_type_array));
	ck_assert_uint_eq(json_object_array_length(diags), 2);

	e = json_object_array_get_idx(diags, 0);
	ck_assert_str_eq(json_object_get_string(member(e, "severity")),
	                 "error");
	ck_assert_str_eq(json_object_get_string(member(e, "code")),
	                 "missing-dependency");
	ck_assert_str_eq(json_object_get_string(member(e, "message")),
	                 "requires 'payment'");
	ck_assert_str_eq(json_object_get_string(member(e, "file")),
	                 "conf.d/modules/billing.yaml");
	ck_assert(json_object_is_type(member(e, "line"), json_type_int));
	ck_assert_int_eq(json_object_get_int(member(e, "line")), 12);
	ck_assert_int_eq(json_object_get_int(member(e, "column")), 7);
	ck_assert_str_eq(json_object_get_string(member(e, "hint")),
	                 "did you mean 'payments'?");
	notes = member(e, "notes");
	ck_assert(json_object_is_type(notes, json_type_array));
	ck_assert_uint_eq(json_object_array_length(notes), 1);
	note = json_object_array_get_idx(notes, 0);
	ck_assert_str_eq(json_object_get_string(member(note, "file")),
	                 "conf.d/modules/payments.yaml");
	ck_assert_int_eq(json_object_get_int(member(note, "line")), 1);
	ck_assert_int_eq(json_object_get_int(member(note, "column")), 1);
	ck_assert_str_eq(json_object_get_string(member(note, "message")),
	                 "'payments' is defined here");

	e = json_object_array_get_idx(diags, 1);
	ck_assert_str_eq(json_object_get_string(member(e, "severity")),
	                 "warning");
	ck_assert_str_eq(json_object_get_string(member(e, "message")),
	                 "unused \"quoted\" / slash");
	/* "hint"? : absent when there is none; notes always a list. */
	ck_assert(!json_object_object_get_ex(e, "hint", &v));
	ck_assert_uint_eq(json_object_array_length(member(e, "notes")), 0);
	json_object_put(root);
}
END_TEST

/* no-product: file is the config dir, line and column null. */
START_TEST(test_json_no_position)
{
	struct mark m = at(&dir_src, 0, 0);
	json_object *root, *e;

	diag_error(&dl, &m, "no-product", "no product");
	root = parse_json(render(JSON, NULL));
	e = json_object_array_get_idx(member(root, "diagnostics"), 0);
	ck_assert_str_eq(json_object_get_string(member(e, "file")), "conf.d");
	ck_assert(json_object_is_type(member(e, "line"), json_type_null));
	ck_assert(json_object_is_type(member(e, "column"), json_type_null));
	json_object_put(root);
}
END_TEST

START_TEST(test_json_ok_and_summary)
{
	struct mark m = at(&product, 2, 1);
	json_object *root;

	root = parse_json(render(JSON, "configuration ok: product 'a' 1.0.0, "
	                               "1 module, 1 route"));
	ck_assert(json_object_get_boolean(member(root, "ok")));
	ck_assert_int_eq(json_object_get_int(member(root, "errors")), 0);
	ck_assert_int_eq(json_object_get_int(member(root, "warnings")), 0);
	ck_assert_uint_eq(json_object_array_length(member(root,
	                  "diagnostics")), 0);
	ck_assert_str_eq(json_object_get_string(member(root, "summary")),
	                 "configuration ok: product 'a' 1.0.0, 1 module, "
	                 "1 route");
	json_object_put(root);

	/* Warnings alone keep ok true. */
	diag_warning(&dl, &m, "unknown-after", "x");
	root = parse_json(render(JSON, NULL));
	ck_assert(json_object_get_boolean(member(root, "ok")));
	ck_assert_int_eq(json_object_get_int(member(root, "warnings")), 1);
	json_object_put(root);
}
END_TEST

/* Reported out of order; sorted by file, line, column, then report
 * order for equal positions. */
START_TEST(test_sort)
{
	static const struct {
		const struct source *src;
		unsigned line, col;
		const char *code;
	} reports[] = {
		{&product, 9, 1, "p9"},
		{&billing, 12, 7, "b12-7-first"},
		{&payments, 1, 1, "pay1"},
		{&billing, 3, 20, "b3-20"},
		{&billing, 12, 7, "b12-7-second"},
		{&billing, 3, 5, "b3-5"},
		{&dir_src, 0, 0, "dir"},
		{&billing, 12, 2, "b12-2"},
		{&billing, 12, 7, "b12-7-third"},
	};
	static const char *const want[] = {
		"dir", "b3-5", "b3-20", "b12-2", "b12-7-first",
		"b12-7-second", "b12-7-third", "pay1", "p9",
	};
	size_t i;

	for (i = 0; i < sizeof(reports) / sizeof(reports[0]); i++) {
		struct mark m = at(reports[i].src, reports[i].line,
		                   reports[i].col);

		if (i % 2)
			diag_warning(&dl, &m, reports[i].code, "%zu", i);
		else
			diag_error(&dl, &m, reports[i].code, "%zu", i);
	}
	diag_sort(&dl);
	ck_assert_uint_eq(dl.n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < dl.n; i++)
		ck_assert_msg(strcmp(dl.items[i]->code, want[i]) == 0,
		              "position %zu: want %s, got %s", i, want[i],
		              dl.items[i]->code);
	/* Sorting moves diagnostics, not counts. */
	ck_assert_uint_eq(dl.errors, 5);
	ck_assert_uint_eq(dl.warnings, 4);
}
END_TEST

/* Sorting twice is sorting once. */
START_TEST(test_sort_stable)
{
	struct mark m = at(&product, 4, 4);
	size_t i;

	for (i = 0; i < 50; i++)
		diag_error(&dl, &m, "same", "%zu", i);
	diag_sort(&dl);
	diag_sort(&dl);
	for (i = 0; i < 50; i++) {
		char want[32];

		snprintf(want, sizeof(want), "%zu", i);
		ck_assert_str_eq(dl.items[i]->message, want);
	}
}
END_TEST

START_TEST(test_suggest)
{
	static const char *const names[] = {"requires", "displayName",
	                                    "version"};
	struct mark m = at(&billing, 1, 1);
	struct diag *near = diag_error(&dl, &m, "unknown-key", "a");
	struct diag *far = diag_error(&dl, &m, "unknown-key", "b");
	struct diag *same = diag_error(&dl, &m, "unknown-key", "c");

	diag_suggest(&dl, near, "requries", names, 3);
	diag_suggest(&dl, far, "colour", names, 3);
	diag_suggest(&dl, same, "version", names, 3);
	ck_assert_str_eq(near->hint, "did you mean 'requires'?");
	ck_assert_ptr_null(far->hint);
	ck_assert_ptr_null(same->hint);
	render(TEXT, NULL);
	ck_assert_ptr_nonnull(strstr(buf,
	    "[unknown-key]\n  hint: did you mean 'requires'?\n"));
}
END_TEST

/* Messages are formatted once, at report time, and owned by the list. */
START_TEST(test_message_is_copied)
{
	struct mark m = at(&billing, 1, 1);
	char name[16] = "first";

	diag_error(&dl, &m, "x", "module '%s'", name);
	strcpy(name, "changed");
	ck_assert_str_eq(dl.items[0]->message, "module 'first'");
}
END_TEST

static Suite *
diag_suite(void)
{
	Suite *s = suite_create("diag");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_text_spec_example);
	tcase_add_test(tc, test_text_warning_and_notes);
	tcase_add_test(tc, test_text_without_position);
	tcase_add_test(tc, test_text_without_mark);
	tcase_add_test(tc, test_counts);
	tcase_add_loop_test(tc, test_summary_plurals, 0,
	                    (int)(sizeof(plurals) / sizeof(plurals[0])));
	tcase_add_test(tc, test_json_fields);
	tcase_add_test(tc, test_json_no_position);
	tcase_add_test(tc, test_json_ok_and_summary);
	tcase_add_test(tc, test_sort);
	tcase_add_test(tc, test_sort_stable);
	tcase_add_test(tc, test_suggest);
	tcase_add_test(tc, test_message_is_copied);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(diag_suite)
