/*
 * docs.c - versioned documents on PostgreSQL: the provider's schema, the
 * statements each connection prepares, and the doc_* operations.
 *
 * One table holds every namespace. Keys are COLLATE "C" so that ORDER BY
 * and the list cursor (`key > after`) follow byte order whatever the
 * database's locale. Versions come from one sequence: nextval never
 * hands a number out twice, so a version names one content forever, even
 * across a delete and a re-create of the key. An update draws its version
 * in the SET, evaluated once it holds the row's lock: one drawn in VALUES
 * before waiting for the lock could be older than the version of the
 * writer it waited for, and the key's version would go backwards.
 */
#include "pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Run by the first connection of each start, in one transaction holding
 * an advisory lock ("asterd" 0x0001): CREATE ... IF NOT EXISTS is not
 * safe against itself, and several nodes may start at once.
 */
const char pg_schema_sql[] =
	"BEGIN;"
	"SELECT pg_advisory_xact_lock(7022084223060410369);"
	"CREATE TABLE IF NOT EXISTS aster_documents ("
	" namespace text NOT NULL,"
	" key text COLLATE \"C\" NOT NULL,"
	" value text NOT NULL,"
	" version bigint NOT NULL,"
	" PRIMARY KEY (namespace, key));"
	"CREATE SEQUENCE IF NOT EXISTS aster_document_version;"
	"COMMIT";

#define NEXT_VERSION "nextval('aster_document_version')"

/* Indexed by the op kind's distance from PG_DOC_GET. */
const struct pg_stmt pg_stmts[] = {
	{"aster_doc_get",
	 "SELECT value, version FROM aster_documents"
	 " WHERE namespace = $1 AND key = $2"},
	{"aster_doc_put_any",
	 "INSERT INTO aster_documents (namespace, key, value, version)"
	 " VALUES ($1, $2, $3, " NEXT_VERSION ")"
	 " ON CONFLICT (namespace, key) DO UPDATE"
	 " SET value = EXCLUDED.value, version = " NEXT_VERSION
	 " RETURNING version, (xmax = 0) AS created"},
	{"aster_doc_put_absent",
	 "INSERT INTO aster_documents (namespace, key, value, version)"
	 " VALUES ($1, $2, $3, " NEXT_VERSION ")"
	 " ON CONFLICT (namespace, key) DO NOTHING RETURNING version"},
	{"aster_doc_put_version",
	 "UPDATE aster_documents SET value = $3, version = " NEXT_VERSION
	 " WHERE namespace = $1 AND key = $2 AND version = $4"
	 " RETURNING version"},
	{"aster_doc_del_any",
	 "DELETE FROM aster_documents WHERE namespace = $1 AND key = $2"},
	{"aster_doc_del_version",
	 "DELETE FROM aster_documents"
	 " WHERE namespace = $1 AND key = $2 AND version = $3"},
	/* key >= $3 bounds the index scan; starts_with does the rest. */
	{"aster_doc_list",
	 "SELECT key, value, version FROM aster_documents"
	 " WHERE namespace = $1 AND key > $2 AND key >= $3"
	 " AND starts_with(key, $3) ORDER BY key LIMIT $4"},
};
const int pg_nstmts = (int)(sizeof(pg_stmts) / sizeof(pg_stmts[0]));
_Static_assert(sizeof(pg_stmts) / sizeof(pg_stmts[0]) ==
               PG_DOC_LIST - PG_DOC_GET + 1, "one statement per doc op kind");

static const char *
stmt_name(enum pg_kind kind)
{
	return pg_stmts[kind - PG_DOC_GET].name;
}

static uint64_t
version_at(const PGresult *res, int row, int col)
{
	return strtoull(PQgetvalue(res, row, col), NULL, 10);
}

/* A version as a bigint parameter. None above INT64_MAX was ever handed
 * out, so such a condition must fail: 0 (never a version) does. */
static void
version_param(char *buf, size_t size, uint64_t version)
{
	snprintf(buf, size, "%" PRIu64, version > INT64_MAX ? 0 : version);
}

static int
name_ok(const char *s)
{
	return s != NULL && *s != '\0';
}

static void
deliver_get(struct pg_op *op)
{
	const PGresult *res = op->res;
	struct aster_doc doc;

	if (PQntuples(res) == 0) {
		op->cb.doc(op->arg, ASTER_STORE_NOT_FOUND, NULL, "no such key");
		return;
	}
	memset(&doc, 0, sizeof(doc));
	doc.key = op->params[1];
	doc.value = PQgetvalue(res, 0, 0);
	doc.len = (size_t)PQgetlength(res, 0, 0);
	doc.version = version_at(res, 0, 1);
	op->cb.doc(op->arg, ASTER_STORE_OK, &doc, NULL);
}

static void
deliver_put(struct pg_op *op)
{
	const PGresult *res = op->res;
	struct aster_doc doc;

	if (PQntuples(res) == 0) {
		op->cb.doc(op->arg, ASTER_STORE_CONFLICT, NULL,
		           op->kind == PG_DOC_PUT_ABSENT ? "the key exists" :
		           "the version does not match");
		return;
	}
	memset(&doc, 0, sizeof(doc));
	doc.key = op->params[1];
	doc.value = op->params[2];
	doc.len = op->vlen;
	doc.version = version_at(res, 0, 0);
	doc.created = op->kind == PG_DOC_PUT_ABSENT ||
	              (op->kind == PG_DOC_PUT_ANY &&
	               PQgetvalue(res, 0, 1)[0] == 't');
	op->cb.doc(op->arg, ASTER_STORE_OK, &doc, NULL);
}

static void
deliver_delete(struct pg_op *op)
{
	if (strtoull(PQcmdTuples(op->res), NULL, 10) > 0)
		op->cb.done(op->arg, ASTER_STORE_OK, NULL);
	else if (op->kind == PG_DOC_DEL_ANY)
		op->cb.done(op->arg, ASTER_STORE_NOT_FOUND, "no such key");
	else
		op->cb.done(op->arg, ASTER_STORE_CONFLICT,
		            "the version does not match");
}

/* The statement asked for limit + 1 rows: one more means `more`. */
static void
deliver_list(struct pg_op *op)
{
	const PGresult *res = op->res;
	size_t rows = (size_t)PQntuples(res), n, i;
	struct aster_doc *docs;

	n = rows > op->limit ? op->limit : rows;
	docs = calloc(n > 0 ? n : 1, sizeof(*docs));
	if (docs == NULL) {
		op->cb.list(op->arg, ASTER_STORE_UNAVAILABLE, NULL, 0, 0,
		            "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		docs[i].key = PQgetvalue(res, (int)i, 0);
		docs[i].value = PQgetvalue(res, (int)i, 1);
		docs[i].len = (size_t)PQgetlength(res, (int)i, 1);
		docs[i].version = version_at(res, (int)i, 2);
	}
	op->cb.list(op->arg, ASTER_STORE_OK, docs, n, rows > n, NULL);
	free(docs);
}

/* Runs a document op's callback: the SQL outcome becomes NOT_FOUND or
 * CONFLICT where the rows say so. */
void
pg_doc_deliver(struct pg_op *op)
{
	int del = op->kind == PG_DOC_DEL_ANY || op->kind == PG_DOC_DEL_VERSION;

	if (op->st != ASTER_STORE_OK) {
		if (del)
			op->cb.done(op->arg, op->st, op->err);
		else if (op->kind == PG_DOC_LIST)
			op->cb.list(op->arg, op->st, NULL, 0, 0, op->err);
		else
			op->cb.doc(op->arg, op->st, NULL, op->err);
		return;
	}
	if (op->kind == PG_DOC_GET)
		deliver_get(op);
	else if (op->kind == PG_DOC_LIST)
		deliver_list(op);
	else if (del)
		deliver_delete(op);
	else
		deliver_put(op);
}

/* Queues a prepared document statement with n parameters. */
static int
doc_submit(void *self, enum pg_kind kind, size_t n,
           const char *const *params, const size_t *lens, struct pg_op **out)
{
	struct pg_op *op;

	if (self == NULL)
		return -1;
	op = pg_op_new(kind, stmt_name(kind), n, params, lens);
	if (op == NULL)
		return -1;
	*out = op;
	return 0;
}

int
pg_doc_get(void *self, const char *ns, const char *key,
           aster_store_doc_cb cb, void *arg)
{
	const char *params[] = {ns, key};
	struct pg_op *op;

	if (!name_ok(ns) || !name_ok(key) || cb == NULL ||
	    doc_submit(self, PG_DOC_GET, 2, params, NULL, &op) < 0)
		return -1;
	op->cb.doc = cb;
	op->arg = arg;
	pg_pool_submit(self, op);
	return 0;
}

int
pg_doc_put(void *self, const char *ns, const char *key, const char *value,
           size_t len, enum aster_doc_cond cond, uint64_t version,
           aster_store_doc_cb cb, void *arg)
{
	char ver[24];
	const char *params[] = {ns, key, value, ver};
	size_t lens[] = {strlen(ns != NULL ? ns : ""),
	                 strlen(key != NULL ? key : ""), len, 0};
	enum pg_kind kind;
	struct pg_op *op;

	if (!name_ok(ns) || !name_ok(key) || value == NULL || cb == NULL ||
	    memchr(value, '\0', len) != NULL)
		return -1;
	switch (cond) {
	case ASTER_DOC_ANY:
		kind = PG_DOC_PUT_ANY;
		break;
	case ASTER_DOC_ABSENT:
		kind = PG_DOC_PUT_ABSENT;
		break;
	case ASTER_DOC_VERSION:
		kind = PG_DOC_PUT_VERSION;
		break;
	default:
		return -1;
	}
	version_param(ver, sizeof(ver), version);
	lens[3] = strlen(ver);
	if (doc_submit(self, kind, kind == PG_DOC_PUT_VERSION ? 4 : 3, params,
	               lens, &op) < 0)
		return -1;
	op->vlen = len;
	op->cb.doc = cb;
	op->arg = arg;
	pg_pool_submit(self, op);
	return 0;
}

int
pg_doc_delete(void *self, const char *ns, const char *key,
              enum aster_doc_cond cond, uint64_t version,
              aster_store_done_cb cb, void *arg)
{
	char ver[24];
	const char *params[] = {ns, key, ver};
	enum pg_kind kind;
	struct pg_op *op;

	if (!name_ok(ns) || !name_ok(key) || cb == NULL)
		return -1;
	if (cond == ASTER_DOC_ANY)
		kind = PG_DOC_DEL_ANY;
	else if (cond == ASTER_DOC_VERSION)
		kind = PG_DOC_DEL_VERSION;
	else
		return -1;
	version_param(ver, sizeof(ver), version);
	if (doc_submit(self, kind, kind == PG_DOC_DEL_VERSION ? 3 : 2, params,
	               NULL, &op) < 0)
		return -1;
	op->cb.done = cb;
	op->arg = arg;
	pg_pool_submit(self, op);
	return 0;
}

int
pg_doc_list(void *self, const char *ns, const char *prefix,
            const char *after, size_t limit, aster_store_list_cb cb,
            void *arg)
{
	char lim[24];
	/* Keys are never empty, so "" sorts before every one of them. */
	const char *params[] = {ns, after != NULL ? after : "",
	                        prefix != NULL ? prefix : "", lim};
	struct pg_op *op;

	if (!name_ok(ns) || cb == NULL)
		return -1;
	if (limit > (size_t)INT64_MAX - 1)
		limit = (size_t)INT64_MAX - 1;
	snprintf(lim, sizeof(lim), "%zu", limit + 1);
	if (doc_submit(self, PG_DOC_LIST, 4, params, NULL, &op) < 0)
		return -1;
	op->limit = limit;
	op->cb.list = cb;
	op->arg = arg;
	pg_pool_submit(self, op);
	return 0;
}
