/*
 * supervisor.c - the children of one event base: SIGCHLD seen on the
 * loop, and each known child's process reaped by its pid.
 *
 * Only pids the supervisor started are waited for (never waitpid(-1)),
 * so whatever else in the process has children keeps them. A SIGCHLD
 * may stand for several exits (signals coalesce), hence every child's
 * processes are tried on each.
 */
#include "process/child_int.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

uint64_t
child_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
child_timer_ms(struct event *ev, uint64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000),
	                     (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(ev, &tv);
}

/* 1 when p exited now (recorded), else 0. */
static int
try_reap(struct proc *p)
{
	int status;
	pid_t r;

	do
		r = waitpid(p->pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	p->reaped = 1;
	p->status = r == p->pid ? status : -1;
	return 1;
}

static void
reap_child(struct child *c)
{
	struct proc *p, *next;

	for (p = LIST_FIRST(&c->procs); p != NULL; p = next) {
		next = LIST_NEXT(p, link);
		if (!p->reaped && try_reap(p))
			child_reaped(p);
	}
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct supervisor *s = arg;
	struct child *c, *next;

	(void)sig;
	(void)what;
	/* Children are freed only from their own events, never from here
	 * (child_int.h), so next stays valid. */
	for (c = TAILQ_FIRST(&s->children); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		reap_child(c);
	}
}

struct supervisor *
supervisor_new(struct event_base *base)
{
	struct supervisor *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->base = base;
	TAILQ_INIT(&s->children);
	s->sigchld = evsignal_new(base, SIGCHLD, on_sigchld, s);
	if (s->sigchld == NULL || evsignal_add(s->sigchld, NULL) != 0) {
		if (s->sigchld != NULL)
			event_free(s->sigchld);
		free(s);
		return NULL;
	}
	return s;
}

size_t
supervisor_alive(const struct supervisor *s)
{
	const struct child *c;
	size_t n = 0;

	TAILQ_FOREACH(c, &s->children, link)
		if (c->state == CHILD_STOPPING || c->cur != NULL)
			n++;
	return n;
}

/* SIGKILL to the group and a blocking wait for its leader. */
static void
kill_and_wait(struct proc *p)
{
	int status;

	if (!p->group_empty)
		kill(-p->pid, SIGKILL);
	while (!p->reaped && waitpid(p->pid, &status, 0) < 0 &&
	       errno == EINTR)
		;
	p->reaped = 1;
}

void
supervisor_free(struct supervisor *s)
{
	struct child *c;
	struct proc *p;

	if (s == NULL)
		return;
	while ((c = TAILQ_FIRST(&s->children)) != NULL) {
		LIST_FOREACH(p, &c->procs, link)
			kill_and_wait(p);
		child_free(c);
	}
	event_free(s->sigchld);
	free(s);
}
