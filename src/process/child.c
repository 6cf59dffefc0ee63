/*
 * child.c - a supervised child's memory and its starts: child_start(),
 * child_restart(), child_view(), and spawning one process of it.
 */
#include "process/child_int.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "process/notify_listen.h"
#include "process/spawn.h"

const char *
child_state_name(enum child_state s)
{
	switch (s) {
	case CHILD_STARTING:
		return "starting";
	case CHILD_READY:
		return "ready";
	case CHILD_BACKOFF:
		return "backoff";
	case CHILD_FAILED:
		return "failed";
	case CHILD_STOPPING:
	case CHILD_STOPPED:
		break;
	}
	return "stopped";
}

enum child_restart
child_restart_policy(const char *name)
{
	if (name != NULL && strcmp(name, "always") == 0)
		return CHILD_RESTART_ALWAYS;
	if (name != NULL && strcmp(name, "never") == 0)
		return CHILD_RESTART_NEVER;
	return CHILD_RESTART_ON_FAILURE;
}

void
child_tell(struct child *c, enum child_state old)
{
	if (c->changed != NULL)
		c->changed(c, old, c->arg);
}

void
child_set_state(struct child *c, enum child_state to)
{
	enum child_state old = c->state;

	c->state = to;
	child_tell(c, old);
}

/* --- memory ------------------------------------------------------------ */

static char *
dup_or_null(const char *s, int *bad)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*bad = 1;
	return d;
}

static char **
strv_dup(const char *const *v, int *bad)
{
	size_t n = 0, i;
	char **d;

	while (v != NULL && v[n] != NULL)
		n++;
	if ((d = calloc(n + 1, sizeof(*d))) == NULL) {
		*bad = 1;
		return NULL;
	}
	for (i = 0; i < n; i++)
		if ((d[i] = strdup(v[i])) == NULL)
			*bad = 1;
	return d;
}

static void
strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
event_drop(struct event **ev)
{
	if (*ev != NULL)
		event_free(*ev);
	*ev = NULL;
}

void
proc_free(struct proc *p)
{
	outpipe_close(&p->out);
	outpipe_close(&p->err);
	LIST_REMOVE(p, link);
	if (p->child->cur == p)
		p->child->cur = NULL;
	free(p);
}

/* Frees p once nothing is left to do with it: reaped and both pipes
 * closed. A stopping child keeps its procs: their groups are what it
 * waits for (child_stop.c). */
void
proc_release(struct proc *p)
{
	if (p->reaped && p->out.fd < 0 && p->err.fd < 0 &&
	    p->child->state != CHILD_STOPPING)
		proc_free(p);
}

static void
pipe_closed(void *arg)
{
	proc_release(arg);
}

void
child_free(struct child *c)
{
	while (!LIST_EMPTY(&c->procs))
		proc_free(LIST_FIRST(&c->procs));
	TAILQ_REMOVE(&c->sup->children, c, link);
	event_drop(&c->notify_ev);
	event_drop(&c->probe_timer);
	event_drop(&c->ready_timer);
	event_drop(&c->backoff_timer);
	event_drop(&c->spawn_failed_ev);
	event_drop(&c->stop_timer);
	event_drop(&c->gone_ev);
	if (c->notify_fd >= 0) {
		close(c->notify_fd);
		unlink(c->notify_socket);
	}
	flood_fini(&c->flood);
	free(c->name);
	strv_free(c->argv);
	strv_free(c->env);
	free(c->dir);
	free(c->ready_socket);
	free(c->notify_socket);
	free(c);
}

/* --- spawning ---------------------------------------------------------- */

/* p for sp's process, its pipes read on the loop; NULL (the pipes
 * closed) when out of memory. */
static struct proc *
proc_new(struct child *c, const struct spawned *sp)
{
	struct event_base *base = c->sup->base;
	struct proc *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		close(sp->out_fd);
		close(sp->err_fd);
		return NULL;
	}
	p->child = c;
	p->pid = sp->pid;
	p->started_ms = child_now_ms();
	p->out.fd = p->err.fd = -1;
	if (outpipe_open(&p->out, base, sp->out_fd, "stdout", &c->flood,
	                 pipe_closed, p) != 0) {
		close(sp->err_fd);
		free(p);
		return NULL;
	}
	if (outpipe_open(&p->err, base, sp->err_fd, "stderr", &c->flood,
	                 pipe_closed, p) != 0) {
		outpipe_close(&p->out);
		free(p);
		return NULL;
	}
	LIST_INSERT_HEAD(&c->procs, p, link);
	return p;
}

/* Spawns c's process, starting: 0, or an errno value. */
static int
spawn_one(struct child *c)
{
	struct spawned sp;
	struct proc *p;
	int rc, status;

	/* The socket file a previous process left: the new one binds the
	 * same path, which most servers refuse while the file exists. */
	if (c->ready_socket != NULL)
		unlink(c->ready_socket);
	rc = spawn_process(c->argv, c->env, c->dir, &sp);
	if (rc != 0)
		return rc;
	if ((p = proc_new(c, &sp)) == NULL) {
		/* Out of memory with a process running: nothing may be left
		 * behind, so it is killed and waited for here (a SIGKILLed
		 * process is gone in an instant); rare enough to block. */
		kill(-sp.pid, SIGKILL);
		while (waitpid(sp.pid, &status, 0) < 0 && errno == EINTR)
			;
		return ENOMEM;
	}
	c->cur = p;
	c->state = CHILD_STARTING;
	child_ready_begin(c);
	return 0;
}

/*
 * Starts c's next process, state starting. When it cannot be spawned,
 * c is starting with no process and the failure is taken up on the loop
 * like an exit (child_spawn_failed()): -1 then, else 0. Never calls the
 * changed function.
 */
int
child_launch(struct child *c)
{
	int rc = spawn_one(c);

	if (rc == 0)
		return 0;
	snprintf(c->cause, sizeof(c->cause), "cannot start %s: %s",
	         c->argv[0], strerror(rc));
	c->state = CHILD_STARTING;
	event_active(c->spawn_failed_ev, EV_TIMEOUT, 0);
	return -1;
}

static struct child *
child_new(struct supervisor *s, const struct child_spec *spec)
{
	struct child *c = calloc(1, sizeof(*c));
	int bad = 0;

	if (c == NULL)
		return NULL;
	c->sup = s;
	c->notify_fd = -1;
	LIST_INIT(&c->procs);
	TAILQ_INSERT_TAIL(&s->children, c, link);
	c->name = dup_or_null(spec->name != NULL ? spec->name : "-", &bad);
	c->argv = strv_dup(spec->argv, &bad);
	c->env = strv_dup(spec->env, &bad);
	c->dir = dup_or_null(spec->dir != NULL ? spec->dir : "/", &bad);
	c->ready_socket = dup_or_null(spec->ready_socket, &bad);
	c->notify_socket = dup_or_null(spec->notify_socket, &bad);
	c->restart = spec->restart;
	c->ready_timeout_ms = spec->ready_timeout_ms;
	c->stop_timeout_ms = spec->stop_timeout_ms;
	c->backoff_timer = evtimer_new(s->base, child_backoff_fired, c);
	c->spawn_failed_ev = event_new(s->base, -1, 0, child_spawn_failed, c);
	if (bad || c->backoff_timer == NULL || c->spawn_failed_ev == NULL ||
	    child_stop_init(c) != 0 ||
	    flood_init(&c->flood, s->base, c->name) != 0) {
		child_free(c);
		return NULL;
	}
	return c;
}

struct child *
child_start(struct supervisor *s, const struct child_spec *spec,
            child_changed_fn changed, void *arg, const char **err)
{
	static char why[CHILD_CAUSE_MAX + 64];
	struct child *c;
	int rc;

	if (spec->argv == NULL || spec->argv[0] == NULL) {
		*err = "no command to run";
		return NULL;
	}
	if ((c = child_new(s, spec)) == NULL) {
		*err = strerror(ENOMEM);
		return NULL;
	}
	if (child_ready_init(c, err) != 0) {
		child_free(c);
		return NULL;
	}
	if ((rc = spawn_one(c)) != 0) {
		snprintf(why, sizeof(why), "cannot start %s: %s",
		         spec->argv[0], strerror(rc));
		*err = why;
		child_free(c);
		return NULL;
	}
	c->changed = changed;
	c->arg = arg;
	return c;
}

int
child_restart(struct child *c)
{
	if (c->state != CHILD_FAILED && c->state != CHILD_STOPPED &&
	    c->state != CHILD_BACKOFF)
		return -1;
	event_del(c->backoff_timer);
	c->restarts = 0;
	memset(c->restart_at_ms, 0, sizeof(c->restart_at_ms));
	c->backoff_step = 0;
	c->cause[0] = '\0';
	child_launch(c);
	return 0;
}

enum child_state
child_state(const struct child *c)
{
	return c->state;
}

void
child_view(const struct child *c, struct child_view *out)
{
	uint64_t now = child_now_ms();

	memset(out, 0, sizeof(*out));
	out->state = c->state;
	if (c->cur != NULL) {
		out->pid = c->cur->pid;
		out->uptime_ms = now - c->cur->started_ms;
	}
	out->restarts = c->restarts;
	out->has_exit = c->has_exit;
	out->exit_code = c->exit_code;
	out->exit_signal = c->exit_signal;
	if (c->state == CHILD_BACKOFF)
		out->retry_in_ms = c->retry_at_ms > now ? c->retry_at_ms - now :
		    0;
	out->lines_dropped = c->flood.dropped;
	out->cause = c->cause[0] != '\0' ? c->cause : NULL;
}
