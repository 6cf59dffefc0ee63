/*
 * node.h - the YAML document tree every manifest is read into.
 *
 * Each node remembers where it was written (file, line, column) so that any
 * later stage - schema decoding, graph validation, a provider's config
 * validator - can point the operator at the exact spot. Nodes live in the
 * configuration's arena. Aliases are resolved by sharing: an alias node is
 * the anchored node itself, so a shared subtree is never copied.
 */
#ifndef ASTER_NODE_H
#define ASTER_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "util/mark.h"

enum node_kind {
	NODE_SCALAR,
	NODE_MAP,
	NODE_SEQ,
};

struct node_pair;

/*
 * The public header calls this type aster_node (opaque to providers).
 * A 10,000-module product holds about a million of these, so the fields
 * are packed: 64 bytes a node, where size_t counts would take 96.
 */
struct aster_node {
	unsigned char kind;     /* enum node_kind */
	unsigned char plain;    /* scalar written unquoted (may be null) */
	uint32_t len;           /* NODE_SCALAR: bytes in value */
	struct mark mark;
	const char *tag;        /* explicit YAML tag, or NULL */

	/* NODE_SCALAR: the value after ${VAR} interpolation. */
	const char *value;

	/* NODE_MAP: pairs in document order (merged keys after explicit
	 * ones); NODE_SEQ: items. n counts either. */
	uint32_t n;
	struct node_pair *pairs;
	struct aster_node **items;
};

struct node_pair {
	struct aster_node *key;     /* always a scalar */
	struct aster_node *value;
	unsigned char merged;       /* came from a << merge key */
};

typedef struct aster_node node_t;

/* Value of key in map, or NULL (also NULL when map is not a mapping). */
const node_t *node_get(const node_t *map, const char *key);

/* The key node of key in map, or NULL. */
const node_t *node_key(const node_t *map, const char *key);

/*
 * Where map says key: the value's mark when written in map, else (the key
 * came from a << merge, or is absent) the mark of map itself, which is
 * where the merge happens.
 */
const struct mark *node_mark_of(const node_t *map, const char *key);

/* True when n is a plain null scalar: empty, "~", "null", "Null", "NULL". */
int node_is_null(const node_t *n);

/* "a string", "a mapping", "a list", "null": for wrong-type messages. */
const char *node_kind_name(const node_t *n);

#endif
