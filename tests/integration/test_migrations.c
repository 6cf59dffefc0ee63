/*
 * test_migrations.c - the modules' database migrations (SPEC 5, 6, 8),
 * against both state store providers: sqlite (a file in a temp dir) and
 * postgres (a throwaway cluster from aster_test_pg_start()).
 *
 * Each case writes its product into a fresh config dir:
 *
 *   core      wave 1  the gateway endpoints
 *   database  wave 1  provides state-store; migration 0001_log creates
 *                     mig_log, where every later migration appends its
 *                     name (seq = the count + 1), so the order in which
 *                     they ran can be read back
 *   bravo     wave 2  needs state-store; 0001_notes
 *   zulu      wave 2  needs state-store; 0001_items, 0002_seed
 *   alpha     wave 3  requires zulu; 0001_refs: a table with a foreign
 *                     key to zulu_items, filled from zulu_items
 *
 * so plan order (database, bravo, zulu, alpha) is neither file order nor
 * the order of the ids, and alpha's migration fails unless zulu's ran
 * first. None of them can run twice (CREATE TABLE without IF NOT EXISTS,
 * mig_log's primary key). Every module also has a testlife service
 * (tests/providers/testlife), so the life log tells which modules started.
 *
 * The store is read directly: sqlite3 on the file, libpq on the cluster.
 */
#include "integ.h"

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdarg.h>

enum { SQLITE = 0, POSTGRES = 1 };

static const char *const provider_names[] = {"sqlite", "postgres"};

/* --- the product ----------------------------------------------------------- */

#define LOG_SQL(name)                                                        \
	"INSERT INTO mig_log (seq, name) SELECT COUNT(*) + 1, '" name "' "   \
	"FROM mig_log"

struct mig {
	const char *id;
	const char *sql;
};

static const struct mig database_migs[] = {
	{"0001_log", "CREATE TABLE mig_log (seq INTEGER PRIMARY KEY, "
	             "name TEXT NOT NULL); " LOG_SQL("database/0001_log")},
};
static const struct mig bravo_migs[] = {
	{"0001_notes", "CREATE TABLE bravo_notes (id INTEGER PRIMARY KEY, "
	               "body TEXT); " LOG_SQL("bravo/0001_notes")},
};
static const struct mig zulu_migs[] = {
	{"0001_items", "CREATE TABLE zulu_items (id INTEGER PRIMARY KEY, "
	               "name TEXT NOT NULL); " LOG_SQL("zulu/0001_items")},
	{"0002_seed", "INSERT INTO zulu_items (id, name) VALUES (1, 'one'), "
	              "(2, 'two'); " LOG_SQL("zulu/0002_seed")},
};
static const struct mig alpha_migs[] = {
	{"0001_refs", "CREATE TABLE alpha_refs (id INTEGER PRIMARY KEY, "
	              "zulu_id INTEGER NOT NULL REFERENCES zulu_items (id)); "
	              "INSERT INTO alpha_refs (id, zulu_id) SELECT id + 100, id "
	              "FROM zulu_items; " LOG_SQL("alpha/0001_refs")},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The order mig_log must hold after the first start. */
static const char first_order[] =
	"database/0001_log,bravo/0001_notes,zulu/0001_items,zulu/0002_seed,"
	"alpha/0001_refs";

/* One test's product, store and life log. */
struct fx {
	int kind;
	char *dir;                  /* config dir */
	char *var;                  /* sqlite file, life log */
	char db[PATH_MAX];
	char life[PATH_MAX];
	struct aster_test_pg *pg;
	char dsn[1024];
	/* line and column of each migration's sql value, by module file */
	int sql_line[8], sql_col[8];
};

static void
fx_write(struct fx *f, const char *rel, const char *text)
{
	ck_assert_msg(aster_test_write_file(f->dir, rel, text, -1) == 0,
	              "cannot write %s/%s: %s", f->dir, rel, strerror(errno));
}

static void
fx_write_product(struct fx *f)
{
	fx_write(f, "product.yaml",
	         "kind: product\n"
	         "id: migtest\n"
	         "name: Migration test\n"
	         "version: 0.1.0\n"
	         "server:\n"
	         "  listen:\n"
	         "    - address: 127.0.0.1:0\n"
	         "      scopes: [public]\n"
	         "  shutdown_timeout_ms: 2000\n");
	fx_write(f, "modules/core.yaml",
	         "kind: module\n"
	         "id: core\n"
	         "displayName: Core\n"
	         "version: 0.1.0\n"
	         "services:\n"
	         "  - id: gateway\n"
	         "    provider: gateway\n"
	         "routes:\n"
	         "  - id: route:core.health\n"
	         "    scope: public\n"
	         "    methods: [GET]\n"
	         "    mountPath: /gateway/v1/health\n"
	         "    handler: { service: gateway, operation: health }\n"
	         "  - id: route:core.ready\n"
	         "    scope: public\n"
	         "    methods: [GET]\n"
	         "    mountPath: /gateway/v1/ready\n"
	         "    handler: { service: gateway, operation: ready }\n");
}

/* The store service of the database module, as YAML lines. */
static void
fx_store_yaml(const struct fx *f, char *out, size_t size)
{
	int w;

	if (f->kind == SQLITE)
		w = snprintf(out, size,
		         "  - id: store\n"
		         "    provider: sqlite\n"
		         "    config:\n"
		         "      path: \"%s\"\n", f->db);
	else
		w = snprintf(out, size,
		         "  - id: store\n"
		         "    provider: postgres\n"
		         "    config:\n"
		         "      dsn: \"%s\"\n"
		         "      pool_size: 2\n", f->dsn);
	ck_assert(w > 0 && (size_t)w < size);
}

/*
 * Writes modules/ID.yaml. head: extra lines after `version` (requires,
 * needs, provides), store: extra services (the database's store). Records
 * where each migration's sql value starts in f->sql_line/col.
 */
static void
fx_write_module(struct fx *f, const char *id, const char *head,
                const char *store, const struct mig *migs, size_t n)
{
	char text[8192], rel[128];
	size_t used = 0, i;
	int line;
	const char *p;

#define ADD(...)                                                             \
	do {                                                                 \
		int w_ = snprintf(text + used, sizeof(text) - used,          \
		                  __VA_ARGS__);                              \
		ck_assert(w_ >= 0 && (size_t)w_ < sizeof(text) - used);      \
		used += (size_t)w_;                                          \
	} while (0)

	ADD("kind: module\nid: %s\ndisplayName: Module %s\nversion: 1.0.0\n",
	    id, id);
	ADD("%s", head != NULL ? head : "");
	ADD("services:\n%s", store != NULL ? store : "");
	ADD("  - id: life\n    provider: testlife\n"
	    "    config: { log: \"%s\", label: %s }\n", f->life, id);
	if (n > 0)
		ADD("database:\n  migrations:\n");
	for (i = 0; i < n; i++) {
		ADD("    - id: \"%s\"\n", migs[i].id);
		line = 1;
		for (p = text; p < text + used; p++)
			line += *p == '\n';
		ck_assert(i < N(f->sql_line));
		f->sql_line[i] = line;
		/* the value starts at the opening quote */
		f->sql_col[i] = (int)strlen("      sql: ") + 1;
		ADD("      sql: \"%s\"\n", migs[i].sql);
	}
#undef ADD
	snprintf(rel, sizeof(rel), "modules/%s.yaml", id);
	fx_write(f, rel, text);
}

static void
fx_write_database(struct fx *f, const struct mig *migs, size_t n)
{
	char store[2048];

	fx_store_yaml(f, store, sizeof(store));
	fx_write_module(f, "database", "provides: [state-store]\n", store,
	                migs, n);
}

/* The standard product of the header comment, with extra migrations for
 * zulu and alpha appended to theirs. */
static void
fx_write_modules(struct fx *f, const struct mig *zulu_extra, size_t nzulu,
                 const struct mig *alpha_extra, size_t nalpha)
{
	struct mig z[8], a[8];
	size_t i;

	ck_assert(N(zulu_migs) + nzulu <= N(z));
	ck_assert(N(alpha_migs) + nalpha <= N(a));
	for (i = 0; i < N(zulu_migs); i++)
		z[i] = zulu_migs[i];
	for (i = 0; i < nzulu; i++)
		z[N(zulu_migs) + i] = zulu_extra[i];
	for (i = 0; i < N(alpha_migs); i++)
		a[i] = alpha_migs[i];
	for (i = 0; i < nalpha; i++)
		a[N(alpha_migs) + i] = alpha_extra[i];

	fx_write_database(f, database_migs, N(database_migs));
	fx_write_module(f, "bravo", "needs: [state-store]\n", NULL,
	                bravo_migs, N(bravo_migs));
	fx_write_module(f, "alpha", "requires: [zulu]\n"
	                "needs: [state-store]\n", NULL, a,
	                N(alpha_migs) + nalpha);
	/* last, so f->sql_line/col describe zulu.yaml */
	fx_write_module(f, "zulu", "needs: [state-store]\n", NULL, z,
	                N(zulu_migs) + nzulu);
}

static void
fx_init(struct fx *f, int kind)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->dir = integ_tempdir();
	f->var = integ_tempdir();
	snprintf(f->db, sizeof(f->db), "%s/aster.db", f->var);
	snprintf(f->life, sizeof(f->life), "%s/life.log", f->var);
	if (kind == POSTGRES) {
		f->pg = aster_test_pg_start();
		ck_assert_msg(f->pg != NULL, "cannot start PostgreSQL (see "
		              "stderr)");
		snprintf(f->dsn, sizeof(f->dsn), "%s", aster_test_pg_dsn(f->pg));
	}
	fx_write_product(f);
}

static void
fx_done(struct fx *f)
{
	aster_test_pg_free(f->pg);
	aster_test_remove_tree(f->dir);
	aster_test_remove_tree(f->var);
	free(f->dir);
	free(f->var);
}

static void
fx_clear_life(struct fx *f)
{
	int fd = open(f->life, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert(fd != -1);
	close(fd);
}

/* --- reading the store ----------------------------------------------------- */

/*
 * Runs sql on the store and returns its rows: the cells of a row joined
 * by '|', rows joined by ',' ("" for none; NULL cells as "NULL").
 * malloc'ed. Fails the test when the statement fails.
 */
static char *
db_rows(const struct fx *f, const char *sql)
{
	size_t cap = 4096, used = 0;
	char *out = malloc(cap);

	ck_assert(out != NULL);
	out[0] = '\0';

#define APPEND(s)                                                            \
	do {                                                                 \
		const char *s_ = (s);                                        \
		size_t l_ = strlen(s_);                                      \
		while (used + l_ + 1 > cap) {                                \
			cap *= 2;                                            \
			out = realloc(out, cap);                             \
			ck_assert(out != NULL);                              \
		}                                                            \
		memcpy(out + used, s_, l_ + 1);                              \
		used += l_;                                                  \
	} while (0)

	if (f->kind == SQLITE) {
		sqlite3 *db = NULL;
		sqlite3_stmt *st = NULL;
		int rc, row = 0, i;

		rc = sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL);
		ck_assert_msg(rc == SQLITE_OK, "sqlite3_open %s: %s", f->db,
		              db != NULL ? sqlite3_errmsg(db) : "no memory");
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
		ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (row++ > 0)
				APPEND(",");
			for (i = 0; i < sqlite3_column_count(st); i++) {
				const unsigned char *v = sqlite3_column_text(st, i);

				if (i > 0)
					APPEND("|");
				APPEND(v != NULL ? (const char *)v : "NULL");
			}
		}
		ck_assert_msg(rc == SQLITE_DONE, "%s: %s", sql,
		              sqlite3_errmsg(db));
		sqlite3_finalize(st);
		sqlite3_close(db);
	} else {
		PGconn *c = PQconnectdb(f->dsn);
		PGresult *res;
		int r, i;

		ck_assert_msg(PQstatus(c) == CONNECTION_OK, "libpq %s: %s",
		              f->dsn, PQerrorMessage(c));
		res = PQexec(c, sql);
		ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s",
		              sql, PQerrorMessage(c));
		for (r = 0; r < PQntuples(res); r++) {
			if (r > 0)
				APPEND(",");
			for (i = 0; i < PQnfields(res); i++) {
				if (i > 0)
					APPEND("|");
				APPEND(PQgetisnull(res, r, i) ? "NULL" :
				       PQgetvalue(res, r, i));
			}
		}
		PQclear(res);
		PQfinish(c);
	}
#undef APPEND
	return out;
}

/* The single integer sql answers. */
static long
db_long(const struct fx *f, const char *sql)
{
	char *s = db_rows(f, sql), *end;
	long v = strtol(s, &end, 10);

	ck_assert_msg(*s != '\0' && *end == '\0', "%s: '%s' is not one "
	              "integer", sql, s);
	free(s);
	return v;
}

/* 1 when the table exists in the store. */
static int
db_has_table(const struct fx *f, const char *table)
{
	char sql[256];

	if (f->kind == SQLITE)
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM sqlite_master "
		         "WHERE type = 'table' AND name = '%s'", table);
	else
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM "
		         "information_schema.tables WHERE table_schema = "
		         "current_schema() AND table_name = '%s'", table);
	return db_long(f, sql) > 0;
}

static void
sha256_hex(const char *text, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	ck_assert(EVP_Digest(text, strlen(text), md, &len, EVP_sha256(),
	                     NULL) == 1 && len == 32);
	for (i = 0; i < len; i++)
		snprintf(out + i * 2, 3, "%02x", md[i]);
	out[64] = '\0';
}

/* The row of aster_migrations for (module, id): "checksum|applied_at",
 * or "" when there is none. malloc'ed. */
static char *
db_recorded(const struct fx *f, const char *module, const char *id)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT checksum, applied_at FROM "
	         "aster_migrations WHERE module = '%s' AND id = '%s'", module,
	         id);
	return db_rows(f, sql);
}

/* Asserts (module, id) is recorded once, with the SHA-256 of sql and an
 * applied_at that looks like a time. */
static void
assert_recorded(const struct fx *f, const char *module, const struct mig *m)
{
	char want[65], *row = db_recorded(f, module, m->id), *bar;

	sha256_hex(m->sql, want);
	ck_assert_msg(*row != '\0', "[%s] %s/%s is not in aster_migrations",
	              provider_names[f->kind], module, m->id);
	ck_assert_msg(strchr(row, ',') == NULL, "[%s] %s/%s is recorded more "
	              "than once: %s", provider_names[f->kind], module, m->id,
	              row);
	bar = strchr(row, '|');
	ck_assert(bar != NULL);
	ck_assert_msg((size_t)(bar - row) == 64 && strncmp(row, want, 64) == 0,
	              "[%s] %s/%s: checksum '%.*s', expected the SHA-256 of its "
	              "SQL %s", provider_names[f->kind], module, m->id,
	              (int)(bar - row), row, want);
	ck_assert_msg(strlen(bar + 1) >= 10 && bar[1] >= '1' && bar[1] <= '9' &&
	              strcmp(bar + 1, "NULL") != 0,
	              "[%s] %s/%s: applied_at '%s' is not a time",
	              provider_names[f->kind], module, m->id, bar + 1);
	free(row);
}

static void
assert_not_recorded(const struct fx *f, const char *module, const char *id)
{
	char *row = db_recorded(f, module, id);

	ck_assert_msg(*row == '\0', "[%s] %s/%s is recorded in "
	              "aster_migrations (%s), it must not be",
	              provider_names[f->kind], module, id, row);
	free(row);
}

static void
assert_order(const struct fx *f, const char *want)
{
	char *got = db_rows(f, "SELECT name FROM mig_log ORDER BY seq");

	ck_assert_msg(strcmp(got, want) == 0, "[%s] migrations ran in the "
	              "order\n  %s\nexpected\n  %s", provider_names[f->kind],
	              got, want);
	free(got);
}

/* Every migration of the standard product is recorded, correctly. */
static void
assert_standard_recorded(const struct fx *f)
{
	size_t i;

	for (i = 0; i < N(database_migs); i++)
		assert_recorded(f, "database", &database_migs[i]);
	for (i = 0; i < N(bravo_migs); i++)
		assert_recorded(f, "bravo", &bravo_migs[i]);
	for (i = 0; i < N(zulu_migs); i++)
		assert_recorded(f, "zulu", &zulu_migs[i]);
	for (i = 0; i < N(alpha_migs); i++)
		assert_recorded(f, "alpha", &alpha_migs[i]);
}

/* --- asterd's output ------------------------------------------------------- */

/* Count of lines of text containing needle. */
static int
count_lines_with(const char *text, const char *needle)
{
	int n = 0;
	const char *p = text;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
	}
	return n;
}

/* Count of "module M: migration ID applied" log lines. */
static int
count_applied(const char *log)
{
	int n = 0;
	const char *p = log;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		const char *m = strstr(p, " module ");
		const char *c = strstr(p, ": migration ");

		if (m != NULL && c != NULL && m < p + len && c > m &&
		    c < p + len && len > 8 &&
		    strncmp(p + len - 8, " applied", 8) == 0)
			n++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return n;
}

/* Offset of the first line of text containing needle, or -1. */
static long
offset_of(const char *text, const char *needle)
{
	const char *p = strstr(text, needle);

	return p != NULL ? (long)(p - text) : -1;
}

/* 1 when text holds a line that is exactly line. */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') &&
		    (p[n] == '\n' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* Starts asterd on f's product, waits for ready; returns it. */
static struct aster_test *
fx_start(struct fx *f)
{
	struct aster_test *t = integ_start_dir(f->dir, NULL);

	/* log lines are flushed every 100 ms: wait for the ready line */
	ck_assert_msg(aster_test_wait_stderr(t, " ready: ",
	                                     aster_test_timeout(5000)) == 0,
	              "no ready line in asterd's log:\n%s",
	              aster_test_stderr(t));
	return t;
}

/* Starts asterd expecting it to exit on its own with status want;
 * returns a copy of its stderr (the caller frees it) and sets *out to a
 * copy of its stdout. */
static char *
fx_start_fails(struct fx *f, int want, char **out)
{
	struct aster_test_options o = integ_options(NULL);
	struct aster_test *t = aster_test_spawn(f->dir, &o);
	char *err;
	int rc;

	ck_assert_msg(t != NULL, "cannot run asterd: %s", strerror(errno));
	rc = aster_test_wait(t, aster_test_timeout(30000));
	if (rc == -1)
		aster_test_stop(t);
	err = strdup(aster_test_stderr(t));
	ck_assert(err != NULL);
	ck_assert_msg(rc == want, "[%s] asterd exited with %d, expected %d; "
	              "stderr:\n%s", provider_names[f->kind], rc, want, err);
	integ_assert_clean_log(t);
	if (out != NULL) {
		*out = strdup(aster_test_stdout(t));
		ck_assert(*out != NULL);
	}
	aster_test_free(t);
	return err;
}

/* In asterd's log, every module with migrations started after the
 * migrations summary line. */
static void
assert_started_after_migrations(const char *log, const char *summary)
{
	static const char *const mods[] = {"bravo", "zulu", "alpha"};
	long s = offset_of(log, summary);
	size_t i;

	ck_assert_msg(s >= 0, "no '%s' in asterd's log:\n%s", summary, log);
	for (i = 0; i < N(mods); i++) {
		char started[64];
		long at;

		snprintf(started, sizeof(started), "module %s started", mods[i]);
		at = offset_of(log, started);
		ck_assert_msg(at >= 0, "no '%s' in asterd's log:\n%s", started,
		              log);
		ck_assert_msg(at > s, "'%s' came before '%s': a module with "
		              "migrations started before they were applied:\n%s",
		              started, summary, log);
	}
}

/* --- cases ----------------------------------------------------------------- */

/* First start: every migration applied once, in plan order, recorded with
 * its checksum; a restart applies nothing; an added one applies. */
START_TEST(test_apply_restart_add)
{
	static const struct mig more[] = {
		{"0003_more", "ALTER TABLE zulu_items ADD COLUMN note TEXT; "
		              LOG_SQL("zulu/0003_more")},
	};
	struct fx f;
	struct aster_test *t;
	char *log;

	fx_init(&f, _i);
	fx_write_modules(&f, NULL, 0, NULL, 0);

	/* first start */
	t = fx_start(&f);
	log = strdup(aster_test_stderr(t));
	ck_assert(log != NULL);
	ck_assert_msg(strstr(log, "migrations: 5 applied") != NULL,
	              "[%s] no 'migrations: 5 applied' in the first start's "
	              "log:\n%s", provider_names[_i], log);
	ck_assert_int_eq(count_applied(log), 5);
	ck_assert_msg(strstr(log, "module alpha: migration 0001_refs applied")
	              != NULL, "no line for alpha's migration:\n%s", log);
	assert_started_after_migrations(log, "migrations: 5 applied");
	free(log);
	integ_stop(t);

	assert_order(&f, first_order);
	assert_standard_recorded(&f);
	ck_assert_int_eq(db_long(&f, "SELECT COUNT(*) FROM aster_migrations"),
	                 5);
	/* alpha's foreign key rows, made from zulu's rows */
	{
		char *refs = db_rows(&f, "SELECT id, zulu_id FROM alpha_refs "
		                     "ORDER BY id");

		ck_assert_str_eq(refs, "101|1,102|2");
		free(refs);
	}
	ck_assert(db_has_table(&f, "bravo_notes"));

	/* restart: nothing applied again */
	t = fx_start(&f);
	log = strdup(aster_test_stderr(t));
	ck_assert(log != NULL);
	ck_assert_msg(strstr(log, "migrations: 0 applied") != NULL,
	              "[%s] no 'migrations: 0 applied' on restart:\n%s",
	              provider_names[_i], log);
	ck_assert_msg(count_applied(log) == 0,
	              "[%s] a migration was applied again on restart:\n%s",
	              provider_names[_i], log);
	free(log);
	integ_stop(t);
	assert_order(&f, first_order);
	ck_assert_int_eq(db_long(&f, "SELECT COUNT(*) FROM aster_migrations"),
	                 5);

	/* an added migration applies on the next start, after the others */
	fx_write_modules(&f, more, N(more), NULL, 0);
	t = fx_start(&f);
	log = strdup(aster_test_stderr(t));
	ck_assert(log != NULL);
	ck_assert_msg(strstr(log, "migrations: 1 applied") != NULL,
	              "[%s] no 'migrations: 1 applied' after adding one:\n%s",
	              provider_names[_i], log);
	ck_assert_msg(count_applied(log) == 1 &&
	              strstr(log, "module zulu: migration 0003_more applied")
	              != NULL, "[%s] expected only zulu's 0003_more to be "
	              "applied:\n%s", provider_names[_i], log);
	free(log);
	integ_stop(t);
	assert_order(&f, "database/0001_log,bravo/0001_notes,zulu/0001_items,"
	             "zulu/0002_seed,alpha/0001_refs,zulu/0003_more");
	assert_standard_recorded(&f);
	assert_recorded(&f, "zulu", &more[0]);
	ck_assert_int_eq(db_long(&f, "SELECT COUNT(*) FROM aster_migrations"),
	                 6);
	fx_done(&f);
}
END_TEST

/* Editing an applied migration stops the start: migration-changed at the
 * migration's sql, exit 78, no module with migrations started, nothing
 * applied or recorded. */
START_TEST(test_changed_migration)
{
	static const struct mig changed[] = {
		{"0001_items", "CREATE TABLE zulu_items (id INTEGER PRIMARY KEY, "
		               "name TEXT NOT NULL, extra TEXT); "
		               LOG_SQL("zulu/0001_items")},
	};
	static const struct mig later[] = {
		{"0002_later", "CREATE TABLE alpha_later (id INTEGER PRIMARY "
		               "KEY); " LOG_SQL("alpha/0002_later")},
	};
	struct fx f;
	struct aster_test *t;
	char *err, *out, *life, want[PATH_MAX + 128], *line, *end, *orig;
	struct mig z[2];

	fx_init(&f, _i);
	fx_write_modules(&f, NULL, 0, NULL, 0);
	t = fx_start(&f);
	integ_stop(t);
	orig = db_recorded(&f, "zulu", "0001_items");

	/* zulu's first migration edited; alpha gains a new one that must
	 * not be applied either */
	z[0] = changed[0];
	z[1] = zulu_migs[1];
	fx_write_database(&f, database_migs, N(database_migs));
	fx_write_module(&f, "bravo", "needs: [state-store]\n", NULL,
	                bravo_migs, N(bravo_migs));
	{
		struct mig a[2] = {alpha_migs[0], later[0]};

		fx_write_module(&f, "alpha", "requires: [zulu]\n"
		                "needs: [state-store]\n", NULL, a, 2);
	}
	fx_write_module(&f, "zulu", "needs: [state-store]\n", NULL, z, 2);
	fx_clear_life(&f);

	err = fx_start_fails(&f, 78, &out);

	/* FILE:LINE:COL: error: MESSAGE [migration-changed] (SPEC 5) */
	snprintf(want, sizeof(want), "%s/modules/zulu.yaml:%d:%d: error: ",
	         f.dir, f.sql_line[0], f.sql_col[0]);
	line = strstr(err, want);
	ck_assert_msg(line != NULL, "[%s] no diagnostic starting '%s' in "
	              "stderr:\n%s", provider_names[_i], want, err);
	end = strchr(line, '\n');
	if (end != NULL)
		*end = '\0';
	ck_assert_msg(strlen(line) > strlen(" [migration-changed]") &&
	              strcmp(line + strlen(line) -
	                     strlen(" [migration-changed]"),
	                     " [migration-changed]") == 0,
	              "[%s] the diagnostic does not end with "
	              "[migration-changed]: %s", provider_names[_i], line);
	ck_assert_msg(strstr(line + strlen(want), "zulu") != NULL &&
	              strstr(line + strlen(want), "0001_items") != NULL,
	              "[%s] the diagnostic names neither the module nor the "
	              "migration: %s", provider_names[_i], line);
	if (end != NULL)
		*end = '\n';
	ck_assert_int_eq(count_lines_with(err, "[migration-changed]"), 1);

	/* nothing else of the start happened */
	ck_assert_msg(!has_line(out, "ready") &&
	              strstr(err, "ready:") == NULL,
	              "[%s] asterd became ready:\n%s", provider_names[_i], err);
	ck_assert_msg(count_applied(err) == 0,
	              "[%s] a migration was applied:\n%s", provider_names[_i],
	              err);
	life = integ_read_file(f.life);
	ck_assert_msg(strstr(life, "start zulu") == NULL &&
	              strstr(life, "start alpha") == NULL &&
	              strstr(life, "start bravo") == NULL,
	              "[%s] a module with migrations started:\n%s\nstderr:\n%s",
	              provider_names[_i], life, err);
	free(life);
	free(out);
	free(err);
	assert_not_recorded(&f, "alpha", "0002_later");
	ck_assert(!db_has_table(&f, "alpha_later"));
	{
		char *now = db_recorded(&f, "zulu", "0001_items");

		ck_assert_msg(strcmp(now, orig) == 0, "[%s] the record of the "
		              "edited migration changed: %s -> %s",
		              provider_names[_i], orig, now);
		free(now);
	}
	assert_order(&f, first_order);
	ck_assert_int_eq(db_long(&f, "SELECT COUNT(*) FROM aster_migrations"),
	                 5);
	free(orig);
	fx_done(&f);
}
END_TEST

/* A migration that fails: exit 69 naming the module and the migration;
 * its transaction is rolled back (nothing of it recorded or created); the
 * module does not start; once fixed, it applies. */
START_TEST(test_failing_migration)
{
	static const struct mig bad[] = {
		{"0002_good", "CREATE TABLE alpha_good (id INTEGER PRIMARY KEY); "
		              LOG_SQL("alpha/0002_good")},
		{"0003_bad", "CREATE TABLE alpha_extra (id INTEGER PRIMARY KEY); "
		             "INSERT INTO alpha_extra (id) VALUES (1); "
		             "INSERT INTO no_such_table (id) VALUES (1)"},
	};
	static const struct mig fixed[] = {
		{"0002_good", "CREATE TABLE alpha_good (id INTEGER PRIMARY KEY); "
		              LOG_SQL("alpha/0002_good")},
		{"0003_bad", "CREATE TABLE alpha_extra (id INTEGER PRIMARY KEY); "
		             "INSERT INTO alpha_extra (id) VALUES (1); "
		             LOG_SQL("alpha/0003_bad")},
	};
	struct fx f;
	struct aster_test *t;
	char *err, *out, *life, *line, *end, *log;

	fx_init(&f, _i);
	fx_write_modules(&f, NULL, 0, NULL, 0);
	t = fx_start(&f);
	integ_stop(t);

	fx_write_modules(&f, NULL, 0, bad, N(bad));
	fx_clear_life(&f);
	err = fx_start_fails(&f, 69, &out);
	line = strstr(err, "asterd: module alpha failed to start: ");
	ck_assert_msg(line != NULL, "[%s] no 'asterd: module alpha failed to "
	              "start: ' line in stderr:\n%s", provider_names[_i], err);
	end = strchr(line, '\n');
	if (end != NULL)
		*end = '\0';
	ck_assert_msg(strstr(line, "0003_bad") != NULL, "[%s] the cause does "
	              "not name the migration: %s", provider_names[_i], line);
	if (end != NULL)
		*end = '\n';
	ck_assert_msg(!has_line(out, "ready"), "[%s] asterd became ready",
	              provider_names[_i]);
	life = integ_read_file(f.life);
	ck_assert_msg(strstr(life, "start alpha") == NULL, "[%s] alpha "
	              "started although its migration failed:\n%s",
	              provider_names[_i], life);
	free(life);
	free(out);
	free(err);

	/* each migration is a transaction of its own: the one before
	 * stays, the failing one left nothing */
	assert_recorded(&f, "alpha", &bad[0]);
	assert_not_recorded(&f, "alpha", "0003_bad");
	ck_assert_msg(!db_has_table(&f, "alpha_extra"), "[%s] the failed "
	              "migration's table exists: its transaction was not "
	              "rolled back", provider_names[_i]);
	assert_order(&f, "database/0001_log,bravo/0001_notes,zulu/0001_items,"
	             "zulu/0002_seed,alpha/0001_refs,alpha/0002_good");

	/* fixed: it applies, and only it */
	fx_write_modules(&f, NULL, 0, fixed, N(fixed));
	t = fx_start(&f);
	log = strdup(aster_test_stderr(t));
	ck_assert(log != NULL);
	ck_assert_msg(strstr(log, "migrations: 1 applied") != NULL &&
	              strstr(log, "module alpha: migration 0003_bad applied")
	              != NULL, "[%s] the fixed migration was not applied:\n%s",
	              provider_names[_i], log);
	free(log);
	integ_stop(t);
	assert_recorded(&f, "alpha", &fixed[1]);
	ck_assert_int_eq(db_long(&f, "SELECT COUNT(*) FROM alpha_extra"), 1);
	fx_done(&f);
}
END_TEST

/* Migrations without any module providing state-store. */
START_TEST(test_no_state_store)
{
	static const struct mig m[] = {
		{"0001", "CREATE TABLE lonely (id INTEGER PRIMARY KEY)"},
	};
	struct fx f;
	char *err, *out, *life;

	fx_init(&f, SQLITE);
	fx_write_module(&f, "lonely", NULL, NULL, m, N(m));
	fx_clear_life(&f);
	err = fx_start_fails(&f, 69, &out);
	ck_assert_msg(strstr(err, "asterd: module lonely failed to start: "
	                     "it declares database migrations, but no module "
	                     "of the product provides state-store") != NULL,
	              "expected the cause 'it declares database migrations, "
	              "but no module of the product provides state-store'; "
	              "stderr:\n%s", err);
	ck_assert(!has_line(out, "ready"));
	life = integ_read_file(f.life);
	ck_assert_msg(strstr(life, "start lonely") == NULL, "lonely started:"
	              "\n%s", life);
	free(life);
	free(out);
	free(err);
	ck_assert_msg(access(f.db, F_OK) == -1, "a database file appeared");
	fx_done(&f);
}
END_TEST

/* Four nodes on one PostgreSQL, started together: all become ready, and
 * each migration is applied exactly once (none of them could run twice). */
#define NODES 4

/*
 * Spawns NODES asterd at once on f's product, waits until every one is
 * ready, and returns how many migrations they applied in all (from their
 * summary lines, which must agree with their per-migration lines). Prints
 * the split. Stops them all.
 */
static int
race_round(struct fx *f, const char *round)
{
	struct aster_test *t[NODES];
	struct aster_test_options o = integ_options(NULL);
	int i, total = 0, each[NODES];

	for (i = 0; i < NODES; i++) {
		t[i] = aster_test_spawn(f->dir, &o);
		ck_assert_msg(t[i] != NULL, "cannot run asterd: %s",
		              strerror(errno));
	}
	for (i = 0; i < NODES; i++) {
		const char *log;
		const char *p;

		if (aster_test_wait_ready(t[i]) != 0) {
			char *why = strdup(aster_test_error(t[i]));

			aster_test_stop(t[i]);
			ck_abort_msg("%s: node %d of %d did not become ready: %s\n"
			             "--- its stderr ---\n%s", round, i + 1, NODES,
			             why, aster_test_stderr(t[i]));
		}
		ck_assert_msg(aster_test_wait_stderr(t[i], " ready: ",
		              aster_test_timeout(5000)) == 0, "%s: node %d: no "
		              "ready line:\n%s", round, i + 1,
		              aster_test_stderr(t[i]));
		log = aster_test_stderr(t[i]);
		p = strstr(log, "migrations: ");
		ck_assert_msg(p != NULL, "%s: node %d: no 'migrations: N "
		              "applied' line:\n%s", round, i + 1, log);
		each[i] = atoi(p + strlen("migrations: "));
		ck_assert_msg(count_applied(log) == each[i], "%s: node %d says "
		              "'migrations: %d applied' but logged %d:\n%s",
		              round, i + 1, each[i], count_applied(log), log);
		total += each[i];
	}
	for (i = 0; i < NODES; i++)
		integ_stop(t[i]);
	printf("migrations: %s: %d nodes applied", round, NODES);
	for (i = 0; i < NODES; i++)
		printf(" %d", each[i]);
	printf("\n");
	fflush(stdout);
	return total;
}

START_TEST(test_concurrent_nodes)
{
	static const struct mig more[] = {
		{"0003_more", "CREATE TABLE zulu_more (id INTEGER PRIMARY KEY); "
		              "INSERT INTO zulu_more (id) VALUES (1); "
		              LOG_SQL("zulu/0003_more")},
	};
	struct fx f;
	char *rows;
	int total;

	fx_init(&f, POSTGRES);
	fx_write_modules(&f, NULL, 0, NULL, 0);

	/* a fresh database: aster_migrations does not exist yet */
	total = race_round(&f, "fresh database");
	ck_assert_msg(total == 5, "the %d nodes applied %d migrations in "
	              "all, expected 5", NODES, total);
	rows = db_rows(&f, "SELECT module, id, COUNT(*) FROM aster_migrations "
	               "GROUP BY module, id ORDER BY module, id");
	ck_assert_msg(strcmp(rows, "alpha|0001_refs|1,bravo|0001_notes|1,"
	                     "database|0001_log|1,zulu|0001_items|1,"
	                     "zulu|0002_seed|1") == 0,
	              "aster_migrations after %d concurrent starts: %s", NODES,
	              rows);
	free(rows);
	assert_standard_recorded(&f);
	assert_order(&f, first_order);
	ck_assert_int_eq(db_long(&f, "SELECT COUNT(*) FROM zulu_items"), 2);
	ck_assert_int_eq(db_long(&f, "SELECT COUNT(*) FROM alpha_refs"), 2);

	/* one added migration, every node restarted at once */
	fx_write_modules(&f, more, N(more), NULL, 0);
	total = race_round(&f, "added migration");
	ck_assert_msg(total == 1, "the %d nodes applied %d migrations in "
	              "all, expected 1", NODES, total);
	assert_recorded(&f, "zulu", &more[0]);
	ck_assert_int_eq(db_long(&f, "SELECT COUNT(*) FROM aster_migrations"),
	                 6);
	ck_assert_int_eq(db_long(&f, "SELECT COUNT(*) FROM zulu_more"), 1);
	assert_order(&f, "database/0001_log,bravo/0001_notes,zulu/0001_items,"
	             "zulu/0002_seed,alpha/0001_refs,zulu/0003_more");
	fx_done(&f);
}
END_TEST

static int
scaled_timeout(int seconds)
{
	/* check scales by CK_TIMEOUT_MULTIPLIER itself; valgrind runs
	 * (INTEG_VALGRIND=1) set only ASTER_TEST_TIMEOUT_MULTIPLIER */
	const char *v = getenv("ASTER_TEST_TIMEOUT_MULTIPLIER");
	double m = v != NULL ? strtod(v, NULL) : 1.0;

	return m >= 1.0 && m <= 100.0 ? (int)(seconds * m) : seconds;
}

static Suite *
migrations_suite(void)
{
	Suite *s = suite_create("migrations");
	TCase *both = tcase_create("providers");
	TCase *pg = tcase_create("postgres");

	tcase_set_timeout(both, scaled_timeout(INTEG_TCASE_TIMEOUT));
	tcase_set_timeout(pg, scaled_timeout(INTEG_TCASE_TIMEOUT));
	tcase_add_loop_test(both, test_apply_restart_add, SQLITE, POSTGRES + 1);
	tcase_add_loop_test(both, test_changed_migration, SQLITE, POSTGRES + 1);
	tcase_add_loop_test(both, test_failing_migration, SQLITE, POSTGRES + 1);
	tcase_add_test(both, test_no_state_store);
	tcase_add_test(pg, test_concurrent_nodes);
	suite_add_tcase(s, both);
	suite_add_tcase(s, pg);
	return s;
}

UNIT_MAIN(migrations_suite)
