/*
 * plan_out.c - the three renderings of a plan.
 */
#include "cli/plan_out.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static const char *
handler_text(const struct route *r, char *buf, size_t len)
{
	const struct handler *h = r->handler;

	switch (h->kind) {
	case HANDLER_OPERATION:
		snprintf(buf, len, "%s.%s", h->service, h->operation);
		return buf;
	case HANDLER_RESPOND:
		return "respond";
	case HANDLER_STATIC:
		return "static";
	case HANDLER_PROXY:
		snprintf(buf, len, "proxy %s", h->proxy->upstream);
		return buf;
	case HANDLER_RUNTIME:
		break;
	}
	return "runtime";
}

static void
print_methods(const struct strlist *methods, FILE *out)
{
	size_t i;

	for (i = 0; i < methods->n; i++)
		fprintf(out, "%s%s", i ? "," : "", methods->v[i]);
}

static void
print_module_text(const struct module *m, FILE *out)
{
	char buf[512];
	size_t i;

	fprintf(out, "\nmodule %s %s (wave %d)\n", m->id, m->version,
	        m->wave);
	for (i = 0; i < m->services.n; i++) {
		const struct service *s = m->services.v[i];

		fprintf(out, "  service %s.%s (provider %s)\n", m->id, s->id,
		        s->provider);
	}
	for (i = 0; i < m->routes.n; i++) {
		const struct route *r = m->routes.v[i];

		fprintf(out, "  route %s ", r->id);
		print_methods(&r->methods, out);
		fprintf(out, " %s%s [%s] -> %s\n", r->mount_path,
		        r->prefix ? "/*" : "", r->scope_name,
		        handler_text(r, buf, sizeof(buf)));
	}
}

void
plan_print_text(const struct config *cfg, FILE *out)
{
	size_t w, i;

	fprintf(out, "plan for product '%s' %s: %zu module%s in %zu wave%s\n",
	        cfg->product->id, cfg->product->version, cfg->nmembers,
	        cfg->nmembers == 1 ? "" : "s", cfg->nwaves,
	        cfg->nwaves == 1 ? "" : "s");
	for (w = 0; w < cfg->nwaves; w++) {
		fprintf(out, "wave %zu: ", w + 1);
		for (i = 0; i < cfg->wave_sizes[w]; i++)
			fprintf(out, "%s%s", i ? ", " : "",
			        cfg->waves[w][i]->id);
		fputc('\n', out);
	}
	for (w = 0; w < cfg->nwaves; w++)
		for (i = 0; i < cfg->wave_sizes[w]; i++)
			print_module_text(cfg->waves[w][i], out);
}

static json_object *
json_strlist(const struct strlist *l)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < l->n; i++)
		json_object_array_add(a, json_object_new_string(l->v[i]));
	return a;
}

static json_object *
json_route(const struct route *r)
{
	json_object *o = json_object_new_object();
	char buf[512];

	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "scope",
	                       json_object_new_string(r->scope_name));
	json_object_object_add(o, "methods", json_strlist(&r->methods));
	json_object_object_add(o, "mountPath",
	                       json_object_new_string(r->mount_path));
	json_object_object_add(o, "match", json_object_new_string(
	    r->prefix ? "prefix" : "exact"));
	json_object_object_add(o, "handler", json_object_new_string(
	    handler_text(r, buf, sizeof(buf))));
	return o;
}

static json_object *
json_module(const struct module *m)
{
	json_object *o = json_object_new_object();
	json_object *req = json_object_new_array();
	json_object *svcs = json_object_new_array();
	json_object *routes = json_object_new_array();
	size_t i;

	json_object_object_add(o, "id", json_object_new_string(m->id));
	json_object_object_add(o, "displayName",
	                       json_object_new_string(m->display_name));
	json_object_object_add(o, "version",
	                       json_object_new_string(m->version));
	json_object_object_add(o, "wave", json_object_new_int(m->wave));
	for (i = 0; i < m->requires.n; i++)
		json_object_array_add(req,
		    json_object_new_string(m->requires.v[i].id));
	json_object_object_add(o, "requires", req);
	json_object_object_add(o, "after", json_strlist(&m->after));
	json_object_object_add(o, "provides", json_strlist(&m->provides));
	json_object_object_add(o, "needs", json_strlist(&m->needs));
	for (i = 0; i < m->services.n; i++) {
		const struct service *s = m->services.v[i];
		json_object *so = json_object_new_object();

		json_object_object_add(so, "id", json_object_new_string(s->id));
		json_object_object_add(so, "provider",
		                       json_object_new_string(s->provider));
		json_object_array_add(svcs, so);
	}
	json_object_object_add(o, "services", svcs);
	for (i = 0; i < m->routes.n; i++)
		json_object_array_add(routes, json_route(m->routes.v[i]));
	json_object_object_add(o, "routes", routes);
	return o;
}

void
plan_print_json(const struct config *cfg, FILE *out)
{
	const struct product *p = cfg->product;
	json_object *root = json_object_new_object();
	json_object *prod = json_object_new_object();
	json_object *waves = json_object_new_array();
	json_object *mods = json_object_new_array();
	size_t w, i;

	json_object_object_add(prod, "id", json_object_new_string(p->id));
	json_object_object_add(prod, "name", json_object_new_string(p->name));
	json_object_object_add(prod, "description", p->description ?
	                       json_object_new_string(p->description) : NULL);
	json_object_object_add(prod, "version",
	                       json_object_new_string(p->version));
	for (w = 0; w < cfg->nwaves; w++) {
		json_object *wave = json_object_new_array();

		for (i = 0; i < cfg->wave_sizes[w]; i++) {
			json_object_array_add(wave, json_object_new_string(
			    cfg->waves[w][i]->id));
			json_object_array_add(mods,
			                      json_module(cfg->waves[w][i]));
		}
		json_object_array_add(waves, wave);
	}
	json_object_object_add(root, "product", prod);
	json_object_object_add(root, "waves", waves);
	json_object_object_add(root, "modules", mods);
	fprintf(out, "%s\n", json_object_to_json_string_ext(root,
	        JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	        JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

static int
compare_edges(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;
	int c = strcmp(x->to->id, y->to->id);

	if (c != 0)
		return c;
	return (int)x->kind - (int)y->kind;
}

static void
print_edges_dot(const struct module *m, FILE *out)
{
	static const char *const style[] = {
		"", " [style=dashed, label=\"after\"]", " [style=dotted"};
	struct edge *edges;
	size_t i;

	if (m->nedges == 0)
		return;
	edges = malloc(m->nedges * sizeof(*edges));
	if (edges == NULL)
		return;
	memcpy(edges, m->edges, m->nedges * sizeof(*edges));
	qsort(edges, m->nedges, sizeof(*edges), compare_edges);
	for (i = 0; i < m->nedges; i++) {
		fprintf(out, "  \"%s\" -> \"%s\"%s", m->id, edges[i].to->id,
		        style[edges[i].kind]);
		if (edges[i].kind == EDGE_NEEDS)
			fprintf(out, ", label=\"%s\"]", edges[i].at->value);
		fputs(";\n", out);
	}
	free(edges);
}

void
plan_print_dot(const struct config *cfg, FILE *out)
{
	size_t w, i;

	fprintf(out, "digraph \"%s\" {\n  rankdir=RL;\n  node [shape=box];\n",
	        cfg->product->id);
	for (w = 0; w < cfg->nwaves; w++) {
		fprintf(out, "  subgraph \"wave%zu\" {\n    rank=same;\n",
		        w + 1);
		for (i = 0; i < cfg->wave_sizes[w]; i++)
			fprintf(out, "    \"%s\" [label=\"%s\\n%s\"];\n",
			        cfg->waves[w][i]->id, cfg->waves[w][i]->id,
			        cfg->waves[w][i]->version);
		fputs("  }\n", out);
	}
	for (w = 0; w < cfg->nwaves; w++)
		for (i = 0; i < cfg->wave_sizes[w]; i++)
			print_edges_dot(cfg->waves[w][i], out);
	fputs("}\n", out);
}
