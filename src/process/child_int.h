/*
 * child_int.h - the structs shared by src/process/'s files, private to
 * them: supervisor.c (SIGCHLD and reaping), child.c (start, restart,
 * view, memory), child_exit.c (what an exit leads to), child_ready.c
 * (readiness), child_stop.c (stopping) and child_log.c (output).
 *
 * A child is what the caller holds; a proc is one process of it. A
 * child has at most one current proc, but an earlier one stays in its
 * list after it exited until its pipes are drained, so the last lines
 * of a crash reach the log even when the next process already runs.
 *
 * Nothing is freed synchronously inside a changed callback's reach: a
 * child is freed only from its own events (child_stop.c), a proc only
 * once it is reaped and both its pipes are closed, and each call to
 * the changed function is the last thing its caller does with the
 * child. So the callee may stop or restart the child it is told about.
 */
#ifndef ASTER_PROCESS_CHILD_INT_H
#define ASTER_PROCESS_CHILD_INT_H

#include "process/child.h"

#include <sys/queue.h>
#include <stdint.h>

#include "process/child_log.h"

struct event;

#define CHILD_BACKOFF_FIRST_MS  100
#define CHILD_BACKOFF_MAX_MS    30000
#define CHILD_STABLE_MS         60000   /* uptime that resets the backoff */
#define CHILD_RESTART_WINDOW_MS 60000
#define CHILD_RESTARTS_MAX      5       /* within the window; one more
                                           is refused */
#define CHILD_POLL_MS           20      /* ready probes, group checks */
#define CHILD_CAUSE_MAX         192

/* One process of a child: the current one, or an earlier one whose
 * output is still draining. */
struct proc {
	struct child *child;
	LIST_ENTRY(proc) link;
	pid_t pid;                  /* also its process group's id */
	int reaped;                 /* waitpid() returned it */
	int status;                 /* its wait status, once reaped; -1:
	                               lost (reaped by someone else) */
	int group_empty;            /* kill(-pid, 0) said ESRCH: the id may
	                               be reused now, never signal it again */
	int ready_timed_out;        /* killed for not being ready in time */
	uint64_t started_ms;
	struct outpipe out, err;
};

LIST_HEAD(proc_list, proc);

struct child {
	struct supervisor *sup;
	TAILQ_ENTRY(child) link;

	/* The spec, copied. */
	char *name;
	char **argv;
	char **env;
	char *dir;
	char *ready_socket;
	char *notify_socket;
	enum child_restart restart;
	unsigned ready_timeout_ms;
	unsigned stop_timeout_ms;

	child_changed_fn changed;   /* NULL once stopping */
	void *arg;
	enum child_state state;
	struct proc *cur;           /* the process running now, or NULL */
	struct proc_list procs;     /* cur and the earlier ones draining */

	/* Readiness (child_ready.c). */
	int notify_fd;              /* -1 without a notify socket */
	struct event *notify_ev;
	struct event *probe_timer;
	struct event *ready_timer;

	/* Restarts (child_exit.c). */
	struct event *backoff_timer;
	struct event *spawn_failed_ev;  /* a start that failed, seen on the
	                                   loop like an exit */
	unsigned restarts;
	uint64_t restart_at_ms[CHILD_RESTARTS_MAX];    /* the last ones */
	unsigned backoff_step;
	uint64_t retry_at_ms;
	int has_exit;
	int exit_code;
	int exit_signal;
	char cause[CHILD_CAUSE_MAX];    /* "" when none */

	struct flood flood;         /* its output's rate (child_log.c) */

	/* Stopping (child_stop.c). */
	child_gone_fn gone;
	void *gone_arg;
	struct event *stop_timer;
	struct event *gone_ev;
	uint64_t stop_deadline_ms;
	int killed;                 /* the SIGKILL at the deadline is sent */
};

TAILQ_HEAD(child_list, child);

struct supervisor {
	struct event_base *base;
	struct event *sigchld;
	struct child_list children;
};

/* supervisor.c */
uint64_t child_now_ms(void);
void child_timer_ms(struct event *ev, uint64_t ms);

/* child.c */
int child_launch(struct child *c);
void proc_release(struct proc *p);
void proc_free(struct proc *p);
void child_free(struct child *c);
void child_set_state(struct child *c, enum child_state to);
void child_tell(struct child *c, enum child_state old);

/* child_ready.c */
int child_ready_init(struct child *c, const char **err);
void child_ready_begin(struct child *c);
void child_ready_end(struct child *c);

/* child_exit.c */
void child_reaped(struct proc *p);
void child_backoff_fired(int fd, short what, void *arg);
void child_spawn_failed(int fd, short what, void *arg);

/* child_stop.c */
int child_stop_init(struct child *c);
void child_stop_reaped(struct child *c);

#endif
