/*
 * plan.c - waves of start-up (SPEC §6).
 *
 * A module's wave is one more than the highest wave among the modules it
 * starts after; wave 1 holds those that start after nothing. Computed in
 * topological order (Kahn), so a long chain costs no recursion. Within a
 * wave modules are ordered by id: the plan depends on nothing but the
 * configuration's content.
 */
#include "graph/graph.h"

#include <stdlib.h>
#include <string.h>

#include "util/arena.h"

static int
compare_by_wave_then_id(const void *a, const void *b)
{
	const struct module *x = *(struct module *const *)a;
	const struct module *y = *(struct module *const *)b;

	if (x->wave != y->wave)
		return x->wave < y->wave ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Reverse adjacency in CSR form: who starts after module i. */
struct dependents {
	size_t *start;          /* by module index, nmodules + 1 entries */
	struct module **list;
};

static void
build_dependents(struct graph *g, struct dependents *dep, size_t *pending)
{
	struct config *cfg = g->cfg;
	size_t n = cfg->nmodules, i, j, total = 0;
	size_t *fill;

	dep->start = arena_alloc(g->arena, (n + 2) * sizeof(size_t));
	for (i = 0; i < cfg->nmembers; i++) {
		struct module *m = cfg->members[i];

		for (j = 0; j < m->nedges; j++) {
			dep->start[m->edges[j].to->index + 1]++;
			pending[m->index]++;
			total++;
		}
	}
	for (i = 0; i < n; i++)
		dep->start[i + 1] += dep->start[i];
	dep->list = arena_alloc(g->arena, (total + 1) * sizeof(*dep->list));
	fill = arena_alloc(g->arena, (n + 1) * sizeof(size_t));
	for (i = 0; i < cfg->nmembers; i++) {
		struct module *m = cfg->members[i];

		for (j = 0; j < m->nedges; j++) {
			size_t to = m->edges[j].to->index;

			dep->list[dep->start[to] + fill[to]++] = m;
		}
	}
}

static void
assign_waves(struct graph *g)
{
	struct config *cfg = g->cfg;
	size_t *pending = arena_alloc(g->arena,
	                              (cfg->nmodules + 1) * sizeof(size_t));
	struct module **queue = arena_alloc(g->arena,
	    (cfg->nmembers + 1) * sizeof(*queue));
	size_t head = 0, tail = 0, i, k;
	struct dependents dep;

	build_dependents(g, &dep, pending);
	for (i = 0; i < cfg->nmembers; i++) {
		if (pending[cfg->members[i]->index] == 0) {
			cfg->members[i]->wave = 1;
			queue[tail++] = cfg->members[i];
		}
	}
	while (head < tail) {
		struct module *m = queue[head++];

		for (k = dep.start[m->index]; k < dep.start[m->index + 1];
		     k++) {
			struct module *d = dep.list[k];

			if (d->wave < m->wave + 1)
				d->wave = m->wave + 1;
			if (--pending[d->index] == 0)
				queue[tail++] = d;
		}
	}
}

void
graph_plan(struct graph *g)
{
	struct config *cfg = g->cfg;
	struct module **order;
	size_t i, w;

	assign_waves(g);
	order = arena_alloc(g->arena, (cfg->nmembers + 1) * sizeof(*order));
	memcpy(order, cfg->members, cfg->nmembers * sizeof(*order));
	if (cfg->nmembers > 1)
		qsort(order, cfg->nmembers, sizeof(*order),
		      compare_by_wave_then_id);
	cfg->nwaves = cfg->nmembers ? (size_t)order[cfg->nmembers - 1]->wave
	                            : 0;
	cfg->waves = arena_alloc(g->arena,
	                         (cfg->nwaves + 1) * sizeof(*cfg->waves));
	cfg->wave_sizes = arena_alloc(g->arena,
	                              (cfg->nwaves + 1) * sizeof(size_t));
	for (i = 0; i < cfg->nmembers; i = w) {
		size_t wave = (size_t)order[i]->wave - 1;

		for (w = i; w < cfg->nmembers &&
		     order[w]->wave == order[i]->wave; w++)
			;
		cfg->waves[wave] = &order[i];
		cfg->wave_sizes[wave] = w - i;
	}
	cfg->planned = 1;
}
