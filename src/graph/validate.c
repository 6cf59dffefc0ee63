/*
 * validate.c - the order of the checks, and the rules on module parts that
 * have no file of their own (migrations, marketplace sources, events).
 */
#include "graph/graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/arena.h"
#include "util/strmap.h"

/* Reports a repeated `id` among items (struct with node and id first). */
static void
check_unique_ids(struct graph *g, const struct objlist *items,
                 size_t id_offset, const char *what)
{
	struct strmap *seen;
	size_t i;

	if (items->n < 2)
		return;
	seen = strmap_new(g->arena);
	for (i = 0; i < items->n; i++) {
		const node_t *node = *(const node_t **)items->v[i];
		const char *id = *(const char **)((char *)items->v[i] +
		                                  id_offset);
		const node_t *first;
		struct diag *d;

		if (id == NULL)
			continue;
		first = strmap_put(seen, id, (void *)node);
		if (first == NULL)
			continue;
		d = diag_error(g->dl, node_mark_of(node, "id"),
		               "invalid-value", "%s id '%s' is used twice",
		               what, id);
		diag_note(g->dl, d, node_mark_of(first, "id"),
		          "'%s' is first used here", id);
	}
}

static void
check_events(struct graph *g, const struct strlist *events)
{
	struct strmap *seen = strmap_new(g->arena);
	size_t i;

	for (i = 0; i < events->n; i++) {
		const node_t *first = strmap_put(seen, events->v[i],
		                                 (void *)events->at[i]);
		struct diag *d;

		if (first == NULL)
			continue;
		d = diag_error(g->dl, &events->at[i]->mark, "invalid-value",
		               "analytics event '%s' is declared twice",
		               events->v[i]);
		diag_note(g->dl, d, &first->mark, "'%s' is first declared "
		          "here", events->v[i]);
	}
}

/*
 * Paths whose meaning depends on another value: a directory source's
 * location, and a runtime command written as a path ("./bin/x") rather
 * than a name looked up in PATH.
 */
static void
resolve_paths(struct graph *g, struct module *m)
{
	size_t i;

	for (i = 0; m->marketplace != NULL &&
	     i < m->marketplace->sources.n; i++) {
		struct market_source *s = m->marketplace->sources.v[i];

		if (s->type != NULL && s->location != NULL &&
		    strcmp(s->type, "directory") == 0)
			s->location = decode_resolve_path(g->arena,
			    node_get(s->node, "location"), s->location);
	}
	if (m->runtime != NULL && m->runtime->command.n > 0 &&
	    strchr(m->runtime->command.v[0], '/') != NULL)
		m->runtime->command.v[0] = decode_resolve_path(g->arena,
		    m->runtime->command.at[0], m->runtime->command.v[0]);
}

static int
is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/* A command without a slash is found in PATH, as execvp() would. */
static int
found_in_path(struct graph *g, const char *name)
{
	const char *p = getenv("PATH");

	if (p == NULL || *p == '\0')
		p = "/usr/local/bin:/usr/bin:/bin";
	while (*p != '\0') {
		size_t len = strcspn(p, ":");

		if (len > 0 && is_executable(arena_printf(g->arena, "%.*s/%s",
		                                          (int)len, p, name)))
			return 1;
		p += len;
		if (*p == ':')
			p++;
	}
	return 0;
}

/* The supervisor execs the runtime command at start-up: the check makes
 * sure there is something to exec. */
static void
check_runtime_command(struct graph *g, const struct runtime_config *rt)
{
	const char *cmd = rt->command.v[0];

	struct stat st;

	if (strchr(cmd, '/') != NULL) {
		if (stat(cmd, &st) < 0)
			diag_error(g->dl, &rt->command.at[0]->mark,
			           "invalid-value", "runtime command '%s': %s",
			           cmd, strerror(errno));
		else if (!is_executable(cmd))
			diag_error(g->dl, &rt->command.at[0]->mark,
			           "invalid-value", "runtime command '%s' is "
			           "not an executable file", cmd);
		return;
	}
	if (!found_in_path(g, cmd))
		diag_error(g->dl, &rt->command.at[0]->mark, "invalid-value",
		           "runtime command '%s' is not found in PATH", cmd);
}

static void
check_parts(struct graph *g, struct module *m)
{
	resolve_paths(g, m);
	if (m->runtime != NULL && m->runtime->command.n > 0)
		check_runtime_command(g, m->runtime);
	if (m->database != NULL)
		check_unique_ids(g, &m->database->migrations,
		                 offsetof(struct migration, id), "migration");
	if (m->marketplace != NULL)
		check_unique_ids(g, &m->marketplace->sources,
		                 offsetof(struct market_source, id),
		                 "marketplace source");
	if (m->analytics != NULL)
		check_events(g, &m->analytics->events);
}

size_t
graph_validate(struct config *cfg, struct provider_registry *reg,
               struct diag_list *dl)
{
	struct graph g = {0};
	size_t i, cycles;

	g.cfg = cfg;
	g.reg = reg;
	g.dl = dl;
	g.arena = cfg->arena;
	graph_members(&g);
	graph_listeners(&g);
	for (i = 0; i < cfg->nmodules; i++) {
		if (!cfg->modules[i]->unique)
			continue;
		graph_services(&g, cfg->modules[i]);
		check_parts(&g, cfg->modules[i]);
	}
	graph_dependencies(&g);
	cycles = graph_cycles(&g);
	graph_upstreams(&g);
	graph_routes(&g);
	for (i = 0; i < cfg->nmodules; i++)
		if (cfg->modules[i]->unique)
			graph_schemas(&g, cfg->modules[i]);
	if (cycles == 0 && dl->errors == 0)
		graph_plan(&g);
	return dl->errors;
}
