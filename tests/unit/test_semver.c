/*
 * test_semver.c - SemVer 2.0.0 parsing and precedence, npm ranges.
 *
 * Table-driven: each table row is one loop iteration, so a failure names
 * its row. Range desugaring is checked by equivalence: a range and the
 * comparators node-semver rewrites it to must agree on every version of a
 * probe grid dense enough to hit each bound and its prereleases.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "config/semver.h"
#include "util/arena.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct arena *arena;

static void
setup(void)
{
	arena = arena_new();
	ck_assert_ptr_nonnull(arena);
}

static void
teardown(void)
{
	arena_free(arena);
	arena = NULL;
}

static struct semver
must_parse(const char *s)
{
	struct semver v;

	ck_assert_msg(semver_parse(arena, s, &v) == 0, "'%s' should parse", s);
	return v;
}

static struct semver_range *
must_range(const char *s)
{
	const char *err = NULL;
	struct semver_range *r = semver_range_parse(arena, s, &err);

	ck_assert_msg(r != NULL, "range '%s' should parse: %s", s,
	              err != NULL ? err : "(no message)");
	return r;
}

static int
sign(int c)
{
	return (c > 0) - (c < 0);
}

/* --- versions ---------------------------------------------------------- */

static const struct version_case {
	const char *s;
	uint64_t major, minor, patch;
	const char *pre, *build;
} valid_versions[] = {
	{ "0.0.0", 0, 0, 0, NULL, NULL },
	{ "1.2.3", 1, 2, 3, NULL, NULL },
	{ "10.20.30", 10, 20, 30, NULL, NULL },
	{ "1.0.0-alpha", 1, 0, 0, "alpha", NULL },
	{ "1.0.0-alpha.1", 1, 0, 0, "alpha.1", NULL },
	{ "1.0.0-0.3.7", 1, 0, 0, "0.3.7", NULL },
	{ "1.0.0-x.7.z.92", 1, 0, 0, "x.7.z.92", NULL },
	{ "1.0.0-x-y-z.--", 1, 0, 0, "x-y-z.--", NULL },
	{ "1.0.0-0A.is.legal", 1, 0, 0, "0A.is.legal", NULL },
	{ "1.0.0-alpha.0valid", 1, 0, 0, "alpha.0valid", NULL },
	{ "1.0.0+20130313144700", 1, 0, 0, NULL, "20130313144700" },
	{ "1.0.0-beta+exp.sha.5114f85", 1, 0, 0, "beta", "exp.sha.5114f85" },
	{ "1.0.0+21AF26D3----117B344092BD", 1, 0, 0, NULL,
	  "21AF26D3----117B344092BD" },
	{ "1.0.0+0.build.1-rc.10000aaa-kk-0.1", 1, 0, 0, NULL,
	  "0.build.1-rc.10000aaa-kk-0.1" },
	{ "2.0.0+build.0001", 2, 0, 0, NULL, "build.0001" },
	{ "1.2.3----RC-SNAPSHOT.12.9.1--.12+788", 1, 2, 3,
	  "---RC-SNAPSHOT.12.9.1--.12", "788" },
	{ "1.0.0-99999999999999999999999", 1, 0, 0,
	  "99999999999999999999999", NULL },
	{ "18446744073709551615.18446744073709551615.18446744073709551615",
	  UINT64_MAX, UINT64_MAX, UINT64_MAX, NULL, NULL },
};

START_TEST(test_parse_valid)
{
	const struct version_case *t = &valid_versions[_i];
	struct semver v = must_parse(t->s);

	ck_assert_msg(v.major == t->major && v.minor == t->minor &&
	              v.patch == t->patch, "'%s' numbers", t->s);
	if (t->pre == NULL)
		ck_assert_ptr_null(v.pre);
	else
		ck_assert_str_eq(v.pre, t->pre);
	if (t->build == NULL)
		ck_assert_ptr_null(v.build);
	else
		ck_assert_str_eq(v.build, t->build);
}
END_TEST

static const char *const invalid_versions[] = {
	"",
	"1",
	"1.2",
	"1.2.3.4",
	"01.2.3",
	"1.02.3",
	"1.2.03",
	"00.0.0",
	"1.2.3-",
	"1.2.3+",
	"1.2.3-01",
	"1.2.3-alpha.01",
	"1.2.3-00",
	"1.2.3-alpha..1",
	"1.2.3-alpha.",
	"1.2.3+build..1",
	"1.2.3+a+b",
	"1.2.3-+",
	"1.2.3-alpha_1",
	"1.2.3-\xc3\xa9",
	"v1.2.3",
	"=1.2.3",
	" 1.2.3",
	"1.2.3 ",
	"1.2.x",
	"1.2.*",
	"*",
	"-1.2.3",
	"1.-2.3",
	"+1.2.3",
	"1.2-SNAPSHOT",
	"1.2.3.DEV",
	"alpha",
	"1..3",
	"18446744073709551616.0.0",
	"0.18446744073709551616.0",
	"99999999999999999999999.999999999999999999.99999999999999999",
};

START_TEST(test_parse_invalid)
{
	struct semver v;

	ck_assert_msg(semver_parse(arena, invalid_versions[_i], &v) == -1,
	              "'%s' should be rejected", invalid_versions[_i]);
}
END_TEST

START_TEST(test_parse_null)
{
	struct semver v;

	ck_assert_int_eq(semver_parse(arena, NULL, &v), -1);
}
END_TEST

/* The precedence example of SemVer 2.0.0 item 11, lowest first. */
static const char *const spec_chain[] = {
	"1.0.0-alpha",
	"1.0.0-alpha.1",
	"1.0.0-alpha.beta",
	"1.0.0-beta",
	"1.0.0-beta.2",
	"1.0.0-beta.11",
	"1.0.0-rc.1",
	"1.0.0",
	"2.0.0",
	"2.1.0",
	"2.1.1",
};

START_TEST(test_spec_chain)
{
	size_t j;
	struct semver a = must_parse(spec_chain[_i]), b;

	for (j = 0; j < NELEM(spec_chain); j++) {
		int want = _i < (int)j ? -1 : _i > (int)j;

		b = must_parse(spec_chain[j]);
		ck_assert_msg(sign(semver_compare(&a, &b)) == want,
		              "%s vs %s: want %d", spec_chain[_i],
		              spec_chain[j], want);
	}
}
END_TEST

static const struct {
	const char *a, *b;
	int want;
} compares[] = {
	{ "1.2.3", "1.2.3", 0 },
	{ "1.2.3+a", "1.2.3+b", 0 },
	{ "1.2.3-rc.1+a", "1.2.3-rc.1", 0 },
	{ "1.2.3", "1.2.4", -1 },
	{ "1.2.3", "1.3.0", -1 },
	{ "1.9.9", "2.0.0", -1 },
	{ "0.0.9", "0.0.10", -1 },
	{ "1.10.0", "1.9.0", 1 },
	{ "1.2.3-0", "1.2.3", -1 },
	{ "1.2.3-2", "1.2.3-10", -1 },
	{ "1.2.3-0", "1.2.3-a", -1 },
	{ "1.2.3-99", "1.2.3--", -1 },
	{ "1.2.3-a10", "1.2.3-a9", -1 },
	{ "1.2.3-B", "1.2.3-a", -1 },
	{ "1.2.3-alpha", "1.2.3-alpha.0", -1 },
	{ "1.2.3-alpha.1.1", "1.2.3-alpha.1", 1 },
	{ "1.2.3-beta", "1.2.3-alpha.9", 1 },
	{ "1.2.3-18446744073709551615", "1.2.3-99999999999999999999999", -1 },
	{ "1.2.3-99999999999999999999998", "1.2.3-99999999999999999999999",
	  -1 },
	{ "18446744073709551615.0.0", "18446744073709551614.9.9", 1 },
};

START_TEST(test_compare)
{
	struct semver a = must_parse(compares[_i].a);
	struct semver b = must_parse(compares[_i].b);

	ck_assert_msg(sign(semver_compare(&a, &b)) == compares[_i].want,
	              "%s vs %s", compares[_i].a, compares[_i].b);
	ck_assert_msg(sign(semver_compare(&b, &a)) == -compares[_i].want,
	              "%s vs %s (reversed)", compares[_i].b, compares[_i].a);
}
END_TEST

/* --- ranges: satisfies ------------------------------------------------- */

static const struct {
	const char *range, *version;
	int want;
} satisfies[] = {
	/* primitives, with and without space after the operator */
	{ "1.0.0", "1.0.0", 1 },
	{ "1.0.0", "1.0.1", 0 },
	{ "=1.0.0", "1.0.0", 1 },
	{ "=1.0.0+build", "1.0.0+other", 1 },
	{ "v1.0.0", "1.0.0", 1 },
	{ "=v1.0.0", "1.0.0", 1 },
	{ ">=1.0.0", "1.0.0", 1 },
	{ ">=1.0.0", "1.1.0", 1 },
	{ ">=1.0.0", "0.1.0", 0 },
	{ ">1.0.0", "1.0.1", 1 },
	{ ">1.0.0", "1.0.0", 0 },
	{ "<=2.0.0", "2.0.0", 1 },
	{ "<=2.0.0", "0.2.9", 1 },
	{ "<=2.0.0", "2.0.1", 0 },
	{ "<2.0.0", "1.9999.9999", 1 },
	{ "<2.0.0", "2.0.0", 0 },
	{ ">= 1.0.0", "1.0.0", 1 },
	{ ">=  1.0.0", "1.0.1", 1 },
	{ ">   1.0.0", "1.0.1", 1 },
	{ "<=   2.0.0", "2.0.0", 1 },
	{ "<    2.0.0", "0.2.9", 1 },
	{ "> 1.0.0 < 2", "1.5.0", 1 },
	{ ">=v1.0.0", "1.0.0", 1 },
	/* AND and OR */
	{ ">=1.2.3 <2.0.0", "1.9.9", 1 },
	{ ">=1.2.3 <2.0.0", "2.0.0", 0 },
	{ ">=1.2.3 <2.0.0", "1.2.2", 0 },
	{ "0.1.20 || 1.2.4", "1.2.4", 1 },
	{ "0.1.20 || 1.2.4", "1.2.3", 0 },
	{ "0.1.20||1.2.4", "0.1.20", 1 },
	{ ">=0.2.3 || <0.0.1", "0.0.0", 1 },
	{ ">=0.2.3 || <0.0.1", "0.2.4", 1 },
	{ ">=0.2.3 || <0.0.1", "0.0.3", 0 },
	{ "~1.2.1 >=1.2.3 1.2.3", "1.2.3", 1 },
	{ "1.2.3 >=1.2.1", "1.2.3", 1 },
	{ "\t>=1.2.3\n<2 ", "1.5.0", 1 },
	{ "||", "1.3.4", 1 },
	{ "1.2.3 ||", "9.9.9", 1 },
	/* x-ranges and partial versions */
	{ "", "1.0.0", 1 },
	{ "*", "1.2.3", 1 },
	{ "x", "0.0.0", 1 },
	{ "X", "99.0.0", 1 },
	{ ">=*", "0.2.4", 1 },
	{ "<*", "0.0.0", 0 },
	{ ">x", "1.0.0", 0 },
	{ "2.x.x", "2.1.3", 1 },
	{ "2.x.x", "3.1.3", 0 },
	{ "1.2.x", "1.2.3", 1 },
	{ "1.2.x", "1.3.3", 0 },
	{ "1.2.x || 2.x", "2.1.3", 1 },
	{ "1.2.x || 2.x", "1.1.3", 0 },
	{ "2.*.*", "2.1.3", 1 },
	{ "1.2.*", "1.2.3", 1 },
	{ "2", "2.1.2", 1 },
	{ "2", "1.1.2", 0 },
	{ "2.3", "2.3.1", 1 },
	{ "2.3", "2.4.1", 0 },
	{ "1.x.3", "1.5.0", 1 },
	{ ">1.2", "1.3.0", 1 },
	{ ">1.2", "1.2.8", 0 },
	{ ">=1.2", "1.2.0", 1 },
	{ "<1.2", "1.1.9", 1 },
	{ "<1.2", "1.2.0", 0 },
	{ "<=1.2", "1.2.9", 1 },
	{ "<=1.2", "1.3.0", 0 },
	{ ">1", "2.0.0", 1 },
	{ ">1", "1.9.9", 0 },
	{ "<1", "1.0.0", 0 },
	{ "<=7.x", "7.9.9", 1 },
	{ "=0.7.x", "0.7.2", 1 },
	{ "=0.7.x", "0.8.2", 0 },
	{ "<0.7.x", "0.7.2", 0 },
	{ ">=0.7.x", "0.6.2", 0 },
	/* hyphen ranges */
	{ "1.0.0 - 2.0.0", "1.2.3", 1 },
	{ "1.0.0 - 2.0.0", "2.0.0", 1 },
	{ "1.0.0 - 2.0.0", "2.2.3", 0 },
	{ "1.2 - 2.3.4", "1.2.0", 1 },
	{ "1.2 - 2.3.4", "1.1.9", 0 },
	{ "1.2 - 2.3.4", "2.3.5", 0 },
	{ "1.2.3 - 2.3", "2.3.9", 1 },
	{ "1.2.3 - 2.3", "2.4.0", 0 },
	{ "1.2.3 - 2", "2.9.9", 1 },
	{ "1.2.3 - 2", "3.0.0", 0 },
	{ "x - 1.0.0", "0.9.7", 1 },
	{ "x - 1.0.0", "1.0.1", 0 },
	{ "1.0.0 - x", "9.9.7", 1 },
	{ "v1.2.3 - v2.0.0", "2.0.0", 1 },
	{ "1.2.3+asdf - 2.4.3+asdf", "1.2.3", 1 },
	{ "1.2.3-pre+asdf - 2.4.3-pre+asdf", "1.2.3-pre.2", 1 },
	{ "1.2.3-pre+asdf - 2.4.3-pre+asdf", "2.4.3-alpha", 1 },
	{ "1.2.3+asdf - 2.4.3+asdf", "1.2.3-pre.2", 0 },
	{ "1.2.3 - 2.3.4-rc.1", "2.3.4-rc.0", 1 },
	{ "1.2.3 - 2.3.4-rc.1", "2.3.4", 0 },
	/* tilde */
	{ "~1.2.3", "1.2.3", 1 },
	{ "~1.2.3", "1.2.9", 1 },
	{ "~1.2.3", "1.3.0", 0 },
	{ "~1.2.3", "1.2.2", 0 },
	{ "~1.2", "1.2.9", 1 },
	{ "~1.2", "1.3.0", 0 },
	{ "~1", "1.9.9", 1 },
	{ "~1", "2.0.0", 0 },
	{ "~0.2.3", "0.2.9", 1 },
	{ "~0.2.3", "0.3.0", 0 },
	{ "~0.0.1", "0.0.2", 1 },
	{ "~0.0.1", "0.1.0", 0 },
	{ "~x", "0.0.9", 1 },
	{ "~>3.2.1", "3.2.2", 1 },
	{ "~>3.2.1", "3.3.2", 0 },
	{ "~> 1", "1.2.3", 1 },
	{ "~ 1.0", "1.0.2", 1 },
	{ "~1.2.3-beta.2", "1.2.3-beta.4", 1 },
	{ "~1.2.3-beta.2", "1.2.3-beta.1", 0 },
	{ "~1.2.3-beta.2", "1.2.4-beta.2", 0 },
	{ "~1.2.3-beta.2", "1.2.9", 1 },
	{ "~v0.5.4-pre", "0.5.4", 1 },
	{ "~v0.5.4-beta", "0.5.4-alpha", 0 },
	/* caret */
	{ "^1.2.3", "1.8.1", 1 },
	{ "^1.2.3", "1.2.2", 0 },
	{ "^1.2.3", "2.0.0", 0 },
	{ "^1.2.3+build", "1.3.0", 1 },
	{ "^0.2.3", "0.2.9", 1 },
	{ "^0.2.3", "0.3.0", 0 },
	{ "^0.0.3", "0.0.3", 1 },
	{ "^0.0.3", "0.0.4", 0 },
	{ "^0.1", "0.1.2", 1 },
	{ "^1.2", "1.4.2", 1 },
	{ "^1.2 ^1", "1.4.2", 1 },
	{ "^1.2", "1.1.9", 0 },
	{ "^0.0.x", "0.0.5", 1 },
	{ "^0.0.x", "0.1.0", 0 },
	{ "^0.0", "0.0.9", 1 },
	{ "^0.0", "0.1.0", 0 },
	{ "^1.x", "1.9.9", 1 },
	{ "^1.x", "2.0.0", 0 },
	{ "^0.x", "0.9.9", 1 },
	{ "^0.x", "1.0.0", 0 },
	{ "^x", "1.2.3", 1 },
	{ "^ 1.2.3", "1.2.4", 1 },
	{ "^1.2.3-beta.2", "1.2.3-beta.4", 1 },
	{ "^1.2.3-beta.2", "1.2.4-beta.2", 0 },
	{ "^1.2.3-beta.2", "1.9.9", 1 },
	{ "^1.2.3-alpha", "1.2.3-pre", 1 },
	{ "^0.0.1-alpha", "0.0.1-beta", 1 },
	{ "^0.0.1-alpha", "0.0.1", 1 },
	{ "^0.1.1-alpha", "0.1.1-beta", 1 },
	/* prereleases need a comparator naming their own major.minor.patch */
	{ "*", "1.2.3-foo", 0 },
	{ "", "1.0.0-rc.1", 0 },
	{ "^1.2.3", "1.2.3-pre", 0 },
	{ "^1.2.3", "2.0.0-alpha", 0 },
	{ "^1.2", "1.2.0-pre", 0 },
	{ ">1.2", "1.3.0-beta", 0 },
	{ "<=1.2.3", "1.2.3-beta", 0 },
	{ "<1.2.3", "1.2.3-beta", 0 },
	{ "=1.2.3", "1.2.3-beta", 0 },
	{ "=0.7.x", "0.7.0-asdf", 0 },
	{ "<=0.7.x", "0.7.0-asdf", 0 },
	{ "^1.0.0", "1.0.0-rc1", 0 },
	{ "^1.0.0", "1.1.0-rc1", 0 },
	{ "^1.0.0-0", "1.0.1-rc1", 0 },
	{ "^1.0.0-rc2", "1.0.1-rc1", 0 },
	{ "^1.0.0-rc2", "1.0.0-rc3", 1 },
	{ "1 - 2", "2.0.0-pre", 0 },
	{ "1.x", "1.0.0-a", 0 },
	{ ">=1.0.0 <1.1.0", "1.1.0-pre", 0 },
	{ ">=1.0.0 <1.1.0-pre", "1.1.0-alpha", 1 },
	{ ">=1.0.0-rc.1 <1.1.0", "1.0.0-rc.2", 1 },
	{ "<1.1.0-pre >=1.0.0", "1.1.0-alpha", 1 },
	{ "1.2.3-beta.1 || 1.3.0-rc.1", "1.3.0-rc.1", 1 },
	{ ">1.2.3-alpha.3", "1.2.3-alpha.7", 1 },
	{ ">1.2.3-alpha.3", "3.4.5-alpha.9", 0 },
	{ ">1.2.3-alpha.3", "3.4.5", 1 },
	{ "1.2.3-0", "1.2.3-0", 1 },
	/* "-0" upper bounds keep out prereleases of the next version */
	{ "<1.2 >=1.2.0-alpha", "1.2.0-beta", 0 },
	{ "<=1.2 >=1.3.0-alpha", "1.3.0-beta", 0 },
	{ "^1.2.3 || >=2.0.0-alpha <2.0.0", "2.0.0-beta", 1 },
	{ "^1.2.3 >=2.0.0-alpha", "2.0.0-beta", 0 },
	{ "~1.2.3 >=1.3.0-alpha", "1.3.0-beta", 0 },
	{ "<=2 >=3.0.0-alpha", "3.0.0-beta", 0 },
	{ ">=1.2.3-99999999999999999999999", "1.2.3-100000000000000000000000",
	  1 },
};

START_TEST(test_satisfies)
{
	struct semver_range *r = must_range(satisfies[_i].range);
	struct semver v = must_parse(satisfies[_i].version);

	ck_assert_msg(semver_satisfies(r, &v) == satisfies[_i].want,
	              "'%s' %s '%s'", satisfies[_i].version,
	              satisfies[_i].want ? "should satisfy" :
	              "should not satisfy", satisfies[_i].range);
}
END_TEST

/* --- ranges: desugaring, checked by equivalence ------------------------ */

/*
 * Each range with the comparators node-semver turns it into; "" and "*"
 * mean any version. A range with a prerelease only matches prereleases of
 * the same major.minor.patch, so the desugared form carries its own.
 */
static const struct {
	const char *range, *desugared;
} equivalents[] = {
	{ "*", "" },
	{ "x", "" },
	{ "X", "" },
	{ "x.x.x", "" },
	{ ">=0.0.0", "" },
	{ ">=*", "" },
	{ "<=*", "" },
	{ "~*", "" },
	{ "^*", "" },
	{ "* - *", "" },
	{ "<*", "<0.0.0-0" },
	{ ">*", "<0.0.0-0" },
	{ "1", ">=1.0.0 <2.0.0-0" },
	{ "1.x", ">=1.0.0 <2.0.0-0" },
	{ "1.*.*", ">=1.0.0 <2.0.0-0" },
	{ "1.x.3", ">=1.0.0 <2.0.0-0" },
	{ "1.2", ">=1.2.0 <1.3.0-0" },
	{ "=1.2", ">=1.2.0 <1.3.0-0" },
	{ "1.2.x", ">=1.2.0 <1.3.0-0" },
	{ "1.2.X", ">=1.2.0 <1.3.0-0" },
	{ "1.2.*", ">=1.2.0 <1.3.0-0" },
	{ "1.2.x-beta+build", ">=1.2.0 <1.3.0-0" },
	{ ">1.2", ">=1.3.0" },
	{ ">1", ">=2.0.0" },
	{ ">=1.2", ">=1.2.0" },
	{ "<1.2", "<1.2.0-0" },
	{ "<1", "<1.0.0-0" },
	{ "<=1.2", "<1.3.0-0" },
	{ "<=1", "<2.0.0-0" },
	{ "<=1.2.x", "<1.3.0-0" },
	{ ">1.x.x", ">=2.0.0" },
	{ "1.2 - 2.3.4", ">=1.2.0 <=2.3.4" },
	{ "1.2.3 - 2.3", ">=1.2.3 <2.4.0-0" },
	{ "1.2.3 - 2", ">=1.2.3 <3.0.0-0" },
	{ "1 - 2", ">=1.0.0 <3.0.0-0" },
	{ "* - 2", "<3.0.0-0" },
	{ "1.2.3 - *", ">=1.2.3" },
	{ "1.2.3-beta - 2.3.4-rc.1", ">=1.2.3-beta <=2.3.4-rc.1" },
	{ "~1.2.3", ">=1.2.3 <1.3.0-0" },
	{ "~1.2", ">=1.2.0 <1.3.0-0" },
	{ "~1", ">=1.0.0 <2.0.0-0" },
	{ "~1.x", ">=1.0.0 <2.0.0-0" },
	{ "~0.2.3", ">=0.2.3 <0.3.0-0" },
	{ "~0.0.3", ">=0.0.3 <0.1.0-0" },
	{ "~1.2.3-beta.2", ">=1.2.3-beta.2 <1.3.0-0" },
	{ "~>1.2.3", ">=1.2.3 <1.3.0-0" },
	{ "~ 1.2.3", ">=1.2.3 <1.3.0-0" },
	{ "~> 1.2", ">=1.2.0 <1.3.0-0" },
	{ "^1.2.3", ">=1.2.3 <2.0.0-0" },
	{ "^0.2.3", ">=0.2.3 <0.3.0-0" },
	{ "^0.0.3", ">=0.0.3 <0.0.4-0" },
	{ "^0.0.0", ">=0.0.0 <0.0.1-0" },
	{ "^1.2.3-beta.2", ">=1.2.3-beta.2 <2.0.0-0" },
	{ "^0.1.2-beta", ">=0.1.2-beta <0.2.0-0" },
	{ "^0.0.1-beta", ">=0.0.1-beta <0.0.2-0" },
	{ "^0.0.x", ">=0.0.0 <0.1.0-0" },
	{ "^0.0", ">=0.0.0 <0.1.0-0" },
	{ "^0.x", ">=0.0.0 <1.0.0-0" },
	{ "^0", ">=0.0.0 <1.0.0-0" },
	{ "^1.x", ">=1.0.0 <2.0.0-0" },
	{ "^1.2", ">=1.2.0 <2.0.0-0" },
	{ "^1.2.x", ">=1.2.0 <2.0.0-0" },
	{ "^ 1.2.3", ">=1.2.3 <2.0.0-0" },
	{ ">= 1.2.3", ">=1.2.3" },
	{ "< 1.2.3 > 1.0.0", "<1.2.3 >1.0.0" },
	{ "v1.2.3", "1.2.3" },
	{ "=1.2.3", "1.2.3" },
	{ "=v1.2.3", "1.2.3" },
	{ "1.2.3+build", "1.2.3" },
	{ "1.2.3||2.0.0", "1.2.3 || 2.0.0" },
	{ "  1.2.3   ||   2.0.0  ", "1.2.3 || 2.0.0" },
	{ "^1.2 || ~0.1", ">=1.2.0 <2.0.0-0 || >=0.1.0 <0.2.0-0" },
};

/* Every M.m.p up to 4.4.5, bare and with a few prerelease tags. */
static const char *const probe_pre[] = {
	NULL, "0", "beta", "beta.2", "beta.4", "rc.1",
};

START_TEST(test_equivalent)
{
	struct semver_range *a = must_range(equivalents[_i].range);
	struct semver_range *b = must_range(equivalents[_i].desugared);
	struct semver v;
	uint64_t M, m, p;
	size_t k;

	for (M = 0; M <= 4; M++)
		for (m = 0; m <= 4; m++)
			for (p = 0; p <= 5; p++)
				for (k = 0; k < NELEM(probe_pre); k++) {
					v = (struct semver){ M, m, p,
					    probe_pre[k], NULL };
					ck_assert_msg(semver_satisfies(a, &v) ==
					    semver_satisfies(b, &v),
					    "'%s' and '%s' disagree on "
					    "%llu.%llu.%llu%s%s",
					    equivalents[_i].range,
					    equivalents[_i].desugared,
					    (unsigned long long)M,
					    (unsigned long long)m,
					    (unsigned long long)p,
					    probe_pre[k] ? "-" : "",
					    probe_pre[k] ? probe_pre[k] : "");
				}
}
END_TEST

/* --- ranges: errors ---------------------------------------------------- */

static const struct {
	const char *range, *err;
} invalid_ranges[] = {
	{ "1.2.3.4", "invalid version '1.2.3.4' in range" },
	{ ">=1.2.3 1.2.3.4", "invalid version '1.2.3.4' in range" },
	{ "1.2-beta", "invalid version '1.2-beta' in range" },
	{ "1.2.", "invalid version '1.2.' in range" },
	{ "x.y.z", "invalid version 'x.y.z' in range" },
	{ "blerg", "invalid version 'blerg' in range" },
	{ "v", "invalid version 'v' in range" },
	{ "1.2.3+a+b", "invalid version '1.2.3+a+b' in range" },
	{ "01.2.3", "leading zero in a numeric part" },
	{ "^1.02", "leading zero in a numeric part" },
	{ "1.2.3-01", "leading zero in a numeric prerelease identifier" },
	{ "^1.2.3-", "empty identifier" },
	{ "1.2.3-beta..1", "empty identifier" },
	{ "1.2.3+", "empty identifier" },
	{ "18446744073709551616", "number too large" },
	{ "^18446744073709551615.0.0", "number too large" },
	{ ">1.18446744073709551615", "number too large" },
	{ "<=18446744073709551615", "number too large" },
	{ "1.2.3 - 18446744073709551615.x", "number too large" },
	{ ">=1.2.3 && <2", "unexpected '&'" },
	{ ">=1.0.0, <2.0.0", "unexpected ','" },
	{ "git+https://user:pw@github.com/foo", "unexpected ':'" },
	{ "1.2.3\x01", "unexpected byte 0x01" },
	{ "1.2.3 | 2", "unexpected '|'" },
	{ "1.2.3 ||| 2", "unexpected '|'" },
	{ ">=>1.2.3", "unexpected '>'" },
	{ "==1.2.3", "unexpected '='" },
	{ "~^1.2.3", "unexpected '^'" },
	{ "=1.2.3 - 2", "unexpected '='" },
	{ ">=", "operator '>=' without a version" },
	{ "1.2.3 <", "operator '<' without a version" },
	{ "~", "operator '~' without a version" },
	{ "^ ", "operator '^' without a version" },
	{ "~>", "operator '~>' without a version" },
	{ "1.2.3 -", "unexpected '-'" },
	{ "- 1.2.3", "unexpected '-'" },
	{ "1.2.3 - 2.3.4 - 3", "unexpected '-'" },
	{ "1.2.3 - 2.3.4 >1", "unexpected '-'" },
	{ "1.2.3 -2", "unexpected '-'" },
	{ ">=1 - 2", "unexpected '>'" },
	{ "1.2.3 || 1.2.3.4", "invalid version '1.2.3.4' in range" },
};

START_TEST(test_invalid_range)
{
	const char *err = NULL;
	struct semver_range *r;

	r = semver_range_parse(arena, invalid_ranges[_i].range, &err);
	ck_assert_msg(r == NULL, "range '%s' should be rejected",
	              invalid_ranges[_i].range);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, invalid_ranges[_i].err) != NULL,
	              "range '%s': error '%s' should contain '%s'",
	              invalid_ranges[_i].range, err, invalid_ranges[_i].err);
}
END_TEST

START_TEST(test_range_null_err)
{
	ck_assert_ptr_null(semver_range_parse(arena, "1.2.3.4", NULL));
	ck_assert_ptr_null(semver_range_parse(arena, NULL, NULL));
}
END_TEST

START_TEST(test_range_exact_message)
{
	const char *err = NULL;

	ck_assert_ptr_null(semver_range_parse(arena, "1.2.3.4", &err));
	ck_assert_str_eq(err, "invalid version '1.2.3.4' in range");
	ck_assert_ptr_null(semver_range_parse(arena, "1 & 2", &err));
	ck_assert_str_eq(err, "unexpected '&'");
}
END_TEST

static Suite *
semver_suite(void)
{
	Suite *s = suite_create("semver");
	TCase *tc;

	tc = tcase_create("versions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_parse_valid, 0, NELEM(valid_versions));
	tcase_add_loop_test(tc, test_parse_invalid, 0,
	                    NELEM(invalid_versions));
	tcase_add_test(tc, test_parse_null);
	tcase_add_loop_test(tc, test_spec_chain, 0, NELEM(spec_chain));
	tcase_add_loop_test(tc, test_compare, 0, NELEM(compares));
	suite_add_tcase(s, tc);

	tc = tcase_create("ranges");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_satisfies, 0, NELEM(satisfies));
	tcase_add_loop_test(tc, test_equivalent, 0, NELEM(equivalents));
	tcase_add_loop_test(tc, test_invalid_range, 0, NELEM(invalid_ranges));
	tcase_add_test(tc, test_range_null_err);
	tcase_add_test(tc, test_range_exact_message);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(semver_suite)
