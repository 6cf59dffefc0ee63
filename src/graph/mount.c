/*
 * mount.c - mount path syntax and shapes.
 */
#include "graph/mount.h"

#include <string.h>

#include "util/arena.h"
#include "util/hex.h"
#include "util/utf8.h"

#define MOUNT_MAX_PARAMS 32

/* Parameter names as OpenAPI tools accept them: {spaceId}, {space-id}. */
static int
is_param_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && ((c >= '0' && c <= '9') || c == '-'));
}

/* RFC 3986 pchar, less '%' sequences that we check separately. */
static int
is_literal_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return strchr("-._~!$&'()*+,;=:@%", c) != NULL && c != '\0';
}

/*
 * A literal is compared with request segments once both are decoded
 * (SPEC §7.1), so it must decode to what a request segment can: never
 * '/' (an encoded slash stays inside its segment, so the literal "a%2Fb"
 * would be one segment where the path shows two), NUL, bytes that are
 * not UTF-8, or "." and ".." (resolved before matching). Such a literal
 * could never match; it is refused. s[0..len) has well-formed escapes.
 */
static const char *
check_decoded(struct arena *a, const char *s, size_t len)
{
	unsigned char *d = arena_alloc(a, len + 1);
	size_t i, n = 0, step;

	for (i = 0; i < len; i++, n++) {
		d[n] = (unsigned char)s[i];
		if (s[i] == '%') {
			d[n] = (unsigned char)(hex_digit(s[i + 1]) << 4 |
			                       hex_digit(s[i + 2]));
			i += 2;
		}
		if (d[n] == '/')
			return "an encoded '/' (%2F) is not allowed in a path: "
			       "it would stay inside its segment";
		if (d[n] == '\0')
			return "an encoded NUL (%00) is not allowed in a path";
	}
	if ((n == 1 && d[0] == '.') || (n == 2 && d[0] == '.' && d[1] == '.'))
		return "'.' and '..' segments are not allowed, encoded or not";
	for (i = 0; i < n; i += step)
		if ((step = utf8_sequence(d + i, n - i)) == 0)
			return arena_printf(a, "segment '%.*s' does not decode "
			       "to UTF-8", (int)len, s);
	return NULL;
}

/* Checks one segment [s, s+len); returns a reason or NULL. */
static const char *
check_segment(struct arena *a, const char *s, size_t len,
              const char **params, size_t *nparams)
{
	size_t i;

	if (s[0] == '{') {
		if (len < 3 || s[len - 1] != '}')
			return "a parameter must be a whole segment: {name}";
		for (i = 1; i + 1 < len; i++)
			if (!is_param_char(s[i], i == 1))
				return arena_printf(a, "parameter '%.*s' is "
				       "not a valid name", (int)len, s);
		for (i = 0; i < *nparams; i++)
			if (strlen(params[i]) == len - 2 &&
			    strncmp(params[i], s + 1, len - 2) == 0)
				return arena_printf(a, "parameter '%.*s' "
				       "appears twice", (int)len, s);
		if (*nparams == MOUNT_MAX_PARAMS)
			return "too many parameters";
		params[(*nparams)++] = arena_strndup(a, s + 1, len - 2);
		return NULL;
	}
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' &&
	    s[1] == '.'))
		return "'.' and '..' segments are not allowed";
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '{' || c == '}')
			return "a parameter must be a whole segment: "
			       "{name}";
		if (c == '%' && !(i + 2 < len &&
		    hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0))
			return "'%' must start a percent-encoded byte";
		if (c <= 0x20 || c >= 0x7f)
			return "spaces, control and non-ASCII bytes must be "
			       "percent-encoded";
		if (!is_literal_char(c))
			return arena_printf(a, "character '%c' is not allowed "
			       "in a path", c);
	}
	return check_decoded(a, s, len);
}

/*
 * Writes the literal s[0..len) (checked) to o in one spelling of its
 * decoded bytes: a byte a literal may hold as is, as is; any other as
 * %XX in upper case. Two literals the router takes as one ("/%68ealth",
 * "/health") then have one shape, and collide as routes. Returns the end.
 */
static char *
shape_literal(char *o, const char *s, size_t len)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			c = (unsigned char)(hex_digit(s[i + 1]) << 4 |
			                    hex_digit(s[i + 2]));
			i += 2;
		}
		if (c != '%' && c > 0x20 && c < 0x7f && is_literal_char(c)) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = digits[c >> 4];
			*o++ = digits[c & 15];
		}
	}
	return o;
}

const char *
mount_check(struct arena *a, const char *path, const char **shape)
{
	const char *params[MOUNT_MAX_PARAMS];
	size_t nparams = 0, len = strlen(path);
	const char *p, *why;
	char *out, *o;

	if (path[0] != '/')
		return "it must start with '/'";
	if (len > 1 && path[len - 1] == '/')
		return "it must not end with '/'";
	if (strchr(path, '?') != NULL || strchr(path, '#') != NULL)
		return "it must not contain '?' or '#'";
	if (strstr(path, "//") != NULL)
		return "it must not contain '//'";
	out = arena_alloc(a, len + 1);
	o = out;
	for (p = path + 1; len > 1 && *p != '\0';) {
		const char *end = strchr(p, '/');
		size_t seg = end ? (size_t)(end - p) : strlen(p);

		why = check_segment(a, p, seg, params, &nparams);
		if (why != NULL)
			return why;
		*o++ = '/';
		if (*p == '{') {
			memcpy(o, "{}", 2);
			o += 2;
		} else {
			o = shape_literal(o, p, seg);
		}
		p += seg;
		if (*p == '/')
			p++;
	}
	if (o == out)
		*o++ = '/';
	*o = '\0';
	*shape = out;
	return NULL;
}

int
mount_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/');
}
