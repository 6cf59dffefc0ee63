/*
 * problem.h - RFC 9457 problem+json error responses (SPEC §7.2).
 */
#ifndef ASTER_PROBLEM_H
#define ASTER_PROBLEM_H

#include <stddef.h>

struct http_exchange;

/* One entry of a problem's `errors` member (SPEC §14): a JSON Pointer
 * into the request body and a one-line detail. */
struct problem_error {
	const char *pointer;
	const char *detail;
};

/* At most this many errors go out; the rest are dropped. */
#define PROBLEM_MAX_ERRORS 20

/*
 * Answers ex with status and a body
 * {"type":"about:blank","title":REASON,"status":N,"detail":DETAIL,
 *  "code":CODE,"requestId":ID} as application/problem+json. detail may be
 * NULL (then omitted); request_id may be NULL (omitted). Headers added
 * before (Allow, WWW-Authenticate, Retry-After) go out with it.
 */
void problem_send(struct http_exchange *ex, int status, const char *code,
                  const char *detail, const char *request_id);

/* The same with an `errors` member of nerrs entries (at most
 * PROBLEM_MAX_ERRORS), as a 422 validation-failed carries (SPEC §14):
 * "errors":[{"pointer":"/a/0","detail":"..."}]. */
void problem_send_errors(struct http_exchange *ex, int status,
                         const char *code, const char *detail,
                         const char *request_id,
                         const struct problem_error *errs, size_t nerrs);

/* The SPEC §7.2 code for a status ("route-not-found" for 404). */
const char *problem_code(int status);

#endif
