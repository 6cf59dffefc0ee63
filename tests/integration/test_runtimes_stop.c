/*
 * test_runtimes_stop.c - a runtime stopped and replaced (SPEC 10, 6):
 * at shutdown (SIGTERM to its group, SIGKILL after stop_timeout_ms,
 * requests in flight first, nothing left behind) and by reloads that
 * keep it (same pid) or replace it (new pid, no failed request to
 * another module meanwhile).
 *
 * The product and the test runtime are described in runtimes.h.
 */
#include "runtimes.h"

/* --- stopping ------------------------------------------------------------- */

/* Polls until pid is no longer a live process; its time (the loop's
 * clock), or 0 when it lives on past timeout_ms. */
static uint64_t
wait_dead(pid_t pid, int timeout_ms)
{
	uint64_t end = integ_ms_now() + (uint64_t)timeout_ms;

	while (integ_ms_now() < end) {
		if (!rt_proc_live(pid))
			return integ_loop_ms_now();
		integ_sleep_ms(2);
	}
	return 0;
}

/* Live processes of pid's group. */
static int
group_size(pid_t pgid)
{
	return rt_group_live(pgid, NULL);
}

/* The grandchild testrt forked (TESTRT_GRANDCHILD=1), from /rt/fds;
 * alive, in the runtime's group. */
static pid_t
grandchild_of(pid_t pid)
{
	json_object *o = rt_echo("/rt/fds", NULL);
	pid_t gc = (pid_t)rt_int(o, "grandchild", 0), pg = 0;

	ck_assert_msg(gc > 0, "testrt names no grandchild: %s", rt_text(o));
	json_object_put(o);
	ck_assert_msg(rt_proc_live(gc) && rt_proc_stat(gc, &pg) != 0 &&
	              pg == pid, "the grandchild %d is not alive in group %d",
	              (int)gc, (int)pid);
	return gc;
}

/*
 * A runtime that ignores SIGTERM is sent SIGTERM, then killed
 * stop_timeout_ms (500) after the stop began; asterd exits 0 and no
 * process of the group remains (with a grandchild when grandchild is
 * set).
 */
static void
stop_escalates(int grandchild)
{
	struct rt_conf c = {
		.stop_timeout_ms = 500,
		.env = {"TESTRT_IGNORE_TERM=1",
		        grandchild ? "TESTRT_GRANDCHILD=1" : NULL},
	};
	uint64_t t0, died;
	pid_t pid, gc = 0;
	char *line;
	int rc;

	rt_start(&c);
	pid = rt_echo_pid();
	if (grandchild)
		gc = grandchild_of(pid);
	t0 = integ_loop_ms_now();
	ck_assert(aster_test_signal(E.t, SIGTERM) == 0);
	died = wait_dead(pid, aster_test_timeout(5000));
	ck_assert_msg(died != 0, "the runtime lives 5 s after SIGTERM");
	ck_assert_msg(died - t0 >= 480, "the runtime ignoring SIGTERM died "
	              "%llu ms after the stop, before stop_timeout_ms 500",
	              (unsigned long long)(died - t0));
	ck_assert_msg(died - t0 < (uint64_t)aster_test_timeout(3000), "the "
	              "runtime died %llu ms after the stop, stop_timeout_ms "
	              "is 500",
	              (unsigned long long)(died - t0));
	rc = aster_test_wait(E.t, aster_test_timeout(5000));
	ck_assert_msg(rc == 0, "asterd exited with %d, expected 0; stderr:\n%s",
	              rc, aster_test_stderr(E.t));
	integ_assert_clean_log(E.t);
	/* SIGTERM came first. */
	line = rt_log_line("runtime=" RT_MODULE " ", "testrt ignoring SIGTERM",
	                   NULL);
	ck_assert_msg(line != NULL, "the runtime never got SIGTERM:\n%s",
	              aster_test_stderr(E.t));
	free(line);
	rt_assert_nothing_left(pid, 2000, "after shutdown");
	if (gc > 0)
		ck_assert_msg(!rt_proc_live(gc), "the grandchild %d lives on",
		              (int)gc);
}

START_TEST(test_stop_escalates_to_sigkill)
{
	stop_escalates(0);
}
END_TEST

START_TEST(test_stop_kills_the_whole_group)
{
	stop_escalates(1);
}
END_TEST

/*
 * A request in flight to the runtime when SIGTERM arrives gets its
 * answer before the runtime is stopped. The runtime ignores SIGTERM and
 * is killed 300 ms after its stop begins, so a stop begun before the
 * 800 ms answer was out would cut it off.
 */
START_TEST(test_stop_finishes_in_flight)
{
	static const char req[] = "GET /rt/slow?delay_ms=800 HTTP/1.1\r\n"
	                          "Host: x\r\nConnection: close\r\n\r\n";
	struct rt_conf c = {
		.stop_timeout_ms = 300,
		.env = {"TESTRT_IGNORE_TERM=1"},
	};
	struct aster_test_conn *conn;
	struct aster_test_response r;
	json_object *o;
	uint64_t sent;
	pid_t pid;
	int rc;

	rt_start(&c);
	pid = rt_echo_pid();
	conn = aster_test_connect_address(E.public_addr,
	                                  aster_test_timeout(10000));
	ck_assert(conn != NULL);
	sent = integ_ms_now();
	ck_assert(aster_test_conn_send(conn, req, sizeof(req) - 1) == 0);
	/* Nothing tells from outside when asterd has forwarded it; 200 ms
	 * is ample on loopback, and the answer takes 800. */
	integ_sleep_ms(200);
	ck_assert(aster_test_signal(E.t, SIGTERM) == 0);
	ck_assert(aster_test_conn_read_response(conn, 0, &r) == 0);
	ck_assert_msg(r.status == 200, "the request in flight at SIGTERM: %d "
	              "%s", r.status, r.body);
	ck_assert_msg(integ_ms_now() - sent >= 750, "answered before its "
	              "delay");
	o = integ_json(&r);
	ck_assert_int_eq(rt_int(o, "pid", 0), pid);
	json_object_put(o);
	aster_test_response_free(&r);
	aster_test_conn_close(conn);
	rc = aster_test_wait(E.t, aster_test_timeout(5000));
	ck_assert_msg(rc == 0, "asterd exited with %d, expected 0; stderr:\n%s",
	              rc, aster_test_stderr(E.t));
	integ_assert_clean_log(E.t);
	rt_assert_nothing_left(pid, 2000, "after shutdown");
}
END_TEST

/* Shutdown stops the runtime (and its grandchild) politely: exit 0,
 * nothing left. */
START_TEST(test_shutdown_leaves_no_process)
{
	struct rt_conf c = {.env = {"TESTRT_GRANDCHILD=1"}};
	pid_t pid, gc;
	char *line;
	int rc;

	rt_start(&c);
	pid = rt_echo_pid();
	gc = grandchild_of(pid);
	rc = aster_test_stop(E.t);
	ck_assert_msg(rc == 0, "asterd exited with %d, expected 0; stderr:\n%s",
	              rc, aster_test_stderr(E.t));
	integ_assert_clean_log(E.t);
	line = rt_log_line("runtime=" RT_MODULE " ", "testrt stopping pid=",
	                   NULL);
	ck_assert_msg(line != NULL, "the runtime was not stopped with "
	              "SIGTERM:\n%s", aster_test_stderr(E.t));
	free(line);
	rt_assert_nothing_left(pid, 2000, "after shutdown");
	ck_assert_msg(!rt_proc_live(gc), "the grandchild %d lives on", (int)gc);
}
END_TEST

/* --- reloads ---------------------------------------------------------------- */

/* Polls GET path until its body is want, at most timeout_ms. */
static void
wait_body(const char *path, const char *want, int timeout_ms)
{
	uint64_t end = integ_ms_now() + (uint64_t)aster_test_timeout(timeout_ms);
	struct aster_test_response r;

	for (;;) {
		int ok = rt_http("GET", path, NULL, NULL, 0, &r) == 0 &&
		         r.status == 200 && strcmp(r.body, want) == 0;

		if (ok) {
			aster_test_response_free(&r);
			return;
		}
		if (integ_ms_now() >= end)
			ck_abort_msg("GET %s: %d '%s', expected '%s' after the "
			             "reload; stderr:\n%s", path, r.status, r.body,
			             want, aster_test_stderr(E.t));
		aster_test_response_free(&r);
		integ_sleep_ms(20);
	}
}

/* A reload that changes another module keeps the runtime's process. */
START_TEST(test_reload_keeps_unchanged_runtime)
{
	struct rt_view v;
	pid_t pid;

	rt_start(NULL);
	pid = rt_echo_pid();
	rt_write_plain("plain two");
	ck_assert(aster_test_signal(E.t, SIGHUP) == 0);
	wait_body("/plain", "plain two", 5000);
	rt_view_get(&v);
	ck_assert_msg(strcmp(v.state, "ready") == 0 && v.pid == pid &&
	              v.restarts == 0, "after a reload that did not touch it "
	              "(pid was %d): %s", (int)pid, rt_text(v.e));
	rt_view_put(&v);
	ck_assert_int_eq(rt_echo_pid(), pid);
	ck_assert(rt_proc_live(pid));
	rt_stop();
}
END_TEST

/* The runtime's PUT on its gateway socket with pad bytes: the status
 * asterd answered it. */
static int
gateway_put_status(int pad)
{
	char path[64];
	json_object *o;
	int status;

	snprintf(path, sizeof(path), "/rt/state?pad=%d", pad);
	o = rt_echo(path, NULL);
	status = (int)rt_int(o, "gatewayStatus", 0);
	json_object_put(o);
	return status;
}

/* The gateway socket follows the product's limits, also those a reload
 * brings, as the listeners do (and the runtime keeps its process). */
START_TEST(test_reload_limits_reach_gateway)
{
	char path[PATH_MAX];
	char *product, *at;
	uint64_t end;
	int status;

	rt_start(NULL);
	ck_assert_int_eq(gateway_put_status(4096), 201);
	snprintf(path, sizeof(path), "%s/product.yaml", E.dir);
	product = integ_read_file(path);
	ck_assert(product != NULL);
	at = strstr(product, "max_body_bytes: 8388608");
	ck_assert(at != NULL);
	memcpy(at, "max_body_bytes:    1024", 23);
	ck_assert(aster_test_write_file(E.dir, "product.yaml", product, -1) ==
	          0);
	free(product);
	ck_assert(aster_test_signal(E.t, SIGHUP) == 0);
	end = integ_ms_now() + (uint64_t)aster_test_timeout(5000);
	while ((status = gateway_put_status(4096)) != 413 &&
	       integ_ms_now() < end)
		integ_sleep_ms(50);
	ck_assert_msg(status == 413, "a 4 KiB body on the gateway after "
	              "max_body_bytes became 1024: %d", status);
	ck_assert_int_eq(gateway_put_status(100), 200);
	rt_stop();
}
END_TEST

/* Whether the runtime sees TESTRT_GREETING=want. */
static int
greeting_is(const char *want)
{
	struct aster_test_response r;
	json_object *o, *env;
	int same = 0;

	if (rt_http("GET", "/rt/fds", NULL, NULL, 0, &r) == 0 &&
	    r.status == 200) {
		o = json_tokener_parse(r.body);
		if (o != NULL && json_object_object_get_ex(o, "env", &env) &&
		    integ_json_str(env, "TESTRT_GREETING") != NULL)
			same = strcmp(integ_json_str(env, "TESTRT_GREETING"), want) ==
			       0;
		json_object_put(o);
	}
	aster_test_response_free(&r);
	return same;
}

/* A reload that changes the runtime's module replaces its process (new
 * pid, new environment, the old group gone) while another module's
 * route, under load all along, never fails. */
START_TEST(test_reload_restarts_changed_runtime_under_load)
{
	struct rt_conf c = {.env = {"TESTRT_GREETING=one"}};
	struct rt_load load[2];
	volatile int stop = 0;
	struct rt_view v;
	uint64_t end;
	pid_t pid;
	int i;

	rt_start(&c);
	pid = rt_echo_pid();
	for (i = 0; i < 2; i++) {
		memset(&load[i], 0, sizeof(load[i]));
		load[i].path = "/plain";
		load[i].body = "plain";
		load[i].stop = &stop;
		ck_assert(pthread_create(&load[i].th, NULL, rt_load_main,
		                         &load[i]) == 0);
	}
	integ_sleep_ms(200);
	E.conf.env[0] = "TESTRT_GREETING=two";
	rt_write_module();
	ck_assert(aster_test_signal(E.t, SIGHUP) == 0);
	end = integ_ms_now() + (uint64_t)aster_test_timeout(8000);
	while (!greeting_is("two") && integ_ms_now() < end)
		integ_sleep_ms(20);
	integ_sleep_ms(200);
	stop = 1;
	for (i = 0; i < 2; i++)
		pthread_join(load[i].th, NULL);
	ck_assert_msg(greeting_is("two"), "the runtime does not see the new "
	              "env 8 s after the reload; stderr:\n%s",
	              aster_test_stderr(E.t));
	for (i = 0; i < 2; i++)
		ck_assert_msg(load[i].failed == 0, "client %d: %ld of %ld "
		              "requests to /plain failed across the reload, "
		              "first: %s", i, load[i].failed,
		              load[i].ok + load[i].failed, load[i].first);
	ck_assert_msg(load[0].ok + load[1].ok >= 50, "only %ld requests ran",
	              load[0].ok + load[1].ok);
	rt_view_get(&v);
	ck_assert_msg(strcmp(v.state, "ready") == 0 && v.pid != pid,
	              "after the reload (pid was %d): %s", (int)pid,
	              rt_text(v.e));
	ck_assert_int_eq(rt_echo_pid(), v.pid);
	rt_view_put(&v);
	ck_assert_msg(group_size(pid) == 0, "the old runtime's group lives on");
	rt_stop();
}
END_TEST

/* A failed runtime stays failed until a reload (or asterctl restart):
 * a reload, even of an unchanged config, starts it again. */
START_TEST(test_reload_restarts_failed_runtime)
{
	struct rt_conf c = {.restart = "on-failure", .wrap = 1, .crash_ms = 150};
	struct aster_test_response r;
	struct rt_view v;

	rt_start(&c);
	rt_wait_state(&v, "failed", 0, 15000);
	rt_view_put(&v);
	ck_assert(aster_test_write_file(E.run, "stay-up", "", 0) == 0);
	ck_assert(aster_test_signal(E.t, SIGHUP) == 0);
	rt_wait_state(&v, "ready", 0, 5000);
	ck_assert_int_eq(rt_echo_pid(), v.pid);
	rt_view_put(&v);
	rt_get_expect("/gateway/v1/ready", NULL, 200, &r);
	aster_test_response_free(&r);
	rt_stop();
}
END_TEST

static Suite *
runtimes_stop_suite(void)
{
	Suite *s = suite_create("runtimes_stop");
	TCase *stop = tcase_create("stop");
	TCase *reload = tcase_create("reload");

	tcase_set_timeout(stop, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(stop, NULL, rt_teardown);
	tcase_add_test(stop, test_stop_escalates_to_sigkill);
	tcase_add_test(stop, test_stop_kills_the_whole_group);
	tcase_add_test(stop, test_stop_finishes_in_flight);
	tcase_add_test(stop, test_shutdown_leaves_no_process);
	suite_add_tcase(s, stop);

	tcase_set_timeout(reload, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(reload, NULL, rt_teardown);
	tcase_add_test(reload, test_reload_keeps_unchanged_runtime);
	tcase_add_test(reload, test_reload_limits_reach_gateway);
	tcase_add_test(reload, test_reload_restarts_changed_runtime_under_load);
	tcase_add_test(reload, test_reload_restarts_failed_runtime);
	suite_add_tcase(s, reload);
	return s;
}

RT_MAIN(runtimes_stop_suite)
