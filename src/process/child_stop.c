/*
 * child_stop.c - stopping a child (SPEC §10): SIGTERM to its process
 * group, SIGKILL to the group stop_timeout_ms later, and gone once no
 * process of the group is left.
 *
 * The leader's exit is seen through SIGCHLD; the rest of the group,
 * which asterd cannot wait for (grandchildren belong to init once the
 * leader is gone), is polled with kill(-pgid, 0) every CHILD_POLL_MS
 * until it says ESRCH. A killed process lingers as a zombie until init
 * reaps it, which some container inits do only now and then: after the
 * SIGKILL, the group is taken as gone at the latest CHILD_KILL_GRACE_MS
 * later (a SIGKILLed process runs no more code; at worst one stuck in
 * an uninterruptible sleep ends when it wakes).
 *
 * gone() always runs from the loop, never inside child_stop(), and
 * after the child is freed.
 */
#include "process/child_int.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>

#include "log.h"

#define CHILD_KILL_GRACE_MS 2000

static void
kill_groups(struct child *c, int sig)
{
	struct proc *p;

	LIST_FOREACH(p, &c->procs, link)
		if (!p->group_empty)
			kill(-p->pid, sig);
}

/* 1 when every process of c's groups is gone (leaders reaped, groups
 * empty), 0 while one is left, -1 while a leader is not reaped yet. */
static int
groups_gone(struct child *c)
{
	struct proc *p;
	int gone = 1;

	LIST_FOREACH(p, &c->procs, link) {
		if (!p->reaped)
			return -1;
		if (p->group_empty)
			continue;
		if (kill(-p->pid, 0) < 0 && errno == ESRCH)
			p->group_empty = 1;
		else
			gone = 0;
	}
	return gone;
}

static void
finish(struct child *c)
{
	child_gone_fn gone = c->gone;
	void *arg = c->gone_arg;

	child_free(c);
	if (gone != NULL)
		gone(arg);
}

static void
on_gone(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	finish(arg);
}

/* The next look at c: at its deadline (the SIGKILL, then the end of
 * the grace), and every CHILD_POLL_MS once its leaders are reaped;
 * while one is not, SIGCHLD tells. */
static void
schedule(struct child *c, int leaders_reaped, uint64_t now)
{
	uint64_t next = c->stop_deadline_ms > now ? c->stop_deadline_ms - now :
	    0;

	if (next == 0 && !leaders_reaped)
		return;
	if (leaders_reaped && next > CHILD_POLL_MS)
		next = CHILD_POLL_MS;
	child_timer_ms(c->stop_timer, next);
}

static void
on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	uint64_t now = child_now_ms();
	int gone;

	(void)fd;
	(void)what;
	if (!c->killed && now >= c->stop_deadline_ms) {
		kill_groups(c, SIGKILL);
		c->killed = 1;
		c->stop_deadline_ms = now + CHILD_KILL_GRACE_MS;
		log_msg(LOG_WARN, "runtime=%s: still running %u ms after "
		        "SIGTERM: killed", c->name, c->stop_timeout_ms);
	}
	gone = groups_gone(c);
	if (gone == 1 || (gone == 0 && c->killed &&
	    now >= c->stop_deadline_ms)) {
		finish(c);
		return;
	}
	schedule(c, gone == 0, now);
}

void
child_stop_reaped(struct child *c)
{
	/* not finished here: the SIGCHLD handler is walking c's procs */
	child_timer_ms(c->stop_timer, 0);
}

int
child_stop_init(struct child *c)
{
	c->stop_timer = evtimer_new(c->sup->base, on_stop_timer, c);
	c->gone_ev = event_new(c->sup->base, -1, 0, on_gone, c);
	return c->stop_timer != NULL && c->gone_ev != NULL ? 0 : -1;
}

void
child_stop(struct child *c, child_gone_fn gone, void *arg)
{
	c->changed = NULL;
	c->gone = gone;
	c->gone_arg = arg;
	child_ready_end(c);
	event_del(c->backoff_timer);
	event_del(c->spawn_failed_ev);
	if (c->cur == NULL) {
		c->state = CHILD_STOPPED;
		event_active(c->gone_ev, EV_TIMEOUT, 0);
		return;
	}
	c->state = CHILD_STOPPING;
	kill(-c->cur->pid, SIGTERM);
	c->stop_deadline_ms = child_now_ms() + c->stop_timeout_ms;
	child_timer_ms(c->stop_timer, c->stop_timeout_ms);
}
