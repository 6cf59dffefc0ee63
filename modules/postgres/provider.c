/*
 * provider.c - the `postgres` provider's descriptor: its configuration
 * keys and their checks, start and stop, and its store operations.
 *
 *   services:
 *     - id: state
 *       provider: postgres
 *       config:
 *         dsn: "host=/run/postgresql dbname=aster"   # or postgresql://...
 *         pool_size: 4
 *
 * The DSN is parsed by libpq itself at check time, so what --check-config
 * accepts is what libpq will accept at start.
 */
#include "pg.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_POOL_SIZE 4
#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_QUEUE_TIMEOUT_MS 5000

static const struct aster_config_key pg_keys[] = {
	{"dsn", ASTER_VALUE_STRING, 1, 0, 0,
	 "libpq connection string or postgresql:// URI"},
	{"pool_size", ASTER_VALUE_INT, 0, 1, 64,
	 "connections to keep open (default 4)"},
	{"connect_timeout_ms", ASTER_VALUE_INT, 0, 1, 600000,
	 "how long one connection attempt may take (default 5000)"},
	{"queue_timeout_ms", ASTER_VALUE_INT, 0, 1, 600000,
	 "how long work waits for a connection before failing (default "
	 "5000)"},
	{NULL, 0, 0, 0, 0, NULL},
};

/* The key table has made sure dsn is present and a scalar. */
static int
pg_validate(const struct aster_host *host, struct aster_check *chk,
            const aster_node *config)
{
	const aster_node *n = host->map_get(config, "dsn");
	const char *dsn = n != NULL ? host->scalar(n) : NULL;
	PQconninfoOption *opts;
	char *err = NULL, *line;

	if (dsn == NULL)
		return 0;
	if (*dsn == '\0') {
		host->report(chk, n, "postgres: 'dsn' must not be empty");
		return 1;
	}
	opts = PQconninfoParse(dsn, &err);
	if (opts != NULL) {
		PQconninfoFree(opts);
		return 0;
	}
	line = err != NULL ? pg_one_line(err) : NULL;
	host->report(chk, n, "postgres: invalid 'dsn': %s",
	             line != NULL ? line : "out of memory");
	free(line);
	PQfreemem(err);
	return 1;
}

static int
config_int(const struct aster_host *host, const aster_node *config,
           const char *key, int dflt)
{
	const aster_node *n = host->map_get(config, key);
	const char *s = n != NULL ? host->scalar(n) : NULL;

	return s != NULL ? atoi(s) : dflt;
}

/*
 * Opens the pool; the start completes through host->started() once one
 * connection has created the tables and prepared its statements, or
 * fails when none could connect within connect_timeout_ms.
 */
static int
pg_start(const struct aster_host *host, struct aster_service *svc,
         const aster_node *config, void **state, const char **cause)
{
	const aster_node *n = host->map_get(config, "dsn");
	const char *dsn = n != NULL ? host->scalar(n) : NULL;
	struct pg_pool *p;

	if (dsn == NULL) {
		*cause = "postgres: 'dsn' is required";
		return ASTER_FAILED;
	}
	p = pg_pool_new(host, svc, dsn,
	                config_int(host, config, "pool_size",
	                           DEFAULT_POOL_SIZE),
	                config_int(host, config, "connect_timeout_ms",
	                           DEFAULT_CONNECT_TIMEOUT_MS),
	                config_int(host, config, "queue_timeout_ms",
	                           DEFAULT_QUEUE_TIMEOUT_MS));
	if (p == NULL) {
		*cause = "postgres: out of memory";
		return ASTER_FAILED;
	}
	*state = p;
	return ASTER_PENDING;
}

static void
pg_stop(void *state)
{
	if (state != NULL)
		pg_pool_stop(state);
}

static int
pg_healthy(void *self)
{
	return self != NULL && pg_pool_healthy(self);
}

static const struct aster_store_ops pg_store_ops = {
	.query = pg_query,
	.exec = pg_exec,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.doc_get = pg_doc_get,
	.doc_put = pg_doc_put,
	.doc_delete = pg_doc_delete,
	.doc_list = pg_doc_list,
	.healthy = pg_healthy,
	.publish = pg_publish,
	.subscribe = pg_subscribe,
	.unsubscribe = pg_unsubscribe,
};

ASTER_PROVIDER_DEFINE = {
	.abi = ASTER_PROVIDER_ABI,
	.name = "postgres",
	.description = "State store on PostgreSQL (libpq, asynchronous)",
	.config_keys = pg_keys,
	.validate = pg_validate,
	.start = pg_start,
	.stop = pg_stop,
	.store = &pg_store_ops,
};
