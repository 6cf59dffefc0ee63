/*
 * json_check.c - a strict JSON validator: recursive descent over the
 * bytes, bounded in depth, allocating nothing.
 */
#include "util/json_check.h"

#include <stdio.h>
#include <string.h>

#include "util/utf8.h"

struct scan {
	const unsigned char *p, *end, *start;
	const char *why;            /* set at the first error */
};

static int
fail(struct scan *s, const char *why)
{
	if (s->why == NULL)
		s->why = why;
	return -1;
}

static void
skip_space(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	                         *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
literal(struct scan *s, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return fail(s, "not a JSON value");
	s->p += n;
	return 0;
}

static int
digits(struct scan *s)
{
	const unsigned char *from = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > from ? 0 : fail(s, "a digit is missing in a number");
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int
number(struct scan *s)
{
	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (digits(s) < 0)
		return -1;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (digits(s) < 0)
			return -1;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (digits(s) < 0)
			return -1;
	}
	return 0;
}

/* One UTF-8 sequence of two or more bytes starting at s->p. */
static int
utf8(struct scan *s)
{
	size_t len = utf8_sequence(s->p, (size_t)(s->end - s->p));

	if (len == 0)
		return fail(s, "invalid UTF-8 in a string");
	s->p += len;
	return 0;
}

static int
hex4(struct scan *s)
{
	int i;

	if (s->end - s->p < 4)
		return fail(s, "a \\u escape needs four hex digits");
	for (i = 0; i < 4; i++) {
		unsigned char c = s->p[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return fail(s, "a \\u escape needs four hex digits");
	}
	s->p += 4;
	return 0;
}

/* At the opening quote. Escaped surrogates are taken as written: JSON's
 * grammar allows a lone \uD800, and the text is stored, not decoded. */
static int
string(struct scan *s)
{
	s->p++;
	while (s->p < s->end) {
		unsigned char c = *s->p;

		if (c == '"') {
			s->p++;
			return 0;
		}
		if (c < 0x20)
			return fail(s, "a control character in a string");
		if (c >= 0x80) {
			if (utf8(s) < 0)
				return -1;
			continue;
		}
		s->p++;
		if (c != '\\')
			continue;
		if (s->p == s->end)
			break;
		c = *s->p++;
		if (c == 'u') {
			if (hex4(s) < 0)
				return -1;
		} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
			return fail(s, "an invalid escape in a string");
		}
	}
	return fail(s, "a string does not end");
}

static int value(struct scan *s, int depth);

/* At '[' or '{'. */
static int
container(struct scan *s, int depth)
{
	unsigned char close = *s->p == '[' ? ']' : '}';

	if (depth >= JSON_CHECK_MAX_DEPTH)
		return fail(s, "nested too deep");
	s->p++;
	skip_space(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			skip_space(s);
			if (s->p == s->end || *s->p != '"')
				return fail(s, "an object key must be a string");
			if (string(s) < 0)
				return -1;
			skip_space(s);
			if (s->p == s->end || *s->p != ':')
				return fail(s, "':' expected after an object key");
			s->p++;
		}
		if (value(s, depth + 1) < 0)
			return -1;
		skip_space(s);
		if (s->p == s->end)
			return fail(s, "the text ends inside an array or object");
		if (*s->p == close) {
			s->p++;
			return 0;
		}
		if (*s->p != ',')
			return fail(s, "',' or the closing bracket expected");
		s->p++;
	}
}

static int
value(struct scan *s, int depth)
{
	skip_space(s);
	if (s->p == s->end)
		return fail(s, "a value is missing");
	switch (*s->p) {
	case '{':
	case '[':
		return container(s, depth);
	case '"':
		return string(s);
	case 't':
		return literal(s, "true");
	case 'f':
		return literal(s, "false");
	case 'n':
		return literal(s, "null");
	default:
		if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
			return number(s);
		return fail(s, "not a JSON value");
	}
}

int
json_check(const char *text, size_t len, char *err, size_t errlen)
{
	struct scan s;

	s.start = s.p = (const unsigned char *)text;
	s.end = s.p + len;
	s.why = NULL;
	if (value(&s, 0) == 0) {
		skip_space(&s);
		if (s.p == s.end)
			return 0;
		fail(&s, "more than one value");
	}
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s (at byte %zu)", s.why,
		         (size_t)(s.p - s.start));
	return -1;
}
