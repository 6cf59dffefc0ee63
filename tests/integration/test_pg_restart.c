/*
 * test_pg_restart.c - the postgres state store across a server restart
 * (SPEC 8: "It reconnects after the server restarts; a request that could
 * not be committed gets a 503 problem, never a false success").
 *
 * asterd runs a product whose store is a throwaway PostgreSQL
 * (aster_test_pg_start) with queue_timeout_ms 500. THREADS client threads
 * PUT distinct keys with known values through the internal state API, one
 * connection per request, and record every answer (a success is always
 * 201: every key is new). Meanwhile the test
 * stops the server (fast shutdown: connections cut), keeps it down for
 * OUTAGE_MS (longer than the queue timeout, so both the requests cut in
 * flight and the ones that wait in the queue fail), starts it again, waits
 * for /gateway/v1/ready to answer 200, and lets the traffic run on.
 *
 * Then: every request got an answer; every answer that is not a success
 * is a 503 problem+json with code `unavailable`; some requests failed
 * (else the test proved nothing); ready said 503 `unavailable` during the
 * outage and 200 again within a bound; the requests sent from a second
 * after that succeeded (at most 1% may meet a disk stall longer than the
 * queue timeout: fsync is on), and so does a new one; and every
 * acknowledged write reads back with its exact value. The counts are
 * printed on stdout.
 */
#include "integ.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/time.h>

#define THREADS 8
#define WARMUP_MS 1000
#define OUTAGE_MS 1500          /* > queue_timeout_ms below */
#define QUEUE_TIMEOUT_MS 500
#define AFTER_READY_MS 2000     /* traffic once ready again */
#define SETTLE_MS 1000          /* grace after ready before every PUT
                                   must succeed */
#define READY_BOUND_MS 20000    /* ready again after the restart */
#define NS "fault"

enum phase { BEFORE, OUTAGE, RESTARTED, READY_AGAIN, PHASES };
static const char *const phase_names[] = {"before the outage",
                                          "during the outage",
                                          "after the restart, before ready",
                                          "after ready"};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One PUT: what was asked, and what came back. */
struct rec {
	unsigned seq;
	enum phase phase;           /* when it was sent */
	uint64_t sent_ms, took_ms;
	int status;                 /* 0: no answer */
	struct aster_test_response *failed;   /* kept when not 201 */
	char *error;                /* no answer: why */
};

struct worker {
	pthread_t th;
	int id;
	const char *address;
	int io_timeout_ms;
	struct rec *recs;
	size_t n, cap;
	int oom;
	/* verification */
	size_t checked, missing, wrong;
	char first_problem[512];
};

static atomic_int stop_flag;
static atomic_int cur_phase;
static uint64_t ready_again_ms;     /* written before READY_AGAIN is set */

static void
make_key(char *buf, size_t len, int id, unsigned seq)
{
	snprintf(buf, len, "w%d-%u", id, seq);
}

static void
make_value(char *buf, size_t len, int id, unsigned seq)
{
	snprintf(buf, len, "{\"worker\":%d,\"seq\":%u,\"text\":\"value %d/%u "
	         "\\u00e9\"}", id, seq, id, seq);
}

/* One request on a connection of its own. 0 and out filled when an
 * answer came; -1 with out->error otherwise. */
static int
one_request(const char *address, int io_timeout_ms, const char *method,
            const char *path, const char *body,
            struct aster_test_response *out)
{
	static const char *const put_headers[] = {
		"Connection: close", "Content-Type: application/json", NULL};
	static const char *const get_headers[] = {"Connection: close", NULL};
	struct aster_test_conn *c;
	int rc;

	memset(out, 0, sizeof(*out));
	c = aster_test_connect_address(address, io_timeout_ms);
	if (c == NULL) {
		snprintf(out->error, sizeof(out->error), "connect %s: %s",
		         address, strerror(errno));
		return -1;
	}
	rc = aster_test_conn_request(c, method, path,
	                             body != NULL ? put_headers : get_headers,
	                             body, body != NULL ? strlen(body) : 0, out);
	aster_test_conn_close(c);
	return rc;
}

static void *
writer(void *arg)
{
	struct worker *w = arg;
	unsigned seq = 0;

	while (!atomic_load(&stop_flag)) {
		char key[64], path[128], value[256];
		struct aster_test_response r;
		struct rec *rec;
		int rc;

		if (w->n == w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 1024;
			struct rec *v = realloc(w->recs, cap * sizeof(*v));

			if (v == NULL) {
				w->oom = 1;
				break;
			}
			w->recs = v;
			w->cap = cap;
		}
		rec = &w->recs[w->n];
		memset(rec, 0, sizeof(*rec));
		rec->seq = seq;
		rec->phase = (enum phase)atomic_load(&cur_phase);
		make_key(key, sizeof(key), w->id, seq);
		make_value(value, sizeof(value), w->id, seq);
		snprintf(path, sizeof(path), "/gateway/v1/internal/state/" NS
		         "/%s", key);
		rec->sent_ms = now_ms();
		rc = one_request(w->address, w->io_timeout_ms, "PUT", path, value,
		                 &r);
		rec->took_ms = now_ms() - rec->sent_ms;
		rec->status = rc == 0 ? r.status : 0;
		if (rc != 0 || r.status == 0) {
			rec->status = 0;
			rec->error = strdup(r.error[0] ? r.error : "no answer");
			aster_test_response_free(&r);
		} else if (r.status == 201) {
			aster_test_response_free(&r);
		} else {
			rec->failed = malloc(sizeof(*rec->failed));
			if (rec->failed != NULL)
				*rec->failed = r;
			else
				aster_test_response_free(&r);
		}
		w->n++;
		seq++;
		integ_sleep_ms(1);
	}
	return NULL;
}

/* GETs every acknowledged key of w and compares the value. */
static void *
verifier(void *arg)
{
	struct worker *w = arg;
	size_t i;

	for (i = 0; i < w->n; i++) {
		const struct rec *rec = &w->recs[i];
		char key[64], path[128], value[256];
		struct aster_test_response r;
		int rc;

		if (rec->status != 201)
			continue;
		make_key(key, sizeof(key), w->id, rec->seq);
		make_value(value, sizeof(value), w->id, rec->seq);
		snprintf(path, sizeof(path), "/gateway/v1/internal/state/" NS
		         "/%s", key);
		rc = one_request(w->address, w->io_timeout_ms, "GET", path, NULL,
		                 &r);
		w->checked++;
		if (rc != 0 || r.status != 200) {
			w->missing++;
			if (w->first_problem[0] == '\0')
				snprintf(w->first_problem, sizeof(w->first_problem),
				         "GET %s after a %d to its PUT: %d %s%s",
				         path, rec->status, rc != 0 ? 0 : r.status,
				         rc != 0 ? r.error : "",
				         rc != 0 ? "" : r.body);
		} else if (r.body_len != strlen(value) ||
		           memcmp(r.body, value, r.body_len) != 0) {
			w->wrong++;
			if (w->first_problem[0] == '\0')
				snprintf(w->first_problem, sizeof(w->first_problem),
				         "GET %s: '%s', expected '%s'", path, r.body,
				         value);
		}
		aster_test_response_free(&r);
	}
	return NULL;
}

static int
scaled_timeout(int seconds)
{
	/* check scales by CK_TIMEOUT_MULTIPLIER itself; valgrind runs
	 * (INTEG_VALGRIND=1) set only ASTER_TEST_TIMEOUT_MULTIPLIER */
	const char *v = getenv("ASTER_TEST_TIMEOUT_MULTIPLIER");
	double m = v != NULL ? strtod(v, NULL) : 1.0;

	return m >= 1.0 && m <= 100.0 ? (int)(seconds * m) : seconds;
}

/* GET /gateway/v1/ready: its status (0: no answer), and in st and db the
 * body's "status" and modules.database (truncated, "" when absent). */
static int
probe_ready(struct aster_test *t, char *st, char *db, size_t len)
{
	struct aster_test_response r;
	int status = 0;

	st[0] = db[0] = '\0';
	if (aster_test_request(t, "public", "GET", "/gateway/v1/ready", NULL,
	                       NULL, 0, &r) == 0) {
		json_object *o = json_tokener_parse(r.body != NULL ? r.body : "");
		json_object *mods, *d;

		status = r.status;
		if (o != NULL && json_object_is_type(o, json_type_object)) {
			if (integ_json_str(o, "status") != NULL)
				snprintf(st, len, "%s", integ_json_str(o, "status"));
			if (json_object_object_get_ex(o, "modules", &mods) &&
			    json_object_object_get_ex(mods, "database", &d))
				snprintf(db, len, "%s", json_object_get_string(d));
		}
		json_object_put(o);
	}
	aster_test_response_free(&r);
	return status;
}

static void
write_product(const char *dir, const char *dsn)
{
	char db[2048];
	int w;

	ck_assert(aster_test_write_file(dir, "product.yaml",
	    "kind: product\n"
	    "id: pgrestart\n"
	    "name: PostgreSQL restart\n"
	    "version: 0.1.0\n"
	    "server:\n"
	    "  listen:\n"
	    "    - address: 127.0.0.1:0\n"
	    "      scopes: [public]\n"
	    "    - address: 127.0.0.1:0\n"
	    "      scopes: [internal]\n"
	    "  shutdown_timeout_ms: 5000\n"
	    "log:\n"
	    "  access: false\n", -1) == 0);
	ck_assert(aster_test_write_file(dir, "modules/core.yaml",
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
	    "    handler: { service: gateway, operation: ready }\n", -1) == 0);
	w = snprintf(db, sizeof(db),
	    "kind: module\n"
	    "id: database\n"
	    "displayName: Database\n"
	    "version: 0.1.0\n"
	    "provides: [state-store]\n"
	    "services:\n"
	    "  - id: store\n"
	    "    provider: postgres\n"
	    "    config:\n"
	    "      dsn: \"%s\"\n"
	    "      pool_size: 4\n"
	    "      queue_timeout_ms: %d\n"
	    "  - id: state\n"
	    "    provider: gateway\n"
	    "routes:\n"
	    "  - id: route:database.state.document\n"
	    "    scope: internal\n"
	    "    methods: [GET, PUT, DELETE]\n"
	    "    mountPath: /gateway/v1/internal/state/{namespace}/{key}\n"
	    "    handler: { service: state, operation: state }\n",
	    dsn, QUEUE_TIMEOUT_MS);
	ck_assert(w > 0 && (size_t)w < sizeof(db));
	ck_assert(aster_test_write_file(dir, "modules/database.yaml", db,
	                                -1) == 0);
}

START_TEST(test_pg_restart_under_load)
{
	struct aster_test_pg *pg;
	struct aster_test *t;
	struct worker w[THREADS];
	char *dir = integ_tempdir();
	const char *address;
	char st[64], dbst[64];
	int outage_ready = -1, i, io_timeout = aster_test_timeout(10000);
	char outage_st[64] = "", outage_db[64] = "";
	uint64_t t_down, t_up, t_ready = 0, deadline;
	size_t total = 0, acked = 0, failed = 0, unanswered = 0;
	size_t acked_by[PHASES] = {0}, failed_by[PHASES] = {0};
	size_t late = 0, late_failures = 0, checked = 0, missing = 0, wrong = 0;
	uint64_t slowest = 0;
	const struct rec *first_unanswered = NULL, *first_late = NULL;

	pg = aster_test_pg_start();
	ck_assert_msg(pg != NULL, "cannot start PostgreSQL (see stderr)");
	write_product(dir, aster_test_pg_dsn(pg));
	t = integ_start_dir(dir, NULL);
	address = aster_test_address(t, "internal");
	ck_assert(address != NULL);

	/* it works before anything happens */
	{
		struct aster_test_response r;

		ck_assert(one_request(address, io_timeout, "PUT",
		                      "/gateway/v1/internal/state/" NS "/first",
		                      "{\"first\":1}", &r) == 0);
		ck_assert_msg(r.status == 201, "first PUT: %d %s", r.status,
		              r.body);
		aster_test_response_free(&r);
	}

	atomic_store(&stop_flag, 0);
	atomic_store(&cur_phase, BEFORE);
	memset(w, 0, sizeof(w));
	for (i = 0; i < THREADS; i++) {
		w[i].id = i;
		w[i].address = address;
		w[i].io_timeout_ms = io_timeout;
		ck_assert(pthread_create(&w[i].th, NULL, writer, &w[i]) == 0);
	}

	integ_sleep_ms(WARMUP_MS);
	atomic_store(&cur_phase, OUTAGE);
	t_down = now_ms();
	ck_assert_msg(aster_test_pg_stop_server(pg) == 0,
	              "cannot stop PostgreSQL");
	integ_sleep_ms(OUTAGE_MS / 2);
	outage_ready = probe_ready(t, outage_st, outage_db, sizeof(outage_st));
	while (now_ms() < t_down + OUTAGE_MS)
		integ_sleep_ms(10);
	ck_assert_msg(aster_test_pg_start_server(pg) == 0,
	              "cannot start PostgreSQL again");
	t_up = now_ms();
	atomic_store(&cur_phase, RESTARTED);

	deadline = t_up + (uint64_t)aster_test_timeout(READY_BOUND_MS);
	while (now_ms() < deadline) {
		if (probe_ready(t, st, dbst, sizeof(st)) == 200) {
			t_ready = now_ms();
			break;
		}
		integ_sleep_ms(50);
	}
	if (t_ready != 0) {
		ready_again_ms = t_ready;
		atomic_store(&cur_phase, READY_AGAIN);
		integ_sleep_ms(AFTER_READY_MS);
	}
	atomic_store(&stop_flag, 1);
	for (i = 0; i < THREADS; i++)
		pthread_join(w[i].th, NULL);

	ck_assert_msg(t_ready != 0, "/gateway/v1/ready did not answer 200 "
	              "within %d ms of PostgreSQL's restart (last: %s, "
	              "database %s); asterd stderr:\n%s",
	              aster_test_timeout(READY_BOUND_MS), st, dbst,
	              aster_test_stderr(t));

	/* tally, and check every answer that is not a success */
	for (i = 0; i < THREADS; i++) {
		size_t k;

		ck_assert_msg(!w[i].oom, "writer %d: out of memory", i);
		for (k = 0; k < w[i].n; k++) {
			const struct rec *rec = &w[i].recs[k];

			total++;
			if (rec->took_ms > slowest)
				slowest = rec->took_ms;
			if (rec->status == 0) {
				unanswered++;
				if (first_unanswered == NULL)
					first_unanswered = rec;
				continue;
			}
			if (rec->phase == READY_AGAIN &&
			    rec->sent_ms >= ready_again_ms + SETTLE_MS)
				late++;
			if (rec->status == 201) {
				acked++;
				acked_by[rec->phase]++;
				continue;
			}
			failed++;
			failed_by[rec->phase]++;
			if (rec->phase == READY_AGAIN &&
			    rec->sent_ms >= ready_again_ms + SETTLE_MS) {
				late_failures++;
				if (first_late == NULL)
					first_late = rec;
			}
			ck_assert(rec->failed != NULL);
			integ_assert_problem(rec->failed, 503, "unavailable");
			ck_assert_msg(aster_test_header(rec->failed, "Retry-After")
			              != NULL, "503 without Retry-After: %s",
			              rec->failed->body);
		}
	}

	printf("pg_restart: %zu PUTs from %d threads: %zu acknowledged, "
	       "%zu failed (503 unavailable), %zu unanswered; slowest answer "
	       "%llu ms\n", total, THREADS, acked, failed, unanswered,
	       (unsigned long long)slowest);
	for (i = 0; i < PHASES; i++)
		printf("pg_restart:   %-32s %6zu acknowledged %6zu failed\n",
		       phase_names[i], acked_by[i], failed_by[i]);
	printf("pg_restart: outage %llu ms (queue_timeout_ms %d); ready "
	       "during it: %d %s (database %s); ready again %llu ms after the "
	       "restart\n", (unsigned long long)(t_up - t_down),
	       QUEUE_TIMEOUT_MS, outage_ready, outage_st, outage_db,
	       (unsigned long long)(t_ready - t_up));
	fflush(stdout);

	if (unanswered > 0)
		ck_abort_msg("%zu of %zu PUTs got no answer; the first (%s, "
		             "after %llu ms): %s\nasterd stderr:\n%s", unanswered,
		             total, phase_names[first_unanswered->phase],
		             (unsigned long long)first_unanswered->took_ms,
		             first_unanswered->error, aster_test_stderr(t));
	ck_assert_msg(acked_by[BEFORE] > 0, "no PUT succeeded before the "
	              "outage");
	ck_assert_msg(failed > 0, "no PUT failed across a %d ms outage: the "
	              "test proved nothing", OUTAGE_MS);
	ck_assert_msg(outage_ready == 503 && strcmp(outage_st, "unavailable")
	              == 0 && strcmp(outage_db, "unavailable") == 0,
	              "/gateway/v1/ready during the outage: %d, status '%s', "
	              "database '%s'; expected 503 unavailable/unavailable",
	              outage_ready, outage_st, outage_db);
	/* Once ready again, PUTs succeed. fsync is on, so a disk stall
	 * longer than queue_timeout_ms may still fail a few (503 is then
	 * the right answer); more than 1% means the pool did not recover. */
	if (late_failures > 0) {
		printf("pg_restart: %zu of %zu PUTs sent %d ms or more after "
		       "ready failed; the first, sent %llu ms after, answered "
		       "after %llu ms: %s\n", late_failures, late, SETTLE_MS,
		       (unsigned long long)(first_late->sent_ms -
		                            ready_again_ms),
		       (unsigned long long)first_late->took_ms,
		       first_late->failed->body);
		fflush(stdout);
	}
	ck_assert_msg(late_failures * 100 <= late, "%zu of %zu PUTs sent %d "
	              "ms or more after ready was 200 again failed: the store "
	              "did not recover; asterd stderr:\n%s", late_failures,
	              late, SETTLE_MS, aster_test_stderr(t));
	ck_assert_msg(acked_by[READY_AGAIN] > 0, "no PUT succeeded after "
	              "the restart");

	/* new writes succeed */
	{
		struct aster_test_response r;

		ck_assert(one_request(address, io_timeout, "PUT",
		                      "/gateway/v1/internal/state/" NS "/last",
		                      "{\"last\":true}", &r) == 0);
		ck_assert_msg(r.status == 201, "PUT after the restart: %d %s",
		              r.status, r.body);
		aster_test_response_free(&r);
	}

	/* every acknowledged write is there, with its value */
	for (i = 0; i < THREADS; i++)
		ck_assert(pthread_create(&w[i].th, NULL, verifier, &w[i]) == 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(w[i].th, NULL);
	for (i = 0; i < THREADS; i++) {
		checked += w[i].checked;
		missing += w[i].missing;
		wrong += w[i].wrong;
	}
	printf("pg_restart: %zu acknowledged writes read back: %zu missing, "
	       "%zu with another value\n", checked, missing, wrong);
	fflush(stdout);
	for (i = 0; i < THREADS; i++)
		ck_assert_msg(w[i].missing == 0 && w[i].wrong == 0,
		              "writer %d: %zu acknowledged writes missing, %zu "
		              "wrong; first: %s", i, w[i].missing, w[i].wrong,
		              w[i].first_problem);
	ck_assert_int_eq(checked, acked);

	integ_stop(t);
	for (i = 0; i < THREADS; i++) {
		size_t k;

		for (k = 0; k < w[i].n; k++) {
			if (w[i].recs[k].failed != NULL) {
				aster_test_response_free(w[i].recs[k].failed);
				free(w[i].recs[k].failed);
			}
			free(w[i].recs[k].error);
		}
		free(w[i].recs);
	}
	aster_test_pg_free(pg);
	aster_test_remove_tree(dir);
	free(dir);
}
END_TEST

static Suite *
pg_restart_suite(void)
{
	Suite *s = suite_create("pg_restart");
	TCase *tc = tcase_create("fault");

	tcase_set_timeout(tc, scaled_timeout(INTEG_TCASE_TIMEOUT));
	tcase_add_test(tc, test_pg_restart_under_load);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(pg_restart_suite)
