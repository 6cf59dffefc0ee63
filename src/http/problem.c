/*
 * problem.c - RFC 9457 problem+json bodies (SPEC §7.2).
 *
 * Written by hand rather than through json-c: the shape is fixed, and an
 * error path that allocates a tree per response would be the slowest part
 * of a 404 flood. Strings are escaped, and bytes that are not UTF-8 (a
 * detail may quote a client's path) become U+FFFD so the body is always
 * valid JSON.
 */
#include "http/problem.h"

#include <stdlib.h>
#include <string.h>

#include "http/server.h"

/* Bytes the JSON form of any string of len bytes can take at most:
 * a control byte becomes \u00XX, an invalid byte \ufffd. */
#define ESCAPED_MAX(len) ((len) * 6)

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned min;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1fu;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0fu;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	/* overlong forms, surrogates and beyond U+10FFFF */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Appends s as a JSON string (quotes included) at p; returns the end. */
static char *
put_json_string(char *p, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), len;

	*p++ = '"';
	while (n > 0) {
		if (*s == '"' || *s == '\\') {
			*p++ = '\\';
			*p++ = (char)*s;
		} else if (*s == '\n' || *s == '\r' || *s == '\t') {
			*p++ = '\\';
			*p++ = *s == '\n' ? 'n' : *s == '\r' ? 'r' : 't';
		} else if (*s < 0x20) {
			memcpy(p, "\\u00", 4);
			p[4] = hex[*s >> 4];
			p[5] = hex[*s & 0xf];
			p += 6;
		} else if ((len = utf8_len(s, n)) == 0) {
			memcpy(p, "\\ufffd", 6);
			p += 6;
		} else {
			memcpy(p, s, len);
			p += len;
			s += len;
			n -= len;
			continue;
		}
		s++;
		n--;
	}
	*p++ = '"';
	return p;
}

static char *
put_lit(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static char *
put_status(char *p, int status)
{
	if (status < 100 || status > 999)
		status = 500;
	*p++ = (char)('0' + status / 100);
	*p++ = (char)('0' + status / 10 % 10);
	*p++ = (char)('0' + status % 10);
	return p;
}

/*
 * See problem.h. code NULL means problem_code(status). The body is built
 * on the stack when it fits (it always does for the server's own
 * errors), else in one allocation; without memory the response goes out
 * with an empty body rather than not at all.
 */
void
problem_send(struct http_exchange *ex, int status, const char *code,
             const char *detail, const char *request_id)
{
	const char *title = http_reason(status);
	char stack[1024], *buf = stack, *p;
	size_t need;

	if (code == NULL)
		code = problem_code(status);
	need = 96 + ESCAPED_MAX(strlen(title)) + ESCAPED_MAX(strlen(code)) +
	    (detail != NULL ? ESCAPED_MAX(strlen(detail)) + 16 : 0) +
	    (request_id != NULL ? ESCAPED_MAX(strlen(request_id)) + 16 : 0);
	if (need > sizeof(stack) && (buf = malloc(need)) == NULL) {
		http_add_header(ex, "Content-Type", "application/problem+json");
		http_respond(ex, status, NULL, 0);
		return;
	}
	p = put_lit(buf, "{\"type\":\"about:blank\",\"title\":");
	p = put_json_string(p, title);
	p = put_lit(p, ",\"status\":");
	p = put_status(p, status);
	if (detail != NULL) {
		p = put_lit(p, ",\"detail\":");
		p = put_json_string(p, detail);
	}
	p = put_lit(p, ",\"code\":");
	p = put_json_string(p, code);
	if (request_id != NULL) {
		p = put_lit(p, ",\"requestId\":");
		p = put_json_string(p, request_id);
	}
	*p++ = '}';
	http_add_header(ex, "Content-Type", "application/problem+json");
	http_respond(ex, status, buf, (size_t)(p - buf));
	if (buf != stack)
		free(buf);
}

/* See problem.h; "error" for a status without a code of its own. */
const char *
problem_code(int status)
{
	switch (status) {
	case 400: return "bad-request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "route-not-found";
	case 405: return "method-not-allowed";
	case 408: return "request-timeout";
	case 409: return "conflict";
	case 412: return "precondition-failed";
	case 413: return "payload-too-large";
	case 422: return "validation-failed";
	case 429: return "rate-limited";
	case 431: return "headers-too-large";
	case 500: return "internal";
	case 502: return "bad-gateway";
	case 503: return "unavailable";
	case 504: return "gateway-timeout";
	default: return "error";
	}
}
