/*
 * test_ratelimit.c - rate limits through a real asterd (SPEC §7.5): a
 * route's own limit and its module's, the RateLimit-* headers on every
 * answer of a limited route, 429 rate-limited with Retry-After past the
 * burst, none of it on routes without a limit.
 */
#include "integ.h"

#define PRODUCT \
	"kind: product\n" \
	"id: limits\n" \
	"name: Limits\n" \
	"version: 1.0.0\n" \
	"server:\n" \
	"  listen:\n" \
	"    - address: 127.0.0.1:0\n" \
	"      scopes: [public]\n" \
	"log:\n" \
	"  access: false\n"

#define MODULE \
	"kind: module\n" \
	"id: limited\n" \
	"displayName: Limited\n" \
	"version: 1.0.0\n" \
	"rateLimit: { requests: 2, per_ms: 60000, key: ip }\n" \
	"routes:\n" \
	"  - id: route:limited.own\n" \
	"    scope: public\n" \
	"    methods: [GET]\n" \
	"    mountPath: /own\n" \
	"    rateLimit: { requests: 3, per_ms: 60000, burst: 3, key: ip }\n" \
	"    handler: { respond: { status: 200, body: own } }\n" \
	"  - id: route:limited.a\n" \
	"    scope: public\n" \
	"    methods: [GET]\n" \
	"    mountPath: /a\n" \
	"    handler: { respond: { status: 200, body: a } }\n" \
	"  - id: route:limited.b\n" \
	"    scope: public\n" \
	"    methods: [GET]\n" \
	"    mountPath: /b\n" \
	"    handler: { respond: { status: 200, body: b } }\n" \
	"---\n" \
	"kind: module\n" \
	"id: free\n" \
	"displayName: Free\n" \
	"version: 1.0.0\n" \
	"routes:\n" \
	"  - id: route:free.open\n" \
	"    scope: public\n" \
	"    methods: [GET]\n" \
	"    mountPath: /open\n" \
	"    handler: { respond: { status: 200, body: open } }\n"

static char *dir;
static struct aster_test *t;

static void
setup(void)
{
	dir = integ_tempdir();
	ck_assert_int_eq(aster_test_write_file(dir, "product.yaml", PRODUCT,
	                                       -1), 0);
	ck_assert_int_eq(aster_test_write_file(dir, "modules.yaml", MODULE,
	                                       -1), 0);
	t = integ_start_dir(dir, NULL);
}

static void
teardown(void)
{
	integ_stop(t);
	aster_test_remove_tree(dir);
	free(dir);
}

static long
header_long(const struct aster_test_response *r, const char *name)
{
	const char *v = aster_test_header(r, name);

	ck_assert_msg(v != NULL, "%d answer without %s", r->status, name);
	return strtol(v, NULL, 10);
}

static void
get(const char *path, struct aster_test_response *r)
{
	integ_request(t, "public", "GET", path, NULL, NULL, r);
}

/* A route's own limit: burst 3, then 429 with Retry-After; the headers
 * count down on the way. */
START_TEST(test_route_limit)
{
	struct aster_test_response r;
	long i;

	for (i = 0; i < 3; i++) {
		get("/own", &r);
		ck_assert_int_eq(r.status, 200);
		ck_assert_int_eq(header_long(&r, "RateLimit-Limit"), 3);
		ck_assert_int_eq(header_long(&r, "RateLimit-Remaining"),
		                 2 - i);
		ck_assert_msg(header_long(&r, "RateLimit-Reset") > 0,
		              "a bucket that is not full resets later");
		ck_assert_ptr_null(aster_test_header(&r, "Retry-After"));
		aster_test_response_free(&r);
	}
	get("/own", &r);
	integ_assert_problem(&r, 429, "rate-limited");
	ck_assert_int_eq(header_long(&r, "RateLimit-Remaining"), 0);
	/* One token per 20 s: the next comes in 1 to 20 seconds. */
	ck_assert_msg(header_long(&r, "Retry-After") >= 1 &&
	              header_long(&r, "Retry-After") <= 20,
	              "Retry-After %s", aster_test_header(&r, "Retry-After"));
	aster_test_response_free(&r);
}
END_TEST

/* The module's limit is one bucket per caller shared by its routes
 * without a limit of their own; another module's route is not limited. */
START_TEST(test_module_limit)
{
	struct aster_test_response r;

	get("/a", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(header_long(&r, "RateLimit-Limit"), 2);
	ck_assert_int_eq(header_long(&r, "RateLimit-Remaining"), 1);
	aster_test_response_free(&r);
	get("/b", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(header_long(&r, "RateLimit-Remaining"), 0);
	aster_test_response_free(&r);
	get("/a", &r);
	integ_assert_problem(&r, 429, "rate-limited");
	ck_assert_ptr_nonnull(aster_test_header(&r, "Retry-After"));
	aster_test_response_free(&r);

	/* The route with its own limit has its own bucket. */
	get("/own", &r);
	ck_assert_int_eq(r.status, 200);
	aster_test_response_free(&r);

	get("/open", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_null(aster_test_header(&r, "RateLimit-Limit"));
	ck_assert_ptr_null(aster_test_header(&r, "Retry-After"));
	aster_test_response_free(&r);
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("limits");

	tcase_set_timeout(tc, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_route_limit);
	tcase_add_test(tc, test_module_limit);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(ratelimit_suite)
