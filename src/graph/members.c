/*
 * members.c - which modules make up the product.
 *
 * A product lists its modules, or takes every module defined; the modules
 * a member requires are pulled in, transitively. Only members are planned
 * and started; a defined module left out is worth a warning, since it is
 * most often a forgotten entry in `modules:`.
 */
#include "graph/graph.h"

#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/strmap.h"
#include "util/suggest.h"

static void
report_duplicates(struct graph *g)
{
	struct config *cfg = g->cfg;
	size_t i;

	g->module_ids = arena_alloc(g->arena,
	                            (cfg->nmodules + 1) * sizeof(char *));
	for (i = 0; i < cfg->nmodules; i++) {
		struct module *m = cfg->modules[i], *first;
		struct diag *d;

		if (m->id == NULL)
			continue;
		first = config_find_module(cfg, m->id);
		if (first == m) {
			m->unique = 1;
			g->module_ids[g->nmodule_ids++] = m->id;
			continue;
		}
		d = diag_error(g->dl, &m->node->mark, "duplicate-module",
		               "module '%s' is defined twice", m->id);
		diag_note(g->dl, d, &first->node->mark,
		          "'%s' is first defined here", m->id);
	}
}

/*
 * Adds m and, transitively, every module it requires. queue has room for
 * every module: each is queued at most once over all calls.
 */
static void
pull_in(struct graph *g, struct module *m, struct module **queue)
{
	size_t head = 0, tail = 0, i;

	if (m->in_product)
		return;
	m->in_product = 1;
	queue[tail++] = m;
	while (head < tail) {
		struct module *cur = queue[head++];

		for (i = 0; i < cur->requires.n; i++) {
			struct module *t = config_find_module(g->cfg,
			    cur->requires.v[i].id);

			if (t != NULL && !t->in_product) {
				t->in_product = 1;
				queue[tail++] = t;
			}
		}
	}
}

static void
report_unknown_listed(struct graph *g, const char *id, const node_t *at)
{
	struct diag *d = diag_error(g->dl, &at->mark, "unknown-module",
	                            "product lists module '%s', which is "
	                            "not defined", id);

	graph_suggest_module(g, d, id);
}

void
graph_suggest_module(struct graph *g, struct diag *d, const char *id)
{
	const char *near = suggest_closest(id, g->module_ids, g->nmodule_ids);

	if (near != NULL) {
		diag_hint(g->dl, d, "did you mean '%s'?", near);
		diag_note(g->dl, d, &config_find_module(g->cfg,
		          near)->node->mark, "'%s' is defined here", near);
	}
}

static int
compare_module_ids(const void *a, const void *b)
{
	return strcmp((*(struct module *const *)a)->id,
	              (*(struct module *const *)b)->id);
}

static void
collect_members(struct graph *g)
{
	struct config *cfg = g->cfg;
	size_t i;

	cfg->members = arena_alloc(g->arena,
	                           (cfg->nmodules + 1) * sizeof(*cfg->members));
	for (i = 0; i < cfg->nmodules; i++)
		if (cfg->modules[i]->in_product && cfg->modules[i]->unique)
			cfg->members[cfg->nmembers++] = cfg->modules[i];
	if (cfg->nmembers > 1)
		qsort(cfg->members, cfg->nmembers, sizeof(*cfg->members),
		      compare_module_ids);
}

void
graph_members(struct graph *g)
{
	struct config *cfg = g->cfg;
	struct product *p = cfg->product;
	struct module **queue;
	size_t i;

	queue = arena_alloc(g->arena, (cfg->nmodules + 1) * sizeof(*queue));
	report_duplicates(g);
	if (p == NULL) {
		struct mark at = {&cfg->dir_source, 0, 0};

		diag_error(g->dl, &at, "no-product", "no product is defined "
		           "in '%s' (a manifest with 'kind: product')",
		           cfg->dir);
	}
	if (p == NULL || p->modules_node == NULL) {
		for (i = 0; i < cfg->nmodules; i++)
			if (cfg->modules[i]->unique)
				pull_in(g, cfg->modules[i], queue);
		collect_members(g);
		return;
	}
	for (i = 0; i < p->modules.n; i++) {
		struct module *m = config_find_module(cfg, p->modules.v[i]);

		if (m == NULL)
			report_unknown_listed(g, p->modules.v[i],
			                      p->modules.at[i]);
		else
			pull_in(g, m, queue);
	}
	for (i = 0; i < cfg->nmodules; i++) {
		struct module *m = cfg->modules[i];

		if (m->unique && !m->in_product)
			diag_warning(g->dl, node_mark_of(m->node, "id"),
			             "unused-module", "module '%s' is defined "
			             "but not part of product '%s'", m->id,
			             p->id != NULL ? p->id : "?");
	}
	collect_members(g);
}
