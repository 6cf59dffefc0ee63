/*
 * cache.c - a bounded hash table of reference-counted entries with LRU
 * eviction: verified API keys by id, verified JWTs by the SHA-256 of the
 * token, and key lookups in flight by id.
 *
 * Keys are at most 32 bytes. Buckets grow by doubling while the table
 * fills, so a small cache costs little; the hash is FNV-1a with a random
 * seed. A caller that hands an entry's contents to a callback takes a
 * reference first: the callback may evict it.
 */
#include "au.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static uint64_t
au_hash(uint64_t seed, const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

void
au_cache_init(struct au_cache *c, size_t max)
{
	memset(c, 0, sizeof(*c));
	c->max = max;
	c->lru.lnext = c->lru.lprev = &c->lru;
	if (RAND_bytes((unsigned char *)&c->seed, sizeof(c->seed)) != 1)
		c->seed = (uint64_t)(uintptr_t)c;
}

void
au_centry_ref(struct au_centry *e)
{
	e->refs++;
}

void
au_centry_unref(struct au_centry *e)
{
	if (e != NULL && --e->refs == 0)
		e->destroy(e);
}

static struct au_centry **
au_slot(struct au_cache *c, uint64_t h, const void *key, size_t klen)
{
	struct au_centry **pp = &c->buckets[h & (c->nbuckets - 1)];

	while (*pp != NULL && ((*pp)->h != h || (*pp)->klen != klen ||
	                       memcmp((*pp)->key, key, klen) != 0))
		pp = &(*pp)->hnext;
	return pp;
}

static void
au_lru_unlink(struct au_centry *e)
{
	e->lprev->lnext = e->lnext;
	e->lnext->lprev = e->lprev;
	e->lprev = e->lnext = NULL;
}

static void
au_lru_front(struct au_cache *c, struct au_centry *e)
{
	e->lnext = c->lru.lnext;
	e->lprev = &c->lru;
	c->lru.lnext->lprev = e;
	c->lru.lnext = e;
}

struct au_centry *
au_cache_get(struct au_cache *c, const void *key, size_t klen)
{
	struct au_centry *e;

	if (c->n == 0 || klen > sizeof(e->key))
		return NULL;
	e = *au_slot(c, au_hash(c->seed, key, klen), key, klen);
	if (e != NULL && c->lru.lnext != e) {
		au_lru_unlink(e);
		au_lru_front(c, e);
	}
	return e;
}

/* Takes e out of the table (it keeps its reference count). */
static void
au_remove(struct au_cache *c, struct au_centry *e)
{
	struct au_centry **pp = au_slot(c, e->h, e->key, e->klen);

	*pp = e->hnext;
	e->hnext = NULL;
	au_lru_unlink(e);
	e->cached = 0;
	c->n--;
}

static int
au_grow(struct au_cache *c)
{
	size_t nb = c->nbuckets == 0 ? 16 : c->nbuckets * 2, i;
	struct au_centry **b = calloc(nb, sizeof(*b)), *e, *next;

	if (b == NULL)
		return -1;
	for (i = 0; i < c->nbuckets; i++)
		for (e = c->buckets[i]; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = b[e->h & (nb - 1)];
			b[e->h & (nb - 1)] = e;
		}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = nb;
	return 0;
}

int
au_cache_put(struct au_cache *c, struct au_centry *e)
{
	struct au_centry **pp, *old;

	e->refs++;
	if (c->max == 0 || e->klen > sizeof(e->key)) {
		au_centry_unref(e);
		return c->max == 0 ? 0 : -1;
	}
	if (c->n + 1 > c->nbuckets && c->nbuckets < ((size_t)1 << 26) &&
	    au_grow(c) < 0 && c->nbuckets == 0) {
		au_centry_unref(e);
		return -1;
	}
	e->h = au_hash(c->seed, e->key, e->klen);
	pp = au_slot(c, e->h, e->key, e->klen);
	if ((old = *pp) != NULL) {
		au_remove(c, old);
		au_centry_unref(old);
		pp = au_slot(c, e->h, e->key, e->klen);
	}
	e->hnext = NULL;
	*pp = e;
	au_lru_front(c, e);
	e->cached = 1;
	c->n++;
	while (c->n > c->max) {
		old = c->lru.lprev;
		au_remove(c, old);
		au_centry_unref(old);
	}
	return 0;
}

void
au_cache_del(struct au_cache *c, const void *key, size_t klen)
{
	struct au_centry *e;

	if (c->n == 0 || klen > sizeof(e->key))
		return;
	e = *au_slot(c, au_hash(c->seed, key, klen), key, klen);
	if (e != NULL) {
		au_remove(c, e);
		au_centry_unref(e);
	}
}

void
au_cache_clear(struct au_cache *c)
{
	struct au_centry *e;

	while ((e = c->lru.lnext) != &c->lru) {
		au_remove(c, e);
		au_centry_unref(e);
	}
}

void
au_cache_each(struct au_cache *c, void (*fn)(struct au_centry *, void *),
              void *arg)
{
	struct au_centry *e;

	for (e = c->lru.lnext; e != &c->lru; e = e->lnext)
		fn(e, arg);
}

void
au_cache_free(struct au_cache *c)
{
	au_cache_clear(c);
	free(c->buckets);
	c->buckets = NULL;
	c->nbuckets = 0;
}
