/*
 * strmap.h - string-keyed hash map in an arena.
 *
 * Used wherever validation would otherwise compare every name with every
 * other (modules, routes, capabilities): a product of 10,000 modules must
 * check in well under a second. Keys are not copied: they must live at
 * least as long as the map (arena strings do).
 */
#ifndef ASTER_STRMAP_H
#define ASTER_STRMAP_H

#include <stddef.h>

struct arena;
struct strmap;

struct strmap *strmap_new(struct arena *a);

/* Value for key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);

/*
 * Inserts key -> value unless key is present. Returns the value already
 * stored under key (nothing changed), or NULL when inserted.
 */
void *strmap_put(struct strmap *m, const char *key, void *value);

size_t strmap_count(const struct strmap *m);

/* Iteration in unspecified order: *pos starts at 0; returns 0 at the end. */
int strmap_next(const struct strmap *m, size_t *pos, const char **key,
                void **value);

#endif
