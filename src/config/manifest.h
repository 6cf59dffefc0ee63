/*
 * manifest.h - the decoded product and modules of one configuration.
 *
 * A struct config is an immutable snapshot: built by config_load() from a
 * config dir, owned by its arena, validated and planned in place, and freed
 * whole. Every object keeps the YAML node it came from, so any check can
 * point at the exact key or value.
 */
#ifndef ASTER_MANIFEST_H
#define ASTER_MANIFEST_H

#include <stddef.h>

#include "config/decode.h"
#include "config/node.h"
#include "config/semver.h"
#include "diag.h"

struct arena;
struct aster_provider;
struct provider_registry;
struct strmap;

enum scope {
	SCOPE_PUBLIC = 1u << 0,
	SCOPE_USER = 1u << 1,
	SCOPE_ADMIN = 1u << 2,
	SCOPE_INTERNAL = 1u << 3,
};
#define SCOPE_DEFAULT_LISTENER (SCOPE_PUBLIC | SCOPE_USER | SCOPE_ADMIN)

enum listener_kind {
	LISTEN_TCP,
	LISTEN_UNIX,
};

struct tls_config {
	const node_t *node;
	const char *cert;
	const char *key;
};

struct listener {
	const node_t *node;
	const char *address;        /* as written */
	struct strlist scope_names;
	struct tls_config *tls;
	/* Filled by validation: */
	enum listener_kind kind;
	const char *host;           /* TCP: host name or address literal */
	int port;                   /* TCP: 0..65535 */
	const char *path;           /* unix: resolved path */
	const char *normal;         /* normalised text, for duplicates */
	unsigned scopes;            /* enum scope bits */
};

struct limits {
	const node_t *node;
	long long max_body_bytes;
	long long max_header_bytes;
	long long request_timeout_ms;
	long long max_connections;
};

struct server {
	const node_t *node;
	struct objlist listen;      /* struct listener * */
	const char *control;        /* resolved path, or NULL */
	struct limits *limits;
	long long shutdown_timeout_ms;
	int has_shutdown_timeout;
};

struct log_config {
	const node_t *node;
	const char *format;
	const char *level;
	int access;
	int has_access;
};

struct product {
	const node_t *node;
	const char *kind;
	const char *id;
	const char *name;
	const char *description;
	const char *version;
	struct strlist modules;
	const node_t *modules_node; /* NULL: every module defined */
	struct server *server;
	struct log_config *log;
};

struct requirement {
	const node_t *node;         /* the list item */
	const node_t *id_node;
	const char *id;
	const char *range_text;     /* NULL: any version */
	const node_t *range_node;
	struct semver_range *range;
};

struct requirements {
	size_t n;
	struct requirement *v;
};

struct module;

struct service {
	const node_t *node;
	const char *id;
	const char *provider;
	const node_t *config;       /* NULL: empty */
	struct module *module;
	const struct aster_provider *impl;  /* set once the provider loaded */
};

enum handler_kind {
	HANDLER_OPERATION,
	HANDLER_RESPOND,
	HANDLER_STATIC,
	HANDLER_PROXY,
	HANDLER_RUNTIME,
};

struct respond_handler {
	const node_t *node;
	long long status;
	const node_t *body;
	const char *content_type;
	int has_status;
};

struct static_handler {
	const node_t *node;
	const char *root;
	const char *index;
};

/* --- upstreams (SPEC §3.2, §7.7) -------------------------------------- */

enum target_scheme {
	TARGET_HTTP,
	TARGET_HTTPS,
	TARGET_UNIX,
};

/* One target of an upstream: http://host:port[/base], https://... or
 * unix:PATH. */
struct upstream_target {
	const node_t *node;         /* the list item (or the proxy's
	                               `upstream` value for an inline one) */
	const char *url;            /* as written */
	/* Filled by validation: */
	enum target_scheme scheme;
	const char *host;           /* TCP: name or address, no brackets */
	int port;                   /* TCP: 1..65535 (80/443 by default) */
	const char *path;           /* unix: the socket, resolved against the
	                               manifest's directory */
	const char *base;           /* base path, "" or "/x/y" (no trailing
	                               '/'), prepended to forwarded paths */
	const char *authority;      /* the Host a request to it carries:
	                               "host:port" ("host" on the scheme's
	                               default port; "[::1]:8080"; "localhost"
	                               for unix) */
};

struct upstream_health {
	const node_t *node;
	const char *path;           /* required; starts with '/' */
	long long interval_ms;      /* default 2000 */
	long long timeout_ms;       /* default 1000 */
	long long healthy;          /* successes to come back, default 2 */
	long long unhealthy;        /* failures to go down, default 3 */
};

struct upstream_eject {
	const node_t *node;
	long long consecutive_failures; /* default 5 */
	long long base_ms;          /* default 30000 */
};

struct upstream_tls {
	const node_t *node;
	const char *ca;             /* PEM file, resolved; NULL: system CAs */
	const char *server_name;    /* SNI and name checked; NULL: host */
	int verify;                 /* default 1 */
	int has_verify;
};

/*
 * A named entry of a module's `upstreams`, or the one-target upstream a
 * proxy handler names inline by URL. Defaults are filled by validation,
 * so consumers read plain values.
 */
struct upstream_conf {
	const node_t *node;         /* the mapping value (inline: the URL) */
	const char *name;           /* the key ("api"); inline: the URL */
	struct module *module;      /* the module that declares it */
	const char *key;            /* identity across reloads: "module.name",
	                               or "url:" + the URL for an inline one */
	struct objlist targets;     /* struct upstream_target *; nonempty */
	const char *balance;        /* "round-robin" (default) |
	                               "least-request" */
	long long keepalive;        /* idle connections per target; default
	                               32, 0..4096 */
	long long connect_timeout_ms;   /* default 2000 */
	struct upstream_health *health; /* NULL: no active checks */
	struct upstream_eject *eject;   /* NULL: no passive ejection */
	struct upstream_tls *tls;       /* https targets only; NULL:
	                                   defaults */
	/* Filled by validation: */
	int least_request;
	enum target_scheme scheme;  /* shared by every target */
	int inline_url;             /* made from a proxy's URL */
	unsigned ok;                /* passed every check */
};

struct proxy_handler {
	const node_t *node;
	const char *upstream;
	int strip_prefix;
	long long timeout_ms;       /* default 30000 */
	long long try_timeout_ms;   /* default: timeout_ms */
	long long retries;          /* default 1, 0..10 */
	int preserve_host;
	int pass_authorization;
	int has_timeout, has_retries, has_try_timeout;
	/* Filled by validation: the upstream it names (its own for an
	 * inline URL). */
	struct upstream_conf *resolved;
};

struct handler {
	const node_t *node;
	enum handler_kind kind;
	const char *service;        /* HANDLER_OPERATION */
	const char *operation;
	struct respond_handler *respond;
	struct static_handler *statik;
	struct proxy_handler *proxy;
	const node_t *runtime;
	/* Filled by validation: the service the operation runs on. */
	struct service *target;
};

struct rate_limit {
	const node_t *node;
	long long requests;
	long long per_ms;
	long long burst;
	const char *key;
};

struct route_body {
	const node_t *node;
	const node_t *schema;
	const char *description;
};

struct route {
	const node_t *node;
	const char *id;
	const char *scope_name;
	struct strlist methods;
	const char *mount_path;
	const char *match;          /* "exact" or "prefix" (NULL: exact) */
	struct handler *handler;
	const char *summary;
	const char *description;
	struct route_body *request;
	const node_t *responses;
	struct rate_limit *rate_limit;
	/* Filled by validation: */
	struct module *module;
	unsigned scope;
	int prefix;
	const char *shape;          /* mountPath with {params} as {} */
	unsigned ok;                /* passed every local check */
};

struct runtime_config {
	const node_t *node;
	struct strlist command;
	const node_t *env;
	const char *restart;
	long long ready_timeout_ms;
	long long stop_timeout_ms;
};

struct migration {
	const node_t *node;
	const char *id;
	const char *sql;
};

struct database {
	const node_t *node;
	struct objlist migrations;
};

struct market_source {
	const node_t *node;
	const char *id;
	const char *type;
	const char *location;
	const char *public_key;
};

struct marketplace {
	const node_t *node;
	struct objlist sources;
};

struct analytics {
	const node_t *node;
	struct strlist events;
};

enum edge_kind {
	EDGE_REQUIRES,
	EDGE_AFTER,
	EDGE_NEEDS,
};

/* "from must start after to", and the entry that says so. */
struct edge {
	struct module *to;
	enum edge_kind kind;
	const node_t *at;
};

struct module {
	const node_t *node;
	const char *kind;
	const char *id;
	const char *display_name;
	const char *version;
	const char *description;
	struct requirements requires;
	struct strlist after;
	struct strlist provides;
	struct strlist needs;
	struct objlist services;    /* struct service * */
	struct objlist routes;      /* struct route * */
	const node_t *schemas;
	struct runtime_config *runtime;
	struct database *database;
	struct marketplace *marketplace;
	struct analytics *analytics;
	struct rate_limit *rate_limit;
	const node_t *upstreams_node;
	struct objlist upstreams;   /* struct upstream_conf *, in file order */
	/* Filled by validation and planning: */
	struct semver semver;
	int version_ok;
	size_t index;               /* position in config.modules */
	int in_product;
	int unique;                 /* first definition of its id */
	int wave;                   /* 1-based; 0: not planned */
	struct edge *edges;         /* modules it starts after (members) */
	size_t nedges, edges_cap;
};

struct config {
	struct arena *arena;
	const char *dir;            /* the config dir as given */
	const char *absdir;
	struct source dir_source;   /* for diagnostics about the whole dir */
	struct source **files;      /* every file read, in read order */
	size_t nfiles, files_cap;

	struct product *product;
	struct module **modules;    /* every module defined, in file order */
	size_t nmodules, modules_cap;
	struct strmap *by_id;       /* module id -> first module defined */

	/* The product's modules (listed plus pulled in), sorted by id. */
	struct module **members;
	size_t nmembers;
	size_t nroutes;             /* routes of the members */

	/* The plan: waves of members. */
	struct module ***waves;
	size_t *wave_sizes;
	size_t nwaves;
	int planned;                /* validation passed; plan is set */
};

/*
 * Reads every manifest under dir (SPEC §3 order and skipping rules) and
 * decodes each document. Schema problems go to dl; the returned config
 * holds what could be decoded. NULL only when dir cannot be read at all
 * (reported in dl). verbose: print every file read to stderr.
 */
struct config *config_load(const char *dir, struct diag_list *dl,
                           int verbose);

/*
 * Building a configuration from memory (tests, fuzzing): config_new()
 * makes an empty one for dir (nothing is read); config_add_text() decodes
 * one file's text as if read from dir/rel; config_index_modules() must
 * follow the last file, before validation.
 */
struct config *config_new(const char *dir);
void config_add_text(struct config *cfg, struct diag_list *dl,
                     const char *rel, const char *text, size_t len);
void config_index_modules(struct config *cfg);

/* Frees a configuration and everything it owns. */
void config_free(struct config *cfg);

/* Looks a module up by id among all defined modules (NULL if none). */
struct module *config_find_module(const struct config *cfg, const char *id);

/* Decodes one document (a mapping with kind: product | module) into cfg. */
void manifest_decode_document(struct config *cfg, struct decoder *d,
                              const node_t *doc);

#endif
