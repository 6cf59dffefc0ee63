/*
 * aster/http.h - serving HTTP from a provider's operation (SPEC §18).
 *
 * A route `handler: {service: S, operation: OP}` sends each request it
 * matches to the `handle` of operation OP in S's provider (struct
 * aster_operation in aster/provider.h), as a struct aster_request. By
 * then asterd has matched the route, checked the credential against the
 * route's scope, applied rate limits, seen the module running and, when
 * the route has a `request.schema`, validated the body: the operation
 * sees only requests it may serve. asterd's own endpoints (health, the
 * state API, the auth module's keys) are operations on this same API.
 *
 * Every call below is made on the event loop's thread (the one
 * host->event_base() returns), never from another thread.
 *
 * Answering. handle() answers with exactly one aster_respond(),
 * aster_respond_json() or aster_problem(), either before it returns or
 * later, from any callback on the loop (a store answer, a timer). It
 * returns 0 when it answered or will; any other value means it failed
 * without answering and asterd answers 500 for it.
 *
 * The request stays valid, with everything read from it, until that
 * answer and never after: the answer releases it. What happens meanwhile
 * does not end it early. A client may go away, and a request not
 * answered within the listener's `request_timeout_ms` gets `504
 * gateway-timeout` from asterd in the handler's place: either way the
 * handler is told once (aster_on_abandon()), aster_alive() turns 0, and
 * the handler still answers, however late: that answer is dropped and is
 * what frees the request. A provider's stop() therefore answers the
 * requests it still holds (503 is customary) before it returns. A request
 * whose client left before the operation was reached (while the
 * credential was checked) never reaches handle().
 *
 * Strings are NUL-terminated, owned by the request, and valid as long as
 * it is. Route parameters are UTF-8 (asterd refuses other paths); query
 * and header values are the bytes the client sent, not checked.
 */
#ifndef ASTER_HTTP_H
#define ASTER_HTTP_H

#include <stddef.h>
#include <string.h>

#include <aster/auth.h>

#ifdef __cplusplus
extern "C" {
#endif

struct aster_http;
struct aster_store;

/* A request as an operation sees it. Its one public member is the table
 * of calls below, which the aster_* functions of this header use; the
 * rest belongs to asterd. Never copy one. */
struct aster_request {
	const struct aster_http *http;
};

/* One entry of a 422 problem's `errors` (SPEC §14): where in the body,
 * as a JSON Pointer (RFC 6901: "" is the whole body, "/items/0/name"),
 * and what is wrong there, in one line. */
struct aster_problem_error {
	const char *pointer;
	const char *detail;
};

/* An aster_problem() carries at most this many errors. */
#define ASTER_PROBLEM_MAX_ERRORS 20

/* Called once when a request's answer will be dropped: its client went
 * away or asterd answered 504 in its place. arg is aster_on_abandon()'s. */
typedef void (*aster_abandon_fn)(struct aster_request *r, void *arg);

/*
 * The calls behind the functions below, filled by asterd. A provider uses
 * the functions; the table is public only so that they can be inline.
 * New calls are added at the end (with an ABI bump).
 */
struct aster_http {
	const char *(*method)(const struct aster_request *r);
	const char *(*path)(const struct aster_request *r);
	const char *(*param)(const struct aster_request *r, const char *name);
	int (*param_at)(const struct aster_request *r, size_t i,
	                const char **name, const char **value);
	const char *(*query)(const struct aster_request *r, const char *name,
	                     size_t nth);
	int (*query_at)(const struct aster_request *r, size_t i,
	                const char **name, const char **value);
	const char *(*header)(const struct aster_request *r, const char *name);
	int (*header_at)(const struct aster_request *r, size_t i,
	                 const char **name, const char **value);
	const void *(*body)(const struct aster_request *r, size_t *len);
	const struct aster_credential *(*credential)(
	    const struct aster_request *r);
	const char *(*space)(const struct aster_request *r);
	const char *(*request_id)(const struct aster_request *r);
	const char *(*trace_id)(const struct aster_request *r);
	const char *(*client)(const struct aster_request *r);
	const struct aster_store *(*store)(const struct aster_request *r);
	int (*alive)(const struct aster_request *r);
	void (*on_abandon)(struct aster_request *r, aster_abandon_fn fn,
	                   void *arg);
	int (*add_header)(struct aster_request *r, const char *name,
	                  const char *value);
	int (*respond)(struct aster_request *r, int status,
	               const char *content_type, const void *body,
	               size_t len);
	int (*problem)(struct aster_request *r, int status, const char *code,
	               const char *detail,
	               const struct aster_problem_error *errors,
	               size_t nerrors);
	char *(*describe)(const struct aster_request *r, const char *view,
	                  int *status);
};

/* --- reading the request ------------------------------------------------- */

/* "GET", "POST", ...: upper case, as received. A HEAD request reaches a
 * GET route's operation as "HEAD"; answer it as GET, asterd sends no
 * body. */
static inline const char *
aster_method(const struct aster_request *r)
{
	return r->http->method(r);
}

/* The path, normalised (SPEC §7.1) and percent-decoded: "/a/b c". For
 * messages and logs only; a segment may hold '/', so use aster_param()
 * for the parts of a route's {params}. */
static inline const char *
aster_path(const struct aster_request *r)
{
	return r->http->path(r);
}

/* The route parameter `name` ({keyId} of the mountPath), decoded once
 * ("a%2Fb" is "a/b"), or NULL when the route has none of that name. For
 * a prefix route, "*" is the rest of the path below the mount path, still
 * percent-encoded, to split on '/' and decode segment by segment: "" or
 * "/x/y%2Fz". */
static inline const char *
aster_param(const struct aster_request *r, const char *name)
{
	return r->http->param(r, name);
}

/* The ith {param} of the mountPath, in order, decoded as aster_param()
 * gives it (a prefix route's "*" is not one of them): 1, or 0 past the
 * last. */
static inline int
aster_param_at(const struct aster_request *r, size_t i, const char **name,
               const char **value)
{
	return r->http->param_at(r, i, name, value);
}

/* The nth (from 0) value of query parameter `name`, decoded ('+' is a
 * space, %XX a byte; "?a" has the value ""; a malformed escape and %00
 * stay as written), or NULL when there are fewer. Names compare exactly. */
static inline const char *
aster_query(const struct aster_request *r, const char *name, size_t nth)
{
	return r->http->query(r, name, nth);
}

/* The ith query parameter in order of appearance, decoded: 1, or 0 past
 * the last. */
static inline int
aster_query_at(const struct aster_request *r, size_t i, const char **name,
               const char **value)
{
	return r->http->query_at(r, i, name, value);
}

/* The first value of a request header (name case-insensitive), or NULL. */
static inline const char *
aster_header(const struct aster_request *r, const char *name)
{
	return r->http->header(r, name);
}

/* The ith request header as received: 1, or 0 past the last. */
static inline int
aster_header_at(const struct aster_request *r, size_t i, const char **name,
                const char **value)
{
	return r->http->header_at(r, i, name, value);
}

/* The whole body (*len bytes, not NUL-terminated; *len is 0 when there
 * is none; within the listener's max_body_bytes, else the request never
 * got here). Under a route with a request.schema it is JSON that the
 * schema accepts. */
static inline const void *
aster_body(const struct aster_request *r, size_t *len)
{
	return r->http->body(r, len);
}

/* Who is calling: the verified credential on `user` and `admin` routes;
 * on a runtime's gateway socket (SPEC §10) the runtime (kind "runtime",
 * its module id as id); else NULL (`public` and `internal` routes). */
static inline const struct aster_credential *
aster_credential(const struct aster_request *r)
{
	return r->http->credential(r);
}

/* The space the request is about, the route's {spaceId}, or NULL. A
 * credential limited to other spaces never gets here (404). */
static inline const char *
aster_space(const struct aster_request *r)
{
	return r->http->space(r);
}

/* The request id (X-Request-Id, SPEC §7.3) and the W3C trace id (32 hex
 * digits): put them in every log line about the request. */
static inline const char *
aster_request_id(const struct aster_request *r)
{
	return r->http->request_id(r);
}

static inline const char *
aster_trace_id(const struct aster_request *r)
{
	return r->http->trace_id(r);
}

/* The client's address: "192.0.2.7", "2001:db8::1" or "unix". */
static inline const char *
aster_client(const struct aster_request *r)
{
	return r->http->client(r);
}

/* The state store the route's module reaches (aster/store.h, as
 * host->store() for its service), or NULL when none is running. */
static inline const struct aster_store *
aster_request_store(const struct aster_request *r)
{
	return r->http->store(r);
}

/* --- while answering later ----------------------------------------------- */

/* 1 while an answer will reach the client; 0 once it would be dropped
 * (gone, or 504 sent; already 0 inside the abandon callback). A callback
 * that finds 0 starts no further work and answers at once, to release
 * the request. */
static inline int
aster_alive(const struct aster_request *r)
{
	return r->http->alive(r);
}

/* Asks to be told, once, when the request is abandoned (see the top):
 * fn may cancel work, and may answer r at once. Call it before returning
 * 0 from handle() without an answer; a second call replaces the first. */
static inline void
aster_on_abandon(struct aster_request *r, aster_abandon_fn fn, void *arg)
{
	r->http->on_abandon(r, fn, arg);
}

/* --- answering ------------------------------------------------------------ */

/* Adds a response header, before the answer; it goes out with whatever
 * answer is sent, asterd's own 500 included. -1 (and nothing added) for
 * a name that is not an HTTP token, a value holding CR or LF, or a
 * header asterd owns: Content-Length, Transfer-Encoding, Connection,
 * Keep-Alive, Upgrade, Date, X-Request-Id, and Content-Type (give that
 * to aster_respond()). */
static inline int
aster_add_header(struct aster_request *r, const char *name,
                 const char *value)
{
	return r->http->add_header(r, name, value);
}

/* Answers status (200..599) with len bytes of body (copied; NULL, 0 for
 * none; never sent for HEAD, 204 and 304) of content_type (NULL: no
 * Content-Type). Releases r. Returns 0 when sent, -1 when dropped
 * (abandoned), and -1 for a status outside 200..599 or a content_type
 * holding CR or LF: the client then gets 500 internal instead. */
static inline int
aster_respond(struct aster_request *r, int status, const char *content_type,
              const void *body, size_t len)
{
	return r->http->respond(r, status, content_type, body, len);
}

/* Answers status with the JSON text json (not checked) as
 * application/json. Releases r, as aster_respond(). */
static inline int
aster_respond_json(struct aster_request *r, int status, const char *json)
{
	return r->http->respond(r, status, "application/json", json,
	                        json != NULL ? strlen(json) : 0);
}

/*
 * Answers an RFC 9457 problem (SPEC §7.2): status 400..599, code one of
 * §7.2's codes ("not-found", "conflict", ...; NULL: the status's own, as
 * "unavailable" for 503), detail one line (NULL: none). asterd adds
 * type, title and requestId, and for 401 the `WWW-Authenticate: Bearer`
 * challenge (add no other). errors (the first ASTER_PROBLEM_MAX_ERRORS
 * of nerrors are kept, entries with a NULL member skipped; NULL, 0 for
 * none) become the problem's `errors` member, as a 422
 * validation-failed carries them. Releases r, as aster_respond(); a
 * status outside 400..599 answers 500 internal and returns -1.
 */
static inline int
aster_problem(struct aster_request *r, int status, const char *code,
              const char *detail, const struct aster_problem_error *errors,
              size_t nerrors)
{
	return r->http->problem(r, status, code, detail, errors, nerrors);
}

/* --- the product ------------------------------------------------------------ */

/*
 * The product serving r, as JSON text of SPEC §9, malloc'ed (free() it),
 * for admin and status providers: view is "product" (identity), "ready"
 * (readiness; *status is 200 or 503), "modules", "routes" or "openapi"
 * (the OpenAPI document of the public, user and admin routes). *status
 * is 200 otherwise. NULL for an unknown view or when out of memory. It
 * describes the configuration r began on, even while a reload installs
 * another.
 */
static inline char *
aster_describe(const struct aster_request *r, const char *view, int *status)
{
	return r->http->describe(r, view, status);
}

#ifdef __cplusplus
}
#endif

#endif
