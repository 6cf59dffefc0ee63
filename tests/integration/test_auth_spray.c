/*
 * test_auth_spray.c - credential spraying is bounded (SPEC §7.4): failed
 * credentials are throttled per client address before any store lookup,
 * unknown key ids are remembered briefly, and a 401 reads the same for
 * an unknown id and a wrong secret.
 *
 * The store queries are counted for real: the scans of the table
 * aster_api_keys in PostgreSQL's pg_stat_user_tables (sequential and
 * index), read through libpq once the server's statistics have settled
 * (an idle backend publishes its counters within 10 s). A second client
 * address is 127.0.0.2 (and 127.0.0.3 for made-up keys sent all at
 * once), which loopback answers for; this file binds its own sockets to
 * them.
 *
 * The product: one listener for public, user and admin; module
 * `database` (PostgreSQL from aster_test_pg_start(), or SQLite in the
 * temp dir); module `auth` (provider auth, with the verifier config
 * given); module `probe` with the user route /t/user.
 */
#include "integ.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define BURST 40                /* the default failed_credentials */
#define PER_MINUTE 20
#define SPRAY 1000
#define CONCURRENT 200          /* made-up keys sent at once */

struct prod {
	char *dir;
	char conf[PATH_MAX];
	char sock[PATH_MAX];
	struct aster_test *t;
};

/* --- the product -------------------------------------------------------- */

/* Writes the product with store_yaml as the database module's services
 * and verifier_config (YAML under the verifier's `config:`, or NULL). */
static void
prod_write(struct prod *p, const char *store_yaml, const char *verifier_config)
{
	char auth[1024];

	memset(p, 0, sizeof(*p));
	p->dir = integ_tempdir();
	snprintf(p->conf, sizeof(p->conf), "%s/conf", p->dir);
	snprintf(p->sock, sizeof(p->sock), "%s/control.sock", p->dir);
	snprintf(auth, sizeof(auth),
	         "kind: module\n"
	         "id: auth\n"
	         "displayName: Auth\n"
	         "version: 0.1.0\n"
	         "provides: [auth]\n"
	         "needs: [state-store]\n"
	         "services:\n"
	         "  - id: verifier\n"
	         "    provider: auth\n"
	         "%s%s",
	         verifier_config != NULL ? "    config:\n" : "",
	         verifier_config != NULL ? verifier_config : "");
	integ_write_product(p->conf, "spraytest", "Spray test", p->sock);
	integ_write_database(p->conf, store_yaml, 0);
	ck_assert_int_eq(aster_test_write_file(p->conf, "modules/auth.yaml",
	                                       auth, -1), 0);
	integ_write_probe(p->conf, 0);
	p->t = integ_spawn_ready(p->conf, 20000);
}

static void
prod_done(struct prod *p)
{
	integ_stop(p->t);
	aster_test_remove_tree(p->dir);
	free(p->dir);
}

/* A user key from `asterctl keys create`: the token. */
static void
make_key(struct prod *p, char *token, size_t len)
{
	const char *args[] = {"--socket", p->sock, "keys", "create", "--role",
	                      "user", "--name", "sprayed", NULL};
	char *out, *nl;
	int rc;

	rc = integ_asterctl(args, NULL, &out, NULL);
	ck_assert_msg(rc == 0, "asterctl keys create: exit %d\n%s", rc, out);
	nl = strchr(out, '\n');
	ck_assert(nl != NULL && strncmp(out, "aster_", 6) == 0);
	*nl = '\0';
	ck_assert(strlen(out) < len);
	snprintf(token, len, "%s", out);
	free(out);
}

/* A well-formed key with a random id and secret (43 base64url
 * characters, the last one's two low bits zero). */
static void
made_up_key(char *out, size_t len)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	                          "qrstuvwxyz0123456789-_";
	char id[17], secret[44];
	int i;

	for (i = 0; i < 16; i++)
		id[i] = "0123456789abcdef"[random() % 16];
	id[16] = '\0';
	for (i = 0; i < 42; i++)
		secret[i] = b64[random() % 64];
	secret[42] = b64[(random() % 16) * 4];
	secret[43] = '\0';
	snprintf(out, len, "aster_%s_%s", id, secret);
}

/* --- requests from an address --------------------------------------------- */

struct answer {
	int status;
	char retry_after[32];       /* "" when absent */
	char code[64];
	char detail[256];
};

/* The problem's code and detail of body into a. */
static void
problem_of(const char *body, struct answer *a)
{
	json_object *o = json_tokener_parse(body);
	const char *v;

	if (o == NULL)
		return;
	if ((v = integ_json_str(o, "code")) != NULL)
		snprintf(a->code, sizeof(a->code), "%s", v);
	if ((v = integ_json_str(o, "detail")) != NULL)
		snprintf(a->detail, sizeof(a->detail), "%s", v);
	json_object_put(o);
}

/*
 * Sends GET /t/user from the local address src ("127.0.0.1",
 * "127.0.0.2") to the public listener, with "Authorization: Bearer
 * TOKEN" (none when token is NULL), on a connection of its own; the
 * socket, for read_answer().
 */
static int
send_from(struct prod *p, const char *src, const char *token)
{
	const char *addr = aster_test_address(p->t, "public");
	struct sockaddr_in from, to;
	char req[512], *colon;
	int fd;

	ck_assert(addr != NULL && (colon = strrchr(addr, ':')) != NULL);
	memset(&from, 0, sizeof(from));
	from.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, src, &from.sin_addr), 1);
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)atoi(colon + 1));
	ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.1", &to.sin_addr), 1);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert(fd >= 0);
	ck_assert_msg(bind(fd, (struct sockaddr *)&from, sizeof(from)) == 0,
	              "bind %s: %s", src, strerror(errno));
	ck_assert_msg(connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0,
	              "connect %s from %s: %s", addr, src, strerror(errno));
	snprintf(req, sizeof(req), "GET /t/user HTTP/1.1\r\nHost: %s\r\n"
	         "%s%s%sConnection: close\r\n\r\n", addr,
	         token != NULL ? "Authorization: Bearer " : "",
	         token != NULL ? token : "", token != NULL ? "\r\n" : "");
	ck_assert(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	return fd;
}

/* Reads the response on fd to its end, and closes fd. */
static void
read_answer(int fd, struct answer *a)
{
	char buf[8192], *end, *h;
	size_t got = 0;
	ssize_t n;

	memset(a, 0, sizeof(*a));
	while (got < sizeof(buf) - 1 &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	ck_assert_msg(sscanf(buf, "HTTP/1.1 %d", &a->status) == 1,
	              "no response: '%s'", buf);
	end = strstr(buf, "\r\n\r\n");
	ck_assert(end != NULL);
	*end = '\0';
	if ((h = strcasestr(buf, "\r\nRetry-After: ")) != NULL)
		sscanf(h + 15, "%31[^\r]", a->retry_after);
	problem_of(end + 4, a);
}

/* One request from src, and its answer. */
static void
get_from(struct prod *p, const char *src, const char *token, struct answer *a)
{
	read_answer(send_from(p, src, token), a);
}

/*
 * Right after a made-up key is refused 429, the valid key is refused
 * too. A token comes back every 3 s, so one may arrive between the two
 * requests: then the valid key passes, as it should, and the pair is
 * tried again, up to three times. Returns the made-up keys refused 401
 * meanwhile (a token had come back), each one store query.
 */
static int
assert_valid_refused(struct prod *p, const char *valid)
{
	char key[256];
	struct answer a;
	int tries, n401 = 0;

	for (tries = 0; tries < 3; tries++) {
		made_up_key(key, sizeof(key));
		get_from(p, "127.0.0.1", key, &a);
		if (a.status == 401) {
			n401++;         /* the token came back: used up now */
			continue;
		}
		ck_assert_int_eq(a.status, 429);
		get_from(p, "127.0.0.1", valid, &a);
		if (a.status == 429) {
			ck_assert_str_eq(a.code, "rate-limited");
			return n401;
		}
		ck_assert_int_eq(a.status, 200);
	}
	ck_abort_msg("a valid key over the limit was never refused");
	return n401;
}

/* --- counting store queries ------------------------------------------ */

/* Scans of aster_api_keys so far, as the statistics say now. */
static long long
scans_now(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT coalesce(seq_scan, 0) + "
	                     "coalesce(idx_scan, 0) FROM pg_stat_user_tables "
	                     "WHERE relname = 'aster_api_keys'");
	long long n;

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK &&
	              PQntuples(r) == 1, "pg_stat_user_tables: %s",
	              PQerrorMessage(c));
	n = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

/* The scans once the counters have not moved for 11 s, every backend
 * having published what it did: an idle backend that published less
 * than a second ago waits 10 s (PGSTAT_IDLE_INTERVAL) before it
 * publishes again. That is PostgreSQL's clock, not asterd's speed, so
 * the wait is not stretched under valgrind. */
static long long
scans(PGconn *c)
{
	unsigned quiet = 11000;
	long long n = scans_now(c), m;
	uint64_t since = integ_ms_now();

	for (;;) {
		integ_sleep_ms(200);
		m = scans_now(c);
		if (m != n) {
			n = m;
			since = integ_ms_now();
		} else if (integ_ms_now() - since >= quiet) {
			return n;
		}
	}
}

/* --- the tests ------------------------------------------------------- */

START_TEST(test_spray_bounded_on_postgres)
{
	struct aster_test_pg *pg = aster_test_pg_start();
	char yaml[PATH_MAX + 256], valid[256], key[256], wrong[256];
	char unknown_detail[256];
	struct answer a;
	struct prod p;
	PGconn *c;
	long long before, after, allowed;
	uint64_t t0, t429 = 0, spray_ms;
	int fds[CONCURRENT];
	int i, n401 = 0, n429 = 0;

	ck_assert_msg(pg != NULL, "aster_test_pg_start failed (see stderr)");
	srandom((unsigned)getpid());
	prod_write(&p, integ_pg_store_yaml(yaml, sizeof(yaml),
	                                   aster_test_pg_dsn(pg)), NULL);
	make_key(&p, valid, sizeof(valid));
	c = PQconnectdb(aster_test_pg_dsn(pg));
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "libpq: %s",
	              PQerrorMessage(c));

	/* The valid key works (and is cached from now on). */
	get_from(&p, "127.0.0.1", valid, &a);
	ck_assert_int_eq(a.status, 200);

	/* 1,000 made-up keys from one address: the bucket's worth are
	 * looked up and refused 401, the rest never reach the store. */
	before = scans(c);
	t0 = integ_ms_now();
	for (i = 0; i < SPRAY; i++) {
		made_up_key(key, sizeof(key));
		get_from(&p, "127.0.0.1", key, &a);
		if (a.status == 401) {  /* a token, maybe one back */
			ck_assert_str_eq(a.code, "unauthorized");
			n401++;
			continue;
		}
		if (n429 == 0)
			t429 = integ_ms_now();
		ck_assert_msg(a.status == 429, "key %d: %d", i, a.status);
		ck_assert_str_eq(a.code, "rate-limited");
		ck_assert_msg(atoi(a.retry_after) >= 1 &&
		              atoi(a.retry_after) <= 60 / PER_MINUTE,
		              "Retry-After '%s'", a.retry_after);
		n429++;
	}
	spray_ms = integ_ms_now() - t0;
	ck_assert_int_eq(n401 + n429, SPRAY);
	/* Over the limit, a valid key is refused too: the check comes
	 * before any lookup. */
	n401 += assert_valid_refused(&p, valid);
	/* Tokens that came back meanwhile: 20 a minute. */
	allowed = BURST + (long long)(integ_ms_now() - t0) * PER_MINUTE /
	          60000 + 1;
	after = scans(c);
	fprintf(stderr, "spray: %d x 401, %d x 429, %lld store queries; "
	        "the first 429 after %llu ms, all %d in %llu ms\n", n401,
	        n429, after - before, (unsigned long long)(t429 - t0), SPRAY,
	        (unsigned long long)spray_ms);
	ck_assert_msg(n401 >= BURST && n401 <= allowed, "%d x 401, expected "
	              "%d to %lld", n401, BURST, allowed);
	ck_assert_msg(after - before == n401, "%lld store queries for %d "
	              "unknown ids looked up", after - before, n401);

	/* Another address is not affected. */
	get_from(&p, "127.0.0.2", valid, &a);
	ck_assert_msg(a.status == 200, "a valid key from 127.0.0.2: %d",
	              a.status);

	/* An unknown id twice costs one query; a wrong secret for a real
	 * id reads the same. */
	before = scans(c);
	made_up_key(key, sizeof(key));
	get_from(&p, "127.0.0.2", key, &a);
	ck_assert_int_eq(a.status, 401);
	snprintf(unknown_detail, sizeof(unknown_detail), "%s", a.detail);
	get_from(&p, "127.0.0.2", key, &a);
	ck_assert_int_eq(a.status, 401);
	ck_assert_str_eq(a.detail, unknown_detail);
	after = scans(c);
	ck_assert_msg(after - before == 1, "the same unknown id twice: %lld "
	              "store queries", after - before);
	/* Remembered for a short time only: scans() waited 11 s. */
	get_from(&p, "127.0.0.2", key, &a);
	ck_assert_int_eq(a.status, 401);
	before = after;
	after = scans(c);
	ck_assert_msg(after - before == 1, "the unknown id 11 s later: %lld "
	              "store queries", after - before);
	snprintf(wrong, sizeof(wrong), "%.23s%s", valid,
	         "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA");
	get_from(&p, "127.0.0.2", wrong, &a);
	ck_assert_int_eq(a.status, 401);
	ck_assert_str_eq(a.detail, unknown_detail);

	/* Made-up keys sent at once on many connections: the lookups in
	 * flight hold their tokens, so no more than the bucket's worth
	 * reach the store. */
	before = scans(c);
	t0 = integ_ms_now();
	for (i = 0; i < CONCURRENT; i++) {
		made_up_key(key, sizeof(key));
		fds[i] = send_from(&p, "127.0.0.3", key);
	}
	for (n401 = n429 = i = 0; i < CONCURRENT; i++) {
		read_answer(fds[i], &a);
		ck_assert_msg(a.status == 401 || a.status == 429,
		              "concurrent key %d: %d", i, a.status);
		if (a.status == 401)
			n401++;
		else
			n429++;
	}
	allowed = BURST + (long long)(integ_ms_now() - t0) * PER_MINUTE /
	          60000 + 1;
	after = scans(c);
	fprintf(stderr, "concurrent: %d x 401, %d x 429, %lld store "
	        "queries\n", n401, n429, after - before);
	ck_assert_msg(n401 >= BURST && n401 <= allowed, "%d x 401, expected "
	              "%d to %lld", n401, BURST, allowed);
	ck_assert_msg(after - before == n401, "%lld store queries for %d "
	              "unknown ids looked up", after - before, n401);

	/* No Authorization at all is not counted against the address. */
	for (i = 0; i < 2 * BURST; i++) {
		get_from(&p, "127.0.0.2", NULL, &a);
		ck_assert_int_eq(a.status, 401);
	}
	get_from(&p, "127.0.0.2", valid, &a);
	ck_assert_int_eq(a.status, 200);

	PQfinish(c);
	prod_done(&p);
	aster_test_pg_free(pg);
}
END_TEST

/* The limit comes from the auth service's config; valid credentials do
 * not use it up. */
START_TEST(test_configured_limit)
{
	char yaml[PATH_MAX + 128], db[PATH_MAX], valid[256], key[256];
	char *dbdir = integ_tempdir();
	struct answer a;
	struct prod p;
	int i;

	srandom((unsigned)getpid() ^ 0x5a5a);
	snprintf(db, sizeof(db), "%s/aster.db", dbdir);
	snprintf(yaml, sizeof(yaml),
	         "  - id: store\n"
	         "    provider: sqlite\n"
	         "    config: { path: \"%s\" }\n", db);
	prod_write(&p, yaml, "      failed_credentials: { requests: 1, "
	           "per_ms: 600000, burst: 3 }\n");
	make_key(&p, valid, sizeof(valid));

	for (i = 0; i < 100; i++) {
		get_from(&p, "127.0.0.1", valid, &a);
		ck_assert_int_eq(a.status, 200);
	}
	for (i = 0; i < 3; i++) {
		made_up_key(key, sizeof(key));
		get_from(&p, "127.0.0.1", key, &a);
		ck_assert_int_eq(a.status, 401);
	}
	/* The fourth failure is one too many. */
	get_from(&p, "127.0.0.1", key, &a);
	ck_assert_int_eq(a.status, 429);
	ck_assert_str_eq(a.code, "rate-limited");
	/* One token in 600 s. */
	ck_assert_msg(atoi(a.retry_after) > 500 && atoi(a.retry_after) <= 600,
	              "Retry-After '%s'", a.retry_after);
	get_from(&p, "127.0.0.1", valid, &a);
	ck_assert_int_eq(a.status, 429);
	get_from(&p, "127.0.0.2", valid, &a);
	ck_assert_int_eq(a.status, 200);
	prod_done(&p);
	aster_test_remove_tree(dbdir);
	free(dbdir);
}
END_TEST

static Suite *
spray_suite(void)
{
	Suite *s = suite_create("auth_spray");
	TCase *tc = tcase_create("spray");

	tcase_set_timeout(tc, aster_test_timeout(INTEG_TCASE_TIMEOUT * 3 *
	                                     1000) / 1000);
	tcase_add_test(tc, test_spray_bounded_on_postgres);
	tcase_add_test(tc, test_configured_limit);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(spray_suite)
