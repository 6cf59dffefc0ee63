/*
 * media.c - whether a request's Content-Type says JSON (SPEC §14).
 *
 * A route with a schema takes `application/json` only, with any
 * `charset=utf-8` (RFC 8259 section 8.1: JSON is UTF-8). Media types and
 * parameter names are case-insensitive, a value may be quoted (RFC 9110
 * section 8.3.1), white space may surround ';' and an empty parameter
 * (`application/json;`) is allowed by the grammar. Any other parameter or
 * charset refuses the body: asterd could not honour it.
 */
#include "contract/contract.h"

#include <string.h>
#include <strings.h>

static const char *
skip_ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* RFC 9110 tchar. */
static int
is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* One parameter at s: 1 when it is charset=utf-8, with *end past it. */
static int
utf8_charset(const char *s, const char **end)
{
	const char *name = s, *value;
	size_t name_len, value_len;

	while (is_tchar(*s))
		s++;
	name_len = (size_t)(s - name);
	if (*s != '=')
		return 0;
	value = ++s;
	if (*s == '"') {
		value = ++s;
		while (*s != '"' && *s != '\0' && *s != '\\')
			s++;
		if (*s != '"')
			return 0;   /* unterminated, or an escape: not utf-8 */
		value_len = (size_t)(s - value);
		s++;
	} else {
		while (is_tchar(*s))
			s++;
		value_len = (size_t)(s - value);
	}
	*end = s;
	return name_len == 7 && strncasecmp(name, "charset", 7) == 0 &&
	       value_len == 5 && strncasecmp(value, "utf-8", 5) == 0;
}

int
contract_json_media_type(const char *ct)
{
	static const char type[] = "application/json";

	if (ct == NULL)
		return 0;
	ct = skip_ows(ct);
	if (strncasecmp(ct, type, sizeof(type) - 1) != 0)
		return 0;
	ct = skip_ows(ct + sizeof(type) - 1);
	while (*ct == ';') {
		ct = skip_ows(ct + 1);
		if (*ct == ';' || *ct == '\0')
			continue;
		if (!utf8_charset(ct, &ct))
			return 0;
		ct = skip_ows(ct);
	}
	return *ct == '\0';
}
