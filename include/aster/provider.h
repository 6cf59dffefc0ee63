/*
 * aster/provider.h - the interface between asterd and a provider.
 *
 * A provider is compiled code that implements a service kind: the YAML of a
 * module names it (`services: [{id, provider, config}]`) and asterd loads it
 * from the module path as <name>.so, or finds it built in. A provider shared
 * object exports exactly one symbol,
 *
 *     const struct aster_provider aster_provider;
 *
 * usually through ASTER_PROVIDER_DEFINE below. asterd reads `abi` first and
 * refuses a provider built for another ABI version, naming the file, so the
 * two leading fields never move.
 *
 * A provider never links against asterd: everything it may call arrives as
 * the struct aster_host function table, filled by asterd.
 *
 * Configuration is validated at `asterd --check-config` time, in two steps:
 * the core checks the mapping under `config:` against the provider's key
 * table (unknown keys with "did you mean" hints, missing and mistyped keys),
 * then calls the provider's validate hook, if any, for the checks a table
 * cannot express. Both report at the YAML location of the offending value.
 */
#ifndef ASTER_PROVIDER_H
#define ASTER_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every incompatible change to this header. */
#define ASTER_PROVIDER_ABI 5

/* A YAML node of the configuration (opaque; read it through the host). */
typedef struct aster_node aster_node;

/* Where a validator reports its findings (opaque). */
struct aster_check;

/* A started service instance, as the core sees it (opaque). */
struct aster_service;

/* A request routed to an operation: read it and answer it with the
 * calls of aster/http.h. */
struct aster_request;

/* libevent's loop, as <event2/event.h> declares it. */
struct event_base;

/* The state store (aster/store.h) and credentials (aster/auth.h). */
struct aster_store;
struct aster_store_ops;
struct aster_auth_ops;

enum aster_node_kind {
	ASTER_NODE_SCALAR = 0,
	ASTER_NODE_MAP = 1,
	ASTER_NODE_SEQ = 2,
};

/* The type a config key must have. */
enum aster_value_type {
	ASTER_VALUE_STRING = 1, /* any scalar, as written */
	ASTER_VALUE_INT,        /* decimal integer within [min, max] */
	ASTER_VALUE_BOOL,       /* true or false */
	ASTER_VALUE_PATH,       /* string; relative paths are resolved
	                           against the manifest's directory */
	ASTER_VALUE_MAP,        /* a mapping, checked by the validate hook */
	ASTER_VALUE_LIST,       /* a sequence, checked by the validate hook */
};

/* One key a provider accepts under `config:`. Tables end with a zeroed
 * entry (name == NULL). */
struct aster_config_key {
	const char *name;
	enum aster_value_type type;
	int required;
	long long min, max;      /* ASTER_VALUE_INT only; min == max: any */
	const char *doc;         /* one line, for --help style listings */
};

/* One operation a provider serves to routes (`handler: {service,
 * operation}`). Tables end with a zeroed entry (name == NULL). */
struct aster_operation {
	const char *name;
	const char *methods;     /* default methods, e.g. "GET" or "GET,POST" */
	const char *summary;     /* default OpenAPI summary */
	const char *response;    /* default 200 response schema, JSON text,
	                            or NULL */
	/* Serves one request (aster/http.h): 0 when it answered or will
	 * answer later; any other value, without an answer, gets a 500. */
	int (*handle)(void *state, struct aster_request *req);
};

/*
 * What asterd offers a provider. Every pointer is always set.
 */
struct aster_host {
	uint32_t abi;

	/* Reading configuration nodes. Lookups on a node of the wrong kind
	 * answer NULL or 0. */
	enum aster_node_kind (*node_kind)(const aster_node *n);
	const char *(*scalar)(const aster_node *n);  /* NULL if not scalar */
	const aster_node *(*map_get)(const aster_node *map, const char *key);
	size_t (*size)(const aster_node *n);         /* pairs or items */
	const char *(*map_key_at)(const aster_node *map, size_t i);
	const aster_node *(*map_value_at)(const aster_node *map, size_t i);
	const aster_node *(*seq_at)(const aster_node *seq, size_t i);

	/* Resolves a path written in the file that holds n: absolute paths
	 * are returned as they are. The string lives as long as the
	 * configuration. */
	const char *(*resolve_path)(const aster_node *n, const char *path);

	/* Reports a provider-config error at n (or at the config mapping
	 * when n is NULL). printf-style. */
	void (*report)(struct aster_check *chk, const aster_node *n,
	               const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

	/* Signals the end of an asynchronous start: ok is 1 on success,
	 * else 0 with a one-line cause. Call it from the event loop's
	 * thread (a callback on event_base()), never from another thread. */
	void (*started)(struct aster_service *svc, int ok, const char *cause);

	/* The event loop the service runs on: a provider that starts
	 * asynchronously (ASTER_PENDING) or does I/O registers its events
	 * here. asterd runs one loop on one thread; nothing may block it. */
	struct event_base *(*event_base)(struct aster_service *svc);

	/*
	 * The state store svc's module reaches: its own when the module
	 * provides `state-store`, else that of the module providing it, if
	 * svc's module `needs: [state-store]`; NULL otherwise. The store's
	 * module starts first (needs orders the plan), so this is valid from
	 * svc's start hook until its stop hook returns.
	 */
	const struct aster_store *(*store)(struct aster_service *svc);
};

/* Return values of start. */
#define ASTER_STARTED 0  /* running now */
#define ASTER_PENDING 1  /* will call host->started() later */
#define ASTER_FAILED (-1)

struct aster_provider {
	/* These two fields never move: asterd reads them before anything
	 * else to refuse a mismatched build. */
	uint32_t abi;            /* ASTER_PROVIDER_ABI */
	const char *name;        /* as written in `provider:`; equals the
	                            file name without .so */

	const char *description;
	const struct aster_config_key *config_keys;   /* may be NULL */

	/* Checks what the key table cannot (cross-field rules, formats).
	 * Runs only when the key table found nothing wrong; config is NULL
	 * when the service wrote no `config:`. Reports through
	 * host->report(); returns the number of errors. */
	int (*validate)(const struct aster_host *host, struct aster_check *chk,
	                const aster_node *config);

	const struct aster_operation *operations;     /* may be NULL */

	/*
	 * Starts one service instance. *state receives the provider's
	 * per-instance data, passed to operations and stop; config may be
	 * NULL as for validate. svc is the service's handle for the host's
	 * calls, valid until stop returns: keep it. Returns
	 * ASTER_STARTED, ASTER_PENDING (then host->started() is called,
	 * within the start timeout) or ASTER_FAILED with *cause set.
	 */
	int (*start)(const struct aster_host *host, struct aster_service *svc,
	             const aster_node *config, void **state,
	             const char **cause);

	/* Stops an instance started by start and frees its state. */
	void (*stop)(void *state);

	/* Set by state store providers (aster/store.h): the operations on
	 * an instance's state. NULL for every other provider. */
	const struct aster_store_ops *store;

	/* Set by auth providers (aster/auth.h), likewise. */
	const struct aster_auth_ops *auth;

	/* Called on a reload (SIGHUP, asterctl reload) for an instance that
	 * keeps running because its module did not change: re-read the files
	 * its config names (keys, certificates). May be NULL. */
	void (*reload)(void *state);
};

/* Declares the descriptor a provider shared object exports. */
#define ASTER_PROVIDER_DEFINE \
	__attribute__((visibility("default"))) \
	const struct aster_provider aster_provider

#ifdef __cplusplus
}
#endif

#endif
