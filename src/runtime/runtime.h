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
#include <sys/socket.h>
#include <time.h>

#include <aster/http.h>
#include <aster/store.h>

#include "config/manifest.h"
#include "http/router.h"
#include "runtime/ratelimit.h"

struct contract;
struct event_base;
struct provider_registry;
struct ssl_ctx_st;
struct http_server;
struct http_exchange;
struct log;
struct reload_job;
struct resolver;
struct strmap;
struct upstream;

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

struct service_handle;

/* One service of a module run: its provider's state. */
struct service_run {
	struct service *service;
	void *state;
	int started;
	struct service_handle *handle;  /* what the provider got (owned) */
	struct aster_store store;       /* ops NULL unless a store provider */
};

/* A module of a generation, as it runs. */
struct module_run {
	struct module *module;
	enum module_run_state state;
	const char *cause;          /* why it failed, or NULL */
	struct service_run *services;
	size_t nservices;
	size_t pending;             /* services still starting */
	/* A module unchanged by a reload is carried over: its services
	 * move to the new generation's run, and this one stops owning
	 * them (it still reads as running for requests in flight). */
	int carried;
	const char *digest;         /* content digest, for reload diffs */
	/* supervise.c: its runtime process (SPEC §10), or NULL. Moves with
	 * the run when carried over (the old run still points at it for
	 * requests in flight, without owning it). */
	struct runtime_proc *proc;
};

enum migrations_state {
	MIGRATIONS_UNKNOWN = 0,     /* not looked at yet */
	MIGRATIONS_WAITING,         /* some to apply once the store runs */
	MIGRATIONS_RUNNING,
	MIGRATIONS_DONE,            /* applied, or none to apply */
};

struct generation {
	unsigned refs;
	enum migrations_state migrations;
	unsigned number;            /* 1 for the first configuration */
	struct config *cfg;
	struct router *router;
	struct module_run *runs;    /* one per member, in plan order */
	size_t nruns;
	struct strmap *run_by_id;   /* module id -> run: per-request lookups */
	/* The members providing state-store and auth (the first of each in
	 * plan order), or NULL: looked up once, not per request. */
	struct module_run *store_run;
	struct module_run *auth_run;
	struct contract *contract;  /* request schemas, compiled; NULL when
	                               out of memory */
	/* upstreams.c: the running upstreams its proxies reach, by key. */
	struct strmap *upstreams;
	struct upstream **upstream_list;
	size_t nupstreams, upstreams_cap;
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

/* Listener slots never move (their address is the servers' callback
 * argument), so the array has a fixed capacity; a closed slot has
 * decl == NULL and is skipped. */
#define RUNTIME_MAX_LISTENERS 64

struct listener_run {
	struct runtime *rt;
	struct listener *decl;      /* in the generation that bound it */
	char *normal;               /* its normalised address (owned) */
	char *bound;                /* the address actually bound (owned) */
	unsigned scopes;
	struct http_server *server;
	int fd;
	struct ssl_ctx_st *tls;     /* TLS listener: the context new
	                               connections get (a reference), or NULL */
	/* A runtime's gateway socket (supervise.c): the module whose
	 * runtime it serves, the caller of every request on it; else NULL. */
	const char *runtime_module;
};

struct reload_result {
	time_t at;                  /* 0: no reload yet */
	int ok;
	char *message;              /* owned */
	char *diagnostics_json;     /* owned; diagnostics of a failed one */
};

/*
 * What serves beside the listeners while the runtime runs, such as the
 * control socket (SPEC §12): open() once the listeners serve (its state,
 * or NULL when it could not: it says why itself), close(state) once,
 * when stopping begins or the loop ends. This is all the runtime knows
 * of it.
 */
struct runtime_companion {
	void *(*open)(struct runtime *rt, const struct config *cfg);
	void (*close)(void *state);
};

struct runtime {
	struct event_base *base;
	struct provider_registry *reg;
	const char *config_dir;
	int ephemeral_ports;        /* --ephemeral-ports: bind TCP on :0 and
	                               report addresses on stdout */
	int exit_code;
	enum runtime_state state;
	struct generation *starting;/* the generation whose modules start */
	const struct runtime_companion *companion;  /* set before running */
	void *companion_state;
	struct event *signals[3];
	struct event *drain_timer;
	uint64_t drain_deadline_us;
	struct generation *current;
	struct listener_run *listeners;
	size_t nlisteners;
	time_t started_at;
	uint64_t started_us;
	struct reload_result last_reload;
	unsigned next_generation;
	struct ratelimiter *ratelimiter;/* buckets outlive generations */
	struct resolver *resolver;  /* host names a reload looks up */
	struct reload_job *reload;  /* a reload waiting for its lookups */
	struct ratelimiter *failures;   /* failed credentials, per address */
	struct supervisor *supervisor;  /* runtime processes (SPEC §10) */
	char *run_dir;              /* where their private directories go */
	int run_dir_made;           /* run_dir is ours: removed at exit */
	unsigned next_proc;         /* numbers private directories */
	struct event *exit_timer;   /* stopping: waits for the children */
	void (*after_children)(struct runtime *rt);  /* ... then this */
	struct runtime_proc *procs; /* every process record, stopping ones
	                               included (a list) */
};

/*
 * A generation for cfg (validated and planned; the generation owns it
 * from now on), with its router and one pending run per member in plan
 * order. NULL when out of memory.
 */
struct generation *generation_new(struct config *cfg, unsigned number);

/* The run of module id in g, or NULL. */
struct module_run *generation_find_run(struct generation *g, const char *id);

/* The run that answers for the module's state (run itself). */
struct module_run *module_run_live(struct module_run *run);

/* upstreams.c: runs the upstreams of g, taking over those of old (the
 * generation it replaces, or NULL) with the same key. -1 when out of
 * memory. */
int runtime_upstreams_attach(struct runtime *rt, struct generation *g,
                             struct generation *old);
/* upstreams.c: the runtime's resolver, made on first use (NULL when
 * out of memory). */
struct resolver *runtime_resolver(struct runtime *rt);
/* upstreams.c: drops g's references (generation_unref()). */
void runtime_upstreams_release(struct generation *g);
/* upstreams.c: the running upstream of conf in g, or NULL. */
struct upstream *runtime_upstream_of(struct generation *g,
                                     const struct upstream_conf *conf);

/* Takes and drops a reference to g (the last drop frees it). */
struct generation *generation_ref(struct generation *g);
void generation_unref(struct generation *g);

/* 1 when every module of the current generation is running, its stores
 * are healthy, and the runtime is running or reloading. */
int runtime_ready(const struct runtime *rt);

/* store.c: the state store module m reaches in g (its own when it
 * provides state-store, else the provider of what it needs), NULL when
 * none or not started; the store service of a run; and whether every
 * store of a run is healthy (1 for runs without one). */
const struct aster_store *runtime_store_of(struct generation *g,
                                           const struct module *m);
const struct aster_store *runtime_run_store(struct module_run *run);
int runtime_run_healthy(struct module_run *run);

/*
 * migrate.c: applies the migrations of g's members in plan order on the
 * store of store_run (running). done runs once, later, unless the start
 * was abandoned meanwhile: status 0 when all are applied, else 78
 * (migration-changed, the diagnostic already printed) or 69, with the
 * run of the module whose migration failed and a one-line cause.
 * Returns -1 when it could not begin (done will not run).
 */
typedef void (*migrate_done_fn)(struct runtime *rt, struct generation *g,
                                int status, struct module_run *run,
                                const char *cause);
int runtime_migrate(struct runtime *rt, struct generation *g,
                    struct module_run *store_run, migrate_done_fn done);
int runtime_has_migrations(const struct module *m);

/* Seconds since start. */
double runtime_uptime(const struct runtime *rt);

/*
 * Re-reads and validates the config dir with the same code as the check,
 * and, unless dry_run, applies it: stops removed and changed modules,
 * starts added and changed ones, swaps the route table. The report is a
 * JSON object (malloc'ed text):
 *   {"ok": bool, "dryRun": bool, "generation": N,
 *    "stop": [ids], "start": [ids], "restart": [ids],
 *    "routesAdded": [ids], "routesRemoved": [ids],
 *    "diagnostics": [...SPEC §5 objects...], "message": "..."}
 * Returns 0 when the new configuration is valid, -1 when it is not (the
 * running configuration is then untouched) or a reload is already under
 * way, each with the report in *report. Returns
 * RUNTIME_RELOAD_LATER when host names of added listeners must be
 * looked up first: then, once, from the loop, done(arg, rc, report)
 * gets the outcome (rc 0 or -1, report the callee's to free), also when
 * the reload is abandoned because asterd stops; done may be NULL.
 */
#define RUNTIME_RELOAD_LATER 1
typedef void (*runtime_reload_fn)(void *arg, int rc, char *report);
int runtime_reload(struct runtime *rt, int dry_run, runtime_reload_fn done,
                   void *arg, char **report);

/* reload.c: ends a reload still waiting for host names, refused ("asterd
 * is stopping"; its done runs now); for shutdown. No-op without one. */
void runtime_reload_abandon(struct runtime *rt);

/* Starts an orderly shutdown (as SIGTERM does). */
void runtime_shutdown(struct runtime *rt);

/*
 * Runs the product of cfg (validated and planned; the runtime owns it):
 * binds every listener, starts modules wave by wave, serves until a
 * signal stops it. Returns the process exit status: 0 after an orderly
 * stop, 69 when a listener or module could not start.
 */
int runtime_run(struct runtime *rt, struct config *cfg);

/* Monotonic microseconds. */
uint64_t runtime_now_us(void);

/* lifecycle.c, for reload.c: start the pending modules of g (wave by
 * wave) and stop the runs of g that are running, in reverse plan order. */
void runtime_advance(struct runtime *rt);
void runtime_stop_runs(struct runtime *rt, struct generation *g,
                       int (*selected)(const struct module_run *run,
                                       void *arg), void *arg);

/* lifecycle.c, for reload.c: serving and closing one listener, new
 * limits for every server, and the end of an asynchronous reload
 * (failure: NULL when every module started). */
int runtime_serve_listener(struct runtime *rt, struct listener_run *lr,
                           const struct config *cfg);
void runtime_close_listener(struct listener_run *lr);
void runtime_apply_limits(struct runtime *rt, const struct config *cfg);
void runtime_configure_log(const struct config *cfg);
void runtime_reload_finished(struct runtime *rt, const char *failure);

/* request.c: the handler every HTTP server calls (arg: listener_run),
 * and the error hook adding request ids to the server's own errors. */
void runtime_on_request(struct http_exchange *ex, void *arg);
void runtime_on_http_error(struct http_exchange *ex, int status,
                           const char *code, const char *detail, void *arg);

/* bind.c: binds l (TCP on port 0 when ephemeral) at at (atlen bytes;
 * its port is ignored) when given, else at l's address, which a host
 * name makes a blocking getaddrinfo(3): with at NULL, only before the
 * loop runs or when runtime_listener_needs_lookup(l) is 0. Fills
 * run->fd, run->bound and, for a TLS listener, run->tls
 * (runtime_load_tls()). Returns 0, or -1 with *err (static or strerror
 * text). */
int runtime_bind(const struct listener *l, const struct sockaddr *at,
                 socklen_t atlen, int ephemeral, struct listener_run *run,
                 const char **err);

/* bind.c: 1 when l is a TCP listener on a host name (not an IP literal),
 * which a reload looks up before binding. */
int runtime_listener_needs_lookup(const struct listener *l);

/* bind.c: l's TLS context from its certificate and key files, in *ctx
 * (the caller's reference), NULL for a plain listener. Returns 0, or -1
 * with *err naming the file and the cause (static text, valid until the
 * next call). */
int runtime_load_tls(const struct listener *l, struct ssl_ctx_st **ctx,
                     const char **err);

/* A verified caller, copied from the auth service's answer (one
 * allocation). */
struct request_credential {
	const char *kind;           /* "api-key" or "jwt" */
	const char *id;
	const char *name;           /* NULL for a JWT */
	const char *role;           /* "admin" or "user" */
	const char **spaces;
	size_t nspaces;             /* 0: not limited */
	int64_t expires_at;
};

/* The client's failed-credential bucket while its credential is
 * verified (auth.c). */
struct failure_hold {
	struct rate_limit limit;    /* the auth service's */
	char client[56];            /* the bucket's key */
	int held;                   /* a token held for a verify in flight */
	int *answered;              /* set while verify() runs */
};

struct request_ctx;

/* A step of a request that may come after an asynchronous one. */
typedef void (*request_step_fn)(struct http_exchange *ex,
                                struct request_ctx *ctx);

/*
 * What a handler is given for one request: the exchange's data, so it
 * lives exactly as long as the handler holds the exchange (http/server.h)
 * and is released after the handler's answer, never before: a store,
 * verify or key callback that answers after the server's 504 (or after
 * the client went away) still finds it, and its answer is dropped. Every
 * asynchronous step therefore ends in one answer, and a callback that
 * finds http_timed_out() starts nothing further.
 */
struct request_ctx {
	struct aster_request api;   /* what operations see (http_api.c) */
	struct http_exchange *ex;
	struct runtime *rt;
	struct generation *gen;     /* referenced for the request's life */
	const struct listener_run *listener;
	const struct route *route;
	struct route_match match;
	char request_id[132];
	char traceparent[56];
	char *path_copy;            /* backing store of match params */
	struct request_credential *cred;    /* user and admin routes */
	struct failure_hold auth_hold;      /* auth.c, while verifying */
	request_step_fn after_auth;         /* auth.c: once verified */

	/* http_api.c, filled on first use. */
	struct query_pair *query;   /* decoded (one allocation) */
	size_t nquery;
	int query_parsed;
	char trace_id[33];
	char client[48];
	struct aster_credential cred_view;
	aster_abandon_fn abandon;
	void *abandon_arg;
};

/* A decoded query parameter. */
struct query_pair {
	const char *name;
	const char *value;
};

/* http_api.c: ctx as the struct aster_request of aster/http.h, answering
 * from ex. */
struct aster_request *runtime_request_api(struct request_ctx *ctx,
                                          struct http_exchange *ex);

/* proxy.c: the server's head hook: 1 when the request's body is to be
 * streamed to an upstream as it arrives rather than read whole (a proxy
 * or runtime route without a request schema, and a body over a size worth
 * retrying: chunked, or a Content-Length over 64 KiB). */
int runtime_on_head(struct http_exchange *ex, void *arg);

/* proxy.c: forwards the request to the route's upstream. */
void runtime_proxy(struct http_exchange *ex, struct request_ctx *ctx);

/* proxy.c: forwards the request to its module's runtime process (503
 * with Retry-After while it is down). */
void runtime_forward(struct http_exchange *ex, struct request_ctx *ctx);

/*
 * supervise.c: a module's runtime process (SPEC §10). start: spawns the
 * runtime of run (services started, module starting); the module runs
 * once it is ready (runtime_module_started()), or fails
 * (runtime_module_failed()). Returns -1 when it failed at once (already
 * reported). stop: stops run's process once requests in flight to it
 * are done (at most shutdown_timeout_ms), SIGTERM then SIGKILL. carry:
 * the process of an unchanged module moves from one run to the next.
 */
int runtime_proc_start(struct runtime *rt, struct module_run *run);
void runtime_proc_stop(struct runtime *rt, struct module_run *run);
void runtime_proc_carry(struct module_run *from, struct module_run *to);

/* supervise.c: the upstream of the runtime socket of run's module while
 * its process is ready, else NULL with *retry_after_s (whole seconds, at
 * least 1). A run carried over asks the current generation's. */
struct upstream *runtime_proc_upstream(struct runtime *rt,
                                       struct module_run *run,
                                       unsigned *retry_after_s);

/* supervise.c: stops the runtime processes of g (reverse plan order),
 * and once none is left (at most their stop_timeout_ms) calls then(rt):
 * the modules' services still run meanwhile, so a runtime may use them
 * while it stops. */
void runtime_stop_procs_then(struct runtime *rt, struct generation *g,
                             void (*then)(struct runtime *rt));

/* supervise.c: after the loop: kills what is left, frees every process
 * record and removes the runtime directory asterd made. */
void runtime_procs_release(struct runtime *rt);

struct http_limits;

/* supervise.c: new limits for the runtimes' gateway sockets (reload). */
void runtime_procs_apply_limits(struct runtime *rt,
                                const struct http_limits *l);

/* lifecycle.c: the product's HTTP limits, for every server. */
void runtime_limits_of(const struct config *cfg, struct http_limits *l);

/* supervise.c: for asterctl runtimes: 0 when run's module has no
 * runtime, else 1 with *out (a "stopped" view when no process runs). */
struct child_view;
int runtime_proc_view(const struct module_run *run, struct child_view *out);

/* supervise.c: asterctl restart MODULE: starts the module's failed (or
 * stopped, or backing-off) runtime again; once ready, a failed module
 * runs again. 0, or -1 with *err (static text). */
int runtime_restart_module(struct runtime *rt, const char *id,
                           const char **err);

/* lifecycle.c, for supervise.c: the module's runtime is ready (it runs;
 * the start goes on), or it could not start (the start fails). */
void runtime_module_started(struct runtime *rt, struct module_run *run);
void runtime_module_failed(struct runtime *rt, struct module_run *run,
                           const char *cause);

/* dispatch.c: runs ctx->route's handler. */
void runtime_dispatch(struct http_exchange *ex, struct request_ctx *ctx);

/* The auth service of a generation: the ops and state of a started
 * service of the module providing `auth`. */
struct aster_auth_ops;
struct aster_credential;
struct auth_handle {
	const struct aster_auth_ops *ops;
	void *self;
};

/*
 * auth.c: the run of the member providing `auth` (NULL when none); its
 * running auth service into *out (0, or -1 when there is none running);
 * a copy of a credential (NULL when out of memory); and the credential
 * check of a request: public and internal routes go on at once, user
 * and admin ones once their bearer token is verified (401, 403 or 503
 * otherwise), through next(ex, ctx), now or later.
 */
struct module_run *runtime_auth_run(struct generation *g);
int runtime_auth_of(struct generation *g, struct auth_handle *out);
struct request_credential *runtime_credential_copy(
    const struct aster_credential *c);
void runtime_authenticate(struct http_exchange *ex, struct request_ctx *ctx,
                          request_step_fn next);

/* validate_body.c: for a route with request.schema, refuses a body that
 * is not application/json (415), not JSON (400) or breaks the schema
 * (422, with errors), answering ex and returning 1; else 0. */
int runtime_refuse_body(struct http_exchange *ex, struct request_ctx *ctx);

#endif
