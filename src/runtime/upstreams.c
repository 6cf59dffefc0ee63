/*
 * upstreams.c - the upstreams of a generation, and what a reload keeps.
 *
 * Every upstream a generation's routes can reach (the members' named
 * `upstreams`, and the one-target upstreams proxies name inline by URL)
 * runs as one struct upstream, found by its key ("module.name", or
 * "url:" and the URL). A reload hands the new declaration to the running
 * upstream of the same key, so pools, ejections and health carry over;
 * an upstream the new configuration drops goes once the requests of the
 * old generation that use it are done.
 */
#include "runtime/runtime.h"

#include <stdlib.h>

#include "http/resolve.h"
#include "http/upstream.h"
#include "log.h"
#include "util/arena.h"
#include "util/strmap.h"

/* Adds conf's upstream to g: the running one of old when there is one. */
static int
attach_one(struct runtime *rt, struct generation *g, struct generation *old,
           const struct upstream_conf *conf)
{
	/* Before the loop serves (no old generation), a lookup may block;
	 * after, names go through the resolver. */
	struct resolver *dns = old != NULL ? runtime_resolver(rt) : NULL;
	struct upstream *u;

	if (!conf->ok || strmap_get(g->upstreams, conf->key) != NULL)
		return 0;
	u = old != NULL ? strmap_get(old->upstreams, conf->key) : NULL;
	if (u != NULL) {
		if (upstream_update(u, conf, dns) < 0)
			return -1;
		upstream_ref(u);
	} else if ((u = upstream_new(rt->base, conf, dns)) == NULL) {
		return -1;
	}
	if (g->nupstreams == g->upstreams_cap) {
		size_t cap = g->upstreams_cap ? g->upstreams_cap * 2 : 8;
		struct upstream **v = realloc(g->upstream_list,
		                              cap * sizeof(*v));

		if (v == NULL) {
			upstream_unref(u);
			return -1;
		}
		g->upstream_list = v;
		g->upstreams_cap = cap;
	}
	g->upstream_list[g->nupstreams++] = u;
	strmap_put(g->upstreams, conf->key, u);
	return 0;
}

static int
attach_module(struct runtime *rt, struct generation *g,
              struct generation *old, const struct module *m)
{
	size_t i;

	for (i = 0; i < m->upstreams.n; i++)
		if (attach_one(rt, g, old, m->upstreams.v[i]) < 0)
			return -1;
	for (i = 0; i < m->routes.n; i++) {
		const struct route *r = m->routes.v[i];
		const struct handler *h = r->handler;

		if (h != NULL && h->kind == HANDLER_PROXY &&
		    h->proxy->resolved != NULL &&
		    attach_one(rt, g, old, h->proxy->resolved) < 0)
			return -1;
	}
	return 0;
}

int
runtime_upstreams_attach(struct runtime *rt, struct generation *g,
                         struct generation *old)
{
	size_t i;

	if (g->upstreams == NULL &&
	    (g->upstreams = strmap_new(g->cfg->arena)) == NULL)
		return -1;
	for (i = 0; i < g->cfg->nmembers; i++)
		if (attach_module(rt, g, old, g->cfg->members[i]) < 0) {
			log_msg(LOG_ERROR, "upstreams: out of memory");
			return -1;
		}
	return 0;
}

void
runtime_upstreams_release(struct generation *g)
{
	size_t i;

	for (i = 0; i < g->nupstreams; i++)
		upstream_unref(g->upstream_list[i]);
	free(g->upstream_list);
	g->upstream_list = NULL;
	g->nupstreams = 0;
}

struct upstream *
runtime_upstream_of(struct generation *g, const struct upstream_conf *conf)
{
	return g->upstreams != NULL ? strmap_get(g->upstreams, conf->key) :
	    NULL;
}

struct resolver *
runtime_resolver(struct runtime *rt)
{
	if (rt->resolver == NULL)
		rt->resolver = resolver_new(rt->base);
	return rt->resolver;
}
