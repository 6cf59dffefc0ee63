/*
 * etag.c - parsing entity-tag lists (see etag.h).
 */
#include "util/etag.h"

#include <ctype.h>

/* Parses one entity tag at *p: a "digits" tag sets *version and returns
 * 1; a foreign tag (which never matches a version), or a weak one when
 * weak_ok is 0 (If-Match compares strongly, If-None-Match weakly: RFC
 * 9110 13.1), returns 0; a malformed list returns -1. Advances *p past
 * it. */
static int
parse_etag(const char **p, uint64_t *version, int weak_ok)
{
	const char *s = *p;
	int weak = 0, digits = 1;
	uint64_t v = 0;

	if (s[0] == 'W' && s[1] == '/') {
		weak = 1;
		s += 2;
	}
	if (*s != '"')
		return -1;
	for (s++; *s != '"'; s++) {
		if (*s == '\0')
			return -1;
		if (!isdigit((unsigned char)*s) || v > UINT64_MAX / 10 - 1)
			digits = 0;
		else
			v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s + 1;
	if ((weak && !weak_ok) || !digits || v == 0)
		return 0;
	*version = v;
	return 1;
}

int
etag_list_parse(const char *h, int weak_ok, struct etag_list *out)
{
	const char *p = h;

	out->any = 0;
	out->n = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '*') {
		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		out->any = 1;
		return *p == '\0' ? 0 : -1;
	}
	for (;;) {
		uint64_t v;
		int rc = parse_etag(&p, &v, weak_ok);

		if (rc < 0)
			return -1;
		if (rc == 1 && out->n < ETAG_LIST_MAX)
			out->versions[out->n++] = v;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return -1;
		for (p++; *p == ' ' || *p == '\t' || *p == ','; p++)
			;
		if (*p == '\0')
			return 0;
	}
}

int
etag_list_matches(const struct etag_list *l, uint64_t version)
{
	size_t i;

	if (l->any)
		return 1;
	for (i = 0; i < l->n; i++)
		if (l->versions[i] == version)
			return 1;
	return 0;
}
