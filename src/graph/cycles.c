/*
 * cycles.c - dependency cycles, one diagnostic per strongly connected group.
 *
 * Tarjan's algorithm (iterative: a chain of 10,000 requires must not
 * overflow the stack) finds the groups. For each, SPEC §5 fixes which cycle
 * is printed: it starts at the group's smallest id and at every step takes
 * the edge to the smallest next id. A depth-first walk in that order, with
 * dead ends remembered, finds exactly that cycle in linear time: a module
 * from which the start cannot be reached without revisiting the current
 * path stays unreachable once the path shrinks, so it is never tried twice.
 */
#include "graph/graph.h"

#include <stdlib.h>
#include <string.h>

#include "util/arena.h"

struct tarjan {
	size_t *index;          /* by module->index; 0: unvisited */
	size_t *low;
	int *on_stack;
	size_t *group;          /* group number, by module->index */
	struct module **stack;
	size_t sp, next_index, ngroups;
};

struct frame {
	struct module *m;
	size_t edge;
};

static void
strongconnect(struct tarjan *t, struct module *root, struct frame *frames)
{
	size_t depth = 0;

	frames[depth].m = root;
	frames[depth].edge = 0;
	t->index[root->index] = t->low[root->index] = ++t->next_index;
	t->stack[t->sp++] = root;
	t->on_stack[root->index] = 1;
	for (;;) {
		struct frame *f = &frames[depth];
		struct module *v = f->m;

		if (f->edge < v->nedges) {
			struct module *w = v->edges[f->edge++].to;

			if (t->index[w->index] == 0) {
				t->index[w->index] = t->low[w->index] =
				    ++t->next_index;
				t->stack[t->sp++] = w;
				t->on_stack[w->index] = 1;
				frames[++depth].m = w;
				frames[depth].edge = 0;
			} else if (t->on_stack[w->index] &&
			           t->index[w->index] < t->low[v->index]) {
				t->low[v->index] = t->index[w->index];
			}
			continue;
		}
		if (t->low[v->index] == t->index[v->index]) {
			struct module *w;

			do {
				w = t->stack[--t->sp];
				t->on_stack[w->index] = 0;
				t->group[w->index] = t->ngroups;
			} while (w != v);
			t->ngroups++;
		}
		if (depth == 0)
			return;
		depth--;
		if (t->low[v->index] < t->low[frames[depth].m->index])
			t->low[frames[depth].m->index] = t->low[v->index];
	}
}

static const char *
edge_verb(enum edge_kind k)
{
	switch (k) {
	case EDGE_REQUIRES:
		return "requires";
	case EDGE_AFTER:
		return "starts after";
	case EDGE_NEEDS:
		break;
	}
	return "needs a capability of";
}

/*
 * The edge from v to w to print: where two kinds link the pair, requires
 * before after before needs; within a kind, the first written.
 */
static const struct edge *
edge_between(const struct module *v, const struct module *w)
{
	const struct edge *best = NULL;
	size_t i;

	for (i = 0; i < v->nedges; i++)
		if (v->edges[i].to == w &&
		    (best == NULL || v->edges[i].kind < best->kind))
			best = &v->edges[i];
	return best;
}

/* The smallest-id successor of v in group, not dead, not on the path;
 * the start (smallest of the group) wins whenever it is a successor. */
static struct module *
next_step(const struct tarjan *t, const struct module *v, size_t group,
          const unsigned char *blocked)
{
	struct module *best = NULL;
	size_t i;

	for (i = 0; i < v->nedges; i++) {
		struct module *w = v->edges[i].to;

		if (t->group[w->index] != group || blocked[w->index])
			continue;
		if (best == NULL || strcmp(w->id, best->id) < 0)
			best = w;
	}
	return best;
}

static int
edges_to(const struct module *v, const struct module *w)
{
	return edge_between(v, w) != NULL;
}

/* Finds the cycle through start; path receives it (start first). Groups
 * are disjoint, so blocked marks of one never touch another's. */
static size_t
find_cycle(const struct tarjan *t, struct module *start, size_t group,
           unsigned char *blocked, struct module **path)
{
	size_t len = 1;

	path[0] = start;
	blocked[start->index] = 1;
	for (;;) {
		struct module *v = path[len - 1], *w;

		/* Closing beats any other step: start is the smallest id. */
		if (edges_to(v, start))
			return len;
		w = next_step(t, v, group, blocked);
		if (w == NULL) {
			/* Dead end: v stays blocked, step back. */
			if (--len == 0)
				return 0;
			continue;
		}
		blocked[w->index] = 1;
		path[len++] = w;
	}
}

/* "a -> b -> c -> a", built in one pass: cycles can be 10,000 long. */
static const char *
cycle_text(struct graph *g, struct module **path, size_t len)
{
	size_t total = strlen(path[0]->id) + 1, i, at = 0;
	char *text;

	for (i = 1; i <= len; i++)
		total += 4 + strlen(path[i % len]->id);
	text = arena_alloc(g->arena, total);
	for (i = 0; i <= len; i++) {
		const char *id = path[i % len]->id;
		size_t n = strlen(id);

		if (i > 0) {
			memcpy(text + at, " -> ", 4);
			at += 4;
		}
		memcpy(text + at, id, n);
		at += n;
	}
	text[at] = '\0';
	return text;
}

static void
report_cycle(struct graph *g, struct module **path, size_t len)
{
	const char *text = cycle_text(g, path, len);
	const struct edge *first;
	struct diag *d;
	size_t i;

	first = edge_between(path[0], path[1 % len]);
	d = diag_error(g->dl, &first->at->mark, "dependency-cycle",
	               "dependency cycle: %s", text);
	for (i = 1; i < len; i++) {
		const struct edge *e = edge_between(path[i],
		                                    path[(i + 1) % len]);

		diag_note(g->dl, d, &e->at->mark, "'%s' %s '%s' here",
		          path[i]->id, edge_verb(e->kind), e->to->id);
	}
}

size_t
graph_cycles(struct graph *g)
{
	struct config *cfg = g->cfg;
	size_t n = cfg->nmodules, i, reported = 0;
	struct tarjan t;
	struct frame *frames = arena_alloc(g->arena, (n + 1) * sizeof(*frames));
	struct module **path = arena_alloc(g->arena, (n + 1) * sizeof(*path));
	unsigned char *blocked = arena_alloc(g->arena, n + 1);
	struct module **smallest;
	size_t *size;

	memset(&t, 0, sizeof(t));
	t.index = arena_alloc(g->arena, (n + 1) * sizeof(size_t));
	t.low = arena_alloc(g->arena, (n + 1) * sizeof(size_t));
	t.on_stack = arena_alloc(g->arena, (n + 1) * sizeof(int));
	t.group = arena_alloc(g->arena, (n + 1) * sizeof(size_t));
	t.stack = arena_alloc(g->arena, (n + 1) * sizeof(*t.stack));
	for (i = 0; i < cfg->nmembers; i++)
		if (t.index[cfg->members[i]->index] == 0)
			strongconnect(&t, cfg->members[i], frames);
	smallest = arena_alloc(g->arena, (t.ngroups + 1) * sizeof(*smallest));
	size = arena_alloc(g->arena, (t.ngroups + 1) * sizeof(*size));
	/* members are sorted by id: the first seen of a group is its
	 * smallest. */
	for (i = 0; i < cfg->nmembers; i++) {
		struct module *m = cfg->members[i];
		size_t grp = t.group[m->index];

		if (size[grp]++ == 0)
			smallest[grp] = m;
	}
	for (i = 0; i < t.ngroups; i++) {
		size_t len;

		if (size[i] == 1 && !edges_to(smallest[i], smallest[i]))
			continue;
		len = find_cycle(&t, smallest[i], i, blocked, path);
		if (len > 0) {
			report_cycle(g, path, len);
			reported++;
		}
	}
	return reported;
}
