/*
 * storecheck.c - a test-only provider that runs the state store contract
 * (aster/store.h) against whatever store its module reaches.
 *
 * Its module `needs: [state-store]`. The start hook takes the store with
 * host->store(), answers ASTER_PENDING and runs the scenarios below on
 * the service's event loop, one after another. Each scenario is a chain of
 * store calls, written as a function of its step number: every callback
 * records its answer in struct sc_res and calls the scenario again with
 * the next step, which first asserts the answer and then makes the next
 * call. The first failed assertion ends the start with
 * host->started(svc, 0, "storecheck: SCENARIO: step N (WHAT): DETAIL");
 * when every scenario passed, each has logged "storecheck: SCENARIO ok"
 * on stderr and the start ends with host->started(svc, 1, NULL).
 *
 * Checked on every call: it returns 0 (-1 only where a scenario says so),
 * its callback runs exactly once and never inside the call itself (a flag
 * is set around each call), and the status is the documented one.
 *
 * Tables and namespaces carry a tag unique to the run, so the checks can
 * run again and again against the same database; the tables are dropped
 * at the end, the documents stay.
 *
 * Config (all optional): timeout_ms, how long all scenarios may take
 * before the start fails naming the scenario that hung (default 25000,
 * under the core's 30 s start timeout); peer_channel, a notification
 * channel shared with another asterd on the same database: the last
 * scenario, `peer`, then subscribes to it and publishes "hello TAG MS"
 * on it every 100 ms for as long as the service runs, and the start
 * ends once a hello of another node arrived (see scen_peer for the log
 * lines it writes).
 */
#include <aster/provider.h>
#include <aster/store.h>

#include <event2/event.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SC "storecheck: "
#define SC_MANY 200             /* concurrent puts of distinct keys */
#define SC_SAME 50              /* concurrent puts of one key */
#define SC_SAME_ROUNDS 3        /* ... in as many rounds */
#define SC_RACE 20              /* concurrent creates of one key */
#define SC_BIG (64 * 1024)      /* bytes of the large document */
#define SC_SERIES 1000          /* rows of the generated result */
#define SC_TIMEOUT_MS 25000
#define SC_NSUBS 5              /* the notify scenario's subscribers */
#define SC_PAYLOAD_MAX 7999     /* store.h */
#define SC_HEARD_MS 5000        /* how long a notification may take */
#define SC_PEER_EVERY_MS 100

struct sc;

/* One call: the arg of its callback, kept until the state is freed. */
struct sc_call {
	struct sc_call *next;
	struct sc *sc;
	int answers;
	int slot;                   /* -1: the step's call, -2: the side
	                               call, else a batch index */
};

struct sc_doc {
	char *key;
	char *value;
	size_t len;
	uint64_t version;
	int created;
};

/* What the last answered call gave, copied out of the callback. */
struct sc_res {
	enum aster_store_status st;
	char *error;
	int has_rows;
	size_t nrows, ncols;
	char **values;
	size_t *lengths;
	uint64_t changes;
	struct aster_txn *txn;
	int has_doc;
	struct sc_doc doc;
	int has_list;
	struct sc_doc *docs;
	size_t ndocs;
	int more;
};

struct sc_batch {
	enum aster_store_status st;
	uint64_t version;
	int created;
};

typedef void (*sc_scenario_fn)(struct sc *sc, int step);

struct sc_scenario {
	const char *name;
	sc_scenario_fn fn;
};

/* A subscriber of the notify or peer scenario: what it heard. */
struct sc_sub {
	struct sc *sc;
	const char *name;
	const char *channel;        /* points into struct sc */
	int subscribed;
	int synced;                 /* heard "sync" */
	int lost;                   /* NULLs heard after "sync" */
	int self_unsub;             /* unsubscribes at its first payload */
	char log[256];              /* payloads after "sync", comma
	                               separated; "big" for the largest */
};

/* The keys the list scenario writes, and what it got back. */
#define SC_LIST_KEYS 16
struct sc_listed {
	const char *key;
	char value[32];
	uint64_t version;
};

struct sc {
	const struct aster_host *host;
	struct aster_service *svc;
	const struct aster_store *store;
	struct event_base *base;
	struct event *kick;         /* begins the run from the loop */
	struct event *deadline;
	struct event *nap;          /* sc_sleep() */
	struct event *finish;       /* reports the end: sc_on_finish() */
	int timeout_ms;

	char tag[32];
	char table[64];             /* storecheck_TAG: each scenario adds
	                               a suffix */
	char ns[64];                /* storecheck-TAG */
	char nsbuf[96];
	char sql[512];

	size_t scenario;
	int step;
	const char *what;           /* the call being asserted on */
	int in_call;
	int acted;                  /* the step made a call or waits */
	int done;                   /* started() was called */
	int stopped;                /* stop() ran: free when idle */
	int inflight;
	struct sc_call *calls;
	struct sc_res res;

	/* The side call: one more call left running across steps. */
	int side_pending, side_waiting;
	struct sc_res side;

	/* Batches of concurrent calls. */
	struct sc_batch *batch;
	size_t nbatch, batch_left;

	struct aster_txn *txn;
	uint64_t vmax;              /* the greatest version seen written */
	uint64_t v1, v2, v3;
	char *big;
	struct sc_listed listed[SC_LIST_KEYS];
	size_t nlisted;
	size_t page_seen;
	int refused;
	int round;
	char after[64];
	char msg[1024];

	/* notify: channels, subscribers, and what a wait expects. */
	char chan[3][64];
	struct sc_sub subs[SC_NSUBS];
	const char *expect[SC_NSUBS];
	int waiting;                /* 1: for "sync" on every subscriber;
	                               2: for the logs to match expect */
	char *payload;              /* SC_PAYLOAD_MAX bytes */

	/* peer (peer_channel configured) */
	char peer_channel[64];
	struct sc_sub peer;
	struct event *peer_timer;
	int peer_heard;             /* 0, 1 heard, 2 heard then lost */
	int peer_waiting;
};

static void sc_resume(struct sc *sc);
static void sc_pass(struct sc *sc);

/* --- bookkeeping ------------------------------------------------------ */

static const char *
sc_status(enum aster_store_status st)
{
	switch (st) {
	case ASTER_STORE_OK: return "OK";
	case ASTER_STORE_NOT_FOUND: return "NOT_FOUND";
	case ASTER_STORE_CONFLICT: return "CONFLICT";
	case ASTER_STORE_UNAVAILABLE: return "UNAVAILABLE";
	case ASTER_STORE_ERROR: return "ERROR";
	}
	return "(not a status)";
}

static char *
sc_dup(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

static void
sc_doc_clear(struct sc_doc *d)
{
	free(d->key);
	free(d->value);
	memset(d, 0, sizeof(*d));
}

static void
sc_res_clear(struct sc_res *r)
{
	size_t i;

	free(r->error);
	if (r->values != NULL)
		for (i = 0; i < r->nrows * r->ncols; i++)
			free(r->values[i]);
	free(r->values);
	free(r->lengths);
	sc_doc_clear(&r->doc);
	for (i = 0; i < r->ndocs; i++)
		sc_doc_clear(&r->docs[i]);
	free(r->docs);
	memset(r, 0, sizeof(*r));
}

static void
sc_free(struct sc *sc)
{
	free(sc->payload);
	while (sc->calls != NULL) {
		struct sc_call *c = sc->calls;

		sc->calls = c->next;
		free(c);
	}
	sc_res_clear(&sc->res);
	sc_res_clear(&sc->side);
	free(sc->batch);
	free(sc->big);
	free(sc);
}

static const char *sc_scenario_name(const struct sc *sc);
static void sc_finish(struct sc *sc);

/* Ends the start with a failure naming the scenario, the step and the
 * call; later answers are ignored. */
static void sc_fail(struct sc *sc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sc_fail(struct sc *sc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sc->done)
		return;
	sc->done = 1;
	n = snprintf(sc->msg, sizeof(sc->msg), SC "%s: step %d (%s): ",
	             sc_scenario_name(sc), sc->step - 1,
	             sc->what != NULL ? sc->what : "-");
	if (n < 0 || (size_t)n >= sizeof(sc->msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(sc->msg + n, sizeof(sc->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", sc->msg);
	sc->acted = 1;
	sc_finish(sc);
}

/* A new call token; the callback's arg. */
static struct sc_call *
sc_call_new(struct sc *sc, int slot)
{
	struct sc_call *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		sc_fail(sc, "out of memory");
		return NULL;
	}
	sc->acted = 1;
	c->sc = sc;
	c->slot = slot;
	c->next = sc->calls;
	sc->calls = c;
	return c;
}

/* After an op returned rc: -1 means its callback never runs. */
static void
sc_called(struct sc *sc, int rc)
{
	sc->in_call = 0;
	if (rc == 0) {
		sc->inflight++;
		return;
	}
	sc_fail(sc, "the call returned %d, not 0", rc);
}

/*
 * The common part of every callback. Returns 1 when the answer is to be
 * recorded and acted on, 0 when it is to be ignored (the run is over or
 * the service stopped; the state is freed here once idle).
 */
static int
sc_answer(struct sc_call *c)
{
	struct sc *sc = c->sc;

	c->answers++;
	sc->inflight--;
	if (sc->stopped) {
		if (sc->inflight == 0)
			sc_free(sc);
		return 0;
	}
	if (sc->done)
		return 0;
	if (sc->in_call) {
		sc_fail(sc, "a callback ran inside the call that made it");
		return 0;
	}
	if (c->answers > 1) {
		sc_fail(sc, "a callback ran %d times", c->answers);
		return 0;
	}
	return 1;
}

static struct sc_res *
sc_res_of(struct sc_call *c)
{
	struct sc_res *r = c->slot == -2 ? &c->sc->side : &c->sc->res;

	sc_res_clear(r);
	return r;
}

/* Runs the step after an answer: the side call's only when awaited. */
static void
sc_continue(struct sc_call *c)
{
	struct sc *sc = c->sc;

	if (c->slot == -2) {
		sc->side_pending = 0;
		if (!sc->side_waiting)
			return;
		sc->side_waiting = 0;
	}
	sc_resume(sc);
}

static void
sc_set_error(struct sc_res *r, enum aster_store_status st, const char *error)
{
	r->st = st;
	r->error = error != NULL ? strdup(error) : NULL;
}

static void
sc_rows_cb(void *arg, enum aster_store_status st,
           const struct aster_store_rows *rows, const char *error)
{
	struct sc_call *c = arg;
	struct sc_res *r;
	size_t i, n;

	if (!sc_answer(c))
		return;
	r = sc_res_of(c);
	sc_set_error(r, st, error);
	if (rows != NULL) {
		r->has_rows = 1;
		r->nrows = rows->nrows;
		r->ncols = rows->ncols;
		r->changes = rows->changes;
		n = rows->nrows * rows->ncols;
		r->values = calloc(n + 1, sizeof(*r->values));
		r->lengths = calloc(n + 1, sizeof(*r->lengths));
		if (r->values == NULL || r->lengths == NULL) {
			sc_fail(c->sc, "out of memory");
			return;
		}
		for (i = 0; i < n; i++) {
			r->lengths[i] = rows->lengths[i];
			if (rows->values[i] != NULL)
				r->values[i] = sc_dup(rows->values[i],
				                      rows->lengths[i]);
		}
	}
	sc_continue(c);
}

static void
sc_done_cb(void *arg, enum aster_store_status st, const char *error)
{
	struct sc_call *c = arg;

	if (!sc_answer(c))
		return;
	if (c->slot == -3) {        /* a publish left running */
		if (st != ASTER_STORE_OK)
			sc_fail(c->sc, "a publish left running answered "
			        "%s%s%s", sc_status(st), error != NULL ? ": " :
			        "", error != NULL ? error : "");
		return;
	}
	sc_set_error(sc_res_of(c), st, error);
	sc_continue(c);
}

static void
sc_txn_cb(void *arg, enum aster_store_status st, struct aster_txn *txn,
          const char *error)
{
	struct sc_call *c = arg;
	struct sc_res *r;

	if (!sc_answer(c))
		return;
	r = sc_res_of(c);
	sc_set_error(r, st, error);
	r->txn = txn;
	sc_continue(c);
}

static void
sc_doc_copy(struct sc_doc *to, const struct aster_doc *d)
{
	to->key = d->key != NULL ? strdup(d->key) : NULL;
	to->value = d->value != NULL ? sc_dup(d->value, d->len) : NULL;
	to->len = d->len;
	to->version = d->version;
	to->created = d->created;
}

static void
sc_doc_cb(void *arg, enum aster_store_status st, const struct aster_doc *doc,
          const char *error)
{
	struct sc_call *c = arg;
	struct sc *sc = c->sc;
	struct sc_res *r;

	if (!sc_answer(c))
		return;
	if (c->slot >= 0) {
		sc->batch[c->slot].st = st;
		sc->batch[c->slot].version = doc != NULL ? doc->version : 0;
		sc->batch[c->slot].created = doc != NULL ? doc->created : -1;
		if (--sc->batch_left == 0)
			sc_resume(sc);
		return;
	}
	r = sc_res_of(c);
	sc_set_error(r, st, error);
	if (doc != NULL) {
		r->has_doc = 1;
		sc_doc_copy(&r->doc, doc);
	}
	sc_continue(c);
}

static void
sc_list_cb(void *arg, enum aster_store_status st, const struct aster_doc *docs,
           size_t n, int more, const char *error)
{
	struct sc_call *c = arg;
	struct sc_res *r;
	size_t i;

	if (!sc_answer(c))
		return;
	r = sc_res_of(c);
	sc_set_error(r, st, error);
	r->has_list = 1;
	r->more = more;
	if (n > 0) {
		if (docs == NULL) {
			sc_fail(c->sc, "%zu documents listed, docs is NULL", n);
			return;
		}
		r->docs = calloc(n, sizeof(*r->docs));
		if (r->docs == NULL) {
			sc_fail(c->sc, "out of memory");
			return;
		}
		r->ndocs = n;
		for (i = 0; i < n; i++)
			sc_doc_copy(&r->docs[i], &docs[i]);
	}
	sc_continue(c);
}

/* --- making calls ----------------------------------------------------- */

#define OPS (sc->store->ops)
#define SELF (sc->store->self)

static void
sc_query(struct sc *sc, const char *what, struct aster_txn *txn,
         const char *sql, size_t n, const char *const *params)
{
	struct sc_call *c = sc_call_new(sc, -1);

	sc->what = what;
	if (c == NULL)
		return;
	sc->in_call = 1;
	sc_called(sc, OPS->query(SELF, txn, sql, n, params, sc_rows_cb, c));
}

static void
sc_exec(struct sc *sc, const char *what, struct aster_txn *txn,
        const char *script)
{
	struct sc_call *c = sc_call_new(sc, -1);

	sc->what = what;
	if (c == NULL)
		return;
	sc->in_call = 1;
	sc_called(sc, OPS->exec(SELF, txn, script, sc_done_cb, c));
}

static void
sc_begin(struct sc *sc, const char *what, const char *lock, int side)
{
	struct sc_call *c = sc_call_new(sc, side ? -2 : -1);

	if (!side)
		sc->what = what;
	if (c == NULL)
		return;
	if (side)
		sc->side_pending = 1;
	sc->in_call = 1;
	sc_called(sc, OPS->begin(SELF, lock, sc_txn_cb, c));
}

static void
sc_end(struct sc *sc, const char *what, struct aster_txn *txn, int commit)
{
	struct sc_call *c = sc_call_new(sc, -1);

	sc->what = what;
	if (c == NULL)
		return;
	sc->in_call = 1;
	if (commit)
		sc_called(sc, OPS->commit(SELF, txn, sc_done_cb, c));
	else
		sc_called(sc, OPS->rollback(SELF, txn, sc_done_cb, c));
}

static void
sc_get(struct sc *sc, const char *what, const char *ns, const char *key)
{
	struct sc_call *c = sc_call_new(sc, -1);

	sc->what = what;
	if (c == NULL)
		return;
	sc->in_call = 1;
	sc_called(sc, OPS->doc_get(SELF, ns, key, sc_doc_cb, c));
}

static void
sc_put(struct sc *sc, const char *what, const char *ns, const char *key,
       const char *value, enum aster_doc_cond cond, uint64_t version)
{
	struct sc_call *c = sc_call_new(sc, -1);

	sc->what = what;
	if (c == NULL)
		return;
	sc->in_call = 1;
	sc_called(sc, OPS->doc_put(SELF, ns, key, value, strlen(value), cond,
	                           version, sc_doc_cb, c));
}

static void
sc_delete(struct sc *sc, const char *what, const char *ns, const char *key,
          enum aster_doc_cond cond, uint64_t version)
{
	struct sc_call *c = sc_call_new(sc, -1);

	sc->what = what;
	if (c == NULL)
		return;
	sc->in_call = 1;
	sc_called(sc, OPS->doc_delete(SELF, ns, key, cond, version,
	                              sc_done_cb, c));
}

static void
sc_list(struct sc *sc, const char *what, const char *ns, const char *prefix,
        const char *after, size_t limit)
{
	struct sc_call *c = sc_call_new(sc, -1);

	sc->what = what;
	if (c == NULL)
		return;
	sc->in_call = 1;
	sc_called(sc, OPS->doc_list(SELF, ns, prefix, after, limit,
	                            sc_list_cb, c));
}

/* A query left running while the steps go on (sc->side). */
static void
sc_side_query(struct sc *sc, const char *sql, size_t n,
              const char *const *params)
{
	struct sc_call *c = sc_call_new(sc, -2);

	if (c == NULL)
		return;
	sc->side_pending = 1;
	sc->in_call = 1;
	sc_called(sc, OPS->query(SELF, NULL, sql, n, params, sc_rows_cb, c));
}

/* A publish whose answer drives the step (background 0), or one left
 * running whose answer only has to be OK while the run goes on. */
static void
sc_publish(struct sc *sc, const char *what, struct aster_txn *txn,
           const char *channel, const char *payload, int background)
{
	struct sc_call *c = sc_call_new(sc, background ? -3 : -1);

	if (!background)
		sc->what = what;
	if (c == NULL)
		return;
	sc->in_call = 1;
	sc_called(sc, OPS->publish(SELF, txn, channel, payload, sc_done_cb,
	                           c));
}

/* Steps on once the side call has answered (at once if it has). */
static void
sc_await_side(struct sc *sc)
{
	sc->acted = 1;
	if (sc->side_pending)
		sc->side_waiting = 1;
	else
		sc_resume(sc);
}

static void
sc_batch_new(struct sc *sc, size_t n)
{
	free(sc->batch);
	sc->batch = calloc(n, sizeof(*sc->batch));
	sc->nbatch = sc->batch != NULL ? n : 0;
	sc->batch_left = sc->nbatch;
	if (sc->batch == NULL)
		sc_fail(sc, "out of memory");
}

static void
sc_batch_put(struct sc *sc, size_t i, const char *ns, const char *key,
             const char *value, enum aster_doc_cond cond)
{
	struct sc_call *c = sc_call_new(sc, (int)i);

	if (c == NULL)
		return;
	sc->in_call = 1;
	sc_called(sc, OPS->doc_put(SELF, ns, key, value, strlen(value), cond,
	                           0, sc_doc_cb, c));
}

static void
sc_on_nap(evutil_socket_t fd, short what, void *arg)
{
	struct sc *sc = arg;

	(void)fd;
	(void)what;
	sc->waiting = 0;    /* a wait that timed out: the step says why */
	sc_resume(sc);
}

/* Steps on after ms milliseconds. */
static void
sc_sleep(struct sc *sc, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	sc->acted = 1;
	evtimer_add(sc->nap, &tv);
}

/* --- asserting -------------------------------------------------------- */

#define EXPECT(cond, ...) \
	do { \
		if (!(cond)) { \
			sc_fail(sc, __VA_ARGS__); \
			return; \
		} \
	} while (0)

/* The last answer's status is want. */
#define EXPECT_ST(want) \
	EXPECT(sc->res.st == (want), "%s, expected %s%s%s", \
	       sc_status(sc->res.st), sc_status(want), \
	       sc->res.error != NULL ? "; error: " : "", \
	       sc->res.error != NULL ? sc->res.error : "")

/* OK, and rows came with it. */
#define EXPECT_ROWS(nr, nc) \
	do { \
		EXPECT_ST(ASTER_STORE_OK); \
		EXPECT(sc->res.has_rows, "OK without rows"); \
		EXPECT(sc->res.nrows == (nr), "%zu rows, expected %zu", \
		       sc->res.nrows, (size_t)(nr)); \
		if ((nr) > 0) \
			EXPECT(sc->res.ncols == (nc), "%zu columns, expected " \
			       "%zu", sc->res.ncols, (size_t)(nc)); \
	} while (0)

/* Cell (r, c) of the last rows is the text want (NULL: SQL NULL), with
 * the right length. */
#define EXPECT_CELL(r, c, want) \
	do { \
		const char *got_ = sc->res.values[(r) * sc->res.ncols + (c)]; \
		const char *want_ = (want); \
		if (want_ == NULL) { \
			EXPECT(got_ == NULL, "row %d column %d: '%s', " \
			       "expected NULL", (r), (c), got_); \
		} else { \
			EXPECT(got_ != NULL, "row %d column %d: NULL, " \
			       "expected '%s'", (r), (c), want_); \
			EXPECT(strcmp(got_, want_) == 0, "row %d column %d: " \
			       "'%s', expected '%s'", (r), (c), got_, want_); \
			EXPECT(sc->res.lengths[(r) * sc->res.ncols + (c)] == \
			       strlen(want_), "row %d column %d: length %zu, " \
			       "expected %zu", (r), (c), \
			       sc->res.lengths[(r) * sc->res.ncols + (c)], \
			       strlen(want_)); \
		} \
	} while (0)

#define EXPECT_CHANGES(n) \
	EXPECT(sc->res.changes == (n), "changes %" PRIu64 ", expected %d", \
	       sc->res.changes, (n))

/* A successful write: a document with a version greater than any the
 * store handed out before, and created as expected. */
#define EXPECT_WRITTEN(want_created) \
	do { \
		EXPECT_ST(ASTER_STORE_OK); \
		EXPECT(sc->res.has_doc, "OK without a document"); \
		EXPECT(sc->res.doc.created == (want_created), "created %d, " \
		       "expected %d", sc->res.doc.created, (want_created)); \
		EXPECT(sc->res.doc.version > sc->vmax, "version %" PRIu64 \
		       " is not greater than %" PRIu64 ", handed out before", \
		       sc->res.doc.version, sc->vmax); \
		sc->vmax = sc->res.doc.version; \
	} while (0)

/* A document read back: this value at this version. */
#define EXPECT_DOC(want_value, want_version) \
	do { \
		EXPECT_ST(ASTER_STORE_OK); \
		EXPECT(sc->res.has_doc, "OK without a document"); \
		EXPECT(sc->res.doc.len == strlen(want_value) && \
		       memcmp(sc->res.doc.value, (want_value), \
		              sc->res.doc.len) == 0 && \
		       sc->res.doc.version == (want_version), \
		       "'%.80s' (%zu bytes) version %" PRIu64 ", expected " \
		       "'%.80s' (%zu bytes) version %" PRIu64, \
		       sc->res.doc.value, sc->res.doc.len, \
		       sc->res.doc.version, (want_value), \
		       strlen(want_value), (uint64_t)(want_version)); \
	} while (0)

/* Names a table of this run: storecheck_TAG_suffix (in sc->sql's
 * neighbour, sc->table). */
static const char *
sc_table(struct sc *sc, const char *suffix)
{
	snprintf(sc->table, sizeof(sc->table), "storecheck_%s_%s", sc->tag,
	         suffix);
	return sc->table;
}

/* sc->sql = fmt with every %s replaced by the table (up to four). */
static const char *
sc_sqlf(struct sc *sc, const char *fmt)
{
	const char *t = sc->table;

	snprintf(sc->sql, sizeof(sc->sql), fmt, t, t, t, t);
	return sc->sql;
}

static const char *
sc_nsf(struct sc *sc, const char *suffix)
{
	snprintf(sc->nsbuf, sizeof(sc->nsbuf), "%s-%s", sc->ns, suffix);
	return sc->nsbuf;
}

/* --- the scenarios ---------------------------------------------------- */

/* query: $n parameters and NULLs, rows, lengths, changes. */
static void
scen_query(struct sc *sc, int step)
{
	static const char *const p1[] = {"1", "alpha", NULL};
	static const char *const p2[] = {"2", "b\xc3\xa9ta \xe2\x82\xac", "x"};
	static const char *const p3[] = {"3", "", NULL};
	static const char *const pid2[] = {"2"};
	static const char *const pnull[] = {NULL, "x"};
	static const char *const pupd[] = {"n", "2"};
	static const char *const pdel[] = {"1"};
	static const char *const pnone[] = {"999"};
	static const char *const pmany[] = {"1", "2", "3", "4", "5", "6", "7",
	                                    "8", "9", "10", "11", "12"};
	char n[16];

	sc_table(sc, "q");
	switch (step) {
	case 0:
		sc_query(sc, "create table", NULL, sc_sqlf(sc,
		         "CREATE TABLE %s (id INTEGER PRIMARY KEY, name TEXT, "
		         "note TEXT)"), 0, NULL);
		return;
	case 1:
		EXPECT_ST(ASTER_STORE_OK);
		sc_query(sc, "insert with a NULL parameter", NULL, sc_sqlf(sc,
		         "INSERT INTO %s (id, name, note) VALUES ($1, $2, $3)"),
		         3, p1);
		return;
	case 2:
		EXPECT_ROWS(0, 0);
		EXPECT_CHANGES(1);
		sc_query(sc, "insert multibyte text", NULL, sc_sqlf(sc,
		         "INSERT INTO %s (id, name, note) VALUES ($1, $2, $3)"),
		         3, p2);
		return;
	case 3:
		EXPECT_ROWS(0, 0);
		EXPECT_CHANGES(1);
		sc_query(sc, "insert an empty string", NULL, sc_sqlf(sc,
		         "INSERT INTO %s (id, name, note) VALUES ($1, $2, $3)"),
		         3, p3);
		return;
	case 4:
		EXPECT_CHANGES(1);
		sc_query(sc, "select all", NULL, sc_sqlf(sc,
		         "SELECT id, name, note FROM %s ORDER BY id"), 0, NULL);
		return;
	case 5:
		EXPECT_ROWS(3, 3);
		EXPECT_CELL(0, 0, "1");
		EXPECT_CELL(0, 1, "alpha");
		EXPECT_CELL(0, 2, NULL);
		EXPECT_CELL(1, 0, "2");
		EXPECT_CELL(1, 1, "b\xc3\xa9ta \xe2\x82\xac");
		EXPECT_CELL(1, 2, "x");
		EXPECT_CELL(2, 0, "3");
		EXPECT_CELL(2, 1, "");
		EXPECT_CELL(2, 2, NULL);
		EXPECT(sc->res.changes == 0, "a SELECT reports %" PRIu64
		       " changes", sc->res.changes);
		sc_query(sc, "select by a parameter", NULL, sc_sqlf(sc,
		         "SELECT name FROM %s WHERE id = $1"), 1, pid2);
		return;
	case 6:
		EXPECT_ROWS(1, 1);
		EXPECT_CELL(0, 0, "b\xc3\xa9ta \xe2\x82\xac");
		sc_query(sc, "NULL and text parameters selected back", NULL,
		         "SELECT CAST($1 AS TEXT), CAST($2 AS TEXT)", 2, pnull);
		return;
	case 7:
		EXPECT_ROWS(1, 2);
		EXPECT_CELL(0, 0, NULL);
		EXPECT_CELL(0, 1, "x");
		sc_query(sc, "update two rows", NULL, sc_sqlf(sc,
		         "UPDATE %s SET note = $1 WHERE id >= $2"), 2, pupd);
		return;
	case 8:
		EXPECT_ROWS(0, 0);
		EXPECT_CHANGES(2);
		sc_query(sc, "delete one row", NULL, sc_sqlf(sc,
		         "DELETE FROM %s WHERE id = $1"), 1, pdel);
		return;
	case 9:
		EXPECT_CHANGES(1);
		sc_query(sc, "count", NULL, sc_sqlf(sc,
		         "SELECT count(*) FROM %s WHERE note = 'n'"), 0, NULL);
		return;
	case 10:
		EXPECT_ROWS(1, 1);
		EXPECT_CELL(0, 0, "2");
		sc_query(sc, "select no rows", NULL, sc_sqlf(sc,
		         "SELECT name FROM %s WHERE id = $1"), 1, pnone);
		return;
	case 11:
		EXPECT_ROWS(0, 1);
		sc_query(sc, "twelve parameters", NULL,
		         "SELECT CAST($1 AS TEXT) || CAST($2 AS TEXT) || "
		         "CAST($3 AS TEXT) || CAST($4 AS TEXT) || "
		         "CAST($5 AS TEXT) || CAST($6 AS TEXT) || "
		         "CAST($7 AS TEXT) || CAST($8 AS TEXT) || "
		         "CAST($9 AS TEXT) || CAST($10 AS TEXT) || "
		         "CAST($11 AS TEXT) || CAST($12 AS TEXT)", 12, pmany);
		return;
	case 12:
		EXPECT_ROWS(1, 1);
		EXPECT_CELL(0, 0, "123456789101112");
		snprintf(sc->sql, sizeof(sc->sql), "WITH RECURSIVE n(i) AS "
		         "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
		         "SELECT i, 'row ' || i FROM n ORDER BY i", SC_SERIES);
		sc_query(sc, "a thousand generated rows", NULL, sc->sql, 0,
		         NULL);
		return;
	case 13:
		EXPECT_ROWS(SC_SERIES, 2);
		snprintf(n, sizeof(n), "%d", SC_SERIES);
		EXPECT_CELL(0, 0, "1");
		EXPECT_CELL(SC_SERIES - 1, 0, n);
		snprintf(n, sizeof(n), "row %d", SC_SERIES);
		EXPECT_CELL(SC_SERIES - 1, 1, n);
		sc_pass(sc);
		return;
	}
}

/* exec: a script of several statements, all or nothing. */
static void
scen_exec(struct sc *sc, int step)
{
	sc_table(sc, "e");
	switch (step) {
	case 0:
		sc_exec(sc, "a script of three statements", NULL, sc_sqlf(sc,
		        "CREATE TABLE %s (k TEXT PRIMARY KEY, v TEXT);\n"
		        "INSERT INTO %s (k, v) VALUES ('a', '1');\n"
		        "INSERT INTO %s (k, v) VALUES ('b', 'semi;colon');"));
		return;
	case 1:
		EXPECT_ST(ASTER_STORE_OK);
		sc_query(sc, "read the script's rows", NULL, sc_sqlf(sc,
		         "SELECT k, v FROM %s ORDER BY k"), 0, NULL);
		return;
	case 2:
		EXPECT_ROWS(2, 2);
		EXPECT_CELL(0, 0, "a");
		EXPECT_CELL(0, 1, "1");
		EXPECT_CELL(1, 0, "b");
		EXPECT_CELL(1, 1, "semi;colon");
		sc_exec(sc, "a script failing in its second statement", NULL,
		        sc_sqlf(sc, "INSERT INTO %s (k, v) VALUES ('c', '3');"
		        " INSERT INTO %s (k, v) VALUES ('a', 'again')"));
		return;
	case 3:
		EXPECT_ST(ASTER_STORE_ERROR);
		EXPECT(sc->res.error != NULL && sc->res.error[0] != '\0',
		       "ERROR without a message");
		sc_query(sc, "nothing of the failed script stays", NULL,
		         sc_sqlf(sc, "SELECT count(*) FROM %s"), 0, NULL);
		return;
	case 4:
		EXPECT_ROWS(1, 1);
		EXPECT_CELL(0, 0, "2");
		sc_pass(sc);
		return;
	}
}

/* errors: what the database refuses is ERROR, with a message. */
static void
scen_errors(struct sc *sc, int step)
{
	static const char *const pdup[] = {"a"};

	sc_table(sc, "e");
	switch (step) {
	case 0:
		sc_query(sc, "select from a missing table", NULL, sc_sqlf(sc,
		         "SELECT * FROM %s_missing"), 0, NULL);
		return;
	case 1:
		EXPECT_ST(ASTER_STORE_ERROR);
		EXPECT(!sc->res.has_rows, "rows with ERROR");
		EXPECT(sc->res.error != NULL && sc->res.error[0] != '\0',
		       "ERROR without a message");
		EXPECT(strchr(sc->res.error, '\n') == NULL, "the message is "
		       "not one line: '%s'", sc->res.error);
		sc_query(sc, "a syntax error", NULL, "SELEC 1", 0, NULL);
		return;
	case 2:
		EXPECT_ST(ASTER_STORE_ERROR);
		EXPECT(!sc->res.has_rows, "rows with ERROR");
		EXPECT(sc->res.error != NULL, "ERROR without a message");
		sc_query(sc, "a primary key violation", NULL, sc_sqlf(sc,
		         "INSERT INTO %s (k, v) VALUES ($1, 'dup')"), 1, pdup);
		return;
	case 3:
		EXPECT_ST(ASTER_STORE_ERROR);
		EXPECT(!sc->res.has_rows, "rows with ERROR");
		sc_exec(sc, "a script with a syntax error", NULL,
		        "CREATE TABLE (;");
		return;
	case 4:
		EXPECT_ST(ASTER_STORE_ERROR);
		/* Transaction control belongs to begin/commit/rollback. */
		sc_query(sc, "a statement opening a transaction", NULL,
		         "BEGIN", 0, NULL);
		return;
	case 5:
		EXPECT_ST(ASTER_STORE_ERROR);
		EXPECT(!sc->res.has_rows, "rows with ERROR");
		sc_query(sc, "a write after the refused BEGIN", NULL,
		         sc_sqlf(sc, "INSERT INTO %s (k, v) VALUES "
		         "('after-begin', 'x')"), 0, NULL);
		return;
	case 6:
		EXPECT_ST(ASTER_STORE_OK);
		EXPECT_CHANGES(1);
		sc_query(sc, "the write is committed, not in a transaction "
		         "left open", NULL, sc_sqlf(sc, "SELECT count(*) FROM %s"
		         " WHERE k = 'after-begin'"), 0, NULL);
		return;
	case 7:
		EXPECT_ROWS(1, 1);
		EXPECT_CELL(0, 0, "1");
		sc_query(sc, "the store still answers", NULL, sc_sqlf(sc,
		         "SELECT v FROM %s WHERE k = $1"), 1, pdup);
		return;
	case 8:
		EXPECT_ROWS(1, 1);
		EXPECT_CELL(0, 0, "1");
		sc_pass(sc);
		return;
	}
}

/* transactions: commit, rollback, a failed statement, isolation. */
static void
scen_transactions(struct sc *sc, int step)
{
	static const char *const pa[] = {"a"};
	static const char *const pd[] = {"d"};
	static const char *const pz[] = {"z"};
	static const char *const pw[] = {"w"};

	sc_table(sc, "t");
	switch (step) {
	case 0:
		sc_query(sc, "create table", NULL, sc_sqlf(sc,
		         "CREATE TABLE %s (k TEXT PRIMARY KEY, v TEXT)"), 0,
		         NULL);
		return;
	case 1:
		EXPECT_ST(ASTER_STORE_OK);
		sc_begin(sc, "begin", NULL, 0);
		return;
	case 2:
		EXPECT_ST(ASTER_STORE_OK);
		EXPECT(sc->res.txn != NULL, "OK without a transaction");
		sc->txn = sc->res.txn;
		sc_query(sc, "insert in the transaction", sc->txn, sc_sqlf(sc,
		         "INSERT INTO %s (k, v) VALUES ($1, '1')"), 1, pa);
		return;
	case 3:
		EXPECT_ROWS(0, 0);
		EXPECT_CHANGES(1);
		sc_query(sc, "the transaction sees its own write", sc->txn,
		         sc_sqlf(sc, "SELECT v FROM %s WHERE k = $1"), 1, pa);
		return;
	case 4:
		EXPECT_ROWS(1, 1);
		EXPECT_CELL(0, 0, "1");
		sc_end(sc, "commit", sc->txn, 1);
		sc->txn = NULL;
		return;
	case 5:
		EXPECT_ST(ASTER_STORE_OK);
		sc_query(sc, "the commit is visible", NULL, sc_sqlf(sc,
		         "SELECT v FROM %s WHERE k = $1"), 1, pa);
		return;
	case 6:
		EXPECT_ROWS(1, 1);
		EXPECT_CELL(0, 0, "1");
		sc_begin(sc, "begin for rollback", NULL, 0);
		return;
	case 7:
		EXPECT_ST(ASTER_STORE_OK);
		EXPECT(sc->res.txn != NULL, "OK without a transaction");
		sc->txn = sc->res.txn;
		sc_query(sc, "insert to roll back", sc->txn, sc_sqlf(sc,
		         "INSERT INTO %s (k, v) VALUES ('b', '2')"), 0, NULL);
		return;
	case 8:
		EXPECT_ST(ASTER_STORE_OK);
		sc_exec(sc, "a script in the transaction", sc->txn, sc_sqlf(sc,
		        "INSERT INTO %s (k, v) VALUES ('c', '3');\n"
		        "UPDATE %s SET v = 'changed' WHERE k = 'a'"));
		return;
	case 9:
		EXPECT_ST(ASTER_STORE_OK);
		sc_end(sc, "rollback", sc->txn, 0);
		sc->txn = NULL;
		return;
	case 10:
		EXPECT_ST(ASTER_STORE_OK);
		sc_query(sc, "nothing of the rolled back transaction", NULL,
		         sc_sqlf(sc, "SELECT k, v FROM %s ORDER BY k"), 0, NULL);
		return;
	case 11:
		EXPECT_ROWS(1, 2);
		EXPECT_CELL(0, 0, "a");
		EXPECT_CELL(0, 1, "1");
		sc_begin(sc, "begin for a failing statement", NULL, 0);
		return;
	case 12:
		EXPECT_ST(ASTER_STORE_OK);
		EXPECT(sc->res.txn != NULL, "OK without a transaction");
		sc->txn = sc->res.txn;
		sc_query(sc, "insert before the failure", sc->txn, sc_sqlf(sc,
		         "INSERT INTO %s (k, v) VALUES ($1, '4')"), 1, pd);
		return;
	case 13:
		EXPECT_ST(ASTER_STORE_OK);
		sc_query(sc, "a failing statement in the transaction", sc->txn,
		         sc_sqlf(sc, "INSERT INTO %s (k, v) VALUES ($1, 'dup')"),
		         1, pa);
		return;
	case 14:
		EXPECT_ST(ASTER_STORE_ERROR);
		EXPECT(!sc->res.has_rows, "rows with ERROR");
		/* commit rolls back and answers the statement's status. */
		sc_end(sc, "commit after a failed statement", sc->txn, 1);
		sc->txn = NULL;
		return;
	case 15:
		EXPECT_ST(ASTER_STORE_ERROR);
		sc_query(sc, "nothing of the failed transaction committed",
		         NULL, sc_sqlf(sc, "SELECT count(*) FROM %s WHERE "
		         "k = $1"), 1, pd);
		return;
	case 16:
		EXPECT_ROWS(1, 1);
		EXPECT_CELL(0, 0, "0");
		sc_begin(sc, "begin for isolation", NULL, 0);
		return;
	case 17:
		EXPECT_ST(ASTER_STORE_OK);
		EXPECT(sc->res.txn != NULL, "OK without a transaction");
		sc->txn = sc->res.txn;
		sc_query(sc, "an uncommitted insert", sc->txn, sc_sqlf(sc,
		         "INSERT INTO %s (k, v) VALUES ($1, '5')"), 1, pz);
		return;
	case 18:
		EXPECT_ST(ASTER_STORE_OK);
		/* Statements outside the transaction run in their own:
		 * they never see its writes, and the rollback never takes
		 * theirs with it. */
		sc_side_query(sc, sc_sqlf(sc, "INSERT INTO %s (k, v) "
		              "VALUES ($1, '6')"), 1, pw);
		sc_end(sc, "rollback while a statement outside runs",
		       sc->txn, 0);
		sc->txn = NULL;
		return;
	case 19:
		EXPECT_ST(ASTER_STORE_OK);
		sc->what = "an insert outside a rolled back transaction";
		sc_await_side(sc);
		return;
	case 20:
		EXPECT(sc->side.st == ASTER_STORE_OK, "%s, expected OK%s%s",
		       sc_status(sc->side.st), sc->side.error ? ": " : "",
		       sc->side.error ? sc->side.error : "");
		EXPECT(sc->side.changes == 1, "changes %" PRIu64 ", expected 1",
		       sc->side.changes);
		sc_query(sc, "what the rollback kept", NULL, sc_sqlf(sc,
		         "SELECT k FROM %s WHERE k IN ('w', 'z') ORDER BY k"),
		         0, NULL);
		return;
	case 21:
		EXPECT(sc->res.nrows != 2, "the rolled back insert of 'z' "
		       "was committed");
		EXPECT(sc->res.nrows != 0, "the insert of 'w', made outside "
		       "the transaction and answered OK, was rolled back with "
		       "it");
		EXPECT_ROWS(1, 1);
		EXPECT_CELL(0, 0, "w");
		sc_pass(sc);
		return;
	}
}

/* locks: begin with a lock name excludes a second begin of that name
 * until the first transaction ends. */
static void
scen_locks(struct sc *sc, int step)
{
	static const char *const pl[] = {"l"};
	char lock[64];

	snprintf(lock, sizeof(lock), "storecheck-%s", sc->tag);
	sc_table(sc, "t");
	switch (step) {
	case 0:
		sc_begin(sc, "begin with a lock", lock, 0);
		return;
	case 1:
		EXPECT_ST(ASTER_STORE_OK);
		EXPECT(sc->res.txn != NULL, "OK without a transaction");
		sc->txn = sc->res.txn;
		sc_begin(sc, NULL, lock, 1);
		sc_query(sc, "write while holding the lock", sc->txn,
		         sc_sqlf(sc, "INSERT INTO %s (k, v) VALUES ($1, '7')"),
		         1, pl);
		return;
	case 2:
		EXPECT_ST(ASTER_STORE_OK);
		EXPECT_CHANGES(1);
		/* Give a wrongly granted second lock time to show. */
		sc_sleep(sc, 200);
		return;
	case 3:
		sc->what = "a second begin with the same lock";
		EXPECT(sc->side_pending, "it answered %s while the first "
		       "transaction held the lock", sc_status(sc->side.st));
		sc_end(sc, "commit, releasing the lock", sc->txn, 1);
		sc->txn = NULL;
		return;
	case 4:
		EXPECT_ST(ASTER_STORE_OK);
		sc->what = "the second begin once the lock was released";
		sc_await_side(sc);
		return;
	case 5:
		EXPECT(sc->side.st == ASTER_STORE_OK && sc->side.txn != NULL,
		       "%s, expected OK with a transaction%s%s",
		       sc_status(sc->side.st), sc->side.error ? ": " : "",
		       sc->side.error ? sc->side.error : "");
		sc->txn = sc->side.txn;
		sc_query(sc, "the second holder sees the first's commit",
		         sc->txn, sc_sqlf(sc, "SELECT v FROM %s WHERE k = $1"),
		         1, pl);
		return;
	case 6:
		EXPECT_ROWS(1, 1);
		EXPECT_CELL(0, 0, "7");
		sc_end(sc, "commit the second", sc->txn, 1);
		sc->txn = NULL;
		return;
	case 7:
		EXPECT_ST(ASTER_STORE_OK);
		sc_pass(sc);
		return;
	}
}

/* documents: get, put and delete with each condition, versions. */
static void
scen_documents(struct sc *sc, int step)
{
	const char *ns = sc_nsf(sc, "docs");
	size_t i;

	switch (step) {
	case 0:
		sc_get(sc, "get a missing key", ns, "k1");
		return;
	case 1:
		EXPECT_ST(ASTER_STORE_NOT_FOUND);
		EXPECT(!sc->res.has_doc, "NOT_FOUND with a document");
		sc_put(sc, "put ANY creates", ns, "k1", "{\"a\":1}",
		       ASTER_DOC_ANY, 0);
		return;
	case 2:
		EXPECT_WRITTEN(1);
		EXPECT(sc->res.doc.version > 0, "version 0");
		sc->v1 = sc->res.doc.version;
		sc_get(sc, "get what was put", ns, "k1");
		return;
	case 3:
		EXPECT_DOC("{\"a\":1}", sc->v1);
		EXPECT(sc->res.doc.key != NULL &&
		       strcmp(sc->res.doc.key, "k1") == 0, "key '%s', "
		       "expected 'k1'", sc->res.doc.key);
		sc_put(sc, "put ANY replaces", ns, "k1", "{\"a\":2}",
		       ASTER_DOC_ANY, 0);
		return;
	case 4:
		EXPECT_WRITTEN(0);
		sc->v2 = sc->res.doc.version;
		sc_put(sc, "put ABSENT on an existing key", ns, "k1",
		       "{\"a\":\"no\"}", ASTER_DOC_ABSENT, 0);
		return;
	case 5:
		EXPECT_ST(ASTER_STORE_CONFLICT);
		EXPECT(!sc->res.has_doc, "CONFLICT with a document");
		sc_put(sc, "put ABSENT on a new key", ns, "k2", "[1,2,3]",
		       ASTER_DOC_ABSENT, 0);
		return;
	case 6:
		EXPECT_WRITTEN(1);
		sc_put(sc, "put VERSION with the current version", ns, "k1",
		       "{\"a\":3}", ASTER_DOC_VERSION, sc->v2);
		return;
	case 7:
		EXPECT_WRITTEN(0);
		sc->v3 = sc->res.doc.version;
		sc_put(sc, "put VERSION with a stale version", ns, "k1",
		       "{\"a\":\"stale\"}", ASTER_DOC_VERSION, sc->v2);
		return;
	case 8:
		EXPECT_ST(ASTER_STORE_CONFLICT);
		sc_get(sc, "a refused put changed nothing", ns, "k1");
		return;
	case 9:
		EXPECT_DOC("{\"a\":3}", sc->v3);
		sc_put(sc, "put VERSION on a missing key", ns, "nokey",
		       "{}", ASTER_DOC_VERSION, sc->v3);
		return;
	case 10:
		EXPECT_ST(ASTER_STORE_CONFLICT);
		sc_get(sc, "the refused put created nothing", ns, "nokey");
		return;
	case 11:
		EXPECT_ST(ASTER_STORE_NOT_FOUND);
		sc_delete(sc, "delete ANY a missing key", ns, "nokey",
		          ASTER_DOC_ANY, 0);
		return;
	case 12:
		EXPECT_ST(ASTER_STORE_NOT_FOUND);
		sc_delete(sc, "delete VERSION with a stale version", ns, "k1",
		          ASTER_DOC_VERSION, sc->v2);
		return;
	case 13:
		EXPECT_ST(ASTER_STORE_CONFLICT);
		sc_get(sc, "a refused delete deleted nothing", ns, "k1");
		return;
	case 14:
		EXPECT_DOC("{\"a\":3}", sc->v3);
		sc_delete(sc, "delete VERSION with the current version", ns,
		          "k1", ASTER_DOC_VERSION, sc->v3);
		return;
	case 15:
		EXPECT_ST(ASTER_STORE_OK);
		sc_get(sc, "get a deleted key", ns, "k1");
		return;
	case 16:
		EXPECT_ST(ASTER_STORE_NOT_FOUND);
		sc_delete(sc, "delete VERSION a deleted key", ns, "k1",
		          ASTER_DOC_VERSION, sc->v3);
		return;
	case 17:
		EXPECT_ST(ASTER_STORE_CONFLICT);
		sc_put(sc, "re-create a deleted key", ns, "k1", "{\"a\":4}",
		       ASTER_DOC_ABSENT, 0);
		return;
	case 18:
		/* Greater than every version before, the deleted one's
		 * included: an ETag never names two contents. */
		EXPECT_WRITTEN(1);
		sc_put(sc, "VERSION with the deleted document's version", ns,
		       "k1", "{\"a\":5}", ASTER_DOC_VERSION, sc->v3);
		return;
	case 19:
		EXPECT_ST(ASTER_STORE_CONFLICT);
		sc_delete(sc, "delete ANY", ns, "k2", ASTER_DOC_ANY, 0);
		return;
	case 20:
		EXPECT_ST(ASTER_STORE_OK);
		sc_get(sc, "the same key in another namespace", sc_nsf(sc,
		       "other"), "k1");
		return;
	case 21:
		EXPECT_ST(ASTER_STORE_NOT_FOUND);
		sc->big = malloc(SC_BIG + 1);
		EXPECT(sc->big != NULL, "out of memory");
		sc->big[0] = '"';
		for (i = 1; i < SC_BIG - 1; i++)
			sc->big[i] = (char)('a' + i % 26);
		memcpy(sc->big + 100, "\xc3\xa9\\\"\xf0\x9f\x98\x80", 9);
		sc->big[SC_BIG - 1] = '"';
		sc->big[SC_BIG] = '\0';
		sc_put(sc, "put a 64 KiB document", ns, "big", sc->big,
		       ASTER_DOC_ANY, 0);
		return;
	case 22:
		EXPECT_WRITTEN(1);
		sc->v1 = sc->res.doc.version;
		sc_get(sc, "get the 64 KiB document", ns, "big");
		return;
	case 23:
		EXPECT_DOC(sc->big, sc->v1);
		free(sc->big);
		sc->big = NULL;
		sc_put(sc, "a multibyte key", ns, "cl\xc3\xa9 \xe2\x82\xac",
		       "\"\xe2\x82\xac\"", ASTER_DOC_ANY, 0);
		return;
	case 24:
		EXPECT_WRITTEN(1);
		sc->v1 = sc->res.doc.version;
		sc_get(sc, "get by the multibyte key", ns,
		       "cl\xc3\xa9 \xe2\x82\xac");
		return;
	case 25:
		EXPECT_DOC("\"\xe2\x82\xac\"", sc->v1);
		{
			/* An empty key is not a key: refused with -1 (bad
			 * arguments) or an answer other than OK. */
			struct sc_call *c = sc_call_new(sc, -1);
			int rc;

			if (c == NULL)
				return;
			sc->what = "put an empty key";
			sc->in_call = 1;
			rc = OPS->doc_put(SELF, ns, "", "1", 1, ASTER_DOC_ANY,
			                  0, sc_doc_cb, c);
			sc->in_call = 0;
			sc->refused = rc != 0;
			if (rc != 0) {
				sc_resume(sc);
				return;
			}
			sc->inflight++;
		}
		return;
	case 26:
		if (!sc->refused)
			EXPECT(sc->res.st != ASTER_STORE_OK, "an empty key "
			       "was stored");
		sc_pass(sc);
		return;
	}
}

/* list: byte order, prefixes with LIKE's special characters and
 * multibyte text, `after` paging with `more`, limits. */
static const char *const sc_list_keys[] = {
	"b", "a", "A", "ab", "a_b", "a%b", "a%", "a b", "a/b", "a\\b", "z",
	"\xc3\xa4", "\xc3\xa9", "\xc3\xa9\x61", "\xf0\x9f\x98\x80",
};
#define SC_NLIST (sizeof(sc_list_keys) / sizeof(sc_list_keys[0]))

static const struct {
	const char *prefix, *after;
	size_t limit;
	const char *what;
} sc_list_queries[] = {
	{NULL, NULL, 100, "list everything"},
	{"", NULL, 100, "an empty prefix lists everything"},
	{NULL, NULL, SC_NLIST, "a limit of exactly all"},
	{NULL, NULL, SC_NLIST - 1, "a limit of one less than all"},
	{NULL, NULL, 1, "a limit of one"},
	{NULL, NULL, 0, "a limit of zero: none, and more"},
	{"nomatch", NULL, 0, "a limit of zero, nothing matching"},
	{"a%", NULL, 100, "prefix 'a%' ('%' is no wildcard)"},
	{"a_", NULL, 100, "prefix 'a_' ('_' is no wildcard)"},
	{"a\\", NULL, 100, "prefix 'a\\' (a backslash)"},
	{"a%", "a%", 100, "prefix 'a%' after 'a%'"},
	{"\xc3\xa9", NULL, 100, "a multibyte prefix"},
	{"A", NULL, 100, "prefixes are case-sensitive"},
	{NULL, "b", 100, "after 'b'"},
	{NULL, "\xc3\xa9", 100, "after a multibyte key"},
	{NULL, "\xf0\x9f\x98\x80", 100, "after the last key"},
	{"nomatch", NULL, 100, "a prefix matching nothing"},
};
#define SC_NQUERIES (sizeof(sc_list_queries) / sizeof(sc_list_queries[0]))
#define SC_PAGE 3

static int
sc_cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct sc_listed *)a)->key,
	              ((const struct sc_listed *)b)->key);
}

/* Asserts the last list answer is what (prefix, after, limit) selects of
 * the keys written; fails and returns -1 otherwise. */
static int
sc_check_list(struct sc *sc, const char *prefix, const char *after,
              size_t limit)
{
	size_t plen = prefix != NULL ? strlen(prefix) : 0, i, n = 0, total = 0;
	const struct sc_res *r = &sc->res;

	if (r->st != ASTER_STORE_OK) {
		sc_fail(sc, "%s, expected OK%s%s", sc_status(r->st),
		        r->error ? ": " : "", r->error ? r->error : "");
		return -1;
	}
	for (i = 0; i < sc->nlisted; i++) {
		const struct sc_listed *want = &sc->listed[i];
		const struct sc_doc *got;

		if (strncmp(want->key, prefix != NULL ? prefix : "", plen) != 0 ||
		    (after != NULL && strcmp(want->key, after) <= 0))
			continue;
		total++;
		if (n == limit)
			continue;
		if (n >= r->ndocs) {
			sc_fail(sc, "%zu documents, '%s' missing after them",
			        r->ndocs, want->key);
			return -1;
		}
		got = &r->docs[n++];
		if (got->key == NULL || strcmp(got->key, want->key) != 0) {
			sc_fail(sc, "document %zu is '%s', expected '%s' (byte "
			        "order)", n - 1, got->key, want->key);
			return -1;
		}
		if (got->len != strlen(want->value) ||
		    memcmp(got->value, want->value, got->len) != 0 ||
		    got->version != want->version) {
			sc_fail(sc, "'%s' listed as '%s' version %" PRIu64
			        ", expected '%s' version %" PRIu64, got->key,
			        got->value, got->version, want->value,
			        want->version);
			return -1;
		}
	}
	if (r->ndocs != n) {
		sc_fail(sc, "%zu documents, expected %zu (the first extra is "
		        "'%s')", r->ndocs, n, r->docs[n].key);
		return -1;
	}
	if (r->more != (total > limit)) {
		sc_fail(sc, "more is %d with %zu of %zu matching documents "
		        "listed", r->more, n, total);
		return -1;
	}
	return 0;
}

static void
scen_list(struct sc *sc, int step)
{
	const char *ns = sc_nsf(sc, "list");
	size_t i;
	int q;

	if (step > 0 && (size_t)step <= SC_NLIST) {
		/* The answer to the put of key step - 1. */
		EXPECT_WRITTEN(1);
		sc->listed[step - 1].version = sc->res.doc.version;
	}
	if ((size_t)step < SC_NLIST) {
		struct sc_listed *l = &sc->listed[step];

		l->key = sc_list_keys[step];
		snprintf(l->value, sizeof(l->value), "{\"i\":%d}", step);
		sc->nlisted = (size_t)step + 1;
		sc_put(sc, "put a key to list", ns, l->key, l->value,
		       ASTER_DOC_ABSENT, 0);
		return;
	}
	if ((size_t)step == SC_NLIST)
		qsort(sc->listed, sc->nlisted, sizeof(sc->listed[0]),
		      sc_cmp_key);
	q = step - (int)SC_NLIST;
	if (q > 0 && (size_t)q <= SC_NQUERIES &&
	    sc_check_list(sc, sc_list_queries[q - 1].prefix,
	                  sc_list_queries[q - 1].after,
	                  sc_list_queries[q - 1].limit) != 0)
		return;
	if ((size_t)q < SC_NQUERIES) {
		sc_list(sc, sc_list_queries[q].what, ns,
		        sc_list_queries[q].prefix, sc_list_queries[q].after,
		        sc_list_queries[q].limit);
		return;
	}
	if ((size_t)q == SC_NQUERIES) {
		sc->after[0] = '\0';
		sc->page_seen = 0;
		sc_list(sc, "page through prefix 'a', 3 at a time", ns, "a",
		        NULL, SC_PAGE);
		return;
	}
	if ((size_t)q == SC_NQUERIES + 1) {
		/* A page of the paging: check it, then ask for the next. */
		if (sc_check_list(sc, "a", sc->after[0] != '\0' ? sc->after :
		                  NULL, SC_PAGE) != 0)
			return;
		sc->page_seen += sc->res.ndocs;
		if (sc->res.more) {
			EXPECT(sc->res.ndocs == SC_PAGE, "a page of %zu with "
			       "more", sc->res.ndocs);
			snprintf(sc->after, sizeof(sc->after), "%s",
			         sc->res.docs[sc->res.ndocs - 1].key);
			sc->step--;
			sc_list(sc, "page through prefix 'a', 3 at a time",
			        ns, "a", sc->after, SC_PAGE);
			return;
		}
		for (i = 0, q = 0; i < sc->nlisted; i++)
			q += sc->listed[i].key[0] == 'a';
		EXPECT(sc->page_seen == (size_t)q, "the pages held %zu "
		       "documents, %d have the prefix", sc->page_seen, q);
		sc_list(sc, "list an empty namespace", sc_nsf(sc, "empty"),
		        NULL, NULL, 100);
		return;
	}
	EXPECT_ST(ASTER_STORE_OK);
	EXPECT(sc->res.ndocs == 0 && !sc->res.more, "%zu documents, more "
	       "%d, expected none", sc->res.ndocs, sc->res.more);
	sc_pass(sc);
}

static int
sc_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Asserts every write of the batch answered OK with a version greater
 * than any before it and distinct from the others. */
static int
sc_check_batch(struct sc *sc)
{
	uint64_t *v = calloc(sc->nbatch, sizeof(*v));
	size_t i;

	if (v == NULL) {
		sc_fail(sc, "out of memory");
		return -1;
	}
	for (i = 0; i < sc->nbatch; i++) {
		if (sc->batch[i].st != ASTER_STORE_OK) {
			sc_fail(sc, "write %zu of %zu: %s, expected OK", i,
			        sc->nbatch, sc_status(sc->batch[i].st));
			free(v);
			return -1;
		}
		v[i] = sc->batch[i].version;
		if (v[i] <= sc->vmax) {
			sc_fail(sc, "write %zu: version %" PRIu64 " is not "
			        "greater than %" PRIu64 ", handed out before",
			        i, v[i], sc->vmax);
			free(v);
			return -1;
		}
	}
	qsort(v, sc->nbatch, sizeof(*v), sc_cmp_u64);
	for (i = 1; i < sc->nbatch; i++) {
		if (v[i] == v[i - 1]) {
			sc_fail(sc, "two writes got version %" PRIu64, v[i]);
			free(v);
			return -1;
		}
	}
	sc->vmax = v[sc->nbatch - 1];
	free(v);
	return 0;
}

/* SC_SAME puts of key same<round> in flight at once. */
static void
sc_same_batch(struct sc *sc, const char *ns)
{
	char key[16], value[32];
	size_t i;

	sc->what = "50 puts of one key in flight";
	snprintf(key, sizeof(key), "same%d", sc->round);
	sc_batch_new(sc, SC_SAME);
	for (i = 0; i < SC_SAME && !sc->done; i++) {
		snprintf(value, sizeof(value), "{\"w\":%zu}", i);
		sc_batch_put(sc, i, ns, key, value, ASTER_DOC_ANY);
	}
}

/* concurrent: many writes in flight at once. */
static void
scen_concurrent(struct sc *sc, int step)
{
	const char *ns = sc_nsf(sc, "many");
	char key[16], value[32];
	size_t i, n, best;

	switch (step) {
	case 0:
		sc->what = "200 puts of distinct keys in flight";
		sc_batch_new(sc, SC_MANY);
		for (i = 0; i < SC_MANY && !sc->done; i++) {
			snprintf(key, sizeof(key), "c%03zu", i);
			snprintf(value, sizeof(value), "{\"c\":%zu}", i);
			sc_batch_put(sc, i, ns, key, value, ASTER_DOC_ANY);
		}
		return;
	case 1:
		if (sc_check_batch(sc) != 0)
			return;
		for (i = 0; i < SC_MANY; i++)
			EXPECT(sc->batch[i].created == 1, "write %zu: created "
			       "%d, expected 1", i, sc->batch[i].created);
		sc_list(sc, "list the 200 documents", ns, "c", NULL, 1000);
		return;
	case 2:
		EXPECT_ST(ASTER_STORE_OK);
		EXPECT(sc->res.ndocs == SC_MANY && !sc->res.more, "%zu "
		       "documents, more %d, expected %d", sc->res.ndocs,
		       sc->res.more, SC_MANY);
		for (i = 0; i < SC_MANY; i++) {
			snprintf(key, sizeof(key), "c%03zu", i);
			snprintf(value, sizeof(value), "{\"c\":%zu}", i);
			EXPECT(strcmp(sc->res.docs[i].key, key) == 0 &&
			       strcmp(sc->res.docs[i].value, value) == 0 &&
			       sc->res.docs[i].version == sc->batch[i].version,
			       "document %zu: '%s' = '%s' version %" PRIu64
			       ", expected '%s' = '%s' version %" PRIu64, i,
			       sc->res.docs[i].key, sc->res.docs[i].value,
			       sc->res.docs[i].version, key, value,
			       sc->batch[i].version);
		}
		sc->round = 0;
		sc_same_batch(sc, ns);
		return;
	case 3:
		if (sc_check_batch(sc) != 0)
			return;
		for (i = 0, n = 0; i < SC_SAME; i++)
			n += sc->batch[i].created == 1;
		EXPECT(n == 1, "%zu of the writes say they created the key",
		       n);
		snprintf(key, sizeof(key), "same%d", sc->round);
		sc_get(sc, "get the key written 50 times", ns, key);
		return;
	case 4:
		/* The last write wins, and the last write has the greatest
		 * version (greater than any handed out before it). */
		for (i = 1, best = 0; i < SC_SAME; i++)
			if (sc->batch[i].version > sc->batch[best].version)
				best = i;
		snprintf(value, sizeof(value), "{\"w\":%zu}", best);
		EXPECT_DOC(value, sc->batch[best].version);
		if (++sc->round < SC_SAME_ROUNDS) {
			/* Again: the race is a matter of timing. */
			sc->step = 3;
			sc_same_batch(sc, ns);
			return;
		}
		sc->what = "20 creates (ABSENT) of one key in flight";
		sc_batch_new(sc, SC_RACE);
		for (i = 0; i < SC_RACE && !sc->done; i++) {
			snprintf(value, sizeof(value), "{\"r\":%zu}", i);
			sc_batch_put(sc, i, ns, "race", value,
			             ASTER_DOC_ABSENT);
		}
		return;
	case 5:
		for (i = 0, n = 0, best = 0; i < SC_RACE; i++) {
			EXPECT(sc->batch[i].st == ASTER_STORE_OK ||
			       sc->batch[i].st == ASTER_STORE_CONFLICT,
			       "create %zu: %s, expected OK or CONFLICT", i,
			       sc_status(sc->batch[i].st));
			if (sc->batch[i].st == ASTER_STORE_OK) {
				n++;
				best = i;
			}
		}
		EXPECT(n == 1, "%zu creates succeeded, expected exactly 1", n);
		EXPECT(sc->batch[best].created == 1 &&
		       sc->batch[best].version > sc->vmax, "the create: "
		       "created %d, version %" PRIu64 " (greatest before %"
		       PRIu64 ")", sc->batch[best].created,
		       sc->batch[best].version, sc->vmax);
		sc->vmax = sc->batch[best].version;
		sc_pass(sc);
		return;
	}
}

/* --- notifications ------------------------------------------------------ */

/* The callback of a call that answered -1: it must never run. */
static void
sc_refused_cb(void *arg, enum aster_store_status st, const char *error)
{
	struct sc_call *c = arg;

	(void)st;
	(void)error;
	if (sc_answer(c))
		sc_fail(c->sc, "the callback of a call that answered -1 ran");
}

/* A publish that must answer -1 (and so never call back). 0 when it
 * did, else the test has failed. */
static int
sc_publish_refused(struct sc *sc, const char *channel, const char *payload,
                   int with_cb)
{
	struct sc_call *c = sc_call_new(sc, -1);
	int rc;

	if (c == NULL)
		return -1;
	sc->in_call = 1;
	rc = OPS->publish(SELF, NULL, channel, payload,
	                  with_cb ? sc_refused_cb : NULL, c);
	sc->in_call = 0;
	if (rc == 0) {
		sc->inflight++;     /* its answer must still find sc */
		sc_fail(sc, "publish on '%.70s' of %zu bytes answered 0, "
		        "expected -1", channel != NULL ? channel : "(null)",
		        payload != NULL ? strlen(payload) : 0);
		return -1;
	}
	return 0;
}

static int
sc_all_synced(const struct sc *sc)
{
	size_t i;

	for (i = 0; i < SC_NSUBS; i++)
		if (sc->subs[i].subscribed && !sc->subs[i].synced)
			return 0;
	return 1;
}

static int
sc_logs_match(const struct sc *sc)
{
	size_t i;

	for (i = 0; i < SC_NSUBS; i++)
		if (strcmp(sc->subs[i].log, sc->expect[i]) != 0)
			return 0;
	return 1;
}

/* "A heard 'p1' (expected 'p1,t1'); ..." in sc->sql. */
static const char *
sc_logs_describe(struct sc *sc)
{
	size_t i, n = 0;

	sc->sql[0] = '\0';
	for (i = 0; i < SC_NSUBS && n < sizeof(sc->sql); i++) {
		const struct sc_sub *u = &sc->subs[i];
		int w = snprintf(sc->sql + n, sizeof(sc->sql) - n, "%s%s "
		                 "heard '%s' (expected '%s')%s",
		                 i > 0 ? "; " : "", u->name, u->log,
		                 sc->expect[i], u->synced ? "" :
		                 ", not even 'sync'");

		if (w < 0)
			break;
		n += (size_t)w;
	}
	return sc->sql;
}

#define EXPECT_HEARD(why) \
	EXPECT(sc_logs_match(sc), "%s: %s", (why), sc_logs_describe(sc))

/* Ends a wait of the notify scenario once what it waits for is there. */
static void
sc_heard_check(struct sc *sc)
{
	if ((sc->waiting == 1 && sc_all_synced(sc)) ||
	    (sc->waiting == 2 && sc_logs_match(sc))) {
		sc->waiting = 0;
		evtimer_del(sc->nap);
		sc_resume(sc);
	}
}

/* Steps on once every subscriber heard "sync" (kind 1) or the logs
 * match sc->expect (kind 2), or after ms at the latest: the next step
 * asserts which. */
static void
sc_wait_heard(struct sc *sc, int kind, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	sc->acted = 1;
	sc->waiting = kind;
	evtimer_add(sc->nap, &tv);
	sc_heard_check(sc);
}

static void
sc_expect(struct sc *sc, const char *a, const char *e, const char *b,
          const char *c, const char *d)
{
	sc->expect[0] = a;
	sc->expect[1] = e;
	sc->expect[2] = b;
	sc->expect[3] = c;
	sc->expect[4] = d;
}

/* A subscriber of the notify scenario heard payload. */
static void
sc_heard(void *arg, const char *payload)
{
	struct sc_sub *u = arg;
	struct sc *sc = u->sc;
	size_t len, n;
	int rc;

	if (sc->done)
		return;
	if (sc->in_call) {
		sc_fail(sc, "%s heard a notification inside a store call",
		        u->name);
		return;
	}
	if (!u->subscribed) {
		sc_fail(sc, "%s heard '%.40s' after it unsubscribed", u->name,
		        payload != NULL ? payload : "(null)");
		return;
	}
	if (payload == NULL) {
		/* Before "sync": its LISTEN took effect. After: a loss,
		 * which nothing here should cause. */
		if (u->synced)
			u->lost++;
		return;
	}
	if (strcmp(payload, "sync") == 0) {
		u->synced = 1;
		sc_heard_check(sc);
		return;
	}
	len = strlen(payload);
	n = strlen(u->log);
	snprintf(u->log + n, sizeof(u->log) - n, "%s%s", n > 0 ? "," : "",
	         len == SC_PAYLOAD_MAX && sc->payload != NULL &&
	         memcmp(payload, sc->payload, len) == 0 ? "big" : payload);
	if (u->self_unsub) {
		/* From inside its own callback, with others of the channel
		 * still to hear the same notification. */
		u->self_unsub = 0;
		sc->in_call = 1;
		rc = OPS->unsubscribe(SELF, u->channel, sc_heard, u);
		sc->in_call = 0;
		if (rc != 0) {
			sc_fail(sc, "%s unsubscribing in its callback: %d, "
			        "expected 0", u->name, rc);
			return;
		}
		u->subscribed = 0;
	}
	sc_heard_check(sc);
}

/*
 * notify: publish, subscribe and unsubscribe. Subscribers A and B on
 * channel one, E and C on two (E unsubscribes from inside its first
 * callback), D on three (63 bytes, the longest), which also gets the
 * largest payload. Each subscriber logs what it heard; "sync" is
 * published until everyone heard it, since a subscription may take
 * effect a little after subscribe() returned (PostgreSQL's LISTEN).
 */
static void
scen_notify(struct sc *sc, int step)
{
	static const char *const names[SC_NSUBS] = {"A", "E", "B", "C", "D"};
	static const int chan_of[SC_NSUBS] = {0, 1, 0, 1, 2};
	static const char *const bad[] = {
		"", "Upper", "9lives", "dash-ed", "sp ace", "dot.ted",
		"\xc3\xa9t\xc3\xa9", "semi;colon", "quo\"te",
	};
	static const char p2[] = "p2 b\xc3\xa9ta";
	const char *one = sc->chan[0], *two = sc->chan[1], *three = sc->chan[2];
	char longer[80];
	size_t i;

	switch (step) {
	case 0:
		sc->what = "bad arguments answer -1";
		snprintf(sc->chan[0], sizeof(sc->chan[0]), "sc_%s_one", sc->tag);
		snprintf(sc->chan[1], sizeof(sc->chan[1]), "sc_%s_two", sc->tag);
		/* The longest: 63 bytes. */
		i = (size_t)snprintf(sc->chan[2], sizeof(sc->chan[2]),
		                     "sc_%s_three_", sc->tag);
		EXPECT(i < 63, "the tag is too long for a channel name");
		memset(sc->chan[2] + i, 'x', 63 - i);
		sc->chan[2][63] = '\0';
		snprintf(longer, sizeof(longer), "%sx", sc->chan[2]);
		sc->payload = malloc(SC_PAYLOAD_MAX + 2);
		EXPECT(sc->payload != NULL, "out of memory");
		for (i = 0; i <= SC_PAYLOAD_MAX; i++)
			sc->payload[i] = (char)('a' + i % 26);
		sc->payload[SC_PAYLOAD_MAX + 1] = '\0';   /* 8000 bytes */
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]) + 2; i++) {
			const char *b = i < sizeof(bad) / sizeof(bad[0]) ?
			                bad[i] : i == sizeof(bad) / sizeof(bad[0]) ?
			                longer : NULL;

			EXPECT(OPS->subscribe(SELF, b, sc_heard, &sc->subs[0]) ==
			       -1, "subscribe to '%s' answered 0, expected -1",
			       b != NULL ? b : "(null)");
			EXPECT(OPS->unsubscribe(SELF, b, sc_heard,
			       &sc->subs[0]) == -1, "unsubscribe from '%s' "
			       "answered 0, expected -1", b != NULL ? b : "(null)");
			if (sc_publish_refused(sc, b, "x", 1) < 0)
				return;
		}
		if (sc_publish_refused(sc, one, sc->payload, 1) < 0 ||
		    sc_publish_refused(sc, one, NULL, 1) < 0 ||
		    sc_publish_refused(sc, one, "bad \xff utf-8", 1) < 0 ||
		    sc_publish_refused(sc, one, "x", 0) < 0)
			return;
		EXPECT(OPS->subscribe(SELF, one, NULL, NULL) == -1,
		       "subscribe without a callback answered 0");
		EXPECT(OPS->unsubscribe(SELF, one, sc_heard, &sc->subs[0]) ==
		       -1, "unsubscribe of a subscription never made answered "
		       "0, expected -1");
		sc->payload[SC_PAYLOAD_MAX] = '\0';     /* the largest */

		sc->what = "subscribe";
		for (i = 0; i < SC_NSUBS; i++) {
			struct sc_sub *u = &sc->subs[i];

			memset(u, 0, sizeof(*u));
			u->sc = sc;
			u->name = names[i];
			u->channel = sc->chan[chan_of[i]];
			u->self_unsub = i == 1;
			EXPECT(OPS->subscribe(SELF, u->channel, sc_heard, u) == 0,
			       "subscribing %s to %s answered -1", u->name,
			       u->channel);
			u->subscribed = 1;
		}
		EXPECT(OPS->subscribe(SELF, one, sc_heard, &sc->subs[0]) == -1,
		       "subscribing A to %s again answered 0, expected -1", one);
		sc->round = 0;
		sc_sleep(sc, 0);
		return;
	case 1:
		if (!sc_all_synced(sc)) {
			sc->what = "every subscriber hears 'sync'";
			sc_expect(sc, "", "", "", "", "");
			EXPECT(sc->round++ < 100, "nothing heard within 10 s of "
			       "subscribing: %s", sc_logs_describe(sc));
			for (i = 0; i < 3; i++)
				sc_publish(sc, NULL, NULL, sc->chan[i], "sync", 1);
			sc->step = 1;       /* this step again */
			sc_wait_heard(sc, 1, 100);
			return;
		}
		sc_expect(sc, "", "", "", "", "");
		EXPECT_HEARD("something besides 'sync' was heard");
		sc_publish(sc, "publish without a transaction", NULL, one, "p1",
		           0);
		return;
	case 2:
		EXPECT_ST(ASTER_STORE_OK);
		sc_publish(sc, "publish UTF-8", NULL, two, p2, 0);
		return;
	case 3:
		EXPECT_ST(ASTER_STORE_OK);
		sc_publish(sc, "publish the largest payload on the longest "
		           "channel", NULL, three, sc->payload, 0);
		return;
	case 4:
		EXPECT_ST(ASTER_STORE_OK);
		sc_expect(sc, "p1", p2, "p1", p2, "big");
		sc_wait_heard(sc, 2, SC_HEARD_MS);
		return;
	case 5:
		EXPECT_HEARD("published without a transaction");
		sc_begin(sc, "begin", NULL, 0);
		return;
	case 6:
		EXPECT_ST(ASTER_STORE_OK);
		sc->txn = sc->res.txn;
		sc_publish(sc, "publish in a transaction", sc->txn, one, "t1", 0);
		return;
	case 7:
		EXPECT_ST(ASTER_STORE_OK);
		/* The same notification twice in a transaction is sent
		 * once (PostgreSQL's rule, which SQLite follows). */
		sc_publish(sc, NULL, sc->txn, one, "t1", 1);
		sc_publish(sc, "publish on another channel in the transaction",
		           sc->txn, two, "t2", 0);
		return;
	case 8:
		EXPECT_ST(ASTER_STORE_OK);
		sc_sleep(sc, 200);
		return;
	case 9:
		EXPECT_HEARD("heard before the transaction committed");
		sc_end(sc, "commit", sc->txn, 1);
		sc->txn = NULL;
		return;
	case 10:
		EXPECT_ST(ASTER_STORE_OK);
		sc_expect(sc, "p1,t1", p2, "p1,t1", "p2 b\xc3\xa9ta,t2", "big");
		sc_wait_heard(sc, 2, SC_HEARD_MS);
		return;
	case 11:
		EXPECT_HEARD("published in a committed transaction");
		sc_begin(sc, "begin to roll back", NULL, 0);
		return;
	case 12:
		EXPECT_ST(ASTER_STORE_OK);
		sc->txn = sc->res.txn;
		sc_publish(sc, "publish in a transaction to roll back", sc->txn,
		           one, "r1", 0);
		return;
	case 13:
		EXPECT_ST(ASTER_STORE_OK);
		sc_end(sc, "rollback", sc->txn, 0);
		sc->txn = NULL;
		return;
	case 14:
		EXPECT_ST(ASTER_STORE_OK);
		sc_begin(sc, "begin a transaction that fails", NULL, 0);
		return;
	case 15:
		EXPECT_ST(ASTER_STORE_OK);
		sc->txn = sc->res.txn;
		sc_publish(sc, "publish in a transaction that fails", sc->txn,
		           one, "f1", 0);
		return;
	case 16:
		EXPECT_ST(ASTER_STORE_OK);
		sc_table(sc, "missing");
		sc_query(sc, "a failing statement after the publish", sc->txn,
		         sc_sqlf(sc, "SELECT * FROM %s"), 0, NULL);
		return;
	case 17:
		EXPECT_ST(ASTER_STORE_ERROR);
		sc_end(sc, "commit after the failed statement", sc->txn, 1);
		sc->txn = NULL;
		return;
	case 18:
		EXPECT_ST(ASTER_STORE_ERROR);
		sc_publish(sc, "publish after the rolled back ones", NULL, one,
		           "after", 0);
		return;
	case 19:
		EXPECT_ST(ASTER_STORE_OK);
		sc_expect(sc, "p1,t1,after", p2, "p1,t1,after",
		          "p2 b\xc3\xa9ta,t2", "big");
		sc_wait_heard(sc, 2, SC_HEARD_MS);
		return;
	case 20:
		EXPECT_HEARD("published in rolled back transactions, then "
		             "without one");
		sc->what = "unsubscribe A";
		EXPECT(OPS->unsubscribe(SELF, one, sc_heard, &sc->subs[0]) == 0,
		       "answered -1");
		sc->subs[0].subscribed = 0;
		EXPECT(OPS->unsubscribe(SELF, one, sc_heard, &sc->subs[0]) ==
		       -1, "unsubscribing A again answered 0, expected -1");
		sc_publish(sc, "publish after A unsubscribed", NULL, one, "u1",
		           0);
		return;
	case 21:
		EXPECT_ST(ASTER_STORE_OK);
		sc_expect(sc, "p1,t1,after", p2, "p1,t1,after,u1",
		          "p2 b\xc3\xa9ta,t2", "big");
		sc_wait_heard(sc, 2, SC_HEARD_MS);
		return;
	case 22:
		EXPECT_HEARD("published after A unsubscribed");
		sc_sleep(sc, 200);
		return;
	case 23:
		EXPECT_HEARD("a while after A unsubscribed");
		sc->what = "unsubscribe the others";
		for (i = 2; i < SC_NSUBS; i++) {
			struct sc_sub *u = &sc->subs[i];

			EXPECT(OPS->unsubscribe(SELF, u->channel, sc_heard, u) ==
			       0, "unsubscribing %s answered -1", u->name);
			u->subscribed = 0;
		}
		EXPECT(OPS->unsubscribe(SELF, two, sc_heard, &sc->subs[1]) ==
		       -1, "unsubscribing E, which unsubscribed in its "
		       "callback, answered 0, expected -1");
		sc_publish(sc, "publish to nobody", NULL, one, "u2", 0);
		return;
	case 24:
	case 25:
		EXPECT_ST(ASTER_STORE_OK);
		sc_publish(sc, "publish to nobody", NULL, sc->chan[step - 23],
		           "u2", 0);
		return;
	case 26:
		EXPECT_ST(ASTER_STORE_OK);
		sc_sleep(sc, 300);
		return;
	case 27:
		EXPECT_HEARD("after everyone unsubscribed");
		for (i = 0; i < SC_NSUBS; i++)
			EXPECT(sc->subs[i].lost == 0, "%s was told %d time(s) "
			       "that notifications were lost", sc->subs[i].name,
			       sc->subs[i].lost);
		sc_pass(sc);
		return;
	}
}

/* Milliseconds since the epoch: both nodes of the peer test read the
 * same clock. */
static long long
sc_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sc_on_peer_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sc *sc = arg;
	char hello[96];

	(void)fd;
	(void)what;
	snprintf(hello, sizeof(hello), "hello %s %lld", sc->tag, sc_wall_ms());
	sc_publish(sc, NULL, NULL, sc->peer_channel, hello, 1);
}

/*
 * What the peer subscription hears. The first hello of another node
 * logs "storecheck: peer heard TAG after N ms" (N: from its publish to
 * now) and ends the peer scenario; a NULL after that logs
 * "storecheck: peer lost", and the next hello of another node
 * "storecheck: peer heard TAG again after N ms".
 */
static void
sc_peer_heard(void *arg, const char *payload)
{
	struct sc_sub *u = arg;
	struct sc *sc = u->sc;
	char tag[40];
	long long ms;

	if (sc->in_call && !sc->done) {
		sc_fail(sc, "peer: heard a notification inside a store call");
		return;
	}
	if (payload == NULL) {
		if (sc->peer_heard == 1) {
			fprintf(stderr, SC "peer lost\n");
			sc->peer_heard = 2;
		}
		return;
	}
	if (sscanf(payload, "hello %39s %lld", tag, &ms) != 2 ||
	    strcmp(tag, sc->tag) == 0 || sc->peer_heard == 1)
		return;
	fprintf(stderr, SC "peer heard %s%s after %lld ms\n", tag,
	        sc->peer_heard == 2 ? " again" : "", sc_wall_ms() - ms);
	sc->peer_heard = 1;
	if (sc->peer_waiting) {
		sc->peer_waiting = 0;
		sc_resume(sc);
	}
}

/* peer (only with peer_channel): another node's notification arrives. */
static void
scen_peer(struct sc *sc, int step)
{
	struct timeval every = {0, SC_PEER_EVERY_MS * 1000};

	switch (step) {
	case 0:
		sc->what = "subscribe to the peer channel";
		sc->peer.sc = sc;
		sc->peer.name = "peer";
		sc->peer.channel = sc->peer_channel;
		EXPECT(OPS->subscribe(SELF, sc->peer_channel, sc_peer_heard,
		                      &sc->peer) == 0, "answered -1");
		sc->peer.subscribed = 1;
		sc->peer_timer = event_new(sc->base, -1, EV_PERSIST,
		                           sc_on_peer_timer, sc);
		EXPECT(sc->peer_timer != NULL, "cannot make a timer");
		evtimer_add(sc->peer_timer, &every);
		sc->what = "a hello from another node";
		sc->peer_waiting = 1;
		sc->acted = 1;
		return;
	case 1:
		sc_pass(sc);
		return;
	}
}

/* cleanup: drop this run's tables, in one script. */
static void
scen_cleanup(struct sc *sc, int step)
{
	char script[512];

	switch (step) {
	case 0:
		snprintf(script, sizeof(script),
		         "DROP TABLE storecheck_%s_q;\n"
		         "DROP TABLE storecheck_%s_e;\n"
		         "DROP TABLE storecheck_%s_t", sc->tag, sc->tag, sc->tag);
		sc_exec(sc, "drop the tables", NULL, script);
		return;
	case 1:
		EXPECT_ST(ASTER_STORE_OK);
		sc_pass(sc);
		return;
	}
}

static const struct sc_scenario sc_scenarios[] = {
	{"query", scen_query},
	{"exec", scen_exec},
	{"errors", scen_errors},
	{"transactions", scen_transactions},
	{"locks", scen_locks},
	{"documents", scen_documents},
	{"list", scen_list},
	{"concurrent", scen_concurrent},
	{"notify", scen_notify},
	{"cleanup", scen_cleanup},
	{"peer", scen_peer},        /* last; only with peer_channel */
};
#define SC_NSCENARIOS (sizeof(sc_scenarios) / sizeof(sc_scenarios[0]))

static const char *
sc_scenario_name(const struct sc *sc)
{
	return sc->scenario < SC_NSCENARIOS ?
	       sc_scenarios[sc->scenario].name : "end";
}

/* --- running ---------------------------------------------------------- */

/* Reports the end to the core from a loop callback of its own: the core
 * may stop the service (and so free sc) inside host->started(), so
 * nothing may touch sc after that call. */
static void
sc_on_finish(evutil_socket_t fd, short what, void *arg)
{
	struct sc *sc = arg;

	(void)fd;
	(void)what;
	if (sc->msg[0] != '\0')
		sc->host->started(sc->svc, 0, sc->msg);
	else
		sc->host->started(sc->svc, 1, NULL);
}

static void
sc_finish(struct sc *sc)
{
	struct timeval now = {0, 0};

	sc->done = 1;
	event_del(sc->deadline);
	evtimer_add(sc->finish, &now);
}

/* Runs the current scenario's next step. A step must make a call, wait
 * or end the scenario; one that does none would hang. */
static void
sc_resume(struct sc *sc)
{
	int step;

	if (sc->done || sc->stopped || sc->scenario >= SC_NSCENARIOS)
		return;
	step = sc->step++;
	sc->acted = 0;
	sc_scenarios[sc->scenario].fn(sc, step);
	if (!sc->acted && !sc->done)
		sc_fail(sc, "storecheck has no step %d", step);
}

/* The current scenario passed: says so, runs the next. */
static void
sc_pass(struct sc *sc)
{
	sc->acted = 1;
	fprintf(stderr, SC "%s ok\n", sc_scenario_name(sc));
	sc->scenario++;
	if (sc->scenario < SC_NSCENARIOS &&
	    sc_scenarios[sc->scenario].fn == scen_peer &&
	    sc->peer_channel[0] == '\0')
		sc->scenario++;
	sc->step = 0;
	sc->what = NULL;
	if (sc->scenario == SC_NSCENARIOS) {
		sc_finish(sc);
		return;
	}
	sc_resume(sc);
}

static void
sc_on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sc_resume(arg);
}

static void
sc_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct sc *sc = arg;

	(void)fd;
	(void)what;
	sc->in_call = 0;
	sc_fail(sc, "no answer within %d ms", sc->timeout_ms);
}

static const struct aster_config_key sc_keys[] = {
	{"timeout_ms", ASTER_VALUE_INT, 0, 100, 600000,
	 "how long all the scenarios may take (default 25000)"},
	{"peer_channel", ASTER_VALUE_STRING, 0, 0, 0,
	 "a notification channel shared with another node (the peer "
	 "scenario)"},
	{NULL, 0, 0, 0, 0, NULL},
};

static int
sc_start(const struct aster_host *host, struct aster_service *svc,
         const aster_node *config, void **state, const char **cause)
{
	const struct aster_store *store = host->store(svc);
	const aster_node *n = config != NULL ?
	                      host->map_get(config, "timeout_ms") : NULL;
	const aster_node *peer = config != NULL ?
	                         host->map_get(config, "peer_channel") : NULL;
	static unsigned instances;
	struct timespec ts;
	struct timeval now = {0, 0}, limit;
	struct sc *sc;

	if (store == NULL || store->ops == NULL) {
		*cause = "storecheck: host->store() gave no store (the module "
		         "must need state-store)";
		return ASTER_FAILED;
	}
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL) {
		*cause = "storecheck: out of memory";
		return ASTER_FAILED;
	}
	sc->host = host;
	sc->svc = svc;
	sc->store = store;
	sc->base = host->event_base(svc);
	sc->timeout_ms = n != NULL && host->scalar(n) != NULL ?
	                 atoi(host->scalar(n)) : SC_TIMEOUT_MS;
	if (peer != NULL && host->scalar(peer) != NULL)
		snprintf(sc->peer_channel, sizeof(sc->peer_channel), "%s",
		         host->scalar(peer));
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(sc->tag, sizeof(sc->tag), "%llx%05lx%x%x",
	         (unsigned long long)ts.tv_sec, ts.tv_nsec & 0xfffffL,
	         (unsigned)getpid() & 0xffffu, instances++ & 0xfu);
	snprintf(sc->ns, sizeof(sc->ns), "storecheck-%s", sc->tag);
	sc->kick = evtimer_new(sc->base, sc_on_kick, sc);
	sc->nap = evtimer_new(sc->base, sc_on_nap, sc);
	sc->deadline = evtimer_new(sc->base, sc_on_deadline, sc);
	sc->finish = evtimer_new(sc->base, sc_on_finish, sc);
	if (sc->kick == NULL || sc->nap == NULL || sc->deadline == NULL ||
	    sc->finish == NULL) {
		if (sc->kick != NULL)
			event_free(sc->kick);
		if (sc->nap != NULL)
			event_free(sc->nap);
		if (sc->deadline != NULL)
			event_free(sc->deadline);
		if (sc->finish != NULL)
			event_free(sc->finish);
		free(sc);
		*cause = "storecheck: cannot make timers";
		return ASTER_FAILED;
	}
	limit.tv_sec = sc->timeout_ms / 1000;
	limit.tv_usec = (sc->timeout_ms % 1000) * 1000;
	evtimer_add(sc->kick, &now);
	evtimer_add(sc->deadline, &limit);
	*state = sc;
	return ASTER_PENDING;
}

/* Frees sc now, or, while calls are in flight, when the last answers
 * (the store's own stop answers them all). */
static void
sc_stop(void *state)
{
	struct sc *sc = state;
	size_t i;

	if (sc == NULL)
		return;
	/* The store outlives us (our module needs it): no subscriber of
	 * ours may be called once sc is gone. */
	for (i = 0; i < SC_NSUBS; i++)
		if (sc->subs[i].subscribed)
			OPS->unsubscribe(SELF, sc->subs[i].channel, sc_heard,
			                 &sc->subs[i]);
	if (sc->peer.subscribed)
		OPS->unsubscribe(SELF, sc->peer_channel, sc_peer_heard,
		                 &sc->peer);
	if (sc->peer_timer != NULL)
		event_free(sc->peer_timer);
	sc->peer_timer = NULL;
	event_free(sc->kick);
	event_free(sc->nap);
	event_free(sc->deadline);
	event_free(sc->finish);
	sc->kick = sc->nap = sc->deadline = sc->finish = NULL;
	sc->stopped = 1;
	if (sc->inflight == 0)
		sc_free(sc);
}

ASTER_PROVIDER_DEFINE = {
	.abi = ASTER_PROVIDER_ABI,
	.name = "storecheck",
	.description = "Test provider: runs the state store contract on "
	               "the store its module needs",
	.config_keys = sc_keys,
	.validate = NULL,
	.operations = NULL,
	.start = sc_start,
	.stop = sc_stop,
	.store = NULL,
};
