/*
 * worker.c - the SQLite store's worker thread: the only thread that
 * touches the connection.
 *
 * It sleeps on the store's condition variable until there is work, and
 * then does one of three things:
 *
 *   - a transaction is open: run the next request of that transaction
 *     (tq), and nothing else until its commit or rollback;
 *   - the next request is a begin: BEGIN IMMEDIATE, and the transaction
 *     is open;
 *   - otherwise: group commit. Up to SQ_BATCH_MAX autocommit requests
 *     (queries, scripts, documents) run in ONE transaction, each inside
 *     its own savepoint so that a failing one is rolled back alone, and
 *     their outcomes are only published after COMMIT succeeded: with
 *     synchronous=FULL the fsync of that COMMIT is the price of a write,
 *     and the batch pays it once.
 *
 * Completions go to the done queue and the eventfd wakes the loop, which
 * runs the callbacks (provider.c). A publish in a transaction keeps its
 * notification on the transaction; a successful COMMIT posts them right
 * after its own completion (equal ones once, as PostgreSQL sends them),
 * anything else drops them. On stop the worker finishes what it is
 * running (a batch stops starting new requests), rolls back the open
 * transaction, fails everything still queued with UNAVAILABLE and closes
 * the connection.
 */
#include "sq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Hands results to the loop: onto the done queue, then a wake-up. Called
 * with the mutex held. */
static void
sq_post(struct sq_store *s, struct sq_queue *results)
{
	uint64_t one = 1;
	ssize_t n;

	sq_queue_append(&s->done, results);
	n = write(s->efd, &one, sizeof(one));
	(void)n;        /* EAGAIN: the counter is already non-zero */
}

static void
sq_post_one(struct sq_store *s, struct sq_req *r)
{
	struct sq_queue q = {NULL, NULL, 0};

	sq_queue_push(&q, r);
	sq_post(s, &q);
}

/* 1 when the open transaction has foreign key violations waiting for
 * its COMMIT (DEFERRABLE INITIALLY DEFERRED constraints). */
static int
sq_deferred_fks(struct sq_store *s)
{
	int cur = 0, hi = 0;

	return sqlite3_db_status(s->db, SQLITE_DBSTATUS_DEFERRED_FKS, &cur,
	                         &hi, 0) == SQLITE_OK && cur != 0;
}

/* Rolls back whatever transaction the connection still has open. */
static void
sq_rollback_open(struct sq_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sq_db_step_simple(s, SQ_ST_ROLLBACK);
}

/* --- group commit --- */

/*
 * Gives every request of the batch that has not failed on its own
 * status st and "what: cause" - used when the batch's transaction did
 * not commit, so that nothing in it reports a success it does not have.
 * A request that already failed with ERROR keeps its own answer.
 */
static void
sq_batch_fail(struct sq_queue *batch, enum aster_store_status st,
              const char *what, const char *cause)
{
	char msg[512];
	struct sq_req *r;

	snprintf(msg, sizeof(msg), "%s: %s", what, cause);
	for (r = batch->head; r != NULL; r = r->next)
		if (!(r->st == ASTER_STORE_ERROR && r->error != NULL))
			sq_req_fail(r, st, msg);
}

/*
 * Runs one request of a batch inside its savepoint. Returns 0, or -1
 * when the batch's transaction can no longer commit (SQLite rolled it
 * back, or a savepoint statement failed); then *rc is the cause.
 */
static int
sq_batch_run_one(struct sq_store *s, struct sq_req *r, int *rc)
{
	if ((*rc = sq_db_step_simple(s, SQ_ST_SAVEPOINT)) != SQLITE_OK)
		return -1;
	sq_db_run(s, r);
	/* Some errors (I/O, disk full, busy in the middle of a write) make
	 * SQLite roll the whole transaction back by itself. */
	if (sqlite3_get_autocommit(s->db)) {
		*rc = SQLITE_ABORT;
		return -1;
	}
	/* A deferred foreign key this request left broken would fail the
	 * batch's COMMIT for everyone: fail it here, as its own commit
	 * would have. */
	if (r->st == ASTER_STORE_OK && sq_deferred_fks(s))
		sq_req_fail(r, ASTER_STORE_ERROR, "FOREIGN KEY constraint "
		            "failed");
	if (r->st != ASTER_STORE_OK &&
	    (*rc = sq_db_step_simple(s, SQ_ST_ROLLBACK_TO)) != SQLITE_OK)
		return -1;
	if ((*rc = sq_db_step_simple(s, SQ_ST_RELEASE)) != SQLITE_OK)
		return -1;
	return 0;
}

/*
 * Runs a batch of autocommit requests in one transaction and leaves the
 * outcome in each of them: their own when the transaction committed,
 * else UNAVAILABLE or ERROR for all.
 */
static void
sq_batch_run(struct sq_store *s, struct sq_queue *batch)
{
	struct sq_req *r;
	int rc;

	if ((rc = sq_db_step_simple(s, SQ_ST_BEGIN)) != SQLITE_OK) {
		sq_batch_fail(batch, sq_status_of(rc), "cannot begin",
		              sqlite3_errmsg(s->db));
		return;
	}
	for (r = batch->head; r != NULL; r = r->next) {
		if (atomic_load(&s->stopping)) {
			sq_req_fail(r, ASTER_STORE_UNAVAILABLE,
			            "the store is stopping");
			continue;
		}
		if (sq_batch_run_one(s, r, &rc) < 0) {
			char cause[256];

			snprintf(cause, sizeof(cause), "%s", r->error != NULL &&
			         rc == SQLITE_ABORT ? r->error :
			         sqlite3_errmsg(s->db));
			sq_rollback_open(s);
			sq_batch_fail(batch, ASTER_STORE_UNAVAILABLE,
			              "the transaction was rolled back", cause);
			return;
		}
	}
	if ((rc = sq_db_step_simple(s, SQ_ST_COMMIT)) != SQLITE_OK) {
		char cause[256];

		snprintf(cause, sizeof(cause), "%s", sqlite3_errmsg(s->db));
		sq_rollback_open(s);
		sq_batch_fail(batch, sq_status_of(rc) == ASTER_STORE_ERROR ?
		              ASTER_STORE_ERROR : ASTER_STORE_UNAVAILABLE,
		              "commit failed", cause);
	}
}

/* Takes up to SQ_BATCH_MAX autocommit requests off the queue (stopping
 * at a begin, which must wait for them) and runs them. Called and
 * returns with the mutex held. */
static void
sq_step_batch(struct sq_store *s)
{
	struct sq_queue batch = {NULL, NULL, 0};

	while (batch.n < SQ_BATCH_MAX && s->queue.head != NULL &&
	       s->queue.head->kind != SQ_BEGIN)
		sq_queue_push(&batch, sq_queue_pop(&s->queue));
	pthread_mutex_unlock(&s->mu);
	sq_batch_run(s, &batch);
	pthread_mutex_lock(&s->mu);
	sq_post(s, &batch);
}

/* --- transactions --- */

/* Opens the transaction of a begin request. Mutex held. */
static void
sq_step_begin(struct sq_store *s)
{
	struct sq_req *r = sq_queue_pop(&s->queue);
	int rc;

	pthread_mutex_unlock(&s->mu);
	if ((rc = sq_db_step_simple(s, SQ_ST_BEGIN)) != SQLITE_OK) {
		sq_req_fail_db(s, r, rc);
	} else {
		r->st = ASTER_STORE_OK;
		s->active = r->txn;
	}
	pthread_mutex_lock(&s->mu);
	sq_post_one(s, r);
}

/* Marks the open transaction failed: from now on it can only roll back
 * (as in PostgreSQL, whatever SQLite would still allow), and its commit
 * answers the first failure's status. */
static void
sq_txn_mark_failed(struct aster_txn *t, enum aster_store_status st,
                   const char *why)
{
	if (t->failed)
		return;
	t->failed = 1;
	t->fail_st = st;
	t->fail_msg = strdup(why != NULL ? why : "statement failed");
}

/* Keeps note until t commits; one equal to a note t has already (same
 * channel and payload) is dropped, as PostgreSQL does. */
static void
sq_txn_add_note(struct aster_txn *t, struct sq_req *note)
{
	struct sq_req *n;

	for (n = t->notes.head; n != NULL; n = n->next)
		if (strcmp(n->ns, note->ns) == 0 &&
		    strcmp(n->value, note->value) == 0) {
			sq_req_free(note);
			return;
		}
	sq_queue_push(&t->notes, note);
}

/* commit of the open transaction t: OK only once COMMIT succeeded; after
 * a failed statement, a rollback answering that statement's status. */
static void
sq_txn_commit(struct sq_store *s, struct aster_txn *t, struct sq_req *r)
{
	char msg[512];
	int rc;

	if (t->failed) {
		sq_rollback_open(s);
		snprintf(msg, sizeof(msg), "the transaction was rolled back: "
		         "a statement in it failed: %s",
		         t->fail_msg != NULL ? t->fail_msg : "");
		sq_req_fail(r, t->fail_st, msg);
		return;
	}
	if (sqlite3_get_autocommit(s->db)) {
		sq_req_fail(r, ASTER_STORE_UNAVAILABLE,
		            "the transaction was rolled back by the database");
		return;
	}
	if ((rc = sq_db_step_simple(s, SQ_ST_COMMIT)) != SQLITE_OK) {
		sq_req_fail_db(s, r, rc);
		sq_rollback_open(s);
		return;
	}
	r->st = ASTER_STORE_OK;
}

/* Runs one request of the open transaction. */
static void
sq_txn_run(struct sq_store *s, struct sq_req *r)
{
	struct aster_txn *t = s->active;
	char msg[512];

	switch (r->kind) {
	case SQ_COMMIT:
		sq_txn_commit(s, t, r);
		s->active = NULL;
		break;
	case SQ_ROLLBACK:
		sq_rollback_open(s);
		r->st = ASTER_STORE_OK;
		s->active = NULL;
		break;
	case SQ_PUBLISH:
		/* Like a statement: refused once the transaction failed. */
		if (t->failed) {
			snprintf(msg, sizeof(msg), "the transaction failed "
			         "earlier (%s): only rollback is possible",
			         t->fail_msg != NULL ? t->fail_msg : "");
			sq_req_fail(r, ASTER_STORE_ERROR, msg);
			break;
		}
		sq_txn_add_note(t, r->note);
		r->note = NULL;
		r->st = ASTER_STORE_OK;
		break;
	default:
		if (t->failed) {
			snprintf(msg, sizeof(msg), "the transaction failed "
			         "earlier (%s): only rollback is possible",
			         t->fail_msg != NULL ? t->fail_msg : "");
			sq_req_fail(r, ASTER_STORE_ERROR, msg);
			break;
		}
		sq_db_run(s, r);
		if (r->st != ASTER_STORE_OK)
			sq_txn_mark_failed(t, r->st, r->error);
		else if (sqlite3_get_autocommit(s->db))
			sq_txn_mark_failed(t, ASTER_STORE_UNAVAILABLE,
			                   "rolled back by the database");
		break;
	}
}

/* Takes the next request of the open transaction and runs it. Mutex
 * held. */
static void
sq_step_txn(struct sq_store *s)
{
	struct sq_req *r = sq_queue_pop(&s->tq);
	struct sq_queue out = {NULL, NULL, 0};
	struct aster_txn *t = r->txn;
	int end = r->kind == SQ_COMMIT || r->kind == SQ_ROLLBACK;

	pthread_mutex_unlock(&s->mu);
	if (t != s->active) {
		sq_req_fail(r, ASTER_STORE_ERROR,
		            "not the open transaction of this store");
		end = 0;
	} else {
		sq_txn_run(s, r);
	}
	sq_queue_push(&out, r);
	/* The loop frees t once r is delivered: its notes leave it now,
	 * posted after r when it committed, else dropped. */
	if (end && r->kind == SQ_COMMIT && r->st == ASTER_STORE_OK)
		sq_queue_append(&out, &t->notes);
	else if (end)
		while (t->notes.head != NULL)
			sq_req_free(sq_queue_pop(&t->notes));
	pthread_mutex_lock(&s->mu);
	sq_post(s, &out);
}

/* --- the thread --- */

/* 1 when the worker has something to do now. Mutex held. */
static int
sq_runnable(const struct sq_store *s)
{
	return s->active != NULL ? s->tq.head != NULL : s->queue.head != NULL;
}

/* Fails every request of q with UNAVAILABLE, onto the done queue. Mutex
 * held. */
static void
sq_fail_queue(struct sq_store *s, struct sq_queue *q)
{
	struct sq_req *r;

	for (r = q->head; r != NULL; r = r->next)
		sq_req_fail(r, ASTER_STORE_UNAVAILABLE, "the store is stopping");
	sq_post(s, q);
}

/*
 * Opens the database on the worker, where waiting on the disk or on
 * another process's lock keeps nobody else waiting, and posts the start's
 * outcome to the loop. Returns 0 when open.
 */
static int
sq_worker_open(struct sq_store *s)
{
	struct sq_req *r = s->open_req;
	char err[384];
	int rc = sq_db_open(s, err, sizeof(err));

	r->st = rc == 0 ? ASTER_STORE_OK : ASTER_STORE_UNAVAILABLE;
	if (rc < 0 && (r->error = malloc(strlen(s->path) + strlen(err) +
	                                 32)) != NULL)
		sprintf(r->error, "sqlite: cannot open %s: %s", s->path, err);
	if (rc == 0)
		atomic_store(&s->healthy, 1);
	pthread_mutex_lock(&s->mu);
	s->open_req = NULL;
	sq_post_one(s, r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/*
 * The worker's loop; arg is the store. Returns when stop() set
 * `stopping`, after the shutdown described at the top of this file.
 */
void *
sq_worker_main(void *arg)
{
	struct sq_store *s = arg;

	if (sq_worker_open(s) < 0) {
		pthread_mutex_lock(&s->mu);
		sq_fail_queue(s, &s->queue);
		pthread_mutex_unlock(&s->mu);
		return NULL;
	}
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!atomic_load(&s->stopping) && !sq_runnable(s))
			pthread_cond_wait(&s->cond, &s->mu);
		if (atomic_load(&s->stopping))
			break;
		if (s->active != NULL)
			sq_step_txn(s);
		else if (s->queue.head->kind == SQ_BEGIN)
			sq_step_begin(s);
		else
			sq_step_batch(s);
	}
	pthread_mutex_unlock(&s->mu);
	sq_rollback_open(s);
	s->active = NULL;
	sq_db_close(s);
	pthread_mutex_lock(&s->mu);
	sq_fail_queue(s, &s->tq);
	sq_fail_queue(s, &s->queue);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}
