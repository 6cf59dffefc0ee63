/*
 * arena.h - region allocator for one configuration generation.
 *
 * Everything a loaded configuration owns (YAML nodes, strings, the decoded
 * manifests, diagnostics) is carved from one arena and released with one
 * call, so a rejected reload or a fuzzing iteration leaks nothing and no
 * code path needs to free individual objects.
 */
#ifndef ASTER_ARENA_H
#define ASTER_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

/* Returns a new empty arena, or NULL when out of memory. */
struct arena *arena_new(void);

/* Releases the arena and everything allocated from it. NULL is a no-op. */
void arena_free(struct arena *a);

/*
 * Returns n zeroed bytes aligned for any type. Aborts on out of memory:
 * a configuration that does not fit in memory cannot be validated anyway.
 */
void *arena_alloc(struct arena *a, size_t n);

/* Returns an arena copy of a NUL-terminated string (NULL stays NULL). */
char *arena_strdup(struct arena *a, const char *s);

/* Returns an arena copy of the first n bytes of s, NUL-terminated. */
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* printf into the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * Grows an array owned by the arena: returns a copy of items (count
 * elements of size bytes) with room for at least need elements, updating
 * *cap. The old block is simply abandoned to the arena.
 */
void *arena_grow(struct arena *a, void *items, size_t size, size_t count,
                 size_t *cap, size_t need);

/* Bytes handed out so far (for the scale benchmark and limits). */
size_t arena_used(const struct arena *a);

#endif
