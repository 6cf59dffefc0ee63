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
#include "util/escape.h"

/* Appends str as a JSON string (quotes included) at p, which has room
 * for ESCAPE_JSON_MAX(strlen(str)) + 3 bytes; returns the end. */
static char *
put_json_string(char *p, const char *str)
{
	size_t n = strlen(str);

	*p++ = '"';
	p += escape_json(p, ESCAPE_JSON_MAX(n) + 1, str, n, NULL);
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

/* Bytes the errors member takes at most, with its leading comma. */
static size_t
errors_size(const struct problem_error *errs, size_t n)
{
	size_t need = n > 0 ? 16 : 0, i;

	for (i = 0; i < n; i++)
		need += 32 + ESCAPE_JSON_MAX(strlen(errs[i].pointer)) +
		    ESCAPE_JSON_MAX(strlen(errs[i].detail));
	return need;
}

/* ,"errors":[{"pointer":"...","detail":"..."},...] */
static char *
put_errors(char *p, const struct problem_error *errs, size_t n)
{
	size_t i;

	if (n == 0)
		return p;
	p = put_lit(p, ",\"errors\":[");
	for (i = 0; i < n; i++) {
		p = put_lit(p, i == 0 ? "{\"pointer\":" : ",{\"pointer\":");
		p = put_json_string(p, errs[i].pointer);
		p = put_lit(p, ",\"detail\":");
		p = put_json_string(p, errs[i].detail);
		*p++ = '}';
	}
	*p++ = ']';
	return p;
}

/*
 * See problem.h. code NULL means problem_code(status). The body is built
 * on the stack when it fits (it always does for the server's own
 * errors), else in one allocation; without memory the response goes out
 * with an empty body rather than not at all.
 */
void
problem_send_errors(struct http_exchange *ex, int status, const char *code,
                    const char *detail, const char *request_id,
                    const struct problem_error *errs, size_t nerrs)
{
	const char *title = http_reason(status);
	char stack[1024], *buf = stack, *p;
	size_t need;

	if (code == NULL)
		code = problem_code(status);
	if (nerrs > PROBLEM_MAX_ERRORS)
		nerrs = PROBLEM_MAX_ERRORS;
	need = 96 + ESCAPE_JSON_MAX(strlen(title)) +
	    ESCAPE_JSON_MAX(strlen(code)) +
	    (detail != NULL ? ESCAPE_JSON_MAX(strlen(detail)) + 16 : 0) +
	    (request_id != NULL ?
	    ESCAPE_JSON_MAX(strlen(request_id)) + 16 : 0) +
	    errors_size(errs, nerrs);
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
	p = put_errors(p, errs, nerrs);
	*p++ = '}';
	http_add_header(ex, "Content-Type", "application/problem+json");
	http_respond(ex, status, buf, (size_t)(p - buf));
	if (buf != stack)
		free(buf);
}

void
problem_send(struct http_exchange *ex, int status, const char *code,
             const char *detail, const char *request_id)
{
	problem_send_errors(ex, status, code, detail, request_id, NULL, 0);
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
	case 415: return "unsupported-media-type";
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
