/*
 * services.c - a module's services and the providers behind them.
 */
#include "graph/graph.h"

#include <string.h>

#include "provider/check.h"
#include "provider/registry.h"
#include "util/arena.h"
#include "util/strmap.h"

static void
check_provider(struct graph *g, struct service *s)
{
	const node_t *at = node_get(s->node, "provider");
	const char *err = NULL;
	const char *const *names;
	struct diag *d;
	size_t n;

	s->impl = registry_get(g->reg, s->provider, &err);
	if (s->impl != NULL) {
		provider_check_config(g->dl, g->arena, s->impl, s->config,
		                      s->node);
		return;
	}
	if (err != NULL) {
		diag_error(g->dl, &at->mark, "unknown-provider", "%s", err);
		return;
	}
	d = diag_error(g->dl, &at->mark, "unknown-provider",
	               "service '%s.%s' uses provider '%s', which is neither "
	               "built in nor found on the module path '%s'",
	               s->module->id, s->id, s->provider,
	               registry_path(g->reg));
	names = registry_names(g->reg, &n);
	diag_suggest(g->dl, d, s->provider, names, n);
}

void
graph_services(struct graph *g, struct module *m)
{
	struct strmap *seen = strmap_new(g->arena);
	size_t i;

	for (i = 0; i < m->services.n; i++) {
		struct service *s = m->services.v[i], *first;

		if (s->id != NULL) {
			first = strmap_put(seen, s->id, s);
			if (first != NULL) {
				struct diag *d = diag_error(g->dl,
				    node_mark_of(s->node, "id"),
				    "duplicate-service",
				    "module '%s' defines service '%s' twice",
				    m->id, s->id);

				diag_note(g->dl, d,
				          node_mark_of(first->node, "id"),
				          "'%s' is first defined here", s->id);
				continue;
			}
		}
		if (s->provider != NULL)
			check_provider(g, s);
	}
}
