/*
 * test_runtimes_restart.c - a runtime's exits (SPEC 10, 12): the restart
 * policies, the backoff between restarts, a crash loop ending in
 * `failed` and `asterctl restart`, 503 with Retry-After while it is
 * down, a SIGKILL under load. Stops and reloads: test_runtimes_stop.c.
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
	rt_assert_gone(pid, 0, 2000, "the exited process");
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

/* never: a failed process is not restarted; the runtime is failed
 * (SPEC 10 names `stopped` for a runtime that exited cleanly, the
 * supervisor's contract in process/child.h), until asterctl restart. */
START_TEST(test_never_stays_down)
{
	struct rt_conf c = {.restart = "never"};
	struct aster_test_response r;
	struct rt_view v;
	pid_t pid;
	char *out;
	int rc;

	rt_start(&c);
	pid = rt_echo_pid();
	exit_with(4);
	rt_wait_state(&v, "failed", 0, 5000);
	assert_last_exit(&v, "{\"code\":4}");
	ck_assert_int_eq(v.restarts, 0);
	ck_assert_msg(integ_json_str(v.e, "cause") != NULL, "failed without a "
	              "cause: %s", rt_text(v.e));
	rt_view_put(&v);
	assert_stays("failed", 800);
	rt_http("GET", "/rt/x", NULL, NULL, 0, &r);
	integ_assert_problem(&r, 503, "unavailable");
	aster_test_response_free(&r);
	rc = rt_ctl(&out, "restart", RT_MODULE, NULL);
	ck_assert_msg(rc == 0, "asterctl restart: exit %d\n%s", rc, out);
	free(out);
	rt_wait_state(&v, "ready", pid, 5000);
	rt_view_put(&v);
	rt_stop();
}
END_TEST

/* never, and a clean exit: stopped, not failed. */
START_TEST(test_never_clean_exit_stopped)
{
	struct rt_conf c = {.restart = "never"};
	struct rt_view v;

	rt_start(&c);
	exit_with(0);
	rt_wait_state(&v, "stopped", 0, 5000);
	assert_last_exit(&v, "{\"code\":0}");
	rt_view_put(&v);
	assert_stays("stopped", 500);
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
	rt_wait_state(&v, "failed", 0, 5000);
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
	              down[first] <= 3.0 * (100 << (first - 1)) +
	                             aster_test_timeout(300),
	              "restart %d came %.0f ms after its exit, expected about "
	              "%d", first, down[first], 100 << (first - 1));
	ck_assert_msg(down[first + 3] <= 3.0 * (100 << (first + 2)) +
	              aster_test_timeout(300),
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
	uint64_t forwarded;         /* a request this old is at the runtime */
	uint64_t noticed;           /* asterd knows of the death by then */
	pid_t old_pid, new_pid;
	char why[512];
};

/* A request in flight at the kill (sent 50 ms before it at least, so
 * forwarded already, and answered after): 502 bad-gateway. (The margins
 * here grow with aster_test_timeout() for slow runs.) */
static int
in_flight_wrong(const struct outcome *o, void *arg)
{
	struct kill_times *kt = arg;

	if (o->sent + kt->forwarded > kt->kill || o->done < kt->kill)
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

	return o->sent + kt->forwarded <= kt->kill && o->done >= kt->kill;
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
	if (o->sent < kt->kill + kt->noticed)
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
 * delay_ms=400 or longer in slow runs, two quick ones): the requests in
 * flight get 502, later ones 503 with Retry-After until it is back, then
 * 200; it came back by itself, its exit recorded as SIGKILL.
 */
START_TEST(test_killed_under_load)
{
	struct rt_conf c = {.restart = "on-failure"};
	struct killer_client *k = calloc(KILL_CLIENTS, sizeof(*k));
	volatile int stop = 0;
	struct kill_times kt;
	char slow[64];
	struct rt_view v;
	uint64_t end;
	int i, wrong;

	ck_assert(k != NULL);
	memset(&kt, 0, sizeof(kt));
	kt.forwarded = (uint64_t)aster_test_timeout(50);
	kt.noticed = (uint64_t)aster_test_timeout(100);
	/* Long enough to be in flight when the kill comes, forwarded + 50
	 * ms after the request went out. */
	snprintf(slow, sizeof(slow), "/rt/slow?delay_ms=%llu",
	         300 + 2 * (unsigned long long)kt.forwarded);
	rt_start(&c);
	kt.old_pid = rt_echo_pid();
	for (i = 0; i < KILL_CLIENTS; i++) {
		k[i].path = i < 2 ? slow : "/rt/quick";
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
	integ_sleep_ms((unsigned)kt.forwarded + 50);
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

static Suite *
runtimes_restart_suite(void)
{
	Suite *s = suite_create("runtimes_restart");
	TCase *policy = tcase_create("policy");
	TCase *backoff = tcase_create("backoff");

	tcase_set_timeout(policy, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(policy, NULL, rt_teardown);
	tcase_add_test(policy, test_on_failure_restarts_after_error_exit);
	tcase_add_test(policy, test_on_failure_keeps_clean_exit_down);
	tcase_add_test(policy, test_always_restarts_clean_exit);
	tcase_add_test(policy, test_never_stays_down);
	tcase_add_test(policy, test_never_clean_exit_stopped);
	tcase_add_test(policy, test_exit_by_signal_reported);
	tcase_add_test(policy, test_killed_under_load);
	suite_add_tcase(s, policy);

	tcase_set_timeout(backoff, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(backoff, NULL, rt_teardown);
	tcase_add_test(backoff, test_backoff_doubles);
	tcase_add_test(backoff, test_unavailable_while_backing_off);
	tcase_add_test(backoff, test_crash_loop_fails_then_restart);
	suite_add_tcase(s, backoff);

	return s;
}

RT_MAIN(runtimes_restart_suite)
