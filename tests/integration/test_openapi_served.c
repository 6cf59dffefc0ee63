/*
 * test_openapi_served.c - the OpenAPI document a running asterd serves
 * (SPEC §14): its servers are the listeners as bound (ephemeral ports
 * here), those of the scopes the document covers; an operation that
 * fewer listeners serve names its own; and the routes' security and
 * problems are there. What goes into a document is the unit test's
 * (tests/unit/test_openapi.c) and tests/openapi/run.sh's affair; this is
 * the runtime's part.
 *
 * The product (confs/openapi) serves public routes on one TCP listener,
 * user and admin ones on another, internal ones on a unix socket under a
 * fresh directory ($ASTER_TEST_RUN).
 */
#include "integ.h"

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
	T = integ_start("openapi", env);
}

static void
teardown(void)
{
	integ_stop(T);
	T = NULL;
	aster_test_remove_tree(RUN);
	free(RUN);
}

/* The document from the listener serving scope, at path, parsed. */
static json_object *
document(const char *scope, const char *path)
{
	struct aster_test_response r;
	json_object *o;

	integ_get_expect(T, scope, path, 200, &r);
	o = integ_json(&r);
	aster_test_response_free(&r);
	return o;
}

/* The value at a '|'-separated path of o (NULL when absent), as compact
 * JSON text in buf. */
static const char *
text_at(json_object *o, const char *path, char *buf, size_t len)
{
	char copy[256], *key, *save = NULL;

	snprintf(copy, sizeof(copy), "%s", path);
	for (key = strtok_r(copy, "|", &save); key != NULL && o != NULL;
	     key = strtok_r(NULL, "|", &save))
		if (!json_object_object_get_ex(o, key, &o))
			o = NULL;
	if (o == NULL)
		return NULL;
	snprintf(buf, len, "%s", json_object_to_json_string_ext(o,
	         JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	return buf;
}

START_TEST(test_servers_as_bound)
{
	json_object *o = document("public", "/gateway/v1/openapi.json");
	const char *pub = aster_test_url(T, "public");
	const char *user = aster_test_url(T, "user");
	char want[512], buf[1024];

	ck_assert_ptr_nonnull(pub);
	ck_assert_ptr_nonnull(user);
	ck_assert_str_ne(pub, user);
	/* Both TCP listeners, in order, with the ports they took; not the
	 * unix socket. */
	snprintf(want, sizeof(want), "[{\"url\":\"%s\"},{\"url\":\"%s\"}]",
	         pub, user);
	ck_assert_str_eq(text_at(o, "servers", buf, sizeof(buf)), want);
	/* Each operation on the listener that serves its scope. */
	snprintf(want, sizeof(want), "[{\"url\":\"%s\"}]", pub);
	ck_assert_str_eq(text_at(o, "paths|/gateway/v1/openapi.json|get|"
	                         "servers", buf, sizeof(buf)), want);
	snprintf(want, sizeof(want), "[{\"url\":\"%s\"}]", user);
	ck_assert_str_eq(text_at(o, "paths|/t/notes|post|servers", buf,
	                         sizeof(buf)), want);
	json_object_put(o);
}
END_TEST

START_TEST(test_security_and_problems)
{
	json_object *o = document("public", "/gateway/v1/openapi.json");
	char buf[1024];

	ck_assert_str_eq(text_at(o, "paths|/gateway/v1/openapi.json|get|"
	                         "security", buf, sizeof(buf)), "[]");
	ck_assert_str_eq(text_at(o, "paths|/t/notes|post|security", buf,
	                         sizeof(buf)), "[{\"bearerAuth\":[]}]");
	ck_assert_str_eq(text_at(o, "paths|/t/notes|post|responses|422|$ref",
	                         buf, sizeof(buf)),
	                 "\"#/components/responses/ValidationFailed\"");
	ck_assert_str_eq(text_at(o, "paths|/t/notes|post|requestBody|content|"
	                         "application/json|schema|$ref", buf,
	                         sizeof(buf)),
	                 "\"#/components/schemas/notes.Note\"");
	/* The internal route is not in the served document. */
	ck_assert_ptr_null(text_at(o, "paths|/gateway/v1/internal/openapi.json",
	                           buf, sizeof(buf)));
	json_object_put(o);
}
END_TEST

/* Served on the internal listener, the operation is the same: the
 * document covers public, user and admin routes, whoever asks. */
START_TEST(test_same_document_everywhere)
{
	json_object *o = document("internal",
	                          "/gateway/v1/internal/openapi.json");
	char buf[1024];

	ck_assert_ptr_nonnull(text_at(o, "paths|/t/notes|post", buf,
	                              sizeof(buf)));
	ck_assert_ptr_null(text_at(o, "paths|/gateway/v1/internal/openapi.json",
	                           buf, sizeof(buf)));
	json_object_put(o);
}
END_TEST

static Suite *
openapi_suite(void)
{
	Suite *s = suite_create("openapi");
	TCase *tc = tcase_create("served");

	tcase_set_timeout(tc, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_servers_as_bound);
	tcase_add_test(tc, test_security_and_problems);
	tcase_add_test(tc, test_same_document_everywhere);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(openapi_suite)
