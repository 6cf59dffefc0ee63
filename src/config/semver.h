/*
 * semver.h - semantic versions (2.0.0) and npm-style version ranges.
 */
#ifndef ASTER_SEMVER_H
#define ASTER_SEMVER_H

#include <stddef.h>
#include <stdint.h>

struct arena;

struct semver {
	uint64_t major, minor, patch;
	const char *pre;        /* prerelease identifiers ("rc.1"), or NULL */
	const char *build;      /* build metadata, or NULL */
};

/*
 * Parses a strict SemVer 2.0.0 version (no leading "v", no leading zeros
 * in numeric parts). String parts are allocated in a. Returns 0 or -1.
 */
int semver_parse(struct arena *a, const char *s, struct semver *v);

/* SemVer precedence: <0, 0, >0. Build metadata is ignored. */
int semver_compare(const struct semver *a, const struct semver *b);

struct semver_range;

/*
 * Parses an npm range: comparators (<, <=, >, >=, =, bare version), x-ranges
 * (1.x, 1.2.*, *, ""), partial versions, tilde (~), caret (^), hyphen ranges
 * (1.2.3 - 2.3.4), whitespace = AND, || = OR; a leading "v" or "=" on a
 * version is accepted as npm does. Returns NULL with *err on a malformed
 * range (a static message, or one allocated in a that quotes the input).
 */
struct semver_range *semver_range_parse(struct arena *a, const char *s,
                                        const char **err);

/*
 * True when v satisfies r, with npm's prerelease rule: a version with a
 * prerelease tag only satisfies a comparator set in which some comparator
 * has the same major.minor.patch and a prerelease tag itself.
 */
int semver_satisfies(const struct semver_range *r, const struct semver *v);

#endif
