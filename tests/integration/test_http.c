/*
 * test_http.c - HTTP behaviour of a running product (SPEC 7, 9).
 *
 * Every test starts asterd on confs/http: a TCP listener for public,
 * user and admin and the internal scope on a unix socket in a fresh
 * directory ($ASTER_TEST_RUN), with small limits (1024-byte bodies,
 * 2048-byte heads, 1000 ms to send a request).
 */
#include "integ.h"

#include <time.h>

static struct aster_test *T;
static char *RUN;
static char RUN_ENV[PATH_MAX + 32];

static void
setup(void)
{
	const char *env[2];

	RUN = integ_tempdir();
	snprintf(RUN_ENV, sizeof(RUN_ENV), "ASTER_TEST_RUN=%s", RUN);
	env[0] = RUN_ENV;
	env[1] = NULL;
	T = integ_start("http", env);
}

static void
teardown(void)
{
	integ_stop(T);
	T = NULL;
	aster_test_remove_tree(RUN);
	free(RUN);
}

/* Does the comma-separated Allow value list method? */
static int
allow_has(const char *allow, const char *method)
{
	size_t n = strlen(method);
	const char *p = allow;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncmp(p, method, n) == 0 &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return 1;
		p = strchr(p, ',');
	}
	return 0;
}

/* --- the core endpoints ---------------------------------------------------- */

START_TEST(test_health)
{
	struct aster_test_response r;
	const char *ct;
	json_object *o;

	integ_get_expect(T, "public", "/gateway/v1/health", 200, &r);
	ct = aster_test_header(&r, "Content-Type");
	ck_assert_msg(ct != NULL && strncmp(ct, "application/json", 16) == 0,
	              "health Content-Type '%s'", ct ? ct : "(none)");
	o = integ_json(&r);
	ck_assert_str_eq(integ_json_str(o, "status"), "ok");
	ck_assert_msg(integ_valid_request_id(aster_test_header(&r,
	              "X-Request-Id")), "health without X-Request-Id");
	json_object_put(o);
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_ready_lists_modules)
{
	static const char *const ids[] = {"core", "site", "ops", "authn"};
	struct aster_test_response r;
	json_object *o, *mods, *st;
	size_t i;

	integ_get_expect(T, "public", "/gateway/v1/ready", 200, &r);
	o = integ_json(&r);
	ck_assert_str_eq(integ_json_str(o, "status"), "ready");
	ck_assert_msg(json_object_object_get_ex(o, "modules", &mods) &&
	              json_object_is_type(mods, json_type_object),
	              "ready without a 'modules' object: %s", r.body);
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		ck_assert_msg(json_object_object_get_ex(mods, ids[i], &st),
		              "ready: module '%s' missing: %s", ids[i], r.body);
		ck_assert_msg(strcmp(json_object_get_string(st), "running") == 0,
		              "ready: module '%s' is '%s'", ids[i],
		              json_object_get_string(st));
	}
	json_object_put(o);
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_product_identity)
{
	struct aster_test_response r;
	json_object *o, *mods;

	integ_get_expect(T, "public", "/gateway/v1/product", 200, &r);
	o = integ_json(&r);
	ck_assert_str_eq(integ_json_str(o, "id"), "httptest");
	ck_assert_str_eq(integ_json_str(o, "name"), "HTTP test");
	ck_assert_str_eq(integ_json_str(o, "version"), "0.1.0");
	ck_assert_msg(json_object_object_get_ex(o, "modules", &mods) &&
	              json_object_is_type(mods, json_type_array) &&
	              json_object_array_length(mods) == 4,
	              "product 'modules' is not the 4 module ids: %s", r.body);
	json_object_put(o);
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_openapi_document)
{
	struct aster_test_response r;
	json_object *o, *paths, *v;

	integ_get_expect(T, "public", "/gateway/v1/openapi.json", 200, &r);
	o = integ_json(&r);
	ck_assert_msg(integ_json_str(o, "openapi") != NULL &&
	              strncmp(integ_json_str(o, "openapi"), "3.1", 3) == 0,
	              "openapi version: %s", integ_json_str(o, "openapi"));
	ck_assert_msg(json_object_object_get_ex(o, "paths", &paths),
	              "openapi without paths");
	ck_assert_msg(json_object_object_get_ex(paths, "/t/hello", &v),
	              "openapi misses the public route /t/hello");
	ck_assert_msg(json_object_object_get_ex(paths, "/t/me", &v),
	              "openapi misses the user route /t/me");
	ck_assert_msg(!json_object_object_get_ex(paths,
	              "/gateway/v1/internal/ping", &v),
	              "openapi shows the internal route");
	json_object_put(o);
	aster_test_response_free(&r);
}
END_TEST

/* --- routing ------------------------------------------------------------- */

START_TEST(test_not_found)
{
	struct aster_test_response r;

	integ_request(T, "public", "GET", "/t/nothing-here", NULL, NULL, &r);
	integ_assert_problem(&r, 404, "route-not-found");
	aster_test_response_free(&r);

	integ_request(T, "public", "POST", "/gateway/v1/nothing", NULL, "{}",
	              &r);
	integ_assert_problem(&r, 404, "route-not-found");
	aster_test_response_free(&r);

	/* A parameter matches one whole segment, no more. */
	integ_request(T, "public", "GET", "/t/items/7/more", NULL, NULL, &r);
	integ_assert_problem(&r, 404, "route-not-found");
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_method_not_allowed)
{
	struct aster_test_response r;
	const char *allow;

	integ_request(T, "public", "POST", "/t/hello", NULL, "x", &r);
	integ_assert_problem(&r, 405, "method-not-allowed");
	allow = aster_test_header(&r, "Allow");
	ck_assert_msg(allow != NULL, "405 without Allow");
	ck_assert_msg(allow_has(allow, "GET") && allow_has(allow, "HEAD") &&
	              !allow_has(allow, "POST"),
	              "405 Allow '%s' for a GET route", allow);
	aster_test_response_free(&r);

	integ_request(T, "public", "DELETE", "/t/items", NULL, NULL, &r);
	integ_assert_problem(&r, 405, "method-not-allowed");
	allow = aster_test_header(&r, "Allow");
	ck_assert_msg(allow != NULL && allow_has(allow, "POST") &&
	              allow_has(allow, "PUT") && !allow_has(allow, "GET") &&
	              !allow_has(allow, "DELETE"),
	              "405 Allow '%s' for a POST, PUT route",
	              allow ? allow : "(none)");
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_options)
{
	struct aster_test_response r;
	const char *allow;

	integ_request(T, "public", "OPTIONS", "/t/items/9", NULL, NULL, &r);
	ck_assert_msg(r.status == 204, "OPTIONS answered %d, not 204: %s",
	              r.status, r.body);
	allow = aster_test_header(&r, "Allow");
	ck_assert_msg(allow != NULL && allow_has(allow, "GET") &&
	              allow_has(allow, "HEAD") && allow_has(allow, "DELETE") &&
	              !allow_has(allow, "POST"),
	              "OPTIONS Allow '%s' for GET, DELETE",
	              allow ? allow : "(none)");
	ck_assert_uint_eq(r.body_len, 0);
	aster_test_response_free(&r);

	integ_request(T, "public", "OPTIONS", "/t/no-such-route", NULL, NULL,
	              &r);
	integ_assert_problem(&r, 404, "route-not-found");
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_head_of_get_route)
{
	struct aster_test_conn *c = aster_test_connect(T, "public");
	struct aster_test_response r;
	const char *len;

	ck_assert_msg(c != NULL, "%s", aster_test_error(T));
	ck_assert_msg(aster_test_conn_request(c, "HEAD", "/t/hello", NULL, NULL,
	              0, &r) == 0, "HEAD: %s", r.error);
	ck_assert_int_eq(r.status, 200);
	len = aster_test_header(&r, "Content-Length");
	ck_assert_msg(len != NULL && strcmp(len, "6") == 0,
	              "HEAD Content-Length '%s', expected that of GET (6)",
	              len ? len : "(none)");
	aster_test_response_free(&r);
	/* No body followed the HEAD answer: the next response parses. */
	ck_assert_msg(aster_test_conn_request(c, "GET", "/t/hello", NULL, NULL,
	              0, &r) == 0, "GET after HEAD: %s", r.error);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "hello\n");
	aster_test_response_free(&r);
	aster_test_conn_close(c);
}
END_TEST

START_TEST(test_respond_handler)
{
	struct aster_test_response r;
	const char *ct;
	json_object *o, *v;

	integ_get_expect(T, "public", "/t/hello", 200, &r);
	ck_assert_str_eq(r.body, "hello\n");
	ct = aster_test_header(&r, "Content-Type");
	ck_assert_msg(ct != NULL && strncmp(ct, "text/plain", 10) == 0,
	              "respond content_type: '%s'", ct ? ct : "(none)");
	aster_test_response_free(&r);

	integ_request(T, "public", "POST", "/t/items", NULL, "{\"a\":1}", &r);
	ck_assert_msg(r.status == 201, "POST /t/items: %d", r.status);
	o = integ_json(&r);
	ck_assert_msg(json_object_object_get_ex(o, "made", &v) &&
	              json_object_get_boolean(v), "respond body: %s", r.body);
	json_object_put(o);
	aster_test_response_free(&r);

	integ_get_expect(T, "public", "/t/items/42", 200, &r);
	ck_assert_str_eq(r.body, "item");
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_path_normalised)
{
	static const char *const paths[] = {
		"/t/./hello", "/t/x/../hello", "/t/%68ello", "/t//hello",
	};
	struct aster_test_response r;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		integ_get_expect(T, "public", paths[i], 200, &r);
		ck_assert_str_eq(r.body, "hello\n");
		aster_test_response_free(&r);
	}
}
END_TEST

START_TEST(test_bad_request)
{
	static const char garbage[] = "this is not http\r\n\r\n";
	struct aster_test_response r;

	ck_assert_msg(aster_test_raw(T, "public", garbage, sizeof(garbage) - 1,
	              &r) == 0, "garbage request: %s", r.error);
	integ_assert_problem(&r, 400, "bad-request");
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_route_precedence)
{
	static const struct {
		const char *path, *body;
	} cases[] = {
		{"/t/items/new", "new item form"},      /* literal over param */
		{"/t/items/old", "item"},
		{"/t/files/special", "special"},        /* exact over prefix */
		{"/t/files/deep", "deep"},              /* longest prefix */
		{"/t/files/deep/down/here", "deep"},
		{"/t/files/hello.txt", "hello from a static file\n"},
		{"/t/files/sub/nested.txt", "nested\n"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aster_test_response r;

		integ_get_expect(T, "public", cases[i].path, 200, &r);
		ck_assert_msg(strcmp(r.body, cases[i].body) == 0,
		              "%s answered '%s', expected '%s'", cases[i].path,
		              r.body, cases[i].body);
		aster_test_response_free(&r);
	}
}
END_TEST

/* Requests RFC 9112 says a server must refuse with 400 (nginx does). */
START_TEST(test_malformed_requests_refused)
{
	static const char *const bad[] = {
		/* no Host in HTTP/1.1 (3.2) */
		"GET /t/hello HTTP/1.1\r\n\r\n",
		/* whitespace between field name and colon (5.1) */
		"GET /t/hello HTTP/1.1\r\nHost : x\r\n\r\n",
		/* two different Content-Lengths (6.3) */
		"POST /t/items HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
		"Content-Length: 3\r\n\r\nabc",
		/* a Content-Length that is no number (6.3) */
		"POST /t/items HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n"
		"\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aster_test_response r;

		ck_assert_msg(aster_test_raw(T, "public", bad[i], strlen(bad[i]),
		              &r) == 0, "malformed request %zu: %s", i, r.error);
		ck_assert_msg(r.status == 400, "malformed request %zu answered "
		              "%d, not 400: %s", i, r.status, bad[i]);
		integ_assert_problem(&r, 400, "bad-request");
		aster_test_response_free(&r);
	}
}
END_TEST

/*
 * Content-Length with Transfer-Encoding: chunked is a smuggling attempt
 * (RFC 9112 6.1): asterd refuses it (400) and closes the connection, so
 * the bytes after the chunked body are never answered as a second
 * request.
 */
START_TEST(test_no_request_smuggling)
{
	static const char req[] =
	    "POST /t/items HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	    "GET /t/me HTTP/1.1\r\nHost: x\r\n\r\n";
	struct aster_test_conn *c = aster_test_connect(T, "public");
	struct aster_test_response r;

	ck_assert(c != NULL);
	ck_assert(aster_test_conn_send(c, req, sizeof(req) - 1) == 0);
	ck_assert_msg(aster_test_conn_read_response(c, 0, &r) == 0, "%s",
	              r.error);
	integ_assert_problem(&r, 400, "bad-request");
	aster_test_response_free(&r);
	ck_assert_msg(aster_test_conn_closed(c, 2000) == 1,
	              "the connection stayed open after a request with both "
	              "Content-Length and Transfer-Encoding");
	aster_test_conn_close(c);
}
END_TEST

/* --- connections ----------------------------------------------------------- */

START_TEST(test_keep_alive_and_pipelining)
{
	static const char pipelined[] =
	    "GET /t/hello HTTP/1.1\r\nHost: x\r\n\r\n"
	    "HEAD /t/items/1 HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /t/items/2 HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /t/missing HTTP/1.1\r\nHost: x\r\n\r\n";
	struct aster_test_conn *c = aster_test_connect(T, "public");
	struct aster_test_response r;
	int i;

	ck_assert_msg(c != NULL, "%s", aster_test_error(T));
	for (i = 0; i < 3; i++) {
		ck_assert_msg(aster_test_conn_request(c, "GET", "/t/hello", NULL,
		              NULL, 0, &r) == 0, "request %d: %s", i, r.error);
		ck_assert_int_eq(r.status, 200);
		aster_test_response_free(&r);
	}
	ck_assert(aster_test_conn_send(c, pipelined, sizeof(pipelined) - 1) ==
	          0);
	ck_assert_msg(aster_test_conn_read_response(c, 0, &r) == 0, "%s",
	              r.error);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "hello\n");
	aster_test_response_free(&r);
	ck_assert_msg(aster_test_conn_read_response(c, 1, &r) == 0, "%s",
	              r.error);
	ck_assert_int_eq(r.status, 200);
	aster_test_response_free(&r);
	ck_assert_msg(aster_test_conn_read_response(c, 0, &r) == 0, "%s",
	              r.error);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "item");
	aster_test_response_free(&r);
	ck_assert_msg(aster_test_conn_read_response(c, 0, &r) == 0, "%s",
	              r.error);
	integ_assert_problem(&r, 404, "route-not-found");
	aster_test_response_free(&r);
	aster_test_conn_close(c);
}
END_TEST

START_TEST(test_connection_close_and_http10)
{
	static const char http10[] = "GET /t/hello HTTP/1.0\r\n\r\n";
	struct aster_test_conn *c = aster_test_connect(T, "public");
	struct aster_test_response r;
	const char *hdrs[] = {"Connection: close", NULL};

	ck_assert_msg(c != NULL, "%s", aster_test_error(T));
	ck_assert_msg(aster_test_conn_request(c, "GET", "/t/hello", hdrs, NULL,
	              0, &r) == 0, "%s", r.error);
	ck_assert_int_eq(r.status, 200);
	aster_test_response_free(&r);
	ck_assert_msg(aster_test_conn_closed(c, 3000) == 1,
	              "the connection stayed open after Connection: close");
	aster_test_conn_close(c);

	c = aster_test_connect(T, "public");
	ck_assert(c != NULL);
	ck_assert(aster_test_conn_send(c, http10, sizeof(http10) - 1) == 0);
	ck_assert_msg(aster_test_conn_read_response(c, 0, &r) == 0, "%s",
	              r.error);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "hello\n");
	aster_test_response_free(&r);
	ck_assert_msg(aster_test_conn_closed(c, 3000) == 1,
	              "an HTTP/1.0 connection stayed open");
	aster_test_conn_close(c);
}
END_TEST

START_TEST(test_query_and_encoded_params)
{
	struct aster_test_response r;

	integ_get_expect(T, "public", "/t/hello?x=1&y=%20", 200, &r);
	ck_assert_str_eq(r.body, "hello\n");
	aster_test_response_free(&r);
	integ_get_expect(T, "public", "/t/items/a%20b", 200, &r);
	ck_assert_str_eq(r.body, "item");
	aster_test_response_free(&r);
	integ_get_expect(T, "public", "/t/items/7?full=1", 200, &r);
	aster_test_response_free(&r);

	/* HEAD of a missing route: 404 without a body. */
	integ_request(T, "public", "HEAD", "/t/nothing", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	ck_assert_uint_eq(r.body_len, 0);
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_chunked_request_body)
{
	static const char small[] =
	    "POST /t/items HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
	struct aster_test_conn *c = aster_test_connect(T, "public");
	struct aster_test_response r;
	char big[4096];
	int n, i;

	/* HTTP/1.1 recipients must parse chunked bodies (RFC 9112 7). */
	ck_assert_msg(c != NULL, "%s", aster_test_error(T));
	ck_assert(aster_test_conn_send(c, small, sizeof(small) - 1) == 0);
	ck_assert_msg(aster_test_conn_read_response(c, 0, &r) == 0, "%s",
	              r.error);
	ck_assert_msg(r.status == 201, "chunked POST: %d %s", r.status, r.body);
	aster_test_response_free(&r);
	/* The connection is still in step. */
	ck_assert(aster_test_conn_request(c, "GET", "/t/hello", NULL, NULL, 0,
	                                  &r) == 0);
	ck_assert_int_eq(r.status, 200);
	aster_test_response_free(&r);
	aster_test_conn_close(c);

	/* Chunks adding up to more than max_body_bytes (1024): 413. */
	n = snprintf(big, sizeof(big), "POST /t/items HTTP/1.1\r\nHost: x\r\n"
	             "Transfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < 6; i++) {
		n += snprintf(big + n, sizeof(big) - (size_t)n, "100\r\n");
		memset(big + n, 'z', 256);
		n += 256;
		n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
	}
	n += snprintf(big + n, sizeof(big) - (size_t)n, "0\r\n\r\n");
	ck_assert_msg(aster_test_raw(T, "public", big, (size_t)n, &r) == 0,
	              "%s", r.error);
	integ_assert_problem(&r, 413, "payload-too-large");
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_many_pipelined)
{
	struct aster_test_conn *c = aster_test_connect(T, "public");
	char *all = malloc(100 * 64), path[32];
	size_t len = 0;
	int i;

	ck_assert(c != NULL && all != NULL);
	for (i = 0; i < 100; i++)
		len += (size_t)sprintf(all + len, "GET /t/items/%d HTTP/1.1\r\n"
		                       "Host: x\r\n\r\n", i);
	ck_assert(aster_test_conn_send(c, all, len) == 0);
	for (i = 0; i < 100; i++) {
		struct aster_test_response r;

		snprintf(path, sizeof(path), "/t/items/%d", i);
		ck_assert_msg(aster_test_conn_read_response(c, 0, &r) == 0,
		              "pipelined response %d: %s", i, r.error);
		ck_assert_msg(r.status == 200 && strcmp(r.body, "item") == 0,
		              "pipelined response %d: %d %s", i, r.status, r.body);
		aster_test_response_free(&r);
	}
	free(all);
	aster_test_conn_close(c);
}
END_TEST

START_TEST(test_keep_alive_after_errors)
{
	struct aster_test_conn *c = aster_test_connect(T, "public");
	struct aster_test_response r;

	ck_assert(c != NULL);
	ck_assert(aster_test_conn_request(c, "GET", "/t/missing", NULL, NULL, 0,
	                                  &r) == 0);
	ck_assert_int_eq(r.status, 404);
	aster_test_response_free(&r);
	ck_assert(aster_test_conn_request(c, "POST", "/t/hello", NULL, "abc", 3,
	                                  &r) == 0);
	ck_assert_int_eq(r.status, 405);
	aster_test_response_free(&r);
	ck_assert(aster_test_conn_request(c, "GET", "/t/me", NULL, NULL, 0,
	                                  &r) == 0);
	ck_assert_int_eq(r.status, 401);
	aster_test_response_free(&r);
	ck_assert_msg(aster_test_conn_request(c, "GET", "/t/hello", NULL, NULL,
	              0, &r) == 0, "the connection did not survive 404, 405 "
	              "and 401: %s", r.error);
	ck_assert_int_eq(r.status, 200);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
}
END_TEST

/* A request trickling in, but whole within request_timeout_ms, is served. */
START_TEST(test_slow_but_in_time)
{
	static const char req[] =
	    "POST /t/items HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
	    "0123456789";
	struct aster_test_conn *c = aster_test_connect(T, "public");
	struct aster_test_response r;
	size_t step = (sizeof(req) - 1) / 5 + 1, off;

	ck_assert(c != NULL);
	for (off = 0; off < sizeof(req) - 1; off += step) {
		size_t n = sizeof(req) - 1 - off < step ? sizeof(req) - 1 - off
		                                        : step;

		ck_assert(aster_test_conn_send(c, req + off, n) == 0);
		integ_sleep_ms(100);
	}
	ck_assert_msg(aster_test_conn_read_response(c, 0, &r) == 0, "%s",
	              r.error);
	ck_assert_msg(r.status == 201, "trickled request: %d %s", r.status,
	              r.body);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
}
END_TEST

/* --- limits ---------------------------------------------------------------- */

START_TEST(test_payload_too_large)
{
	char body[2001];
	struct aster_test_response r;

	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	integ_request(T, "public", "POST", "/t/items", NULL, body, &r);
	integ_assert_problem(&r, 413, "payload-too-large");
	aster_test_response_free(&r);

	/* Exactly the limit passes. */
	body[1024] = '\0';
	integ_request(T, "public", "POST", "/t/items", NULL, body, &r);
	ck_assert_msg(r.status == 201, "a body of max_body_bytes: %d, not 201",
	              r.status);
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_payload_too_large_announced)
{
	static const char head[] =
	    "POST /t/items HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 1048576\r\n\r\n";
	struct aster_test_conn *c = aster_test_connect(T, "public");
	struct aster_test_response r;
	uint64_t t0 = integ_ms_now();

	/* The Content-Length alone says it is too large: the answer must
	 * not wait for the body (nor for the 1000 ms request timeout). */
	ck_assert_msg(c != NULL, "%s", aster_test_error(T));
	ck_assert(aster_test_conn_send(c, head, sizeof(head) - 1) == 0);
	ck_assert_msg(aster_test_conn_read_response(c, 0, &r) == 0, "%s",
	              r.error);
	integ_assert_problem(&r, 413, "payload-too-large");
	ck_assert_msg(integ_ms_now() - t0 < 900,
	              "413 took %llu ms: it waited for the body",
	              (unsigned long long)(integ_ms_now() - t0));
	aster_test_response_free(&r);
	aster_test_conn_close(c);
}
END_TEST

START_TEST(test_headers_too_large)
{
	char big[4200];
	const char *hdrs[2] = {big, NULL};
	struct aster_test_response r;

	snprintf(big, sizeof(big), "X-Filler: ");
	memset(big + 10, 'a', 4000);
	big[4010] = '\0';
	integ_request(T, "public", "GET", "/t/hello", hdrs, NULL, &r);
	integ_assert_problem(&r, 431, "headers-too-large");
	aster_test_response_free(&r);

	/* Well under the limit passes. */
	big[10 + 500] = '\0';
	integ_request(T, "public", "GET", "/t/hello", hdrs, NULL, &r);
	ck_assert_msg(r.status == 200, "a 500-byte header: %d", r.status);
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_request_timeout)
{
	static const char partial_head[] = "GET /t/hello HTTP/1.1\r\nHost: x\r\n";
	static const char partial_body[] =
	    "POST /t/items HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc";
	struct aster_test_response r;
	uint64_t t0 = integ_ms_now(), took;

	ck_assert_msg(aster_test_raw(T, "public", partial_head,
	              sizeof(partial_head) - 1, &r) == 0,
	              "partial head: %s", r.error);
	took = integ_ms_now() - t0;
	integ_assert_problem(&r, 408, "request-timeout");
	ck_assert_msg(took >= 800 && took < (uint64_t)aster_test_timeout(5000),
	              "408 after %llu ms; request_timeout_ms is 1000",
	              (unsigned long long)took);
	aster_test_response_free(&r);

	ck_assert_msg(aster_test_raw(T, "public", partial_body,
	              sizeof(partial_body) - 1, &r) == 0,
	              "partial body: %s", r.error);
	integ_assert_problem(&r, 408, "request-timeout");
	aster_test_response_free(&r);
}
END_TEST

/* --- request identity -------------------------------------------------------- */

START_TEST(test_request_id_generated)
{
	struct aster_test_response a, b;
	const char *ia, *ib;

	integ_get_expect(T, "public", "/t/hello", 200, &a);
	integ_get_expect(T, "public", "/t/hello", 200, &b);
	ia = aster_test_header(&a, "X-Request-Id");
	ib = aster_test_header(&b, "X-Request-Id");
	ck_assert_msg(integ_valid_request_id(ia) && integ_valid_request_id(ib),
	              "generated ids '%s', '%s'", ia ? ia : "(none)",
	              ib ? ib : "(none)");
	ck_assert_msg(strcmp(ia, ib) != 0, "two requests got the same id %s",
	              ia);
	ck_assert_uint_eq(aster_test_header_count(&a, "X-Request-Id"), 1);
	aster_test_response_free(&a);
	aster_test_response_free(&b);
}
END_TEST

START_TEST(test_request_id_echoed)
{
	char longest[160], hdr[200];
	const char *hdrs[2] = {hdr, NULL};
	struct aster_test_response r;

	snprintf(hdr, sizeof(hdr), "X-Request-Id: integ-%ld.echo_1~!",
	         (long)getpid());
	integ_request(T, "public", "GET", "/t/hello", hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(aster_test_header(&r, "X-Request-Id"), hdr + 14);
	aster_test_response_free(&r);

	/* On an error too, and in the problem body. */
	integ_request(T, "public", "GET", "/t/nope", hdrs, NULL, &r);
	integ_assert_problem(&r, 404, "route-not-found");
	ck_assert_str_eq(aster_test_header(&r, "X-Request-Id"), hdr + 14);
	aster_test_response_free(&r);

	/* In the log lines about the request (the access log is on). */
	ck_assert_msg(aster_test_wait_stderr(T, hdr + 14,
	              aster_test_timeout(3000)) == 0,
	              "the request id %s is in no log line:\n%s", hdr + 14,
	              aster_test_stderr(T));

	/* One character is enough. */
	snprintf(hdr, sizeof(hdr), "X-Request-Id: z");
	integ_request(T, "public", "GET", "/t/hello", hdrs, NULL, &r);
	ck_assert_str_eq(aster_test_header(&r, "X-Request-Id"), "z");
	aster_test_response_free(&r);

	/* 128 visible characters are still valid. */
	memset(longest, 'k', 128);
	longest[128] = '\0';
	snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", longest);
	integ_request(T, "public", "GET", "/t/hello", hdrs, NULL, &r);
	ck_assert_str_eq(aster_test_header(&r, "X-Request-Id"), longest);
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_request_id_invalid_replaced)
{
	char toolong[140];
	char hdr[200];
	const char *invalid[3];
	const char *hdrs[2] = {hdr, NULL};
	size_t i;

	memset(toolong, 'k', 129);
	toolong[129] = '\0';
	invalid[0] = toolong;           /* 129 characters */
	invalid[1] = "has space";
	invalid[2] = "caf\xc3\xa9";     /* not ASCII */
	for (i = 0; i < 3; i++) {
		struct aster_test_response r;
		const char *id;

		snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", invalid[i]);
		integ_request(T, "public", "GET", "/t/nope", hdrs, NULL, &r);
		integ_assert_problem(&r, 404, "route-not-found");
		id = aster_test_header(&r, "X-Request-Id");
		ck_assert_msg(strcmp(id, invalid[i]) != 0,
		              "invalid request id '%s' was echoed", invalid[i]);
		ck_assert_msg(integ_valid_request_id(id),
		              "replacement id '%s' is not valid", id);
		aster_test_response_free(&r);
	}
}
END_TEST

/* 00-<32 hex>-<16 hex>-<2 hex>, ids not all zero. */
static int
valid_traceparent(const char *tp, char trace_id[33])
{
	size_t i;

	if (tp == NULL || strlen(tp) != 55 || tp[2] != '-' || tp[35] != '-' ||
	    tp[52] != '-')
		return 0;
	for (i = 0; i < 55; i++) {
		if (i == 2 || i == 35 || i == 52)
			continue;
		if (strchr("0123456789abcdef", tp[i]) == NULL)
			return 0;
	}
	if (strncmp(tp + 3, "00000000000000000000000000000000", 32) == 0 ||
	    strncmp(tp + 36, "0000000000000000", 16) == 0)
		return 0;
	memcpy(trace_id, tp + 3, 32);
	trace_id[32] = '\0';
	return 1;
}

/* SPEC 7.3 asks asterd to propagate traceparent to upstreams; a response
 * header is optional, but when asterd sends one it must be valid and, when
 * the request carried one, continue its trace. */
START_TEST(test_traceparent)
{
	static const char incoming[] =
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	const char *hdrs[] = {"traceparent: "
	                      "00-4bf92f3577b34da6a3ce929d0e0e4736-"
	                      "00f067aa0ba902b7-01", NULL};
	struct aster_test_response r;
	const char *tp;
	char trace[33];

	integ_get_expect(T, "public", "/t/hello", 200, &r);
	tp = aster_test_header(&r, "traceparent");
	if (tp != NULL)
		ck_assert_msg(valid_traceparent(tp, trace),
		              "generated traceparent '%s' is malformed", tp);
	aster_test_response_free(&r);

	integ_request(T, "public", "GET", "/t/hello", hdrs, NULL, &r);
	tp = aster_test_header(&r, "traceparent");
	if (tp != NULL) {
		ck_assert_msg(valid_traceparent(tp, trace),
		              "traceparent '%s' is malformed", tp);
		ck_assert_msg(strncmp(trace, incoming + 3, 32) == 0,
		              "traceparent '%s' does not continue trace %.32s",
		              tp, incoming + 3);
	}
	aster_test_response_free(&r);
}
END_TEST

/* --- scopes ------------------------------------------------------------------ */

START_TEST(test_internal_only_on_internal_listener)
{
	struct aster_test_response r;
	const char *addr = aster_test_address(T, "internal");

	ck_assert_msg(addr != NULL && strncmp(addr, "unix:", 5) == 0,
	              "the internal listener is '%s', expected unix:...",
	              addr ? addr : "(none)");
	ck_assert_msg(aster_test_address(T, "public") != NULL &&
	              strncmp(aster_test_address(T, "public"), "127.0.0.1:",
	                      10) == 0 &&
	              strcmp(aster_test_address(T, "public"),
	                     "127.0.0.1:18101") != 0,
	              "the public listener is '%s', expected 127.0.0.1 on an "
	              "ephemeral port", aster_test_address(T, "public"));

	integ_request(T, "public", "GET", "/gateway/v1/internal/ping", NULL,
	              NULL, &r);
	integ_assert_problem(&r, 404, "route-not-found");
	aster_test_response_free(&r);

	integ_get_expect(T, "internal", "/gateway/v1/internal/ping", 200, &r);
	ck_assert_str_eq(r.body, "pong");
	aster_test_response_free(&r);

	/* A listener answers only its scopes: no public routes there. */
	integ_request(T, "internal", "GET", "/gateway/v1/health", NULL, NULL,
	              &r);
	integ_assert_problem(&r, 404, "route-not-found");
	aster_test_response_free(&r);
	integ_request(T, "internal", "GET", "/t/me", NULL, NULL, &r);
	integ_assert_problem(&r, 404, "route-not-found");
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_user_and_admin_need_credentials)
{
	static const char *const paths[] = {"/t/me",
	                                    "/gateway/v1/admin/secret"};
	const char *bad[] = {"Authorization: Bearer not-a-real-key", NULL};
	size_t i;

	for (i = 0; i < 2; i++) {
		struct aster_test_response r;
		const char *www;

		integ_request(T, "public", "GET", paths[i], NULL, NULL, &r);
		integ_assert_problem(&r, 401, "unauthorized");
		www = aster_test_header(&r, "WWW-Authenticate");
		ck_assert_msg(www != NULL && strncmp(www, "Bearer", 6) == 0,
		              "%s: WWW-Authenticate '%s'", paths[i],
		              www ? www : "(none)");
		aster_test_response_free(&r);

		integ_request(T, "public", "GET", paths[i], bad, NULL, &r);
		integ_assert_problem(&r, 401, "unauthorized");
		ck_assert_msg(aster_test_header(&r, "WWW-Authenticate") != NULL,
		              "%s with a bad token: no WWW-Authenticate",
		              paths[i]);
		aster_test_response_free(&r);
	}
}
END_TEST

/* --- static files ---------------------------------------------------------- */

START_TEST(test_static_file)
{
	struct aster_test_response r;
	const char *ct, *etag;
	char inm[256];
	const char *hdrs[2] = {inm, NULL};

	integ_get_expect(T, "public", "/t/files/hello.txt", 200, &r);
	ck_assert_str_eq(r.body, "hello from a static file\n");
	ct = aster_test_header(&r, "Content-Type");
	ck_assert_msg(ct != NULL && strncmp(ct, "text/plain", 10) == 0,
	              "hello.txt Content-Type '%s'", ct ? ct : "(none)");
	etag = aster_test_header(&r, "ETag");
	ck_assert_msg(etag != NULL && *etag != '\0', "static file without ETag");
	snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
	aster_test_response_free(&r);

	integ_request(T, "public", "GET", "/t/files/hello.txt", hdrs, NULL, &r);
	ck_assert_msg(r.status == 304, "If-None-Match with the ETag: %d",
	              r.status);
	ck_assert_uint_eq(r.body_len, 0);
	ck_assert_msg(aster_test_header(&r, "ETag") != NULL, "304 without ETag");
	aster_test_response_free(&r);

	integ_request(T, "public", "HEAD", "/t/files/hello.txt", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(aster_test_header(&r, "Content-Length"), "25");
	aster_test_response_free(&r);

	integ_get_expect(T, "public", "/t/files/sub/nested.txt", 200, &r);
	ck_assert_str_eq(r.body, "nested\n");
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_static_if_modified_since)
{
	struct aster_test_response r;
	char ims[128];
	const char *hdrs[2] = {ims, NULL};
	const char *lm;

	integ_get_expect(T, "public", "/t/files/hello.txt", 200, &r);
	lm = aster_test_header(&r, "Last-Modified");
	ck_assert_msg(lm != NULL, "static file without Last-Modified");
	snprintf(ims, sizeof(ims), "If-Modified-Since: %s", lm);
	aster_test_response_free(&r);
	integ_request(T, "public", "GET", "/t/files/hello.txt", hdrs, NULL, &r);
	ck_assert_msg(r.status == 304, "If-Modified-Since Last-Modified: %d",
	              r.status);
	ck_assert_uint_eq(r.body_len, 0);
	aster_test_response_free(&r);
	snprintf(ims, sizeof(ims),
	         "If-Modified-Since: Thu, 01 Jan 1970 00:00:01 GMT");
	integ_request(T, "public", "GET", "/t/files/hello.txt", hdrs, NULL, &r);
	ck_assert_msg(r.status == 200, "If-Modified-Since 1970: %d", r.status);
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_static_index_and_missing)
{
	struct aster_test_response r;
	const char *ct;

	integ_get_expect(T, "public", "/t/files/", 200, &r);
	ck_assert_msg(strstr(r.body, "<title>index</title>") != NULL,
	              "/t/files/ is not index.html: %s", r.body);
	ct = aster_test_header(&r, "Content-Type");
	ck_assert_msg(ct != NULL && strncmp(ct, "text/html", 9) == 0,
	              "index.html Content-Type '%s'", ct ? ct : "(none)");
	aster_test_response_free(&r);

	integ_request(T, "public", "GET", "/t/files/absent.txt", NULL, NULL,
	              &r);
	integ_assert_problem(&r, 404, "not-found");
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_static_range)
{
	const char *range[] = {"Range: bytes=0-4", NULL};
	const char *suffix[] = {"Range: bytes=-4", NULL};
	const char *beyond[] = {"Range: bytes=1000-2000", NULL};
	struct aster_test_response r;
	const char *cr;

	integ_request(T, "public", "GET", "/t/files/alphabet.txt", range, NULL,
	              &r);
	ck_assert_msg(r.status == 206, "Range 0-4: %d", r.status);
	ck_assert_str_eq(r.body, "01234");
	cr = aster_test_header(&r, "Content-Range");
	ck_assert_msg(cr != NULL && strcmp(cr, "bytes 0-4/37") == 0,
	              "Content-Range '%s'", cr ? cr : "(none)");
	aster_test_response_free(&r);

	integ_request(T, "public", "GET", "/t/files/alphabet.txt", suffix, NULL,
	              &r);
	ck_assert_msg(r.status == 206, "Range -4: %d", r.status);
	ck_assert_str_eq(r.body, "xyz\n");
	aster_test_response_free(&r);

	integ_request(T, "public", "GET", "/t/files/alphabet.txt", beyond, NULL,
	              &r);
	ck_assert_msg(r.status == 416, "Range past the end: %d", r.status);
	cr = aster_test_header(&r, "Content-Range");
	ck_assert_msg(cr != NULL && strcmp(cr, "bytes */37") == 0,
	              "416 Content-Range '%s'", cr ? cr : "(none)");
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_static_no_escape)
{
	static const char *const paths[] = {
		"/t/files/../secret.txt",
		"/t/files/%2e%2e/secret.txt",
		"/t/files/..%2fsecret.txt",
		"/t/files/%252e%252e/secret.txt",
		"/t/files/sub/../../secret.txt",
		"/t/files/escape.txt",          /* a symlink out of the root */
	};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct aster_test_response r;

		integ_request(T, "public", "GET", paths[i], NULL, NULL, &r);
		ck_assert_msg(strstr(r.body, "TOP-SECRET") == NULL,
		              "%s served a file outside the static root",
		              paths[i]);
		/* Dot segments resolve above the mount (no route), and
		 * the rest name no file under the root: 404 either way. */
		ck_assert_msg(r.status == 404, "%s: %d, expected 404",
		              paths[i], r.status);
		aster_test_response_free(&r);
	}
}
END_TEST

/*
 * SPEC 7.1 below a static root: each segment of the rest is decoded once
 * and names one path component. "sub%2Fnested.txt" names no file (a
 * name cannot hold '/'): 404, never sub/nested.txt.
 */
START_TEST(test_static_segments)
{
	static const struct {
		const char *path;
		int status;
		const char *body;       /* 200: exactly; else the code */
	} rows[] = {
		{"/t/files/sub%2Fnested.txt", 404, "not-found"},
		{"/t/files/sub%2fnested.txt", 404, "not-found"},
		{"/t/files/sub%2F", 404, "not-found"},
		{"/t/files/%2Fhello.txt", 404, "not-found"},
		{"/t/files/%68ello.txt", 200, "hello from a static file\n"},
		{"/t/files/sub/%6Eested.txt", 200, "nested\n"},
		{"/t/files/sub/%2e%2e/hello.txt", 200,
		 "hello from a static file\n"},
		{"/t/files/sub/.%2E/sub/./nested.txt", 200, "nested\n"},
		{"/t/files/%2568ello.txt", 404, "not-found"},
		{"/t/files/hello.txt%00", 400, "bad-request"},
		{"/t/files/%C0%AE%C0%AE/secret.txt", 400, "bad-request"},
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct aster_test_response r;

		integ_request(T, "public", "GET", rows[i].path, NULL, NULL, &r);
		ck_assert_msg(r.status == rows[i].status, "%s: %d, expected "
		              "%d; body: %s", rows[i].path, r.status,
		              rows[i].status, r.body);
		if (rows[i].status == 200)
			ck_assert_msg(strcmp(r.body, rows[i].body) == 0,
			              "%s: body '%s'", rows[i].path, r.body);
		else
			integ_assert_problem(&r, rows[i].status,
			                     rows[i].body);
		aster_test_response_free(&r);
	}
}
END_TEST

/* SPEC 7.5: over max_connections, new connections wait or are refused;
 * existing ones are unaffected. */
START_TEST(test_max_connections)
{
	struct aster_test *t = integ_start("maxconn", NULL);
	struct aster_test_conn *c1, *c2, *c3;
	struct aster_test_response r;
	int waited = 0;

	c1 = aster_test_connect(t, "public");
	c2 = aster_test_connect(t, "public");
	ck_assert(c1 != NULL && c2 != NULL);
	ck_assert(aster_test_conn_request(c1, "GET", "/t/hello", NULL, NULL, 0,
	                                  &r) == 0 && r.status == 200);
	aster_test_response_free(&r);
	ck_assert(aster_test_conn_request(c2, "GET", "/t/hello", NULL, NULL, 0,
	                                  &r) == 0 && r.status == 200);
	aster_test_response_free(&r);

	/* The third is over the cap: asterd stops accepting, so it waits
	 * in the kernel's backlog, unanswered while the two are open. */
	c3 = aster_test_connect_address(aster_test_address(t, "public"), 1000);
	ck_assert_msg(c3 != NULL, "a connection over max_connections was "
	              "refused instead of waiting: %s", strerror(errno));
	ck_assert_msg(aster_test_conn_request(c3, "GET", "/t/hello", NULL, NULL,
	              0, &r) != 0, "a third connection was answered %d with "
	              "max_connections: 2", r.status);
	waited = strstr(r.error, "timed out") != NULL;
	ck_assert_msg(waited, "the waiting connection failed: %s", r.error);
	aster_test_response_free(&r);

	/* The first two are unaffected. */
	ck_assert_msg(aster_test_conn_request(c1, "GET", "/t/hello", NULL, NULL,
	              0, &r) == 0 && r.status == 200,
	              "an existing connection suffered from the cap: %s",
	              r.error);
	aster_test_response_free(&r);
	ck_assert_msg(aster_test_conn_request(c2, "GET", "/t/hello", NULL, NULL,
	              0, &r) == 0 && r.status == 200,
	              "an existing connection suffered from the cap: %s",
	              r.error);
	aster_test_response_free(&r);

	/* Once one closes, a waiting connection is served. */
	aster_test_conn_close(c1);
	aster_test_conn_set_timeout(c3, aster_test_timeout(3000));
	ck_assert_msg(aster_test_conn_read_response(c3, 0, &r) == 0 &&
	              r.status == 200, "the waiting connection was not "
	              "served once a slot freed: %s", r.error);
	aster_test_response_free(&r);
	aster_test_conn_close(c3);
	aster_test_conn_close(c2);
	integ_stop(t);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *core = tcase_create("core");
	TCase *routing = tcase_create("routing");
	TCase *conn = tcase_create("connections");
	TCase *limits = tcase_create("limits");
	TCase *ids = tcase_create("request-ids");
	TCase *scopes = tcase_create("scopes");
	TCase *files = tcase_create("static");
	TCase *all[] = {core, routing, conn, limits, ids, scopes, files};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], setup, teardown);
		tcase_set_timeout(all[i], INTEG_TCASE_TIMEOUT);
		suite_add_tcase(s, all[i]);
	}
	tcase_add_test(core, test_health);
	tcase_add_test(core, test_ready_lists_modules);
	tcase_add_test(core, test_product_identity);
	tcase_add_test(core, test_openapi_document);
	tcase_add_test(routing, test_not_found);
	tcase_add_test(routing, test_method_not_allowed);
	tcase_add_test(routing, test_options);
	tcase_add_test(routing, test_head_of_get_route);
	tcase_add_test(routing, test_respond_handler);
	tcase_add_test(routing, test_path_normalised);
	tcase_add_test(routing, test_bad_request);
	tcase_add_test(routing, test_query_and_encoded_params);
	tcase_add_test(routing, test_route_precedence);
	tcase_add_test(routing, test_malformed_requests_refused);
	tcase_add_test(conn, test_no_request_smuggling);
	tcase_add_test(conn, test_chunked_request_body);
	tcase_add_test(conn, test_many_pipelined);
	tcase_add_test(conn, test_keep_alive_after_errors);
	tcase_add_test(conn, test_slow_but_in_time);
	tcase_add_test(conn, test_keep_alive_and_pipelining);
	tcase_add_test(conn, test_connection_close_and_http10);
	tcase_add_test(limits, test_payload_too_large);
	tcase_add_test(limits, test_payload_too_large_announced);
	tcase_add_test(limits, test_headers_too_large);
	tcase_add_test(limits, test_request_timeout);
	tcase_add_test(ids, test_request_id_generated);
	tcase_add_test(ids, test_request_id_echoed);
	tcase_add_test(ids, test_request_id_invalid_replaced);
	tcase_add_test(ids, test_traceparent);
	tcase_add_test(scopes, test_internal_only_on_internal_listener);
	tcase_add_test(scopes, test_user_and_admin_need_credentials);
	tcase_add_test(files, test_static_file);
	tcase_add_test(files, test_static_index_and_missing);
	tcase_add_test(files, test_static_range);
	tcase_add_test(files, test_static_if_modified_since);
	tcase_add_test(files, test_static_no_escape);
	tcase_add_test(files, test_static_segments);
	{
		TCase *cap = tcase_create("max-connections");

		tcase_set_timeout(cap, INTEG_TCASE_TIMEOUT);
		tcase_add_test(cap, test_max_connections);
		suite_add_tcase(s, cap);
	}
	return s;
}

UNIT_MAIN(http_suite)
