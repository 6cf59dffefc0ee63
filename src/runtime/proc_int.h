/*
 * proc_int.h - what supervise.c and proc_setup.c share: a module's
 * runtime process as the runtime keeps it (SPEC §10).
 */
#ifndef ASTER_RUNTIME_PROC_INT_H
#define ASTER_RUNTIME_PROC_INT_H

#include <stdint.h>

#include "runtime/runtime.h"

struct child;
struct event;
struct upstream;

struct runtime_proc {
	struct runtime *rt;
	struct module_run *run;     /* the run owning it; NULL once stopping */
	struct runtime_proc *next, *prev;   /* rt->procs */
	char *module_id;
	char *dir;                  /* its private directory */
	char *runtime_socket;       /* ASTER_RUNTIME_SOCKET */
	char *gateway_socket;       /* ASTER_GATEWAY_SOCKET */
	char *notify_socket;        /* NOTIFY_SOCKET */
	struct child *child;        /* NULL once child_stop() took it */
	struct upstream *upstream;  /* the runtime socket, as the proxy's */
	struct listener_run gateway;/* the gateway socket's server */
	struct event *drain;        /* stopping: waits for requests in flight */
	uint64_t drain_deadline_us;
};

/*
 * proc_setup.c: makes p's private directory (0700) under the runtime
 * directory, its socket paths, its gateway socket's server and the
 * upstream of its runtime socket. -1 with *err (static text, or
 * strerror's) when one could not be made; proc_teardown() undoes what
 * was done either way.
 */
int proc_setup(struct runtime_proc *p, const struct module *m,
               const char **err);
void proc_teardown(struct runtime_proc *p);

/* proc_setup.c: the child's environment (SPEC §10): asterd's own,
 * without what was meant for asterd itself, then the ASTER_* variables
 * and NOTIFY_SOCKET, then the manifest's env. NULL-terminated, one
 * allocation with its strings; NULL when out of memory. */
const char **proc_environment(const struct runtime_proc *p,
                              const struct module *m, const char *product);

#endif
