/*
 * test_runtimes_restart.c - a runtime's exits and stops (SPEC 10, 6,
 * 12): the restart policies, the backoff between restarts, a crash loop
 * ending in `failed` and `asterctl restart`, 503 with Retry-After while
 * it is down, a SIGKILL under load, stopping it at shutdown (SIGTERM,
 * then SIGKILL after stop_timeout_ms, requests in flight first) and
 * reloads that keep or replace it.
 *
 * The product and the test runtime are described in runtimes.h. Crash
 * loops run testrt through its wrapper script (rt_conf.wrap): each
 * process exits with 3 soon after it started until the test creates the
 * flag file, after which the next process stays up.
 */
#include "runtimes.h"

/* Asserts rtapp's lastExit is the JSON want (members in any order). */
static void
assert_last_exit(const struct rt_view *v, const char *want)
{
	json_object *w = json_tokener_parse(want), *got = NULL;

	ck_assert(w != NULL);
	json_object_object_get_ex(v->e, "lastExit", &got);
	ck_assert_msg(json_object_equal(got, w), "lastExit %s, expected %s: %s",
	              got != NULL ? rt_text(got) : "null", want, rt_text(v->e));
	json_object_put(w);
}

/* A runtime that stays down: during window_ms, runtimes keeps showing
 * state and no process of it runs. (Watching for something not to
 * happen needs a window.) */
static void
assert_stays(const char *state, int window_ms)
{
	uint64_t end = integ_ms_now() + (uint64_t)window_ms;
	struct rt_view v;

	do {
		rt_view_get(&v);
		ck_assert_msg(strcmp(v.state, state) == 0, "runtime left %s: %s",
		              state, rt_text(v.e));
		rt_view_put(&v);
		ck_assert_msg(rt_tagged_live(NULL) == 0, "a %s runtime has a "
		              "process", state);
		integ_sleep_ms(50);
	} while (integ_ms_now() < end);
}

/* GET /rt/exit?code=N: testrt answers, then exits with N. */
static void
exit_with(int code)
{
	char path[64];
	struct aster_test_response r;

	snprintf(path, sizeof(path), "/rt/exit?code=%d", code);
	rt_get_expect(path, NULL, 200, &r);
	aster_test_response_free(&r);
}

/* --- policies ------------------------------------------------------------- */

START_TEST(test_on_failure_restarts_after_error_exit)
{
	struct rt_conf c = {.restart = "on-failure"};
	struct rt_view v;
	pid_t pid;

	rt_start(&c);
	pid = rt_echo_pid();
	exit_with(3);
	rt_wait_state(&v, "ready", pid, 5000);
	ck_assert_int_eq(v.restarts, 1);
	assert_last_exit(&v, "{\"code\":3}");
	ck_assert_int_eq(rt_echo_pid(), v.pid);
	rt_view_put(&v);
	rt_assert_nothing_left(pid, 2000, "the exited process");
	rt_stop();
}
END_TEST

START_TEST(test_on_failure_keeps_clean_exit_down)
{
	struct rt_conf c = {.restart = "on-failure"};
	struct aster_test_response r;
	struct rt_view v;

	rt_start(&c);
	exit_with(0);
	rt_wait_state(&v, "stopped", 0, 5000);
	assert_last_exit(&v, "{\"code\":0}");
	ck_assert_int_eq(v.restarts, 0);
	ck_assert_msg(v.pid == 0, "a stopped runtime with pid %d", (int)v.pid);
	rt_view_put(&v);
	assert_stays("stopped", 800);
	rt_http("GET", "/rt/x", NULL, NULL, 0, &r);
	integ_assert_problem(&r, 503, "unavailable");
	aster_test_response_free(&r);
	rt_stop();
}
END_TEST

START_TEST(test_always_restarts_clean_exit)
{
	struct rt_conf c = {.restart = "always"};
	struct rt_view v;
	pid_t pid;

	rt_start(&c);
	pid = rt_echo_pid();
	exit_with(0);
	rt_wait_state(&v, "ready", pid, 5000);
	ck_assert_int_eq(v.restarts, 1);
	assert_last_exit(&v, "{\"code\":0}");
	rt_view_put(&v);
	rt_stop();
}
END_TEST

START_TEST(test_never_stays_down)
{
	struct rt_conf c = {.restart = "never"};
	struct aster_test_response r;
	struct rt_view v;

	rt_start(&c);
	exit_with(4);
	rt_wait_state(&v, "stopped", 0, 5000);
	assert_last_exit(&v, "{\"code\":4}");
	ck_assert_int_eq(v.restarts, 0);
	rt_view_put(&v);
	assert_stays("stopped", 800);
	rt_http("GET", "/rt/x", NULL, NULL, 0, &r);
	integ_assert_problem(&r, 503, "unavailable");
	aster_test_response_free(&r);
	rt_stop();
}
END_TEST

/* A death by signal is reported as one, with its name. */
START_TEST(test_exit_by_signal_reported)
{
	struct rt_conf c = {
		.restart = "never",
		.env = {"TESTRT_EXIT_AFTER_MS=300", "TESTRT_EXIT_SIGNAL=SEGV"},
	};
	struct rt_view v;

	rt_start(&c);
	rt_wait_state(&v, "stopped", 0, 5000);
	assert_last_exit(&v, "{\"signal\":11,\"name\":\"SIGSEGV\"}");
	rt_view_put(&v);
	rt_stop();
}
END_TEST

/* --- backoff and failure --------------------------------------------------- */

/* One poll of the control socket's runtimes (no asterctl process: the
 * backoff is measured to a few ms). */
struct sample {
	uint64_t at;
	char state[16];
	pid_t pid;
	long long retry_in;
	long long restarts;
};

static int
sample_now(struct sample *s)
{
	json_object *root = integ_control(E.control,
	                                  "{\"command\":\"runtimes\"}");
	json_object *e = root != NULL ? rt_entry(root, RT_MODULE) : NULL;

	s->at = integ_ms_now();
	if (e == NULL || integ_json_str(e, "state") == NULL) {
		json_object_put(root);
		return -1;
	}
	snprintf(s->state, sizeof(s->state), "%s", integ_json_str(e, "state"));
	s->pid = (pid_t)rt_int(e, "pid", 0);
	s->retry_in = rt_int(e, "retryInMs", -1);
	s->restarts = rt_int(e, "restarts", -1);
	json_object_put(root);
	return 0;
}

/* The first of 4 consecutive restarts measured in have[1..5], or 0. */
static int
four_in_a_row(const int *have)
{
	int first;

	for (first = 1; first + 3 <= 5; first++)
		if (have[first] && have[first + 1] && have[first + 2] &&
		    have[first + 3])
			return first;
	return 0;
}

/*
 * Restart N comes 100 * 2^(N-1) ms after the exit before it: each down
 * time (from the exit, between the last sample that saw the old process
 * and the first that saw it gone, to the first sample with a new pid) at
 * least 1.5 times the one before, the first at about 100 ms. While
 * waiting, retryInMs never exceeds that backoff.
 */
START_TEST(test_backoff_doubles)
{
	struct rt_conf c = {.restart = "on-failure", .wrap = 1, .crash_ms = 150};
	double down[6] = {0};
	int have[6] = {0}, first = 0, r;
	uint64_t last_up = 0, gone_at = 0, end;
	pid_t pid = 0;
	struct sample s;

	rt_start(&c);
	end = integ_ms_now() + (uint64_t)aster_test_timeout(12000);
	while ((first = four_in_a_row(have)) == 0 && integ_ms_now() < end) {
		ck_assert_msg(sample_now(&s) == 0, "control socket: no runtimes "
		              "answer");
		ck_assert_msg(strcmp(s.state, "failed") != 0, "failed before 4 "
		              "restarts in a row were measured");
		if (strcmp(s.state, "backoff") == 0) {
			long long cap = 100LL << (s.restarts < 10 ? s.restarts : 10);

			if (gone_at == 0)
				gone_at = s.at;
			ck_assert_msg(s.retry_in >= 0 && s.retry_in <= cap + 10,
			              "retryInMs %lld before restart %lld, whose "
			              "backoff is %lld ms", s.retry_in,
			              s.restarts + 1, cap);
		} else if (s.pid > 0 && s.pid != pid) {
			r = (int)s.restarts;
			if (pid != 0 && gone_at != 0 && r >= 1 && r <= 5) {
				down[r] = (double)s.at -
				          ((double)last_up + (double)gone_at) / 2;
				have[r] = 1;
			}
			pid = s.pid;
			gone_at = 0;
			last_up = s.at;
		} else if (s.pid == pid) {
			last_up = s.at;
		}
		integ_sleep_ms(2);
	}
	ck_assert_msg(first != 0, "4 restarts in a row not measured in 12 s");
	for (r = first; r < first + 3; r++)
		ck_assert_msg(down[r + 1] >= 1.5 * down[r], "restart %d came "
		              "%.0f ms after its exit, restart %d %.0f ms: no "
		              "doubling", r + 1, down[r + 1], r, down[r]);
	ck_assert_msg(down[first] >= 0.8 * (100 << (first - 1)) &&
	              down[first] <= 3.0 * (100 << (first - 1)) + 300,
	              "restart %d came %.0f ms after its exit, expected about "
	              "%d", first, down[first], 100 << (first - 1));
	ck_assert_msg(down[first + 3] <= 3.0 * (100 << (first + 2)),
	              "restart %d came %.0f ms after its exit, expected about "
	              "%d", first + 3, down[first + 3], 100 << (first + 2));
	rt_stop();
}
END_TEST

/* While it waits to be restarted, its routes answer 503 with the
 * remaining wait in Retry-After. */
START_TEST(test_unavailable_while_backing_off)
{
	struct rt_conf c = {.restart = "on-failure", .wrap = 1, .crash_ms = 150};
	uint64_t end;
	struct sample s;
	int seen = 0;

	rt_start(&c);
	end = integ_ms_now() + (uint64_t)aster_test_timeout(12000);
	/* The fourth backoff is 800 ms: long enough to ask in. */
	while (integ_ms_now() < end) {
		ck_assert(sample_now(&s) == 0);
		ck_assert_msg(strcmp(s.state, "failed") != 0, "failed before "
		              "a long backoff was seen");
		if (strcmp(s.state, "backoff") == 0 && s.retry_in >= 500) {
			struct aster_test_response r;
			long max_s = (long)((s.retry_in + 999) / 1000);

			rt_http("GET", "/rt/x", NULL, NULL, 0, &r);
			rt_assert_unavailable(&r, max_s);
			aster_test_response_free(&r);
			seen = 1;
			break;
		}
		integ_sleep_ms(5);
	}
	ck_assert_msg(seen, "no backoff of 500 ms or more seen");
	rt_stop();
}
END_TEST

/* /ready's modules[id]. */
static void
assert_ready_endpoint(int status, const char *module_state)
{
	struct aster_test_response r;
	json_object *o, *mods;

	rt_get_expect("/gateway/v1/ready", NULL, status, &r);
	o = integ_json(&r);
	ck_assert_msg(json_object_object_get_ex(o, "modules", &mods) &&
	              integ_json_str(mods, RT_MODULE) != NULL &&
	              strcmp(integ_json_str(mods, RT_MODULE), module_state) ==
	              0, "/ready: %s, expected %s %s", r.body, RT_MODULE,
	              module_state);
	json_object_put(o);
	aster_test_response_free(&r);
}

static void
assert_status_runtimes(int total, int ready, int failed)
{
	json_object *o, *rts;
	char *out;
	int rc = rt_ctl(&out, "status", "--json", NULL);

	ck_assert_msg(rc == 0, "asterctl status --json: exit %d\n%s", rc, out);
	o = json_tokener_parse(out);
	ck_assert_msg(o != NULL && json_object_object_get_ex(o, "runtimes",
	              &rts), "status has no runtimes: %s", out);
	ck_assert_msg(rt_int(rts, "total", -1) == total &&
	              rt_int(rts, "ready", -1) == ready &&
	              rt_int(rts, "failed", -1) == failed, "status runtimes: "
	              "%s, expected total %d, ready %d, failed %d",
	              rt_text(rts), total, ready, failed);
	json_object_put(o);
	free(out);
}

/*
 * A runtime that keeps crashing is given up on after 5 restarts: state
 * failed with a cause, the module failed (/ready 503, its routes 503),
 * no process, no more restarts. `asterctl restart` starts it again (it
 * stays up now): ready, the module running, 200.
 */
START_TEST(test_crash_loop_fails_then_restart)
{
	struct rt_conf c = {.restart = "on-failure", .wrap = 1, .crash_ms = 150};
	struct aster_test_response r;
	struct rt_view v;
	char *out;
	int rc;

	rt_start(&c);
	rt_wait_state(&v, "failed", 0, 15000);
	ck_assert_msg(v.restarts == 5, "failed after %lld restarts, expected 5: "
	              "%s", v.restarts, rt_text(v.e));
	ck_assert_msg(integ_json_str(v.e, "cause") != NULL &&
	              *integ_json_str(v.e, "cause") != '\0', "failed without a "
	              "cause: %s", rt_text(v.e));
	assert_last_exit(&v, "{\"code\":3}");
	ck_assert_msg(v.pid == 0, "a failed runtime with pid %d", (int)v.pid);
	ck_assert_msg(!json_object_object_get_ex(v.e, "retryInMs", NULL),
	              "a failed runtime waits for a retry: %s", rt_text(v.e));
	rt_view_put(&v);
	assert_ready_endpoint(503, "failed");
	rt_http("GET", "/rt/x", NULL, NULL, 0, &r);
	integ_assert_problem(&r, 503, "unavailable");
	aster_test_response_free(&r);
	assert_status_runtimes(1, 0, 1);
	assert_stays("failed", 1000);

	/* It will stay up now. */
	ck_assert(aster_test_write_file(E.run, "stay-up", "", 0) == 0);
	rc = rt_ctl(&out, "restart", RT_MODULE, NULL);
	ck_assert_msg(rc == 0, "asterctl restart %s: exit %d\n%s", RT_MODULE,
	              rc, out);
	free(out);
	rt_wait_state(&v, "ready", 0, 5000);
	ck_assert_msg(v.restarts == 0, "restarts %lld after asterctl restart",
	              v.restarts);
	ck_assert_int_eq(rt_echo_pid(), v.pid);
	rt_view_put(&v);
	assert_ready_endpoint(200, "running");
	assert_status_runtimes(1, 1, 0);
	rt_stop();
}
END_TEST

/* --- killed under load ------------------------------------------------------ */

#define KILL_CLIENTS 4
#define KILL_EVENTS 4096

struct outcome {
	uint64_t sent, done;
	int status;
	int retry_after;            /* -1: none or not a whole number */
	char code[24];              /* problem code, "" for none */
	pid_t pid;                  /* testrt's, for a 200 */
};

struct killer_client {
	const char *path;
	volatile int *stop;
	pthread_t th;
	int n;
	struct outcome ev[KILL_EVENTS];
};

static void *
killer_client_main(void *arg)
{
	struct killer_client *k = arg;

	while (!*k->stop && k->n < KILL_EVENTS) {
		struct outcome *o = &k->ev[k->n++];
		struct aster_test_response r;
		json_object *j;

		memset(o, 0, sizeof(*o));
		o->retry_after = -1;
		o->sent = integ_ms_now();
		if (rt_http("GET", k->path, NULL, NULL, 0, &r) != 0)
			o->status = 0;
		else
			o->status = r.status;
		o->done = integ_ms_now();
		if (aster_test_header(&r, "Retry-After") != NULL) {
			char *end;
			long s = strtol(aster_test_header(&r, "Retry-After"), &end,
			                10);

			if (*end == '\0' && s >= 0)
				o->retry_after = (int)s;
		}
		j = r.body != NULL ? json_tokener_parse(r.body) : NULL;
		if (j != NULL && json_object_is_type(j, json_type_object)) {
			if (integ_json_str(j, "code") != NULL)
				snprintf(o->code, sizeof(o->code), "%s",
				         integ_json_str(j, "code"));
			o->pid = (pid_t)rt_int(j, "pid", 0);
		}
		json_object_put(j);
		aster_test_response_free(&r);
	}
	return NULL;
}

/* How many outcomes of every client satisfy pred. */
static int
count_outcomes(struct killer_client *k, int (*pred)(const struct outcome *,
               void *), void *arg)
{
	int i, j, n = 0;

	for (i = 0; i < KILL_CLIENTS; i++)
		for (j = 0; j < k[i].n; j++)
			n += pred(&k[i].ev[j], arg) != 0;
	return n;
}

static int
is_new_200(const struct outcome *o, void *arg)
{
	return o->status == 200 && o->pid == *(pid_t *)arg;
}

struct kill_times {
	uint64_t kill, back;
	pid_t old_pid, new_pid;
	char why[512];
};

/* A request in flight at the kill (sent 50 ms before it at least, so
 * forwarded already, and answered after): 502 bad-gateway. */
static int
in_flight_wrong(const struct outcome *o, void *arg)
{
	struct kill_times *kt = arg;

	if (o->sent + 50 > kt->kill || o->done < kt->kill)
		return 0;
	if (o->status == 502 && strcmp(o->code, "bad-gateway") == 0)
		return 0;
	snprintf(kt->why, sizeof(kt->why), "in flight at the kill (sent %llu "
	         "ms before): %d %s", (unsigned long long)(kt->kill - o->sent),
	         o->status, o->code);
	return 1;
}

static int
in_flight(const struct outcome *o, void *arg)
{
	struct kill_times *kt = arg;

	return o->sent + 50 <= kt->kill && o->done >= kt->kill;
}

/* Sent once asterd knew (100 ms after the kill) and before it was back:
 * 503 unavailable with Retry-After; after it was back: 200 from the new
 * process. */
static int
later_wrong(const struct outcome *o, void *arg)
{
	struct kill_times *kt = arg;

	if (o->sent >= kt->back) {
		if (o->status == 200 && o->pid == kt->new_pid)
			return 0;
		snprintf(kt->why, sizeof(kt->why), "sent %llu ms after the "
		         "runtime was back: %d %s (pid %d, new %d)",
		         (unsigned long long)(o->sent - kt->back), o->status,
		         o->code, (int)o->pid, (int)kt->new_pid);
		return 1;
	}
	if (o->sent < kt->kill + 100)
		return 0;
	if (o->status == 200 && o->pid == kt->new_pid)
		return 0;       /* back before runtimes said so */
	if (o->status == 503 && strcmp(o->code, "unavailable") == 0 &&
	    o->retry_after >= 1)
		return 0;
	snprintf(kt->why, sizeof(kt->why), "sent %llu ms after the kill, "
	         "while down: %d %s, Retry-After %d",
	         (unsigned long long)(o->sent - kt->kill), o->status, o->code,
	         o->retry_after);
	return 1;
}

/* Every answer is 200, 502 or 503: nothing else, never none. */
static int
odd_status(const struct outcome *o, void *arg)
{
	struct kill_times *kt = arg;

	if (o->status == 200 || o->status == 502 || o->status == 503)
		return 0;
	snprintf(kt->why, sizeof(kt->why), "sent %lld ms from the kill: "
	         "status %d %s", (long long)o->sent - (long long)kt->kill,
	         o->status, o->code);
	return 1;
}

static int
is_503(const struct outcome *o, void *arg)
{
	(void)arg;
	return o->status == 503;
}

static int
before_kill_wrong(const struct outcome *o, void *arg)
{
	struct kill_times *kt = arg;

	if (o->done >= kt->kill)
		return 0;
	if (o->status == 200 && o->pid == kt->old_pid)
		return 0;
	snprintf(kt->why, sizeof(kt->why), "before the kill: %d %s", o->status,
	         o->code);
	return 1;
}

/*
 * SIGKILL to the runtime while clients send requests (two slow ones,
 * delay_ms=400, two quick ones): the requests in flight get 502, later
 * ones 503 with Retry-After until it is back, then 200; it came back by
 * itself, its exit recorded as SIGKILL.
 */
START_TEST(test_killed_under_load)
{
	struct rt_conf c = {.restart = "on-failure"};
	struct killer_client *k = calloc(KILL_CLIENTS, sizeof(*k));
	volatile int stop = 0;
	struct kill_times kt;
	struct rt_view v;
	uint64_t end;
	int i, wrong;

	ck_assert(k != NULL);
	memset(&kt, 0, sizeof(kt));
	rt_start(&c);
	kt.old_pid = rt_echo_pid();
	for (i = 0; i < KILL_CLIENTS; i++) {
		k[i].path = i < 2 ? "/rt/slow?delay_ms=400" : "/rt/quick";
		k[i].stop = &stop;
		ck_assert(pthread_create(&k[i].th, NULL, killer_client_main,
		                         &k[i]) == 0);
	}
	/* Until both slow clients had an answer: they are in their second
	 * request, in flight. */
	end = integ_ms_now() + (uint64_t)aster_test_timeout(5000);
	while ((k[0].n < 2 || k[1].n < 2) && integ_ms_now() < end)
		integ_sleep_ms(10);
	ck_assert_msg(k[0].n >= 2 && k[1].n >= 2, "the slow clients got no "
	              "answer in 5 s");
	integ_sleep_ms(100);
	kt.kill = integ_ms_now();
	ck_assert(kill(kt.old_pid, SIGKILL) == 0);

	rt_wait_state(&v, "ready", kt.old_pid, 5000);
	kt.back = integ_ms_now();
	kt.new_pid = v.pid;
	ck_assert_int_eq(v.restarts, 1);
	assert_last_exit(&v, "{\"signal\":9,\"name\":\"SIGKILL\"}");
	rt_view_put(&v);
	/* Until every client had an answer from the new process. */
	end = integ_ms_now() + (uint64_t)aster_test_timeout(5000);
	for (;;) {
		int all = 1;

		for (i = 0; i < KILL_CLIENTS; i++)
			all &= k[i].n > 0 && k[i].ev[k[i].n - 1].pid == kt.new_pid
			       && k[i].ev[k[i].n - 1].done > 0;
		if (all || integ_ms_now() >= end)
			break;
		integ_sleep_ms(20);
	}
	stop = 1;
	for (i = 0; i < KILL_CLIENTS; i++)
		pthread_join(k[i].th, NULL);

	wrong = count_outcomes(k, odd_status, &kt);
	ck_assert_msg(wrong == 0, "%d wrong answers, e.g. %s", wrong, kt.why);
	wrong = count_outcomes(k, before_kill_wrong, &kt);
	ck_assert_msg(wrong == 0, "%d wrong answers, e.g. %s", wrong, kt.why);
	ck_assert_msg(count_outcomes(k, in_flight, &kt) >= 1, "no request was "
	              "in flight at the kill");
	wrong = count_outcomes(k, in_flight_wrong, &kt);
	ck_assert_msg(wrong == 0, "%d wrong answers, e.g. %s", wrong, kt.why);
	wrong = count_outcomes(k, later_wrong, &kt);
	ck_assert_msg(wrong == 0, "%d wrong answers, e.g. %s", wrong, kt.why);
	ck_assert_msg(count_outcomes(k, is_503, NULL) >= 1, "no 503 while the "
	              "runtime was down");
	ck_assert_msg(count_outcomes(k, is_new_200, &kt.new_pid) >= 1, "no 200 "
	              "from the new process");
	free(k);
	rt_stop();
}
END_TEST

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
	ck_assert_msg(died - t0 < 3000, "the runtime died %llu ms after the "
	              "stop, stop_timeout_ms is 500",
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

static Suite *
runtimes_restart_suite(void)
{
	Suite *s = suite_create("runtimes_restart");
	TCase *policy = tcase_create("policy");
	TCase *backoff = tcase_create("backoff");
	TCase *stop = tcase_create("stop");
	TCase *reload = tcase_create("reload");

	tcase_set_timeout(policy, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(policy, NULL, rt_teardown);
	tcase_add_test(policy, test_on_failure_restarts_after_error_exit);
	tcase_add_test(policy, test_on_failure_keeps_clean_exit_down);
	tcase_add_test(policy, test_always_restarts_clean_exit);
	tcase_add_test(policy, test_never_stays_down);
	tcase_add_test(policy, test_exit_by_signal_reported);
	tcase_add_test(policy, test_killed_under_load);
	suite_add_tcase(s, policy);

	tcase_set_timeout(backoff, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(backoff, NULL, rt_teardown);
	tcase_add_test(backoff, test_backoff_doubles);
	tcase_add_test(backoff, test_unavailable_while_backing_off);
	tcase_add_test(backoff, test_crash_loop_fails_then_restart);
	suite_add_tcase(s, backoff);

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
	tcase_add_test(reload, test_reload_restarts_changed_runtime_under_load);
	suite_add_tcase(s, reload);
	return s;
}

RT_MAIN(runtimes_restart_suite)
