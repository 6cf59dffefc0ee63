/*
 * host.c - the function table asterd gives every provider (struct
 * aster_host, aster/provider.h): reading configuration nodes, reporting
 * config errors, and the calls about a running service.
 *
 * The table is the same at check time and at run time. The calls about a
 * service go through the handle the runtime made for it (struct
 * aster_service, provider/host.h), so this layer never reaches up into
 * the runtime: the runtime hands its own calls down with each handle.
 */
#include "provider/host.h"

#include <stdarg.h>

#include "config/decode.h"
#include "util/arena.h"

static enum aster_node_kind
host_node_kind(const aster_node *n)
{
	return n->kind == NODE_MAP ? ASTER_NODE_MAP :
	       n->kind == NODE_SEQ ? ASTER_NODE_SEQ : ASTER_NODE_SCALAR;
}

static const char *
host_scalar(const aster_node *n)
{
	return n != NULL && n->kind == NODE_SCALAR ? n->value : NULL;
}

static const aster_node *
host_map_get(const aster_node *map, const char *key)
{
	return node_get(map, key);
}

static size_t
host_size(const aster_node *n)
{
	return n != NULL && n->kind != NODE_SCALAR ? n->n : 0;
}

static const char *
host_map_key_at(const aster_node *map, size_t i)
{
	if (map == NULL || map->kind != NODE_MAP || i >= map->n)
		return NULL;
	return map->pairs[i].key->value;
}

static const aster_node *
host_map_value_at(const aster_node *map, size_t i)
{
	if (map == NULL || map->kind != NODE_MAP || i >= map->n)
		return NULL;
	return map->pairs[i].value;
}

static const aster_node *
host_seq_at(const aster_node *seq, size_t i)
{
	if (seq == NULL || seq->kind != NODE_SEQ || i >= seq->n)
		return NULL;
	return seq->items[i];
}

/* Paths resolved for providers at start time live in a process-wide
 * arena: providers keep them for as long as they run. */
static struct arena *path_arena;

static const char *
host_resolve_path(const aster_node *n, const char *path)
{
	if (path_arena == NULL)
		path_arena = arena_new();
	return decode_resolve_path(path_arena, n, path);
}

static void
host_report(struct aster_check *chk, const aster_node *n, const char *fmt,
            ...)
{
	const node_t *at = n != NULL ? n : chk->config;
	struct diag *d;
	va_list ap;

	va_start(ap, fmt);
	d = diag_report(chk->dl, SEV_ERROR, at != NULL ? &at->mark : NULL,
	                "provider-config", fmt, ap);
	va_end(ap);
	(void)d;
	chk->errors++;
}

static void
host_started(struct aster_service *svc, int ok, const char *cause)
{
	svc->calls->started(svc, ok, cause);
}

static struct event_base *
host_event_base(struct aster_service *svc)
{
	return svc->calls->event_base(svc);
}

static const struct aster_store *
host_store(struct aster_service *svc)
{
	return svc->calls->store(svc);
}

static const struct aster_host host = {
	.abi = ASTER_PROVIDER_ABI,
	.node_kind = host_node_kind,
	.scalar = host_scalar,
	.map_get = host_map_get,
	.size = host_size,
	.map_key_at = host_map_key_at,
	.map_value_at = host_map_value_at,
	.seq_at = host_seq_at,
	.resolve_path = host_resolve_path,
	.report = host_report,
	.started = host_started,
	.event_base = host_event_base,
	.store = host_store,
};

const struct aster_host *
provider_host(void)
{
	return &host;
}
