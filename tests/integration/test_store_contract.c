/*
 * test_store_contract.c - the state store contract (SPEC §8,
 * aster/store.h), one suite run against both providers.
 *
 * Each product here has a `database` module providing state-store with
 * the provider under test (sqlite, or postgres on a throwaway cluster
 * from aster_test_pg_start()) plus the internal state API, and a
 * `contract` module whose storecheck service (tests/providers/storecheck)
 * needs state-store and runs every contract scenario while it starts:
 * asterd becomes ready only when all of them passed, and each logs
 * "storecheck: SCENARIO ok". Then the provider's own promises: the
 * SQLite file is made on first start and keeps state across restarts;
 * the PostgreSQL store fails the start when the server is down, and
 * /ready follows the server going away and coming back. Two asterd on
 * one PostgreSQL hear each other's notifications (storecheck's peer
 * scenario), again after the server restarted.
 */
#include "integ.h"

#include <libpq-fe.h>

/* The scenarios storecheck runs, in order. */
static const char *const scenarios[] = {
	"query", "exec", "errors", "transactions", "locks", "documents",
	"list", "concurrent", "notify", "cleanup", NULL,
};

/* Generous: the whole contract runs before `ready`. */
#define CONTRACT_READY_MS 30000

/* A product in a temp dir: dir/conf is the config dir. */
struct product {
	char *dir;
	char conf[PATH_MAX];
	char db[PATH_MAX];          /* sqlite: the database file */
	const char *peer_channel;   /* storecheck's peer_channel, or NULL */
};

static void
product_write(struct product *p, const char *store_yaml, int contract)
{
	static const char product_yaml[] =
	    "kind: product\n"
	    "id: storetest\n"
	    "name: Store contract test\n"
	    "version: 0.1.0\n"
	    "server:\n"
	    "  listen:\n"
	    "    - address: 127.0.0.1:18301\n"
	    "      scopes: [public]\n"
	    "    - address: 127.0.0.1:18302\n"
	    "      scopes: [internal]\n"
	    "  shutdown_timeout_ms: 2000\n";
	static const char core_yaml[] =
	    "kind: module\n"
	    "id: core\n"
	    "displayName: Core\n"
	    "version: 0.1.0\n"
	    "services:\n"
	    "  - id: gateway\n"
	    "    provider: gateway\n"
	    "routes:\n"
	    "  - id: route:core.ready\n"
	    "    scope: public\n"
	    "    methods: [GET]\n"
	    "    mountPath: /gateway/v1/ready\n"
	    "    handler: { service: gateway, operation: ready }\n";
	char contract_yaml[512];

	snprintf(contract_yaml, sizeof(contract_yaml),
	         "kind: module\n"
	         "id: contract\n"
	         "displayName: Store contract\n"
	         "version: 0.1.0\n"
	         "needs: [state-store]\n"
	         "services:\n"
	         "  - id: check\n"
	         "    provider: storecheck\n"
	         "%s%s%s",
	         p->peer_channel != NULL ? "    config: { peer_channel: " : "",
	         p->peer_channel != NULL ? p->peer_channel : "",
	         p->peer_channel != NULL ? " }\n" : "");

	ck_assert_int_eq(aster_test_write_file(p->conf, "product.yaml",
	                                       product_yaml, -1), 0);
	ck_assert_int_eq(aster_test_write_file(p->conf, "modules/core.yaml",
	                                       core_yaml, -1), 0);
	integ_write_database(p->conf, store_yaml, 1);
	if (contract)
		ck_assert_int_eq(aster_test_write_file(p->conf,
		                 "modules/contract.yaml", contract_yaml, -1), 0);
	else
		aster_test_remove_file(p->conf, "modules/contract.yaml");
}

static void
product_init(struct product *p)
{
	memset(p, 0, sizeof(*p));
	p->dir = integ_tempdir();
	snprintf(p->conf, sizeof(p->conf), "%s/conf", p->dir);
	/* Two levels that do not exist yet: the provider makes them. */
	snprintf(p->db, sizeof(p->db), "%s/state/lib/aster.db", p->dir);
}

/* A product on SQLite, with or without the contract module. */
static void
product_sqlite(struct product *p, int contract)
{
	char yaml[PATH_MAX + 128];

	snprintf(yaml, sizeof(yaml),
	         "  - id: store\n"
	         "    provider: sqlite\n"
	         "    config: { path: \"%s\" }\n", p->db);
	product_write(p, yaml, contract);
}

/* A product on the PostgreSQL at dsn. Short timeouts, so that a server
 * that is down shows quickly. */
static void
product_postgres(struct product *p, const char *dsn, int contract)
{
	char yaml[PATH_MAX + 256];

	product_write(p, integ_pg_store_yaml(yaml, sizeof(yaml), dsn),
	              contract);
}

static void
product_done(struct product *p)
{
	aster_test_remove_tree(p->dir);
	free(p->dir);
}

/* Starts asterd on p without waiting for it. */
static struct aster_test *
product_spawn(struct product *p)
{
	struct aster_test_options o = integ_options(NULL);
	struct aster_test *t;

	o.ready_timeout_ms = CONTRACT_READY_MS;
	t = aster_test_spawn(p->conf, &o);
	ck_assert_msg(t != NULL, "cannot run asterd: %s", strerror(errno));
	return t;
}

/* Waits for t to be ready, or fails the test with its stderr. */
static void
product_wait_ready(struct aster_test *t)
{
	if (aster_test_wait_ready(t) != 0) {
		char *why = strdup(aster_test_error(t));

		aster_test_stop(t);
		ck_abort_msg("asterd did not become ready: %s\n--- asterd "
		             "stderr ---\n%s", why, aster_test_stderr(t));
	}
}

static struct aster_test *
product_start(struct product *p)
{
	struct aster_test *t = product_spawn(p);

	product_wait_ready(t);
	return t;
}

/* Every scenario logged its "ok" line, and nothing failed. */
static void
assert_contract_passed(struct aster_test *t, const char *provider)
{
	const char *log = aster_test_stderr(t);
	char line[128];
	size_t i;

	for (i = 0; scenarios[i] != NULL; i++) {
		snprintf(line, sizeof(line), "storecheck: %s ok\n",
		         scenarios[i]);
		ck_assert_msg(strstr(log, line) != NULL, "%s: the contract "
		              "scenario '%s' did not pass\n--- asterd stderr "
		              "---\n%s", provider, scenarios[i], log);
	}
	integ_assert_clean_log(t);
}

/* --- the throwaway PostgreSQL itself -------------------------------------- */

/* One statement on a new connection; the first value of the first row
 * (malloc'ed), or NULL with the error in err. */
static char *
pg_query1(const char *dsn, const char *sql, char *err, size_t errlen)
{
	PGconn *c = PQconnectdb(dsn);
	PGresult *r;
	char *v = NULL;

	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		v = strdup(PQgetvalue(r, 0, 0));
	else if (PQresultStatus(r) == PGRES_COMMAND_OK)
		v = strdup("");
	else
		snprintf(err, errlen, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return v;
}

START_TEST(test_pg_harness)
{
	struct aster_test_pg *pg = aster_test_pg_start();
	char err[512] = "", *v;
	const char *dsn;

	ck_assert_msg(pg != NULL, "aster_test_pg_start failed (see stderr)");
	dsn = aster_test_pg_dsn(pg);
	ck_assert_msg(strstr(dsn, "user=aster") != NULL &&
	              strstr(dsn, "dbname=aster") != NULL, "dsn: %s", dsn);

	v = pg_query1(dsn, "SELECT current_user || ' ' || current_database()"
	              " || ' ' || current_setting('fsync') || ' ' || "
	              "current_setting('listen_addresses') || '|'",
	              err, sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	ck_assert_str_eq(v, "aster aster on |");
	free(v);
	v = pg_query1(dsn, "CREATE TABLE t (x int); INSERT INTO t VALUES (7)",
	              err, sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	free(v);

	/* Down: connections fail. Up again: committed data is there. */
	ck_assert_int_eq(aster_test_pg_stop_server(pg), 0);
	v = pg_query1(dsn, "SELECT 1", err, sizeof(err));
	ck_assert_msg(v == NULL, "the server answered while stopped");
	ck_assert_int_eq(aster_test_pg_start_server(pg), 0);
	v = pg_query1(dsn, "SELECT x FROM t", err, sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	ck_assert_str_eq(v, "7");
	free(v);
	aster_test_pg_free(pg);
}
END_TEST

/* Two clusters at once are independent. */
START_TEST(test_pg_harness_two)
{
	struct aster_test_pg *a = aster_test_pg_start();
	struct aster_test_pg *b = aster_test_pg_start();
	char err[512] = "", *v;

	ck_assert(a != NULL && b != NULL);
	ck_assert_str_ne(aster_test_pg_dsn(a), aster_test_pg_dsn(b));
	v = pg_query1(aster_test_pg_dsn(a), "CREATE TABLE only_a (x int)",
	              err, sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	free(v);
	v = pg_query1(aster_test_pg_dsn(b), "SELECT count(*) FROM "
	              "pg_tables WHERE tablename = 'only_a'", err,
	              sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	ck_assert_str_eq(v, "0");
	free(v);
	aster_test_pg_free(a);
	aster_test_pg_free(b);
	aster_test_pg_free(NULL);
}
END_TEST


/* --- the contract on SQLite ---------------------------------------------- */

/* The contract passes; the file (and its directory) is made on first
 * start; a document survives a restart, its ETag too, and a later write
 * gets a greater one. */
START_TEST(test_contract_sqlite)
{
	static const char *const put_headers[] = {
		"Content-Type: application/json", NULL,
	};
	const char *path = "/gateway/v1/internal/state/contract/persist";
	struct product p;
	struct aster_test *t;
	struct aster_test_response r;
	struct stat sb;
	char etag[64];

	product_init(&p);
	product_sqlite(&p, 1);
	ck_assert_msg(stat(p.db, &sb) == -1, "%s exists before the start",
	              p.db);
	t = product_start(&p);
	assert_contract_passed(t, "sqlite");
	ck_assert_msg(stat(p.db, &sb) == 0 && S_ISREG(sb.st_mode),
	              "%s was not created: %s", p.db, strerror(errno));

	integ_request(t, "internal", "PUT", path, put_headers,
	              "{\"kept\":true}", &r);
	ck_assert_msg(r.status == 201, "PUT: %d, expected 201; body: %s",
	              r.status, r.body);
	ck_assert_msg(aster_test_header(&r, "ETag") != NULL, "PUT: no ETag");
	snprintf(etag, sizeof(etag), "%s", aster_test_header(&r, "ETag"));
	aster_test_response_free(&r);
	integ_stop(t);

	/* Again, on the file of the first run: the contract passes again
	 * (its tables and namespaces are new), the document is there. */
	t = product_start(&p);
	assert_contract_passed(t, "sqlite, second start");
	integ_get_expect(t, "internal", path, 200, &r);
	ck_assert_str_eq(r.body, "{\"kept\":true}");
	ck_assert_msg(aster_test_header(&r, "ETag") != NULL &&
	              strcmp(aster_test_header(&r, "ETag"), etag) == 0,
	              "ETag %s after the restart, %s before",
	              aster_test_header(&r, "ETag"), etag);
	aster_test_response_free(&r);
	integ_request(t, "internal", "PUT", path, put_headers,
	              "{\"kept\":2}", &r);
	ck_assert_msg(r.status == 200, "PUT: %d, expected 200; body: %s",
	              r.status, r.body);
	ck_assert_msg(aster_test_header(&r, "ETag") != NULL &&
	              strtoull(aster_test_header(&r, "ETag") + 1, NULL, 10) >
	              strtoull(etag + 1, NULL, 10), "ETag %s after %s",
	              aster_test_header(&r, "ETag"), etag);
	aster_test_response_free(&r);
	integ_stop(t);
	product_done(&p);
}
END_TEST

/* --- the contract on PostgreSQL ------------------------------------------ */

/* The contract passes, twice against the same database. */
START_TEST(test_contract_postgres)
{
	struct aster_test_pg *pg = aster_test_pg_start();
	struct product p;
	struct aster_test *t;

	ck_assert_msg(pg != NULL, "aster_test_pg_start failed (see stderr)");
	product_init(&p);
	product_postgres(&p, aster_test_pg_dsn(pg), 1);
	t = product_start(&p);
	assert_contract_passed(t, "postgres");
	integ_stop(t);
	t = product_start(&p);
	assert_contract_passed(t, "postgres, second start");
	integ_stop(t);
	product_done(&p);
	aster_test_pg_free(pg);
}
END_TEST

/* With the server down, the start fails: exit 69, the cause naming the
 * database module and PostgreSQL. */
START_TEST(test_postgres_down_at_start)
{
	struct aster_test_pg *pg = aster_test_pg_start();
	struct aster_test_options o = integ_options(NULL);
	struct product p;
	struct aster_test *t;
	const char *log, *line, *end;
	char cause[1024];
	int rc;

	ck_assert_msg(pg != NULL, "aster_test_pg_start failed (see stderr)");
	ck_assert_int_eq(aster_test_pg_stop_server(pg), 0);
	product_init(&p);
	product_postgres(&p, aster_test_pg_dsn(pg), 1);
	t = aster_test_spawn(p.conf, &o);
	ck_assert_msg(t != NULL, "cannot run asterd: %s", strerror(errno));
	rc = aster_test_wait(t, aster_test_timeout(20000));
	log = aster_test_stderr(t);
	ck_assert_msg(rc == 69, "asterd exited with %d, expected 69; "
	              "stderr:\n%s", rc, log);
	line = strstr(log, "asterd: module database failed to start: ");
	ck_assert_msg(line != NULL, "no start failure naming the database "
	              "module; stderr:\n%s", log);
	end = strchr(line, '\n');
	snprintf(cause, sizeof(cause), "%.*s", end != NULL ?
	         (int)(end - line) : (int)strlen(line), line);
	ck_assert_msg(strcasestr(cause, "postgres") != NULL, "the cause does "
	              "not say PostgreSQL failed: %s", cause);
	ck_assert_msg(strstr(log, "storecheck:") == NULL, "storecheck ran "
	              "without a store; stderr:\n%s", log);
	integ_assert_clean_log(t);
	aster_test_free(t);
	product_done(&p);
	aster_test_pg_free(pg);
}
END_TEST

/*
 * Polls /gateway/v1/ready until it answers status with the database
 * module in state db_state, for up to ms. 0, or -1 with the last answer
 * in last.
 */
static int
wait_ready(struct aster_test *t, int status, const char *db_state, int ms,
           char *last, size_t lastlen)
{
	int waited = 0;

	for (;;) {
		struct aster_test_response r;
		json_object *o, *mods, *db;
		int ok = 0;

		if (aster_test_request(t, "public", "GET", "/gateway/v1/ready",
		                       NULL, NULL, 0, &r) == 0) {
			snprintf(last, lastlen, "%d %s", r.status, r.body);
			o = json_tokener_parse(r.body);
			ok = r.status == status && o != NULL &&
			     json_object_object_get_ex(o, "modules", &mods) &&
			     json_object_object_get_ex(mods, "database", &db) &&
			     strcmp(json_object_get_string(db), db_state) == 0;
			json_object_put(o);
		} else {
			snprintf(last, lastlen, "no answer: %s", r.error);
		}
		aster_test_response_free(&r);
		if (ok)
			return 0;
		if (waited >= ms)
			return -1;
		integ_sleep_ms(50);
		waited += 50;
	}
}

/* /ready answers 503 with the database unavailable while the server is
 * down, and 200 again once it is back; the state API answers 503 in
 * between and works again after. */
START_TEST(test_postgres_ready_follows_server)
{
	static const char *const put_headers[] = {
		"Content-Type: application/json", NULL,
	};
	const char *path = "/gateway/v1/internal/state/contract/fault";
	struct aster_test_pg *pg = aster_test_pg_start();
	struct product p;
	struct aster_test *t;
	struct aster_test_response r;
	char last[1024];

	ck_assert_msg(pg != NULL, "aster_test_pg_start failed (see stderr)");
	product_init(&p);
	product_postgres(&p, aster_test_pg_dsn(pg), 0);
	t = product_start(&p);
	ck_assert_msg(wait_ready(t, 200, "running", 0, last,
	                         sizeof(last)) == 0,
	              "/ready with the server up: %s", last);
	integ_request(t, "internal", "PUT", path, put_headers, "{\"n\":1}",
	              &r);
	ck_assert_msg(r.status == 201, "PUT: %d; body: %s", r.status, r.body);
	aster_test_response_free(&r);

	ck_assert_int_eq(aster_test_pg_stop_server(pg), 0);
	ck_assert_msg(wait_ready(t, 503, "unavailable",
	                         aster_test_timeout(10000), last,
	                         sizeof(last)) == 0,
	              "/ready with the server down: %s\n--- asterd stderr "
	              "---\n%s", last, aster_test_stderr(t));
	integ_request(t, "internal", "GET", path, NULL, NULL, &r);
	integ_assert_problem(&r, 503, "unavailable");
	aster_test_response_free(&r);

	ck_assert_int_eq(aster_test_pg_start_server(pg), 0);
	ck_assert_msg(wait_ready(t, 200, "running",
	                         aster_test_timeout(15000), last,
	                         sizeof(last)) == 0,
	              "/ready with the server back: %s\n--- asterd stderr "
	              "---\n%s", last, aster_test_stderr(t));
	integ_get_expect(t, "internal", path, 200, &r);
	ck_assert_str_eq(r.body, "{\"n\":1}");
	aster_test_response_free(&r);
	integ_request(t, "internal", "PUT", path, put_headers, "{\"n\":2}",
	              &r);
	ck_assert_msg(r.status == 200, "PUT after the restart: %d; body: %s",
	              r.status, r.body);
	aster_test_response_free(&r);
	integ_stop(t);
	product_done(&p);
	aster_test_pg_free(pg);
}
END_TEST

/* N of the first line "storecheck: peer heard TAG<tail>N ms" in t's
 * log, or -1 when there is none. */
static long
peer_heard_ms(struct aster_test *t, const char *tail)
{
	static const char heard[] = "storecheck: peer heard ";
	const char *line = strstr(aster_test_stderr(t), heard);

	while (line != NULL) {
		const char *end = strchr(line, '\n'), *at = strstr(line, tail);

		if (at != NULL && (end == NULL || at < end))
			return strtol(at + strlen(tail), NULL, 10);
		line = strstr(line + 1, heard);
	}
	return -1;
}

/*
 * Notifications cross nodes: two asterd on one PostgreSQL, each with
 * storecheck's peer scenario on the same channel, become ready only
 * once each heard the other's hello, in well under a second (from the
 * publish call to the subscriber's callback). The server restarts: each listener is told notifications may have been
 * lost ("peer lost"), listens again and hears the other again.
 */
START_TEST(test_postgres_notify_two_nodes)
{
	struct aster_test_pg *pg = aster_test_pg_start();
	struct product pa, pb;
	struct aster_test *a, *b;
	struct aster_test *both[2];
	const int bound = aster_test_timeout(1000);
	long ms;
	int i;

	ck_assert_msg(pg != NULL, "aster_test_pg_start failed (see stderr)");
	product_init(&pa);
	product_init(&pb);
	pa.peer_channel = pb.peer_channel = "storecheck_peer";
	product_postgres(&pa, aster_test_pg_dsn(pg), 1);
	product_postgres(&pb, aster_test_pg_dsn(pg), 1);
	a = product_spawn(&pa);
	b = product_spawn(&pb);
	product_wait_ready(a);
	product_wait_ready(b);
	both[0] = a;
	both[1] = b;
	for (i = 0; i < 2; i++) {
		assert_contract_passed(both[i], i == 0 ? "node a" : "node b");
		ck_assert_msg(strstr(aster_test_stderr(both[i]),
		              "storecheck: peer ok\n") != NULL, "node %c: "
		              "no 'peer ok'\n--- asterd stderr ---\n%s",
		              'a' + i, aster_test_stderr(both[i]));
		ms = peer_heard_ms(both[i], " after ");
		ck_assert_msg(ms >= 0 && ms < bound, "node %c heard the other "
		              "after %ld ms, expected under %d\n--- asterd "
		              "stderr ---\n%s", 'a' + i, ms, bound,
		              aster_test_stderr(both[i]));
	}

	ck_assert_int_eq(aster_test_pg_stop_server(pg), 0);
	ck_assert_int_eq(aster_test_pg_start_server(pg), 0);
	for (i = 0; i < 2; i++) {
		ck_assert_msg(aster_test_wait_stderr(both[i],
		              "storecheck: peer lost\n",
		              aster_test_timeout(15000)) == 0 &&
		              aster_test_wait_stderr(both[i], " again after ",
		              aster_test_timeout(15000)) == 0,
		              "node %c did not hear the other again after the "
		              "server restarted\n--- asterd stderr ---\n%s",
		              'a' + i, aster_test_stderr(both[i]));
		/* No bound on that one's time: a hello made while the
		 * server was away waited for the pool to reconnect. */
	}
	integ_stop(a);
	integ_stop(b);
	product_done(&pa);
	product_done(&pb);
	aster_test_pg_free(pg);
}
END_TEST

static Suite *
store_contract_suite(void)
{
	Suite *s = suite_create("store_contract");
	TCase *tc = tcase_create("pg_harness");

	tcase_set_timeout(tc, INTEG_TCASE_TIMEOUT);
	tcase_add_test(tc, test_pg_harness);
	tcase_add_test(tc, test_pg_harness_two);
	suite_add_tcase(s, tc);

	/* The contract runs before `ready`: slower than most. */
	tc = tcase_create("sqlite");
	tcase_set_timeout(tc, 2 * INTEG_TCASE_TIMEOUT);
	tcase_add_test(tc, test_contract_sqlite);
	suite_add_tcase(s, tc);

	tc = tcase_create("postgres");
	tcase_set_timeout(tc, 2 * INTEG_TCASE_TIMEOUT);
	tcase_add_test(tc, test_contract_postgres);
	tcase_add_test(tc, test_postgres_down_at_start);
	tcase_add_test(tc, test_postgres_ready_follows_server);
	tcase_add_test(tc, test_postgres_notify_two_nodes);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(store_contract_suite)
