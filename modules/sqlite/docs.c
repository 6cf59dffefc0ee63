/*
 * docs.c - the versioned documents of the SQLite store (doc_get, doc_put,
 * doc_delete, doc_list of aster/store.h), run by the worker inside the
 * transaction it has open for them.
 *
 * Documents live in aster_documents, keyed by (namespace, key). Their
 * versions come from one counter row in aster_store_counters, bumped in
 * the writing transaction, so a version is never handed out twice - not
 * after a delete, not after a restart - and a write that rolls back
 * leaves the counter as it was (nobody saw its version). Conditions are
 * checked against the row read in the same transaction; a single worker
 * writes, so nothing changes between the read and the write.
 */
#include "sq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Resets a kept statement and drops its bindings (they point into
 * requests that are about to be freed). */
static void
sq_stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void
sq_bind_key(sqlite3_stmt *st, const struct sq_req *r)
{
	sqlite3_bind_text(st, 1, r->ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->key, -1, SQLITE_STATIC);
}

/* One document for r's result, with its value at cell 0 of r->offs. */
static int
sq_doc_result(struct sq_req *r, const void *value, size_t n,
              uint64_t version)
{
	size_t cap = 0;

	if ((r->docs = calloc(1, sizeof(*r->docs))) == NULL)
		return -1;
	r->ndocs = 1;
	r->docs[0].len = n;
	r->docs[0].version = version;
	if (value != NULL && sq_cell_add(r, 0, &cap, value, n) < 0)
		return -1;
	return 0;
}

/* doc_get: the document, or NOT_FOUND. */
void
sq_run_doc_get(struct sq_store *s, struct sq_req *r)
{
	sqlite3_stmt *st = s->stmts[SQ_ST_DOC_GET];
	int rc;

	sq_bind_key(st, r);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		size_t n;
		const void *p = sq_column(st, 0, &n);

		if (sq_doc_result(r, p != NULL ? p : "", n,
		                  (uint64_t)sqlite3_column_int64(st, 1)) < 0)
			sq_req_fail(r, ASTER_STORE_UNAVAILABLE, "out of memory");
		else
			r->st = ASTER_STORE_OK;
	} else if (rc == SQLITE_DONE) {
		sq_req_fail(r, ASTER_STORE_NOT_FOUND, "no such key");
	} else {
		sq_req_fail_db(s, r, rc);
	}
	sq_stmt_done(st);
}

/* The current version of r's key: 1 and *version when it exists, 0 when
 * it does not, -1 (r failed) on error. */
static int
sq_doc_version(struct sq_store *s, struct sq_req *r, uint64_t *version)
{
	sqlite3_stmt *st = s->stmts[SQ_ST_DOC_VERSION];
	int rc, found = -1;

	sq_bind_key(st, r);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version = (uint64_t)sqlite3_column_int64(st, 0);
		found = 1;
	} else if (rc == SQLITE_DONE) {
		found = 0;
	} else {
		sq_req_fail_db(s, r, rc);
	}
	sq_stmt_done(st);
	return found;
}

/* Fails r with CONFLICT unless the condition holds for (found, cur). */
static int
sq_doc_cond_ok(struct sq_req *r, int found, uint64_t cur)
{
	char msg[96];

	if (r->cond == ASTER_DOC_ABSENT && found) {
		sq_req_fail(r, ASTER_STORE_CONFLICT, "the key exists");
		return 0;
	}
	if (r->cond == ASTER_DOC_VERSION && !found) {
		sq_req_fail(r, ASTER_STORE_CONFLICT, "no such key");
		return 0;
	}
	if (r->cond == ASTER_DOC_VERSION && cur != r->version) {
		snprintf(msg, sizeof(msg), "version mismatch: the key is at "
		         "version %llu", (unsigned long long)cur);
		sq_req_fail(r, ASTER_STORE_CONFLICT, msg);
		return 0;
	}
	return 1;
}

/* The next document version (bumps the persistent counter); 0 on
 * failure, r failed. */
static uint64_t
sq_next_version(struct sq_store *s, struct sq_req *r)
{
	sqlite3_stmt *st = s->stmts[SQ_ST_DOC_NEXT_VERSION];
	uint64_t v = 0;
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		v = (uint64_t)sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);          /* runs the UPDATE to its end */
	}
	if (rc != SQLITE_DONE) {
		sq_req_fail_db(s, r, rc);
		v = 0;
	} else if (v == 0) {
		sq_req_fail(r, ASTER_STORE_ERROR,
		            "the document version counter is missing");
	}
	sq_stmt_done(st);
	return v;
}

/* doc_put: checks the condition (CONFLICT), then writes the value under
 * a fresh version; `created` says whether the key was new. */
void
sq_run_doc_put(struct sq_store *s, struct sq_req *r)
{
	sqlite3_stmt *st = s->stmts[SQ_ST_DOC_UPSERT];
	uint64_t cur = 0, next;
	int found, rc;

	if ((found = sq_doc_version(s, r, &cur)) < 0 ||
	    !sq_doc_cond_ok(r, found, cur))
		return;
	if ((next = sq_next_version(s, r)) == 0)
		return;
	sq_bind_key(st, r);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)next);
	rc = sqlite3_bind_text64(st, 3, r->value, r->len, SQLITE_STATIC,
	                         SQLITE_UTF8);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sq_stmt_done(st);
	if (rc != SQLITE_DONE) {
		sq_req_fail_db(s, r, rc);
		return;
	}
	if (sq_doc_result(r, NULL, r->len, next) < 0) {
		sq_req_fail(r, ASTER_STORE_UNAVAILABLE, "out of memory");
		return;
	}
	r->docs[0].created = !found;
	r->st = ASTER_STORE_OK;
}

/* doc_delete: NOT_FOUND (ANY) or CONFLICT (VERSION) when the key or
 * its version is not there, else deletes it. */
void
sq_run_doc_delete(struct sq_store *s, struct sq_req *r)
{
	sqlite3_stmt *st = s->stmts[SQ_ST_DOC_DELETE];
	uint64_t cur = 0;
	int found, rc;

	if ((found = sq_doc_version(s, r, &cur)) < 0)
		return;
	if (r->cond == ASTER_DOC_ANY && !found) {
		sq_req_fail(r, ASTER_STORE_NOT_FOUND, "no such key");
		return;
	}
	if (!sq_doc_cond_ok(r, found, cur))
		return;
	sq_bind_key(st, r);
	rc = sqlite3_step(st);
	sq_stmt_done(st);
	if (rc != SQLITE_DONE)
		sq_req_fail_db(s, r, rc);
	else
		r->st = ASTER_STORE_OK;
}

/*
 * The smallest string greater than every string starting with prefix,
 * in byte order: prefix without its trailing 0xff bytes, last byte + 1.
 * NULL (and *none = 1) when there is no such bound (empty prefix, or
 * only 0xff bytes); NULL and *none = 0 when memory runs out.
 */
static char *
sq_prefix_upper(const char *prefix, int *none)
{
	size_t n = strlen(prefix);
	char *u;

	while (n > 0 && (unsigned char)prefix[n - 1] == 0xff)
		n--;
	*none = n == 0;
	if (n == 0 || (u = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(u, prefix, n);
	u[n - 1] = (char)((unsigned char)u[n - 1] + 1);
	u[n] = '\0';
	return u;
}

/* Adds the current row (key, value, version) of st to r's documents;
 * *cap counts the room in r->docs. */
static int
sq_list_add(struct sq_req *r, sqlite3_stmt *st, size_t *cap,
            size_t *cellcap)
{
	size_t kn, vn;
	const void *k = sq_column(st, 0, &kn);
	const void *v = sq_column(st, 1, &vn);

	if (r->ndocs == *cap) {
		size_t ncap = *cap != 0 ? *cap * 2 : 16;
		struct aster_doc *d = realloc(r->docs, ncap * sizeof(*d));

		if (d == NULL)
			return -1;
		r->docs = d;
		*cap = ncap;
	}
	if (sq_cell_add(r, 2 * r->ndocs, cellcap, k != NULL ? k : "", kn) < 0 ||
	    sq_cell_add(r, 2 * r->ndocs + 1, cellcap, v != NULL ? v : "",
	                vn) < 0)
		return -1;
	memset(&r->docs[r->ndocs], 0, sizeof(r->docs[0]));
	r->docs[r->ndocs].len = vn;
	r->docs[r->ndocs].version = (uint64_t)sqlite3_column_int64(st, 2);
	r->ndocs++;
	return 0;
}

/* doc_list: up to limit documents in key (byte) order; limit + 1 rows
 * are read to know whether more follow. */
void
sq_run_doc_list(struct sq_store *s, struct sq_req *r)
{
	int none = 0, strict, rc;
	char *upper = sq_prefix_upper(r->prefix, &none);
	const char *lower = r->prefix;
	sqlite3_stmt *st;
	size_t cap = 0, cellcap = 0;

	if (upper == NULL && !none) {
		sq_req_fail(r, ASTER_STORE_UNAVAILABLE, "out of memory");
		return;
	}
	/* Every key with the prefix sorts at or after it, so `after` only
	 * matters when it sorts after the prefix too. */
	strict = r->after != NULL && strcmp(r->after, r->prefix) >= 0;
	if (strict)
		lower = r->after;
	st = s->stmts[strict ? (upper != NULL ? SQ_ST_LIST_GT_LT : SQ_ST_LIST_GT)
	                     : (upper != NULL ? SQ_ST_LIST_GE_LT : SQ_ST_LIST_GE)];
	sqlite3_bind_text(st, 1, r->ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, lower, -1, SQLITE_STATIC);
	if (upper != NULL)
		sqlite3_bind_text(st, 3, upper, -1, SQLITE_STATIC);
	/* LIMIT -1 is no limit in SQLite. */
	sqlite3_bind_int64(st, 4, r->limit < (size_t)INT64_MAX - 1 ?
	                   (sqlite3_int64)r->limit + 1 : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (r->ndocs == r->limit) {
			r->more = 1;
			rc = SQLITE_DONE;
			break;
		}
		if (sq_list_add(r, st, &cap, &cellcap) < 0) {
			sq_req_fail(r, ASTER_STORE_UNAVAILABLE, "out of memory");
			rc = SQLITE_OK;
			break;
		}
	}
	if (rc == SQLITE_DONE)
		r->st = ASTER_STORE_OK;
	else if (rc != SQLITE_OK)
		sq_req_fail_db(s, r, rc);
	sq_stmt_done(st);
	free(upper);
}
