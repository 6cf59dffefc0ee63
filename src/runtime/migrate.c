/*
 * migrate.c - applying the modules' database migrations (SPEC §8).
 *
 * Once the state store runs, every member's `database.migrations` are
 * applied in plan order, each in a transaction of its own that holds the
 * store's "aster.migrations" lock, and recorded with the SHA-256 of its
 * SQL in the table aster_migrations. Under the lock a node first looks
 * whether the migration is recorded, so several asterd nodes starting at
 * once on one PostgreSQL apply each migration exactly once. A recorded
 * migration whose SQL has changed stops the start: migration-changed.
 *
 * Everything is a chain of store callbacks. The chain holds a reference
 * to its generation; when the start it serves is abandoned (shutdown, a
 * failure elsewhere) it stops at the next callback and leaves the store
 * alone if the store is itself stopping.
 */
#include "runtime/runtime.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "log.h"
#include "util/arena.h"

#define MIGRATION_LOCK "aster.migrations"

static const char create_table_sql[] =
	"CREATE TABLE IF NOT EXISTS aster_migrations ("
	"module TEXT NOT NULL, id TEXT NOT NULL, checksum TEXT NOT NULL, "
	"applied_at TEXT NOT NULL, PRIMARY KEY (module, id))";
static const char select_sql[] =
	"SELECT checksum FROM aster_migrations WHERE module = $1 AND id = $2";
static const char insert_sql[] =
	"INSERT INTO aster_migrations (module, id, checksum, applied_at) "
	"VALUES ($1, $2, $3, $4)";

struct migrate {
	struct runtime *rt;
	struct generation *g;
	struct module_run *store_run;
	const struct aster_store *store;
	migrate_done_fn done;
	size_t member;              /* index in g->runs (plan order) */
	size_t index;               /* migration of that member */
	struct aster_txn *txn;
	char checksum[65];
	size_t applied;
};

static const struct migration *
current(const struct migrate *m)
{
	const struct database *db = m->g->runs[m->member].module->database;

	return db->migrations.v[m->index];
}

static const char *
module_id(const struct migrate *m)
{
	return m->g->runs[m->member].module->id;
}

static void
sha256_hex(const char *text, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL);
	for (i = 0; i < len && i < 32; i++)
		snprintf(out + i * 2, 3, "%02x", md[i]);
	out[64] = '\0';
}

/* 1 while the start this chain serves goes on. */
static int
wanted(const struct migrate *m)
{
	return m->rt->starting == m->g;
}

static int
store_running(const struct migrate *m)
{
	return module_run_live(m->store_run)->state == MODULE_RUNNING;
}

static void
ignore_done(void *arg, enum aster_store_status st, const char *error)
{
	(void)arg;
	(void)st;
	(void)error;
}

static void
finish(struct migrate *m, int status, struct module_run *run,
       const char *cause)
{
	if (m->txn != NULL && store_running(m))
		m->store->ops->rollback(m->store->self, m->txn, ignore_done,
		                        NULL);
	m->txn = NULL;
	if (wanted(m))
		m->done(m->rt, m->g, status, run, cause);
	generation_unref(m->g);
	free(m);
}

static void
fail(struct migrate *m, int status, const char *fmt, const char *error)
{
	char cause[512];

	snprintf(cause, sizeof(cause), fmt, current(m)->id,
	         error != NULL ? error : "the store is unavailable");
	finish(m, status, &m->g->runs[m->member], cause);
}

/*
 * Renders dl to stderr in one write(2): the log's writer thread writes
 * its lines to stderr too, and stdio's piecewise writes of a diagnostic
 * could be cut by one of them.
 */
static void
write_diagnostics(const struct diag_list *dl)
{
	char *text = NULL;
	size_t len = 0, off = 0;
	ssize_t n;
	FILE *mem = open_memstream(&text, &len);

	if (mem == NULL) {
		diag_render_text(dl, stderr);
		return;
	}
	diag_render_text(dl, mem);
	if (fclose(mem) != 0) {
		free(text);
		return;
	}
	while (off < len) {
		n = write(STDERR_FILENO, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(text);
}

/* The migration-changed diagnostic, located at the migration's sql. */
static void
report_changed(const struct migrate *m)
{
	const struct migration *mig = current(m);
	struct diag_list dl;
	struct diag *d;

	if (diag_list_init(&dl) < 0)
		return;
	d = diag_error(&dl, node_mark_of(mig->node, "sql"),
	               "migration-changed", "module '%s': migration '%s' was "
	               "applied with other SQL (checksum differs)",
	               module_id(m), mig->id);
	diag_hint(&dl, d, "add a new migration instead of editing an "
	          "applied one");
	write_diagnostics(&dl);
	diag_list_release(&dl);
}

static void next_migration(struct migrate *m);

static void
on_committed(void *arg, enum aster_store_status st, const char *error)
{
	struct migrate *m = arg;

	m->txn = NULL;
	if (!wanted(m) || st != ASTER_STORE_OK) {
		fail(m, 69, "migration '%s' could not be committed: %s",
		     error);
		return;
	}
	m->index++;
	next_migration(m);
}

static void
commit(struct migrate *m)
{
	struct aster_txn *txn = m->txn;

	m->txn = NULL;
	if (m->store->ops->commit(m->store->self, txn, on_committed, m) < 0)
		fail(m, 69, "migration '%s': %s", "cannot commit");
}

static void
on_recorded(void *arg, enum aster_store_status st,
            const struct aster_store_rows *rows, const char *error)
{
	struct migrate *m = arg;

	(void)rows;
	if (!wanted(m) || st != ASTER_STORE_OK) {
		fail(m, 69, "migration '%s' could not be recorded: %s", error);
		return;
	}
	log_msg(LOG_INFO, "module %s: migration %s applied", module_id(m),
	        current(m)->id);
	m->applied++;
	commit(m);
}

static void
on_applied(void *arg, enum aster_store_status st, const char *error)
{
	struct migrate *m = arg;
	char at[32];
	time_t now = time(NULL);
	struct tm tm;
	const char *params[4];

	if (!wanted(m) || st != ASTER_STORE_OK) {
		fail(m, 69, "migration '%s' failed: %s", error);
		return;
	}
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	params[0] = module_id(m);
	params[1] = current(m)->id;
	params[2] = m->checksum;
	params[3] = at;
	if (m->store->ops->query(m->store->self, m->txn, insert_sql, 4, params,
	                         on_recorded, m) < 0)
		fail(m, 69, "migration '%s': %s", "cannot record it");
}

static void
on_looked_up(void *arg, enum aster_store_status st,
             const struct aster_store_rows *rows, const char *error)
{
	struct migrate *m = arg;

	if (!wanted(m) || st != ASTER_STORE_OK) {
		fail(m, 69, "migration '%s': cannot read aster_migrations: %s",
		     error);
		return;
	}
	if (rows->nrows == 0) {
		if (m->store->ops->exec(m->store->self, m->txn, current(m)->sql,
		                        on_applied, m) < 0)
			fail(m, 69, "migration '%s': %s", "cannot run it");
		return;
	}
	if (rows->values[0] == NULL ||
	    strcmp(rows->values[0], m->checksum) != 0) {
		report_changed(m);
		fail(m, 78, "migration-changed: migration '%s' was applied with "
		     "other SQL%s", "");
		return;
	}
	commit(m);          /* recorded and unchanged: nothing to do */
}

static void
on_begun(void *arg, enum aster_store_status st, struct aster_txn *txn,
         const char *error)
{
	struct migrate *m = arg;
	const char *params[2];

	if (st == ASTER_STORE_OK)
		m->txn = txn;
	if (!wanted(m) || st != ASTER_STORE_OK) {
		fail(m, 69, "migration '%s': cannot begin a transaction: %s",
		     error);
		return;
	}
	sha256_hex(current(m)->sql, m->checksum);
	params[0] = module_id(m);
	params[1] = current(m)->id;
	if (m->store->ops->query(m->store->self, m->txn, select_sql, 2, params,
	                         on_looked_up, m) < 0)
		fail(m, 69, "migration '%s': %s", "cannot read aster_migrations");
}

/* Moves to the next migration in plan order, or finishes. */
static void
next_migration(struct migrate *m)
{
	for (; m->member < m->g->nruns; m->member++, m->index = 0) {
		const struct database *db = m->g->runs[m->member].module->database;

		if (db != NULL && m->index < db->migrations.n)
			break;
	}
	if (m->member == m->g->nruns) {
		log_msg(LOG_INFO, "migrations: %zu applied", m->applied);
		finish(m, 0, NULL, NULL);
		return;
	}
	if (m->store->ops->begin(m->store->self, MIGRATION_LOCK, on_begun,
	                         m) < 0)
		fail(m, 69, "migration '%s': %s", "cannot begin a transaction");
}

static void
on_table_committed(void *arg, enum aster_store_status st, const char *error)
{
	struct migrate *m = arg;

	if (!wanted(m) || st != ASTER_STORE_OK) {
		finish(m, 69, m->store_run, error != NULL ? error :
		       "cannot create aster_migrations");
		return;
	}
	next_migration(m);
}

static void
on_table_created(void *arg, enum aster_store_status st, const char *error)
{
	struct migrate *m = arg;
	struct aster_txn *txn = m->txn;

	if (!wanted(m) || st != ASTER_STORE_OK) {
		finish(m, 69, m->store_run, error != NULL ? error :
		       "cannot create aster_migrations");
		return;
	}
	m->txn = NULL;
	if (m->store->ops->commit(m->store->self, txn, on_table_committed,
	                          m) < 0)
		finish(m, 69, m->store_run,
		       "cannot create aster_migrations");
}

static void
on_table_begun(void *arg, enum aster_store_status st, struct aster_txn *txn,
               const char *error)
{
	struct migrate *m = arg;

	if (st == ASTER_STORE_OK)
		m->txn = txn;
	if (!wanted(m) || st != ASTER_STORE_OK) {
		finish(m, 69, m->store_run, error != NULL ? error :
		       "cannot begin a transaction");
		return;
	}
	if (m->store->ops->exec(m->store->self, txn, create_table_sql,
	                        on_table_created, m) < 0)
		finish(m, 69, m->store_run,
		       "cannot create aster_migrations");
}

int
runtime_has_migrations(const struct module *mod)
{
	return mod->database != NULL && mod->database->migrations.n > 0;
}

int
runtime_migrate(struct runtime *rt, struct generation *g,
                struct module_run *store_run, migrate_done_fn done)
{
	struct migrate *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -1;
	m->rt = rt;
	m->g = generation_ref(g);
	m->store_run = store_run;
	m->store = runtime_run_store(store_run);
	m->done = done;
	if (m->store == NULL ||
	    m->store->ops->begin(m->store->self, MIGRATION_LOCK,
	                         on_table_begun, m) < 0) {
		generation_unref(g);
		free(m);
		return -1;
	}
	return 0;
}
