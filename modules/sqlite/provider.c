/*
 * provider.c - the SQLite state store provider (SPEC §8): its
 * descriptor, configuration, start and stop, and the loop side of the
 * store.
 *
 * start() starts one worker thread (worker.c), which opens the database
 * and owns the connection for good; the start ends (host->started) when
 * the open does. The loop never waits on SQLite: the ops
 * queue requests (ops.c), the worker runs them, and an eventfd
 * registered on the service's event_base wakes the loop to run the
 * callbacks here, in the order the worker finished the requests.
 *
 * Teardown may start inside one of our own callbacks (a failed migration
 * stops the product from a store callback), so the store is freed by
 * whoever leaves last: stop(), or the outermost sq_drain() running when
 * stop() was called.
 */
#include "sq.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define SQ_BUSY_DEFAULT_MS 5000

static const struct aster_config_key sq_keys[] = {
	{"path", ASTER_VALUE_PATH, 1, 0, 0,
	 "the database file (created, with its directory, if missing)"},
	{"busy_timeout_ms", ASTER_VALUE_INT, 0, 0, 600000,
	 "how long to wait for a lock held by another process (default 5000)"},
	{NULL, 0, 0, 0, 0, NULL},
};

/* start()'s cause for the core, which copies it at once; the loop
 * thread is the only caller. */
static char sq_cause[PATH_MAX + 512];

/* The key table made sure path is there and a scalar. */
static int
sq_validate(const struct aster_host *host, struct aster_check *chk,
            const aster_node *config)
{
	const aster_node *p = config != NULL ?
	                      host->map_get(config, "path") : NULL;
	const char *v = p != NULL ? host->scalar(p) : NULL;

	if (v != NULL && v[0] == '\0') {
		host->report(chk, p, "sqlite: 'path' must not be empty");
		return 1;
	}
	return 0;
}

/* --- the loop side --- */

/* The end of the start: the core learns it unless a stop came first (the
 * service handle is gone then). started() may stop the store at once. */
static void
sq_started(struct sq_store *s, int ok, const char *error)
{
	struct aster_service *svc = s->svc;

	s->svc = NULL;
	if (svc != NULL)
		s->host->started(svc, ok, ok ? NULL : error != NULL ? error :
		                 "sqlite: cannot open the database");
}

/* Runs r's callback with its outcome, then frees r (and its transaction
 * when this was the transaction's last word). */
void
sq_deliver(struct sq_req *r)
{
	enum aster_store_status st;
	struct aster_store_rows rows;
	int ok;

	sq_result_seal(r);
	st = r->st;
	ok = st == ASTER_STORE_OK;
	switch (r->kind) {
	case SQ_QUERY:
		memset(&rows, 0, sizeof(rows));
		rows.nrows = r->nrows;
		rows.ncols = r->ncols;
		rows.values = r->values;
		rows.lengths = r->lengths;
		rows.changes = r->changes;
		if (r->cb.rows != NULL)
			r->cb.rows(r->arg, st, ok ? &rows : NULL, r->error);
		break;
	case SQ_BEGIN:
		r->cb.txn(r->arg, st, ok ? r->txn : NULL, r->error);
		if (!ok)
			sq_txn_free(r->txn);
		break;
	case SQ_COMMIT:
	case SQ_ROLLBACK:
		if (r->cb.done != NULL)
			r->cb.done(r->arg, st, r->error);
		sq_txn_free(r->txn);
		break;
	case SQ_EXEC:
	case SQ_DOC_DELETE:
	case SQ_PUBLISH:
		if (r->cb.done != NULL)
			r->cb.done(r->arg, st, r->error);
		break;
	case SQ_DOC_GET:
	case SQ_DOC_PUT:
		if (r->cb.doc != NULL)
			r->cb.doc(r->arg, st, ok ? &r->docs[0] : NULL, r->error);
		break;
	case SQ_DOC_LIST:
		if (r->cb.list != NULL)
			r->cb.list(r->arg, st, ok ? r->docs : NULL,
			           ok ? r->ndocs : 0, ok && r->more, r->error);
		break;
	case SQ_OPEN:
		sq_started(r->arg, ok, r->error);
		break;
	case SQ_NOTE:
		sq_note_deliver(r->arg, r->ns, r->value);
		break;
	}
	sq_req_free(r);
}

static void sq_store_free(struct sq_store *s);

/*
 * Delivers the completions on the done queue, one at a time and in
 * order, until it is empty. A callback may call stop(): then stop() has
 * delivered the rest, and the outermost drain frees the store.
 */
static void
sq_drain(struct sq_store *s)
{
	struct sq_req *r;

	s->draining++;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		r = sq_queue_pop(&s->done);
		pthread_mutex_unlock(&s->mu);
		if (r == NULL)
			break;
		sq_deliver(r);
		if (s->stopped)
			break;
	}
	if (--s->draining > 0)
		return;
	if (s->stopped)
		sq_store_free(s);
	else
		sq_subs_sweep(s, 0);
}

/* The eventfd is readable: the worker finished something. */
static void
sq_on_wake(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;
	ssize_t got;

	(void)what;
	got = read(fd, &n, sizeof(n));  /* resets the counter */
	(void)got;
	sq_drain(arg);
}

/* --- start and stop --- */

/* Frees the store's memory; the worker is gone and the database closed. */
static void
sq_store_free(struct sq_store *s)
{
	while (s->txns != NULL)
		sq_txn_free(s->txns);
	sq_subs_sweep(s, 1);
	if (s->ev != NULL)
		event_free(s->ev);
	if (s->efd >= 0)
		close(s->efd);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s);
}

/*
 * Creates the directories above the file at path, like mkdir -p with
 * mode 0750. Returns 0, or -1 with the cause in sq_cause.
 */
static int
sq_mkdir_parents(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n, i;

	if (slash == NULL || slash == path)
		return 0;
	n = (size_t)(slash - path);
	if (n >= sizeof(dir)) {
		snprintf(sq_cause, sizeof(sq_cause), "sqlite: path too long: "
		         "%s", path);
		return -1;
	}
	memcpy(dir, path, n);
	dir[n] = '\0';
	/* Each prefix ending before a '/', then the whole directory. */
	for (i = 1; i <= n; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
			snprintf(sq_cause, sizeof(sq_cause), "sqlite: cannot "
			         "create directory %s: %s", dir,
			         strerror(errno));
			return -1;
		}
		if (i < n)
			dir[i] = '/';
	}
	return 0;
}

/* Reads the config into s; 0, or -1 with the cause in sq_cause. */
static int
sq_read_config(struct sq_store *s, const struct aster_host *host,
               const aster_node *config)
{
	const aster_node *p = NULL, *b = NULL;
	const char *v, *resolved;

	if (config != NULL) {
		p = host->map_get(config, "path");
		b = host->map_get(config, "busy_timeout_ms");
	}
	v = p != NULL ? host->scalar(p) : NULL;

	if (v == NULL || v[0] == '\0') {
		snprintf(sq_cause, sizeof(sq_cause), "sqlite: no 'path' set");
		return -1;
	}
	resolved = host->resolve_path(p, v);
	if ((s->path = strdup(resolved != NULL ? resolved : v)) == NULL) {
		snprintf(sq_cause, sizeof(sq_cause), "sqlite: out of memory");
		return -1;
	}
	s->busy_timeout_ms = SQ_BUSY_DEFAULT_MS;
	v = b != NULL ? host->scalar(b) : NULL;
	if (v != NULL)
		s->busy_timeout_ms = (int)strtol(v, NULL, 10);
	return 0;
}

/* Starts the worker with every signal blocked, so that signals keep
 * going to the loop's thread. Returns 0 or an errno value. */
static int
sq_worker_start(struct sq_store *s)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&s->worker, NULL, sq_worker_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		s->worker_started = 1;
	return rc;
}

/* The wake-up eventfd and its persistent read event on the loop. */
static int
sq_wake_setup(struct sq_store *s, struct aster_service *svc)
{
	struct event_base *base = s->host->event_base(svc);

	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0 || base == NULL)
		return -1;
	s->ev = event_new(base, s->efd, EV_READ | EV_PERSIST, sq_on_wake, s);
	if (s->ev == NULL || event_add(s->ev, NULL) < 0)
		return -1;
	return 0;
}

static void sq_stop(void *state);

/*
 * Starts the worker, which opens the database of `config`: ASTER_PENDING
 * with the store in *state (host->started() follows the open, with a
 * one-line cause naming the file when it failed), or ASTER_FAILED.
 */
static int
sq_start(const struct aster_host *host, struct aster_service *svc,
         const aster_node *config, void **state, const char **cause)
{
	struct sq_store *s;

	*state = NULL;
	*cause = sq_cause;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(sq_cause, sizeof(sq_cause), "sqlite: out of memory");
		return ASTER_FAILED;
	}
	s->host = host;
	s->efd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	atomic_init(&s->stopping, 0);
	atomic_init(&s->healthy, 0);
	if (sq_read_config(s, host, config) < 0 ||
	    sq_mkdir_parents(s->path) < 0)
		goto fail;
	if ((s->open_req = calloc(1, sizeof(*s->open_req))) == NULL) {
		snprintf(sq_cause, sizeof(sq_cause), "sqlite: out of memory");
		goto fail;
	}
	s->open_req->kind = SQ_OPEN;
	s->open_req->arg = s;
	if (sq_wake_setup(s, svc) < 0) {
		snprintf(sq_cause, sizeof(sq_cause), "sqlite: %s: cannot set "
		         "up the event loop wake-up: %s", s->path,
		         strerror(errno));
		goto fail;
	}
	if ((errno = sq_worker_start(s)) != 0) {
		snprintf(sq_cause, sizeof(sq_cause), "sqlite: %s: cannot start "
		         "the worker thread: %s", s->path, strerror(errno));
		goto fail;
	}
	s->svc = svc;
	*state = s;
	*cause = NULL;
	return ASTER_PENDING;
fail:
	free(s->open_req);
	sq_store_free(s);
	return ASTER_FAILED;
}

/*
 * Stops the store: the worker finishes the statement it runs, rolls back
 * the open transaction and closes the database; every request not
 * started is answered UNAVAILABLE, and every callback still due runs
 * before stop() returns (the contract allows them here). Frees the
 * store, or leaves that to the sq_drain() this stop() runs inside.
 */
static void
sq_stop(void *state)
{
	struct sq_store *s = state;

	if (s == NULL || s->stopped)
		return;
	s->svc = NULL;          /* a pending start ends unannounced */
	atomic_store(&s->healthy, 0);
	pthread_mutex_lock(&s->mu);
	atomic_store(&s->stopping, 1);
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
	if (s->worker_started)
		pthread_join(s->worker, NULL);
	s->worker_started = 0;
	/* Callbacks run now may queue more; those complete at once with
	 * UNAVAILABLE, onto the done queue this drain empties. */
	sq_drain(s);
	s->stopped = 1;
	if (s->draining == 0)
		sq_store_free(s);
}

ASTER_PROVIDER_DEFINE = {
	.abi = ASTER_PROVIDER_ABI,
	.name = "sqlite",
	.description = "State store on an embedded SQLite database",
	.config_keys = sq_keys,
	.validate = sq_validate,
	.start = sq_start,
	.stop = sq_stop,
	.store = &sq_store_ops,
};
