/*
 * child_exit.c - what a child's exit leads to (SPEC §10).
 *
 * `always` starts it again after any exit, `on-failure` after a
 * non-zero status or a signal, `never` not at all; not being ready in
 * time and not being able to start are failures under every policy.
 * An exit not followed by a start leaves the child stopped (status 0)
 * or failed. A start again waits a backoff: 100 ms, doubling each time
 * up to 30 s, back to 100 ms after a process that ran 60 s. A sixth
 * restart within 60 s is refused: the child is failed, and only
 * child_restart() starts it again.
 *
 * When the leader of a child's group exits, the rest of its group is
 * killed at once, so nothing of the old process outlives it and meets
 * the new one (on the runtime socket, say).
 */
#include "process/child_int.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "log.h"

/* "exited with status 3", "killed by signal 9 (Killed)" */
static void
describe(int status, char *buf, size_t cap)
{
	if (status == -1)
		snprintf(buf, cap, "exited (status lost)");
	else if (WIFEXITED(status))
		snprintf(buf, cap, "exited with status %d",
		         WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, cap, "killed by signal %d (%s)",
		         WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, cap, "ended with wait status %d", status);
}

static void
record_exit(struct child *c, int status)
{
	c->has_exit = 1;
	c->exit_code = status != -1 && WIFEXITED(status) ?
	    WEXITSTATUS(status) : 0;
	c->exit_signal = status != -1 && WIFSIGNALED(status) ?
	    WTERMSIG(status) : 0;
}

/* The delay before the next start, moving the backoff on. */
static uint64_t
backoff_next(struct child *c, uint64_t uptime_ms)
{
	uint64_t delay;

	if (uptime_ms >= CHILD_STABLE_MS)
		c->backoff_step = 0;
	delay = (uint64_t)CHILD_BACKOFF_FIRST_MS << c->backoff_step;
	if (delay >= CHILD_BACKOFF_MAX_MS)
		return CHILD_BACKOFF_MAX_MS;
	c->backoff_step++;
	return delay;
}

/* Restarts within the window before now. */
static unsigned
recent_restarts(const struct child *c, uint64_t now)
{
	unsigned kept = c->restarts < CHILD_RESTARTS_MAX ? c->restarts :
	    CHILD_RESTARTS_MAX;
	unsigned i, n = 0;

	for (i = 0; i < kept; i++)
		if (now - c->restart_at_ms[i] < CHILD_RESTART_WINDOW_MS)
			n++;
	return n;
}

/* Not started again: stopped after a clean exit, else failed. */
static void
stays_down(struct child *c, int failed, const char *what)
{
	if (!failed) {
		log_msg(LOG_INFO, "runtime=%s: %s", c->name, what);
		child_set_state(c, CHILD_STOPPED);
		return;
	}
	log_msg(LOG_ERROR, "runtime=%s: %s; not restarted", c->name,
	        c->cause);
	child_set_state(c, CHILD_FAILED);
}

/*
 * After an exit (what describes it) or a start that failed: starts the
 * child again after its backoff, or leaves it down. Ends with the
 * changed call.
 */
static void
after_exit(struct child *c, int failed, uint64_t uptime_ms,
           const char *what)
{
	uint64_t now = child_now_ms(), delay;
	char last[CHILD_CAUSE_MAX];

	if (failed)
		snprintf(c->cause, sizeof(c->cause), "%s", what);
	if (c->restart == CHILD_RESTART_NEVER ||
	    (c->restart == CHILD_RESTART_ON_FAILURE && !failed)) {
		stays_down(c, failed, what);
		return;
	}
	if (recent_restarts(c, now) >= CHILD_RESTARTS_MAX) {
		snprintf(last, sizeof(last), "%s", what);
		snprintf(c->cause, sizeof(c->cause), "restarted %u times "
		         "within %u s; last: %.*s", CHILD_RESTARTS_MAX,
		         CHILD_RESTART_WINDOW_MS / 1000,
		         (int)sizeof(c->cause) - 48, last);
		stays_down(c, 1, c->cause);
		return;
	}
	delay = backoff_next(c, uptime_ms);
	c->retry_at_ms = now + delay;
	child_timer_ms(c->backoff_timer, delay);
	log_msg(failed ? LOG_WARN : LOG_INFO, "runtime=%s: %s; restarting "
	        "in %llu ms", c->name, what, (unsigned long long)delay);
	child_set_state(c, CHILD_BACKOFF);
}

void
child_reaped(struct proc *p)
{
	struct child *c = p->child;
	char what[CHILD_CAUSE_MAX];
	uint64_t uptime_ms = child_now_ms() - p->started_ms;
	int status = p->status, failed;

	if (p != c->cur) {
		proc_release(p);
		return;
	}
	c->cur = NULL;
	record_exit(c, status);
	if (c->state == CHILD_STOPPING) {
		child_stop_reaped(c);
		return;
	}
	kill(-p->pid, SIGKILL);     /* whatever is left of its group */
	child_ready_end(c);
	failed = p->ready_timed_out || status != 0;
	if (p->ready_timed_out)
		snprintf(what, sizeof(what), "not ready within %u ms",
		         c->ready_timeout_ms);
	else
		describe(status, what, sizeof(what));
	proc_release(p);
	after_exit(c, failed, uptime_ms, what);
}

void
child_spawn_failed(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	char cause[CHILD_CAUSE_MAX];

	(void)fd;
	(void)what;
	if (c->state != CHILD_STARTING || c->cur != NULL)
		return;
	snprintf(cause, sizeof(cause), "%s", c->cause);
	after_exit(c, 1, 0, cause);
}

void
child_backoff_fired(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	if (c->state != CHILD_BACKOFF)
		return;
	c->restart_at_ms[c->restarts % CHILD_RESTARTS_MAX] = child_now_ms();
	c->restarts++;
	child_launch(c);
	child_tell(c, CHILD_BACKOFF);
}
