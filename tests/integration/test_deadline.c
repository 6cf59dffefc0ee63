/*
 * test_deadline.c - no hanging requests (SPEC §18, §3.1): a handler that
 * has not answered within request_timeout_ms gets 504 gateway-timeout,
 * and its late answer is dropped without harm.
 *
 * The product has request_timeout_ms 300, the internal state API on the
 * test store `slowstore`, and the auth service `slowauth` with the admin
 * key list endpoint (tests/providers/), each set to answer late (after
 * late_ms(), well past the 504) or never (until their stop()). Each test then checks the 504
 * (problem+json with the request id, one access line), that the late
 * answer came and changed nothing (asterd serves the next request on the
 * same connection and on another one), and that asterd stops with exit 0
 * and a clean log: run it under the ASan build and under valgrind
 * (INTEG_VALGRIND=1) too.
 */
#include "integ.h"

#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 300
#define DOC "/gateway/v1/internal/state/ns/key"

static char *dir;
static struct aster_test *t;

/* A late answer comes this long after its call: far behind the 504,
 * even under valgrind. */
static int
late_ms(void)
{
	return aster_test_timeout(1500);
}

static void
write_product(const char *store, const char *auth, int verify_now)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
	         "kind: product\n"
	         "id: deadline\n"
	         "name: Deadline\n"
	         "version: 0.1.0\n"
	         "server:\n"
	         "  listen:\n"
	         "    - address: 127.0.0.1:0\n"
	         "      scopes: [public, user, admin]\n"
	         "    - address: 127.0.0.1:0\n"
	         "      scopes: [internal]\n"
	         "  limits:\n"
	         "    request_timeout_ms: %d\n"
	         "  shutdown_timeout_ms: 2000\n"
	         "log:\n"
	         "  format: text\n"
	         "  access: true\n", TIMEOUT_MS);
	ck_assert_int_eq(aster_test_write_file(dir, "product.yaml", buf, -1),
	                 0);
	ck_assert_int_eq(aster_test_write_file(dir, "modules/core.yaml",
	    "kind: module\n"
	    "id: core\n"
	    "displayName: Core\n"
	    "version: 0.1.0\n"
	    "services:\n"
	    "  - id: gateway\n"
	    "    provider: gateway\n"
	    "routes:\n"
	    "  - id: route:core.health\n"
	    "    scope: public\n"
	    "    methods: [GET]\n"
	    "    mountPath: /gateway/v1/health\n"
	    "    handler: { service: gateway, operation: health }\n", -1), 0);
	snprintf(buf, sizeof(buf),
	         "  - id: store\n"
	         "    provider: slowstore\n"
	         "    config: { answer: %s, delay_ms: %d }\n", store,
	         late_ms());
	integ_write_database(dir, buf, 1);
	snprintf(buf, sizeof(buf),
	         "kind: module\n"
	         "id: guard\n"
	         "displayName: Guard\n"
	         "version: 0.1.0\n"
	         "provides: [auth]\n"
	         "services:\n"
	         "  - id: keys\n"
	         "    provider: slowauth\n"
	         "    config: { answer: %s, delay_ms: %d, verify_now: %s }\n"
	         "routes:\n"
	         "  - id: route:guard.keys.list\n"
	         "    scope: admin\n"
	         "    methods: [GET]\n"
	         "    mountPath: /gateway/v1/admin/keys\n"
	         "    handler: { service: keys, operation: keys-list }\n",
	         auth, late_ms(), verify_now ? "true" : "false");
	ck_assert_int_eq(aster_test_write_file(dir, "modules/guard.yaml", buf,
	                                       -1), 0);
	integ_write_probe(dir, 1);
}

static void
start_with(const char *store, const char *auth, int verify_now)
{
	dir = integ_tempdir();
	write_product(store, auth, verify_now);
	t = integ_start_dir(dir, NULL);
}

static void
start(const char *store, const char *auth)
{
	dir = integ_tempdir();
	write_product(store, auth, 0);
	t = integ_start_dir(dir, NULL);
}

static void
teardown(void)
{
	if (t != NULL)
		integ_stop(t);
	t = NULL;
	aster_test_remove_tree(dir);
	free(dir);
	dir = NULL;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/*
 * r is the 504 of a handler that did not answer in time, received
 * elapsed ms after the request was sent: problem+json with the request
 * id, after the timeout (and not much later: the deadline is swept every
 * 100 ms), and exactly one access line for it.
 */
static void
assert_timed_out(const struct aster_test_response *r, long elapsed)
{
	const char *rid = aster_test_header(r, "X-Request-Id");
	char id[200];

	integ_assert_problem(r, 504, "gateway-timeout");
	ck_assert_msg(elapsed >= TIMEOUT_MS - 5, "504 after %ld ms, before "
	              "request_timeout_ms %d", elapsed, TIMEOUT_MS);
	ck_assert_msg(elapsed < aster_test_timeout(TIMEOUT_MS + 1000),
	              "504 only after %ld ms", elapsed);
	snprintf(id, sizeof(id), "access id=%s ", rid);
	ck_assert_msg(aster_test_wait_stderr(t, id, aster_test_timeout(
	              5000)) == 0, "no access line for %s:\n%s", rid,
	              aster_test_stderr(t));
	ck_assert_msg(strstr(strstr(aster_test_stderr(t), id), "status=504")
	              != NULL, "the access line of %s is not status=504", rid);
}

/* One request on c, timed. */
static long
timed(struct aster_test_conn *c, const char *method, const char *path,
      const char *const *headers, const char *body,
      struct aster_test_response *r)
{
	long t0 = now_ms();

	ck_assert_msg(aster_test_conn_request(c, method, path, headers, body,
	              body != NULL ? strlen(body) : 0, r) == 0,
	              "%s %s: %s", method, path, r->error);
	return now_ms() - t0;
}

/* Waits for the n-th occurrence of text on asterd's stderr. */
static void
wait_lines(const char *text, int n)
{
	long until = now_ms() + aster_test_timeout(10000);

	while (count(aster_test_stderr(t), text) < n && now_ms() < until)
		aster_test_wait_stderr(t, "\n", 100);
	ck_assert_msg(count(aster_test_stderr(t), text) >= n, "%d x '%s' "
	              "not seen on asterd's stderr:\n%s", n, text,
	              aster_test_stderr(t));
}

/* asterd still serves: on c (kept alive after the 504s) and on a new
 * connection. */
static void
assert_still_serving(struct aster_test_conn *c)
{
	struct aster_test_response r;

	if (c != NULL) {
		timed(c, "GET", "/gateway/v1/internal/probe", NULL, NULL, &r);
		ck_assert_int_eq(r.status, 200);
		ck_assert_str_eq(r.body, "internal");
		aster_test_response_free(&r);
	}
	integ_get_expect(t, "public", "/gateway/v1/health", 200, &r);
	aster_test_response_free(&r);
}

/* SIGTERM: exit 0, clean log, and whatever the providers held was
 * answered by their stop(). */
static void
stop_expecting(const char *line, int n)
{
	int rc = aster_test_stop(t);

	ck_assert_msg(rc == 0, "asterd exited with %d after SIGTERM; "
	              "stderr:\n%s", rc, aster_test_stderr(t));
	integ_assert_clean_log(t);
	ck_assert_msg(count(aster_test_stderr(t), line) == n, "not %d x "
	              "'%s' on stderr:\n%s", n, line, aster_test_stderr(t));
	aster_test_free(t);
	t = NULL;
}

/* A store that answers late: GET and PUT get 504 on time, on one
 * keep-alive connection; the late answers come and are dropped; the
 * connection and asterd go on. */
START_TEST(test_late_store)
{
	static const char *const json[] = {
		"Content-Type: application/json", NULL,
	};
	struct aster_test_response r;
	struct aster_test_conn *c;
	long ms;

	start("late", "late");
	c = aster_test_connect(t, "internal");
	ck_assert_ptr_nonnull(c);
	ms = timed(c, "GET", DOC, NULL, NULL, &r);
	assert_timed_out(&r, ms);
	aster_test_response_free(&r);
	ms = timed(c, "PUT", DOC, json, "{\"a\": 1}", &r);
	assert_timed_out(&r, ms);
	aster_test_response_free(&r);

	wait_lines("slowstore: answered doc_get after", 1);
	wait_lines("slowstore: answered doc_put after", 1);
	assert_still_serving(c);
	aster_test_conn_close(c);
	/* No second answer, so no second access line, for either. */
	ck_assert_int_eq(count(aster_test_stderr(t), "status=504"), 2);
	stop_expecting("at stop", 0);
}
END_TEST

/* A store that never answers: 504, and the call is still pending when
 * SIGTERM comes; the store's stop() answers it, and asterd exits 0 with
 * nothing leaked. */
START_TEST(test_never_store)
{
	struct aster_test_response r;
	struct aster_test_conn *c;
	long ms;

	start("never", "late");
	c = aster_test_connect(t, "internal");
	ck_assert_ptr_nonnull(c);
	ms = timed(c, "GET", DOC, NULL, NULL, &r);
	assert_timed_out(&r, ms);
	aster_test_response_free(&r);
	assert_still_serving(c);
	ms = timed(c, "DELETE", DOC, NULL, NULL, &r);
	assert_timed_out(&r, ms);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
	ms = now_ms();
	stop_expecting("slowstore: answered ", 2);
	/* The 504s are answered: nothing waits for the drain. */
	ck_assert_msg(now_ms() - ms < aster_test_timeout(1500), "the stop "
	              "took %ld ms", now_ms() - ms);
}
END_TEST

/* Clients that go away: one before its 504 (its request then waits on
 * the store with nobody to answer to), one after its 504 and before the
 * late answer. Both late answers are dropped; asterd goes on, and stops
 * clean with a third one, never answered by the store, pending. */
START_TEST(test_client_gone)
{
	static const char get[] =
	    "GET " DOC " HTTP/1.1\r\nHost: x\r\n\r\n";
	struct aster_test_response r;
	struct aster_test_conn *c;
	long ms;

	start("late", "late");
	c = aster_test_connect(t, "internal");
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(aster_test_conn_send(c, get, sizeof(get) - 1), 0);
	usleep(100 * 1000);     /* received, and waiting on the store */
	aster_test_conn_close(c);

	c = aster_test_connect(t, "internal");
	ck_assert_ptr_nonnull(c);
	ms = timed(c, "GET", DOC, NULL, NULL, &r);
	assert_timed_out(&r, ms);
	aster_test_response_free(&r);
	aster_test_conn_close(c);

	wait_lines("slowstore: answered doc_get after", 2);
	assert_still_serving(NULL);
	/* Only the one that stayed got an answer, hence an access line. */
	ck_assert_int_eq(count(aster_test_stderr(t), "status=504"), 1);
	stop_expecting("at stop", 0);
}
END_TEST

/* The same with a store that never answers: the client gone before the
 * 504 leaves its request pending until the stop. */
START_TEST(test_client_gone_never)
{
	static const char get[] =
	    "GET " DOC " HTTP/1.1\r\nHost: x\r\n\r\n";
	struct aster_test_conn *c;

	start("never", "late");
	c = aster_test_connect(t, "internal");
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(aster_test_conn_send(c, get, sizeof(get) - 1), 0);
	usleep(100 * 1000);
	aster_test_conn_close(c);
	usleep((TIMEOUT_MS + 200) * 1000);
	assert_still_serving(NULL);
	stop_expecting("slowstore: answered doc_get at stop", 1);
}
END_TEST

/* An auth service whose verify never answers: the user route gets 504;
 * the verify is answered by the stop. */
START_TEST(test_auth_never)
{
	static const char *const bearer[] = {
		"Authorization: Bearer sometoken", NULL,
	};
	struct aster_test_response r;
	long ms, t0;

	start("late", "never");
	t0 = now_ms();
	integ_request(t, "public", "GET", "/t/user", bearer, NULL, &r);
	ms = now_ms() - t0;
	assert_timed_out(&r, ms);
	aster_test_response_free(&r);
	assert_still_serving(NULL);
	stop_expecting("slowauth: answered verify at stop", 1);
}
END_TEST

/* A verify that answers late (valid) after the 504: the request goes no
 * further (no second answer, no second access line). */
START_TEST(test_auth_late)
{
	static const char *const bearer[] = {
		"Authorization: Bearer sometoken", NULL,
	};
	struct aster_test_response r;
	long ms, t0;

	start("late", "late");
	t0 = now_ms();
	integ_request(t, "public", "GET", "/t/user", bearer, NULL, &r);
	ms = now_ms() - t0;
	assert_timed_out(&r, ms);
	aster_test_response_free(&r);
	wait_lines("slowauth: answered verify after", 1);
	assert_still_serving(NULL);
	ck_assert_int_eq(count(aster_test_stderr(t), "route=route:probe.user"),
	                 1);
	stop_expecting("at stop", 0);
}
END_TEST

/* A key operation (key_list) that answers late: 504, then the late
 * answer is dropped. */
START_TEST(test_key_op_late)
{
	static const char *const bearer[] = {
		"Authorization: Bearer sometoken", NULL,
	};
	struct aster_test_response r;
	long ms, t0;

	start_with("late", "late", 1);
	t0 = now_ms();
	integ_request(t, "public", "GET", "/gateway/v1/admin/keys", bearer,
	              NULL, &r);
	ms = now_ms() - t0;
	assert_timed_out(&r, ms);
	aster_test_response_free(&r);
	wait_lines("slowauth: answered key_list after", 1);
	assert_still_serving(NULL);
	ck_assert_int_eq(count(aster_test_stderr(t),
	                       "route=route:guard.keys.list"), 1);
	stop_expecting("at stop", 0);
}
END_TEST

/* A key operation that never answers: 504, answered by the stop. */
START_TEST(test_key_op_never)
{
	static const char *const bearer[] = {
		"Authorization: Bearer sometoken", NULL,
	};
	struct aster_test_response r;
	long ms, t0;

	start_with("late", "never", 1);
	t0 = now_ms();
	integ_request(t, "public", "GET", "/gateway/v1/admin/keys", bearer,
	              NULL, &r);
	ms = now_ms() - t0;
	assert_timed_out(&r, ms);
	aster_test_response_free(&r);
	assert_still_serving(NULL);
	stop_expecting("slowauth: answered key_list at stop", 1);
}
END_TEST

static Suite *
deadline_suite(void)
{
	Suite *s = suite_create("deadline");
	TCase *tc = tcase_create("deadline");

	tcase_set_timeout(tc, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_late_store);
	tcase_add_test(tc, test_never_store);
	tcase_add_test(tc, test_client_gone);
	tcase_add_test(tc, test_client_gone_never);
	tcase_add_test(tc, test_auth_never);
	tcase_add_test(tc, test_auth_late);
	tcase_add_test(tc, test_key_op_late);
	tcase_add_test(tc, test_key_op_never);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(deadline_suite)
