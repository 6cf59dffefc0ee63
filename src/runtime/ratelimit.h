/*
 * ratelimit.h - token buckets for rateLimit (SPEC §3.2, §7.5).
 *
 * A bucket per (scope, key): the scope is the route whose own rateLimit
 * applies, or the module whose rateLimit its routes share; the key is
 * the caller's credential id or client address. A bucket holds at most
 * `burst` tokens (default `requests`), gains `requests` tokens every
 * `per_ms` ms (continuously, to the millisecond) and each request takes
 * one; a request finding less than one token is refused.
 *
 * The limiter belongs to the runtime, not to a generation, so a reload
 * that keeps a route keeps its buckets; a bucket meets a changed limit
 * at its next request (its whole tokens carry over, capped at the new
 * burst). Memory is bounded: at most `cap` buckets, and a bucket that
 * has refilled completely is indistinguishable from a new one, so it may
 * be dropped; the least recently used are looked at first. When the
 * table is full and none of them has refilled, a request needing a new
 * bucket is refused rather than given memory.
 *
 * runtime/runtime.h includes this header: the runtime owns one limiter
 * (rt->ratelimiter) and request.c calls ratelimit_check(). It owns a
 * second one, rt->failures, for failed credentials per client address
 * (SPEC §7.4, auth.c): there a request takes a token before its
 * credential is verified and gives it back unless the credential failed
 * (ratelimit_give_back()), so only failures use the bucket up.
 */
#ifndef ASTER_RATELIMIT_H
#define ASTER_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct http_exchange;
struct rate_limit;
struct ratelimiter;
struct request_ctx;
struct route;
struct runtime;

/* Buckets kept at most by the runtime's limiter. */
#define RATELIMIT_DEFAULT_CAP 100000

/* Oversized values are clamped so the integer arithmetic cannot
 * overflow: requests and burst to 2^30, per_ms to 2^32 (about 49 days). */
#define RATELIMIT_MAX_COUNT (1LL << 30)
#define RATELIMIT_MAX_PER_MS (1LL << 32)

/* What one request learned, for the response headers. */
struct ratelimit_result {
	long long limit;            /* RateLimit-Limit: requests */
	long long remaining;        /* RateLimit-Remaining: whole tokens left */
	long long reset_s;          /* RateLimit-Reset: s until full, rounded
	                               up (0: full) */
	long long retry_after_s;    /* Retry-After when refused (>= 1), else 0 */
};

/*
 * A limiter holding at most cap buckets (0: RATELIMIT_DEFAULT_CAP).
 * NULL when out of memory. The hash table is allocated on first use.
 */
struct ratelimiter *ratelimiter_new(size_t cap);

/* Frees rl and every bucket. NULL is a no-op. */
void ratelimiter_free(struct ratelimiter *rl);

/* Buckets held now. */
size_t ratelimiter_count(const struct ratelimiter *rl);

/*
 * Takes one token from the bucket of (scope_id, key) under cfg at
 * now_ms (monotonic milliseconds), creating the bucket full when there
 * is none. Returns 1 when the request may go on, 0 when it is refused
 * (out of tokens, or no room for a new bucket); *out is filled either
 * way. scope_id and key are copied; keys longer than 200 bytes are kept
 * as a prefix and a hash of the whole. No allocation unless the bucket
 * is new; O(1).
 */
int ratelimit_take(struct ratelimiter *rl, const struct rate_limit *cfg,
                   const char *scope_id, const char *key, uint64_t now_ms,
                   struct ratelimit_result *out);

/*
 * Whether a ratelimit_take() of (scope_id, key) under cfg at now_ms
 * would go on, without taking a token or creating a bucket: 1 (also
 * when there is no bucket), or 0 with out->retry_after_s set. One hash
 * lookup, no allocation.
 */
int ratelimit_peek(struct ratelimiter *rl, const struct rate_limit *cfg,
                   const char *scope_id, const char *key, uint64_t now_ms,
                   struct ratelimit_result *out);

/*
 * Returns the token an earlier ratelimit_take() of (scope_id, key) under
 * cfg took, capped at the burst. For buckets that count failures: a
 * request takes a token before it is known to fail, so concurrent ones
 * cannot overdraw the bucket, and gives it back when it succeeded. No
 * bucket (it refilled and was dropped) needs nothing. No allocation;
 * O(1).
 */
void ratelimit_give_back(struct ratelimiter *rl, const struct rate_limit *cfg,
                         const char *scope_id, const char *key,
                         uint64_t now_ms);

/*
 * The bucket key of a client address as http_peer() gives it, into out
 * (size bytes; 56 hold any): an IPv6 address becomes its /64
 * ("[2001:db8:1:2::]/64"), the block one host or customer usually holds,
 * so one client cannot spread over 2^64 buckets; an IPv4-mapped one
 * (a dual-stack listener's IPv4 client) becomes its IPv4 address;
 * anything else (IPv4, "unix") stays as it is.
 */
void ratelimit_client_key(const char *peer, char *out, size_t size);

/*
 * The rateLimit that applies to route: its own, else its module's, else
 * NULL. *scope_id (optional) receives the bucket scope: the route id, or
 * "module:ID" written into buf (size bytes) for a module's limit, which
 * every route of the module without its own shares.
 */
const struct rate_limit *ratelimit_effective(const struct route *route,
                                             char *buf, size_t size,
                                             const char **scope_id);

/* "credential" or "ip": cfg's key, credential when absent. */
const char *ratelimit_key_kind(const struct rate_limit *cfg);

/*
 * Adds RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset and, for a
 * refusal (retry_after_s > 0), Retry-After to ex's response.
 */
void ratelimit_add_headers(struct http_exchange *ex,
                           const struct ratelimit_result *r);

/*
 * The hook for request handling, after authentication and before the
 * module-running check: applies the route's effective rateLimit, if any,
 * to ctx's request, keyed by credential_id (NULL or "" when the request
 * has none) or the client address. Adds the RateLimit-* headers to the
 * response whatever it turns out to be. Returns 1 when it has answered
 * 429 (rate-limited, with Retry-After), else 0 (go on). A runtime
 * without a limiter (out of memory at start) limits nothing.
 */
int ratelimit_check(struct runtime *rt, struct http_exchange *ex,
                    struct request_ctx *ctx, const char *credential_id);

#endif
