/*
 * describe.c - a generation as the JSON of SPEC §9: the identity of the
 * product, its readiness, its modules and its routes, and the OpenAPI
 * document. The gateway provider answers these views through
 * aster_describe() (aster/http.h), as any provider may.
 */
#include "runtime/describe.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/openapi_live.h"
#include "runtime/runtime.h"

static json_object *
string_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

/* A running module whose store lost its database reads "unavailable". */
static const char *
run_state(struct module_run *run)
{
	struct module_run *live = module_run_live(run);

	if (live->state == MODULE_RUNNING && !runtime_run_healthy(live))
		return "unavailable";
	return module_state_name(live->state);
}

/* Why the product is not ready: the runtime's own state first, then the
 * worst module state. */
static const char *
not_ready_status(const struct runtime *rt, const struct generation *g)
{
	size_t i;

	if (rt != NULL && rt->state == RUNTIME_STOPPING)
		return "stopping";
	if (rt != NULL && rt->state == RUNTIME_FAILED)
		return "failed";
	for (i = 0; i < g->nruns; i++)
		if (module_run_live(&g->runs[i])->state == MODULE_FAILED)
			return "failed";
	for (i = 0; i < g->nruns; i++) {
		enum module_run_state s = module_run_live(&g->runs[i])->state;

		if (s == MODULE_STOPPING || s == MODULE_STOPPED)
			return "stopping";
	}
	for (i = 0; i < g->nruns; i++)
		if (module_run_live(&g->runs[i])->state == MODULE_RUNNING &&
		    !runtime_run_healthy(&g->runs[i]))
			return "unavailable";
	return "starting";
}

static json_object *
ready_json(const struct request_ctx *ctx, int *status)
{
	const struct generation *g = ctx->gen;
	json_object *o = json_object_new_object();
	json_object *mods = json_object_new_object();
	int ready = ctx->rt != NULL && runtime_ready(ctx->rt);
	size_t i;

	*status = ready ? 200 : 503;
	json_object_object_add(o, "status", json_object_new_string(
	    ready ? "ready" : not_ready_status(ctx->rt, g)));
	for (i = 0; i < g->nruns; i++)
		json_object_object_add(mods, g->runs[i].module->id,
		    json_object_new_string(run_state(&g->runs[i])));
	json_object_object_add(o, "modules", mods);
	return o;
}

static json_object *
product_json(const struct request_ctx *ctx, int *status)
{
	const struct generation *g = ctx->gen;
	const struct product *p = g->cfg->product;
	json_object *o = json_object_new_object();
	json_object *mods = json_object_new_array_ext((int)g->nruns);
	size_t i;

	*status = 200;
	json_object_object_add(o, "id", json_object_new_string(p->id));
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "description",
	                       string_or_null(p->description));
	json_object_object_add(o, "version",
	                       json_object_new_string(p->version));
	for (i = 0; i < g->nruns; i++)
		json_object_array_add(mods,
		    json_object_new_string(g->runs[i].module->id));
	json_object_object_add(o, "modules", mods);
	return o;
}

static json_object *
module_json(struct module_run *run)
{
	const struct module *m = run->module;
	json_object *o = json_object_new_object();
	json_object *req = json_object_new_array_ext((int)m->requires.n);
	json_object *routes = json_object_new_array_ext((int)m->routes.n);
	size_t i;

	json_object_object_add(o, "id", json_object_new_string(m->id));
	json_object_object_add(o, "displayName",
	                       json_object_new_string(m->display_name));
	json_object_object_add(o, "version",
	                       json_object_new_string(m->version));
	json_object_object_add(o, "state",
	                       json_object_new_string(run_state(run)));
	json_object_object_add(o, "wave", json_object_new_int(m->wave));
	for (i = 0; i < m->requires.n; i++)
		json_object_array_add(req,
		    json_object_new_string(m->requires.v[i].id));
	json_object_object_add(o, "requires", req);
	for (i = 0; i < m->routes.n; i++)
		json_object_array_add(routes, json_object_new_string(
		    ((const struct route *)m->routes.v[i])->id));
	json_object_object_add(o, "routes", routes);
	return o;
}

static json_object *
modules_json(const struct request_ctx *ctx, int *status)
{
	const struct generation *g = ctx->gen;
	json_object *a = json_object_new_array_ext((int)g->nruns);
	size_t i;

	*status = 200;
	for (i = 0; i < g->nruns; i++)
		json_object_array_add(a, module_json(&g->runs[i]));
	return a;
}

static json_object *
route_json(const struct route *r)
{
	json_object *o = json_object_new_object();
	json_object *methods = json_object_new_array_ext((int)r->methods.n);
	size_t i;

	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "module",
	                       json_object_new_string(r->module->id));
	json_object_object_add(o, "scope",
	                       json_object_new_string(r->scope_name));
	for (i = 0; i < r->methods.n; i++)
		json_object_array_add(methods,
		                      json_object_new_string(r->methods.v[i]));
	json_object_object_add(o, "methods", methods);
	json_object_object_add(o, "mountPath",
	                       json_object_new_string(r->mount_path));
	json_object_object_add(o, "match", json_object_new_string(
	    r->prefix ? "prefix" : "exact"));
	return o;
}

/* The routes the generation serves, module by module in plan order. */
static json_object *
routes_json(const struct request_ctx *ctx, int *status)
{
	const struct generation *g = ctx->gen;
	json_object *a = json_object_new_array_ext(
	    (int)router_count(g->router));
	size_t i, j;

	*status = 200;
	for (i = 0; i < g->nruns; i++) {
		const struct module *m = g->runs[i].module;

		for (j = 0; j < m->routes.n; j++)
			json_object_array_add(a, route_json(m->routes.v[j]));
	}
	return a;
}

static const struct {
	const char *name;
	json_object *(*build)(const struct request_ctx *ctx, int *status);
} views[] = {
	{"ready", ready_json},
	{"product", product_json},
	{"modules", modules_json},
	{"routes", routes_json},
};

/* Compact JSON text of o (taken), malloc'ed. */
static char *
json_text(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *text = s != NULL ? strdup(s) : NULL;

	json_object_put(o);
	return text;
}

/* See describe.h. */
char *
runtime_describe(const struct request_ctx *ctx, const char *view,
                 int *status)
{
	size_t i;

	*status = 200;
	if (strcmp(view, "openapi") == 0)
		return runtime_openapi_document(ctx);
	for (i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		if (strcmp(view, views[i].name) == 0)
			return json_text(views[i].build(ctx, status));
	return NULL;
}
