/*
 * test_provider_http.c - the provider request API (aster/http.h, SPEC
 * §18, with §7.2-7.4) as a provider sees it and as a client sees it.
 *
 * Each test starts asterd on confs/provider-http: the test provider
 * httpprobe (tests/providers/httpprobe/) behind routes of every scope
 * and shape, module `auth` with API keys made by asterctl over the
 * control socket, SQLite in a fresh run directory ($PH_RUN), and a
 * request deadline ($PH_TIMEOUT_MS) of 1000 ms, scaled like every wait
 * (longer where a test needs the deadline out of its way).
 *
 * The operation `inspect` answers, as JSON, everything it read through
 * the API; the others answer with good and bad arguments; `later` and
 * `hang` hold requests, and what became of them afterwards (abandoned?
 * alive? what did the late answer return?) is read back from `log`.
 * Run it under valgrind too (INTEG_VALGRIND=1): a request used after its
 * answer, or never released, shows there.
 */
#include "integ.h"

#include <aster/http.h>

/* SPEC 14: at most 20 errors in a problem. */
_Static_assert(ASTER_PROBLEM_MAX_ERRORS == 20, "errors are capped at 20");

#define TOKEN_MAX 512

static struct aster_test *T;
static char *RUN;
static char ENV_RUN[PATH_MAX + 16];
static char ENV_TIMEOUT[64];
static char ENV_SHUTDOWN[64];
static int TIMEOUT_MS;

/* --- the product -------------------------------------------------------- */

static void
start_with(int timeout_ms, int shutdown_ms)
{
	const char *env[4] = {ENV_RUN, ENV_TIMEOUT, ENV_SHUTDOWN, NULL};

	RUN = integ_tempdir();
	TIMEOUT_MS = timeout_ms;
	snprintf(ENV_RUN, sizeof(ENV_RUN), "PH_RUN=%s", RUN);
	snprintf(ENV_TIMEOUT, sizeof(ENV_TIMEOUT), "PH_TIMEOUT_MS=%d",
	         timeout_ms);
	snprintf(ENV_SHUTDOWN, sizeof(ENV_SHUTDOWN), "PH_SHUTDOWN_MS=%d",
	         shutdown_ms);
	T = integ_start("provider-http", env);
}

/* The usual deadline: 1000 ms, scaled. */
static void
start(void)
{
	start_with(aster_test_timeout(1000), 3000);
}

static void
teardown(void)
{
	if (T != NULL)
		integ_stop(T);
	T = NULL;
	if (RUN != NULL)
		aster_test_remove_tree(RUN);
	free(RUN);
	RUN = NULL;
}

/* `asterctl keys create` over this product's control socket. */
static void
make_key(const char *role, const char *name, const char *spaces,
         struct integ_key *k)
{
	char sock[PATH_MAX];

	snprintf(sock, sizeof(sock), "%s/control.sock", RUN);
	integ_key_create(sock, role, name, spaces, k);
}

/* --- requests --------------------------------------------------------------- */

/* "X-Request-Id: id" (when id is not NULL) and more (NULL-terminated, up
 * to 8, may be NULL) into hs, which holds 10. */
static const char *const *
headers_with_id(const char *id, const char *const *more, char *idline,
                size_t len, const char **hs)
{
	int n = 0;

	if (id != NULL) {
		snprintf(idline, len, "X-Request-Id: %s", id);
		hs[n++] = idline;
	}
	while (more != NULL && *more != NULL && n < 9)
		hs[n++] = *more++;
	hs[n] = NULL;
	return hs;
}

/* One request on a new connection; fails the test when no response
 * came. */
static void
req(const char *scope, const char *method, const char *path, const char *id,
    const char *const *more, const void *body, size_t len,
    struct aster_test_response *r)
{
	char idline[256];
	const char *hs[10];
	int rc = aster_test_request(T, scope, method, path,
	    headers_with_id(id, more, idline, sizeof(idline), hs), body, len,
	    r);

	ck_assert_msg(rc == 0, "%s %s on the %s listener: %s", method, path,
	              scope, r->error);
}

/* The same on the open connection c. */
static void
conn_req(struct aster_test_conn *c, const char *method, const char *path,
         const char *id, const char *const *more,
         struct aster_test_response *r)
{
	char idline[256];
	const char *hs[10];
	int rc = aster_test_conn_request(c, method, path,
	    headers_with_id(id, more, idline, sizeof(idline), hs), NULL, 0, r);

	ck_assert_msg(rc == 0, "%s %s on a kept connection: %s", method, path,
	              r->error);
}

/* The JSON object `inspect` answered in r: 200, application/json. */
static json_object *
inspected(const struct aster_test_response *r, const char *what)
{
	const char *ct = aster_test_header(r, "Content-Type");

	ck_assert_msg(r->status == 200, "%s: %d, expected 200; body: %s",
	              what, r->status, r->body);
	ck_assert_msg(ct != NULL && strncmp(ct, "application/json", 16) == 0,
	              "%s: Content-Type '%s', expected application/json",
	              what, ct != NULL ? ct : "(none)");
	return integ_json(r);
}

/* inspect's view of one request (see inspected()); the caller puts it. */
static json_object *
inspect(const char *scope, const char *method, const char *path,
        const char *const *headers, const void *body, size_t len)
{
	struct aster_test_response r;
	json_object *o;

	req(scope, method, path, NULL, headers, body, len, &r);
	o = inspected(&r, path);
	aster_test_response_free(&r);
	return o;
}

/* --- JSON --------------------------------------------------------------------- */

static const char *
text(json_object *o)
{
	return o != NULL ? json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "null";
}

/* o[key], which must be present (it may be JSON null: NULL). */
static json_object *
member(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(o != NULL && json_object_object_get_ex(o, key, &v),
	              "no member '%s' in %s", key, text(o));
	return v;
}

/* o[key] is the string want, or JSON null when want is NULL. */
static void
assert_str(json_object *o, const char *key, const char *want)
{
	json_object *v = member(o, key);

	if (want == NULL) {
		ck_assert_msg(v == NULL, "'%s' is %s, expected null in %s", key,
		              text(v), text(o));
		return;
	}
	ck_assert_msg(v != NULL && json_object_is_type(v, json_type_string) &&
	              strcmp(json_object_get_string(v), want) == 0,
	              "'%s' is %s, expected \"%s\" in %s", key, text(v), want,
	              text(o));
}

/* o[key] is the integer want. */
static void
assert_int(json_object *o, const char *key, long long want)
{
	json_object *v = member(o, key);

	ck_assert_msg(v != NULL && json_object_is_type(v, json_type_int) &&
	              json_object_get_int64(v) == want,
	              "'%s' is %s, expected %lld in %s", key, text(v), want,
	              text(o));
}

/* o[key] is the boolean want. */
static void
assert_bool(json_object *o, const char *key, int want)
{
	json_object *v = member(o, key);

	ck_assert_msg(v != NULL && json_object_is_type(v, json_type_boolean) &&
	              json_object_get_boolean(v) == want,
	              "'%s' is %s, expected %s in %s", key, text(v),
	              want ? "true" : "false", text(o));
}

/* v is the JSON array of the strings want (NULL-terminated). */
static void
assert_strings(json_object *v, const char *const *want, const char *what)
{
	size_t i, n = 0;

	while (want[n] != NULL)
		n++;
	ck_assert_msg(v != NULL && json_object_is_type(v, json_type_array) &&
	              json_object_array_length(v) == n,
	              "%s is %s, expected %zu strings", what, text(v), n);
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);

		ck_assert_msg(e != NULL && json_object_is_type(e,
		              json_type_string) && strcmp(
		              json_object_get_string(e), want[i]) == 0,
		              "%s[%zu] is %s, expected \"%s\" (all: %s)", what,
		              i, text(e), want[i], text(v));
	}
}

/* list is [[name, value], ...] of the n pairs want, in order. */
static void
assert_pairs(json_object *list, const char *const (*want)[2], size_t n,
             const char *what)
{
	size_t i;

	ck_assert_msg(list != NULL && json_object_is_type(list,
	              json_type_array) && json_object_array_length(list) == n,
	              "%s gave %s, expected %zu pairs", what, text(list), n);
	for (i = 0; i < n; i++) {
		const char *const pair[] = {want[i][0], want[i][1], NULL};

		assert_strings(json_object_array_get_idx(list, i), pair, what);
	}
}

/* The [name, value] pairs of list (inspect's query_list, header_list)
 * named name, compared exactly. */
static size_t
pairs_named(json_object *list, const char *name, int nocase,
            const char **values, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < json_object_array_length(list); i++) {
		json_object *p = json_object_array_get_idx(list, i);
		const char *pn = json_object_get_string(
		    json_object_array_get_idx(p, 0));

		if (pn == NULL || (nocase ? strcasecmp(pn, name) :
		    strcmp(pn, name)) != 0)
			continue;
		if (n < max)
			values[n] = json_object_get_string(
			    json_object_array_get_idx(p, 1));
		n++;
	}
	return n;
}

/* --- the event log of `later` and `hang` ---------------------------------- */

/* The events of request id in httpprobe's log. */
static json_object *
log_of(const char *id)
{
	struct aster_test_response r;
	char path[256];
	json_object *o, *entries;

	snprintf(path, sizeof(path), "/t/log?id=%s", id);
	req("public", "GET", path, NULL, NULL, NULL, 0, &r);
	ck_assert_msg(r.status == 200, "GET %s: %d; body: %s", path, r.status,
	              r.body);
	o = integ_json(&r);
	aster_test_response_free(&r);
	entries = json_object_get(member(o, "entries"));
	json_object_put(o);
	return entries;
}

/* The nth (from 0) event named event in log, or NULL. */
static json_object *
event_in(json_object *log, const char *event, int nth)
{
	size_t i;

	for (i = 0; i < json_object_array_length(log); i++) {
		json_object *e = json_object_array_get_idx(log, i), *v;

		if (json_object_object_get_ex(e, "event", &v) &&
		    strcmp(json_object_get_string(v), event) == 0 &&
		    nth-- == 0)
			return e;
	}
	return NULL;
}

static int
events_in(json_object *log, const char *event)
{
	int n = 0;

	while (event_in(log, event, n) != NULL)
		n++;
	return n;
}

/* Polls the log of request id until it holds event, for up to ms:
 * returns the log (put it), which fails the test when it does not. */
static json_object *
wait_event(const char *id, const char *event, int ms)
{
	uint64_t until = integ_ms_now() + (uint64_t)ms;
	json_object *log;

	for (;;) {
		log = log_of(id);
		if (event_in(log, event, 0) != NULL)
			return log;
		if (integ_ms_now() >= until)
			break;
		json_object_put(log);
		integ_sleep_ms(50);
	}
	ck_abort_msg("request %s: no '%s' event within %d ms; its log: %s",
	             id, event, ms, text(log));
	return NULL;
}

/* Occurrences of needle in hay. */
static int
count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* --- reading the request ------------------------------------------------- */

/* Route parameters decoded once ({first}: "a%252Fb" is "a%2Fb"), an
 * encoded slash inside one, a name the route lacks, all of them in
 * mountPath order; the decoded, normalised path; and what a public route
 * with a store reports. */
START_TEST(test_params_and_path)
{
	static const char *const both[][2] = {
		{"first", "a b"}, {"second", "c/d"},
	};
	json_object *o, *params;

	start();
	o = inspect("public", "GET", "/t/inspect/a%20b/c%2Fd?param=first&"
	            "param=second&param=nope&param=*", NULL, NULL, 0);
	assert_str(o, "method", "GET");
	assert_str(o, "path", "/t/inspect/a b/c/d");
	params = member(o, "params");
	assert_str(params, "first", "a b");
	assert_str(params, "second", "c/d");
	assert_str(params, "nope", NULL);
	assert_str(params, "*", NULL);
	assert_pairs(member(o, "param_list"), both, 2, "aster_param_at");
	assert_str(o, "credential", NULL);
	assert_str(o, "space", NULL);
	assert_str(o, "client", "127.0.0.1");
	assert_bool(o, "store", 1);
	assert_int(o, "alive", 1);
	assert_int(o, "body_length", 0);
	json_object_put(o);

	o = inspect("public", "GET", "/t/inspect/a%252Fb/%C3%A9?param=first&"
	            "param=second", NULL, NULL, 0);
	params = member(o, "params");
	assert_str(params, "first", "a%2Fb");
	assert_str(params, "second", "\xc3\xa9");
	assert_str(o, "path", "/t/inspect/a%2Fb/\xc3\xa9");
	json_object_put(o);

	/* Dot segments are resolved before matching (SPEC 7.1). */
	o = inspect("public", "GET", "/t/inspect/./zz/../x/y?param=first&"
	            "param=second", NULL, NULL, 0);
	assert_str(o, "path", "/t/inspect/x/y");
	params = member(o, "params");
	assert_str(params, "first", "x");
	assert_str(params, "second", "y");
	json_object_put(o);
}
END_TEST

/* A prefix route: "*" is the rest below the mount path, still
 * percent-encoded ("" at the mount path itself). */
START_TEST(test_prefix_rest)
{
	json_object *o;

	start();
	o = inspect("public", "GET", "/t/tree?param=*", NULL, NULL, 0);
	assert_str(member(o, "params"), "*", "");
	assert_str(o, "path", "/t/tree");
	json_object_put(o);

	o = inspect("public", "GET", "/t/tree/x/y%2Fz?param=*", NULL, NULL, 0);
	assert_str(member(o, "params"), "*", "/x/y%2Fz");
	assert_str(o, "path", "/t/tree/x/y/z");
	/* "*" is no parameter of the mountPath. */
	ck_assert_msg(json_object_array_length(member(o, "param_list")) == 0,
	              "aster_param_at on a prefix route: %s",
	              text(member(o, "param_list")));
	json_object_put(o);

	o = inspect("public", "GET", "/t/tree/a%20b/../c?param=*&param=x",
	            NULL, NULL, 0);
	assert_str(member(o, "params"), "*", "/c");
	assert_str(member(o, "params"), "x", NULL);
	json_object_put(o);
}
END_TEST

/* Repeated keys in order, '+' and %XX decoded in names and values, "?d"
 * as "", names compared exactly, absent names as no values. */
START_TEST(test_query)
{
	static const char *const a[] = {"1", "2", NULL};
	static const char *const b[] = {"x y", NULL};
	static const char *const c[] = {"A+&", NULL};
	static const char *const empty[] = {"", NULL};
	static const char *const nm[] = {"v=", NULL};
	static const char *const up[] = {"up", NULL};
	static const char *const none[] = {NULL};
	static const char *const order[][2] = {
		{"a", "1"}, {"b", "x y"}, {"a", "2"}, {"c", "A+&"}, {"d", ""},
		{"e", ""}, {"n m", "v="}, {"A", "up"}, {"ask", "a"},
		{"ask", "zz"}, {"ask", "A"},
	};
	json_object *o, *q, *asked;

	start();
	o = inspect("public", "GET", "/t/inspect?a=1&b=x+y&a=2&c=%41%2B%26&d&"
	            "e=&n%20m=v%3D&A=up&ask=a&ask=zz&ask=A", NULL, NULL, 0);
	q = member(o, "query");
	assert_strings(member(q, "a"), a, "query a");
	assert_strings(member(q, "b"), b, "query b");
	assert_strings(member(q, "c"), c, "query c");
	assert_strings(member(q, "d"), empty, "query d");
	assert_strings(member(q, "e"), empty, "query e");
	assert_strings(member(q, "n m"), nm, "query 'n m'");
	assert_strings(member(q, "A"), up, "query A");
	asked = member(o, "asked");
	assert_strings(member(asked, "a"), a, "aster_query(a)");
	assert_strings(member(asked, "A"), up, "aster_query(A)");
	assert_strings(member(asked, "zz"), none, "aster_query(zz)");
	assert_pairs(member(o, "query_list"), order,
	             sizeof(order) / sizeof(order[0]), "aster_query_at");
	json_object_put(o);

	o = inspect("public", "GET", "/t/inspect", NULL, NULL, 0);
	ck_assert_uint_eq(json_object_array_length(member(o, "query_list")),
	                  0);
	json_object_put(o);
	o = inspect("public", "GET", "/t/inspect?", NULL, NULL, 0);
	ck_assert_uint_eq(json_object_array_length(member(o, "query_list")),
	                  0);
	json_object_put(o);
}
END_TEST

/* aster_header(): case-insensitive, the first of repeated ones, no
 * surrounding whitespace; aster_header_at(): every one as received. */
START_TEST(test_request_headers)
{
	static const char *const hs[] = {
		"X-Probe-Thing: v1", "x-dup: one", "X-Dup: two",
		"X-Padded:   padded value  ", NULL,
	};
	const char *vals[4];
	json_object *o, *h, *list;

	start();
	o = inspect("public", "GET", "/t/inspect?header=x-probe-thing&"
	            "header=X-PROBE-THING&header=X-Dup&header=x-padded&"
	            "header=X-Missing&header=host", hs, NULL, 0);
	h = member(o, "headers");
	assert_str(h, "x-probe-thing", "v1");
	assert_str(h, "X-PROBE-THING", "v1");
	assert_str(h, "X-Dup", "one");
	assert_str(h, "x-padded", "padded value");
	assert_str(h, "X-Missing", NULL);
	ck_assert_msg(member(h, "host") != NULL, "no Host header: %s",
	              text(o));
	list = member(o, "header_list");
	ck_assert_msg(pairs_named(list, "X-Probe-Thing", 0, vals, 4) == 1 &&
	              strcmp(vals[0], "v1") == 0, "aster_header_at does not "
	              "give X-Probe-Thing: v1 as received: %s", text(list));
	ck_assert_msg(pairs_named(list, "x-dup", 1, vals, 4) == 2 &&
	              strcmp(vals[0], "one") == 0 && strcmp(vals[1], "two") ==
	              0, "aster_header_at does not give x-dup: one, then "
	              "X-Dup: two: %s", text(list));
	ck_assert_msg(pairs_named(list, "x-dup", 0, vals, 4) == 1 &&
	              pairs_named(list, "X-Dup", 0, vals, 4) == 1,
	              "aster_header_at does not keep the names' case as "
	              "received: %s", text(list));
	ck_assert_msg(pairs_named(list, "Host", 1, vals, 4) == 1,
	              "aster_header_at without Host: %s", text(list));
	json_object_put(o);
}
END_TEST

/* The whole body, bytes as sent (a NUL inside too), chunked or not; the
 * method as received; over max_body_bytes the request never arrives. */
START_TEST(test_body_and_methods)
{
	static const char text_body[] = "hello \"world\"\n\\ caf\xc3\xa9";
	static const char binary[] = {'a', '\0', 'b'};
	static const char *const plain[] = {"Content-Type: text/plain", NULL};
	static const char chunked[] =
	    "POST /t/inspect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
	struct aster_test_response r;
	json_object *o, *b;
	char *big;

	start();
	o = inspect("public", "POST", "/t/inspect", plain, text_body,
	            strlen(text_body));
	assert_str(o, "method", "POST");
	assert_int(o, "body_length", (long long)strlen(text_body));
	assert_str(o, "body", text_body);
	json_object_put(o);

	o = inspect("public", "PUT", "/t/inspect", plain, binary,
	            sizeof(binary));
	assert_str(o, "method", "PUT");
	assert_int(o, "body_length", 3);
	b = member(o, "body");
	ck_assert_msg(b != NULL && json_object_get_string_len(b) == 3 &&
	              memcmp(json_object_get_string(b), binary, 3) == 0,
	              "body with a NUL inside is %s", text(b));
	json_object_put(o);

	o = inspect("public", "DELETE", "/t/inspect", NULL, NULL, 0);
	assert_str(o, "method", "DELETE");
	assert_int(o, "body_length", 0);
	json_object_put(o);

	ck_assert_int_eq(aster_test_raw(T, "public", chunked,
	                                sizeof(chunked) - 1, &r), 0);
	o = inspected(&r, "a chunked POST");
	assert_int(o, "body_length", 11);
	assert_str(o, "body", "hello world");
	json_object_put(o);
	aster_test_response_free(&r);

	/* 65536 is the limit. */
	big = malloc(65537);
	ck_assert(big != NULL);
	memset(big, 'x', 65537);
	req("public", "POST", "/t/inspect", NULL, plain, big, 65537, &r);
	integ_assert_problem(&r, 413, "payload-too-large");
	aster_test_response_free(&r);
	free(big);
}
END_TEST

/* HEAD on a GET route reaches the operation as "HEAD"; asterd sends the
 * GET answer's headers and no body. */
START_TEST(test_head)
{
	struct aster_test_conn *c;
	struct aster_test_response r;
	const char *len;

	start();
	c = aster_test_connect(T, "public");
	ck_assert_ptr_nonnull(c);
	conn_req(c, "HEAD", "/t/status?code=200&type=text/plain&body=hello",
	         NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(aster_test_header(&r, "X-Probe-Method") != NULL &&
	              strcmp(aster_test_header(&r, "X-Probe-Method"), "HEAD")
	              == 0, "the operation did not see HEAD: X-Probe-Method "
	              "'%s'", aster_test_header(&r, "X-Probe-Method"));
	len = aster_test_header(&r, "Content-Length");
	ck_assert_msg(len != NULL && strcmp(len, "5") == 0, "HEAD "
	              "Content-Length '%s', expected that of GET (5)",
	              len != NULL ? len : "(none)");
	ck_assert_uint_eq(r.body_len, 0);
	aster_test_response_free(&r);
	/* No body followed: the next answer on c parses. */
	conn_req(c, "GET", "/t/status?code=200&type=text/plain&body=hello",
	         NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "hello");
	ck_assert_str_eq(aster_test_header(&r, "X-Probe-Method"), "GET");
	aster_test_response_free(&r);
	conn_req(c, "HEAD", "/t/inspect", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(aster_test_header(&r, "X-Probe-Method"), "HEAD");
	ck_assert_uint_eq(r.body_len, 0);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
}
END_TEST

/* A W3C trace id: 32 lower-case hex digits, not all zero. */
static int
lower_hex32(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 32 ||
	    strcmp(s, "00000000000000000000000000000000") == 0)
		return 0;
	for (i = 0; i < 32; i++)
		if (strchr("0123456789abcdef", s[i]) == NULL)
			return 0;
	return 1;
}

/* The request id as given (X-Request-Id) or generated, and the W3C trace
 * id of traceparent or a new one: what the provider reads is what the
 * client sees. */
START_TEST(test_request_identity)
{
	static const char *const tp[] = {
		"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-"
		"00f067aa0ba902b7-01", NULL,
	};
	static const char *const bad_tp[] = {"traceparent: 00-xyz-01", NULL};
	struct aster_test_response r;
	json_object *o, *o2;
	char first[40];

	start();
	req("public", "GET", "/t/inspect", "ph-given.id_1~", tp, NULL, 0, &r);
	o = inspected(&r, "with X-Request-Id");
	assert_str(o, "request_id", "ph-given.id_1~");
	ck_assert_str_eq(aster_test_header(&r, "X-Request-Id"),
	                 "ph-given.id_1~");
	assert_str(o, "trace_id", "4bf92f3577b34da6a3ce929d0e0e4736");
	json_object_put(o);
	aster_test_response_free(&r);

	req("public", "GET", "/t/inspect", NULL, NULL, NULL, 0, &r);
	o = inspected(&r, "without X-Request-Id");
	ck_assert_msg(integ_valid_request_id(aster_test_header(&r,
	              "X-Request-Id")), "no valid X-Request-Id generated");
	assert_str(o, "request_id", aster_test_header(&r, "X-Request-Id"));
	ck_assert_msg(lower_hex32(integ_json_str(o, "trace_id")), "generated "
	              "trace id %s is not 32 lower-case hex digits, not all "
	              "zero", text(member(o, "trace_id")));
	snprintf(first, sizeof(first), "%s", integ_json_str(o, "trace_id"));
	aster_test_response_free(&r);

	o2 = inspect("public", "GET", "/t/inspect", bad_tp, NULL, 0);
	ck_assert_msg(lower_hex32(integ_json_str(o2, "trace_id")) &&
	              strcmp(integ_json_str(o2, "trace_id"), first) != 0,
	              "a malformed traceparent gave trace id %s (the one "
	              "before: %s)", text(member(o2, "trace_id")), first);
	json_object_put(o2);
	json_object_put(o);

	/* An invalid X-Request-Id (a space) is replaced, for the provider
	 * too. */
	{
		static const char *const bad_id[] = {
			"X-Request-Id: has space", NULL,
		};

		req("public", "GET", "/t/inspect", NULL, bad_id, NULL, 0, &r);
		o = inspected(&r, "with an invalid X-Request-Id");
		ck_assert_msg(integ_valid_request_id(aster_test_header(&r,
		              "X-Request-Id")), "no valid X-Request-Id");
		assert_str(o, "request_id", aster_test_header(&r,
		           "X-Request-Id"));
		json_object_put(o);
		aster_test_response_free(&r);
	}
}
END_TEST

/* The internal route on its unix listener: client "unix", no
 * credential; a module without a state store: store NULL. */
START_TEST(test_client_and_store)
{
	json_object *o;
	struct aster_test_response r;

	start();
	o = inspect("internal", "POST", "/gateway/v1/internal/probe", NULL,
	            "{}", 2);
	assert_str(o, "client", "unix");
	assert_str(o, "credential", NULL);
	assert_bool(o, "store", 1);
	json_object_put(o);

	o = inspect("public", "GET", "/t/bare", NULL, NULL, 0);
	assert_bool(o, "store", 0);
	assert_str(o, "client", "127.0.0.1");
	json_object_put(o);

	/* Not on the public listener (SPEC 7.4). */
	req("public", "GET", "/gateway/v1/internal/probe", NULL, NULL, NULL, 0,
	    &r);
	integ_assert_problem(&r, 404, "route-not-found");
	aster_test_response_free(&r);
}
END_TEST

/* --- credentials ---------------------------------------------------------- */

static void
bearer(char *buf, size_t len, const struct integ_key *k)
{
	snprintf(buf, len, "Authorization: Bearer %s", k->token);
}

/* The credential inspect saw, for key k: kind, id, name, role, spaces
 * (NULL: not limited). */
static void
assert_credential(json_object *o, const struct integ_key *k, const char *name,
                  const char *role, const char *const *spaces)
{
	json_object *c = member(o, "credential");

	ck_assert_msg(c != NULL, "no credential: %s", text(o));
	assert_str(c, "kind", "api-key");
	assert_str(c, "id", k->id);
	assert_str(c, "name", name);
	assert_str(c, "role", role);
	if (spaces == NULL)
		assert_str(c, "spaces", NULL);
	else
		assert_strings(member(c, "spaces"), spaces, "credential spaces");
	assert_int(c, "expires_at", 0);
}

/* The verified credential on user and admin routes, as issued; NULL on
 * public and internal ones even when the request carries a good one;
 * the space of a {spaceId} route. */
START_TEST(test_credentials)
{
	static const char *const s12[] = {"s1", "s2", NULL};
	static const char *const space_params[][2] = {
		{"spaceId", "s1"}, {"thingId", "x/y"},
	};
	struct integ_key admin, limited, free_key;
	char ha[TOKEN_MAX + 32], hl[TOKEN_MAX + 32], hf[TOKEN_MAX + 32];
	const char *as_admin[] = {ha, NULL}, *as_limited[] = {hl, NULL};
	const char *as_free[] = {hf, NULL};
	struct aster_test_response r;
	json_object *o, *params;

	start();
	make_key("admin", "ops", NULL, &admin);
	make_key("user", "limited", "s1,s2", &limited);
	make_key("user", "free", NULL, &free_key);
	bearer(ha, sizeof(ha), &admin);
	bearer(hl, sizeof(hl), &limited);
	bearer(hf, sizeof(hf), &free_key);

	o = inspect("public", "GET", "/t/me", as_limited, NULL, 0);
	assert_credential(o, &limited, "limited", "user", s12);
	assert_str(o, "space", NULL);
	json_object_put(o);

	o = inspect("public", "GET", "/t/me", as_admin, NULL, 0);
	assert_credential(o, &admin, "ops", "admin", NULL);
	json_object_put(o);

	o = inspect("public", "GET", "/gateway/v1/admin/probe", as_admin, NULL,
	            0);
	assert_credential(o, &admin, "ops", "admin", NULL);
	json_object_put(o);

	o = inspect("public", "GET", "/t/spaces/s1/things/x%2Fy?"
	            "param=spaceId&param=thingId", as_limited, NULL, 0);
	assert_credential(o, &limited, "limited", "user", s12);
	assert_str(o, "space", "s1");
	params = member(o, "params");
	assert_str(params, "spaceId", "s1");
	assert_str(params, "thingId", "x/y");
	assert_pairs(member(o, "param_list"), space_params, 2,
	             "aster_param_at");
	json_object_put(o);

	o = inspect("public", "GET", "/t/spaces/any/things/t", as_free, NULL,
	            0);
	assert_credential(o, &free_key, "free", "user", NULL);
	assert_str(o, "space", "any");
	json_object_put(o);

	/* Public and internal routes: NULL, whatever the request carries. */
	o = inspect("public", "GET", "/t/inspect", as_admin, NULL, 0);
	assert_str(o, "credential", NULL);
	json_object_put(o);
	o = inspect("internal", "GET", "/gateway/v1/internal/probe", as_admin,
	            NULL, 0);
	assert_str(o, "credential", NULL);
	json_object_put(o);

	/* The operation sees only requests it may serve. */
	req("public", "GET", "/t/me", NULL, NULL, NULL, 0, &r);
	integ_assert_problem(&r, 401, "unauthorized");
	aster_test_response_free(&r);
	req("public", "GET", "/gateway/v1/admin/probe", NULL, as_limited, NULL,
	    0, &r);
	integ_assert_problem(&r, 403, "forbidden");
	aster_test_response_free(&r);
}
END_TEST

/* A {spaceId} outside the credential's limit is a 404, as if it did not
 * exist (SPEC 7.4), and never reaches the operation. */
START_TEST(test_space_outside_limit)
{
	struct integ_key limited;
	char hl[TOKEN_MAX + 32];
	const char *as_limited[] = {hl, NULL};
	struct aster_test_response r;

	start();
	make_key("user", "limited", "s1,s2", &limited);
	bearer(hl, sizeof(hl), &limited);
	req("public", "GET", "/t/spaces/s3/things/t", NULL, as_limited, NULL, 0,
	    &r);
	ck_assert_msg(r.status == 404, "a space outside the key's limit: %d, "
	              "expected 404; body: %s", r.status, r.body);
	aster_test_response_free(&r);
}
END_TEST

/* --- answering -------------------------------------------------------------- */

/* The return value the log recorded for request id's answer. */
static int
answer_rc(const char *id)
{
	json_object *log = wait_event(id, "answered", aster_test_timeout(3000));
	json_object *e = event_in(log, "answered", 0);
	int rc = json_object_get_int(member(e, "rc"));

	ck_assert_msg(events_in(log, "answered") == 1, "request %s answered "
	              "more than once: %s", id, text(log));
	json_object_put(log);
	return rc;
}

/* aster_respond(): status, Content-Type (none for NULL) and body as
 * given, on a kept connection; a status outside 200..599 gives the
 * client 500 and the provider -1. */
START_TEST(test_status)
{
	static const struct {
		const char *query;
		int status;
		const char *type;       /* NULL: no Content-Type */
		const char *body;
	} good[] = {
		{"code=201&type=text/plain&body=made", 201, "text/plain",
		 "made"},
		{"code=200", 200, NULL, ""},
		{"code=404&type=application/json&body=%7B%22x%22%3A1%7D", 404,
		 "application/json", "{\"x\":1}"},
		{"code=299&type=application/octet-stream&body=a+b", 299,
		 "application/octet-stream", "a b"},
		{"code=599&type=text/plain&body=odd", 599, "text/plain", "odd"},
	};
	static const char *const bad[] = {"99", "100", "199", "600", "0",
	                                  "-200", "1000"};
	struct aster_test_conn *c;
	struct aster_test_response r;
	char path[256], id[64];
	const char *ct, *len;
	size_t i;

	start();
	c = aster_test_connect(T, "public");
	ck_assert_ptr_nonnull(c);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(path, sizeof(path), "/t/status?%s", good[i].query);
		snprintf(id, sizeof(id), "ph-status-good-%zu", i);
		conn_req(c, "GET", path, id, NULL, &r);
		ck_assert_msg(r.status == good[i].status, "%s: %d, expected %d",
		              path, r.status, good[i].status);
		ct = aster_test_header(&r, "Content-Type");
		if (good[i].type == NULL)
			ck_assert_msg(ct == NULL, "%s: Content-Type '%s', "
			              "expected none", path, ct);
		else
			ck_assert_msg(ct != NULL && strcmp(ct, good[i].type) ==
			              0, "%s: Content-Type '%s', expected '%s'",
			              path, ct != NULL ? ct : "(none)",
			              good[i].type);
		ck_assert_msg(r.body_len == strlen(good[i].body) &&
		              memcmp(r.body, good[i].body, r.body_len) == 0,
		              "%s: body '%s', expected '%s'", path, r.body,
		              good[i].body);
		len = aster_test_header(&r, "Content-Length");
		ck_assert_msg(len != NULL && strtoul(len, NULL, 10) ==
		              strlen(good[i].body), "%s: Content-Length '%s'",
		              path, len != NULL ? len : "(none)");
		ck_assert_str_eq(aster_test_header(&r, "X-Request-Id"), id);
		aster_test_response_free(&r);
		ck_assert_msg(answer_rc(id) == 0, "%s: aster_respond did not "
		              "return 0", path);
	}
	/* A type that would split the head is not sent as it is. */
	conn_req(c, "GET", "/t/status?code=200&type=text/plain%0D%0AX-Evil:"
	         "+1&body=x", NULL, NULL, &r);
	ck_assert_msg(aster_test_header(&r, "X-Evil") == NULL, "a "
	              "Content-Type with CR LF split the response head");
	aster_test_response_free(&r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/t/status?code=%s&type=text/plain"
		         "&body=never", bad[i]);
		snprintf(id, sizeof(id), "ph-status-bad-%zu", i);
		conn_req(c, "GET", path, id, NULL, &r);
		integ_assert_problem(&r, 500, "internal");
		ck_assert_msg(strstr(r.body, "never") == NULL, "%s: the body "
		              "given with a bad status was sent: %s", path,
		              r.body);
		aster_test_response_free(&r);
		ck_assert_msg(answer_rc(id) == -1, "%s: aster_respond did not "
		              "return -1", path);
	}
	aster_test_conn_close(c);
}
END_TEST

/* A body given with 204 or 304, which carry none in HTTP, is not sent:
 * the connection's next answer still parses. */
START_TEST(test_status_without_body)
{
	static const char *const codes[] = {"204", "304"};
	struct aster_test_conn *c;
	struct aster_test_response r;
	char path[128];
	size_t i;

	start();
	c = aster_test_connect(T, "public");
	ck_assert_ptr_nonnull(c);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/t/status?code=%s&type=text/plain&"
		         "body=stray", codes[i]);
		conn_req(c, "GET", path, NULL, NULL, &r);
		ck_assert_int_eq(r.status, atoi(codes[i]));
		ck_assert_uint_eq(r.body_len, 0);
		aster_test_response_free(&r);
		conn_req(c, "GET", "/t/status?code=200&body=next", NULL, NULL,
		         &r);
		ck_assert_msg(r.status == 200 && strcmp(r.body, "next") == 0,
		              "after a %s with a body given: %d '%s'", codes[i],
		              r.status, r.body);
		aster_test_response_free(&r);
	}
	aster_test_conn_close(c);
}
END_TEST

/* What `headers` tries (tests/providers/httpprobe/answer.c), and whether
 * aster_add_header() must take it. */
static const struct {
	const char *name;
	const char *value;
	int ok;
} header_tries[] = {
	{"X-Good", "yes", 1},
	{"X-Empty", "", 1},
	{"Cache-Control", "no-store", 1},
	{"Set-Cookie", "a=1", 1},
	{"Set-Cookie", "b=2", 1},
	{"X-Tab", "a\tb", 1},
	{"Bad Name", "x", 0},
	{"", "x", 0},
	{"X:Colon", "x", 0},
	{"X-\xc3\x9c", "x", 0},
	{"X-CR", "a\rb", 0},
	{"X-LF", "a\nb", 0},
	{"X-Split", "a\r\nX-Injected: 1", 0},
	{"Content-Length", "5", 0},
	{"content-length", "5", 0},
	{"Transfer-Encoding", "chunked", 0},
	{"Connection", "upgrade", 0},
	{"CONNECTION", "upgrade", 0},
	{"Content-Type", "text/evil", 0},
	{"content-type", "text/evil", 0},
};

/* aster_add_header(): good headers reach the client (repeated ones
 * each), bad names, values with CR or LF, and the headers asterd owns
 * are refused with -1 and never sent. */
START_TEST(test_add_header)
{
	struct aster_test_response r;
	json_object *o, *results;
	const char *v;
	size_t i, n = sizeof(header_tries) / sizeof(header_tries[0]);

	start();
	req("public", "GET", "/t/headers", NULL, NULL, NULL, 0, &r);
	o = inspected(&r, "headers");
	results = member(o, "results");
	ck_assert_uint_eq(json_object_array_length(results), n);
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(results, i);
		int rc = json_object_get_int(member(e, "rc"));

		assert_str(e, "name", header_tries[i].name);
		ck_assert_msg(rc == (header_tries[i].ok ? 0 : -1),
		              "aster_add_header(\"%s\", %s) returned %d, "
		              "expected %d", header_tries[i].name,
		              text(member(e, "value")), rc,
		              header_tries[i].ok ? 0 : -1);
	}
	ck_assert_str_eq(aster_test_header(&r, "X-Good"), "yes");
	ck_assert_msg(aster_test_header(&r, "X-Empty") != NULL &&
	              *aster_test_header(&r, "X-Empty") == '\0',
	              "X-Empty: '%s', expected present and empty",
	              aster_test_header(&r, "X-Empty"));
	ck_assert_str_eq(aster_test_header(&r, "Cache-Control"), "no-store");
	ck_assert_uint_eq(aster_test_header_count(&r, "Set-Cookie"), 2);
	ck_assert_str_eq(aster_test_header(&r, "X-Tab"), "a\tb");
	ck_assert_msg(aster_test_header(&r, "Bad Name") == NULL &&
	              aster_test_header(&r, "Bad") == NULL &&
	              aster_test_header(&r, "X") == NULL &&
	              aster_test_header(&r, "X-CR") == NULL &&
	              aster_test_header(&r, "X-LF") == NULL &&
	              aster_test_header(&r, "X-Split") == NULL &&
	              aster_test_header(&r, "X-Injected") == NULL,
	              "a refused header was sent");
	for (i = 0; i < r.nheaders; i++) {
		const char *p;

		for (p = r.headers[i].name; *p != '\0'; p++)
			ck_assert_msg((unsigned char)*p < 0x80, "a header with "
			              "a non-ASCII name was sent: %s",
			              r.headers[i].name);
		ck_assert_msg(strcmp(r.headers[i].value, "text/evil") != 0 &&
		              strcmp(r.headers[i].value, "upgrade") != 0,
		              "a refused header was sent: %s: %s",
		              r.headers[i].name, r.headers[i].value);
	}
	ck_assert_uint_eq(aster_test_header_count(&r, "Content-Type"), 1);
	v = aster_test_header(&r, "Content-Type");
	ck_assert_msg(strncmp(v, "application/json", 16) == 0,
	              "Content-Type '%s'", v);
	ck_assert_uint_eq(aster_test_header_count(&r, "Content-Length"), 1);
	ck_assert_uint_eq(strtoul(aster_test_header(&r, "Content-Length"),
	                          NULL, 10), r.body_len);
	ck_assert_ptr_null(aster_test_header(&r, "Transfer-Encoding"));
	json_object_put(o);
	aster_test_response_free(&r);
}
END_TEST

/* handle() returning non-zero without an answer: asterd answers 500,
 * and the connection goes on. */
START_TEST(test_fail)
{
	struct aster_test_conn *c;
	struct aster_test_response r;

	start();
	c = aster_test_connect(T, "public");
	ck_assert_ptr_nonnull(c);
	conn_req(c, "GET", "/t/fail", "ph-fail-1", NULL, &r);
	integ_assert_problem(&r, 500, "internal");
	ck_assert_str_eq(aster_test_header(&r, "X-Request-Id"), "ph-fail-1");
	aster_test_response_free(&r);
	conn_req(c, "GET", "/t/status?code=200&body=ok", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
}
END_TEST

/* The texts httpprobe's problem puts in its ith error. */
static void
problem_error(size_t i, char *pointer, size_t plen, char *detail,
              size_t dlen)
{
	snprintf(pointer, plen, "/items/%zu/na\"me~1x\\y", i);
	snprintf(detail, dlen, "error %zu: \"quoted\" \\ tab\there \x01 "
	         "caf\xc3\xa9 </script>", i);
}

/* A problem answer: the SPEC 7.2 shape, with the request id; its body
 * escapes every control character (none raw); returns it parsed. */
static json_object *
problem(const char *query, const char *id, int status, const char *code,
        struct aster_test_response *r)
{
	char path[1024];
	size_t i;

	snprintf(path, sizeof(path), "/t/problem?%s", query);
	req("public", "GET", path, id, NULL, NULL, 0, r);
	integ_assert_problem(r, status, code);
	ck_assert_str_eq(aster_test_header(r, "X-Request-Id"), id);
	for (i = 0; i < r->body_len; i++)
		ck_assert_msg((unsigned char)r->body[i] >= 0x20, "a raw control "
		              "character at byte %zu of the problem: %s", i,
		              r->body);
	ck_assert_int_eq(answer_rc(id), 0);
	return integ_json(r);
}

/* errors has the first n of httpprobe's errors, in order. */
static void
assert_errors(json_object *o, size_t n)
{
	json_object *errors = member(o, "errors");
	char pointer[128], detail[128];
	size_t i;

	ck_assert_msg(errors != NULL && json_object_is_type(errors,
	              json_type_array) && json_object_array_length(errors) ==
	              n, "errors is not %zu entries: %s", n, text(errors));
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(errors, i);

		problem_error(i, pointer, sizeof(pointer), detail,
		              sizeof(detail));
		assert_str(e, "pointer", pointer);
		assert_str(e, "detail", detail);
	}
}

/* aster_problem(): type, title, status, code, detail, requestId as SPEC
 * 7.2 has them, escaped; errors as given, at most 20 (the first ones);
 * the 401 challenge; headers added before it. */
START_TEST(test_problem)
{
	static const char detail[] =
	    "quote\" back\\slash tab\t ctl\x1f caf\xc3\xa9 </script>";
	struct aster_test_response r;
	json_object *o;
	const char *www;

	start();
	o = problem("status=409&code=conflict&detail=quote%22+back%5Cslash+"
	            "tab%09+ctl%1F+caf%C3%A9+%3C%2Fscript%3E", "ph-problem-1",
	            409, "conflict", &r);
	assert_str(o, "detail", detail);
	ck_assert_msg(!json_object_object_get_ex(o, "errors", NULL),
	              "errors without any given: %s", r.body);
	json_object_put(o);
	aster_test_response_free(&r);

	o = problem("status=404&code=not-found", "ph-problem-2", 404,
	            "not-found", &r);
	ck_assert_msg(!json_object_object_get_ex(o, "detail", NULL),
	              "a NULL detail became %s", text(member(o, "detail")));
	json_object_put(o);
	aster_test_response_free(&r);

	o = problem("status=422&code=validation-failed&detail=bad&n=3",
	            "ph-problem-3", 422, "validation-failed", &r);
	assert_errors(o, 3);
	json_object_put(o);
	aster_test_response_free(&r);

	o = problem("status=422&code=validation-failed&detail=bad&n=25",
	            "ph-problem-4", 422, "validation-failed", &r);
	assert_errors(o, ASTER_PROBLEM_MAX_ERRORS);
	json_object_put(o);
	aster_test_response_free(&r);

	o = problem("status=401&code=unauthorized&detail=who", "ph-problem-5",
	            401, "unauthorized", &r);
	www = aster_test_header(&r, "WWW-Authenticate");
	ck_assert_msg(www != NULL && strncmp(www, "Bearer", 6) == 0,
	              "401 problem: WWW-Authenticate '%s'", www);
	json_object_put(o);
	aster_test_response_free(&r);

	o = problem("status=503&code=unavailable&header=Retry-After%3A7",
	            "ph-problem-6", 503, "unavailable", &r);
	ck_assert_msg(aster_test_header(&r, "Retry-After") != NULL &&
	              strcmp(aster_test_header(&r, "Retry-After"), "7") == 0,
	              "a header added before the problem: Retry-After '%s'",
	              aster_test_header(&r, "Retry-After"));
	json_object_put(o);
	aster_test_response_free(&r);
}
END_TEST

/* aster_problem() with a status that is not an error status (200, 302,
 * 600): as aster_respond() with a bad status, the client gets 500 and
 * the provider -1. */
START_TEST(test_problem_bad_status)
{
	static const char *const bad[] = {"200", "302", "600"};
	struct aster_test_response r;
	char path[128], id[64];
	size_t i;

	start();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/t/problem?status=%s&code="
		         "conflict&detail=never", bad[i]);
		snprintf(id, sizeof(id), "ph-problem-bad-%zu", i);
		req("public", "GET", path, id, NULL, NULL, 0, &r);
		integ_assert_problem(&r, 500, "internal");
		aster_test_response_free(&r);
		ck_assert_msg(answer_rc(id) == -1, "aster_problem(%s) did not "
		              "return -1", bad[i]);
	}
}
END_TEST

/* s is not NULL and equals want. */
static int
same(const char *s, const char *want)
{
	return s != NULL && strcmp(s, want) == 0;
}

/* aster_describe(): every view is JSON of SPEC 9, with its status; an
 * unknown view is NULL (the provider's own 404). */
START_TEST(test_describe)
{
	struct aster_test_response r;
	json_object *o, *a, *v, *paths;
	size_t i;
	int found;

	start();
	req("public", "GET", "/t/describe?view=product", NULL, NULL, NULL, 0,
	    &r);
	o = inspected(&r, "describe product");
	assert_str(o, "id", "phttp");
	assert_str(o, "name", "Provider HTTP test");
	assert_str(o, "version", "0.1.0");
	json_object_put(o);
	aster_test_response_free(&r);

	req("public", "GET", "/t/describe?view=ready", NULL, NULL, NULL, 0,
	    &r);
	o = inspected(&r, "describe ready");
	assert_str(o, "status", "ready");
	assert_str(member(o, "modules"), "probe", "running");
	assert_str(member(o, "modules"), "auth", "running");
	json_object_put(o);
	aster_test_response_free(&r);

	req("public", "GET", "/t/describe?view=modules", NULL, NULL, NULL, 0,
	    &r);
	ck_assert_int_eq(r.status, 200);
	a = json_tokener_parse(r.body);
	ck_assert_msg(a != NULL && json_object_is_type(a, json_type_array),
	              "describe modules is not a JSON array: %s", r.body);
	for (i = 0, found = 0; i < json_object_array_length(a); i++) {
		v = json_object_array_get_idx(a, i);
		if (same(integ_json_str(v, "id"), "probe")) {
			assert_str(v, "state", "running");
			assert_str(v, "displayName", "HTTP probe");
			found++;
		}
	}
	ck_assert_msg(found == 1, "describe modules without probe: %s",
	              r.body);
	json_object_put(a);
	aster_test_response_free(&r);

	req("public", "GET", "/t/describe?view=routes", NULL, NULL, NULL, 0,
	    &r);
	ck_assert_int_eq(r.status, 200);
	a = json_tokener_parse(r.body);
	ck_assert_msg(a != NULL && json_object_is_type(a, json_type_array),
	              "describe routes is not a JSON array: %s", r.body);
	for (i = 0, found = 0; i < json_object_array_length(a); i++) {
		v = json_object_array_get_idx(a, i);
		if (same(integ_json_str(v, "id"), "route:probe.tree")) {
			assert_str(v, "mountPath", "/t/tree");
			assert_str(v, "match", "prefix");
			assert_str(v, "scope", "public");
			found++;
		}
	}
	ck_assert_msg(found == 1, "describe routes without route:probe.tree: "
	              "%s", r.body);
	json_object_put(a);
	aster_test_response_free(&r);

	req("public", "GET", "/t/describe?view=openapi", NULL, NULL, NULL, 0,
	    &r);
	o = inspected(&r, "describe openapi");
	ck_assert_msg(integ_json_str(o, "openapi") != NULL &&
	              strncmp(integ_json_str(o, "openapi"), "3.1", 3) == 0,
	              "describe openapi: version %s", text(member(o,
	              "openapi")));
	paths = member(o, "paths");
	ck_assert_msg(json_object_object_get_ex(paths, "/t/inspect", NULL) &&
	              json_object_object_get_ex(paths, "/t/me", NULL) &&
	              json_object_object_get_ex(paths,
	              "/gateway/v1/admin/probe", NULL),
	              "describe openapi misses a public, user or admin route");
	ck_assert_msg(!json_object_object_get_ex(paths,
	              "/gateway/v1/internal/probe", NULL),
	              "describe openapi shows the internal route");
	json_object_put(o);
	aster_test_response_free(&r);

	req("public", "GET", "/t/describe?view=nonsense", NULL, NULL, NULL, 0,
	    &r);
	integ_assert_problem(&r, 404, "not-found");
	ck_assert_msg(strstr(r.body, "no view 'nonsense'") != NULL,
	              "the unknown view was not NULL: %s", r.body);
	aster_test_response_free(&r);
}
END_TEST

/* --- answering later ---------------------------------------------------------- */

/* An answer from a timer within the deadline reaches the client, with
 * its headers; the request stayed alive and was never abandoned, not
 * even once its connection closed. Three at once, each gets its own. */
START_TEST(test_later_in_time)
{
	static const int ms[] = {300, 100, 200};
	struct aster_test_conn *c[3];
	struct aster_test_response r;
	char raw[256], id[64], want[64];
	json_object *log, *e;
	uint64_t t0;
	size_t i;

	start();
	t0 = integ_loop_ms_now();
	for (i = 0; i < 3; i++) {
		c[i] = aster_test_connect(T, "public");
		ck_assert_ptr_nonnull(c[i]);
		snprintf(raw, sizeof(raw), "GET /t/later?ms=%d HTTP/1.1\r\n"
		         "Host: x\r\nX-Request-Id: ph-later-%zu\r\n\r\n", ms[i],
		         i);
		ck_assert_int_eq(aster_test_conn_send(c[i], raw, strlen(raw)),
		                 0);
	}
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(aster_test_conn_read_response(c[i], 0, &r), 0);
		ck_assert_msg(r.status == 200, "later %d: %d; body: %s", ms[i],
		              r.status, r.body);
		snprintf(want, sizeof(want), "{\"late\":true,\"ms\":%d}", ms[i]);
		ck_assert_str_eq(r.body, want);
		ck_assert_str_eq(aster_test_header(&r, "X-Probe-Late"), "yes");
		snprintf(id, sizeof(id), "ph-later-%zu", i);
		ck_assert_str_eq(aster_test_header(&r, "X-Request-Id"), id);
		aster_test_response_free(&r);
	}
	ck_assert_msg(integ_loop_ms_now() - t0 >= 300, "the answers came "
	              "before the timers: %llu ms",
	              (unsigned long long)(integ_loop_ms_now() - t0));
	for (i = 0; i < 3; i++)
		aster_test_conn_close(c[i]);
	integ_sleep_ms(200);
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "ph-later-%zu", i);
		log = wait_event(id, "answered", aster_test_timeout(3000));
		e = event_in(log, "held", 0);
		ck_assert_msg(e != NULL, "no held event: %s", text(log));
		assert_int(e, "alive", 1);
		e = event_in(log, "answered", 0);
		assert_int(e, "alive", 1);
		assert_int(e, "rc", 0);
		assert_int(e, "abandons", 0);
		ck_assert_msg(events_in(log, "abandoned") == 0, "an answered "
		              "request was abandoned: %s", text(log));
		json_object_put(log);
	}
}
END_TEST

/* r is a 504 that came elapsed ms after its request, with request id
 * id: on time, as SPEC 7.2 has it. */
static void
assert_504(const struct aster_test_response *r, uint64_t elapsed,
           const char *id)
{
	integ_assert_problem(r, 504, "gateway-timeout");
	ck_assert_str_eq(aster_test_header(r, "X-Request-Id"), id);
	ck_assert_msg(elapsed + 5 >= (uint64_t)TIMEOUT_MS, "504 after %llu "
	              "ms, before the deadline of %d ms",
	              (unsigned long long)elapsed, TIMEOUT_MS);
	ck_assert_msg(elapsed < (uint64_t)(TIMEOUT_MS +
	              aster_test_timeout(1000)), "504 only after %llu ms "
	              "(deadline %d ms)", (unsigned long long)elapsed,
	              TIMEOUT_MS);
}

/* One access line for request id, with status=504: the late answer was
 * dropped, not sent. */
static void
assert_one_access_504(const char *id)
{
	char line[128];
	const char *log, *at;

	snprintf(line, sizeof(line), "access id=%s ", id);
	ck_assert_msg(aster_test_wait_stderr(T, line, aster_test_timeout(3000))
	              == 0, "no access line for %s", id);
	log = aster_test_stderr(T);
	ck_assert_msg(count(log, line) == 1, "%d access lines for %s:\n%s",
	              count(log, line), id, log);
	at = strstr(log, line);
	ck_assert_msg(strstr(at, "status=504") != NULL &&
	              strstr(at, "status=504") < strchr(at, '\n'),
	              "the access line of %s is not status=504", id);
}

/* A request whose deadline passes gets 504 gateway-timeout; the provider
 * is told once (alive 0 by then), its late answer returns -1 and is
 * dropped; the kept connection serves the next request. */
START_TEST(test_later_past_deadline)
{
	struct aster_test_conn *c;
	struct aster_test_response r;
	char path[64];
	json_object *log, *e;
	uint64_t t0;
	int late;

	start();
	late = TIMEOUT_MS + aster_test_timeout(700);
	snprintf(path, sizeof(path), "/t/later?ms=%d", late);
	c = aster_test_connect(T, "public");
	ck_assert_ptr_nonnull(c);
	t0 = integ_ms_now();
	conn_req(c, "GET", path, "ph-late-504", NULL, &r);
	assert_504(&r, integ_ms_now() - t0, "ph-late-504");
	aster_test_response_free(&r);

	log = wait_event("ph-late-504", "answered", late +
	                 aster_test_timeout(3000));
	ck_assert_int_eq(events_in(log, "abandoned"), 1);
	e = event_in(log, "abandoned", 0);
	assert_int(e, "alive", 0);
	e = event_in(log, "answered", 0);
	assert_int(e, "alive", 0);
	assert_int(e, "rc", -1);
	assert_int(e, "abandons", 1);
	ck_assert_msg(event_in(log, "abandoned", 0) == json_object_array_get_idx(
	              log, 1), "not held, abandoned, answered: %s", text(log));
	json_object_put(log);

	conn_req(c, "GET", "/t/status?code=200&body=next", NULL, NULL, &r);
	ck_assert_msg(r.status == 200 && strcmp(r.body, "next") == 0,
	              "the connection after a 504: %d '%s'", r.status, r.body);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
	assert_one_access_504("ph-late-504");
}
END_TEST

/* `hang` past the deadline: 504, and its abandon callback answers from
 * inside the callback (-1), which asterd survives. */
START_TEST(test_hang_past_deadline)
{
	struct aster_test_conn *c;
	struct aster_test_response r;
	json_object *log, *e;
	uint64_t t0;

	start();
	c = aster_test_connect(T, "public");
	ck_assert_ptr_nonnull(c);
	t0 = integ_ms_now();
	conn_req(c, "GET", "/t/hang", "ph-hang-504", NULL, &r);
	assert_504(&r, integ_ms_now() - t0, "ph-hang-504");
	aster_test_response_free(&r);

	log = wait_event("ph-hang-504", "answered", aster_test_timeout(3000));
	ck_assert_int_eq(events_in(log, "abandoned"), 1);
	assert_int(event_in(log, "held", 0), "alive", 1);
	assert_int(event_in(log, "abandoned", 0), "alive", 0);
	e = event_in(log, "answered", 0);
	assert_int(e, "rc", -1);
	assert_int(e, "abandons", 1);
	json_object_put(log);

	conn_req(c, "GET", "/t/status?code=200&body=next", NULL, NULL, &r);
	ck_assert_msg(r.status == 200 && strcmp(r.body, "next") == 0,
	              "the connection after a 504: %d '%s'", r.status, r.body);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
	assert_one_access_504("ph-hang-504");
}
END_TEST

/* Sends GET path with X-Request-Id id on a new connection, waits until
 * the provider holds it, and closes the connection. */
static void
send_and_leave(const char *path, const char *id)
{
	struct aster_test_conn *c = aster_test_connect(T, "public");
	char raw[256];

	ck_assert_ptr_nonnull(c);
	snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\n"
	         "X-Request-Id: %s\r\n\r\n", path, id);
	ck_assert_int_eq(aster_test_conn_send(c, raw, strlen(raw)), 0);
	json_object_put(wait_event(id, "held", aster_test_timeout(3000)));
	aster_test_conn_close(c);
}

/* A client that goes away while `hang` holds its request: the provider
 * is told (long before the deadline) and answers from the callback. */
START_TEST(test_hang_client_gone)
{
	json_object *log, *e;

	start_with(aster_test_timeout(30000), 3000);
	send_and_leave("/t/hang", "ph-hang-gone");
	log = wait_event("ph-hang-gone", "answered", aster_test_timeout(3000));
	ck_assert_int_eq(events_in(log, "abandoned"), 1);
	assert_int(event_in(log, "abandoned", 0), "alive", 0);
	e = event_in(log, "answered", 0);
	assert_int(e, "rc", -1);
	assert_int(e, "abandons", 1);
	json_object_put(log);
}
END_TEST

/* The same with `later`: told once, and the timer's answer afterwards
 * returns -1. */
START_TEST(test_later_client_gone)
{
	char path[64];
	json_object *log, *e;
	int late;

	start_with(aster_test_timeout(30000), 3000);
	late = aster_test_timeout(2000);
	snprintf(path, sizeof(path), "/t/later?ms=%d", late);
	send_and_leave(path, "ph-later-gone");
	log = wait_event("ph-later-gone", "abandoned",
	                 aster_test_timeout(1500));
	ck_assert_msg(event_in(log, "answered", 0) == NULL, "abandoned only "
	              "after the timer's answer: %s", text(log));
	assert_int(event_in(log, "abandoned", 0), "alive", 0);
	json_object_put(log);
	log = wait_event("ph-later-gone", "answered", late +
	                 aster_test_timeout(3000));
	ck_assert_int_eq(events_in(log, "abandoned"), 1);
	e = event_in(log, "answered", 0);
	assert_int(e, "alive", 0);
	assert_int(e, "rc", -1);
	assert_int(e, "abandons", 1);
	json_object_put(log);
}
END_TEST

/* A product whose auth service (slowauth) verifies every token late,
 * after verify_ms, and whose user route /t/hang is httpprobe's hang, in
 * a directory of its own: the test's RUN. */
static void
start_slow_auth(int verify_ms)
{
	char buf[1024];

	RUN = integ_tempdir();
	TIMEOUT_MS = aster_test_timeout(30000);
	snprintf(buf, sizeof(buf),
	         "kind: product\n"
	         "id: phttp-slow\n"
	         "name: Provider HTTP, slow auth\n"
	         "version: 0.1.0\n"
	         "server:\n"
	         "  listen:\n"
	         "    - address: 127.0.0.1:0\n"
	         "      scopes: [public, user, admin]\n"
	         "  limits: { request_timeout_ms: %d }\n"
	         "  shutdown_timeout_ms: 2000\n", TIMEOUT_MS);
	ck_assert_int_eq(aster_test_write_file(RUN, "conf/product.yaml", buf,
	                                       -1), 0);
	snprintf(buf, sizeof(buf),
	         "kind: module\n"
	         "id: guard\n"
	         "displayName: Guard\n"
	         "version: 0.1.0\n"
	         "provides: [auth]\n"
	         "services:\n"
	         "  - id: keys\n"
	         "    provider: slowauth\n"
	         "    config: { answer: late, delay_ms: %d }\n", verify_ms);
	ck_assert_int_eq(aster_test_write_file(RUN, "conf/modules/guard.yaml",
	                                       buf, -1), 0);
	ck_assert_int_eq(aster_test_write_file(RUN, "conf/modules/probe.yaml",
	    "kind: module\n"
	    "id: probe\n"
	    "displayName: HTTP probe\n"
	    "version: 0.1.0\n"
	    "services:\n"
	    "  - id: probe\n"
	    "    provider: httpprobe\n"
	    "routes:\n"
	    "  - id: route:probe.hang\n"
	    "    scope: user\n"
	    "    methods: [GET]\n"
	    "    mountPath: /t/hang\n"
	    "    handler: { service: probe, operation: hang }\n"
	    "  - id: route:probe.log\n"
	    "    scope: public\n"
	    "    methods: [GET]\n"
	    "    mountPath: /t/log\n"
	    "    handler: { service: probe, operation: log }\n", -1), 0);
	snprintf(buf, sizeof(buf), "%s/conf", RUN);
	T = integ_start_dir(buf, NULL);
}

/* A client that goes away while its credential is being verified, before
 * the operation runs: the operation either never sees the request, or
 * sees it and is told it was abandoned (SPEC 18: "either way the handler
 * is told once"); it is not left holding it until asterd stops. */
START_TEST(test_client_gone_before_handle)
{
	static const char raw[] =
	    "GET /t/hang HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer anything\r\n"
	    "X-Request-Id: ph-gone-early\r\n\r\n";
	struct aster_test_conn *c;
	json_object *log;
	int verify_ms = aster_test_timeout(500);

	start_slow_auth(verify_ms);
	c = aster_test_connect(T, "public");
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(aster_test_conn_send(c, raw, sizeof(raw) - 1), 0);
	integ_sleep_ms(100);    /* read, and waiting on the verify */
	aster_test_conn_close(c);
	ck_assert_msg(aster_test_wait_stderr(T, "slowauth: answered verify "
	              "after", verify_ms + aster_test_timeout(3000)) == 0,
	              "the verify was never answered:\n%s",
	              aster_test_stderr(T));
	integ_sleep_ms(100);
	log = log_of("ph-gone-early");
	if (event_in(log, "held", 0) != NULL) {
		json_object_put(log);
		log = wait_event("ph-gone-early", "answered",
		                 aster_test_timeout(3000));
		ck_assert_int_eq(events_in(log, "abandoned"), 1);
		assert_int(event_in(log, "answered", 0), "rc", -1);
	}
	json_object_put(log);
}
END_TEST

/* A request still held when asterd stops (504 sent, the timer far
 * away): stop() answers it (-1, dropped), and asterd exits 0 with a
 * clean log. */
START_TEST(test_stop_answers_held)
{
	struct aster_test_response r;
	uint64_t t0;
	int rc;

	start();
	t0 = integ_ms_now();
	req("public", "GET", "/t/later?ms=600000", "ph-stop-held", NULL, NULL,
	    0, &r);
	assert_504(&r, integ_ms_now() - t0, "ph-stop-held");
	aster_test_response_free(&r);
	rc = aster_test_stop(T);
	ck_assert_msg(rc == 0, "asterd exited with %d; stderr:\n%s", rc,
	              aster_test_stderr(T));
	integ_assert_clean_log(T);
	ck_assert_msg(strstr(aster_test_stderr(T), "httpprobe: answered later "
	              "ph-stop-held at stop (-1)") != NULL, "stop() did not "
	              "answer the held request with -1:\n%s",
	              aster_test_stderr(T));
	aster_test_free(T);
	T = NULL;
}
END_TEST

/* SIGTERM while a request is held and alive (deadline far away, a short
 * shutdown_timeout_ms): the held request is released one way or the
 * other, and asterd exits 0, on time, with a clean log. */
START_TEST(test_stop_with_live_request)
{
	struct aster_test_conn *c;
	struct aster_test_response r;
	char raw[] = "GET /t/hang HTTP/1.1\r\nHost: x\r\n"
	             "X-Request-Id: ph-stop-live\r\n\r\n";
	uint64_t t0;
	int rc;

	memset(&r, 0, sizeof(r));
	start_with(aster_test_timeout(30000), 500);
	c = aster_test_connect(T, "public");
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(aster_test_conn_send(c, raw, strlen(raw)), 0);
	json_object_put(wait_event("ph-stop-live", "held",
	                           aster_test_timeout(3000)));
	t0 = integ_ms_now();
	rc = aster_test_stop(T);
	ck_assert_msg(rc == 0, "asterd exited with %d; stderr:\n%s", rc,
	              aster_test_stderr(T));
	ck_assert_msg(integ_ms_now() - t0 < (uint64_t)(500 +
	              aster_test_timeout(5000)), "the stop took %llu ms",
	              (unsigned long long)(integ_ms_now() - t0));
	integ_assert_clean_log(T);
	/* Whatever reached the client is no success. */
	if (aster_test_conn_read_response(c, 0, &r) == 0)
		ck_assert_msg(r.status >= 500, "the held request got %d",
		              r.status);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
	aster_test_free(T);
	T = NULL;
}
END_TEST

static Suite *
provider_http_suite(void)
{
	Suite *s = suite_create("provider_http");
	TCase *read = tcase_create("read");
	TCase *answer = tcase_create("answer");
	TCase *later = tcase_create("later");

	tcase_set_timeout(read, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(read, NULL, teardown);
	tcase_add_test(read, test_params_and_path);
	tcase_add_test(read, test_prefix_rest);
	tcase_add_test(read, test_query);
	tcase_add_test(read, test_request_headers);
	tcase_add_test(read, test_body_and_methods);
	tcase_add_test(read, test_head);
	tcase_add_test(read, test_request_identity);
	tcase_add_test(read, test_client_and_store);
	tcase_add_test(read, test_credentials);
	tcase_add_test(read, test_space_outside_limit);
	suite_add_tcase(s, read);

	tcase_set_timeout(answer, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(answer, NULL, teardown);
	tcase_add_test(answer, test_status);
	tcase_add_test(answer, test_status_without_body);
	tcase_add_test(answer, test_add_header);
	tcase_add_test(answer, test_fail);
	tcase_add_test(answer, test_problem);
	tcase_add_test(answer, test_problem_bad_status);
	tcase_add_test(answer, test_describe);
	suite_add_tcase(s, answer);

	tcase_set_timeout(later, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(later, NULL, teardown);
	tcase_add_test(later, test_later_in_time);
	tcase_add_test(later, test_later_past_deadline);
	tcase_add_test(later, test_hang_past_deadline);
	tcase_add_test(later, test_hang_client_gone);
	tcase_add_test(later, test_later_client_gone);
	tcase_add_test(later, test_client_gone_before_handle);
	tcase_add_test(later, test_stop_answers_held);
	tcase_add_test(later, test_stop_with_live_request);
	suite_add_tcase(s, later);
	return s;
}

UNIT_MAIN(provider_http_suite)
