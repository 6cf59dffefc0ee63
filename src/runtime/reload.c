/*
 * reload.c - a new configuration without a restart (SPEC §6).
 *
 * The new configuration is loaded and validated by the same code as the
 * check. Invalid: nothing changes. Valid: modules whose manifest did not
 * change keep running (their services move to the new generation);
 * removed and changed modules stop, in reverse plan order; added and
 * changed ones start, wave by wave; the route table is swapped at once,
 * while requests in flight finish on the generation they began on.
 * Listeners that did not change are never closed; a TLS one among them
 * gets its certificate and key read again, for new connections (open
 * ones keep theirs), and one that fails to load rejects the reload as a
 * failed bind does.
 */
#include "runtime/runtime.h"

#include <aster/provider.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "http/server.h"
#include "http/tls.h"
#include "log.h"
#include "product.h"
#include "runtime/notify.h"
#include "util/strmap.h"

struct diff {
	json_object *stop, *start, *restart;
	json_object *added, *removed;
};

static int
same_module(const struct module_run *old, const struct module_run *new)
{
	return strcmp(old->digest, new->digest) == 0;
}

static void
diff_modules(struct generation *old, struct generation *new, struct diff *d)
{
	size_t i;

	for (i = 0; i < old->nruns; i++) {
		const struct module_run *o = &old->runs[i];
		const struct module_run *n = generation_find_run(new,
		                                                 o->module->id);

		if (n == NULL)
			json_object_array_add(d->stop,
			    json_object_new_string(o->module->id));
		else if (!same_module(o, n))
			json_object_array_add(d->restart,
			    json_object_new_string(o->module->id));
	}
	for (i = 0; i < new->nruns; i++)
		if (generation_find_run(old, new->runs[i].module->id) == NULL)
			json_object_array_add(d->start,
			    json_object_new_string(new->runs[i].module->id));
}

static struct strmap *
route_ids(struct config *cfg)
{
	struct strmap *m = strmap_new(cfg->arena);
	size_t i, j;

	for (i = 0; i < cfg->nmembers; i++)
		for (j = 0; j < cfg->members[i]->routes.n; j++) {
			struct route *r = cfg->members[i]->routes.v[j];

			strmap_put(m, r->id, r);
		}
	return m;
}

static void
diff_routes(struct config *old, struct config *new, struct diff *d)
{
	struct strmap *o = route_ids(old), *n = route_ids(new);
	const char *id;
	void *v;
	size_t pos = 0;

	while (strmap_next(n, &pos, &id, &v))
		if (strmap_get(o, id) == NULL)
			json_object_array_add(d->added,
			                      json_object_new_string(id));
	pos = 0;
	while (strmap_next(o, &pos, &id, &v))
		if (strmap_get(n, id) == NULL)
			json_object_array_add(d->removed,
			                      json_object_new_string(id));
}

static int
compare_json_strings(const void *a, const void *b)
{
	return strcmp(json_object_get_string(*(json_object *const *)a),
	              json_object_get_string(*(json_object *const *)b));
}

static char *
render_report(json_object *o)
{
	char *s = strdup(json_object_to_json_string_ext(o,
	                 JSON_C_TO_STRING_PLAIN |
	                 JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	return s;
}

static char *
diagnostics_json(const struct diag_list *dl)
{
	char *buf = NULL, *arr = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_object *root, *diags;

	if (f == NULL)
		return strdup("[]");
	diag_render_json(dl, NULL, f);
	fclose(f);
	root = json_tokener_parse(buf);
	free(buf);
	if (root != NULL && json_object_object_get_ex(root, "diagnostics",
	                                             &diags))
		arr = strdup(json_object_to_json_string_ext(diags,
		             JSON_C_TO_STRING_PLAIN |
		             JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return arr != NULL ? arr : strdup("[]");
}

static void
log_diagnostics(const struct diag_list *dl)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	char *line, *save = NULL;

	if (f == NULL)
		return;
	diag_render_text(dl, f);
	diag_render_summary(dl, f);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		log_msg(LOG_WARN, "reload: %s", line);
	free(buf);
}

static void
record(struct runtime *rt, int ok, const char *message, char *diagnostics)
{
	free(rt->last_reload.message);
	free(rt->last_reload.diagnostics_json);
	rt->last_reload.at = time(NULL);
	rt->last_reload.ok = ok;
	rt->last_reload.message = strdup(message);
	rt->last_reload.diagnostics_json = diagnostics;
}

static json_object *
new_report(int ok, int dry_run, unsigned generation, const char *message)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "dryRun", json_object_new_boolean(dry_run));
	json_object_object_add(o, "generation",
	                       json_object_new_int((int)generation));
	json_object_object_add(o, "message", json_object_new_string(message));
	return o;
}

static int
refuse(struct runtime *rt, int dry_run, const char *message,
       const struct diag_list *dl, char **report)
{
	json_object *o = new_report(0, dry_run, rt->current->number, message);
	char *diags = dl != NULL ? diagnostics_json(dl) : strdup("[]");

	json_object_object_add(o, "diagnostics", json_tokener_parse(diags));
	*report = render_report(o);
	if (!dry_run) {
		log_msg(LOG_WARN, "reload rejected: %s", message);
		record(rt, 0, message, diags);
		/* Only a reload that began (RELOADING=1) is ended with READY=1:
		 * one refused while starting must not announce readiness. */
		if (rt->state == RUNTIME_RUNNING)
			notify_send("READY=1\nSTATUS=reload rejected: %s",
			            message);
	} else {
		free(diags);
	}
	return -1;
}

/* --- listeners ---------------------------------------------------------- */

static struct listener_run *
find_listener(struct runtime *rt, const char *normal)
{
	size_t i;

	for (i = 0; i < rt->nlisteners; i++)
		if (rt->listeners[i].decl != NULL &&
		    strcmp(rt->listeners[i].normal, normal) == 0)
			return &rt->listeners[i];
	return NULL;
}

static struct listener_run *
free_slot(struct runtime *rt)
{
	size_t i;

	for (i = 0; i < rt->nlisteners; i++)
		if (rt->listeners[i].decl == NULL &&
		    rt->listeners[i].server == NULL)
			return &rt->listeners[i];
	if (rt->nlisteners == RUNTIME_MAX_LISTENERS)
		return NULL;
	return &rt->listeners[rt->nlisteners++];
}

/*
 * Binds the listeners the new configuration adds. On failure closes what
 * it bound and names the address; the old listeners are untouched.
 */
static int
bind_new_listeners(struct runtime *rt, struct config *cfg, char **why)
{
	const struct objlist *listen = &cfg->product->server->listen;
	struct listener_run *added[RUNTIME_MAX_LISTENERS];
	size_t i, nadded = 0;

	for (i = 0; i < listen->n; i++) {
		struct listener *l = listen->v[i];
		struct listener_run *lr;
		const char *err;

		if (find_listener(rt, l->normal) != NULL)
			continue;
		lr = free_slot(rt);
		if (lr == NULL || runtime_bind(l, rt->ephemeral_ports, lr,
		                               &err) < 0) {
			if (asprintf(why, "cannot listen on %s: %s", l->address,
			             lr == NULL ? "too many listeners" : err) < 0)
				*why = NULL;
			while (nadded > 0)
				runtime_close_listener(added[--nadded]);
			return -1;
		}
		lr->rt = rt;
		lr->decl = l;
		lr->normal = strdup(l->normal);
		lr->scopes = l->scopes;
		added[nadded++] = lr;
	}
	for (i = 0; i < nadded; i++)
		runtime_serve_listener(rt, added[i], cfg);
	return 0;
}

/* A listener's TLS context loaded for a reload: lr is the open listener
 * that keeps the address (NULL for a new one, which runtime_bind()
 * loads itself). */
struct tls_load {
	struct listener_run *lr;
	struct ssl_ctx_st *ctx;
};

static void
free_listener_tls(struct config *cfg, struct tls_load *tls)
{
	size_t i;

	for (i = 0; i < cfg->product->server->listen.n; i++) {
		tls_context_free(tls[i].ctx);
		tls[i].ctx = NULL;
	}
}

/*
 * Loads the TLS contexts of cfg's listeners into tls[] (by index in
 * server.listen): of those an open listener keeps, or, for a dry run
 * (all), of every one. On failure frees what it loaded and names the
 * listener and the file.
 */
static int
load_listener_tls(struct runtime *rt, struct config *cfg, int all,
                  struct tls_load *tls, char **why)
{
	const struct objlist *listen = &cfg->product->server->listen;
	size_t i;

	for (i = 0; i < listen->n; i++) {
		tls[i].lr = NULL;
		tls[i].ctx = NULL;
	}
	for (i = 0; i < listen->n; i++) {
		struct listener *l = listen->v[i];
		const char *err;

		tls[i].lr = find_listener(rt, l->normal);
		if (!all && tls[i].lr == NULL)
			continue;
		if (runtime_load_tls(l, &tls[i].ctx, &err) < 0) {
			if (asprintf(why, "listener %s: %s", l->address,
			             err) < 0)
				*why = NULL;
			free_listener_tls(cfg, tls);
			return -1;
		}
	}
	return 0;
}

/* Points kept listeners at the new declarations and TLS contexts (taken
 * from tls[]); closes removed ones. */
static void
settle_listeners(struct runtime *rt, struct config *cfg,
                 struct tls_load *tls)
{
	const struct objlist *listen = &cfg->product->server->listen;
	size_t i, j;

	for (i = 0; i < rt->nlisteners; i++) {
		struct listener_run *lr = &rt->listeners[i];
		struct listener *keep = NULL;

		if (lr->decl == NULL)
			continue;
		for (j = 0; j < listen->n && keep == NULL; j++)
			if (strcmp(((struct listener *)listen->v[j])->normal,
			           lr->normal) == 0)
				keep = listen->v[j];
		if (keep == NULL) {
			log_msg(LOG_INFO, "closing listener %s", lr->bound);
			runtime_close_listener(lr);
			continue;
		}
		lr->decl = keep;
		lr->scopes = keep->scopes;
	}
	/* Connections open keep the context they began with. */
	for (j = 0; j < listen->n; j++) {
		struct listener_run *lr = tls[j].lr;

		if (lr == NULL || (lr->tls == NULL && tls[j].ctx == NULL))
			continue;
		tls_context_free(lr->tls);
		lr->tls = tls[j].ctx;
		tls[j].ctx = NULL;
		http_server_set_tls(lr->server, lr->tls);
		log_msg(LOG_INFO, "listener %s: %s", lr->bound,
		        lr->tls != NULL ? "TLS certificate loaded for new "
		        "connections" : "TLS off for new connections");
	}
	runtime_apply_limits(rt, cfg);
}

/* --- applying ----------------------------------------------------------- */

/* A service that keeps running: re-pointed at the new configuration's
 * service object, and told to re-read the files its config names (the
 * manifest is unchanged; a JWKS or certificate file may not be). */
static void
reload_service(struct service_run *sr, struct service *s)
{
	const struct aster_provider *p = s->impl;

	sr->service = s;
	if (sr->started && p != NULL && p->reload != NULL)
		p->reload(sr->state);
}

/* An unchanged running module keeps its services: they move to the new
 * run, re-pointed at the new configuration's service objects. */
static void
carry_over(struct generation *old, struct generation *new)
{
	size_t i, k;

	for (i = 0; i < new->nruns; i++) {
		struct module_run *n = &new->runs[i];
		struct module_run *o = generation_find_run(old,
		                                           n->module->id);

		if (o == NULL || o->carried || o->state != MODULE_RUNNING ||
		    !same_module(o, n))
			continue;
		n->state = MODULE_RUNNING;
		n->services = o->services;
		n->nservices = o->nservices;
		for (k = 0; k < n->nservices; k++)
			reload_service(&n->services[k],
			               n->module->services.v[k]);
		o->carried = 1;
	}
}

static int
owns_running(const struct module_run *run, void *arg)
{
	(void)arg;
	return !run->carried;
}

void
runtime_reload_finished(struct runtime *rt, const char *failure)
{
	const char *msg = failure != NULL ? failure : "reload applied";

	record(rt, failure == NULL, msg, strdup("[]"));
	log_msg(failure ? LOG_WARN : LOG_INFO, "generation %u: %s",
	        rt->current->number, msg);
	notify_send("READY=1\nSTATUS=generation %u: %s", rt->current->number,
	            msg);
}

static void
apply(struct runtime *rt, struct generation *new, struct tls_load *tls)
{
	struct generation *old = rt->current;

	new->number = ++rt->next_generation;
	runtime_configure_log(new->cfg);
	carry_over(old, new);
	runtime_stop_runs(rt, old, owns_running, NULL);
	settle_listeners(rt, new->cfg, tls);
	rt->current = new;
	generation_unref(old);
	rt->state = RUNTIME_RELOADING;
	rt->starting = new;
	runtime_advance(rt);
}

int
runtime_reload(struct runtime *rt, int dry_run, char **report)
{
	struct diag_list dl;
	struct config *cfg;
	struct generation *next;
	struct diff d;
	json_object *o;
	char *why = NULL;
	struct tls_load tls[RUNTIME_MAX_LISTENERS];
	int failed = 0;

	*report = NULL;
	if (rt->state != RUNTIME_RUNNING)
		return refuse(rt, dry_run, rt->state == RUNTIME_RELOADING ?
		              "a reload is already under way" :
		              "asterd is not running", NULL, report);
	if (!dry_run)
		notify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
		            (unsigned long long)runtime_now_us());
	if (diag_list_init(&dl) < 0)
		return refuse(rt, dry_run, "out of memory", NULL, report);
	cfg = product_load(rt->config_dir, rt->reg, &dl, 0);
	if (cfg == NULL || dl.errors > 0 || !cfg->planned) {
		int rc;

		if (!dry_run)
			log_diagnostics(&dl);
		rc = refuse(rt, dry_run, "the new configuration is invalid",
		            &dl, report);
		config_free(cfg);
		diag_list_release(&dl);
		return rc;
	}
	diag_list_release(&dl);
	next = generation_new(cfg, 0);
	d.stop = json_object_new_array();
	d.start = json_object_new_array();
	d.restart = json_object_new_array();
	d.added = json_object_new_array();
	d.removed = json_object_new_array();
	diff_modules(rt->current, next, &d);
	diff_routes(rt->current->cfg, cfg, &d);
	json_object_array_sort(d.removed, compare_json_strings);
	json_object_array_sort(d.added, compare_json_strings);
	/* Certificates first: one that fails binds nothing. A dry run
	 * loads them all, and binds nothing. */
	if (cfg->product->server->listen.n > RUNTIME_MAX_LISTENERS) {
		why = strdup("too many listeners");
		failed = 1;
	} else if (load_listener_tls(rt, cfg, dry_run, tls, &why) < 0) {
		failed = 1;
	} else if (!dry_run && bind_new_listeners(rt, cfg, &why) < 0) {
		free_listener_tls(cfg, tls);
		failed = 1;
	}
	if (failed) {
		json_object_put(d.stop);
		json_object_put(d.start);
		json_object_put(d.restart);
		json_object_put(d.added);
		json_object_put(d.removed);
		generation_unref(next);
		refuse(rt, dry_run, why != NULL ? why : "cannot bind", NULL,
		       report);
		free(why);
		return -1;
	}
	o = new_report(1, dry_run, dry_run ? rt->current->number :
	               rt->next_generation + 1, dry_run ?
	               "the new configuration is valid" : "reload applied");
	json_object_object_add(o, "stop", d.stop);
	json_object_object_add(o, "start", d.start);
	json_object_object_add(o, "restart", d.restart);
	json_object_object_add(o, "routesAdded", d.added);
	json_object_object_add(o, "routesRemoved", d.removed);
	json_object_object_add(o, "diagnostics", json_object_new_array());
	*report = render_report(o);
	if (dry_run) {
		free_listener_tls(cfg, tls);
		generation_unref(next);
	} else {
		apply(rt, next, tls);
	}
	return 0;
}
