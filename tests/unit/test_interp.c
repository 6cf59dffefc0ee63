/*
 * test_interp.c - ${NAME} and ${NAME:-default} expansion.
 *
 * check forks each test, so the setenv calls of one test never reach
 * another.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "config/interp.h"
#include "util/arena.h"

static struct arena *arena;

static void
setup(void)
{
	arena = arena_new();
	ck_assert_ptr_nonnull(arena);
	setenv("IT_SET", "value", 1);
	setenv("IT_EMPTY", "", 1);
	unsetenv("IT_UNSET");
}

static void
teardown(void)
{
	arena_free(arena);
	arena = NULL;
}

/* Expands in and checks the result is want (NUL-terminated, len set). */
static void
expect(const char *in, const char *want)
{
	const char *out = NULL, *problem = NULL;
	size_t outlen = 0;
	int unset = -1;

	ck_assert_msg(interp_expand(arena, in, strlen(in), &out, &outlen,
	              &problem, &unset) == 0, "'%s' failed: %s", in,
	              problem != NULL ? problem : "?");
	ck_assert_uint_eq(outlen, strlen(want));
	ck_assert_msg(memcmp(out, want, outlen) == 0 && out[outlen] == '\0',
	              "'%s' gave '%.*s', want '%s'", in, (int)outlen, out,
	              want);
}

static void
expect_fail(const char *in, const char *problem_want, int unset_want)
{
	const char *out = NULL, *problem = NULL;
	size_t outlen = 0;
	int unset = -1;

	ck_assert_msg(interp_expand(arena, in, strlen(in), &out, &outlen,
	              &problem, &unset) == -1, "'%s' should fail", in);
	ck_assert_ptr_nonnull(problem);
	ck_assert_str_eq(problem, problem_want);
	ck_assert_int_eq(unset, unset_want);
}

START_TEST(test_plain_text_untouched)
{
	static const char in[] = "no references here";
	const char *out, *problem;
	size_t outlen;
	int unset;

	ck_assert_int_eq(interp_expand(arena, in, strlen(in), &out, &outlen,
	                 &problem, &unset), 0);
	ck_assert_ptr_eq(out, in);
	ck_assert_uint_eq(outlen, strlen(in));
	expect("", "");
	expect("$", "$");
	expect("cost: $5", "cost: $5");
	expect("$HOME", "$HOME");
	expect("$$", "$$");
	expect("a}b", "a}b");
}
END_TEST

START_TEST(test_set_variable)
{
	expect("${IT_SET}", "value");
	expect("x${IT_SET}y", "xvaluey");
	expect("${IT_SET}/${IT_SET}", "value/value");
	expect("${IT_SET:-other}", "value");
	expect("${IT_EMPTY}", "");
	expect("[${IT_EMPTY}]", "[]");
}
END_TEST

START_TEST(test_default)
{
	expect("${IT_UNSET:-fallback}", "fallback");
	expect("${IT_UNSET:-}", "");
	expect("${IT_UNSET:-../var/run}/control.sock", "../var/run/control.sock");
	expect("${IT_UNSET:-a b:c-d$e}", "a b:c-d$e");
	/* As in sh, an empty value takes the default too. */
	expect("${IT_EMPTY:-fallback}", "fallback");
}
END_TEST

START_TEST(test_unset_without_default)
{
	expect_fail("${IT_UNSET}", "environment variable 'IT_UNSET' is not set",
	            1);
	expect_fail("ok ${IT_SET} then ${IT_UNSET} x",
	            "environment variable 'IT_UNSET' is not set", 1);
}
END_TEST

START_TEST(test_escape)
{
	expect("$${IT_SET}", "${IT_SET}");
	expect("a$${b", "a${b");
	expect("$${IT_UNSET}", "${IT_UNSET}");
	expect("$${IT_SET}${IT_SET}", "${IT_SET}value");
	expect("$$${IT_SET}", "$${IT_SET}");
}
END_TEST

START_TEST(test_malformed)
{
	static const char *const bad[] = {
		"${", "x ${", "${}", "${1A}", "${A", "${A-x}", "${A:x}",
		"${A:-x", "${A B}", "${-}", "${IT_UNSET:-${IT_SET}}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_fail(bad[i], "malformed ${...} reference", 0);
}
END_TEST

START_TEST(test_length_not_nul)
{
	/* The input is a slice: bytes past len are not read. */
	static const char in[] = "${IT_SET}${IT_UNSET}";
	const char *out, *problem;
	size_t outlen;
	int unset;

	ck_assert_int_eq(interp_expand(arena, in, 9, &out, &outlen, &problem,
	                 &unset), 0);
	ck_assert_str_eq(out, "value");
	ck_assert_int_eq(interp_expand(arena, in, 5, &out, &outlen, &problem,
	                 &unset), -1);
}
END_TEST

START_TEST(test_long_name_and_value)
{
	char name[300], ref[320], val[5000];

	memset(name, 'N', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	setenv(name, val, 1);
	snprintf(ref, sizeof(ref), "${%s}", name);
	expect(ref, val);
}
END_TEST

static Suite *
interp_suite(void)
{
	Suite *s = suite_create("interp");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_plain_text_untouched);
	tcase_add_test(tc, test_set_variable);
	tcase_add_test(tc, test_default);
	tcase_add_test(tc, test_unset_without_default);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_length_not_nul);
	tcase_add_test(tc, test_long_name_and_value);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(interp_suite)
