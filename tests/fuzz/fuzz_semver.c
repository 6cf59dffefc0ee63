/*
 * fuzz_semver.c - libFuzzer target for semantic versions and npm ranges
 * (src/config/semver.h).
 *
 * The input is cut at its first newline into two strings (a NUL ends
 * either early, as it would in a YAML scalar's C string). Each is parsed
 * as a version and as a range. A version that parses must print back to
 * exactly its text (the parser is strict: one spelling per version),
 * parse again to the same fields, compare equal to itself, and compare
 * with every probe version in the opposite sense to the probe's compare
 * with it. A range that parses is asked whether each probe, and each
 * version of the input, satisfies it (answers are 0 or 1); one that does
 * not gives a non-empty message. Everything lives in one arena per input.
 *
 * Seeds (tests/fuzz/seeds/semver/) are the versions and ranges of
 * tests/unit/test_semver.c, and its "range\nversion" satisfies cases.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/semver.h"
#include "util/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_semver: %s:%d: broken: %s\n", \
		        __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* Versions every range is asked about: bounds, prereleases, big parts. */
static const char *const probes[] = {
	"0.0.0", "0.0.0-0", "0.0.1", "0.1.0", "1.0.0", "1.0.0-0",
	"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-rc.1+b", "1.2.3", "1.2.3-beta.2",
	"1.2.4", "2.0.0", "2.0.0-0", "10.20.30",
	"18446744073709551615.18446744073709551615.18446744073709551615",
};

#define NPROBES (sizeof(probes) / sizeof(probes[0]))

static int
sign(int v)
{
	return (v > 0) - (v < 0);
}

/* The text of v, as SemVer 2.0.0 spells it. */
static char *
format(struct arena *a, const struct semver *v)
{
	return arena_printf(a, "%" PRIu64 ".%" PRIu64 ".%" PRIu64 "%s%s%s%s",
	                    v->major, v->minor, v->patch,
	                    v->pre != NULL ? "-" : "",
	                    v->pre != NULL ? v->pre : "",
	                    v->build != NULL ? "+" : "",
	                    v->build != NULL ? v->build : "");
}

static int
same_str(const char *x, const char *y)
{
	return x == NULL ? y == NULL : y != NULL && strcmp(x, y) == 0;
}

/* Parses s as a version; 1 with *v when it is one. */
static int
version(struct arena *a, const char *s, const struct semver *probe_v,
        struct semver *v)
{
	struct semver again;
	char *text;
	size_t i;

	if (semver_parse(a, s, v) != 0)
		return 0;
	text = format(a, v);
	check(strcmp(text, s) == 0);
	check(semver_parse(a, text, &again) == 0);
	check(again.major == v->major && again.minor == v->minor &&
	      again.patch == v->patch && same_str(again.pre, v->pre) &&
	      same_str(again.build, v->build));
	check(semver_compare(v, &again) == 0);
	check(semver_compare(v, v) == 0);
	for (i = 0; i < NPROBES; i++)
		check(sign(semver_compare(v, &probe_v[i])) ==
		      -sign(semver_compare(&probe_v[i], v)));
	return 1;
}

static void
range(struct arena *a, const char *s, const struct semver *probe_v,
      const struct semver *mine, size_t nmine)
{
	const struct semver_range *r;
	const char *err = NULL;
	size_t i;
	int yes;

	r = semver_range_parse(a, s, &err);
	if (r == NULL) {
		check(err != NULL && err[0] != '\0');
		return;
	}
	for (i = 0; i < NPROBES; i++) {
		yes = semver_satisfies(r, &probe_v[i]);
		check(yes == 0 || yes == 1);
	}
	for (i = 0; i < nmine; i++) {
		yes = semver_satisfies(r, &mine[i]);
		check(yes == 0 || yes == 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct semver probe_v[NPROBES], mine[2];
	struct arena *a = arena_new();
	char *text, *part[2], *nl;
	size_t i, nmine = 0;

	if (a == NULL)
		abort();
	text = arena_alloc(a, size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	part[0] = text;
	part[1] = NULL;
	if ((nl = strchr(text, '\n')) != NULL) {
		*nl = '\0';
		part[1] = nl + 1;
	}
	for (i = 0; i < NPROBES; i++)
		check(semver_parse(a, probes[i], &probe_v[i]) == 0);
	for (i = 0; i < 2 && part[i] != NULL; i++)
		if (version(a, part[i], probe_v, &mine[nmine]))
			nmine++;
	for (i = 0; i < 2 && part[i] != NULL; i++)
		range(a, part[i], probe_v, mine, nmine);
	arena_free(a);
	return 0;
}
