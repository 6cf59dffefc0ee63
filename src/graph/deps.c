/*
 * deps.c - requires, after, needs and provides between members.
 *
 * Each rule that holds becomes an edge "module starts after module"; the
 * edges feed the cycle check and the plan.
 */
#include "graph/graph.h"

#include <string.h>

#include "util/arena.h"
#include "util/strmap.h"
#include "util/suggest.h"

static void
add_edge(struct graph *g, struct module *from, struct module *to,
         enum edge_kind kind, const node_t *at)
{
	struct edge *e;

	from->edges = arena_grow(g->arena, from->edges, sizeof(*from->edges),
	                         from->nedges, &from->edges_cap,
	                         from->nedges + 1);
	e = &from->edges[from->nedges++];
	e->to = to;
	e->kind = kind;
	e->at = at;
}

static void
collect_capabilities(struct graph *g)
{
	struct config *cfg = g->cfg;
	size_t i, j;

	g->capabilities = strmap_new(g->arena);
	for (i = 0; i < cfg->nmodules; i++) {
		struct module *m = cfg->modules[i];

		if (!m->in_product || !m->unique)
			continue;
		for (j = 0; j < m->provides.n; j++) {
			struct provision *p = strmap_get(g->capabilities,
			                                 m->provides.v[j]);

			if (p == NULL) {
				p = arena_alloc(g->arena, sizeof(*p));
				strmap_put(g->capabilities, m->provides.v[j],
				           p);
			}
			p->modules = arena_grow(g->arena, p->modules,
			    sizeof(*p->modules), p->n, &p->cap, p->n + 1);
			p->modules[p->n] = m;
			p->n++;
		}
	}
}

static void
report_missing_dependency(struct graph *g, struct module *m,
                          const struct requirement *r)
{
	struct diag *d = diag_error(g->dl, &r->id_node->mark,
	                            "missing-dependency", "module '%s' "
	                            "requires '%s', which is not defined",
	                            m->id, r->id);

	graph_suggest_module(g, d, r->id);
}

static void
check_requires(struct graph *g, struct module *m)
{
	size_t i;

	for (i = 0; i < m->requires.n; i++) {
		const struct requirement *r = &m->requires.v[i];
		struct module *t = config_find_module(g->cfg, r->id);

		if (t == NULL) {
			report_missing_dependency(g, m, r);
			continue;
		}
		if (r->range != NULL && t->version_ok &&
		    !semver_satisfies(r->range, &t->semver)) {
			struct diag *d = diag_error(g->dl,
			    &r->range_node->mark, "version-mismatch",
			    "module '%s' requires '%s' %s, but '%s' is "
			    "version %s", m->id, r->id, r->range_text, r->id,
			    t->version);
			diag_note(g->dl, d, &node_get(t->node,
			          "version")->mark, "'%s' sets its version "
			          "here", r->id);
		}
		add_edge(g, m, t, EDGE_REQUIRES, r->id_node);
	}
}

static void
check_after(struct graph *g, struct module *m)
{
	size_t i;

	for (i = 0; i < m->after.n; i++) {
		struct module *t = config_find_module(g->cfg, m->after.v[i]);
		struct diag *d;

		if (t != NULL) {
			if (t->in_product && m->in_product)
				add_edge(g, m, t, EDGE_AFTER, m->after.at[i]);
			continue;
		}
		d = diag_warning(g->dl, &m->after.at[i]->mark, "unknown-after",
		                 "module '%s' starts after '%s', which is "
		                 "not defined anywhere", m->id,
		                 m->after.v[i]);
		diag_suggest(g->dl, d, m->after.v[i], g->module_ids,
		             g->nmodule_ids);
	}
}

static const char **
capability_names(struct graph *g, size_t *n)
{
	size_t pos = 0, cap = strmap_count(g->capabilities);
	const char **names = arena_alloc(g->arena, (cap + 1) * sizeof(*names));
	const char *key;
	void *value;

	*n = 0;
	while (strmap_next(g->capabilities, &pos, &key, &value))
		names[(*n)++] = key;
	return names;
}

/* Where module m writes `provides: [name]`. */
static const node_t *
provides_entry(const struct module *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->provides.n; i++)
		if (strcmp(m->provides.v[i], name) == 0)
			return m->provides.at[i];
	return m->node;
}

void
graph_report_ambiguous(struct graph *g, const struct provision *p,
                       const char *name, const node_t *at, const char *what)
{
	struct diag *d = diag_error(g->dl, &at->mark, "ambiguous-capability",
	                            "%s capability '%s', which %zu modules "
	                            "provide; exactly one must", what, name,
	                            p->n);
	size_t i;

	for (i = 0; i < p->n; i++)
		diag_note(g->dl, d, &provides_entry(p->modules[i], name)->mark,
		          "'%s' provides '%s' here", p->modules[i]->id, name);
}

static void
check_needs(struct graph *g, struct module *m)
{
	size_t i, n;

	for (i = 0; i < m->needs.n; i++) {
		const char *c = m->needs.v[i];
		const struct provision *p = strmap_get(g->capabilities, c);
		const char *what;
		struct diag *d;

		if (p == NULL) {
			const char **names = capability_names(g, &n);

			d = diag_error(g->dl, &m->needs.at[i]->mark,
			               "missing-capability", "module '%s' "
			               "needs capability '%s', which no module "
			               "of the product provides", m->id, c);
			diag_suggest(g->dl, d, c, names, n);
			continue;
		}
		if (p->n > 1) {
			what = arena_printf(g->arena, "module '%s' needs",
			                    m->id);
			graph_report_ambiguous(g, p, c, m->needs.at[i], what);
			continue;
		}
		if (p->modules[0] != m)
			add_edge(g, m, p->modules[0], EDGE_NEEDS,
			         m->needs.at[i]);
	}
}

void
graph_dependencies(struct graph *g)
{
	struct config *cfg = g->cfg;
	size_t i;

	for (i = 0; i < cfg->nmodules; i++) {
		struct module *m = cfg->modules[i];

		if (m->unique && m->version != NULL &&
		    semver_parse(g->arena, m->version, &m->semver) == 0)
			m->version_ok = 1;
	}
	collect_capabilities(g);
	for (i = 0; i < cfg->nmodules; i++) {
		struct module *m = cfg->modules[i];

		if (!m->unique)
			continue;
		/* An `after` naming nothing is a typo wherever it is. */
		check_after(g, m);
		if (!m->in_product)
			continue;
		check_requires(g, m);
		check_needs(g, m);
	}
}
