/*
 * unit.h - the little every unit test shares.
 *
 * A unit test is tests/unit/test_NAME.c, built by `make check` into
 * build/tests/unit/test_NAME and linked with libasterd.a and check. It
 * defines a function returning its Suite and ends with UNIT_MAIN:
 *
 *     #include "unit.h"
 *
 *     START_TEST(test_arena_grows) { ... } END_TEST
 *
 *     static Suite *arena_suite(void)
 *     {
 *         Suite *s = suite_create("arena");
 *         TCase *tc = tcase_create("core");
 *         tcase_add_test(tc, test_arena_grows);
 *         suite_add_tcase(s, tc);
 *         return s;
 *     }
 *
 *     UNIT_MAIN(arena_suite)
 *
 * `make check` runs the binaries from the top of the source tree with
 * ASTER_TEST_MODULES and ASTER_SRCDIR set (absolute paths); the helpers below
 * fall back to the same tree-relative paths so a binary run by hand from the
 * top of the tree works too.
 */
#ifndef ASTER_TESTS_UNIT_H
#define ASTER_TESTS_UNIT_H

#include <check.h>
#include <stdlib.h>

/* The directory holding the test-only providers built from
 * tests/providers/NAME/ (NAME.so): $ASTER_TEST_MODULES, else
 * "build/tests/modules". */
static inline const char *unit_test_modules_dir(void)
{
	const char *dir = getenv("ASTER_TEST_MODULES");

	return dir != NULL && *dir != '\0' ? dir : "build/tests/modules";
}

/* The top of the source tree, for fixtures such as tests/configs/:
 * $ASTER_SRCDIR, else ".". */
static inline const char *unit_srcdir(void)
{
	const char *dir = getenv("ASTER_SRCDIR");

	return dir != NULL && *dir != '\0' ? dir : ".";
}

/* Defines main(): runs the Suite returned by suite_fn() and exits with
 * EXIT_FAILURE if any test failed. Output is check's CK_NORMAL, with its
 * "100%: Checks: N, Failures: 0, Errors: 0" line; CK_VERBOSITY=verbose in
 * the environment lists every test (CK_ENV). */
#define UNIT_MAIN(suite_fn)                                          \
	int main(void)                                               \
	{                                                            \
		SRunner *unit_runner_ = srunner_create(suite_fn());  \
		int unit_failed_;                                    \
                                                                     \
		srunner_run_all(unit_runner_, CK_ENV);               \
		unit_failed_ = srunner_ntests_failed(unit_runner_);  \
		srunner_free(unit_runner_);                          \
		return unit_failed_ == 0 ? EXIT_SUCCESS : EXIT_FAILURE; \
	}

#endif
