/*
 * node.c - lookups on the YAML document tree.
 */
#include "config/node.h"

#include <string.h>

const node_t *
node_key(const node_t *map, const char *key)
{
	size_t i;

	if (map == NULL || map->kind != NODE_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (strcmp(map->pairs[i].key->value, key) == 0)
			return map->pairs[i].key;
	return NULL;
}

const node_t *
node_get(const node_t *map, const char *key)
{
	size_t i;

	if (map == NULL || map->kind != NODE_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (strcmp(map->pairs[i].key->value, key) == 0)
			return map->pairs[i].value;
	return NULL;
}

const struct mark *
node_mark_of(const node_t *map, const char *key)
{
	size_t i;

	for (i = 0; map->kind == NODE_MAP && i < map->n; i++)
		if (strcmp(map->pairs[i].key->value, key) == 0)
			return map->pairs[i].merged ? &map->mark :
			       &map->pairs[i].value->mark;
	return &map->mark;
}

int
node_is_null(const node_t *n)
{
	if (n == NULL)
		return 1;
	if (n->kind != NODE_SCALAR || !n->plain)
		return 0;
	return n->len == 0 || strcmp(n->value, "~") == 0 ||
	       strcmp(n->value, "null") == 0 || strcmp(n->value, "Null") == 0 ||
	       strcmp(n->value, "NULL") == 0;
}

const char *
node_kind_name(const node_t *n)
{
	if (node_is_null(n))
		return "null";
	switch (n->kind) {
	case NODE_MAP:
		return "a mapping";
	case NODE_SEQ:
		return "a list";
	case NODE_SCALAR:
		break;
	}
	return "a scalar";
}
