/*
 * test_ratelimit.c - the token buckets of src/runtime/ratelimit.c, with
 * time injected: bursts and refusals, refill, the header values, keys
 * and scopes kept apart, a route's limit over its module's, limit
 * changes, and the cap on buckets under a flood of distinct keys.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "config/manifest.h"
#include "runtime/ratelimit.h"

static struct rate_limit
limit(long long requests, long long per_ms, long long burst)
{
	struct rate_limit l;

	memset(&l, 0, sizeof(l));
	l.requests = requests;
	l.per_ms = per_ms;
	l.burst = burst;
	return l;
}

START_TEST(test_burst_then_refusal)
{
	struct ratelimiter *rl = ratelimiter_new(16);
	struct rate_limit cfg = limit(5, 1000, 0);
	struct ratelimit_result r;
	int i;

	/* burst absent: the bucket holds `requests` tokens */
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(ratelimit_take(rl, &cfg, "route:a", "k",
		                                1000, &r), 1);
		ck_assert_int_eq(r.limit, 5);
		ck_assert_int_eq(r.remaining, 4 - i);
		ck_assert_int_eq(r.retry_after_s, 0);
	}
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "route:a", "k", 1000, &r),
	                 0);
	ck_assert_int_eq(r.remaining, 0);
	ck_assert_int_eq(r.retry_after_s, 1);   /* 200 ms, rounded up */
	ck_assert_int_eq(r.reset_s, 1);         /* 1000 ms */
	ck_assert_int_eq(ratelimiter_count(rl), 1);
	ratelimiter_free(rl);
}
END_TEST

START_TEST(test_burst_above_requests)
{
	struct ratelimiter *rl = ratelimiter_new(16);
	struct rate_limit cfg = limit(2, 1000, 6);
	struct ratelimit_result r;
	int i;

	for (i = 0; i < 6; i++)
		ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 0, &r), 1);
	ck_assert_int_eq(r.limit, 2);
	ck_assert_int_eq(r.remaining, 0);
	ck_assert_int_eq(r.reset_s, 3);         /* 6 tokens at 2 per s */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 0, &r), 0);
	ck_assert_int_eq(r.retry_after_s, 1);
	ratelimiter_free(rl);
}
END_TEST

START_TEST(test_refill)
{
	struct ratelimiter *rl = ratelimiter_new(16);
	struct rate_limit cfg = limit(3, 3000, 0);  /* one token per s */
	struct ratelimit_result r;
	int i;

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 0, &r), 1);
	ck_assert_int_eq(r.reset_s, 3);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 999, &r), 0);
	ck_assert_int_eq(r.retry_after_s, 1);   /* 1 ms left */
	ck_assert_int_eq(r.reset_s, 3);         /* 2001 ms */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 1000, &r), 1);
	ck_assert_int_eq(r.remaining, 0);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 1000, &r), 0);
	/* two seconds later: two tokens */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 3000, &r), 1);
	ck_assert_int_eq(r.remaining, 1);
	ck_assert_int_eq(r.reset_s, 2);
	/* long idle: full, not more */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 1000000, &r), 1);
	ck_assert_int_eq(r.remaining, 2);
	ck_assert_int_eq(r.reset_s, 1);
	/* time running back is ignored */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 5, &r), 1);
	ck_assert_int_eq(r.remaining, 1);
	ratelimiter_free(rl);
}
END_TEST

START_TEST(test_fractional_rate)
{
	struct ratelimiter *rl = ratelimiter_new(16);
	struct rate_limit cfg = limit(3, 1000, 1);  /* a token per 333.3 ms */
	struct ratelimit_result r;

	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 0, &r), 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 333, &r), 0);
	ck_assert_int_eq(r.retry_after_s, 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 334, &r), 1);
	/* a token every 333.3 ms, to the millisecond: 0, 334, 668, 1002 */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 667, &r), 0);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 668, &r), 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 1001, &r), 0);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 1002, &r), 1);
	ratelimiter_free(rl);
}
END_TEST

START_TEST(test_retry_after_and_reset_rounding)
{
	struct ratelimiter *rl = ratelimiter_new(16);
	struct rate_limit cfg = limit(1, 60000, 2);  /* a token a minute */
	struct ratelimit_result r;

	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 0, &r), 1);
	ck_assert_int_eq(r.remaining, 1);
	ck_assert_int_eq(r.reset_s, 60);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 0, &r), 1);
	ck_assert_int_eq(r.reset_s, 120);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 1500, &r), 0);
	ck_assert_int_eq(r.retry_after_s, 59);  /* 58.5 s, rounded up */
	ck_assert_int_eq(r.reset_s, 119);       /* 118.5 s */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 59999, &r), 0);
	ck_assert_int_eq(r.retry_after_s, 1);   /* 1 ms: at least 1 */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 60000, &r), 1);
	ck_assert_int_eq(r.remaining, 0);
	ck_assert_int_eq(r.reset_s, 120);
	ratelimiter_free(rl);
}
END_TEST

START_TEST(test_keys_and_scopes_apart)
{
	struct ratelimiter *rl = ratelimiter_new(16);
	struct rate_limit cfg = limit(1, 1000, 0);
	struct ratelimit_result r;

	ck_assert_int_eq(ratelimit_take(rl, &cfg, "route:a", "10.0.0.1", 0,
	                                &r), 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "route:a", "10.0.0.1", 0,
	                                &r), 0);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "route:a", "10.0.0.2", 0,
	                                &r), 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "route:b", "10.0.0.1", 0,
	                                &r), 1);
	/* the scope/key split is not ambiguous */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "route:a1", "0.0.0.1", 0,
	                                &r), 1);
	ck_assert_int_eq(ratelimiter_count(rl), 4);
	ratelimiter_free(rl);
}
END_TEST

START_TEST(test_long_keys)
{
	struct ratelimiter *rl = ratelimiter_new(16);
	struct rate_limit cfg = limit(1, 1000, 0);
	struct ratelimit_result r;
	char a[1000], b[1000];

	memset(a, 'x', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[sizeof(b) - 2] = 'y';     /* same long prefix, another key */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", a, 0, &r), 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", a, 0, &r), 0);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", b, 0, &r), 1);
	ck_assert_int_eq(ratelimiter_count(rl), 2);
	ratelimiter_free(rl);
}
END_TEST

START_TEST(test_route_over_module)
{
	struct module m;
	struct route with, without;
	struct rate_limit mod = limit(10, 1000, 0), own = limit(1, 1000, 0);
	const struct rate_limit *cfg;
	const char *scope;
	char buf[96];

	memset(&m, 0, sizeof(m));
	memset(&with, 0, sizeof(with));
	memset(&without, 0, sizeof(without));
	m.id = "notes";
	with.id = "route:notes.search";
	with.module = &m;
	with.rate_limit = &own;
	without.id = "route:notes.list";
	without.module = &m;

	cfg = ratelimit_effective(&with, buf, sizeof(buf), &scope);
	ck_assert_ptr_eq(cfg, &own);
	ck_assert_str_eq(scope, "route:notes.search");
	cfg = ratelimit_effective(&without, buf, sizeof(buf), &scope);
	ck_assert_ptr_eq(cfg, NULL);
	ck_assert_ptr_null(scope);

	m.rate_limit = &mod;
	cfg = ratelimit_effective(&with, buf, sizeof(buf), &scope);
	ck_assert_ptr_eq(cfg, &own);
	ck_assert_str_eq(scope, "route:notes.search");
	cfg = ratelimit_effective(&without, buf, sizeof(buf), &scope);
	ck_assert_ptr_eq(cfg, &mod);
	ck_assert_str_eq(scope, "module:notes");
	ck_assert_ptr_null(ratelimit_effective(NULL, buf, sizeof(buf),
	                                       &scope));
}
END_TEST

START_TEST(test_key_kind)
{
	struct rate_limit cfg = limit(1, 1, 0);

	ck_assert_str_eq(ratelimit_key_kind(&cfg), "credential");
	cfg.key = "ip";
	ck_assert_str_eq(ratelimit_key_kind(&cfg), "ip");
	cfg.key = "credential";
	ck_assert_str_eq(ratelimit_key_kind(&cfg), "credential");
}
END_TEST

START_TEST(test_limit_change)
{
	struct ratelimiter *rl = ratelimiter_new(16);
	struct rate_limit cfg = limit(10, 1000, 0);
	struct ratelimit_result r;
	int i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 0, &r), 1);
	ck_assert_int_eq(r.remaining, 6);
	/* a reload lowers the limit: the tokens left, capped at the new
	 * burst, carry over */
	cfg = limit(2, 1000, 0);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 0, &r), 1);
	ck_assert_int_eq(r.limit, 2);
	ck_assert_int_eq(r.remaining, 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 0, &r), 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 0, &r), 0);
	ck_assert_int_eq(r.retry_after_s, 1);
	/* raised again: the time since the last request refills at the
	 * new rate */
	cfg = limit(100, 1000, 0);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 100, &r), 1);
	ck_assert_int_eq(r.remaining, 9);   /* 10 tokens in 100 ms, less one */
	ratelimiter_free(rl);
}
END_TEST

START_TEST(test_huge_values_clamped)
{
	struct ratelimiter *rl = ratelimiter_new(16);
	struct rate_limit cfg = limit(0x7fffffffffffffffLL,
	                              0x7fffffffffffffffLL,
	                              0x7fffffffffffffffLL);
	struct ratelimit_result r;

	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", 0, &r), 1);
	ck_assert_int_eq(r.limit, RATELIMIT_MAX_COUNT);
	ck_assert_int_eq(r.remaining, RATELIMIT_MAX_COUNT - 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k", UINT64_MAX / 2,
	                                &r), 1);
	ck_assert_int_eq(r.remaining, RATELIMIT_MAX_COUNT - 1);
	ratelimiter_free(rl);
}
END_TEST

START_TEST(test_cap_refuses_then_evicts)
{
	struct ratelimiter *rl = ratelimiter_new(4);
	struct rate_limit cfg = limit(1, 1000, 0);
	struct ratelimit_result r;
	char key[16];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", key, 0, &r), 1);
	}
	ck_assert_int_eq(ratelimiter_count(rl), 4);
	/* full of buckets that have not refilled: refused, nothing grows */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "new", 500, &r), 0);
	ck_assert_int_eq(r.remaining, 0);
	ck_assert_int_eq(r.retry_after_s, 1);
	ck_assert_int_eq(ratelimiter_count(rl), 4);
	/* a known key still works */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "k3", 1000, &r), 1);
	/* once the old ones refilled they make room */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", "new", 1000, &r), 1);
	ck_assert_int_le(ratelimiter_count(rl), 4);
	ratelimiter_free(rl);
}
END_TEST

START_TEST(test_idle_buckets_swept)
{
	struct ratelimiter *rl = ratelimiter_new(1000);
	struct rate_limit cfg = limit(10, 1000, 0);
	struct ratelimit_result r;
	char key[16];
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(ratelimit_take(rl, &cfg, "s", key, 0, &r), 1);
	}
	ck_assert_int_eq(ratelimiter_count(rl), 100);
	/* a busy key, long after: each request frees idle full buckets */
	for (i = 0; i < 60; i++)
		ratelimit_take(rl, &cfg, "s", "busy", 10000 + i * 1000, &r);
	ck_assert_int_eq(ratelimiter_count(rl), 1);
	ratelimiter_free(rl);
}
END_TEST

START_TEST(test_million_keys_fixed_time)
{
	struct ratelimiter *rl = ratelimiter_new(0);
	struct rate_limit cfg = limit(10, 1000, 0);
	struct ratelimit_result r;
	char key[48];
	long allowed = 0, i;

	for (i = 0; i < 1000000; i++) {
		snprintf(key, sizeof(key), "10.%ld.%ld.%ld", (i >> 16) & 255,
		         (i >> 8) & 255, i & 255);
		allowed += ratelimit_take(rl, &cfg, "s", key, 5000, &r);
		ck_assert_int_le(ratelimiter_count(rl), RATELIMIT_DEFAULT_CAP);
	}
	ck_assert_int_eq(allowed, RATELIMIT_DEFAULT_CAP);
	ck_assert_int_eq(ratelimiter_count(rl), RATELIMIT_DEFAULT_CAP);
	ratelimiter_free(rl);
}
END_TEST

START_TEST(test_million_keys_over_time)
{
	struct ratelimiter *rl = ratelimiter_new(10000);
	struct rate_limit cfg = limit(10, 1000, 0);
	struct ratelimit_result r;
	char key[48];
	long allowed = 0, i;

	/* 1000 new addresses a millisecond; a bucket refills in 100 ms, so
	 * about 100,000 are live at once: more than the cap, and the
	 * oldest make room as they refill */
	for (i = 0; i < 1000000; i++) {
		snprintf(key, sizeof(key), "[2001:db8::%lx]", i);
		allowed += ratelimit_take(rl, &cfg, "s", key,
		                          (uint64_t)i / 1000, &r);
		ck_assert_int_le(ratelimiter_count(rl), 10000);
	}
	ck_assert_int_gt(allowed, 0);
	ck_assert_int_lt(allowed, 1000000);
	ratelimiter_free(rl);

	/* 10 a millisecond: 1000 live, all served within a cap of 2000 */
	rl = ratelimiter_new(2000);
	for (allowed = 0, i = 0; i < 1000000; i++) {
		snprintf(key, sizeof(key), "[2001:db8::%lx]", i);
		allowed += ratelimit_take(rl, &cfg, "s", key,
		                          (uint64_t)i / 10, &r);
		ck_assert_int_le(ratelimiter_count(rl), 2000);
	}
	ck_assert_int_eq(allowed, 1000000);
	ratelimiter_free(rl);
}
END_TEST

/* A bucket that counts failures: each attempt takes a token first, a
 * success gives it back, so only failures use the bucket up. */
START_TEST(test_give_back)
{
	struct ratelimiter *rl = ratelimiter_new(16);
	struct rate_limit cfg = limit(20, 60000, 40);
	struct ratelimit_result r;
	int i;

	/* Successes, however many, leave the bucket full. */
	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "a", 5, &r),
		                 1);
		ck_assert_int_eq(r.remaining, 39);
		ratelimit_give_back(rl, &cfg, "auth", "a", 5);
	}
	/* 40 failures empty it; the 41st attempt is refused. */
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "a", 5, &r),
		                 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "a", 5, &r), 0);
	ck_assert_int_eq(r.retry_after_s, 3);   /* one token in 3000 ms */
	/* A token given back is one more attempt, never more than the
	 * burst. */
	ratelimit_give_back(rl, &cfg, "auth", "a", 5);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "a", 5, &r), 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "a", 5, &r), 0);
	for (i = 0; i < 100; i++)
		ratelimit_give_back(rl, &cfg, "auth", "a", 5);
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "a", 5, &r),
		                 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "a", 5, &r), 0);
	/* Other keys and scopes are untouched; giving back to a bucket
	 * that does not exist creates none. */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "b", 5, &r), 1);
	ck_assert_int_eq(r.remaining, 39);
	ck_assert_int_eq(ratelimiter_count(rl), 2);
	ratelimit_give_back(rl, &cfg, "auth", "c", 5);
	ratelimit_give_back(rl, &cfg, "other", "a", 5);
	ck_assert_int_eq(ratelimiter_count(rl), 2);
	/* Time does not run back for a late give-back. */
	ratelimit_give_back(rl, &cfg, "auth", "a", 0);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "a", 5, &r), 1);
	ck_assert_int_eq(r.remaining, 0);
	ratelimiter_free(rl);
}
END_TEST

/* Peeking answers what a take would, and takes nothing. */
START_TEST(test_peek)
{
	struct ratelimiter *rl = ratelimiter_new(16);
	struct rate_limit cfg = limit(20, 60000, 40);
	struct ratelimit_result r;
	int i;

	/* No bucket: allowed, and none is made. */
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(ratelimit_peek(rl, &cfg, "auth", "a", 0, &r),
		                 1);
	ck_assert_int_eq(r.remaining, 40);
	ck_assert_int_eq(ratelimiter_count(rl), 0);
	for (i = 0; i < 39; i++)
		ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "a", 0, &r),
		                 1);
	ck_assert_int_eq(ratelimit_peek(rl, &cfg, "auth", "a", 0, &r), 1);
	ck_assert_int_eq(r.remaining, 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "a", 0, &r), 1);
	ck_assert_int_eq(ratelimit_peek(rl, &cfg, "auth", "a", 0, &r), 0);
	ck_assert_int_eq(r.retry_after_s, 3);
	ck_assert_int_eq(ratelimit_peek(rl, &cfg, "auth", "a", 2999, &r), 0);
	ck_assert_int_eq(r.retry_after_s, 1);
	/* A token is back after 3000 ms; peeking did not use it. */
	ck_assert_int_eq(ratelimit_peek(rl, &cfg, "auth", "a", 3000, &r), 1);
	ck_assert_int_eq(ratelimit_peek(rl, &cfg, "auth", "a", 3000, &r), 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "a", 3000, &r), 1);
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "a", 3000, &r), 0);
	/* Time does not run back for a late peek. */
	ck_assert_int_eq(ratelimit_peek(rl, &cfg, "auth", "a", 0, &r), 0);
	ck_assert_int_eq(ratelimiter_count(rl), 1);
	ratelimiter_free(rl);
}
END_TEST

START_TEST(test_client_key)
{
	static const char *const cases[][2] = {
		{"127.0.0.1", "127.0.0.1"},
		{"unix", "unix"},
		{"", ""},
		{"[::1]", "[::]/64"},
		{"[2001:db8:1:2:3:4:5:6]", "[2001:db8:1:2::]/64"},
		{"[2001:db8:1:2::ffff]", "[2001:db8:1:2::]/64"},
		{"[::ffff:192.0.2.1]", "192.0.2.1"},
		{"[fe80::1%eth0]", "[fe80::1%eth0]"},   /* not an address */
		{"[not-v6]", "[not-v6]"},
	};
	char out[56];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ratelimit_client_key(cases[i][0], out, sizeof(out));
		ck_assert_str_eq(out, cases[i][1]);
	}
	ratelimit_client_key(NULL, out, sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

/* A bucket refilled by give-backs is dropped like any full one. */
START_TEST(test_give_back_full_is_swept)
{
	struct ratelimiter *rl = ratelimiter_new(16);
	struct rate_limit cfg = limit(1, 1000, 1);
	struct ratelimit_result r;

	ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "a", 0, &r), 1);
	ratelimit_give_back(rl, &cfg, "auth", "a", 0);
	ck_assert_int_eq(ratelimiter_count(rl), 1);
	/* The next request (another key) sweeps the full bucket. */
	ck_assert_int_eq(ratelimit_take(rl, &cfg, "auth", "b", 0, &r), 1);
	ck_assert_int_eq(ratelimiter_count(rl), 1);
	ratelimiter_free(rl);
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("buckets");
	TCase *big = tcase_create("cap");

	tcase_add_test(tc, test_burst_then_refusal);
	tcase_add_test(tc, test_burst_above_requests);
	tcase_add_test(tc, test_refill);
	tcase_add_test(tc, test_fractional_rate);
	tcase_add_test(tc, test_retry_after_and_reset_rounding);
	tcase_add_test(tc, test_keys_and_scopes_apart);
	tcase_add_test(tc, test_long_keys);
	tcase_add_test(tc, test_route_over_module);
	tcase_add_test(tc, test_key_kind);
	tcase_add_test(tc, test_limit_change);
	tcase_add_test(tc, test_huge_values_clamped);
	tcase_add_test(tc, test_cap_refuses_then_evicts);
	tcase_add_test(tc, test_idle_buckets_swept);
	tcase_add_test(tc, test_give_back);
	tcase_add_test(tc, test_give_back_full_is_swept);
	tcase_add_test(tc, test_peek);
	tcase_add_test(tc, test_client_key);
	suite_add_tcase(s, tc);
	tcase_add_test(big, test_million_keys_fixed_time);
	tcase_add_test(big, test_million_keys_over_time);
	tcase_set_timeout(big, 60);
	suite_add_tcase(s, big);
	return s;
}

UNIT_MAIN(ratelimit_suite)
