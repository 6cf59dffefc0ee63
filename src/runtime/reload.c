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
 *
 * A listener the reload adds on a host name is looked up first, on the
 * loop (resolve.c), never with a blocking getaddrinfo(3): the reload then
 * finishes when the answers come, and requests are served meanwhile.
 * A name that does not resolve rejects the reload like a failed bind.
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
#include "http/resolve.h"
#include "util/strmap.h"

/* How long a reload waits for the host names of the listeners it adds. */
#define RELOAD_LOOKUP_TIMEOUT_MS 10000

struct diff {
	json_object *stop, *start, *restart;
	json_object *added, *removed;
};

/* A listener's TLS context loaded for a reload: lr is the open listener
 * that keeps the address (NULL for a new one, which runtime_bind()
 * loads itself). */
struct tls_load {
	struct listener_run *lr;
	struct ssl_ctx_st *ctx;
};

/* A valid configuration on its way in: what the reload has loaded,
 * while the host names of added listeners are looked up. */
struct reload_job {
	struct runtime *rt;
	struct generation *next;
	struct diff d;
	struct tls_load tls[RUNTIME_MAX_LISTENERS];
	/* By index in server.listen: the name's index in the batch, or -1
	 * when the listener needs no lookup. */
	int lookup[RUNTIME_MAX_LISTENERS];
	struct resolve_batch *batch;
	runtime_reload_fn done;
	void *arg;
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
 * The address job's lookup found for listener i of cfg, or NULL: in
 * *at NULL when it needs none, -1 with *err when the name did not
 * resolve.
 */
static int
looked_up(struct reload_job *job, size_t i, const struct sockaddr **at,
          socklen_t *len, const char **err)
{
	static char why[512];
	const struct listener *l =
	    job->next->cfg->product->server->listen.v[i];
	const char *cause;

	*at = NULL;
	*len = 0;
	if (job->lookup[i] < 0)
		return 0;
	*at = resolve_address(job->batch, (size_t)job->lookup[i], len,
	                      &cause);
	if (*at != NULL)
		return 0;
	snprintf(why, sizeof(why), "cannot resolve host name \"%s\": %s",
	         l->host, cause);
	*err = why;
	return -1;
}

/*
 * Binds the listeners the new configuration adds, host names at the
 * addresses job looked up. On failure closes what it bound and names
 * the address; the old listeners are untouched.
 */
static int
bind_new_listeners(struct runtime *rt, struct reload_job *job, char **why)
{
	struct config *cfg = job->next->cfg;
	const struct objlist *listen = &cfg->product->server->listen;
	struct listener_run *added[RUNTIME_MAX_LISTENERS];
	size_t i, nadded = 0;

	for (i = 0; i < listen->n; i++) {
		struct listener *l = listen->v[i];
		struct listener_run *lr = NULL;
		const struct sockaddr *at;
		socklen_t atlen;
		const char *err = "too many listeners";

		if (find_listener(rt, l->normal) != NULL)
			continue;
		if (looked_up(job, i, &at, &atlen, &err) < 0 ||
		    (lr = free_slot(rt)) == NULL ||
		    runtime_bind(l, at, atlen, rt->ephemeral_ports, lr,
		                 &err) < 0) {
			if (asprintf(why, "cannot listen on %s: %s", l->address,
			             err) < 0)
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
		runtime_proc_carry(o, n);
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
	if (runtime_upstreams_attach(rt, new, old) < 0)
		log_msg(LOG_ERROR, "generation %u: some upstreams could not "
		        "be started (out of memory): their routes answer 503",
		        new->number);
	rt->current = new;
	generation_unref(old);
	rt->state = RUNTIME_RELOADING;
	rt->starting = new;
	runtime_advance(rt);
}

static void
diff_free(struct diff *d)
{
	json_object_put(d->stop);
	json_object_put(d->start);
	json_object_put(d->restart);
	json_object_put(d->added);
	json_object_put(d->removed);
	memset(d, 0, sizeof(*d));
}

static void
job_free(struct reload_job *job)
{
	resolve_free(job->batch);
	if (job->next != NULL && job->next->cfg->product->server->listen.n <=
	    RUNTIME_MAX_LISTENERS)
		free_listener_tls(job->next->cfg, job->tls);
	if (job->next != NULL)
		generation_unref(job->next);
	diff_free(&job->d);
	free(job);
}

/* The report of a valid configuration (the diff moves into it). */
static char *
valid_report(struct runtime *rt, struct reload_job *job, int dry_run)
{
	json_object *o = new_report(1, dry_run, dry_run ?
	                            rt->current->number :
	                            rt->next_generation + 1, dry_run ?
	                            "the new configuration is valid" :
	                            "reload applied");

	json_object_object_add(o, "stop", job->d.stop);
	json_object_object_add(o, "start", job->d.start);
	json_object_object_add(o, "restart", job->d.restart);
	json_object_object_add(o, "routesAdded", job->d.added);
	json_object_object_add(o, "routesRemoved", job->d.removed);
	json_object_object_add(o, "diagnostics", json_object_new_array());
	memset(&job->d, 0, sizeof(job->d));
	return render_report(o);
}

/* Binds what the reload adds and applies it, or refuses it; frees job. */
static int
finish(struct reload_job *job, char **report)
{
	struct runtime *rt = job->rt;
	char *why = NULL;
	int rc;

	if (bind_new_listeners(rt, job, &why) < 0) {
		rc = refuse(rt, 0, why != NULL ? why : "cannot bind", NULL,
		            report);
		free(why);
		job_free(job);
		return rc;
	}
	*report = valid_report(rt, job, 0);
	apply(rt, job->next, job->tls);
	job->next = NULL;           /* the runtime's now, with the contexts */
	job_free(job);
	return 0;
}

static void
on_looked_up(struct resolve_batch *b, void *arg)
{
	struct reload_job *job = arg;
	runtime_reload_fn done = job->done;
	void *done_arg = job->arg;
	char *report = NULL;
	int rc;

	(void)b;
	job->rt->reload = NULL;
	rc = finish(job, &report);
	if (done != NULL)
		done(done_arg, rc, report);
	else
		free(report);
}

/*
 * Starts looking up the host names of the listeners job adds. Returns 0
 * when nothing is left to wait for, RUNTIME_RELOAD_LATER when
 * on_looked_up() will finish the reload, -1 with *why.
 */
static int
start_lookups(struct reload_job *job, const char **why)
{
	struct runtime *rt = job->rt;
	const struct objlist *listen = &job->next->cfg->product->server->listen;
	const char *names[RUNTIME_MAX_LISTENERS];
	size_t i, n = 0;

	for (i = 0; i < listen->n; i++) {
		struct listener *l = listen->v[i];

		job->lookup[i] = -1;
		if (find_listener(rt, l->normal) != NULL ||
		    !runtime_listener_needs_lookup(l))
			continue;
		job->lookup[i] = (int)n;
		names[n++] = l->host;
	}
	if (n == 0)
		return 0;
	if (rt->resolver == NULL && (rt->resolver = resolver_new(rt->base)) ==
	    NULL) {
		*why = "out of memory";
		return -1;
	}
	job->batch = resolve_start(rt->resolver, names, n,
	                           RELOAD_LOOKUP_TIMEOUT_MS, on_looked_up, job,
	                           why);
	if (job->batch == NULL)
		return -1;
	return resolve_pending(job->batch) ? RUNTIME_RELOAD_LATER : 0;
}

void
runtime_reload_abandon(struct runtime *rt)
{
	struct reload_job *job = rt->reload;
	char *report = NULL;
	int rc;

	if (job == NULL)
		return;
	rt->reload = NULL;
	rc = refuse(rt, 0, "asterd is stopping", NULL, &report);
	if (job->done != NULL)
		job->done(job->arg, rc, report);
	else
		free(report);
	job_free(job);
}

int
runtime_reload(struct runtime *rt, int dry_run, runtime_reload_fn done,
               void *arg, char **report)
{
	struct diag_list dl;
	struct config *cfg;
	struct reload_job *job;
	const char *err;
	char *why = NULL;
	int rc;

	*report = NULL;
	if (rt->state != RUNTIME_RUNNING || rt->reload != NULL)
		return refuse(rt, dry_run, rt->state == RUNTIME_RELOADING ||
		              rt->reload != NULL ?
		              "a reload is already under way" :
		              "asterd is not running", NULL, report);
	if (!dry_run)
		notify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
		            (unsigned long long)runtime_now_us());
	if (diag_list_init(&dl) < 0)
		return refuse(rt, dry_run, "out of memory", NULL, report);
	cfg = product_load(rt->config_dir, rt->reg, &dl, 0);
	if (cfg == NULL || dl.errors > 0 || !cfg->planned) {
		if (!dry_run)
			log_diagnostics(&dl);
		rc = refuse(rt, dry_run, "the new configuration is invalid",
		            &dl, report);
		config_free(cfg);
		diag_list_release(&dl);
		return rc;
	}
	diag_list_release(&dl);
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		config_free(cfg);
		return refuse(rt, dry_run, "out of memory", NULL, report);
	}
	job->rt = rt;
	job->next = generation_new(cfg, 0);
	job->d.stop = json_object_new_array();
	job->d.start = json_object_new_array();
	job->d.restart = json_object_new_array();
	job->d.added = json_object_new_array();
	job->d.removed = json_object_new_array();
	diff_modules(rt->current, job->next, &job->d);
	diff_routes(rt->current->cfg, cfg, &job->d);
	json_object_array_sort(job->d.removed, compare_json_strings);
	json_object_array_sort(job->d.added, compare_json_strings);
	/* Certificates first: one that fails binds nothing. A dry run
	 * loads them all, and binds (and looks up) nothing. */
	if (cfg->product->server->listen.n > RUNTIME_MAX_LISTENERS) {
		why = strdup("too many listeners");
	} else if (load_listener_tls(rt, cfg, dry_run, job->tls, &why) < 0) {
		/* why says which */
	} else if (dry_run) {
		*report = valid_report(rt, job, 1);
		job_free(job);
		return 0;
	} else if ((rc = start_lookups(job, &err)) == 0) {
		return finish(job, report);
	} else if (rc == RUNTIME_RELOAD_LATER) {
		job->done = done;
		job->arg = arg;
		rt->reload = job;
		log_msg(LOG_INFO, "reload: looking up the host names of new "
		        "listeners");
		return RUNTIME_RELOAD_LATER;
	} else if (asprintf(&why, "cannot look up new listeners: %s",
	                    err) < 0) {
		why = NULL;
	}
	rc = refuse(rt, dry_run, why != NULL ? why : "cannot bind", NULL,
	            report);
	free(why);
	job_free(job);
	return rc;
}
