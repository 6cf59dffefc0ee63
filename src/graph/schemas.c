/*
 * schemas.c - the JSON Schemas of a module and the names they refer to.
 *
 * `$ref: Name` looks in the module's own schemas; `$ref: module.Name` in
 * another module of the product (split at the last dot).
 */
#include "graph/graph.h"

#include <string.h>

#include "config/jsonschema.h"
#include "util/arena.h"

struct ref_context {
	struct graph *g;
	struct module *m;
};

/* Names a $ref in m may use: m's schemas bare, every other member's as
 * module.Name. Built only when a reference is wrong. */
static struct names
schema_names(struct graph *g, const struct module *m)
{
	struct names l = {0};
	size_t i, j;

	for (i = 0; m->schemas != NULL && i < m->schemas->n; i++)
		names_add(g->arena, &l, m->schemas->pairs[i].key->value);
	for (i = 0; i < g->cfg->nmembers; i++) {
		const struct module *o = g->cfg->members[i];

		for (j = 0; o != m && o->schemas != NULL &&
		     j < o->schemas->n; j++)
			names_add(g->arena, &l, arena_printf(g->arena,
			          "%s.%s", o->id, o->schemas->pairs[j].key->value));
	}
	return l;
}

static void
report_unknown(struct graph *g, const node_t *ref, const struct module *m,
               const struct module *in, const char *name)
{
	struct names l = schema_names(g, m);
	struct diag *d;

	if (in == NULL)
		d = diag_error(g->dl, &ref->mark, "unknown-schema", "$ref "
		               "'%s' names a module that is not part of the "
		               "product", ref->value);
	else
		d = diag_error(g->dl, &ref->mark, "unknown-schema", "$ref "
		               "'%s': module '%s' defines no schema '%s'",
		               ref->value, in->id, name);
	diag_suggest(g->dl, d, ref->value, l.v, l.n);
}

static int
resolve_ref(void *ctx, const node_t *ref)
{
	struct ref_context *rc = ctx;
	const char *dot = strrchr(ref->value, '.');
	const char *name = ref->value;
	struct module *in = rc->m;

	if (dot != NULL) {
		const char *mid = arena_strndup(rc->g->arena, ref->value,
		                                (size_t)(dot - ref->value));

		in = config_find_module(rc->g->cfg, mid);
		if (in != NULL && !in->in_product && rc->m->in_product)
			in = NULL;
		name = dot + 1;
	}
	if (in != NULL && node_get(in->schemas, name) != NULL)
		return 1;
	report_unknown(rc->g, ref, rc->m, in, name);
	return 0;
}

static void
check_route_schemas(struct graph *g, struct ref_context *rc, struct route *r)
{
	size_t i;

	if (r->request != NULL && r->request->schema != NULL)
		jsonschema_check(g->dl, r->request->schema, resolve_ref, rc);
	for (i = 0; r->responses != NULL && r->responses->kind == NODE_MAP &&
	     i < r->responses->n; i++) {
		const node_t *schema = node_get(r->responses->pairs[i].value,
		                                "schema");

		if (schema != NULL)
			jsonschema_check(g->dl, schema, resolve_ref, rc);
	}
}

void
graph_schemas(struct graph *g, struct module *m)
{
	struct ref_context rc = {g, m};
	size_t i;

	for (i = 0; m->schemas != NULL && i < m->schemas->n; i++)
		jsonschema_check(g->dl, m->schemas->pairs[i].value,
		                 resolve_ref, &rc);
	for (i = 0; i < m->routes.n; i++)
		check_route_schemas(g, &rc, m->routes.v[i]);
}
