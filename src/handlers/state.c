/*
 * state.c - the internal state API (SPEC §8), operations `state` and
 * `state-list` of the built-in gateway provider: the entry point and what
 * both operations share (names, the store, errors).
 *
 *   GET|HEAD|PUT|DELETE .../{namespace}/{key}   one JSON document
 *                                               (state_doc.c)
 *   GET .../{namespace}?prefix=&limit=&cursor=  a page of documents
 *                                               (state_list.c)
 *
 * The documents live in the state store the route's module reaches
 * (aster/store.h): its own when it provides state-store, else the one it
 * needs. Every store call answers later, so each request keeps a small
 * state of its own until its callback responds; the exchange itself
 * lives until answered, even if the client has gone or the server has
 * answered 504 in its place (the callback's answer is then dropped).
 */
#include "handlers/state.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include <aster/http.h>

#include "util/utf8.h"

int
state_valid_namespace(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > STATE_NAMESPACE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

int
state_valid_key(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, len;

	if (n == 0 || n > STATE_KEY_MAX)
		return 0;
	for (; i < n; i += len)
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (len = utf8_sequence(p + i, n - i)) == 0)
			return 0;
	return 1;
}

const char *
state_param_from_end(const struct aster_request *r, size_t back)
{
	const char *name, *value;
	size_t n = 0;

	while (aster_param_at(r, n, &name, &value))
		n++;
	if (back == 0 || n < back)
		return NULL;
	aster_param_at(r, n - back, &name, &value);
	return value;
}

const struct aster_store *
state_store_or_answer(struct aster_request *r)
{
	const struct aster_store *s = aster_request_store(r);

	if (s == NULL) {
		aster_add_header(r, "Retry-After", "1");
		aster_problem(r, 503, "unavailable", "no state store is "
		              "running for this module", NULL, 0);
	}
	return s;
}

void
state_send_store_error(struct aster_request *r, enum aster_store_status st,
                       const char *error)
{
	char detail[512];

	if (st == ASTER_STORE_UNAVAILABLE) {
		snprintf(detail, sizeof(detail), "the state store is "
		         "unavailable%s%s", error != NULL ? ": " : "",
		         error != NULL ? error : "");
		aster_add_header(r, "Retry-After", "1");
		aster_problem(r, 503, "unavailable", detail, NULL, 0);
		return;
	}
	snprintf(detail, sizeof(detail), "the state store failed: %s",
	         error != NULL ? error : "unknown error");
	aster_problem(r, 500, "internal", detail, NULL, 0);
}

void
state_send_out_of_memory(struct aster_request *r)
{
	aster_problem(r, 500, "internal", "out of memory", NULL, 0);
}

void
state_send_json(struct aster_request *r, int status, json_object *o)
{
	size_t len;
	const char *text = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	aster_respond(r, status, "application/json", text, len);
	json_object_put(o);
}
