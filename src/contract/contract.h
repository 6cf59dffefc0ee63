/*
 * contract.h - request body validation against the routes' JSON Schemas
 * (SPEC §14).
 *
 * A contract is what one configuration generation compiled from its
 * routes' `request.schema`s: a tree per schema, `$ref`s resolved to the
 * named schemas they point at (across modules too), patterns compiled by
 * PCRE2 with their JIT, enum and const values typed once. A request then
 * costs a lookup of its route, one strict parse of its body and one walk
 * of the tree: no regular expression is compiled, no keyword allocates.
 *
 * Semantics are JSON Schema 2020-12's for the subset of §14: numbers
 * compare by value (1.0 is an integer; integers within int64 exactly,
 * others as the nearest double, as JavaScript reads them), string lengths
 * count code points, enum and const compare JSON values exactly (false is
 * not 0, 1 equals 1.0), annotations are ignored.
 *
 * A contract is used by one thread at a time: checks share its scratch
 * memory, its PCRE2 match data and JIT stack (the event loop is one
 * thread). The errors of a check live in that scratch until the next
 * check on the same contract.
 */
#ifndef ASTER_CONTRACT_H
#define ASTER_CONTRACT_H

#include <stddef.h>

struct config;
struct json_object;
struct route;

struct contract;
struct contract_schema;

/* At most this many errors are reported for one body (SPEC §14). */
#define CONTRACT_MAX_ERRORS 20

/* One way the body breaks its schema. */
struct contract_error {
	const char *pointer;    /* RFC 6901 ("" for the whole body) */
	const char *detail;     /* one line, for people */
};

enum contract_verdict {
	CONTRACT_VALID = 0,
	CONTRACT_INVALID_JSON,  /* not one JSON text: 400 invalid-json */
	CONTRACT_INVALID,       /* breaks the schema: 422 validation-failed */
	CONTRACT_NO_MEMORY,     /* could not finish: 500 */
};

struct contract_report {
	/* CONTRACT_INVALID: the errors in document order, at most
	 * CONTRACT_MAX_ERRORS; truncated says more were found. */
	size_t nerrors;
	int truncated;
	struct contract_error errors[CONTRACT_MAX_ERRORS];
	/* CONTRACT_INVALID_JSON: what is wrong, with its byte offset. */
	char why[128];
};

/*
 * Compiles the request schemas of cfg's routes (cfg validated: every
 * schema passed config/jsonschema.c and every $ref resolves) and the
 * named schemas they reach, in route order. cfg must outlive the
 * contract. Returns NULL when out of memory.
 */
struct contract *contract_compile(const struct config *cfg);

/* Frees c and everything compiled in it; NULL is a no-op. */
void contract_free(struct contract *c);

/*
 * The compiled request schema of route r (a route of the config c was
 * compiled from), or NULL when r has none. A hash lookup on the route's
 * address, answered at once for a contract without schemas.
 */
const struct contract_schema *contract_request_schema(
    const struct contract *c, const struct route *r);

/* How many request schemas c holds (routes that validate bodies). */
size_t contract_count(const struct contract *c);

/*
 * Checks the JSON text[0..len) against s, a schema of c: it must be one
 * JSON value (RFC 8259, strictly: UTF-8, nothing after the value, nesting
 * at most 64 deep; an empty text is not JSON) and match s. Fills out as
 * the verdict says. The pointers and details live until the next check
 * on c.
 */
enum contract_verdict contract_check_text(struct contract *c,
                                          const struct contract_schema *s,
                                          const char *text, size_t len,
                                          struct contract_report *out);

/*
 * The same for a value already parsed by json-c (NULL is JSON null).
 * CONTRACT_INVALID_JSON when a string of o is not UTF-8 or o nests
 * deeper than 64. json-c keeps one member of a name given twice, and
 * its member names end at a NUL byte: contract_check_text() sees both
 * members, and whole names.
 */
enum contract_verdict contract_check_json(struct contract *c,
                                          const struct contract_schema *s,
                                          const struct json_object *o,
                                          struct contract_report *out);

/*
 * 1 when a Content-Type header value names JSON the way a route with a
 * schema takes it: `application/json` (any case), with no parameter but
 * an optional charset of utf-8 (any case, quoted or not); 0 otherwise,
 * also for NULL (no header).
 */
int contract_json_media_type(const char *content_type);

#endif
