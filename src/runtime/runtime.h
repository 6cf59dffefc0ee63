/*
 * runtime.h - a running product: listeners, generations, module states.
 *
 * A generation is one validated configuration with everything compiled
 * from it (router, module states). Requests hold a reference to the
 * generation they began on; a reload installs a new generation and the
 * old one is freed when its last request ends.
 */
#ifndef ASTER_RUNTIME_H
#define ASTER_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config/manifest.h"
#include "http/router.h"

struct event_base;
struct provider_registry;
struct http_server;
struct http_exchange;
struct log;

enum module_run_state {
	MODULE_PENDING,         /* planned, not started yet */
	MODULE_STARTING,
	MODULE_RUNNING,
	MODULE_STOPPING,
	MODULE_STOPPED,
	MODULE_FAILED,
};

/* "pending", "starting", "running", "stopping", "stopped", "failed". */
const char *module_state_name(enum module_run_state s);

/* One started service: its provider's state. */
struct service_run {
	struct service *service;
	void *state;
	int started;
};

/* A module of a generation, as it runs. */
struct module_run {
	struct module *module;
	enum module_run_state state;
	const char *cause;          /* why it failed, or NULL */
	struct service_run *services;
	size_t nservices;
	size_t pending;             /* services still starting */
	/* A module unchanged by a reload is carried over: the new
	 * generation points at the run of the old one. */
	struct module_run *shared;
	const char *digest;         /* content digest, for reload diffs */
};

struct generation {
	unsigned refs;
	unsigned number;            /* 1 for the first configuration */
	struct config *cfg;
	struct router *router;
	struct module_run *runs;    /* one per member, in plan order */
	size_t nruns;
};

enum runtime_state {
	RUNTIME_STARTING,
	RUNTIME_RUNNING,
	RUNTIME_RELOADING,
	RUNTIME_STOPPING,
	RUNTIME_FAILED,
};

/* "starting", "running", "reloading", "stopping", "failed". */
const char *runtime_state_name(enum runtime_state s);

struct listener_run {
	struct listener *decl;      /* in the generation that bound it */
	char *normal;               /* its normalised address (owned) */
	char *bound;                /* the address actually bound (owned) */
	unsigned scopes;
	struct http_server *server;
	int fd;
};

struct reload_result {
	time_t at;                  /* 0: no reload yet */
	int ok;
	char *message;              /* owned */
	char *diagnostics_json;     /* owned; diagnostics of a failed one */
};

struct runtime {
	struct event_base *base;
	struct provider_registry *reg;
	struct log *log;
	const char *config_dir;
	enum runtime_state state;
	struct generation *current;
	struct listener_run *listeners;
	size_t nlisteners;
	time_t started_at;
	uint64_t started_us;
	struct reload_result last_reload;
	unsigned next_generation;
};

/*
 * A generation for cfg (validated and planned; the generation owns it
 * from now on), with its router and one pending run per member in plan
 * order. NULL when out of memory.
 */
struct generation *generation_new(struct config *cfg, unsigned number);

/* The run of module id in g, or NULL. */
struct module_run *generation_find_run(struct generation *g, const char *id);

/* Follows `shared` to the run that actually holds the module's state. */
struct module_run *module_run_live(struct module_run *run);

/* Takes and drops a reference to g (the last drop frees it). */
struct generation *generation_ref(struct generation *g);
void generation_unref(struct generation *g);

/* 1 when every module of the current generation is running and the
 * runtime is running or reloading. */
int runtime_ready(const struct runtime *rt);

/* Seconds since start. */
double runtime_uptime(const struct runtime *rt);

/*
 * Re-reads and validates the config dir with the same code as the check,
 * and, unless dry_run, applies it: stops removed and changed modules,
 * starts added and changed ones, swaps the route table. *report receives
 * a JSON object (malloc'ed text):
 *   {"ok": bool, "dryRun": bool, "generation": N,
 *    "stop": [ids], "start": [ids], "restart": [ids],
 *    "routesAdded": [ids], "routesRemoved": [ids],
 *    "diagnostics": [...SPEC §5 objects...], "message": "..."}
 * Returns 0 when the new configuration is valid, -1 when it is not (the
 * running configuration is then untouched) or a reload is already under
 * way.
 */
int runtime_reload(struct runtime *rt, int dry_run, char **report);

/* Starts an orderly shutdown (as SIGTERM does). */
void runtime_shutdown(struct runtime *rt);

/* What a handler is given for one request. */
struct request_ctx {
	struct runtime *rt;
	struct generation *gen;     /* referenced for the request's life */
	const struct listener_run *listener;
	const struct route *route;
	struct route_match match;
	char request_id[132];
	char traceparent[56];
	char *path_copy;            /* backing store of match params */
};

#endif
