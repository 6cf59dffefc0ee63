/*
 * lifecycle.c - start, run and stop a product (SPEC §6).
 *
 * Modules start wave by wave: a module's services start when every module
 * of the earlier waves runs. A provider may start asynchronously; it then
 * reports through host->started() within START_TIMEOUT_MS. One failure
 * during start-up stops what started, in reverse order, and asterd exits
 * 69 naming the module and the cause.
 */
#include "runtime/runtime.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aster/provider.h"
#include "http/server.h"
#include "http/tls.h"
#include "log.h"
#include "process/child.h"
#include "provider/host.h"
#include "runtime/notify.h"
#include "http/resolve.h"
#include "util/arena.h"

#define START_TIMEOUT_MS 30000
#define DRAIN_POLL_MS 20

#define DEFAULT_MAX_BODY (1u << 20)
#define DEFAULT_MAX_HEADER (16u * 1024)
#define DEFAULT_REQUEST_TIMEOUT_MS 30000
#define DEFAULT_MAX_CONNECTIONS 10000
#define DEFAULT_IDLE_TIMEOUT_MS 60000
#define DEFAULT_SHUTDOWN_TIMEOUT_MS 10000

/*
 * The handle a provider gets for a service (svc first: the provider sees
 * only that). It lives as long as the service, from before start until
 * stop has returned, so host->event_base() and host->store() work from
 * any callback. While an asynchronous start is pending, timeout runs.
 */
struct service_handle {
	struct aster_service svc;
	struct runtime *rt;
	struct module_run *run;     /* while starting: the run it counts in */
	struct service_run *srun;   /* moves with the run when carried over */
	struct event *timeout;      /* an asynchronous start pending */
};

uint64_t
runtime_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

double
runtime_uptime(const struct runtime *rt)
{
	return (double)(runtime_now_us() - rt->started_us) / 1e6;
}

int
runtime_ready(const struct runtime *rt)
{
	struct generation *g = rt->current;
	size_t i;

	if (g == NULL || (rt->state != RUNTIME_RUNNING &&
	                  rt->state != RUNTIME_RELOADING))
		return 0;
	for (i = 0; i < g->nruns; i++)
		if (module_run_live(&g->runs[i])->state != MODULE_RUNNING ||
		    !runtime_run_healthy(&g->runs[i]))
			return 0;
	return 1;
}

/* --- stopping ---------------------------------------------------------- */

static void
stop_run(struct runtime *rt, struct module_run *run)
{
	size_t i;

	if (run->carried || (run->state != MODULE_RUNNING &&
	    run->state != MODULE_STARTING && run->state != MODULE_FAILED))
		return;
	run->state = MODULE_STOPPING;
	/* The runtime first: it may still use the module's services. */
	runtime_proc_stop(rt, run);
	for (i = run->nservices; i-- > 0;) {
		struct service_run *s = &run->services[i];
		const struct aster_provider *p = s->service->impl;

		/* A start still pending: its late answer is void. */
		if (s->handle != NULL && s->handle->timeout != NULL) {
			event_free(s->handle->timeout);
			s->handle->timeout = NULL;
		}
		if (s->started && p != NULL && p->stop != NULL)
			p->stop(s->state);
		s->started = 0;
		s->store.ops = NULL;
		free(s->handle);
		s->handle = NULL;
	}
	free(run->services);
	run->services = NULL;
	run->nservices = 0;
	run->state = MODULE_STOPPED;
	log_msg(LOG_INFO, "module %s stopped", run->module->id);
}

void
runtime_stop_runs(struct runtime *rt, struct generation *g,
                  int (*selected)(const struct module_run *run, void *arg),
                  void *arg)
{
	size_t i;

	for (i = g->nruns; i-- > 0;)
		if (selected == NULL || selected(&g->runs[i], arg))
			stop_run(rt, &g->runs[i]);
}

/* --- starting ---------------------------------------------------------- */

static void start_failed(struct runtime *rt, struct module_run *run);

static void
module_failed(struct runtime *rt, struct module_run *run, const char *cause)
{
	if (run->state == MODULE_FAILED)
		return;
	run->state = MODULE_FAILED;
	run->cause = arena_strdup(rt->starting->cfg->arena,
	                          cause != NULL ? cause : "unknown cause");
	log_msg(LOG_ERROR, "module %s failed to start: %s", run->module->id,
	        run->cause);
	start_failed(rt, run);
}

static void
module_started(struct runtime *rt, struct module_run *run)
{
	run->state = MODULE_RUNNING;
	log_msg(LOG_INFO, "module %s started (wave %d)", run->module->id,
	        run->module->wave);
	(void)rt;
}

/* Its services run: the module runs too, or once its runtime process
 * is ready (SPEC §10). */
static void
services_started(struct runtime *rt, struct module_run *run)
{
	if (run->module->runtime != NULL)
		runtime_proc_start(rt, run);
	else
		module_started(rt, run);
}

void
runtime_module_started(struct runtime *rt, struct module_run *run)
{
	module_started(rt, run);
	runtime_advance(rt);
}

void
runtime_module_failed(struct runtime *rt, struct module_run *run,
                      const char *cause)
{
	/* No start under way any more (asterd is stopping): only noted. */
	if (rt->starting == NULL) {
		run->state = MODULE_FAILED;
		log_msg(LOG_WARN, "module %s: %s", run->module->id, cause);
		return;
	}
	module_failed(rt, run, cause);
}

static void
on_start_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct service_handle *h = arg;

	(void)fd;
	(void)what;
	event_free(h->timeout);
	h->timeout = NULL;
	/* Stops the run, which frees h. */
	module_failed(h->rt, h->run, "a service did not start within 30 s");
}

/* host->started(): the end of an asynchronous start. Void when none is
 * pending (a second call, or one after the timeout). */
static void
service_started(struct aster_service *svc, int ok, const char *cause)
{
	struct service_handle *h = (struct service_handle *)svc;
	struct runtime *rt = h->rt;
	struct module_run *run = h->run;

	if (h->timeout == NULL)
		return;
	event_free(h->timeout);
	h->timeout = NULL;
	if (!ok) {
		module_failed(rt, run, cause);
		return;
	}
	run->pending--;
	if (run->state == MODULE_STARTING && run->pending == 0) {
		services_started(rt, run);
		if (run->state == MODULE_RUNNING)
			runtime_advance(rt);
	}
}

static struct event_base *
service_base(struct aster_service *svc)
{
	return ((struct service_handle *)svc)->rt->base;
}

/* The store of the generation being started while there is one (a
 * reload starts the service in the new one), else of the current. */
static const struct aster_store *
service_store(struct aster_service *svc)
{
	struct service_handle *h = (struct service_handle *)svc;
	struct generation *g = h->rt->starting != NULL ? h->rt->starting :
	                       h->rt->current;

	return g != NULL ? runtime_store_of(g, h->srun->service->module) :
	       NULL;
}

static const struct service_calls service_calls = {
	service_started, service_base, service_store,
};

static int
start_service(struct runtime *rt, struct module_run *run,
              struct service_run *s)
{
	const struct aster_provider *p = s->service->impl;
	const char *cause = NULL;
	struct timeval tv = {START_TIMEOUT_MS / 1000, 0};
	int rc;

	if (p == NULL || p->start == NULL) {
		s->started = 1;
		return 0;
	}
	s->handle = calloc(1, sizeof(*s->handle));
	if (s->handle == NULL) {
		module_failed(rt, run, "out of memory");
		return -1;
	}
	s->handle->svc.calls = &service_calls;
	s->handle->rt = rt;
	s->handle->run = run;
	s->handle->srun = s;
	rc = p->start(provider_host(), &s->handle->svc, s->service->config,
	              &s->state, &cause);
	if (p->store != NULL) {
		s->store.ops = p->store;
		s->store.self = s->state;
	}
	if (rc == ASTER_PENDING) {
		s->handle->timeout = evtimer_new(rt->base, on_start_timeout,
		                                 s->handle);
		evtimer_add(s->handle->timeout, &tv);
		run->pending++;
		s->started = 1;
		return 0;
	}
	if (rc != ASTER_STARTED) {
		module_failed(rt, run, arena_printf(rt->starting->cfg->arena,
		              "service %s: %s", s->service->id,
		              cause != NULL ? cause : "start failed"));
		return -1;
	}
	s->started = 1;
	return 0;
}

static void
start_module(struct runtime *rt, struct module_run *run)
{
	struct module *m = run->module;
	size_t i;

	run->state = MODULE_STARTING;
	run->nservices = m->services.n;
	run->services = calloc(m->services.n + 1, sizeof(*run->services));
	log_msg(LOG_DEBUG, "module %s starting", m->id);
	for (i = 0; i < m->services.n; i++) {
		run->services[i].service = m->services.v[i];
		if (start_service(rt, run, &run->services[i]) < 0)
			return;
	}
	if (run->pending == 0)
		services_started(rt, run);
}

static void all_started(struct runtime *rt);

/* --- migrations --------------------------------------------------------- */

static void
migrations_done(struct runtime *rt, struct generation *g, int status,
                struct module_run *run, const char *cause)
{
	if (status == 0) {
		g->migrations = MIGRATIONS_DONE;
		runtime_advance(rt);
		return;
	}
	if (status == 78 && rt->state == RUNTIME_STARTING)
		rt->exit_code = 78;
	module_failed(rt, run, cause);
}

/*
 * Decides, once per generation, whether migrations are to be applied, and
 * starts them as soon as the store runs. Modules with migrations are held
 * back until then (start_allowed). Returns -1 when that ended the start.
 */
static int
advance_migrations(struct runtime *rt, struct generation *g)
{
	struct module_run *store = g->store_run;
	size_t i;

	if (g->migrations == MIGRATIONS_UNKNOWN) {
		g->migrations = MIGRATIONS_DONE;
		for (i = 0; i < g->nruns; i++) {
			if (!runtime_has_migrations(g->runs[i].module))
				continue;
			if (store == NULL) {
				module_failed(rt, &g->runs[i], "it declares "
				    "database migrations, but no module of "
				    "the product provides state-store");
				return -1;
			}
			if (g->runs[i].module->wave < store->module->wave) {
				module_failed(rt, &g->runs[i], arena_printf(
				    g->cfg->arena, "it declares database "
				    "migrations but would start before the "
				    "state store of module '%s': add `needs: "
				    "[state-store]`", store->module->id));
				return -1;
			}
			g->migrations = MIGRATIONS_WAITING;
		}
	}
	if (g->migrations != MIGRATIONS_WAITING ||
	    module_run_live(store)->state != MODULE_RUNNING)
		return 0;
	g->migrations = MIGRATIONS_RUNNING;
	if (runtime_migrate(rt, g, module_run_live(store),
	                    migrations_done) < 0) {
		module_failed(rt, store, "the state store cannot run the "
		              "migrations");
		return -1;
	}
	return 0;
}

/* The store's own module starts at once; other modules with migrations
 * wait for them to be applied. */
static int
start_allowed(struct generation *g, const struct module_run *run)
{
	const struct module_run *store;

	if (run->state != MODULE_PENDING)
		return 0;
	if (g->migrations == MIGRATIONS_DONE ||
	    !runtime_has_migrations(run->module))
		return 1;
	store = g->store_run;
	return store != NULL && store->module == run->module;
}

/*
 * Starts every pending module whose earlier waves all run; when every
 * module runs, the start (or reload) is complete. Safe to call again from
 * each completion.
 */
void
runtime_advance(struct runtime *rt)
{
	struct generation *g = rt->starting;
	struct config *cfg;
	size_t w, i, k = 0;

	if (g == NULL || advance_migrations(rt, g) < 0)
		return;
	cfg = g->cfg;
	for (w = 0; w < cfg->nwaves; w++) {
		int wave_running = 1;

		for (i = 0; i < cfg->wave_sizes[w]; i++) {
			struct module_run *run = module_run_live(&g->runs[k + i]);

			if (start_allowed(g, run)) {
				start_module(rt, run);
				if (rt->starting == g &&
				    advance_migrations(rt, g) < 0)
					return;
			}
			if (rt->starting != g)
				return;         /* a failure ended the start */
			if (run->state != MODULE_RUNNING)
				wave_running = 0;
		}
		k += cfg->wave_sizes[w];
		if (!wave_running)
			return;
	}
	all_started(rt);
}

/* --- serving ----------------------------------------------------------- */

void
runtime_limits_of(const struct config *cfg, struct http_limits *l)
{
	const struct server *s = cfg->product->server;
	const struct limits *c = s != NULL ? s->limits : NULL;
	const node_t *n = c != NULL ? c->node : NULL;

	l->max_body_bytes = node_get(n, "max_body_bytes") ?
	    (size_t)c->max_body_bytes : DEFAULT_MAX_BODY;
	l->max_header_bytes = node_get(n, "max_header_bytes") ?
	    (size_t)c->max_header_bytes : DEFAULT_MAX_HEADER;
	l->request_timeout_ms = node_get(n, "request_timeout_ms") ?
	    (unsigned)c->request_timeout_ms : DEFAULT_REQUEST_TIMEOUT_MS;
	l->max_connections = node_get(n, "max_connections") ?
	    (size_t)c->max_connections : DEFAULT_MAX_CONNECTIONS;
	l->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
}

void
runtime_apply_limits(struct runtime *rt, const struct config *cfg)
{
	struct http_limits l;
	size_t i;

	runtime_limits_of(cfg, &l);
	for (i = 0; i < rt->nlisteners; i++)
		if (rt->listeners[i].server != NULL)
			http_server_set_limits(rt->listeners[i].server, &l);
	runtime_procs_apply_limits(rt, &l);
}

static const char *
scopes_text(unsigned scopes, char *buf, size_t len)
{
	static const char *const names[] = {
		"public", "user", "admin", "internal"};
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < 4; i++)
		if (scopes & (1u << i))
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
			                      n ? "," : "", names[i]);
	return buf;
}

int
runtime_serve_listener(struct runtime *rt, struct listener_run *lr,
                       const struct config *cfg)
{
	struct http_limits l;
	char scopes[64];

	runtime_limits_of(cfg, &l);
	lr->server = http_server_new(rt->base, lr->fd, &l, runtime_on_request,
	                             runtime_on_http_error, lr);
	if (lr->server == NULL)
		return -1;
	/* Before the loop runs again: no connection is accepted plain. */
	http_server_set_tls(lr->server, lr->tls);
	http_server_set_head_hook(lr->server, runtime_on_head);
	log_msg(LOG_INFO, "listening on %s (%s)%s", lr->bound,
	        scopes_text(lr->scopes, scopes, sizeof(scopes)),
	        lr->tls != NULL ? " with TLS" : "");
	if (rt->ephemeral_ports) {
		printf("listening %s %s\n", lr->bound,
		       scopes_text(lr->scopes, scopes, sizeof(scopes)));
		fflush(stdout);
	}
	return 0;
}

/* Binds every listener of cfg; on failure names the address. Host names
 * are looked up with a blocking getaddrinfo(3), which is fine here: the
 * loop does not run yet (a reload looks its names up on the loop). */
static int
bind_all(struct runtime *rt, const struct config *cfg)
{
	const struct objlist *listen = &cfg->product->server->listen;
	size_t i;

	rt->listeners = calloc(RUNTIME_MAX_LISTENERS, sizeof(*rt->listeners));
	if (listen->n > RUNTIME_MAX_LISTENERS) {
		fprintf(stderr, "asterd: at most %d listeners\n",
		        RUNTIME_MAX_LISTENERS);
		return -1;
	}
	for (i = 0; i < listen->n; i++) {
		struct listener *l = listen->v[i];
		struct listener_run *lr = &rt->listeners[rt->nlisteners];
		const char *err;

		lr->fd = -1;
		lr->rt = rt;
		if (runtime_bind(l, NULL, 0, rt->ephemeral_ports, lr,
		                 &err) < 0) {
			fprintf(stderr, "asterd: cannot listen on %s: %s\n",
			        l->address, err);
			return -1;
		}
		lr->decl = l;
		lr->normal = strdup(l->normal);
		lr->scopes = l->scopes;
		rt->nlisteners++;
	}
	return 0;
}

void
runtime_close_listener(struct listener_run *lr)
{
	lr->decl = NULL;
	if (lr->server != NULL)
		http_server_free(lr->server);
	else if (lr->fd >= 0)
		close(lr->fd);
	lr->server = NULL;
	lr->fd = -1;
	tls_context_free(lr->tls);
	lr->tls = NULL;
	free(lr->normal);
	free(lr->bound);
	lr->normal = lr->bound = NULL;
}

static void
close_all(struct runtime *rt)
{
	size_t i;

	for (i = 0; i < rt->nlisteners; i++)
		runtime_close_listener(&rt->listeners[i]);
	free(rt->listeners);
	rt->listeners = NULL;
	rt->nlisteners = 0;
}

/* --- the end of a start, good or bad ------------------------------------ */

static void
all_started(struct runtime *rt)
{
	int was_reload = rt->state == RUNTIME_RELOADING;

	rt->starting = NULL;
	rt->state = RUNTIME_RUNNING;
	if (was_reload) {
		runtime_reload_finished(rt, NULL);
		return;
	}
	log_msg(LOG_INFO, "product %s %s ready: %zu module%s, %zu route%s",
	        rt->current->cfg->product->id,
	        rt->current->cfg->product->version,
	        rt->current->cfg->nmembers,
	        rt->current->cfg->nmembers == 1 ? "" : "s",
	        rt->current->cfg->nroutes,
	        rt->current->cfg->nroutes == 1 ? "" : "s");
	notify_send("READY=1\nSTATUS=serving %zu modules, %zu routes",
	            rt->current->cfg->nmembers, rt->current->cfg->nroutes);
	if (rt->ephemeral_ports) {
		printf("ready\n");
		fflush(stdout);
	}
}

/* The last step of a stop: every runtime process is gone. */
static void
stop_modules_and_exit(struct runtime *rt)
{
	runtime_stop_runs(rt, rt->current, NULL, NULL);
	if (rt->state == RUNTIME_STOPPING)
		log_msg(LOG_INFO, "stopped");
	event_base_loopbreak(rt->base);
}

static void
start_failed(struct runtime *rt, struct module_run *run)
{
	char *why;

	if (rt->state == RUNTIME_RELOADING) {
		/* The old modules keep serving; the failed one answers 503
		 * and /ready says so. */
		why = arena_printf(rt->starting->cfg->arena, "module %s failed "
		                   "to start: %s", run->module->id, run->cause);
		rt->starting = NULL;
		rt->state = RUNTIME_RUNNING;
		runtime_reload_finished(rt, why);
		return;
	}
	fprintf(stderr, "asterd: module %s failed to start: %s\n",
	        run->module->id, run->cause);
	rt->starting = NULL;
	rt->state = RUNTIME_FAILED;
	if (rt->exit_code == 0)
		rt->exit_code = 69;
	runtime_stop_procs_then(rt, rt->current, stop_modules_and_exit);
}

/* --- shutdown ---------------------------------------------------------- */

static size_t
in_flight(const struct runtime *rt)
{
	size_t i, n = 0;

	for (i = 0; i < rt->nlisteners; i++)
		if (rt->listeners[i].server != NULL)
			n += http_server_in_flight(rt->listeners[i].server);
	return n;
}

static void
finish_shutdown(struct runtime *rt)
{
	size_t left = in_flight(rt);

	if (left > 0)
		log_msg(LOG_WARN, "shutdown timeout: %zu requests cut short",
		        left);
	if (rt->drain_timer != NULL) {
		event_free(rt->drain_timer);
		rt->drain_timer = NULL;
	}
	close_all(rt);
	runtime_stop_procs_then(rt, rt->current, stop_modules_and_exit);
}

static void
on_drain_poll(evutil_socket_t fd, short what, void *arg)
{
	struct runtime *rt = arg;

	(void)fd;
	(void)what;
	if (in_flight(rt) == 0 || runtime_now_us() >= rt->drain_deadline_us)
		finish_shutdown(rt);
}

/* Once, whichever comes first: stopping begins, or the loop ends. */
static void
close_companion(struct runtime *rt)
{
	if (rt->companion != NULL && rt->companion_state != NULL)
		rt->companion->close(rt->companion_state);
	rt->companion_state = NULL;
}

void
runtime_shutdown(struct runtime *rt)
{
	const struct server *s = rt->current->cfg->product->server;
	long long ms = s != NULL && s->has_shutdown_timeout ?
	               s->shutdown_timeout_ms : DEFAULT_SHUTDOWN_TIMEOUT_MS;
	struct timeval tv = {0, DRAIN_POLL_MS * 1000};
	size_t i;

	if (rt->state == RUNTIME_STOPPING)
		return;
	rt->state = RUNTIME_STOPPING;
	rt->starting = NULL;
	notify_send("STOPPING=1");
	log_msg(LOG_INFO, "stopping: draining %zu requests (up to %lld ms)",
	        in_flight(rt), ms);
	runtime_reload_abandon(rt);
	close_companion(rt);
	for (i = 0; i < rt->nlisteners; i++)
		if (rt->listeners[i].server != NULL)
			http_server_drain(rt->listeners[i].server);
	rt->drain_deadline_us = runtime_now_us() + (uint64_t)ms * 1000u;
	rt->drain_timer = event_new(rt->base, -1, EV_PERSIST, on_drain_poll,
	                            rt);
	event_add(rt->drain_timer, &tv);
	on_drain_poll(-1, 0, rt);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct runtime *rt = arg;
	char *report = NULL;

	(void)what;
	if (sig == SIGHUP) {
		/* The outcome is logged and sent to systemd either way. */
		if (runtime_reload(rt, 0, NULL, NULL, &report) !=
		    RUNTIME_RELOAD_LATER)
			free(report);
		return;
	}
	runtime_shutdown(rt);
}

static void
watch_signals(struct runtime *rt)
{
	static const int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 3; i++) {
		rt->signals[i] = evsignal_new(rt->base, sigs[i], on_signal, rt);
		event_add(rt->signals[i], NULL);
	}
}

static void
unwatch_signals(struct runtime *rt)
{
	size_t i;

	for (i = 0; i < 3; i++)
		if (rt->signals[i] != NULL)
			event_free(rt->signals[i]);
}


void
runtime_configure_log(const struct config *cfg)
{
	const struct log_config *lc = cfg->product->log;

	log_configure(lc ? lc->format : NULL, lc ? lc->level : NULL,
	              lc == NULL || !lc->has_access || lc->access);
}

int
runtime_run(struct runtime *rt, struct config *cfg)
{
	size_t i;

	rt->started_at = time(NULL);
	rt->started_us = runtime_now_us();
	rt->state = RUNTIME_STARTING;
	runtime_configure_log(cfg);
	if (bind_all(rt, cfg) < 0) {
		close_all(rt);
		config_free(cfg);
		return 69;
	}
	rt->current = generation_new(cfg, ++rt->next_generation);
	if (rt->current == NULL ||
	    runtime_upstreams_attach(rt, rt->current, NULL) < 0)
		rt->exit_code = 70;
	rt->ratelimiter = ratelimiter_new(RATELIMIT_DEFAULT_CAP);
	rt->failures = ratelimiter_new(RATELIMIT_DEFAULT_CAP);
	rt->supervisor = supervisor_new(rt->base);
	log_attach();
	watch_signals(rt);
	for (i = 0; i < rt->nlisteners; i++)
		if (runtime_serve_listener(rt, &rt->listeners[i], cfg) < 0) {
			fprintf(stderr, "asterd: cannot serve %s\n",
			        rt->listeners[i].bound);
			rt->exit_code = 69;
		}
	if (rt->companion != NULL)
		rt->companion_state = rt->companion->open(rt, cfg);
	notify_watchdog_start(rt->base);
	if (rt->exit_code == 0) {
		notify_send("STATUS=starting %zu modules", cfg->nmembers);
		rt->starting = rt->current;
		runtime_advance(rt);
		/* A start that failed at once may still wait for runtime
		 * processes to stop. */
		if (rt->exit_code == 0 || rt->after_children != NULL)
			event_base_dispatch(rt->base);
	}
	notify_watchdog_stop();
	close_companion(rt);
	unwatch_signals(rt);
	runtime_reload_abandon(rt);
	close_all(rt);
	runtime_procs_release(rt);
	log_detach();
	generation_unref(rt->current);
	rt->current = NULL;
	free(rt->last_reload.message);
	free(rt->last_reload.diagnostics_json);
	ratelimiter_free(rt->ratelimiter);
	ratelimiter_free(rt->failures);
	/* After the loop: no evdns callback can run any more. */
	resolver_free(rt->resolver);
	rt->resolver = NULL;
	return rt->exit_code;
}
