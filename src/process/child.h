/*
 * child.h - supervised child processes (SPEC §10): the part of a runtime
 * that knows nothing of HTTP or modules.
 *
 * A child is spawned in its own process group, in its own working
 * directory, with /dev/null as stdin, its stdout and stderr read by the
 * loop into asterd's log line by line, and no other descriptor of
 * asterd. It is ready when it sends READY=1 on its notify socket (the
 * systemd protocol) or when its ready socket first accepts a connection,
 * whichever comes first, within ready_timeout_ms. When it exits it is
 * started again as its restart policy says, after a backoff of 100 ms
 * doubling to 30 s (back to 100 ms after 60 s of uptime); a sixth restart
 * within 60 s is refused and the child is failed. Everything happens on
 * the loop: exits are seen through SIGCHLD, never waited for.
 */
#ifndef ASTER_PROCESS_CHILD_H
#define ASTER_PROCESS_CHILD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct supervisor;
struct child;

enum child_restart {
	CHILD_RESTART_ON_FAILURE,   /* non-zero exit or a signal */
	CHILD_RESTART_ALWAYS,
	CHILD_RESTART_NEVER,
};

enum child_state {
	CHILD_STARTING,             /* spawned, not ready yet */
	CHILD_READY,
	CHILD_BACKOFF,              /* exited; started again after a delay */
	CHILD_FAILED,               /* given up on: child_restart() only */
	CHILD_STOPPING,             /* child_stop(): not gone yet */
	CHILD_STOPPED,              /* exited and not to be restarted */
};

/* "starting", "ready", "backoff", "failed", "stopped" (SPEC §10 names
 * no stopping state: a child being stopped reads "stopped"). */
const char *child_state_name(enum child_state s);

/* "always", "on-failure" or "never" (NULL: on-failure) as a policy. */
enum child_restart child_restart_policy(const char *name);

/* What to run. child_start() copies all of it. */
struct child_spec {
	const char *name;           /* the log tag: runtime=NAME */
	const char *const *argv;    /* argv[0] is looked up in asterd's
	                               PATH (not env's) when it holds no
	                               '/'; NULL-terminated */
	const char *const *env;     /* the whole environment, "NAME=VALUE",
	                               NULL-terminated */
	const char *dir;            /* working directory (exists) */
	const char *ready_socket;   /* a Unix stream socket path whose first
	                               accepted connection means ready, or
	                               NULL; a file left there is removed
	                               before each process starts */
	const char *notify_socket;  /* a Unix datagram socket path the
	                               supervisor binds for READY=1 (the
	                               child's NOTIFY_SOCKET), or NULL;
	                               with neither socket, ready at once */
	enum child_restart restart;
	unsigned ready_timeout_ms;  /* 0: no limit */
	unsigned stop_timeout_ms;
};

/*
 * Called on every change of state the supervisor makes by itself (not
 * for child_stop(), after which the caller hears nothing more): ready,
 * down into backoff, failed, stopped after a clean exit. old is the
 * state it left; child_view() tells the rest (the cause of a failure).
 */
typedef void (*child_changed_fn)(struct child *c, enum child_state old,
                                 void *arg);

/* One child as an operator sees it (asterctl runtimes). */
struct child_view {
	enum child_state state;
	pid_t pid;                  /* 0 when no process runs */
	unsigned restarts;          /* since started or child_restart() */
	int has_exit;               /* an exit was seen */
	int exit_code;              /* when it exited: its status */
	int exit_signal;            /* when a signal ended it: the signal */
	uint64_t uptime_ms;         /* of the current process; 0: none */
	uint64_t retry_in_ms;       /* backoff: until the next start */
	uint64_t lines_dropped;     /* output lines dropped (flood), total */
	const char *cause;          /* the last failure, one line, or NULL */
};

/* The supervisor of base's children: handles SIGCHLD on base. NULL when
 * out of memory. */
struct supervisor *supervisor_new(struct event_base *base);

/* Children whose process group still has a member: stopping ones
 * included. Shutdown waits for this to reach 0. */
size_t supervisor_alive(const struct supervisor *s);

/* Kills (SIGKILL) every group left and reaps its leader, blocking: for
 * the very end, once the loop no longer runs, before base is freed.
 * Then frees s and every child left, stopping ones included, without
 * calling their gone functions. */
void supervisor_free(struct supervisor *s);

/*
 * Spawns spec's child. Returns it (starting), or NULL with *err (static
 * or strerror text, valid until the next call) when it could not be
 * spawned at all (no such program, no memory): nothing is left behind.
 */
struct child *child_start(struct supervisor *s, const struct child_spec *spec,
                          child_changed_fn changed, void *arg,
                          const char **err);

/*
 * Stops c: SIGTERM to its process group, SIGKILL to the group after
 * stop_timeout_ms; once no process of the group is left, c is freed and
 * gone(arg) runs, from the loop (never from supervisor_free()). A child in
 * backoff, failed or stopped is gone at once (gone still runs later,
 * from the loop). c must not be used after this; its changed function
 * is not called again. Safe to call from that function.
 */
typedef void (*child_gone_fn)(void *arg);
void child_stop(struct child *c, child_gone_fn gone, void *arg);

/* Starts a failed, stopped or backing-off child again now, with its
 * restart count reset. -1 (and nothing done) when it is starting or
 * ready. */
int child_restart(struct child *c);

void child_view(const struct child *c, struct child_view *out);

/* Its state alone: what a request asks, without the clock reading of
 * child_view(). */
enum child_state child_state(const struct child *c);

#endif
