/*
 * pool.c - the connection pool: its queue, its done list, its start and
 * stop, and the transactions pinned to its connections.
 *
 * Work waits in one FIFO; each connection that turns idle takes the head.
 * A transaction's statements wait on the transaction instead, for the
 * one connection it holds. Work that waits longer than queue_timeout_ms
 * for a connection fails UNAVAILABLE, so an outage answers 503s instead
 * of piling up requests.
 *
 * Outcomes are appended to the done list, and notifications the listener
 * received to the note list (notify.c), and a zero-delay event runs
 * their callbacks (pool_on_done). It is the only place caller code runs,
 * and host->started() too, since the core may stop the service from
 * inside it: `depth` counts those frames, and stop() inside one leaves
 * the final free to the outermost.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void pool_free(struct pg_pool *p);

uint64_t
pg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * A malloc'd one-line copy of msg: its first non-empty line, whitespace
 * runs made one space. libpq's messages end with a newline and often go
 * on with hints ("\tIs the server running...") that logs do not need.
 * NULL when out of memory.
 */
char *
pg_one_line(const char *msg)
{
	size_t n, i, o = 0;
	char *s;
	int space = 0;

	while (*msg == '\n' || *msg == '\r' || *msg == ' ' || *msg == '\t')
		msg++;
	n = strcspn(msg, "\r\n");
	s = malloc(n + 1);
	if (s == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (msg[i] == ' ' || msg[i] == '\t') {
			space = 1;
			continue;
		}
		if (space && o > 0)
			s[o++] = ' ';
		space = 0;
		s[o++] = msg[i];
	}
	s[o] = '\0';
	return s;
}

static void
timer_add_ms(struct event *ev, uint64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000),
	                     (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(ev, &tv);
}

/* Records op's outcome and schedules its callback. res and msg are
 * taken as they are (res is owned from now on; msg is copied). */
void
pg_pool_complete(struct pg_pool *p, struct pg_op *op,
                 enum aster_store_status st, PGresult *res, const char *msg)
{
	op->st = st;
	op->res = res;
	op->err = msg != NULL && st != ASTER_STORE_OK ? pg_one_line(msg) : NULL;
	TAILQ_INSERT_TAIL(&p->done, op, link);
	event_active(p->done_ev, EV_TIMEOUT, 1);
}

/* Remembers the latest connection error, the cause start-up and queue
 * timeouts report. */
void
pg_pool_conn_error(struct pg_pool *p, const char *msg)
{
	char *s = pg_one_line(msg);

	if (s == NULL)
		return;
	free(p->last_error);
	p->last_error = s;
}

/* Decides the start's outcome (the first decision wins); the done
 * event reports it to the core from the loop. */
void
pg_pool_start_result(struct pg_pool *p, int ok, const char *cause)
{
	if (p->start != PG_START_WAITING)
		return;
	p->start = ok ? PG_START_OK : PG_START_FAIL;
	p->start_cause = cause != NULL ? pg_one_line(cause) : NULL;
	evtimer_del(p->start_timer);
	event_active(p->done_ev, EV_TIMEOUT, 1);
}

/* A connection finished its set-up: the store can serve. */
void
pg_pool_conn_ready(struct pg_pool *p)
{
	pg_pool_start_result(p, 1, NULL);
}

/* 1 while some connection is set up and libpq holds it for open. */
int
pg_pool_healthy(const struct pg_pool *p)
{
	int i;

	if (p->stopping)
		return 0;
	for (i = 0; i < p->size; i++) {
		const struct pg_conn *c = &p->conns[i];

		if (c->ready && c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
			return 1;
	}
	return 0;
}

static void
txn_free(struct pg_pool *p, struct aster_txn *txn)
{
	TAILQ_REMOVE(&p->txns, txn, link);
	free(txn->dead_msg);
	free(txn->fail_msg);
	free(txn);
}

/* What a statement of a dead transaction answers: rollback succeeds
 * (nothing of it survived), everything else is UNAVAILABLE. */
static enum aster_store_status
txn_dead_status(const struct pg_op *op)
{
	return op->kind == PG_ROLLBACK ? ASTER_STORE_OK :
	       ASTER_STORE_UNAVAILABLE;
}

/* txn's connection broke: it is dead, and so is what waits on it. */
void
pg_txn_kill(struct pg_pool *p, struct aster_txn *txn, const char *msg)
{
	struct pg_op *op;

	txn->conn = NULL;
	txn->dead = 1;
	if (txn->dead_msg == NULL)
		txn->dead_msg = pg_one_line(msg);
	while ((op = TAILQ_FIRST(&txn->queue)) != NULL) {
		TAILQ_REMOVE(&txn->queue, op, link);
		pg_pool_complete(p, op, txn_dead_status(op), NULL, msg);
	}
}

/* Arms the queue timer for the head's deadline, unless it is set. */
static void
queue_timer_arm(struct pg_pool *p)
{
	struct pg_op *head = TAILQ_FIRST(&p->queue);
	uint64_t now, due;

	if (head == NULL || evtimer_pending(p->queue_timer, NULL))
		return;
	now = pg_now_ms();
	due = head->queued_ms + (uint64_t)p->queue_timeout_ms;
	timer_add_ms(p->queue_timer, due > now ? due - now : 0);
}

static void
queue_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pg_pool *p = arg;
	uint64_t now = pg_now_ms();
	struct pg_op *op;
	char msg[640];

	(void)fd;
	(void)what;
	/* The last connection error explains a wait only while no
	 * connection is up; otherwise every connection was busy. */
	if (pg_pool_healthy(p))
		snprintf(msg, sizeof(msg), "no database connection free "
		         "within %d ms: all %d are busy", p->queue_timeout_ms,
		         p->size);
	else
		snprintf(msg, sizeof(msg), "no database connection within "
		         "%d ms%s%s", p->queue_timeout_ms,
		         p->last_error != NULL ? ": " : "",
		         p->last_error != NULL ? p->last_error : "");
	while ((op = TAILQ_FIRST(&p->queue)) != NULL &&
	       op->queued_ms + (uint64_t)p->queue_timeout_ms <= now) {
		TAILQ_REMOVE(&p->queue, op, link);
		pg_pool_complete(p, op, ASTER_STORE_UNAVAILABLE, NULL, msg);
	}
	queue_timer_arm(p);
}

/* The head of the queue, removed; NULL when it is empty. */
struct pg_op *
pg_pool_next(struct pg_pool *p)
{
	struct pg_op *op = TAILQ_FIRST(&p->queue);

	if (op != NULL)
		TAILQ_REMOVE(&p->queue, op, link);
	return op;
}

static void
pool_dispatch(struct pg_pool *p)
{
	int i;

	for (i = 0; i < p->size && !TAILQ_EMPTY(&p->queue); i++) {
		struct pg_conn *c = &p->conns[i];

		if (c->state == PG_IDLE && c->txn == NULL)
			pg_conn_next(c);
	}
}

/*
 * Takes a new op from the API: a statement of an open transaction waits
 * for that transaction's connection; anything else (BEGIN included)
 * joins the pool's queue. Never runs a callback.
 */
void
pg_pool_submit(struct pg_pool *p, struct pg_op *op)
{
	struct aster_txn *txn = op->kind == PG_BEGIN ? NULL : op->txn;

	if (op->kind == PG_BEGIN)   /* freed with its BEGIN or its end */
		TAILQ_INSERT_TAIL(&p->txns, op->txn, link);
	if (p->stopping) {
		pg_pool_complete(p, op, txn != NULL ? txn_dead_status(op) :
		                 ASTER_STORE_UNAVAILABLE, NULL,
		                 "the store is stopping");
		return;
	}
	if (txn != NULL) {
		if (txn->dead) {
			pg_pool_complete(p, op, txn_dead_status(op), NULL,
			                 txn->dead_msg != NULL ? txn->dead_msg :
			                 "the connection was lost");
			return;
		}
		TAILQ_INSERT_TAIL(&txn->queue, op, link);
		if (txn->conn != NULL && txn->conn->state == PG_IDLE)
			pg_conn_next(txn->conn);
		return;
	}
	op->queued_ms = pg_now_ms();
	TAILQ_INSERT_TAIL(&p->queue, op, link);
	queue_timer_arm(p);
	pool_dispatch(p);
}

/* Runs op's callback and frees it, with the transaction it ended. */
static void
pool_deliver(struct pg_pool *p, struct pg_op *op)
{
	struct aster_txn *end = NULL;

	if (op->kind == PG_COMMIT || op->kind == PG_ROLLBACK ||
	    (op->kind == PG_BEGIN && op->st != ASTER_STORE_OK))
		end = op->txn;
	pg_op_deliver(op);
	pg_op_free(op);
	if (end != NULL)
		txn_free(p, end);
}

/* The end of an asynchronous start, reported once. svc is invalid
 * afterwards, and the core may have stopped the service (p->stopping). */
static void
pool_report_start(struct pg_pool *p)
{
	int ok = p->start == PG_START_OK;
	char *cause = p->start_cause;

	p->start = PG_START_DONE;
	p->start_cause = NULL;
	p->host->started(p->svc, ok, ok ? NULL : cause);
	p->svc = NULL;
	free(cause);
}

static void
pool_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct pg_pool *p = arg;
	struct pg_op *op;

	(void)fd;
	(void)what;
	p->depth++;
	if (p->start == PG_START_OK || p->start == PG_START_FAIL)
		pool_report_start(p);
	while (!p->stopping && (op = TAILQ_FIRST(&p->done)) != NULL) {
		TAILQ_REMOVE(&p->done, op, link);
		pool_deliver(p, op);
	}
	pg_notes_deliver(p);
	p->depth--;
	if (p->depth > 0)
		return;
	if (p->stopping)
		pool_free(p);
	else
		pg_notify_sweep(p);
}

/* A host name some connection is still looking up, or NULL. */
static const char *
pool_resolving(const struct pg_pool *p)
{
	int i;

	for (i = 0; i < p->size; i++)
		if (p->conns[i].resolve != NULL)
			return pg_resolve_waiting(p->conns[i].resolve);
	return NULL;
}

static void
start_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pg_pool *p = arg;
	const char *why = p->last_error, *name;
	char msg[640], wait[320];

	(void)fd;
	(void)what;
	if (p->ever_connected)
		return;     /* connected; the schema is on its way */
	/* No attempt ended yet: say what the first one is waiting for. */
	if (why == NULL && (name = pool_resolving(p)) != NULL) {
		snprintf(wait, sizeof(wait), "still looking up host name "
		         "\"%s\"", name);
		why = wait;
	}
	snprintf(msg, sizeof(msg), "cannot connect to PostgreSQL within %d "
	         "ms%s%s", p->connect_timeout_ms, why != NULL ? ": " : "",
	         why != NULL ? why : "");
	pg_pool_start_result(p, 0, msg);
}

/*
 * Creates the pool and starts connecting every connection; the outcome
 * of the start arrives through host->started(). NULL when out of memory.
 */
struct pg_pool *
pg_pool_new(const struct aster_host *host, struct aster_service *svc,
            const char *dsn, int size, int connect_timeout_ms,
            int queue_timeout_ms)
{
	struct pg_pool *p = calloc(1, sizeof(*p));
	int i;

	if (p == NULL)
		return NULL;
	p->host = host;
	p->svc = svc;
	p->base = host->event_base(svc);
	p->size = size;
	p->connect_timeout_ms = connect_timeout_ms;
	p->queue_timeout_ms = queue_timeout_ms;
	p->rng = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15u ^
	         (uint64_t)getpid() ^ (uint64_t)(uintptr_t)p;
	if (p->rng == 0)
		p->rng = 1;
	TAILQ_INIT(&p->queue);
	TAILQ_INIT(&p->done);
	TAILQ_INIT(&p->txns);
	TAILQ_INIT(&p->chans);
	TAILQ_INIT(&p->notes);
	p->dsn = strdup(dsn);
	p->conns = calloc((size_t)size, sizeof(*p->conns));
	p->done_ev = event_new(p->base, -1, 0, pool_on_done, p);
	p->queue_timer = evtimer_new(p->base, queue_on_timer, p);
	p->start_timer = evtimer_new(p->base, start_on_timer, p);
	if (p->dsn == NULL || p->conns == NULL || p->done_ev == NULL ||
	    p->queue_timer == NULL || p->start_timer == NULL)
		goto fail;
	for (i = 0; i < size; i++)
		if (pg_conn_init(&p->conns[i], p) < 0)
			goto fail;
	if (pg_resolver_new(p->base, dsn, &p->resolver) < 0)
		goto fail;
	timer_add_ms(p->start_timer, (uint64_t)connect_timeout_ms);
	for (i = 0; i < size; i++)
		pg_conn_connect(&p->conns[i]);
	return p;
fail:
	pool_free(p);
	return NULL;
}

/*
 * Stops the pool: every connection is closed (the server rolls back
 * what they held open), and every op in flight, queued or completed
 * completes its callback, UNAVAILABLE unless it already had an outcome,
 * before this returns. Callbacks that submit more get UNAVAILABLE too,
 * in the same loop. Subscribers hear nothing more: the listener closes,
 * and notifications still queued are dropped. Frees the pool unless a
 * callback frame is on the stack (then the outermost frees it).
 */
void
pg_pool_stop(struct pg_pool *p)
{
	struct pg_op *op;
	int i;

	if (p->stopping)
		return;
	p->stopping = 1;
	p->start = PG_START_DONE;  /* svc may be gone: never report */
	evtimer_del(p->start_timer);
	evtimer_del(p->queue_timer);
	for (i = 0; i < p->size; i++)
		pg_conn_close(&p->conns[i], "the store is stopping");
	if (p->listener != NULL)
		pg_conn_close(p->listener, "the store is stopping");
	while ((op = pg_pool_next(p)) != NULL)
		pg_pool_complete(p, op, ASTER_STORE_UNAVAILABLE, NULL,
		                 "the store is stopping");
	p->depth++;
	while ((op = TAILQ_FIRST(&p->done)) != NULL) {
		TAILQ_REMOVE(&p->done, op, link);
		pool_deliver(p, op);
	}
	p->depth--;
	if (p->depth == 0)
		pool_free(p);
}

static void
pool_free(struct pg_pool *p)
{
	struct aster_txn *txn;
	struct pg_op *op;
	int i;

	if (p->conns != NULL)
		for (i = 0; i < p->size; i++)
			pg_conn_free(&p->conns[i]);
	if (p->listener != NULL) {
		pg_conn_free(p->listener);
		free(p->listener);
	}
	pg_notify_free(p);
	if (p->resolver != NULL)    /* after the conns: none looks up */
		pg_resolver_close(p->resolver);
	/* Only a failed pg_pool_new() can leave ops here (none), but a
	 * transaction the caller never ended is ours to free. */
	while ((op = pg_pool_next(p)) != NULL)
		pg_op_free(op);
	while ((txn = TAILQ_FIRST(&p->txns)) != NULL) {
		while ((op = TAILQ_FIRST(&txn->queue)) != NULL) {
			TAILQ_REMOVE(&txn->queue, op, link);
			pg_op_free(op);
		}
		txn_free(p, txn);
	}
	if (p->done_ev != NULL)
		event_free(p->done_ev);
	if (p->queue_timer != NULL)
		event_free(p->queue_timer);
	if (p->start_timer != NULL)
		event_free(p->start_timer);
	free(p->conns);
	free(p->dsn);
	free(p->start_cause);
	free(p->last_error);
	free(p);
}
