/*
 * ratelimit.c - token buckets in a bounded hash table.
 *
 * Integer arithmetic, exact to the millisecond: a bucket counts "units",
 * where one token is per_ms units and every elapsed millisecond adds
 * `requests` units, so `requests` tokens arrive per `per_ms` ms with no
 * rounding drift; the capacity is burst * per_ms units. With the clamps
 * of ratelimit.h every product stays below 2^63.
 *
 * The table is chained, with a fixed number of heads (a power of two at
 * least the cap) so it never rehashes, and a keyed hash (SipHash-2-4,
 * seeded from the kernel) so client addresses chosen to collide cannot
 * turn a lookup into a list walk. Buckets also sit on a recency list:
 * each request moves its bucket to the front and looks at the two least
 * recently used; those that have refilled completely are freed, since a
 * full bucket and no bucket mean the same. At the cap, a new bucket
 * replaces the first full one among the RATELIMIT_SCAN least recent, or
 * the request is refused.
 */
#include "runtime/ratelimit.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "config/manifest.h"
#include "http/problem.h"
#include "http/server.h"
#include "runtime/runtime.h"

/* A composite key longer than this keeps a prefix and a hash. */
#define KEY_PART_MAX 200
#define SCOPE_PART_MAX 120
#define KEY_MAX (SCOPE_PART_MAX + 1 + 8 + KEY_PART_MAX)

/* Least recently used buckets looked at for eviction, per request and
 * when the table is full. */
#define RATELIMIT_SWEEP 2
#define RATELIMIT_SCAN 32

struct bucket {
	struct bucket *hnext;       /* chain */
	struct bucket *newer, *older;   /* recency list */
	uint64_t hash;
	uint64_t units;             /* tokens * per_ms */
	uint64_t last_ms;           /* when units were last brought up to date */
	uint64_t full_ms;           /* when it is full again if left alone */
	/* The limit it was last used under (clamped). */
	uint64_t requests, per_ms, burst;
	size_t keylen;
	char key[];                 /* scope NUL tag key, not NUL-terminated */
};

struct ratelimiter {
	size_t cap;
	size_t count;
	struct bucket **heads;      /* nheads, allocated on first use */
	size_t nheads;
	struct bucket *newest, *oldest;
	uint64_t seed[2];
};

/* The limit of cfg, clamped (see ratelimit.h). */
struct limit {
	uint64_t requests, per_ms, burst;
};

static uint64_t
clamp(long long v, long long max)
{
	return v < 1 ? 1 : v > max ? (uint64_t)max : (uint64_t)v;
}

static void
limit_of(const struct rate_limit *cfg, struct limit *l)
{
	l->requests = clamp(cfg->requests, RATELIMIT_MAX_COUNT);
	l->per_ms = clamp(cfg->per_ms, RATELIMIT_MAX_PER_MS);
	l->burst = cfg->burst > 0 ? clamp(cfg->burst, RATELIMIT_MAX_COUNT) :
	           l->requests;
}

static uint64_t
div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* --- SipHash-2-4 ------------------------------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                        \
	do {                                                            \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                  \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                  \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t
siphash(const uint64_t k[2], const unsigned char *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ k[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ k[0];
	uint64_t v3 = 0x7465646279746573ULL ^ k[1];
	uint64_t b = (uint64_t)len << 56, m;
	const unsigned char *end = in + (len - len % 8);
	size_t i;

	for (; in != end; in += 8) {
		for (m = 0, i = 0; i < 8; i++)
			m |= (uint64_t)in[i] << (8 * i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (i = 0; i < len % 8; i++)
		b |= (uint64_t)in[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* --- the table --------------------------------------------------------- */

struct ratelimiter *
ratelimiter_new(size_t cap)
{
	struct ratelimiter *rl = calloc(1, sizeof(*rl));

	if (rl == NULL)
		return NULL;
	rl->cap = cap > 0 ? cap : RATELIMIT_DEFAULT_CAP;
	if (getrandom(rl->seed, sizeof(rl->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(rl->seed)) {
		rl->seed[0] = runtime_now_us() ^ (uintptr_t)rl;
		rl->seed[1] = ~rl->seed[0] * 0x9e3779b97f4a7c15ULL;
	}
	return rl;
}

void
ratelimiter_free(struct ratelimiter *rl)
{
	struct bucket *b, *next;

	if (rl == NULL)
		return;
	for (b = rl->newest; b != NULL; b = next) {
		next = b->older;
		free(b);
	}
	free(rl->heads);
	free(rl);
}

size_t
ratelimiter_count(const struct ratelimiter *rl)
{
	return rl->count;
}

static void
list_unlink(struct ratelimiter *rl, struct bucket *b)
{
	if (b->newer != NULL)
		b->newer->older = b->older;
	else
		rl->newest = b->older;
	if (b->older != NULL)
		b->older->newer = b->newer;
	else
		rl->oldest = b->newer;
	b->newer = b->older = NULL;
}

static void
list_push(struct ratelimiter *rl, struct bucket *b)
{
	b->newer = NULL;
	b->older = rl->newest;
	if (rl->newest != NULL)
		rl->newest->newer = b;
	rl->newest = b;
	if (rl->oldest == NULL)
		rl->oldest = b;
}

static void
evict(struct ratelimiter *rl, struct bucket *b)
{
	struct bucket **pp = &rl->heads[b->hash & (rl->nheads - 1)];

	while (*pp != b)
		pp = &(*pp)->hnext;
	*pp = b->hnext;
	list_unlink(rl, b);
	free(b);
	rl->count--;
}

/* Frees up to RATELIMIT_SWEEP of the least recent buckets, if full. */
static void
sweep(struct ratelimiter *rl, uint64_t now)
{
	int i;

	for (i = 0; i < RATELIMIT_SWEEP && rl->oldest != NULL &&
	     rl->oldest->full_ms <= now; i++)
		evict(rl, rl->oldest);
}

/* Room for one more bucket: 0, or -1 when the table is full of buckets
 * that have not refilled. */
static int
make_room(struct ratelimiter *rl, uint64_t now)
{
	struct bucket *b;
	int i;

	if (rl->count < rl->cap)
		return 0;
	for (b = rl->oldest, i = 0; b != NULL && i < RATELIMIT_SCAN;
	     b = b->newer, i++)
		if (b->full_ms <= now) {
			evict(rl, b);
			return 0;
		}
	return -1;
}

/*
 * Appends s to *at (room left in *room) keeping at most max bytes: a
 * longer s becomes its first max - 17 bytes, '#' and 16 hex digits of
 * its hash.
 */
static void
put_part(const struct ratelimiter *rl, char **at, const char *s, size_t max)
{
	static const char digits[] = "0123456789abcdef";
	size_t n = strlen(s);
	uint64_t h;
	int i;

	if (n <= max) {
		memcpy(*at, s, n);
		*at += n;
		return;
	}
	memcpy(*at, s, max - 17);
	*at += max - 17;
	*(*at)++ = '#';
	h = siphash(rl->seed, (const unsigned char *)s, n);
	for (i = 15; i >= 0; i--, h >>= 4)
		(*at)[i] = digits[h & 15];
	*at += 16;
}

/*
 * Brings b up to now under l. A limit changed since b's last request
 * (a reload) first converts b's tokens, fraction included, capped at
 * the new burst; the time elapsed since then refills at the new rate.
 */
static void
refill(struct bucket *b, const struct limit *l, uint64_t now)
{
	uint64_t cap = l->burst * l->per_ms, elapsed;

	if (b->requests != l->requests || b->per_ms != l->per_ms ||
	    b->burst != l->burst) {
		/* Rare, and the exact product could overflow. */
		double units = (double)b->units / (double)b->per_ms *
		               (double)l->per_ms;

		b->units = units >= (double)cap ? cap : (uint64_t)units;
		b->requests = l->requests;
		b->per_ms = l->per_ms;
		b->burst = l->burst;
	}
	if (now > b->last_ms && b->units < cap) {
		elapsed = now - b->last_ms;
		if (elapsed >= div_up(cap - b->units, l->requests))
			b->units = cap;
		else
			b->units += elapsed * l->requests;
	}
	if (now > b->last_ms)
		b->last_ms = now;
}

/* The composite key of (scope_id, tag, key) into buf; its length. */
static size_t
compose_key(const struct ratelimiter *rl, char buf[KEY_MAX],
            const char *scope_id, const char *tag, const char *key)
{
	char *at = buf;

	put_part(rl, &at, scope_id, SCOPE_PART_MAX);
	*at++ = '\0';
	put_part(rl, &at, tag, 8);
	put_part(rl, &at, key, KEY_PART_MAX);
	return (size_t)(at - buf);
}

/* The bucket under the composite key buf (len bytes, hashing to h), or
 * NULL. */
static struct bucket *
find_bucket(const struct ratelimiter *rl, const char *buf, size_t len,
            uint64_t h)
{
	struct bucket *b;

	if (rl->heads == NULL)
		return NULL;
	for (b = rl->heads[h & (rl->nheads - 1)]; b != NULL; b = b->hnext)
		if (b->hash == h && b->keylen == len &&
		    memcmp(b->key, buf, len) == 0)
			return b;
	return NULL;
}

static int
take_parts(struct ratelimiter *rl, const struct rate_limit *cfg,
           const char *scope_id, const char *tag, const char *key,
           uint64_t now, struct ratelimit_result *out)
{
	char buf[KEY_MAX];
	struct limit l;
	struct bucket *b, **head;
	uint64_t h, cap, reset_ms;
	size_t len;
	int allowed;

	limit_of(cfg, &l);
	memset(out, 0, sizeof(*out));
	out->limit = (long long)l.requests;
	len = compose_key(rl, buf, scope_id, tag, key);
	h = siphash(rl->seed, (const unsigned char *)buf, len);

	if (rl->heads == NULL) {
		for (rl->nheads = 16; rl->nheads < rl->cap; rl->nheads *= 2)
			;
		rl->heads = calloc(rl->nheads, sizeof(*rl->heads));
		if (rl->heads == NULL) {
			rl->nheads = 0;
			goto refuse;
		}
	}
	head = &rl->heads[h & (rl->nheads - 1)];
	if ((b = find_bucket(rl, buf, len, h)) != NULL) {
		list_unlink(rl, b);
		list_push(rl, b);
		if (now < b->last_ms)
			now = b->last_ms;   /* time never runs back */
		refill(b, &l, now);
	} else {
		if (make_room(rl, now) < 0 ||
		    (b = malloc(sizeof(*b) + len)) == NULL)
			goto refuse;
		b->hash = h;
		b->keylen = len;
		memcpy(b->key, buf, len);
		b->requests = l.requests;
		b->per_ms = l.per_ms;
		b->burst = l.burst;
		b->units = l.burst * l.per_ms;
		b->last_ms = now;
		b->hnext = *head;
		*head = b;
		list_push(rl, b);
		rl->count++;
	}

	cap = l.burst * l.per_ms;
	allowed = b->units >= l.per_ms;
	if (allowed)
		b->units -= l.per_ms;
	else
		out->retry_after_s = (long long)div_up(div_up(l.per_ms -
		                     b->units, l.requests), 1000);
	reset_ms = div_up(cap - b->units, l.requests);
	b->full_ms = now + reset_ms;
	out->remaining = (long long)(b->units / l.per_ms);
	out->reset_s = (long long)div_up(reset_ms, 1000);
	if (!allowed && out->retry_after_s < 1)
		out->retry_after_s = 1;
	sweep(rl, now);
	return allowed;

refuse:
	/* No bucket: room may appear when the least recent one refills. */
	reset_ms = rl->oldest != NULL && rl->oldest->full_ms > now ?
	           rl->oldest->full_ms - now : 1000;
	out->remaining = 0;
	out->reset_s = (long long)div_up(reset_ms, 1000);
	out->retry_after_s = out->reset_s;
	return 0;
}

int
ratelimit_take(struct ratelimiter *rl, const struct rate_limit *cfg,
               const char *scope_id, const char *key, uint64_t now_ms,
               struct ratelimit_result *out)
{
	return take_parts(rl, cfg, scope_id, "", key, now_ms, out);
}

int
ratelimit_peek(struct ratelimiter *rl, const struct rate_limit *cfg,
               const char *scope_id, const char *key, uint64_t now_ms,
               struct ratelimit_result *out)
{
	char buf[KEY_MAX];
	struct limit l;
	struct bucket *b;
	uint64_t reset_ms;
	size_t len;

	limit_of(cfg, &l);
	memset(out, 0, sizeof(*out));
	out->limit = (long long)l.requests;
	out->remaining = (long long)l.burst;
	len = compose_key(rl, buf, scope_id, "", key);
	b = find_bucket(rl, buf, len,
	                siphash(rl->seed, (const unsigned char *)buf, len));
	if (b == NULL)          /* as good as a full one */
		return 1;
	if (now_ms < b->last_ms)
		now_ms = b->last_ms;
	refill(b, &l, now_ms);  /* changes nothing a take would see */
	reset_ms = div_up(l.burst * l.per_ms - b->units, l.requests);
	out->remaining = (long long)(b->units / l.per_ms);
	out->reset_s = (long long)div_up(reset_ms, 1000);
	if (b->units >= l.per_ms)
		return 1;
	out->retry_after_s = (long long)div_up(div_up(l.per_ms - b->units,
	                     l.requests), 1000);
	if (out->retry_after_s < 1)
		out->retry_after_s = 1;
	return 0;
}

void
ratelimit_give_back(struct ratelimiter *rl, const struct rate_limit *cfg,
                    const char *scope_id, const char *key, uint64_t now_ms)
{
	char buf[KEY_MAX];
	struct limit l;
	struct bucket *b;
	uint64_t cap;
	size_t len;

	len = compose_key(rl, buf, scope_id, "", key);
	b = find_bucket(rl, buf, len,
	                siphash(rl->seed, (const unsigned char *)buf, len));
	if (b == NULL)          /* refilled and dropped: already full */
		return;
	limit_of(cfg, &l);
	if (now_ms < b->last_ms)
		now_ms = b->last_ms;
	refill(b, &l, now_ms);
	cap = l.burst * l.per_ms;
	b->units = cap - b->units >= l.per_ms ? b->units + l.per_ms : cap;
	b->full_ms = now_ms + div_up(cap - b->units, l.requests);
}

void
ratelimit_client_key(const char *peer, char *out, size_t size)
{
	char text[INET6_ADDRSTRLEN], inner[INET6_ADDRSTRLEN];
	struct in6_addr a;
	size_t n;

	if (size == 0)
		return;
	if (peer == NULL)
		peer = "";
	n = strlen(peer);
	if (n > 2 && n - 2 < sizeof(inner) && peer[0] == '[' &&
	    peer[n - 1] == ']') {
		memcpy(inner, peer + 1, n - 2);
		inner[n - 2] = '\0';
		if (inet_pton(AF_INET6, inner, &a) == 1 &&
		    IN6_IS_ADDR_V4MAPPED(&a) &&
		    inet_ntop(AF_INET, a.s6_addr + 12, text,
		              sizeof(text)) != NULL) {
			snprintf(out, size, "%s", text);
			return;
		}
		if (inet_pton(AF_INET6, inner, &a) == 1) {
			memset(a.s6_addr + 8, 0, 8);
			if (inet_ntop(AF_INET6, &a, text, sizeof(text)) !=
			    NULL) {
				snprintf(out, size, "[%s]/64", text);
				return;
			}
		}
	}
	n = n < size ? n : size - 1;    /* the hot path: no snprintf */
	memcpy(out, peer, n);
	out[n] = '\0';
}

/* --- routes and responses ---------------------------------------------- */

const struct rate_limit *
ratelimit_effective(const struct route *route, char *buf, size_t size,
                    const char **scope_id)
{
	const struct rate_limit *cfg = NULL;
	const char *scope = NULL;

	if (route == NULL)
		return NULL;
	if (route->rate_limit != NULL) {
		cfg = route->rate_limit;
		scope = route->id;
	} else if (route->module != NULL && route->module->rate_limit != NULL) {
		cfg = route->module->rate_limit;
		if (buf != NULL && size > 0) {
			snprintf(buf, size, "module:%s", route->module->id);
			scope = buf;
		}
	}
	if (scope_id != NULL)
		*scope_id = scope;
	return cfg;
}

const char *
ratelimit_key_kind(const struct rate_limit *cfg)
{
	return cfg->key != NULL && strcmp(cfg->key, "ip") == 0 ? "ip" :
	       "credential";
}

void
ratelimit_add_headers(struct http_exchange *ex,
                      const struct ratelimit_result *r)
{
	char v[24];

	snprintf(v, sizeof(v), "%lld", r->limit);
	http_add_header(ex, "RateLimit-Limit", v);
	snprintf(v, sizeof(v), "%lld", r->remaining);
	http_add_header(ex, "RateLimit-Remaining", v);
	snprintf(v, sizeof(v), "%lld", r->reset_s);
	http_add_header(ex, "RateLimit-Reset", v);
	if (r->retry_after_s > 0) {
		snprintf(v, sizeof(v), "%lld", r->retry_after_s);
		http_add_header(ex, "Retry-After", v);
	}
}

int
ratelimit_check(struct runtime *rt, struct http_exchange *ex,
                struct request_ctx *ctx, const char *credential_id)
{
	char scope_buf[SCOPE_PART_MAX], detail[96];
	const struct rate_limit *cfg;
	const char *scope, *tag, *key;
	struct ratelimit_result r;

	if (rt->ratelimiter == NULL)
		return 0;
	cfg = ratelimit_effective(ctx->route, scope_buf, sizeof(scope_buf),
	                          &scope);
	if (cfg == NULL || scope == NULL)
		return 0;
	/* Distinct tags: a credential id can never share an address's
	 * bucket. */
	if (credential_id != NULL && *credential_id != '\0' &&
	    strcmp(ratelimit_key_kind(cfg), "credential") == 0) {
		tag = "cred:";
		key = credential_id;
	} else {
		tag = "addr:";
		key = http_peer(ex) != NULL ? http_peer(ex) : "";
	}
	if (take_parts(rt->ratelimiter, cfg, scope, tag, key,
	               runtime_now_us() / 1000, &r)) {
		ratelimit_add_headers(ex, &r);
		return 0;
	}
	ratelimit_add_headers(ex, &r);
	snprintf(detail, sizeof(detail), "the rate limit of this route is "
	         "exhausted; retry in %lld s", r.retry_after_s);
	problem_send(ex, 429, "rate-limited", detail, ctx->request_id);
	return 1;
}
