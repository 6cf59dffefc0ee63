/*
 * ops.c - the generic store operations (query, exec, transactions) and
 * struct pg_op itself: its allocation and the delivery of its outcome.
 *
 * An op copies every string it is given into one allocation, so the
 * caller's buffers are free as soon as the call returns (store.h).
 */
#include "pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PostgreSQL's protocol counts parameters in 16 bits. */
#define PG_MAX_PARAMS 65535

/*
 * A new op of kind with copies of text (may be NULL) and of n parameters
 * (a NULL parameter stays NULL: SQL NULL). lens, when not NULL, gives
 * the parameters' lengths (they need not be NUL-terminated). NULL when
 * out of memory.
 */
struct pg_op *
pg_op_new(enum pg_kind kind, const char *text, size_t n,
          const char *const *params, const size_t *lens)
{
	size_t tlen = text != NULL ? strlen(text) + 1 : 0, bytes = tlen, i;
	struct pg_op *op;
	const char **pv;
	char *s;

	for (i = 0; i < n; i++)
		if (params[i] != NULL)
			bytes += (lens != NULL ? lens[i] : strlen(params[i])) + 1;
	op = calloc(1, sizeof(*op) + n * sizeof(char *) + bytes);
	if (op == NULL)
		return NULL;
	pv = (const char **)(op + 1);
	s = (char *)(pv + n);
	op->kind = kind;
	if (text != NULL) {
		memcpy(s, text, tlen);
		op->text = s;
		s += tlen;
	}
	for (i = 0; i < n; i++) {
		size_t len;

		if (params[i] == NULL)
			continue;
		len = lens != NULL ? lens[i] : strlen(params[i]);
		memcpy(s, params[i], len);
		s[len] = '\0';
		pv[i] = s;
		s += len + 1;
	}
	op->params = pv;
	op->nparams = (int)n;
	return op;
}

void
pg_op_free(struct pg_op *op)
{
	if (op == NULL)
		return;
	PQclear(op->res);
	free(op->err);
	free(op);
}

/* PQcmdTuples also counts the rows a SELECT or FETCH returned; the
 * contract's `changes` counts rows written only. */
static int
counts_changes(const char *status)
{
	return strncmp(status, "INSERT ", 7) == 0 ||
	       strncmp(status, "UPDATE ", 7) == 0 ||
	       strncmp(status, "DELETE ", 7) == 0 ||
	       strncmp(status, "MERGE ", 6) == 0;
}

/* Builds the row arrays of a statement's result (pointers into res). */
static int
rows_build(const PGresult *res, struct aster_store_rows *rows)
{
	size_t r, f, n;

	memset(rows, 0, sizeof(*rows));
	if (res == NULL)
		return 0;
	rows->nrows = (size_t)PQntuples(res);
	rows->ncols = (size_t)PQnfields(res);
	rows->changes = counts_changes(PQcmdStatus((PGresult *)res)) ?
	    strtoull(PQcmdTuples((PGresult *)res), NULL, 10) : 0;
	n = rows->nrows * rows->ncols;
	if (n == 0)
		return 0;
	rows->values = malloc(n * sizeof(char *));
	rows->lengths = malloc(n * sizeof(size_t));
	if (rows->values == NULL || rows->lengths == NULL)
		return -1;
	for (r = 0; r < rows->nrows; r++)
		for (f = 0; f < rows->ncols; f++) {
			size_t i = r * rows->ncols + f;

			((const char **)rows->values)[i] =
			    PQgetisnull(res, (int)r, (int)f) ? NULL :
			    PQgetvalue(res, (int)r, (int)f);
			((size_t *)rows->lengths)[i] =
			    (size_t)PQgetlength(res, (int)r, (int)f);
		}
	return 0;
}

static void
deliver_rows(struct pg_op *op)
{
	struct aster_store_rows rows;

	if (op->st != ASTER_STORE_OK) {
		op->cb.rows(op->arg, op->st, NULL, op->err);
		return;
	}
	if (rows_build(op->res, &rows) < 0)
		/* It ran (and, alone, committed): ERROR, not UNAVAILABLE,
		 * so that nobody runs it again. */
		op->cb.rows(op->arg, ASTER_STORE_ERROR, NULL,
		            "out of memory reading the result");
	else
		op->cb.rows(op->arg, ASTER_STORE_OK, &rows, NULL);
	free((void *)rows.values);
	free((void *)rows.lengths);
}

/* Runs op's callback with its outcome. */
void
pg_op_deliver(struct pg_op *op)
{
	switch (op->kind) {
	case PG_QUERY:
		deliver_rows(op);
		break;
	case PG_EXEC:
	case PG_COMMIT:
	case PG_ROLLBACK:
	case PG_PUBLISH:
		op->cb.done(op->arg, op->st, op->err);
		break;
	case PG_BEGIN:
		op->cb.txn(op->arg, op->st,
		           op->st == ASTER_STORE_OK ? op->txn : NULL, op->err);
		break;
	default:
		pg_doc_deliver(op);
		break;
	}
}

int
pg_query(void *self, struct aster_txn *txn, const char *sql,
         size_t nparams, const char *const *params, aster_store_rows_cb cb,
         void *arg)
{
	struct pg_op *op;

	if (self == NULL || sql == NULL || cb == NULL ||
	    nparams > PG_MAX_PARAMS || (nparams > 0 && params == NULL) ||
	    (txn != NULL && txn->ending))
		return -1;
	op = pg_op_new(PG_QUERY, sql, nparams, params, NULL);
	if (op == NULL)
		return -1;
	op->txn = txn;
	op->cb.rows = cb;
	op->arg = arg;
	pg_pool_submit(self, op);
	return 0;
}

int
pg_submit_done(void *self, struct aster_txn *txn, enum pg_kind kind,
               const char *text, size_t n, const char *const *params,
               aster_store_done_cb cb, void *arg)
{
	struct pg_op *op = pg_op_new(kind, text, n, params, NULL);

	if (op == NULL)
		return -1;
	op->txn = txn;
	op->cb.done = cb;
	op->arg = arg;
	pg_pool_submit(self, op);
	return 0;
}

int
pg_exec(void *self, struct aster_txn *txn, const char *script,
        aster_store_done_cb cb, void *arg)
{
	if (self == NULL || script == NULL || cb == NULL ||
	    (txn != NULL && txn->ending))
		return -1;
	return pg_submit_done(self, txn, PG_EXEC, script, 0, NULL, cb, arg);
}

/* FNV-1a: the advisory lock key of a lock name. Every asterd computes
 * the same key for the same name, whatever the server's version. */
static int64_t
lock_key(const char *name)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (; *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= 0x100000001b3u;
	}
	return (int64_t)h;
}

/*
 * BEGIN, and with a lock the advisory lock in the same round trip (a
 * simple-protocol script answers both). The lock is transaction-scoped:
 * COMMIT, ROLLBACK or a lost session release it.
 */
int
pg_begin(void *self, const char *lock, aster_store_txn_cb cb, void *arg)
{
	struct aster_txn *txn;
	struct pg_op *op;
	char sql[96];

	if (self == NULL || cb == NULL)
		return -1;
	if (lock != NULL)
		snprintf(sql, sizeof(sql), "BEGIN; SELECT "
		         "pg_advisory_xact_lock(%" PRId64 ")", lock_key(lock));
	else
		snprintf(sql, sizeof(sql), "BEGIN");
	txn = calloc(1, sizeof(*txn));
	op = pg_op_new(PG_BEGIN, sql, 0, NULL, NULL);
	if (txn == NULL || op == NULL) {
		free(txn);
		pg_op_free(op);
		return -1;
	}
	TAILQ_INIT(&txn->queue);
	op->txn = txn;
	op->cb.txn = cb;
	op->arg = arg;
	pg_pool_submit(self, op);
	return 0;
}

/* commit and rollback: txn is the caller's no more once they return. */
static int
txn_end(void *self, struct aster_txn *txn, enum pg_kind kind,
        aster_store_done_cb cb, void *arg)
{
	if (self == NULL || txn == NULL || cb == NULL || txn->ending)
		return -1;
	txn->ending = 1;
	if (pg_submit_done(self, txn, kind, NULL, 0, NULL, cb, arg) < 0) {
		txn->ending = 0;
		return -1;
	}
	return 0;
}

int
pg_commit(void *self, struct aster_txn *txn, aster_store_done_cb cb,
          void *arg)
{
	return txn_end(self, txn, PG_COMMIT, cb, arg);
}

int
pg_rollback(void *self, struct aster_txn *txn, aster_store_done_cb cb,
            void *arg)
{
	return txn_end(self, txn, PG_ROLLBACK, cb, arg);
}
