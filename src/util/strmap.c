/*
 * strmap.c - open addressing with linear probing, FNV-1a hashes.
 */
#include "util/strmap.h"

#include <stdint.h>
#include <string.h>

#include "util/arena.h"

struct slot {
	const char *key;
	void *value;
	uint32_t hash;
};

struct strmap {
	struct arena *arena;
	struct slot *slots;
	size_t cap;         /* power of two */
	size_t count;
};

static uint32_t
hash_string(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

struct strmap *
strmap_new(struct arena *a)
{
	struct strmap *m = arena_alloc(a, sizeof(*m));

	m->arena = a;
	m->cap = 16;
	m->slots = arena_alloc(a, m->cap * sizeof(*m->slots));
	return m;
}

static struct slot *
find_slot(struct slot *slots, size_t cap, const char *key, uint32_t h)
{
	size_t i = h & (cap - 1);

	while (slots[i].key != NULL) {
		if (slots[i].hash == h && strcmp(slots[i].key, key) == 0)
			break;
		i = (i + 1) & (cap - 1);
	}
	return &slots[i];
}

static void
grow(struct strmap *m)
{
	size_t ncap = m->cap * 2, i;
	struct slot *ns = arena_alloc(m->arena, ncap * sizeof(*ns));

	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key != NULL)
			*find_slot(ns, ncap, m->slots[i].key,
			           m->slots[i].hash) = m->slots[i];
	m->slots = ns;
	m->cap = ncap;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct slot *s = find_slot(m->slots, m->cap, key, hash_string(key));

	return s->key != NULL ? s->value : NULL;
}

void *
strmap_put(struct strmap *m, const char *key, void *value)
{
	uint32_t h = hash_string(key);
	struct slot *s;

	if ((m->count + 1) * 4 > m->cap * 3)
		grow(m);
	s = find_slot(m->slots, m->cap, key, h);
	if (s->key != NULL)
		return s->value;
	s->key = key;
	s->value = value;
	s->hash = h;
	m->count++;
	return NULL;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->count;
}

int
strmap_next(const struct strmap *m, size_t *pos, const char **key,
            void **value)
{
	while (*pos < m->cap) {
		const struct slot *s = &m->slots[(*pos)++];

		if (s->key != NULL) {
			*key = s->key;
			*value = s->value;
			return 1;
		}
	}
	return 0;
}
