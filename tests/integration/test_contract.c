/*
 * test_contract.c - request bodies validated against the routes' schemas
 * (SPEC §14) by a running asterd, on confs/contract.
 *
 * A route with request.schema takes application/json (with at most
 * charset=utf-8): anything else is 415 unsupported-media-type, a body
 * that is not JSON 400 invalid-json, one that breaks the schema 422
 * validation-failed with errors [{pointer, detail}], at most 20. The
 * check comes before every handler form: a refused body never reaches
 * the respond, static, operation (the gateway's and testecho's, which
 * echoes the body) or proxy handler, and a valid one does, as sent
 * (each answers as it would without a schema).
 */
#include "integ.h"

static struct aster_test *T;

static const char valid_order[] =
	"{\"id\":\"3f2504e0-4f89-11d3-9a0c-0305e82c3301\","
	"\"items\":[{\"name\":\"apple\",\"qty\":2},"
	"{\"name\":\"\xc3\xa9pice\",\"qty\":1.0}],"
	"\"placed_at\":\"2024-05-01T12:34:56.5+02:00\","
	"\"contact\":\"buyer@example.com\",\"note\":null,\"a/b~c\":7}";

static void
setup(void)
{
	T = integ_start("contract", NULL);
}

static void
teardown(void)
{
	integ_stop(T);
	T = NULL;
}

/* POST body with the given Content-Type (NULL: none) to path. */
static void
post(const char *path, const char *type, const char *body,
     struct aster_test_response *r)
{
	char header[256];
	const char *headers[2] = {header, NULL};

	snprintf(header, sizeof(header), "Content-Type: %s", type);
	integ_request(T, "public", "POST", path, type != NULL ? headers : NULL,
	              body, r);
}

/* The errors member of a 422 as "pointer: detail" lines. */
static char *
errors_text(const struct aster_test_response *r)
{
	json_object *o = integ_json(r), *errors, *e;
	size_t i, n, used = 0, cap = 8192;
	char *out = malloc(cap);

	ck_assert_ptr_nonnull(out);
	out[0] = '\0';
	ck_assert_msg(json_object_object_get_ex(o, "errors", &errors) &&
	              json_object_is_type(errors, json_type_array),
	              "no errors array: %s", r->body);
	n = json_object_array_length(errors);
	for (i = 0; i < n; i++) {
		const char *pointer, *detail;

		e = json_object_array_get_idx(errors, i);
		ck_assert_msg(json_object_is_type(e, json_type_object) &&
		              json_object_object_length(e) == 2,
		              "errors[%zu] is not {pointer, detail}: %s", i,
		              r->body);
		pointer = integ_json_str(e, "pointer");
		detail = integ_json_str(e, "detail");
		ck_assert_msg(pointer != NULL && detail != NULL,
		              "errors[%zu] lacks a string pointer or "
		              "detail: %s", i, r->body);
		used += (size_t)snprintf(out + used, cap - used, "%s%s: %s",
		                         i > 0 ? "\n" : "", pointer, detail);
	}
	json_object_put(o);
	return out;
}

static void
expect_errors(const struct aster_test_response *r, const char *expected)
{
	char *got;

	integ_assert_problem(r, 422, "validation-failed");
	got = errors_text(r);
	ck_assert_str_eq(got, expected);
	free(got);
}

START_TEST(test_valid_body_reaches_handler)
{
	struct aster_test_response r;

	post("/t/orders", "application/json", valid_order, &r);
	ck_assert_msg(r.status == 201, "%d: %s", r.status, r.body);
	ck_assert_str_eq(r.body, "{\"made\":true}");
	aster_test_response_free(&r);
	post("/t/orders", "application/json; charset=utf-8", valid_order, &r);
	ck_assert_msg(r.status == 201, "%d: %s", r.status, r.body);
	aster_test_response_free(&r);
	post("/t/orders", "Application/JSON;Charset=\"UTF-8\"", valid_order,
	     &r);
	ck_assert_msg(r.status == 201, "%d: %s", r.status, r.body);
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_media_types)
{
	static const char *const refused[] = {
		NULL, "text/plain", "application/json; charset=latin1",
		"application/x-www-form-urlencoded", "application/jsonx",
		"application/json; profile=x",
	};
	struct aster_test_response r;
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		post("/t/orders", refused[i], valid_order, &r);
		integ_assert_problem(&r, 415, "unsupported-media-type");
		aster_test_response_free(&r);
	}
	/* A route without a schema takes any body. */
	post("/t/plain", "text/plain", "anything", &r);
	ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
	aster_test_response_free(&r);
	post("/t/plain", NULL, "{", &r);
	ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_invalid_json)
{
	static const char *const bodies[] = {
		"", "{", "{\"id\":}", "{} {}", "{\"a\":01}", "[\"\xff\"]",
		"{\"a\":\"\\q\"}",
	};
	struct aster_test_response r;
	json_object *o;
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		post("/t/orders", "application/json", bodies[i], &r);
		integ_assert_problem(&r, 400, "invalid-json");
		aster_test_response_free(&r);
	}
	/* The detail says where the text breaks. */
	post("/t/orders", "application/json", "{\"id\":}", &r);
	o = integ_json(&r);
	ck_assert_str_eq(integ_json_str(o, "detail"), "the body is not JSON: "
	                 "not a JSON value (at byte 6)");
	json_object_put(o);
	aster_test_response_free(&r);
	post("/t/orders", "application/json", "", &r);
	o = integ_json(&r);
	ck_assert_str_eq(integ_json_str(o, "detail"), "the body is empty; "
	                 "this route takes a JSON body");
	json_object_put(o);
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_errors_member)
{
	struct aster_test_response r;
	json_object *o;

	post("/t/orders", "application/json",
	     "{\"id\":\"not-a-uuid\",\"items\":[{\"name\":\"ok\",\"qty\":0},"
	     "{\"name\":\"a1\",\"qty\":1.5},{\"qty\":1},{\"name\":\"x\","
	     "\"qty\":1}],\"placed_at\":\"2024-05-01 12:00:00Z\","
	     "\"contact\":\"nobody\",\"note\":\"longer\",\"a/b~c\":\"7\","
	     "\"extra\":true}", &r);
	expect_errors(&r,
	    "/id: must be a UUID\n"
	    "/items: must have at most 3 items\n"
	    "/items/0/qty: must be >= 1\n"
	    "/items/1/name: must match the pattern '^\\p{Letter}+$'\n"
	    "/items/1/qty: must be integer, not number\n"
	    "/items/2/name: required property 'name' is missing\n"
	    "/placed_at: must be an RFC 3339 date-time\n"
	    "/contact: must be an email address\n"
	    "/note: must be at most 5 characters long\n"
	    "/a~1b~0c: must be integer, not string\n"
	    "/extra: property 'extra' is not allowed");
	o = integ_json(&r);
	ck_assert_str_eq(integ_json_str(o, "detail"), "the body does not "
	                 "match the route's schema: 11 errors");
	json_object_put(o);
	aster_test_response_free(&r);
	/* The whole body: the empty pointer. */
	post("/t/orders", "application/json", "[]", &r);
	expect_errors(&r, ": must be object, not array");
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_at_most_twenty_errors)
{
	struct aster_test_response r;
	json_object *o, *errors;
	char body[256];
	size_t i, used = 0;

	used += (size_t)snprintf(body + used, sizeof(body) - used, "[");
	for (i = 0; i < 30; i++)
		used += (size_t)snprintf(body + used, sizeof(body) - used,
		                         "%s\"%zu\"", i > 0 ? "," : "", i);
	snprintf(body + used, sizeof(body) - used, "]");
	integ_request(T, "public", "PUT", "/t/mixed",
	              (const char *const[]){"Content-Type: application/json",
	                                    NULL}, body, &r);
	integ_assert_problem(&r, 422, "validation-failed");
	o = integ_json(&r);
	ck_assert(json_object_object_get_ex(o, "errors", &errors));
	ck_assert_uint_eq(json_object_array_length(errors), 20);
	ck_assert_str_eq(integ_json_str(json_object_array_get_idx(errors, 19),
	                                "pointer"), "/19");
	ck_assert_str_eq(integ_json_str(o, "detail"), "the body does not "
	                 "match the route's schema: the first 20 errors");
	json_object_put(o);
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_before_every_handler_form)
{
	struct aster_test_response r;

	/* respond: refused, so the respond never ran. */
	post("/t/orders", "application/json", "{\"id\":1}", &r);
	integ_assert_problem(&r, 422, "validation-failed");
	ck_assert_ptr_null(strstr(r.body, "made"));
	aster_test_response_free(&r);

	/* static: refused before the handler's own 405 for POST; a valid
	 * body gets that 405. */
	post("/t/files/index.html", "application/json", "[1]", &r);
	expect_errors(&r, ": must be object, not array");
	aster_test_response_free(&r);
	post("/t/files/index.html", "text/plain", "{}", &r);
	integ_assert_problem(&r, 415, "unsupported-media-type");
	aster_test_response_free(&r);
	post("/t/files/index.html", "application/json", "{}", &r);
	integ_assert_problem(&r, 405, "method-not-allowed");
	aster_test_response_free(&r);

	/* An operation (the gateway's health). */
	post("/t/health", "application/json", "{\"x\":1}", &r);
	expect_errors(&r, "/x: property 'x' is not allowed");
	aster_test_response_free(&r);
	post("/t/health", "application/json", "{}", &r);
	ck_assert_msg(r.status == 200 && strstr(r.body, "\"ok\"") != NULL,
	              "%d: %s", r.status, r.body);
	aster_test_response_free(&r);

	/* A provider's operation (testecho's echo answers with the body):
	 * a valid body reaches it as sent. */
	post("/t/echo", "application/json", "{\"n\":\"1\"}", &r);
	expect_errors(&r, "/n: must be integer, not string");
	aster_test_response_free(&r);
	post("/t/echo", "application/json; charset=utf-8",
	     " {\"n\": 1.0, \"more\": [\"\\u00e9\"]} ", &r);
	ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
	ck_assert_str_eq(r.body, " {\"n\": 1.0, \"more\": [\"\\u00e9\"]} ");
	aster_test_response_free(&r);

	/* A proxy: refused before any upstream is tried; a valid body goes
	 * on to the proxy, whose upstream is not there (502 or 503). */
	post("/t/proxy", "application/json", "{}", &r);
	expect_errors(&r, "/x: required property 'x' is missing");
	aster_test_response_free(&r);
	post("/t/proxy", "application/json", "{\"x\":1}", &r);
	ck_assert_msg(r.status == 502 || r.status == 503, "%d: %s", r.status,
	              r.body);
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_get_has_no_body_to_check)
{
	struct aster_test_response r;

	/* A schema applies to the methods that carry a body. */
	integ_get_expect(T, "public", "/t/mixed", 200, &r);
	ck_assert_str_eq(r.body, "mixed");
	aster_test_response_free(&r);
	integ_get_expect(T, "public", "/t/files/index.html", 200, &r);
	aster_test_response_free(&r);
	integ_request(T, "public", "PUT", "/t/mixed", NULL, "[1]", &r);
	integ_assert_problem(&r, 415, "unsupported-media-type");
	aster_test_response_free(&r);
	integ_request(T, "public", "PUT", "/t/mixed",
	              (const char *const[]){"Content-Type: application/json",
	                                    NULL}, "[1, 2.0, -3]", &r);
	ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
	aster_test_response_free(&r);
}
END_TEST

static Suite *
contract_suite(void)
{
	Suite *s = suite_create("contract");
	TCase *tc = tcase_create("http");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, INTEG_TCASE_TIMEOUT);
	tcase_add_test(tc, test_valid_body_reaches_handler);
	tcase_add_test(tc, test_media_types);
	tcase_add_test(tc, test_invalid_json);
	tcase_add_test(tc, test_errors_member);
	tcase_add_test(tc, test_at_most_twenty_errors);
	tcase_add_test(tc, test_before_every_handler_form);
	tcase_add_test(tc, test_get_has_no_body_to_check);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(contract_suite)
