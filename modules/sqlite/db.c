/*
 * db.c - everything the SQLite store does with its connection: opening
 * it and creating the provider's tables, the statements it keeps
 * prepared, running one request's SQL, and turning SQLite's result codes
 * into store statuses.
 *
 * Only the worker thread calls in here once the store runs (start() opens
 * the connection before the worker exists). Nothing here decides about
 * transactions: the worker brackets each request (worker.c).
 *
 * The documents' SQL is here too (the statements are kept prepared);
 * docs.c runs it.
 */
#include "sq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char sq_schema_sql[] =
	"BEGIN IMMEDIATE;"
	"CREATE TABLE IF NOT EXISTS aster_documents ("
	" namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	" version INTEGER NOT NULL, PRIMARY KEY (namespace, key))"
	" WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS aster_store_counters ("
	" name TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL)"
	" WITHOUT ROWID;"
	/* Never below a version already in use, even if the counter row
	 * was lost. */
	"INSERT OR IGNORE INTO aster_store_counters (name, value)"
	" SELECT 'doc_version', coalesce(max(version), 0)"
	" FROM aster_documents;"
	"COMMIT;";

#define SQ_LIST_SELECT \
	"SELECT key, value, version FROM aster_documents WHERE namespace = ?1 "
#define SQ_LIST_END " ORDER BY key LIMIT ?4"

/* Indexed by enum sq_stmt_id. */
static const char *const sq_stmt_sql[SQ_ST_COUNT] = {
	[SQ_ST_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_ST_COMMIT] = "COMMIT",
	[SQ_ST_ROLLBACK] = "ROLLBACK",
	[SQ_ST_SAVEPOINT] = "SAVEPOINT aster_op",
	[SQ_ST_RELEASE] = "RELEASE aster_op",
	[SQ_ST_ROLLBACK_TO] = "ROLLBACK TO aster_op",
	[SQ_ST_DOC_GET] = "SELECT value, version FROM aster_documents "
	                  "WHERE namespace = ?1 AND key = ?2",
	[SQ_ST_DOC_VERSION] = "SELECT version FROM aster_documents "
	                      "WHERE namespace = ?1 AND key = ?2",
	[SQ_ST_DOC_NEXT_VERSION] = "UPDATE aster_store_counters "
	                           "SET value = value + 1 "
	                           "WHERE name = 'doc_version' RETURNING value",
	[SQ_ST_DOC_UPSERT] = "INSERT INTO aster_documents "
	                     "(namespace, key, value, version) "
	                     "VALUES (?1, ?2, ?3, ?4) "
	                     "ON CONFLICT (namespace, key) DO UPDATE SET "
	                     "value = excluded.value, "
	                     "version = excluded.version",
	[SQ_ST_DOC_DELETE] = "DELETE FROM aster_documents "
	                     "WHERE namespace = ?1 AND key = ?2",
	/* Keys compare with the BINARY collation (memcmp): byte order. A
	 * prefix is the range [prefix, upper) so the primary key index
	 * serves it for any bytes; `after` replaces the lower bound when it
	 * sorts after the prefix (sq_run_doc_list). */
	[SQ_ST_LIST_GE] = SQ_LIST_SELECT "AND key >= ?2" SQ_LIST_END,
	[SQ_ST_LIST_GE_LT] = SQ_LIST_SELECT "AND key >= ?2 AND key < ?3"
	                     SQ_LIST_END,
	[SQ_ST_LIST_GT] = SQ_LIST_SELECT "AND key > ?2" SQ_LIST_END,
	[SQ_ST_LIST_GT_LT] = SQ_LIST_SELECT "AND key > ?2 AND key < ?3"
	                     SQ_LIST_END,
};

/*
 * SQLite's view of a failure, as the store contract sees it: the
 * database being busy past the timeout, out of space, unreadable or
 * going away is UNAVAILABLE (not done; may work later); everything else
 * - syntax, constraints, types - is ERROR.
 */
enum aster_store_status
sq_status_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_NOMEM:
	case SQLITE_IOERR:
	case SQLITE_CORRUPT:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
	case SQLITE_NOTADB:
	case SQLITE_READONLY:
	case SQLITE_INTERRUPT:
	case SQLITE_ABORT:
		return ASTER_STORE_UNAVAILABLE;
	default:
		return ASTER_STORE_ERROR;
	}
}

/* Drops what a request collected before it failed. */
static void
sq_req_clear_results(struct sq_req *r)
{
	free(r->buf.p);
	free(r->offs);
	free(r->lengths);
	free(r->values);
	free(r->docs);
	r->buf.p = NULL;
	r->buf.len = r->buf.cap = 0;
	r->offs = r->lengths = NULL;
	r->values = NULL;
	r->docs = NULL;
	r->nrows = r->ncols = r->ndocs = 0;
	r->changes = 0;
	r->more = 0;
}

/*
 * Completes r with status st and msg (copied, on one line; may be NULL),
 * dropping any partial result. Replaces an earlier error.
 */
void
sq_req_fail(struct sq_req *r, enum aster_store_status st, const char *msg)
{
	char *p;

	sq_req_clear_results(r);
	r->st = st;
	free(r->error);
	r->error = msg != NULL ? strdup(msg) : NULL;
	for (p = r->error; p != NULL && *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
}

/* Completes r with the failure rc of the connection, and its message. */
void
sq_req_fail_db(struct sq_store *s, struct sq_req *r, int rc)
{
	if ((rc & 0xff) == SQLITE_AUTH) {
		sq_req_fail(r, ASTER_STORE_ERROR, "transaction control "
		            "(BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE) is "
		            "not allowed in store SQL: use begin, commit and "
		            "rollback");
		return;
	}
	sq_req_fail(r, sq_status_of(rc), s->db != NULL ?
	            sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

/*
 * The authorizer: while the worker compiles a caller's SQL, transaction
 * control is refused, since the worker owns the transaction boundaries
 * (a COMMIT inside a group commit would commit the others' work half
 * way).
 */
static int
sq_authorize(void *arg, int action, const char *a, const char *b,
             const char *c, const char *d)
{
	struct sq_store *s = arg;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	if (s->user_sql &&
	    (action == SQLITE_TRANSACTION || action == SQLITE_SAVEPOINT))
		return SQLITE_DENY;
	return SQLITE_OK;
}

/*
 * The busy handler: like sqlite3_busy_timeout() (sleeps growing from 1 to
 * 100 ms, up to busy_timeout_ms in all), but it gives up at once when the
 * store is stopping, so that stop() never waits out a lock held by
 * another process. Returns 1 to try again, 0 to fail with SQLITE_BUSY.
 */
static int
sq_busy(void *arg, int count)
{
	static const int delays[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50};
	const int ndelays = (int)(sizeof(delays) / sizeof(delays[0]));
	struct sq_store *s = arg;
	long waited = 0, delay;
	struct timespec ts;
	int i;

	if (atomic_load(&s->stopping))
		return 0;
	for (i = 0; i < count && i < ndelays; i++)
		waited += delays[i];
	if (count > ndelays)
		waited += 100L * (count - ndelays);
	if (waited >= s->busy_timeout_ms)
		return 0;
	delay = count < ndelays ? delays[count] : 100;
	if (delay > s->busy_timeout_ms - waited)
		delay = s->busy_timeout_ms - waited;
	ts.tv_sec = 0;
	ts.tv_nsec = delay * 1000000L;
	nanosleep(&ts, NULL);
	return 1;
}

/* Runs one of the connection's own statements without rows; returns
 * SQLITE_OK or the failure. */
int
sq_db_step_simple(struct sq_store *s, enum sq_stmt_id id)
{
	sqlite3_stmt *st = s->stmts[id];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Runs sql on the connection being opened; on failure writes the cause
 * to err and returns -1. */
static int
sq_db_script(struct sq_store *s, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "%s", msg != NULL ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return -1;
}

/*
 * Opens s->path (creating the file), sets the connection up (WAL, busy
 * timeout, foreign keys, synchronous=FULL so that an acknowledged write
 * survives a power loss), creates the provider's tables and prepares its
 * statements. Returns 0, or -1 with sqlite's message in err and nothing
 * left open.
 */
int
sq_db_open(struct sq_store *s, char *err, size_t errlen)
{
	int rc, i;

	rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE |
	                     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s", s->db != NULL ?
		         sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_handler(s->db, sq_busy, s);
	if (sq_db_script(s, "PRAGMA journal_mode = WAL;"
	                 "PRAGMA foreign_keys = ON;"
	                 "PRAGMA synchronous = FULL;", err, errlen) < 0 ||
	    sq_db_script(s, sq_schema_sql, err, errlen) < 0)
		goto fail;
	for (i = 0; i < SQ_ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, sq_stmt_sql[i], -1,
		                        SQLITE_PREPARE_PERSISTENT,
		                        &s->stmts[i], NULL);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	sqlite3_set_authorizer(s->db, sq_authorize, s);
	return 0;
fail:
	sq_db_close(s);
	return -1;
}

/* Finalizes the statements and closes the connection (a no-op when it is
 * not open). An open transaction is rolled back by the close. */
void
sq_db_close(struct sq_store *s)
{
	int i;

	for (i = 0; i < SQ_ST_COUNT; i++) {
		sqlite3_finalize(s->stmts[i]);
		s->stmts[i] = NULL;
	}
	sqlite3_close_v2(s->db);
	s->db = NULL;
}

/* --- result buffers --- */

/* Appends n bytes and a NUL to b; returns their offset, or SIZE_MAX when
 * memory runs out. */
static size_t
sq_buf_add(struct sq_buf *b, const void *data, size_t n)
{
	size_t off = b->len;

	if (n >= SIZE_MAX / 2 - b->len)
		return SIZE_MAX;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL)
			return SIZE_MAX;
		b->p = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + off, data, n);
	b->p[off + n] = '\0';
	b->len += n + 1;
	return off;
}

/* Makes room for cell number `need - 1` in r->offs and r->lengths;
 * *cap is their current capacity. Returns -1 when memory runs out. */
static int
sq_cells_reserve(struct sq_req *r, size_t need, size_t *cap)
{
	size_t ncap;
	size_t *o, *l;

	if (need <= *cap)
		return 0;
	ncap = *cap != 0 ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	if ((o = realloc(r->offs, ncap * sizeof(*o))) == NULL)
		return -1;
	r->offs = o;
	if ((l = realloc(r->lengths, ncap * sizeof(*l))) == NULL)
		return -1;
	r->lengths = l;
	*cap = ncap;
	return 0;
}

/* Appends one cell (data NULL: SQL NULL) to r's result. */
int
sq_cell_add(struct sq_req *r, size_t idx, size_t *cap, const void *data,
            size_t n)
{
	size_t off = SIZE_MAX;

	if (sq_cells_reserve(r, idx + 1, cap) < 0)
		return -1;
	if (data != NULL && (off = sq_buf_add(&r->buf, data, n)) == SIZE_MAX)
		return -1;
	r->offs[idx] = off;
	r->lengths[idx] = data != NULL ? n : 0;
	return 0;
}

/* The text of column i of the current row; NULL for SQL NULL. */
const void *
sq_column(sqlite3_stmt *st, int i, size_t *n)
{
	const void *p;

	if (sqlite3_column_type(st, i) == SQLITE_NULL) {
		*n = 0;
		return NULL;
	}
	p = sqlite3_column_text(st, i);
	*n = (size_t)sqlite3_column_bytes(st, i);
	return p != NULL ? p : "";
}

/*
 * Turns the offsets of r's result into the pointers its callback gets,
 * once the buffer can no longer move. Called on the loop thread just
 * before delivery; when memory runs out r fails instead.
 */
void
sq_result_seal(struct sq_req *r)
{
	size_t i, n;

	if (r->st != ASTER_STORE_OK)
		return;
	switch (r->kind) {
	case SQ_QUERY:
		n = r->nrows * r->ncols;
		if (n == 0)
			break;
		if ((r->values = calloc(n, sizeof(*r->values))) == NULL) {
			sq_req_fail(r, ASTER_STORE_UNAVAILABLE,
			            "out of memory");
			break;
		}
		for (i = 0; i < n; i++)
			r->values[i] = r->offs[i] == SIZE_MAX ? NULL :
			               r->buf.p + r->offs[i];
		break;
	case SQ_DOC_GET:
		r->docs[0].key = r->key;
		r->docs[0].value = r->buf.p + r->offs[0];
		break;
	case SQ_DOC_PUT:
		r->docs[0].key = r->key;
		r->docs[0].value = r->value;
		break;
	case SQ_DOC_LIST:
		for (i = 0; i < r->ndocs; i++) {
			r->docs[i].key = r->buf.p + r->offs[2 * i];
			r->docs[i].value = r->buf.p + r->offs[2 * i + 1];
		}
		break;
	default:
		break;
	}
}

/* --- caller SQL --- */

/*
 * Binds the text parameters of r to st by name: "$1" is parameter 1 of
 * the caller whatever index SQLite gave it (it numbers named parameters
 * in order of first appearance). A placeholder other than $1..$nparams
 * is an error, as PostgreSQL would say.
 */
static int
sq_bind_params(struct sq_store *s, struct sq_req *r, sqlite3_stmt *st)
{
	int i, n = sqlite3_bind_parameter_count(st);
	char msg[160];

	for (i = 1; i <= n; i++) {
		const char *name = sqlite3_bind_parameter_name(st, i);
		char *end = NULL;
		unsigned long k = 0;
		int rc;

		if (name != NULL && name[0] == '$' && name[1] >= '1' &&
		    name[1] <= '9')
			k = strtoul(name + 1, &end, 10);
		if (k == 0 || end == NULL || *end != '\0' || k > r->nparams) {
			snprintf(msg, sizeof(msg), "parameter %s has no value "
			         "(%zu given; write $1..$n)",
			         name != NULL ? name : "?", r->nparams);
			sq_req_fail(r, ASTER_STORE_ERROR, msg);
			return -1;
		}
		if (r->params[k - 1] == NULL)
			rc = sqlite3_bind_null(st, i);
		else
			rc = sqlite3_bind_text(st, i, r->params[k - 1], -1,
			                       SQLITE_STATIC);
		if (rc != SQLITE_OK) {
			sq_req_fail_db(s, r, rc);
			return -1;
		}
	}
	return 0;
}

/* 1 when text holds another statement than whitespace and comments. */
static int
sq_has_more_sql(struct sq_store *s, const char *tail)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (tail == NULL || *tail == '\0')
		return 0;
	rc = sqlite3_prepare_v3(s->db, tail, -1, 0, &st, NULL);
	sqlite3_finalize(st);
	return rc != SQLITE_OK || st != NULL;
}

/* Steps st to the end, collecting every row as text into r. */
static void
sq_collect_rows(struct sq_store *s, struct sq_req *r, sqlite3_stmt *st)
{
	sqlite3_int64 before = sqlite3_total_changes64(s->db);
	size_t cap = 0, cells = 0;
	int rc, i, ncols = sqlite3_column_count(st);

	r->ncols = (size_t)ncols;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < ncols; i++) {
			size_t n;
			const void *p = sq_column(st, i, &n);

			if (sq_cell_add(r, cells++, &cap, p, n) < 0) {
				sq_req_fail(r, ASTER_STORE_UNAVAILABLE,
				            "out of memory");
				return;
			}
		}
		r->nrows++;
	}
	if (rc != SQLITE_DONE) {
		sq_req_fail_db(s, r, rc);
		return;
	}
	/* sqlite3_changes() keeps the count of the last INSERT, UPDATE or
	 * DELETE: a SELECT or CREATE after one must report 0, so only
	 * trust it when this statement changed something. */
	if (sqlite3_total_changes64(s->db) != before)
		r->changes = (uint64_t)sqlite3_changes64(s->db);
	r->st = ASTER_STORE_OK;
}

/* query: one statement of the caller's, with its parameters. */
static void
sq_run_query(struct sq_store *s, struct sq_req *r)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	int rc;

	rc = sqlite3_prepare_v3(s->db, r->sql, -1, 0, &st, &tail);
	if (rc != SQLITE_OK) {
		sq_req_fail_db(s, r, rc);
		return;
	}
	if (st == NULL) {               /* only whitespace or comments */
		r->st = ASTER_STORE_OK;
		return;
	}
	if (sq_has_more_sql(s, tail))
		sq_req_fail(r, ASTER_STORE_ERROR, "query: more than one "
		            "statement (use exec for scripts)");
	else if (sq_bind_params(s, r, st) == 0)
		sq_collect_rows(s, r, st);
	sqlite3_finalize(st);
}

/* exec: a script of the caller's, no parameters, rows ignored. */
static void
sq_run_exec(struct sq_store *s, struct sq_req *r)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, r->sql, NULL, NULL, &msg);

	if (rc == SQLITE_OK) {
		r->st = ASTER_STORE_OK;
	} else if ((rc & 0xff) == SQLITE_AUTH || msg == NULL) {
		sq_req_fail_db(s, r, rc);
	} else {
		sq_req_fail(r, sq_status_of(rc), msg);
	}
	sqlite3_free(msg);
}

/*
 * Runs one request's SQL (not begin/commit/rollback: the worker does
 * those) in whatever transaction the worker has open, and leaves its
 * outcome in r->st, r->error and the results.
 */
void
sq_db_run(struct sq_store *s, struct sq_req *r)
{
	switch (r->kind) {
	case SQ_QUERY:
		s->user_sql = 1;
		sq_run_query(s, r);
		s->user_sql = 0;
		break;
	case SQ_EXEC:
		s->user_sql = 1;
		sq_run_exec(s, r);
		s->user_sql = 0;
		break;
	case SQ_DOC_GET:
		sq_run_doc_get(s, r);
		break;
	case SQ_DOC_PUT:
		sq_run_doc_put(s, r);
		break;
	case SQ_DOC_DELETE:
		sq_run_doc_delete(s, r);
		break;
	case SQ_DOC_LIST:
		sq_run_doc_list(s, r);
		break;
	default:
		sq_req_fail(r, ASTER_STORE_ERROR, "not a statement");
		break;
	}
}
