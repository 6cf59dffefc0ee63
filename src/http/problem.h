/*
 * problem.h - RFC 9457 problem+json error responses (SPEC §7.2).
 */
#ifndef ASTER_PROBLEM_H
#define ASTER_PROBLEM_H

struct http_exchange;

/*
 * Answers ex with status and a body
 * {"type":"about:blank","title":REASON,"status":N,"detail":DETAIL,
 *  "code":CODE,"requestId":ID} as application/problem+json. detail may be
 * NULL (then omitted); request_id may be NULL (omitted). Headers added
 * before (Allow, WWW-Authenticate, Retry-After) go out with it.
 */
void problem_send(struct http_exchange *ex, int status, const char *code,
                  const char *detail, const char *request_id);

/* The SPEC §7.2 code for a status ("route-not-found" for 404). */
const char *problem_code(int status);

#endif
