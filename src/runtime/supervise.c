/*
 * supervise.c - each module's runtime process, as its module sees it
 * (SPEC §10).
 *
 * A module with `runtime` starts its services, then its process; it runs
 * (and later waves start) once the process is ready. The process layer
 * (process/child.h) restarts it by policy; here its states become the
 * module's: a crash loop fails the module until a reload or `asterctl
 * restart`, and while the process is down its routes answer 503 with
 * Retry-After. Stopping waits for the requests in flight to it, then
 * the child is stopped, and its directory and sockets go once its whole
 * process group has.
 */
#include "runtime/proc_int.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/server.h"
#include "http/upstream.h"
#include "log.h"
#include "process/child.h"
#include "util/arena.h"

#define DEFAULT_READY_TIMEOUT_MS 5000
#define DEFAULT_STOP_TIMEOUT_MS 5000
#define DEFAULT_SHUTDOWN_TIMEOUT_MS 10000
#define POLL_MS 20

/* --- the list of records -------------------------------------------------- */

static void
procs_link(struct runtime *rt, struct runtime_proc *p)
{
	p->next = rt->procs;
	if (rt->procs != NULL)
		rt->procs->prev = p;
	rt->procs = p;
}

static void
proc_free(struct runtime_proc *p)
{
	struct runtime *rt = p->rt;

	if (p->prev != NULL)
		p->prev->next = p->next;
	else if (rt->procs == p)
		rt->procs = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	if (p->drain != NULL)
		event_free(p->drain);
	proc_teardown(p);
	free(p);
}

/* --- what the child's states mean for its module --------------------------- */

static const char *
cause_of(const struct child_view *v)
{
	return v->cause != NULL ? v->cause : "it exited";
}

static void
proc_down(struct runtime_proc *p, const struct child_view *v)
{
	struct module_run *run = p->run;
	struct runtime *rt = p->rt;
	char why[512];

	if (run->state == MODULE_STARTING) {
		snprintf(why, sizeof(why), "its runtime did not become ready: "
		         "%s", cause_of(v));
		runtime_module_failed(rt, run, why);
		/* A reload's start fails alone; its process goes too. */
		if (run->proc == p)
			runtime_proc_stop(rt, run);
		return;
	}
	if (v->state == CHILD_FAILED && run->state == MODULE_RUNNING) {
		run->state = MODULE_FAILED;
		run->cause = arena_printf(rt->current->cfg->arena, "its runtime "
		                          "failed: %s", cause_of(v));
		log_msg(LOG_ERROR, "module %s failed: %s (asterctl restart %s "
		        "or a reload starts it again)", run->module->id,
		        run->cause, run->module->id);
		return;
	}
	/* Backoff and a clean stop: the process layer has said so. */
}

static void
proc_ready(struct runtime_proc *p)
{
	struct module_run *run = p->run;

	if (run->state == MODULE_STARTING) {
		runtime_module_started(p->rt, run);
	} else if (run->state == MODULE_FAILED) {
		run->state = MODULE_RUNNING;
		run->cause = NULL;
		log_msg(LOG_INFO, "module %s running again", run->module->id);
	}
}

static void
on_child_changed(struct child *c, enum child_state old, void *arg)
{
	struct runtime_proc *p = arg;
	struct child_view v;

	(void)old;
	if (p->run == NULL)
		return;
	child_view(c, &v);
	switch (v.state) {
	case CHILD_READY:
		proc_ready(p);
		break;
	case CHILD_BACKOFF:
	case CHILD_FAILED:
	case CHILD_STOPPED:
		proc_down(p, &v);
		break;
	case CHILD_STARTING:
	case CHILD_STOPPING:
		break;
	}
}

/* --- starting --------------------------------------------------------------- */

static unsigned
ms_or(long long ms, unsigned dflt)
{
	return ms > 0 ? upstream_ms(ms) : dflt;
}

static int
spawn(struct runtime_proc *p, const struct module *m, const char **err)
{
	const struct runtime_config *rc = m->runtime;
	const char **env = proc_environment(p, m,
	                                    p->rt->current->cfg->product->id);
	const char **argv = calloc(rc->command.n + 1, sizeof(*argv));
	struct child_spec spec;
	size_t i;

	if (env == NULL || argv == NULL) {
		free(env);
		free(argv);
		*err = "out of memory";
		return -1;
	}
	for (i = 0; i < rc->command.n; i++)
		argv[i] = rc->command.v[i];
	memset(&spec, 0, sizeof(spec));
	spec.name = m->id;
	spec.argv = argv;
	spec.env = env;
	spec.dir = p->dir;
	spec.ready_socket = p->runtime_socket;
	spec.notify_socket = p->notify_socket;
	spec.restart = child_restart_policy(rc->restart);
	spec.ready_timeout_ms = ms_or(rc->ready_timeout_ms,
	                              DEFAULT_READY_TIMEOUT_MS);
	spec.stop_timeout_ms = ms_or(rc->stop_timeout_ms,
	                             DEFAULT_STOP_TIMEOUT_MS);
	p->child = child_start(p->rt->supervisor, &spec, on_child_changed, p,
	                       err);
	free(env);
	free(argv);
	return p->child != NULL ? 0 : -1;
}

int
runtime_proc_start(struct runtime *rt, struct module_run *run)
{
	struct runtime_proc *p = calloc(1, sizeof(*p));
	const char *err = "out of memory";
	struct child_view v;
	char why[512];

	if (p != NULL) {
		p->rt = rt;
		procs_link(rt, p);
	}
	if (p == NULL || rt->supervisor == NULL ||
	    proc_setup(p, run->module, &err) < 0 ||
	    spawn(p, run->module, &err) < 0) {
		snprintf(why, sizeof(why), "its runtime could not start: %s",
		         err);
		if (p != NULL)
			proc_free(p);
		runtime_module_failed(rt, run, why);
		return -1;
	}
	p->run = run;
	run->proc = p;
	child_view(p->child, &v);
	log_msg(LOG_INFO, "runtime of module %s started (pid %ld) in %s",
	        run->module->id, (long)v.pid, p->dir);
	return 0;
}

/* --- stopping ---------------------------------------------------------------- */

static void
on_gone(void *arg)
{
	struct runtime_proc *p = arg;

	log_msg(LOG_INFO, "runtime of module %s stopped", p->module_id);
	proc_free(p);
}

static void
stop_child(struct runtime_proc *p)
{
	struct child *c = p->child;

	p->child = NULL;
	child_stop(c, on_gone, p);
}

static size_t
in_flight(const struct runtime_proc *p)
{
	struct upstream_target_view v;

	return p->upstream != NULL && upstream_target_at(p->upstream, 0, &v) ?
	    v.in_flight : 0;
}

static void
on_drain_poll(evutil_socket_t fd, short what, void *arg)
{
	struct runtime_proc *p = arg;

	(void)fd;
	(void)what;
	if (in_flight(p) > 0 && runtime_now_us() < p->drain_deadline_us)
		return;
	event_free(p->drain);
	p->drain = NULL;
	stop_child(p);
}

static long long
shutdown_timeout_ms(const struct runtime *rt)
{
	const struct server *s = rt->current->cfg->product->server;

	return s != NULL && s->has_shutdown_timeout ? s->shutdown_timeout_ms :
	       DEFAULT_SHUTDOWN_TIMEOUT_MS;
}

void
runtime_proc_stop(struct runtime *rt, struct module_run *run)
{
	struct runtime_proc *p = run->proc;
	struct timeval tv = {0, POLL_MS * 1000};

	if (p == NULL)
		return;
	run->proc = NULL;
	p->run = NULL;
	if (in_flight(p) == 0 || rt->state == RUNTIME_STOPPING) {
		stop_child(p);
		return;
	}
	/* A reload replaced it: its requests finish first. */
	p->drain_deadline_us = runtime_now_us() +
	                       (uint64_t)shutdown_timeout_ms(rt) * 1000u;
	p->drain = event_new(rt->base, -1, EV_PERSIST, on_drain_poll, p);
	if (p->drain == NULL) {
		stop_child(p);
		return;
	}
	event_add(p->drain, &tv);
}

void
runtime_proc_carry(struct module_run *from, struct module_run *to)
{
	if (from->proc == NULL)
		return;
	to->proc = from->proc;
	to->proc->run = to;
	from->proc = NULL;
}

static void
children_gone(struct runtime *rt)
{
	void (*then)(struct runtime *rt) = rt->after_children;

	if (rt->exit_timer != NULL)
		event_free(rt->exit_timer);
	rt->exit_timer = NULL;
	rt->after_children = NULL;
	then(rt);
}

static void
on_exit_poll(evutil_socket_t fd, short what, void *arg)
{
	struct runtime *rt = arg;

	(void)fd;
	(void)what;
	if (supervisor_alive(rt->supervisor) == 0)
		children_gone(rt);
}

void
runtime_stop_procs_then(struct runtime *rt, struct generation *g,
                        void (*then)(struct runtime *rt))
{
	struct timeval tv = {0, POLL_MS * 1000};
	size_t i, alive;

	for (i = g != NULL ? g->nruns : 0; i-- > 0;)
		if (!g->runs[i].carried)
			runtime_proc_stop(rt, &g->runs[i]);
	rt->after_children = then;
	alive = rt->supervisor != NULL ? supervisor_alive(rt->supervisor) : 0;
	if (alive == 0 || rt->exit_timer != NULL) {
		if (alive == 0)
			children_gone(rt);
		return;
	}
	log_msg(LOG_INFO, "waiting for %zu runtime process%s to stop", alive,
	        alive == 1 ? "" : "es");
	rt->exit_timer = event_new(rt->base, -1, EV_PERSIST, on_exit_poll, rt);
	if (rt->exit_timer == NULL) {
		children_gone(rt);
		return;
	}
	event_add(rt->exit_timer, &tv);
}

void
runtime_procs_release(struct runtime *rt)
{
	if (rt->exit_timer != NULL)
		event_free(rt->exit_timer);
	rt->exit_timer = NULL;
	/* Kills and reaps what is left; the children's records go with
	 * it, so the process records only need their own resources freed. */
	supervisor_free(rt->supervisor);
	rt->supervisor = NULL;
	while (rt->procs != NULL) {
		if (rt->procs->run != NULL)
			rt->procs->run->proc = NULL;
		proc_free(rt->procs);
	}
	if (rt->run_dir != NULL && rt->run_dir_made)
		rmdir(rt->run_dir);
	free(rt->run_dir);
	rt->run_dir = NULL;
}

void
runtime_procs_apply_limits(struct runtime *rt, const struct http_limits *l)
{
	struct runtime_proc *p;

	for (p = rt->procs; p != NULL; p = p->next)
		if (p->gateway.server != NULL)
			http_server_set_limits(p->gateway.server, l);
}

/* --- what requests and operators see ----------------------------------------- */

/* The record serving run's module: its own, or, for a run carried over
 * to a later generation, the current one's. */
static struct runtime_proc *
proc_of(struct runtime *rt, struct module_run *run)
{
	struct module_run *now;

	if (run->proc != NULL || !run->carried || rt->current == NULL)
		return run->proc;
	now = generation_find_run(rt->current, run->module->id);
	return now != NULL ? now->proc : NULL;
}

struct upstream *
runtime_proc_upstream(struct runtime *rt, struct module_run *run,
                      unsigned *retry_after_s)
{
	struct runtime_proc *p = proc_of(rt, run);
	struct child_view v;

	*retry_after_s = 1;
	if (p == NULL || p->child == NULL)
		return NULL;
	if (child_state(p->child) == CHILD_READY)
		return p->upstream;
	child_view(p->child, &v);
	if (v.state == CHILD_BACKOFF && v.retry_in_ms > 1000)
		*retry_after_s = (unsigned)((v.retry_in_ms + 999) / 1000);
	return NULL;
}

int
runtime_proc_view(const struct module_run *run, struct child_view *out)
{
	if (run->module->runtime == NULL)
		return 0;
	if (run->proc != NULL && run->proc->child != NULL) {
		child_view(run->proc->child, out);
		return 1;
	}
	memset(out, 0, sizeof(*out));
	out->state = CHILD_STOPPED;
	out->cause = run->state == MODULE_FAILED ? run->cause : NULL;
	return 1;
}

int
runtime_restart_module(struct runtime *rt, const char *id, const char **err)
{
	struct module_run *run = rt->current != NULL ?
	    generation_find_run(rt->current, id) : NULL;

	if (run == NULL) {
		*err = "no such module";
		return -1;
	}
	if (run->module->runtime == NULL) {
		*err = "the module has no runtime";
		return -1;
	}
	if (run->proc == NULL || run->proc->child == NULL) {
		*err = "the module's runtime is not under supervision (it did "
		       "not start): reload to start it";
		return -1;
	}
	if (child_restart(run->proc->child) < 0) {
		*err = "the runtime is running: only a failed, stopped or "
		       "backing-off runtime is restarted";
		return -1;
	}
	log_msg(LOG_INFO, "runtime of module %s restarting on request", id);
	return 0;
}
