/*
 * conn.c - one PostgreSQL connection's state machine.
 *
 *   DOWN --timer--> [RESOLVING] --> CONNECTING --PQconnectPoll OK-->
 *   [WAIT_SCHEMA] -->
 *   SETUP (schema on the first connection, then one PQsendPrepare per
 *   statement) --> IDLE <--> BUSY (one op in flight)
 *
 * and any failure goes back to DOWN, with exponential backoff and jitter.
 * RESOLVING looks the DSN's host names up first (resolve.c), when it has
 * any; the attempt's deadline covers the lookups and the connect.
 * Everything uses libpq's asynchronous calls on a non-blocking socket
 * watched by libevent: reading always (so a server that goes away is
 * seen even while idle), writing only while PQflush has output left.
 *
 * A step (schema, PREPARE, cleanup ROLLBACK, caller op) ends when
 * PQgetResult answers NULL, i.e. after ReadyForQuery: only then is an
 * autocommitted statement known to be committed. A connection that
 * breaks before that reports its op UNAVAILABLE, never OK.
 *
 * Nothing here runs a caller's callback: outcomes go to the pool's done
 * list (pg_pool_complete), so a connection's fields stay ours for the
 * whole of an event handler.
 *
 * The pool's listener (notify.c) is a connection of this kind too, with
 * another life once connected: no schema and no PREPAREs, only the
 * LISTEN/UNLISTEN scripts notify.c asks for (step LISTEN), and the
 * notifications it reads handed to notify.c.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN_MS 50u
#define BACKOFF_MAX_MS 2000u

static void conn_on_event(evutil_socket_t fd, short what, void *arg);
static void conn_on_timer(evutil_socket_t fd, short what, void *arg);
static void conn_fail(struct pg_conn *c, const char *msg, int retry);
static int conn_setup(struct pg_conn *c, enum pg_step step, int k);
static int conn_listen_next(struct pg_conn *c);

/*
 * Notices ("relation already exists, skipping") are not errors, and
 * libpq's default receiver would print them on asterd's stderr. But an
 * error that arrives while the connection is idle comes here too: a
 * FATAL one (57P01 at a fast shutdown) says the server is closing the
 * session, before the EOF shows.
 */
static void
conn_notice(void *arg, const PGresult *res)
{
	struct pg_conn *c = arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (sev == NULL || (strcmp(sev, "FATAL") != 0 &&
	    strcmp(sev, "PANIC") != 0))
		return;
	c->doomed = 1;
	snprintf(c->doom_msg, sizeof(c->doom_msg), "%s",
	         msg != NULL ? msg : "the server closed the session");
}

/*
 * Reads what an idle connection received (an error while idle, EOF);
 * -1 when that shows the session is over (the connection is then torn
 * down and scheduled to reconnect).
 */
static int
conn_check_idle(struct pg_conn *c)
{
	if (!PQconsumeInput(c->pg)) {
		conn_fail(c, PQerrorMessage(c->pg), 1);
		return -1;
	}
	(void)PQisBusy(c->pg);      /* parses, so notices are seen */
	if (c->doomed || PQstatus(c->pg) == CONNECTION_BAD) {
		conn_fail(c, c->doomed ? c->doom_msg : PQerrorMessage(c->pg),
		          1);
		return -1;
	}
	return 0;
}

static void
timer_add_ms(struct event *ev, unsigned ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(ev, &tv);
}

/* A connection of p, DOWN and with no attempt scheduled; -1 when out
 * of memory. pg_conn_free() releases it in any state. */
int
pg_conn_init(struct pg_conn *c, struct pg_pool *p)
{
	memset(c, 0, sizeof(*c));
	c->pool = p;
	c->fd = -1;
	c->timer = evtimer_new(p->base, conn_on_timer, c);
	return c->timer != NULL ? 0 : -1;
}

/* Gives up the attempt's host name lookups, if any are running. */
static void
conn_resolve_cancel(struct pg_conn *c)
{
	if (c->resolve != NULL)
		pg_resolve_cancel(c->resolve);
	c->resolve = NULL;
}

static void
conn_events_free(struct pg_conn *c)
{
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	c->rev = c->wev = NULL;
	c->fd = -1;
	c->flushing = 0;
}

/*
 * Makes rev and wev watch the connection's current socket (libpq may
 * switch sockets while connecting: several hosts, SSL fallback). The
 * events are never left registered across a PQconnectPoll call, so a new
 * socket that reuses the old number is registered afresh.
 */
static int
conn_events(struct pg_conn *c)
{
	evutil_socket_t fd = PQsocket(c->pg);

	if (fd == c->fd && c->rev != NULL)
		return 0;
	conn_events_free(c);
	if (fd < 0)
		return -1;
	c->rev = event_new(c->pool->base, fd, EV_READ | EV_PERSIST,
	                   conn_on_event, c);
	c->wev = event_new(c->pool->base, fd, EV_WRITE, conn_on_event, c);
	if (c->rev == NULL || c->wev == NULL) {
		conn_events_free(c);
		return -1;
	}
	c->fd = fd;
	return 0;
}

/* The next attempt: 50 ms doubling to 2 s, at a random point of the
 * upper half, so nodes restarted together do not reconnect in step. */
static void
conn_backoff(struct pg_conn *c)
{
	struct pg_pool *p = c->pool;
	unsigned ms = BACKOFF_MIN_MS << (c->attempts < 6 ? c->attempts : 6);

	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	p->rng ^= p->rng << 13;
	p->rng ^= p->rng >> 7;
	p->rng ^= p->rng << 17;
	ms = ms / 2 + (unsigned)(p->rng % (ms / 2 + 1));
	c->attempts++;
	c->state = PG_DOWN;
	timer_add_ms(c->timer, ms);
}

/* Fails the attempt with libpq's message, which names a host whose
 * address was looked up here by that address only: add the name. */
static void
conn_connect_fail(struct pg_conn *c)
{
	const char *msg = PQerrorMessage(c->pg);
	char *named = c->pool->resolver != NULL ?
	              pg_resolve_describe(c->pg, msg) : NULL;

	conn_fail(c, named != NULL ? named : msg, 1);
	free(named);
}

/* Waits for the socket as PQconnectPoll asked. */
static void
conn_connect_wait(struct pg_conn *c, PostgresPollingStatusType poll)
{
	if (conn_events(c) < 0) {
		conn_fail(c, "libpq has no socket to wait on", 1);
		return;
	}
	event_add(poll == PGRES_POLLING_READING ? c->rev : c->wev, NULL);
}

/*
 * Has libpq start connecting with the DSN, host, hostaddr and port
 * overriding its own (NULL: the DSN's), under the attempt's deadline.
 */
static void
conn_start(struct pg_conn *c, const char *host, const char *hostaddr,
           const char *port)
{
	static const char *const kw[] = {
		"dbname", "host", "hostaddr", "port",
		"fallback_application_name", NULL,
	};
	const char *val[] = {c->pool->dsn, host, hostaddr, port, "asterd",
	                     NULL};

	/* Later keywords override what the DSN (dbname, expanded) set;
	 * NULL values are skipped. */
	c->pg = PQconnectStartParams(kw, val, 1);
	if (c->pg == NULL) {
		conn_fail(c, "out of memory", 1);
		return;
	}
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		conn_connect_fail(c);
		return;
	}
	PQsetNoticeReceiver(c->pg, conn_notice, c);
	c->state = PG_CONNECTING;
	if (!evtimer_pending(c->timer, NULL))
		timer_add_ms(c->timer, (unsigned)c->pool->connect_timeout_ms);
	conn_connect_wait(c, PGRES_POLLING_WRITING);
}

/*
 * Starts one connection attempt; its outcome arrives through the socket
 * events or the attempt's deadline (libpq's connect_timeout only applies
 * to its blocking calls). With host names to look up, the lookups come
 * first (pg_conn_resolved). A failure schedules the next attempt.
 */
void
pg_conn_connect(struct pg_conn *c)
{
	if (c->pool->resolver == NULL) {
		conn_start(c, NULL, NULL, NULL);
		return;
	}
	c->state = PG_RESOLVING;
	timer_add_ms(c->timer, (unsigned)c->pool->connect_timeout_ms);
	if (pg_resolve_start(c) < 0)
		conn_fail(c, "out of memory", 1);
}

/*
 * resolve.c's outcome for c's attempt: the host, hostaddr and port
 * lists to connect with (port NULL: the DSN's), or err, one line.
 */
void
pg_conn_resolved(struct pg_conn *c, const char *host, const char *hostaddr,
                 const char *port, const char *err)
{
	if (err != NULL)
		conn_fail(c, err, 1);
	else
		conn_start(c, host, hostaddr, port);
}

/*
 * A new connection is up: the first one of the pool creates the tables
 * (under an advisory lock, as several nodes may start at once), the
 * others wait for it, then each prepares the document statements.
 */
/*
 * The server is back (a pool connection just connected): a listener
 * still waiting out its backoff tries now. While it is down, other nodes'
 * notifications - revocations - are lost, so it must not lag the pool.
 */
static void
wake_listener(struct pg_pool *p)
{
	struct pg_conn *l = p->listener;

	if (l == NULL || l->state != PG_DOWN || p->stopping)
		return;
	evtimer_del(l->timer);
	l->attempts = 0;
	pg_conn_connect(l);
}

static void
conn_connected(struct pg_conn *c)
{
	struct pg_pool *p = c->pool;

	evtimer_del(c->timer);
	c->attempts = 0;
	if (!c->listener) {
		p->ever_connected = 1;
		wake_listener(p);
	}
	if (PQsetnonblocking(c->pg, 1) != 0) {
		conn_fail(c, PQerrorMessage(c->pg), 1);
		return;
	}
	event_add(c->rev, NULL);
	if (c->listener) {
		c->ready = 1;
		c->state = PG_SETUP;
		conn_listen_next(c);
		return;
	}
	switch (p->schema) {
	case PG_SCHEMA_DONE:
		conn_setup(c, PG_STEP_PREPARE, 0);
		break;
	case PG_SCHEMA_NONE:
		p->schema = PG_SCHEMA_RUNNING;
		conn_setup(c, PG_STEP_SCHEMA, 0);
		break;
	default:
		c->state = PG_WAIT_SCHEMA;
		break;
	}
}

static void
conn_connect_step(struct pg_conn *c)
{
	PostgresPollingStatusType poll;

	event_del(c->rev);
	event_del(c->wev);
	poll = PQconnectPoll(c->pg);
	if (poll == PGRES_POLLING_OK)
		conn_connected(c);
	else if (poll == PGRES_POLLING_FAILED)
		conn_connect_fail(c);
	else
		conn_connect_wait(c, poll);
}

/* Sends what libpq buffered; -1 when the connection failed (and was
 * torn down), else 0, watching for writability while output remains. */
static int
conn_flush(struct pg_conn *c)
{
	int r = PQflush(c->pg);

	if (r < 0) {
		conn_fail(c, PQerrorMessage(c->pg), 1);
		return -1;
	}
	c->flushing = r == 1;
	if (c->flushing)
		event_add(c->wev, NULL);
	return 0;
}

/* Sends one setup step; -1 when the connection failed. */
static int
conn_setup(struct pg_conn *c, enum pg_step step, int k)
{
	int ok = 0;

	c->state = PG_SETUP;
	c->step = step;
	c->prep = k;
	switch (step) {
	case PG_STEP_SCHEMA:
		ok = PQsendQuery(c->pg, pg_schema_sql);
		break;
	case PG_STEP_PREPARE:
		ok = PQsendPrepare(c->pg, pg_stmts[k].name, pg_stmts[k].sql, 0,
		                   NULL);
		break;
	default:
		ok = PQsendQuery(c->pg, "ROLLBACK");
		break;
	}
	if (!ok) {
		conn_fail(c, PQerrorMessage(c->pg), 1);
		return -1;
	}
	return conn_flush(c);
}

/* Sends op on c; -1 when the connection failed (op then completed
 * UNAVAILABLE: it never reached the server). */
static int
conn_send_op(struct pg_conn *c, struct pg_op *op)
{
	const char *sql = op->text;
	int ok;

	c->op = op;
	c->step = PG_STEP_OP;
	c->state = PG_BUSY;
	switch (op->kind) {
	case PG_QUERY:
		ok = PQsendQueryParams(c->pg, sql, op->nparams, NULL,
		                       op->params, NULL, NULL, 0);
		break;
	case PG_BEGIN:
		c->txn = op->txn;
		op->txn->conn = c;
		ok = PQsendQuery(c->pg, sql);
		break;
	case PG_COMMIT:
		/* COMMIT of an aborted transaction would roll back and
		 * answer success; say what happens instead. */
		op->rolled_back = op->txn->failed;
		ok = PQsendQuery(c->pg, op->rolled_back ? "ROLLBACK" : "COMMIT");
		break;
	case PG_ROLLBACK:
		ok = PQsendQuery(c->pg, "ROLLBACK");
		break;
	case PG_EXEC:
		ok = PQsendQuery(c->pg, sql);
		break;
	case PG_PUBLISH:
		ok = PQsendQueryParams(c->pg, sql, op->nparams, NULL,
		                       op->params, NULL, NULL, 0);
		break;
	default:
		ok = PQsendQueryPrepared(c->pg, sql, op->nparams, op->params,
		                         NULL, NULL, 0);
		break;
	}
	if (!ok) {
		conn_fail(c, PQerrorMessage(c->pg), 1);
		return -1;
	}
	return conn_flush(c);
}

/*
 * Gives an idle connection its next work: a cleanup ROLLBACK if a script
 * or failed BEGIN left a transaction open, else the pinned transaction's
 * next statement, else the pool's next op. -1 when the connection failed.
 */
int
pg_conn_next(struct pg_conn *c)
{
	struct pg_op *op;

	/* A connection that sat idle may have lost its server meanwhile
	 * (the EOF is waiting in the socket): find out before sending, so
	 * that the op waits for a live connection instead of failing. */
	if (c->state == PG_IDLE && conn_check_idle(c) < 0)
		return -1;
	if (c->listener)
		return conn_listen_next(c);
	if (!c->ready) {
		c->state = PG_WAIT_SCHEMA;
		return 0;
	}
	if (c->txn == NULL && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		return conn_setup(c, PG_STEP_RESET, 0);
	c->state = PG_IDLE;
	if (c->txn != NULL) {
		op = TAILQ_FIRST(&c->txn->queue);
		if (op != NULL)
			TAILQ_REMOVE(&c->txn->queue, op, link);
	} else {
		op = c->pool->stopping ? NULL : pg_pool_next(c->pool);
	}
	return op != NULL ? conn_send_op(c, op) : 0;
}

/*
 * The store's status for a step's result, with msg the server's primary
 * message. *lost is set when the error means the session is gone
 * (libpq's own errors, class 08, admin shutdown): the connection must be
 * replaced even if libpq has not noticed yet.
 */
enum aster_store_status
pg_classify(const PGresult *res, const char **msg, int *lost)
{
	const char *state;

	*msg = NULL;
	*lost = 0;
	if (res == NULL) {
		*msg = "no result from the server";
		*lost = 1;
		return ASTER_STORE_UNAVAILABLE;
	}
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		return ASTER_STORE_OK;
	default:
		break;
	}
	*msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (*msg == NULL)
		*msg = PQresultErrorMessage(res);
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state == NULL || strncmp(state, "08", 2) == 0 ||
	    strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
	    strcmp(state, "57P03") == 0) {
		*lost = 1;
		return ASTER_STORE_UNAVAILABLE;
	}
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return ASTER_STORE_UNAVAILABLE;
	return ASTER_STORE_ERROR;
}

static void
conn_unpin(struct pg_conn *c)
{
	if (c->txn != NULL)
		c->txn->conn = NULL;
	c->txn = NULL;
}

static void
txn_mark_failed(struct aster_txn *txn, enum aster_store_status st,
                const char *msg)
{
	if (txn->failed)
		return;
	txn->failed = 1;
	txn->fail_st = st;
	txn->fail_msg = pg_one_line(msg != NULL ? msg : "statement failed");
}

/*
 * A caller op's result arrived whole, on a healthy connection: complete
 * it (transaction bookkeeping first) and move on. -1 when the connection
 * failed meanwhile.
 */
static int
conn_op_done(struct pg_conn *c, PGresult *res)
{
	struct pg_op *op = c->op;
	struct aster_txn *txn = op->txn;
	const char *msg;
	char buf[512];
	int lost;
	enum aster_store_status st = pg_classify(res, &msg, &lost);

	c->op = NULL;
	switch (op->kind) {
	case PG_BEGIN:
		if (st != ASTER_STORE_OK)
			conn_unpin(c);
		break;
	case PG_COMMIT:
		if (op->rolled_back) {
			st = txn->fail_st;
			snprintf(buf, sizeof(buf), "transaction rolled back "
			         "after an earlier error: %s", txn->fail_msg != NULL ?
			         txn->fail_msg : "?");
			msg = buf;
		} else if (st == ASTER_STORE_OK &&
		           strcmp(PQcmdStatus(res), "COMMIT") != 0) {
			st = ASTER_STORE_ERROR;
			msg = "the transaction was rolled back";
		}
		conn_unpin(c);
		break;
	case PG_ROLLBACK:
		conn_unpin(c);
		break;
	default:
		if (txn != NULL && st != ASTER_STORE_OK)
			txn_mark_failed(txn, st, msg);
		/* A script run alone that opened a transaction and did not
		 * end it: the cleanup ROLLBACK (pg_conn_next) undoes it, so
		 * it must not answer OK. */
		if (txn == NULL && st == ASTER_STORE_OK && !lost &&
		    PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
			st = ASTER_STORE_ERROR;
			msg = "the statement left a transaction open; it was "
			      "rolled back (use begin and commit)";
		}
		break;
	}
	pg_pool_complete(c->pool, op, st, res, msg);
	if (lost) {
		conn_fail(c, msg, 1);
		return -1;
	}
	return pg_conn_next(c);
}

/* The schema script ended (its transaction committed or failed). */
static int
conn_schema_done(struct pg_conn *c, PGresult *res)
{
	struct pg_pool *p = c->pool;
	const char *msg;
	char buf[512];
	int lost, i;
	enum aster_store_status st = pg_classify(res, &msg, &lost);

	if (st != ASTER_STORE_OK) {
		snprintf(buf, sizeof(buf), "cannot create the store's "
		         "tables: %s", msg);
		PQclear(res);
		if (lost) {
			c->step = PG_STEP_SCHEMA; /* another connection retries */
			conn_fail(c, buf, 1);
			return -1;
		}
		p->schema = PG_SCHEMA_FAILED;
		pg_pool_start_result(p, 0, buf);
		return pg_conn_next(c);
	}
	PQclear(res);
	p->schema = PG_SCHEMA_DONE;
	for (i = 0; i < p->size; i++)
		if (p->conns[i].state == PG_WAIT_SCHEMA && &p->conns[i] != c)
			conn_setup(&p->conns[i], PG_STEP_PREPARE, 0);
	return conn_setup(c, PG_STEP_PREPARE, 0);
}

/* One PREPARE ended: the next, or the connection is ready. */
static int
conn_prepare_done(struct pg_conn *c, PGresult *res)
{
	const char *msg;
	char buf[512];
	int lost;
	enum aster_store_status st = pg_classify(res, &msg, &lost);

	if (st != ASTER_STORE_OK) {
		/* The table is not what this provider created: fatal at
		 * start, and retried (and logged nowhere) afterwards. */
		snprintf(buf, sizeof(buf), "cannot prepare %s: %s",
		         pg_stmts[c->prep].name, msg);
		PQclear(res);
		if (!lost)
			pg_pool_start_result(c->pool, 0, buf);
		conn_fail(c, buf, 1);
		return -1;
	}
	PQclear(res);
	if (c->prep + 1 < pg_nstmts)
		return conn_setup(c, PG_STEP_PREPARE, c->prep + 1);
	c->ready = 1;
	pg_pool_conn_ready(c->pool);
	return pg_conn_next(c);
}

/* Hands the notifications libpq has parsed to notify.c (the listener),
 * or drops them (a NOTIFY a caller's SQL asked for on a pool
 * connection). */
static void
conn_notifies(struct pg_conn *c)
{
	PGnotify *n;

	while ((n = PQnotifies(c->pg)) != NULL) {
		if (c->listener)
			pg_listen_notify(c->pool, n->relname, n->extra);
		PQfreemem(n);
	}
}

/*
 * The listener's next work: the LISTEN/UNLISTEN script notify.c wants
 * sent, else idle. Notifications parsed meanwhile (conn_check_idle
 * reads the socket) are handed over first: the socket will not wake us
 * for them again. -1 when the connection failed.
 */
static int
conn_listen_next(struct pg_conn *c)
{
	char *sql;
	int oom, ok;

	conn_notifies(c);
	sql = pg_listen_script(c->pool, &oom);
	if (sql == NULL) {
		if (oom) {
			conn_fail(c, "out of memory", 1);
			return -1;
		}
		c->state = PG_IDLE;
		return 0;
	}
	c->state = PG_SETUP;
	c->step = PG_STEP_LISTEN;
	ok = PQsendQuery(c->pg, sql);
	free(sql);
	if (!ok) {
		conn_fail(c, PQerrorMessage(c->pg), 1);
		return -1;
	}
	return conn_flush(c);
}

/* The listener's script ended. Any error - a hot standby refuses
 * LISTEN - is the session's: reconnect with backoff, and try again. */
static int
conn_listen_done(struct pg_conn *c, PGresult *res)
{
	const char *msg;
	char buf[512];
	int lost;

	if (pg_classify(res, &msg, &lost) != ASTER_STORE_OK) {
		snprintf(buf, sizeof(buf), "cannot LISTEN: %s", msg);
		PQclear(res);
		conn_fail(c, buf, 1);
		return -1;
	}
	PQclear(res);
	pg_listen_done(c->pool);
	return pg_conn_next(c);
}

/* The current step's last result arrived (PQgetResult answered NULL). */
static int
conn_step_done(struct pg_conn *c)
{
	PGresult *res = c->res;
	enum pg_step step = c->step;
	int lost;
	const char *msg;

	c->res = NULL;
	c->step = PG_STEP_NONE;
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		/* Whatever the result said, the outcome is unknown. */
		c->step = step;
		pg_classify(res, &msg, &lost);
		conn_fail(c, msg != NULL ? msg : PQerrorMessage(c->pg), 1);
		PQclear(res);
		return -1;
	}
	switch (step) {
	case PG_STEP_OP:
		return conn_op_done(c, res);
	case PG_STEP_SCHEMA:
		return conn_schema_done(c, res);
	case PG_STEP_PREPARE:
		return conn_prepare_done(c, res);
	case PG_STEP_LISTEN:
		return conn_listen_done(c, res);
	default:
		if (pg_classify(res, &msg, &lost) != ASTER_STORE_OK) {
			conn_fail(c, msg, 1);
			PQclear(res);
			return -1;
		}
		PQclear(res);
		return pg_conn_next(c);
	}
}

/* A script answers with one result per statement: keep the first error,
 * else the last result (a query's rows, a COMMIT's tag). */
static void
conn_keep(struct pg_conn *c, PGresult *r)
{
	if (c->res != NULL && PQresultStatus(c->res) == PGRES_FATAL_ERROR) {
		PQclear(r);
		return;
	}
	PQclear(c->res);
	c->res = r;
}

/* Reads every result libpq can hand over without blocking. */
static void
conn_drain(struct pg_conn *c)
{
	PGresult *r;

	while (c->pg != NULL && c->step != PG_STEP_NONE && !PQisBusy(c->pg)) {
		r = PQgetResult(c->pg);
		if (r == NULL) {
			if (conn_step_done(c) < 0)
				return;
			continue;
		}
		switch (PQresultStatus(r)) {
		case PGRES_COPY_IN:
		case PGRES_COPY_OUT:
		case PGRES_COPY_BOTH:
			/* The session is stuck in COPY: replace it. */
			PQclear(r);
			if (c->op != NULL) {
				pg_pool_complete(c->pool, c->op,
				                 ASTER_STORE_ERROR, NULL,
				                 "COPY is not supported");
				c->op = NULL;
			}
			conn_fail(c, "COPY is not supported", 1);
			return;
		default:
			conn_keep(c, r);
		}
	}
	if (c->pg == NULL)
		return;
	conn_notifies(c);
	if (c->step == PG_STEP_NONE)
		(void)PQisBusy(c->pg);  /* parses: a FATAL while idle */
	if (c->doomed || PQstatus(c->pg) == CONNECTION_BAD)
		conn_fail(c, c->doomed ? c->doom_msg : PQerrorMessage(c->pg),
		          1);
}

static void
conn_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct pg_conn *c = arg;

	(void)fd;
	if (c->state == PG_CONNECTING) {
		conn_connect_step(c);
		return;
	}
	if ((what & EV_WRITE) && conn_flush(c) < 0)
		return;
	if (what & EV_READ) {
		if (!PQconsumeInput(c->pg)) {
			conn_fail(c, PQerrorMessage(c->pg), 1);
			return;
		}
		/* libpq: a socket that turns readable while flushing must
		 * be read, then flushed again (the server may be waiting for
		 * us to read before it reads more). */
		if (c->flushing && conn_flush(c) < 0)
			return;
	}
	conn_drain(c);
}

static void
conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pg_conn *c = arg;
	char buf[384];

	(void)fd;
	(void)what;
	if (c->state == PG_DOWN) {
		pg_conn_connect(c);
		return;
	}
	if (c->state == PG_RESOLVING) {
		snprintf(buf, sizeof(buf), "connection attempt timed out after "
		         "%d ms looking up host name \"%s\"",
		         c->pool->connect_timeout_ms,
		         pg_resolve_waiting(c->resolve));
		conn_fail(c, buf, 1);
	} else if (c->state == PG_CONNECTING) {
		snprintf(buf, sizeof(buf), "connection attempt timed out after "
		         "%d ms", c->pool->connect_timeout_ms);
		conn_fail(c, buf, 1);
	}
}

/*
 * Tears the connection down: its op in flight completes UNAVAILABLE (a
 * ROLLBACK: OK, the server rolls back a session that ends), its pinned
 * transaction dies, the schema job passes to another connection, and
 * with retry set the next attempt is scheduled.
 */
static void
conn_fail(struct pg_conn *c, const char *msg, int retry)
{
	struct pg_pool *p = c->pool;
	char *line = pg_one_line(msg != NULL ? msg : "connection lost");
	struct pg_op *op = c->op;
	int i;

	if (retry)
		pg_pool_conn_error(p, line);
	if (op != NULL) {
		c->op = NULL;
		if (op->kind == PG_BEGIN || op->kind == PG_COMMIT ||
		    op->kind == PG_ROLLBACK)
			conn_unpin(c);
		pg_pool_complete(p, op, op->kind == PG_ROLLBACK ?
		                 ASTER_STORE_OK : ASTER_STORE_UNAVAILABLE, NULL,
		                 op->kind == PG_ROLLBACK ? NULL : line);
	}
	if (c->txn != NULL) {
		pg_txn_kill(p, c->txn, line);
		c->txn = NULL;
	}
	PQclear(c->res);
	c->res = NULL;
	if (c->step == PG_STEP_SCHEMA && !p->stopping) {
		p->schema = PG_SCHEMA_NONE;
		for (i = 0; i < p->size; i++)
			if (p->conns[i].state == PG_WAIT_SCHEMA) {
				p->schema = PG_SCHEMA_RUNNING;
				conn_setup(&p->conns[i], PG_STEP_SCHEMA, 0);
				break;
			}
	}
	c->step = PG_STEP_NONE;
	c->ready = 0;
	c->doomed = 0;
	conn_resolve_cancel(c);
	conn_events_free(c);
	PQfinish(c->pg);
	c->pg = NULL;
	c->state = PG_DOWN;
	evtimer_del(c->timer);
	free(line);
	if (c->listener)
		pg_listen_lost(p);
	if (retry)
		conn_backoff(c);
}

/* stop(): closes the connection for good, completing what it held. */
void
pg_conn_close(struct pg_conn *c, const char *why)
{
	if (c->pg != NULL || c->state != PG_DOWN)
		conn_fail(c, why, 0);
	evtimer_del(c->timer);
}

void
pg_conn_free(struct pg_conn *c)
{
	conn_resolve_cancel(c);
	conn_events_free(c);
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
	if (c->timer != NULL)
		event_free(c->timer);
	c->timer = NULL;
}
