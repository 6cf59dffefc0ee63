/*
 * test_shutdown.c - SIGTERM drains in-flight requests (SPEC 6).
 *
 * The slow request is a download of a 16 MiB static file that the test
 * reads slowly through a small receive buffer, so asterd still has most
 * of the response to write when SIGTERM arrives.
 */
#include "integ.h"

#include <sys/socket.h>
#include <time.h>

#define BIG_SIZE (16u * 1024 * 1024)

static const char big_request[] =
    "GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n";

struct drain {
	char *dir;
	char env[PATH_MAX + 32];
	const char *envv[2];
	struct aster_test *t;
};

static unsigned char
pattern(size_t i)
{
	return (unsigned char)((i % 251) ^ (i >> 12));
}

/* Index of the first of n bytes read at offset that is not the pattern,
 * or -1. (One check assertion per byte would cost a system call each.) */
static long
mismatch(const unsigned char *buf, long n, size_t offset)
{
	long i;

	for (i = 0; i < n; i++)
		if (buf[i] != pattern(offset + (size_t)i))
			return i;
	return -1;
}

static void
drain_start(struct drain *d, const char *conf)
{
	unsigned char *big = malloc(BIG_SIZE);
	size_t i;

	ck_assert(big != NULL);
	for (i = 0; i < BIG_SIZE; i++)
		big[i] = pattern(i);
	d->dir = integ_tempdir();
	ck_assert(aster_test_write_file(d->dir, "big.bin", (const char *)big,
	                                BIG_SIZE) == 0);
	ck_assert(aster_test_write_file(d->dir, "life.log", "", 0) == 0);
	free(big);
	snprintf(d->env, sizeof(d->env), "ASTER_TEST_STATIC=%s", d->dir);
	d->envv[0] = d->env;
	d->envv[1] = NULL;
	d->t = integ_start(conf, d->envv);
}

static void
drain_done(struct drain *d)
{
	aster_test_free(d->t);
	aster_test_remove_tree(d->dir);
	free(d->dir);
}

/*
 * Starts the big download on a connection with a small receive buffer and
 * reads the head and the first want bytes of the body. Returns the
 * connection; *clen gets the Content-Length, *got the body bytes read
 * (checked against the pattern).
 */
static struct aster_test_conn *
download_begin(struct aster_test *t, size_t want, size_t *clen, size_t *got)
{
	struct aster_test_conn *c = aster_test_connect(t, "public");
	char head[4096];
	size_t hlen = 0;
	char *end = NULL, *cl;
	int small = 16384;

	ck_assert_msg(c != NULL, "%s", aster_test_error(t));
	setsockopt(aster_test_conn_fd(c), SOL_SOCKET, SO_RCVBUF, &small,
	           sizeof(small));
	ck_assert(aster_test_conn_send(c, big_request,
	                               sizeof(big_request) - 1) == 0);
	/* Byte by byte up to the end of the head, so no body byte is
	 * taken here. */
	while (end == NULL) {
		long n;

		ck_assert_msg(hlen < sizeof(head) - 1, "response head too long");
		n = aster_test_conn_read(c, head + hlen, 1, -1);
		ck_assert_msg(n == 1, "reading the response head failed");
		hlen++;
		head[hlen] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	ck_assert_msg(strncmp(head, "HTTP/1.1 200", 12) == 0,
	              "big file: %.40s", head);
	cl = strcasestr(head, "\r\nContent-Length:");
	ck_assert_msg(cl != NULL, "big file without Content-Length:\n%s", head);
	*clen = strtoul(cl + 17, NULL, 10);
	ck_assert_uint_eq(*clen, BIG_SIZE);
	*got = 0;
	while (*got < want) {
		unsigned char buf[16384];
		long n = aster_test_conn_read(c, buf, sizeof(buf), -1), i;

		ck_assert_msg(n > 0, "download broke off after %zu bytes", *got);
		i = mismatch(buf, n, *got);
		ck_assert_msg(i < 0, "wrong byte at %zu", *got + (size_t)i);
		*got += (size_t)n;
	}
	return c;
}

START_TEST(test_drain_completes_in_flight)
{
	struct drain d;
	struct aster_test_conn *c, *late;
	size_t clen, got;
	char life[PATH_MAX], *log;
	int rc;

	drain_start(&d, "drain");
	c = download_begin(d.t, 256 * 1024, &clen, &got);
	ck_assert(aster_test_signal(d.t, SIGTERM) == 0);
	integ_sleep_ms(300);

	/* Still draining: running, modules not stopped yet. */
	ck_assert_msg(aster_test_wait(d.t, 0) == -1,
	              "asterd exited (status %d) with a download in flight",
	              aster_test_wait(d.t, 0));
	snprintf(life, sizeof(life), "%s/life.log", d.dir);
	log = integ_read_file(life);
	ck_assert_msg(strstr(log, "stop files") == NULL,
	              "modules stopped while a request was in flight:\n%s", log);
	free(log);

	/* New connections are refused: the drain closed the listening
	 * socket. Its log line is written just before, so a connection
	 * may still slip in at that instant: try again, briefly. */
	ck_assert_msg(aster_test_wait_stderr(d.t, "stopping: draining",
	              aster_test_timeout(5000)) == 0,
	              "no drain logged after SIGTERM:\n%s",
	              aster_test_stderr(d.t));
	for (rc = 0; rc < 100; rc++) {
		late = aster_test_connect_address(aster_test_address(d.t,
		                                  "public"), 1000);
		if (late == NULL)
			break;
		aster_test_conn_close(late);
		integ_sleep_ms(10);
	}
	ck_assert_msg(late == NULL && errno == ECONNREFUSED,
	              "new connections are still accepted after the drain "
	              "began (%s)", late == NULL ? strerror(errno) :
	              "connected");

	/* The in-flight download completes in full. */
	while (got < clen) {
		unsigned char buf[65536];
		long n = aster_test_conn_read(c, buf, sizeof(buf), -1), i;

		ck_assert_msg(n > 0, "download cut short at %zu of %zu bytes "
		              "during the drain", got, clen);
		i = mismatch(buf, n, got);
		ck_assert_msg(i < 0, "wrong byte at %zu", got + (size_t)i);
		got += (size_t)n;
	}
	aster_test_conn_close(c);

	rc = aster_test_wait(d.t, aster_test_timeout(10000));
	ck_assert_msg(rc == 0, "exit %d after the drain, expected 0; "
	              "stderr:\n%s", rc, aster_test_stderr(d.t));
	integ_assert_clean_log(d.t);
	log = integ_read_file(life);
	ck_assert_msg(strstr(log, "stop files") != NULL,
	              "the module was not stopped:\n%s", log);
	free(log);
	drain_done(&d);
}
END_TEST

START_TEST(test_drain_timeout_cuts_short)
{
	struct drain d;
	struct aster_test_conn *c;
	size_t clen, got;
	uint64_t t0, took;
	int rc;

	drain_start(&d, "drain-timeout");
	c = download_begin(d.t, 64 * 1024, &clen, &got);
	t0 = integ_ms_now();
	ck_assert(aster_test_signal(d.t, SIGTERM) == 0);
	/* Never read again: the drain can only end by its timeout (500). */
	rc = aster_test_wait(d.t, aster_test_timeout(10000));
	took = integ_ms_now() - t0;
	ck_assert_msg(rc == 0, "exit %d after the shutdown timeout, expected "
	              "0; stderr:\n%s", rc, aster_test_stderr(d.t));
	ck_assert_msg(took >= 400, "asterd exited after %llu ms, before the "
	              "500 ms shutdown timeout, with a request in flight",
	              (unsigned long long)took);
	ck_assert_msg(took < (uint64_t)aster_test_timeout(4000),
	              "asterd took %llu ms to stop; shutdown_timeout_ms is "
	              "500", (unsigned long long)took);
	integ_assert_clean_log(d.t);
	aster_test_conn_close(c);
	drain_done(&d);
}
END_TEST

START_TEST(test_idle_connection_does_not_delay_stop)
{
	struct drain d;
	struct aster_test_conn *c;
	struct aster_test_response r;
	uint64_t t0, took;
	int rc;

	drain_start(&d, "drain");
	c = aster_test_connect(d.t, "public");
	ck_assert(c != NULL);
	ck_assert_msg(aster_test_conn_request(c, "GET", "/hello", NULL, NULL, 0,
	              &r) == 0, "%s", r.error);
	ck_assert_int_eq(r.status, 200);
	aster_test_response_free(&r);

	/* The connection is idle now: shutdown must not wait for it (the
	 * shutdown timeout is 20 s). */
	t0 = integ_ms_now();
	ck_assert(aster_test_signal(d.t, SIGTERM) == 0);
	rc = aster_test_wait(d.t, aster_test_timeout(10000));
	took = integ_ms_now() - t0;
	ck_assert_msg(rc == 0, "exit %d, expected 0", rc);
	ck_assert_msg(took < (uint64_t)aster_test_timeout(3000),
	              "an idle keep-alive connection held the stop for %llu ms",
	              (unsigned long long)took);
	ck_assert_msg(aster_test_conn_closed(c, 1000) == 1,
	              "the idle connection is still open after exit");
	integ_assert_clean_log(d.t);
	aster_test_conn_close(c);
	drain_done(&d);
}
END_TEST

static Suite *
shutdown_suite(void)
{
	Suite *s = suite_create("shutdown");
	TCase *tc = tcase_create("drain");

	tcase_set_timeout(tc, INTEG_TCASE_TIMEOUT);
	tcase_add_test(tc, test_drain_completes_in_flight);
	tcase_add_test(tc, test_drain_timeout_cuts_short);
	tcase_add_test(tc, test_idle_connection_does_not_delay_stop);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(shutdown_suite)
