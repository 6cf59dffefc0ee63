/*
 * graph.h - validating a loaded configuration and planning its start-up.
 *
 * graph_validate() is the one entry point: `--check-config`, `--plan`,
 * start-up and reload all call it, so a configuration that passes the
 * check cannot fail start-up for a reason the check could have seen. The
 * other declarations are the stages it runs, each in its own file.
 */
#ifndef ASTER_GRAPH_H
#define ASTER_GRAPH_H

#include "config/manifest.h"
#include "diag.h"

struct provider_registry;
struct strmap;

/*
 * Runs every check of SPEC §5 over cfg, reporting into dl, and on success
 * fills cfg's plan (waves) and sets cfg->planned. Returns the number of
 * errors found.
 */
size_t graph_validate(struct config *cfg, struct provider_registry *reg,
                      struct diag_list *dl);

/* Shared by the stages below. */
struct graph {
	struct config *cfg;
	struct provider_registry *reg;
	struct diag_list *dl;
	struct arena *arena;
	struct strmap *capabilities;    /* capability -> struct provision */
	const char **module_ids;        /* every defined id, for hints */
	size_t nmodule_ids;
};

/* A capability and the members providing it, in file order. */
struct provision {
	size_t n, cap;
	struct module **modules;
};

/* Reports ambiguous-capability at `at`, with a note at every provider;
 * what starts the message ("module 'x' needs"). */
void graph_report_ambiguous(struct graph *g, const struct provision *p,
                            const char *name, const node_t *at,
                            const char *what);

/* members.c: duplicates, product membership, unused-module. */
void graph_members(struct graph *g);

/* deps.c: requires, after, needs/provides; builds member edges. */
void graph_dependencies(struct graph *g);

/* cycles.c: one dependency-cycle diagnostic per cyclic group. Returns the
 * number of cycles reported. */
size_t graph_cycles(struct graph *g);

/* plan.c: assigns waves (requires an acyclic graph). */
void graph_plan(struct graph *g);

/* services.c: service ids, providers, provider config. */
void graph_services(struct graph *g, struct module *m);

/* routes.c: every route rule of SPEC §3.2 and §5. */
void graph_routes(struct graph *g);

/* upstreams.c: every module's `upstreams` (names, targets, scheme, tls),
 * with defaults filled; graph_proxy() checks one proxy handler, fills its
 * defaults and resolves its upstream (building an inline URL's). */
void graph_upstreams(struct graph *g);
void graph_proxy(struct graph *g, struct module *m, struct route *r);

/* schemas.c: named schemas, request and response schemas, $ref. */
void graph_schemas(struct graph *g, struct module *m);

/* listeners.c: the product's server section. */
void graph_listeners(struct graph *g);

/* A growing list of names, for "did you mean" candidates. */
struct names {
	const char **v;
	size_t n, cap;
};

void names_add(struct arena *a, struct names *l, const char *name);

/* Adds to d a "did you mean" hint for a module id near id, with a note
 * where that module is defined. */
void graph_suggest_module(struct graph *g, struct diag *d, const char *id);

/* Scope name -> enum scope bit (0 when unknown). */
unsigned graph_scope_bit(const char *name);

#endif
