/*
 * answer.c - the operations that exercise the answering calls of
 * aster/http.h with arguments from the query, good and bad:
 *
 *   headers   tries aster_add_header() on each entry of header_tries[]
 *             and answers 200 {"results": [{"name", "value", "rc"}]}:
 *             the good ones must return 0 and reach the client, the bad
 *             ones -1 and not reach it.
 *   status    aster_respond(code, type, body) from the query parameters
 *             of those names (type and body absent: NULL), with the
 *             header X-Probe-Method: METHOD; the return value goes to
 *             the log (event "answered", op "status").
 *   problem   aster_problem(status, code, detail) with n errors from
 *             problem_error() (detail absent: NULL; n 0: no errors),
 *             after adding `header=NAME:VALUE` (if given); logged as
 *             status is.
 *   fail      returns -1 without answering.
 *   describe  aster_describe(view) answered with the status it gives,
 *             or, when it gives NULL, the provider's own 404 problem.
 */
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What `headers` tries; tests/integration/test_provider_http.c holds
 * the same table's expectations. */
static const struct {
	const char *name;
	const char *value;
} header_tries[] = {
	{"X-Good", "yes"},
	{"X-Empty", ""},
	{"Cache-Control", "no-store"},
	{"Set-Cookie", "a=1"},
	{"Set-Cookie", "b=2"},
	{"X-Tab", "a\tb"},
	{"Bad Name", "x"},
	{"", "x"},
	{"X:Colon", "x"},
	{"X-\xc3\x9c", "x"},
	{"X-CR", "a\rb"},
	{"X-LF", "a\nb"},
	{"X-Split", "a\r\nX-Injected: 1"},
	{"Content-Length", "5"},
	{"content-length", "5"},
	{"Transfer-Encoding", "chunked"},
	{"Connection", "upgrade"},
	{"CONNECTION", "upgrade"},
	{"Content-Type", "text/evil"},
	{"content-type", "text/evil"},
};

int
probe_headers(void *state, struct aster_request *r)
{
	json_object *o = json_object_new_object();
	json_object *results = json_object_new_array();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(header_tries) / sizeof(header_tries[0]); i++) {
		json_object *e = json_object_new_object();
		int rc = aster_add_header(r, header_tries[i].name,
		                          header_tries[i].value);

		json_object_object_add(e, "name",
		    json_object_new_string(header_tries[i].name));
		json_object_object_add(e, "value",
		    json_object_new_string(header_tries[i].value));
		json_object_object_add(e, "rc", json_object_new_int(rc));
		json_object_array_add(results, e);
	}
	json_object_object_add(o, "results", results);
	probe_respond_object(r, 200, o);
	return 0;
}

int
probe_status(void *state, struct aster_request *r)
{
	const char *type = aster_query(r, "type", 0);
	const char *body = aster_query(r, "body", 0);
	char id[160];
	int rc;

	snprintf(id, sizeof(id), "%s", aster_request_id(r));
	if (aster_add_header(r, "X-Probe-Method", aster_method(r)) != 0)
		return -1;
	rc = aster_respond(r, (int)probe_query_long(r, "code", 0), type, body,
	                   body != NULL ? strlen(body) : 0);
	probe_log(state, "status", "answered", id, PROBE_UNSET, rc,
	          PROBE_UNSET);
	return 0;
}

/*
 * The ith error of a problem: texts that need escaping in JSON (quote,
 * backslash, tab, a control character, a JSON Pointer's ~1, non-ASCII
 * UTF-8) and name i, so that a test can tell which errors were kept.
 */
static void
problem_error(size_t i, char *pointer, size_t plen, char *detail,
              size_t dlen)
{
	snprintf(pointer, plen, "/items/%zu/na\"me~1x\\y", i);
	snprintf(detail, dlen, "error %zu: \"quoted\" \\ tab\there \x01 "
	         "caf\xc3\xa9 </script>", i);
}

int
probe_problem(void *state, struct aster_request *r)
{
	long n = probe_query_long(r, "n", 0);
	const char *header = aster_query(r, "header", 0);
	struct aster_problem_error *errors = NULL;
	char (*texts)[2][128] = NULL, id[160], name[128];
	const char *colon;
	long i;
	int rc;

	snprintf(id, sizeof(id), "%s", aster_request_id(r));
	if (header != NULL && (colon = strchr(header, ':')) != NULL) {
		snprintf(name, sizeof(name), "%.*s", (int)(colon - header),
		         header);
		if (aster_add_header(r, name, colon + 1) != 0)
			return -1;
	}
	if (n > 0 && n <= 1000) {
		errors = calloc((size_t)n, sizeof(*errors));
		texts = calloc((size_t)n, sizeof(*texts));
		if (errors == NULL || texts == NULL) {
			free(errors);
			free(texts);
			return -1;
		}
		for (i = 0; i < n; i++) {
			problem_error((size_t)i, texts[i][0], sizeof(texts[i][0]),
			              texts[i][1], sizeof(texts[i][1]));
			errors[i].pointer = texts[i][0];
			errors[i].detail = texts[i][1];
		}
	}
	rc = aster_problem(r, (int)probe_query_long(r, "status", 0),
	                   aster_query(r, "code", 0),
	                   aster_query(r, "detail", 0), errors,
	                   errors != NULL ? (size_t)n : 0);
	free(errors);
	free(texts);
	probe_log(state, "problem", "answered", id, PROBE_UNSET, rc,
	          PROBE_UNSET);
	return 0;
}

int
probe_fail(void *state, struct aster_request *r)
{
	(void)state;
	(void)r;
	return -1;
}

int
probe_describe(void *state, struct aster_request *r)
{
	const char *view = aster_query(r, "view", 0);
	int status = 0;
	char *json, detail[200];

	(void)state;
	json = aster_describe(r, view != NULL ? view : "", &status);
	if (json == NULL) {
		snprintf(detail, sizeof(detail), "no view '%s'",
		         view != NULL ? view : "");
		aster_problem(r, 404, "not-found", detail, NULL, 0);
		return 0;
	}
	aster_respond_json(r, status, json);
	free(json);
	return 0;
}
