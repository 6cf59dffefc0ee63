/*
 * openapi_errors.c - the error responses of an operation: the RFC 9457
 * problems (SPEC §7.2) a route can answer, each a shared response under
 * components.responses.
 *
 * What a route can answer follows from what the manifest says of it:
 *
 *   400  always: any request can be malformed (a path segment decoding
 *        to NUL or invalid UTF-8, a bad header), and where the route
 *        takes JSON, a body that is not JSON (invalid-json)
 *   401  scope user or admin: no credential, or a bad one
 *   403  scope admin: a credential without role admin
 *   404  a path with {parameters}, a prefix route or a static handler:
 *        the resource named may not exist (or lie outside the
 *        credential's spaces, which answers as if it did not). A request
 *        for another path is no request of this operation, so an exact
 *        literal path has no 404
 *   413  a method that carries a body (POST, PUT, PATCH, or any with a
 *        request schema): over max_body_bytes
 *   415, 422  a request schema, on a method that carries the body
 *   416  a static handler: a range beyond the end of the file
 *   429  a rateLimit on the route or its module; and on user and admin
 *        routes, failed credentials are throttled per client address
 *   502  a proxy or runtime handler: no proper answer from it
 *   503  always: the module serving the route is not running (and a
 *        proxy's, when every target of its upstream is down)
 *   504  whatever may answer later than at once: operations, static
 *        files, proxies and runtimes, and any credential check (a store
 *        lookup), when request_timeout_ms passes first
 *
 * `default` covers the rest any request can meet (405 is another
 * method's, 408 request-timeout, 431 headers-too-large, 500 internal).
 * A code the route declares in `responses` is the route's own.
 */
#include "contract/openapi_int.h"

#include <stdio.h>
#include <string.h>

#include "util/arena.h"

enum error_kind {
	E_400, E_401, E_403, E_404, E_413, E_415, E_416, E_422, E_429,
	E_502, E_503, E_504, E_DEFAULT,
	E_COUNT,
};

/* Response headers; `required` when every answer of the kind has it. */
#define WWW_AUTHENTICATE \
	"{\"WWW-Authenticate\":{\"description\":\"Bearer, with " \
	"error=\\\"invalid_token\\\" when a credential was presented\"," \
	"\"required\":true,\"schema\":{\"type\":\"string\"}}}"
#define RETRY_AFTER(req) \
	"\"Retry-After\":{\"description\":\"Seconds to wait before " \
	"retrying\",\"required\":" req ",\"schema\":{\"type\":\"integer\"," \
	"\"minimum\":0}}"
#define RATELIMIT(name, what) \
	"\"RateLimit-" name "\":{\"description\":\"" what " (the route's " \
	"rate limit)\",\"schema\":{\"type\":\"integer\",\"minimum\":0}}"

static const struct {
	const char *code;
	const char *name;           /* under components.responses */
	const char *schema;         /* under components.schemas */
	const char *description;
	const char *headers;        /* a JSON object, or NULL */
} errors[E_COUNT] = {
	[E_400] = {"400", "BadRequest", "Problem",
	           "The request is malformed (bad-request), or its body is "
	           "not the JSON the route takes (invalid-json)", NULL},
	[E_401] = {"401", "Unauthorized", "Problem",
	           "No bearer credential, or one that is not valid "
	           "(unauthorized)", WWW_AUTHENTICATE},
	[E_403] = {"403", "Forbidden", "Problem",
	           "The credential is valid but lacks the role this route "
	           "needs (forbidden)", NULL},
	[E_404] = {"404", "NotFound", "Problem",
	           "No such resource, or one outside the credential's spaces "
	           "(not-found)", NULL},
	[E_413] = {"413", "PayloadTooLarge", "Problem",
	           "The body is larger than the product allows "
	           "(payload-too-large)", NULL},
	[E_415] = {"415", "UnsupportedMediaType", "Problem",
	           "The body is not application/json "
	           "(unsupported-media-type)", NULL},
	[E_416] = {"416", "RangeNotSatisfiable", "Problem",
	           "The range lies beyond the end of the file", NULL},
	[E_422] = {"422", "ValidationFailed", "ValidationProblem",
	           "The body breaks the route's schema (validation-failed); "
	           "errors says where", NULL},
	[E_429] = {"429", "RateLimited", "Problem",
	           "Too many requests (rate-limited): over the route's rate "
	           "limit, or too many failed credentials from this address",
	           "{" RETRY_AFTER("true") ","
	           RATELIMIT("Limit", "Requests per window") ","
	           RATELIMIT("Remaining", "Requests left") ","
	           RATELIMIT("Reset", "Seconds until the window resets") "}"},
	[E_502] = {"502", "BadGateway", "Problem",
	           "The upstream or runtime gave no proper answer "
	           "(bad-gateway)", NULL},
	[E_503] = {"503", "Unavailable", "Problem",
	           "The module serving this route, or a service it needs, is "
	           "not running, or every target of its upstream is down "
	           "(unavailable)", "{" RETRY_AFTER("false") "}"},
	[E_504] = {"504", "GatewayTimeout", "Problem",
	           "No answer in time (gateway-timeout)", NULL},
	[E_DEFAULT] = {"default", "Problem", "Problem",
	               "Any other error, such as 408 request-timeout, 431 "
	               "headers-too-large or 500 internal", NULL},
};

static int
has_body(const char *method)
{
	return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	       strcmp(method, "PATCH") == 0;
}

static int
takes_schema(const struct route *r, const char *method)
{
	return r->request != NULL && r->request->schema != NULL &&
	       strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	       strcmp(method, "OPTIONS") != 0;
}

static int
answers_later(const struct route *r)
{
	return r->handler->kind != HANDLER_RESPOND ||
	       (r->scope & (SCOPE_USER | SCOPE_ADMIN));
}

/* The errors r can answer method with, as bits of enum error_kind. */
static unsigned
route_errors(const struct route *r, const char *method)
{
	enum handler_kind h = r->handler->kind;
	unsigned e = 1u << E_400 | 1u << E_503 | 1u << E_DEFAULT;

	if (r->scope & (SCOPE_USER | SCOPE_ADMIN))
		e |= 1u << E_401 | 1u << E_429;
	if (r->scope & SCOPE_ADMIN)
		e |= 1u << E_403;
	if (strchr(r->mount_path, '{') != NULL || r->prefix ||
	    h == HANDLER_STATIC)
		e |= 1u << E_404;
	if (has_body(method) || takes_schema(r, method))
		e |= 1u << E_413;
	if (takes_schema(r, method))
		e |= 1u << E_415 | 1u << E_422;
	if (h == HANDLER_STATIC)
		e |= 1u << E_416;
	if (r->rate_limit != NULL || r->module->rate_limit != NULL)
		e |= 1u << E_429;
	if (h == HANDLER_PROXY || h == HANDLER_RUNTIME)
		e |= 1u << E_502;
	if (answers_later(r))
		e |= 1u << E_504;
	return e;
}

void
openapi_add_errors(struct openapi_doc *d, const struct route *r,
                   const char *method, json_object *responses)
{
	unsigned e = route_errors(r, method);
	int k;

	for (k = 0; k < E_COUNT; k++) {
		if (!(e & (1u << k)) || json_object_object_get_ex(responses,
		    errors[k].code, NULL))
			continue;
		json_object_object_add(responses, errors[k].code,
		    openapi_ref(arena_printf(d->a, OPENAPI_RESPONSES "%s",
		                errors[k].name)));
		d->errors_used |= 1u << k;
	}
}

static json_object *
error_response(int k)
{
	json_object *o = json_object_new_object();
	json_object *media = json_object_new_object();
	json_object *content = json_object_new_object();
	char schema[64];

	json_object_object_add(o, "description",
	                       json_object_new_string(errors[k].description));
	if (errors[k].headers != NULL)
		json_object_object_add(o, "headers",
		                       json_tokener_parse(errors[k].headers));
	snprintf(schema, sizeof(schema), OPENAPI_SCHEMAS "%s",
	         errors[k].schema);
	json_object_object_add(media, "schema", openapi_ref(schema));
	json_object_object_add(content, "application/problem+json", media);
	json_object_object_add(o, "content", content);
	return o;
}

void
openapi_add_error_responses(const struct openapi_doc *d,
                            json_object *responses)
{
	int k;

	for (k = 0; k < E_COUNT; k++)
		if (d->errors_used & (1u << k))
			json_object_object_add(responses, errors[k].name,
			                       error_response(k));
}

int
openapi_error_schema_used(const struct openapi_doc *d, const char *name)
{
	int k;

	if (strcmp(name, "Problem") == 0 && d->problem_used)
		return 1;
	for (k = 0; k < E_COUNT; k++)
		if ((d->errors_used & (1u << k)) &&
		    (strcmp(errors[k].schema, name) == 0 ||
		     strcmp(name, "Problem") == 0))
			return 1;   /* ValidationProblem builds on Problem */
	return 0;
}
