/*
 * test_child.c - supervised child processes (SPEC §10) with real
 * children: /bin/sh scripts and python3 one-liners that report READY=1
 * on their notify socket or listen on a Unix socket, crash, ignore
 * SIGTERM, leave grandchildren behind or flood their output. Each test
 * runs an event base until what it waits for happens, within a bound,
 * and asserts on what the changed callback saw, on child_view(), on
 * /proc and on the log lines (stderr redirected into a file).
 */
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "process/child.h"
#include "process/child_log.h"
#include "util/escape.h"

#define MAX_SEEN 64

static struct event_base *base;
static struct supervisor *sup;
static char dir[64];
static char notify_path[128];
static char ready_path[128];
static char log_path[128];
static char notify_env[160];
static char ready_env[160];
static int saved_stderr = -1;

static const char *const env[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin",
	notify_env,
	ready_env,
	NULL,
};

/* A python3 statement sending msg (a bytes literal) to NOTIFY_SOCKET. */
#define PY_NOTIFY(msg) "import socket, os, time; " \
	"s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); " \
	"s.sendto(" msg ", os.environ['NOTIFY_SOCKET']); "

/* python3 code that reports READY=1 and sleeps. */
#define PY_READY PY_NOTIFY("b'READY=1'") "time.sleep(30)"

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* How early on now_ms()'s clock a libevent timer may fire: libevent
 * runs its timers on CLOCK_MONOTONIC_COARSE (unless a base asks for
 * precise timers, which asterd's does not), one tick of which this is. */
static uint64_t
timer_slack_ms(void)
{
	struct timespec res;

	ck_assert_int_eq(clock_getres(CLOCK_MONOTONIC_COARSE, &res), 0);
	return (uint64_t)res.tv_sec * 1000u +
	    ((uint64_t)res.tv_nsec + 999999u) / 1000000u;
}

/* The time the loop's timers count from: the iteration's start. */
static uint64_t
loop_ms(void)
{
	struct timeval tv;

	event_base_gettimeofday_cached(base, &tv);
	return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/aster-child-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(notify_path, sizeof(notify_path), "%s/notify", dir);
	snprintf(ready_path, sizeof(ready_path), "%s/http.sock", dir);
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
	snprintf(notify_env, sizeof(notify_env), "NOTIFY_SOCKET=%s",
	         notify_path);
	snprintf(ready_env, sizeof(ready_env), "SOCK=%s", ready_path);
	log_configure("text", "info", 1);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	sup = supervisor_new(base);
	ck_assert_ptr_nonnull(sup);
}

static void
remove_in_dir(const char *name)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static void
teardown(void)
{
	if (saved_stderr >= 0) {
		log_detach();
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		saved_stderr = -1;
	}
	supervisor_free(sup);
	sup = NULL;
	event_base_free(base);
	base = NULL;
	remove_in_dir("notify");
	remove_in_dir("http.sock");
	remove_in_dir("log");
	remove_in_dir("run.sh");
	remove_in_dir("mark");
	rmdir(dir);
}

/* --- the log, captured ---------------------------------------------- */

static void
capture_start(void)
{
	int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	              0600);

	ck_assert_int_ge(fd, 0);
	saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	log_attach();       /* as asterd runs: lines written off the loop */
}

/* What was logged so far (NUL-terminated, the caller frees it). */
static char *
captured(void)
{
	FILE *f;
	char *buf;
	long n;

	ck_assert_int_eq(log_flush(2000), 0);
	f = fopen(log_path, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static size_t
count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* --- watching a child ------------------------------------------------ */

struct watch {
	struct child *c;            /* NULL once stopped */
	int n;                      /* changes seen */
	enum child_state old[MAX_SEEN], now[MAX_SEEN];
	uint64_t at[MAX_SEEN];
	uint64_t loop_at[MAX_SEEN];     /* on the loop's clock, which the
	                                   timers run on */
	char cause[MAX_SEEN][200];
	int stop_on;                /* child_stop() on reaching it, or -1 */
	int restart_on;             /* child_restart() once on it, or -1 */
	int restart_rc;
	int gone;
	uint64_t gone_at;
	uint64_t started_at;
};

static void
on_gone(void *arg)
{
	struct watch *w = arg;

	w->gone++;
	w->gone_at = now_ms();
}

static void
on_changed(struct child *c, enum child_state old, void *arg)
{
	struct watch *w = arg;
	struct child_view v;

	ck_assert_ptr_eq(c, w->c);
	child_view(c, &v);
	ck_assert_int_lt(w->n, MAX_SEEN);
	w->old[w->n] = old;
	w->now[w->n] = v.state;
	w->at[w->n] = now_ms();
	w->loop_at[w->n] = loop_ms();
	snprintf(w->cause[w->n], sizeof(w->cause[0]), "%s",
	         v.cause != NULL ? v.cause : "");
	w->n++;
	if ((int)v.state == w->restart_on) {
		w->restart_on = -1;
		w->restart_rc = child_restart(c);
	} else if ((int)v.state == w->stop_on) {
		child_stop(c, on_gone, w);
		w->c = NULL;
	}
}

static void
watch_init(struct watch *w)
{
	memset(w, 0, sizeof(*w));
	w->stop_on = -1;
	w->restart_on = -1;
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Runs the loop until done(arg) or timeout_ms passed: done's answer. */
static int
run_until(int (*done)(void *), void *arg, unsigned timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;
	struct event *t = event_new(base, -1, EV_PERSIST, tick, NULL);
	struct timeval tv = {0, 5000};
	int ok;

	ck_assert_ptr_nonnull(t);
	event_add(t, &tv);
	while (!(ok = done(arg)) && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	return ok;
}

static int
never_done(void *arg)
{
	(void)arg;
	return 0;
}

static void
run_for(unsigned ms)
{
	run_until(never_done, NULL, ms);
}

struct want {
	struct watch *w;
	int n;
};

static int
seen_n(void *arg)
{
	struct want *x = arg;

	return x->w->n >= x->n;
}

/* Runs until w saw n changes, within timeout_ms. */
static void
wait_changes(struct watch *w, int n, unsigned timeout_ms)
{
	struct want x = {w, n};

	ck_assert_msg(run_until(seen_n, &x, timeout_ms),
	              "saw %d changes, waited for %d", w->n, n);
}

static int
is_gone(void *arg)
{
	return ((struct watch *)arg)->gone > 0;
}

static void
wait_gone(struct watch *w, unsigned timeout_ms)
{
	ck_assert_msg(run_until(is_gone, w, timeout_ms), "not gone in time");
	ck_assert_int_eq(w->gone, 1);
}

static void
stop(struct watch *w)
{
	ck_assert_ptr_nonnull(w->c);
	child_stop(w->c, on_gone, w);
	w->c = NULL;
}

static struct child_spec
spec_of(const char *const *argv)
{
	struct child_spec sp;

	memset(&sp, 0, sizeof(sp));
	sp.name = "t";
	sp.argv = argv;
	sp.env = env;
	sp.dir = dir;
	sp.notify_socket = notify_path;  /* never ready unless it says so */
	sp.restart = CHILD_RESTART_NEVER;
	sp.ready_timeout_ms = 5000;
	sp.stop_timeout_ms = 2000;
	return sp;
}

static void
start(struct watch *w, const struct child_spec *sp)
{
	const char *err = NULL;

	w->started_at = now_ms();
	w->c = child_start(sup, sp, on_changed, w, &err);
	ck_assert_msg(w->c != NULL, "child_start: %s", err);
}

static struct child_view
view(struct watch *w)
{
	struct child_view v;

	child_view(w->c, &v);
	return v;
}

/* Whether no process of group pgid is left, polling up to timeout_ms
 * (killed members linger as zombies until init reaps them). */
static int
group_empties(pid_t pgid, unsigned timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;

	for (;;) {
		if (kill(-pgid, 0) < 0 && errno == ESRCH)
			return 1;
		if (now_ms() >= end)
			return 0;
		usleep(10000);
	}
}

static int is_sleeping(void *arg);

/* --- readiness ------------------------------------------------------- */

/* STATUS= alone means nothing; READY=1 among other lines is ready. */
START_TEST(test_ready_by_notify)
{
	const char *argv[] = {"python3", "-c", PY_NOTIFY("b'STATUS=warming "
	    "up\\n'") "time.sleep(0.3); s.sendto(b'STATUS=go\\nREADY=1\\n"
	    "MAINPID=1\\n', os.environ['NOTIFY_SOCKET']); time.sleep(30)",
	    NULL};
	struct child_spec sp = spec_of(argv);
	struct watch w;
	struct child_view v;

	watch_init(&w);
	sp.notify_socket = notify_path;
	start(&w, &sp);
	v = view(&w);
	ck_assert_int_eq(v.state, CHILD_STARTING);
	ck_assert_int_gt(v.pid, 0);
	ck_assert_str_eq(child_state_name(v.state), "starting");
	wait_changes(&w, 1, 4000);
	ck_assert_int_eq(w.old[0], CHILD_STARTING);
	ck_assert_int_eq(w.now[0], CHILD_READY);
	ck_assert_uint_ge(w.at[0] - w.started_at, 300);
	v = view(&w);
	ck_assert_str_eq(child_state_name(v.state), "ready");
	ck_assert_int_eq(getpgid(v.pid), v.pid);
	ck_assert_int_eq(supervisor_alive(sup), 1);
	stop(&w);
	wait_gone(&w, 3000);
	ck_assert_int_eq(supervisor_alive(sup), 0);
	ck_assert_int_eq(kill(v.pid, 0), -1);
	ck_assert_int_eq(access(notify_path, F_OK), -1);   /* unlinked */
	ck_assert_int_eq(w.n, 1);
}
END_TEST

/* The first connection the ready socket accepts. */
START_TEST(test_ready_by_connect)
{
	const char *argv[] = {"python3", "-c", "import socket, os, time; "
	    "time.sleep(0.2); s = socket.socket(socket.AF_UNIX); "
	    "s.bind(os.environ['SOCK']); s.listen(8); time.sleep(30)", NULL};
	struct child_spec sp = spec_of(argv);
	struct watch w;

	watch_init(&w);
	sp.ready_socket = ready_path;
	sp.notify_socket = notify_path;
	start(&w, &sp);
	wait_changes(&w, 1, 4000);
	ck_assert_int_eq(w.now[0], CHILD_READY);
	ck_assert_uint_ge(w.at[0] - w.started_at, 200);
	ck_assert_uint_lt(w.at[0] - w.started_at, 2000);
	stop(&w);
	wait_gone(&w, 3000);
}
END_TEST

/* Not ready in time: killed, and failed (never) with the cause. */
START_TEST(test_ready_timeout)
{
	const char *argv[] = {"sleep", "30", NULL};
	struct child_spec sp = spec_of(argv);
	struct watch w;
	struct child_view v;
	pid_t pid;

	watch_init(&w);
	sp.notify_socket = notify_path;
	sp.ready_timeout_ms = 300;
	start(&w, &sp);
	pid = view(&w).pid;
	wait_changes(&w, 1, 3000);
	ck_assert_int_eq(w.now[0], CHILD_FAILED);
	ck_assert_uint_ge(w.at[0] - w.started_at + timer_slack_ms(), 300);
	ck_assert_uint_lt(w.at[0] - w.started_at, 1000);
	ck_assert_str_eq(w.cause[0], "not ready within 300 ms");
	v = view(&w);
	ck_assert_int_eq(v.pid, 0);
	ck_assert_int_eq(v.has_exit, 1);
	ck_assert_int_eq(v.exit_signal, SIGKILL);
	ck_assert_int_eq(kill(pid, 0), -1);
	ck_assert_int_eq(supervisor_alive(sup), 0);
	stop(&w);
	wait_gone(&w, 1000);
}
END_TEST

/* Under on-failure, a ready timeout is a failure like any other: the
 * child backs off and starts again. */
START_TEST(test_ready_timeout_restarts)
{
	const char *argv[] = {"sleep", "30", NULL};
	struct child_spec sp = spec_of(argv);
	struct watch w;

	watch_init(&w);
	sp.notify_socket = notify_path;
	sp.ready_timeout_ms = 200;
	sp.restart = CHILD_RESTART_ON_FAILURE;
	start(&w, &sp);
	wait_changes(&w, 2, 3000);
	ck_assert_int_eq(w.now[0], CHILD_BACKOFF);
	ck_assert_str_eq(w.cause[0], "not ready within 200 ms");
	ck_assert_int_eq(w.now[1], CHILD_STARTING);
	ck_assert_int_eq(view(&w).restarts, 1);
	stop(&w);
	wait_gone(&w, 3000);
}
END_TEST

/* --- restart policy -------------------------------------------------- */

/* exit 1 again and again: backoff 100, 200, 400, 800, 1600 ms, then the
 * sixth restart within 60 s is refused. */
START_TEST(test_crash_loop)
{
	const char *argv[] = {"/bin/sh", "-c", "exit 1", NULL};
	static const unsigned delays[] = {100, 200, 400, 800, 1600};
	struct child_spec sp = spec_of(argv);
	struct watch w;
	struct child_view v;
	int i;

	watch_init(&w);
	sp.restart = CHILD_RESTART_ON_FAILURE;
	start(&w, &sp);
	/* per restart: backoff, starting; then the last exit: failed */
	wait_changes(&w, 2 * 5 + 1, 8000);
	for (i = 0; i < 5; i++) {
		int b = 2 * i;
		uint64_t took = w.loop_at[b + 1] - w.loop_at[b];

		ck_assert_int_eq(w.now[b], CHILD_BACKOFF);
		ck_assert_int_eq(w.old[b], CHILD_STARTING);
		ck_assert_str_eq(w.cause[b], "exited with status 1");
		ck_assert_int_eq(w.now[b + 1], CHILD_STARTING);
		ck_assert_int_eq(w.old[b + 1], CHILD_BACKOFF);
		ck_assert_msg(took >= delays[i] && took < delays[i] + 100,
		              "backoff %d took %llu ms, not %u", i,
		              (unsigned long long)took, delays[i]);
	}
	ck_assert_int_eq(w.now[10], CHILD_FAILED);
	ck_assert_str_eq(w.cause[10], "restarted 5 times within 60 s; last: "
	                 "exited with status 1");
	v = view(&w);
	ck_assert_int_eq(v.restarts, 5);
	ck_assert_int_eq(v.exit_code, 1);
	ck_assert_int_eq(v.pid, 0);
	ck_assert_str_eq(child_state_name(v.state), "failed");
	run_for(300);
	ck_assert_int_eq(w.n, 11);      /* and nothing more */
	stop(&w);
	wait_gone(&w, 1000);
}
END_TEST

START_TEST(test_never)
{
	const char *fail[] = {"/bin/sh", "-c", "exit 3", NULL};
	const char *clean[] = {"/bin/sh", "-c", "exit 0", NULL};
	const char *killed[] = {"/bin/sh", "-c", "kill -9 $$", NULL};
	struct child_spec sp = spec_of(fail);
	struct watch w;
	struct child_view v;

	watch_init(&w);
	start(&w, &sp);
	wait_changes(&w, 1, 3000);
	ck_assert_int_eq(w.now[0], CHILD_FAILED);
	ck_assert_str_eq(w.cause[0], "exited with status 3");
	v = view(&w);
	ck_assert_int_eq(v.has_exit, 1);
	ck_assert_int_eq(v.exit_code, 3);
	ck_assert_int_eq(v.exit_signal, 0);
	ck_assert_int_eq(v.restarts, 0);
	ck_assert_str_eq(v.cause, "exited with status 3");
	stop(&w);
	wait_gone(&w, 1000);

	watch_init(&w);
	sp.argv = clean;
	start(&w, &sp);
	wait_changes(&w, 1, 3000);
	ck_assert_int_eq(w.now[0], CHILD_STOPPED);
	ck_assert_str_eq(w.cause[0], "");
	ck_assert_str_eq(child_state_name(view(&w).state), "stopped");
	stop(&w);
	wait_gone(&w, 1000);

	watch_init(&w);
	sp.argv = killed;
	start(&w, &sp);
	wait_changes(&w, 1, 3000);
	ck_assert_int_eq(w.now[0], CHILD_FAILED);
	ck_assert_str_eq(w.cause[0], "killed by signal 9 (Killed)");
	ck_assert_int_eq(view(&w).exit_signal, 9);
	stop(&w);
	wait_gone(&w, 1000);
}
END_TEST

/* always restarts a clean exit; on-failure does not. */
START_TEST(test_always_clean_exit)
{
	const char *argv[] = {"/bin/sh", "-c", "exit 0", NULL};
	struct child_spec sp = spec_of(argv);
	struct watch w;

	watch_init(&w);
	sp.restart = CHILD_RESTART_ALWAYS;
	start(&w, &sp);
	wait_changes(&w, 3, 3000);
	ck_assert_int_eq(w.now[0], CHILD_BACKOFF);
	ck_assert_str_eq(w.cause[0], "");
	ck_assert_int_eq(w.now[1], CHILD_STARTING);
	ck_assert_int_eq(w.now[2], CHILD_BACKOFF);
	stop(&w);
	wait_gone(&w, 1000);

	watch_init(&w);
	sp.restart = CHILD_RESTART_ON_FAILURE;
	start(&w, &sp);
	wait_changes(&w, 1, 3000);
	ck_assert_int_eq(w.now[0], CHILD_STOPPED);
	run_for(300);
	ck_assert_int_eq(w.n, 1);
	stop(&w);
	wait_gone(&w, 1000);
}
END_TEST

START_TEST(test_policy_names)
{
	ck_assert_int_eq(child_restart_policy("always"), CHILD_RESTART_ALWAYS);
	ck_assert_int_eq(child_restart_policy("never"), CHILD_RESTART_NEVER);
	ck_assert_int_eq(child_restart_policy("on-failure"),
	                 CHILD_RESTART_ON_FAILURE);
	ck_assert_int_eq(child_restart_policy(NULL), CHILD_RESTART_ON_FAILURE);
	ck_assert_str_eq(child_state_name(CHILD_BACKOFF), "backoff");
	ck_assert_str_eq(child_state_name(CHILD_STOPPING), "stopped");
}
END_TEST

/* child_restart(): refused while running; from failed it starts at once
 * with the count reset, also from inside the changed function. */
START_TEST(test_restart_from_failed)
{
	const char *ready[] = {"python3", "-c", PY_READY, NULL};
	const char *fail[] = {"/bin/sh", "-c", "exit 3", NULL};
	struct child_spec sp = spec_of(ready);
	struct watch w;
	struct child_view v;
	pid_t first;

	watch_init(&w);
	start(&w, &sp);
	ck_assert_int_eq(child_restart(w.c), -1);   /* starting */
	wait_changes(&w, 1, 4000);
	ck_assert_int_eq(w.now[0], CHILD_READY);
	ck_assert_int_eq(child_restart(w.c), -1);   /* ready */
	stop(&w);
	wait_gone(&w, 3000);

	watch_init(&w);
	sp.argv = fail;
	start(&w, &sp);
	first = view(&w).pid;
	wait_changes(&w, 1, 3000);
	ck_assert_int_eq(w.now[0], CHILD_FAILED);
	ck_assert_int_eq(child_restart(w.c), 0);
	v = view(&w);
	ck_assert_int_eq(v.state, CHILD_STARTING);
	ck_assert_int_gt(v.pid, 0);
	ck_assert_int_ne(v.pid, first);
	ck_assert_int_eq(v.restarts, 0);
	ck_assert_ptr_null(v.cause);
	/* failed again; restarted from the callback this time */
	w.restart_on = CHILD_FAILED;
	wait_changes(&w, 3, 3000);
	ck_assert_int_eq(w.now[1], CHILD_FAILED);
	ck_assert_int_eq(w.restart_rc, 0);
	ck_assert_int_eq(w.now[2], CHILD_FAILED);
	ck_assert_int_eq(w.old[2], CHILD_STARTING);
	stop(&w);
	wait_gone(&w, 1000);
}
END_TEST

/* A start that fails on a restart (the program deleted) is a failure
 * like an exit. */
START_TEST(test_spawn_fails_on_restart)
{
	char script[192];
	const char *argv[] = {script, NULL};
	struct child_spec sp = spec_of(argv);
	struct watch w;
	FILE *f;

	snprintf(script, sizeof(script), "%s/run.sh", dir);
	f = fopen(script, "w");
	ck_assert_ptr_nonnull(f);
	fputs("#!/bin/sh\nexit 1\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(script, 0755), 0);
	watch_init(&w);
	sp.restart = CHILD_RESTART_ON_FAILURE;
	start(&w, &sp);
	wait_changes(&w, 1, 3000);
	ck_assert_int_eq(w.now[0], CHILD_BACKOFF);
	ck_assert_int_eq(unlink(script), 0);
	wait_changes(&w, 3, 3000);
	ck_assert_int_eq(w.now[1], CHILD_STARTING);
	ck_assert_int_eq(w.now[2], CHILD_BACKOFF);
	ck_assert_msg(strstr(w.cause[2], "cannot start") != NULL &&
	              strstr(w.cause[2], "No such file") != NULL, "cause: %s",
	              w.cause[2]);
	ck_assert_int_eq(view(&w).pid, 0);
	stop(&w);
	wait_gone(&w, 1000);
}
END_TEST

/* Nothing can be spawned: NULL with an error, and nothing left. */
START_TEST(test_exec_failure)
{
	char noexec[192];
	const char *missing[] = {"/nonexistent/prog", NULL};
	const char *unknown[] = {"no-such-program-for-aster", NULL};
	const char *denied[] = {noexec, NULL};
	const char *err = NULL;
	struct child_spec sp = spec_of(missing);
	struct watch w;
	FILE *f;
	int status;

	watch_init(&w);
	sp.notify_socket = notify_path;
	ck_assert_ptr_null(child_start(sup, &sp, on_changed, &w, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "No such file") != NULL, "err: %s", err);
	ck_assert_int_eq(access(notify_path, F_OK), -1);

	sp.argv = unknown;
	ck_assert_ptr_null(child_start(sup, &sp, on_changed, &w, &err));
	ck_assert_msg(strstr(err, "No such file") != NULL, "err: %s", err);

	snprintf(noexec, sizeof(noexec), "%s/run.sh", dir);
	f = fopen(noexec, "w");
	ck_assert_ptr_nonnull(f);
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	sp.argv = denied;
	ck_assert_ptr_null(child_start(sup, &sp, on_changed, &w, &err));
	ck_assert_msg(strstr(err, "Permission denied") != NULL, "err: %s",
	              err);

	ck_assert_int_eq(supervisor_alive(sup), 0);
	ck_assert_int_eq(waitpid(-1, &status, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
	run_for(100);
	ck_assert_int_eq(w.n, 0);
}
END_TEST

/* --- stopping -------------------------------------------------------- */

/* SIGTERM ignored: SIGKILL after stop_timeout_ms, gone then and not
 * before. */
START_TEST(test_stop_escalates)
{
	const char *argv[] = {"/bin/sh", "-c", "trap '' TERM; exec python3 -c "
	    "\"" PY_READY "\"", NULL};
	struct child_spec sp = spec_of(argv);
	struct watch w;
	uint64_t t0;
	pid_t pid;

	capture_start();
	watch_init(&w);
	sp.notify_socket = notify_path;
	sp.stop_timeout_ms = 300;
	start(&w, &sp);
	wait_changes(&w, 1, 4000);
	ck_assert_int_eq(w.now[0], CHILD_READY);
	pid = view(&w).pid;
	t0 = now_ms();
	stop(&w);
	ck_assert_int_eq(w.gone, 0);    /* never inside child_stop() */
	ck_assert_int_eq(supervisor_alive(sup), 1);
	run_for(250);
	ck_assert_int_eq(w.gone, 0);
	ck_assert_int_eq(kill(pid, 0), 0);
	ck_assert_int_eq(supervisor_alive(sup), 1);
	wait_gone(&w, 1000);
	ck_assert_uint_ge(w.gone_at - t0, 300);
	ck_assert_uint_lt(w.gone_at - t0, 500);
	ck_assert_int_eq(kill(-pid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	ck_assert_int_eq(supervisor_alive(sup), 0);
	ck_assert_int_eq(w.n, 1);       /* nothing after child_stop() */
}
END_TEST

/* A grandchild in the group is stopped with it. */
START_TEST(test_stop_takes_group)
{
	const char *argv[] = {"/bin/sh", "-c", "sleep 100 & exec python3 -c "
	    "\"" PY_READY "\"", NULL};
	struct child_spec sp = spec_of(argv);
	struct watch w;
	pid_t pgid;

	watch_init(&w);
	sp.notify_socket = notify_path;
	start(&w, &sp);
	wait_changes(&w, 1, 4000);
	pgid = view(&w).pid;
	stop(&w);
	wait_gone(&w, 5000);
	ck_assert_int_eq(kill(-pgid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
}
END_TEST

/* The leader exits, a grandchild stays: killed with the exit. */
START_TEST(test_exit_kills_group)
{
	const char *argv[] = {"/bin/sh", "-c", "sleep 100 & exit 1", NULL};
	struct child_spec sp = spec_of(argv);
	struct watch w;
	pid_t pgid;

	watch_init(&w);
	start(&w, &sp);
	pgid = view(&w).pid;
	wait_changes(&w, 1, 3000);
	ck_assert_int_eq(w.now[0], CHILD_FAILED);
	ck_assert_msg(group_empties(pgid, 3000), "group %d left", (int)pgid);
	stop(&w);
	wait_gone(&w, 1000);
}
END_TEST

/* child_stop() from inside the changed function, on ready, backoff and
 * failed: gone later, from the loop, nothing told after it. */
START_TEST(test_stop_in_callback)
{
	const char *ready[] = {"python3", "-c", PY_READY, NULL};
	const char *crash[] = {"/bin/sh", "-c", "exit 1", NULL};
	struct child_spec sp = spec_of(ready);
	struct watch w;

	watch_init(&w);
	w.stop_on = CHILD_READY;
	start(&w, &sp);
	wait_gone(&w, 3000);
	ck_assert_int_eq(w.n, 1);

	watch_init(&w);
	w.stop_on = CHILD_BACKOFF;
	sp.argv = crash;
	sp.restart = CHILD_RESTART_ON_FAILURE;
	start(&w, &sp);
	wait_gone(&w, 3000);
	run_for(300);
	ck_assert_int_eq(w.n, 1);
	ck_assert_int_eq(w.now[0], CHILD_BACKOFF);

	watch_init(&w);
	w.stop_on = CHILD_FAILED;
	sp.restart = CHILD_RESTART_NEVER;
	start(&w, &sp);
	wait_gone(&w, 3000);
	ck_assert_int_eq(w.n, 1);
	ck_assert_int_eq(w.now[0], CHILD_FAILED);
	ck_assert_int_eq(supervisor_alive(sup), 0);
}
END_TEST

/* supervisor_free() kills what is left and waits for it. */
START_TEST(test_supervisor_free_kills)
{
	const char *argv[] = {"/bin/sh", "-c", "sleep 100 & exec sleep 100",
	                      NULL};
	struct child_spec sp = spec_of(argv);
	struct watch w;
	pid_t pgid;
	int status;

	watch_init(&w);
	start(&w, &sp);
	pgid = view(&w).pid;
	ck_assert_msg(run_until(is_sleeping, &pgid, 3000), "no exec");
	supervisor_free(sup);
	sup = NULL;
	ck_assert_int_eq(waitpid(pgid, &status, WNOHANG), -1);   /* reaped */
	ck_assert_int_eq(errno, ECHILD);
	ck_assert_msg(group_empties(pgid, 3000), "group %d left", (int)pgid);
	ck_assert_int_eq(w.gone, 0);
}
END_TEST

/* --- what the child gets -------------------------------------------- */

static int
is_sleeping(void *arg)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", *(pid_t *)arg);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(comm, sizeof(comm), f) == NULL)
		comm[0] = '\0';
	fclose(f);
	return strcmp(comm, "sleep\n") == 0;
}

/* /proc/PID/status's line for key, e.g. "SigBlk:\t0000000000000000". */
static void
status_line(pid_t pid, const char *key, char *out, size_t cap)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0)
			snprintf(out, cap, "%s", line);
	fclose(f);
}

/* Where descriptor fd of process pid (0: this one) leads, into out. */
static void
fd_target(pid_t pid, const char *fd, char *out, size_t cap)
{
	char path[320];
	ssize_t n;

	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/fd/%s", fd);
	else
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, fd);
	n = readlink(path, out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
}

/*
 * Whether the process has only 0, 1 and 2 open. A program may hold
 * another one for a moment while it starts (sleep reads its locale), so
 * this is polled; but any other descriptor seen must not be one of this
 * process's, inherited.
 */
static int
only_std_fds(void *arg)
{
	pid_t pid = *(pid_t *)arg;
	char path[64], theirs[256], ours[256];
	struct dirent *d;
	int others = 0;
	DIR *dir_fds;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir_fds = opendir(path);
	ck_assert_ptr_nonnull(dir_fds);
	while ((d = readdir(dir_fds)) != NULL) {
		if (d->d_name[0] == '.' || strcmp(d->d_name, "0") == 0 ||
		    strcmp(d->d_name, "1") == 0 || strcmp(d->d_name, "2") == 0)
			continue;
		fd_target(pid, d->d_name, theirs, sizeof(theirs));
		fd_target(0, d->d_name, ours, sizeof(ours));
		ck_assert_msg(strcmp(theirs, ours) != 0,
		              "descriptor %s (%s) inherited", d->d_name, theirs);
		others++;
	}
	closedir(dir_fds);
	return others == 0;
}

/* Only 0, 1 and 2, whatever asterd has open without O_CLOEXEC; stdin
 * /dev/null; its own group; no signal blocked or ignored. */
START_TEST(test_child_environment)
{
	const char *argv[] = {"/bin/sh", "-c", "exec sleep 30", NULL};
	struct child_spec sp = spec_of(argv);
	struct watch w;
	char path[64], link[256], line[256];
	int leak, fds[2];
	sigset_t usr1, old;
	unsigned long long glibc_internal = 0;
	ssize_t n;
	pid_t pid;

	/* glibc's posix_spawn leaves its own signals (32 up to SIGRTMIN)
	 * ignored, whatever it is asked; every glibc program sets them up
	 * again when it starts */
	for (int sig = 32; sig < SIGRTMIN; sig++)
		glibc_internal |= 1ull << (sig - 1);
	leak = open("/dev/null", O_RDONLY);     /* no O_CLOEXEC on purpose */
	ck_assert_int_ge(leak, 3);
	ck_assert_int_eq(pipe(fds), 0);
	signal(SIGPIPE, SIG_IGN);               /* as asterd does */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	watch_init(&w);
	sp.notify_socket = notify_path;
	start(&w, &sp);
	sigprocmask(SIG_SETMASK, &old, NULL);
	pid = view(&w).pid;
	ck_assert_msg(run_until(is_sleeping, &pid, 3000), "no exec");

	ck_assert_msg(run_until(only_std_fds, &pid, 3000),
	              "descriptors other than 0, 1 and 2 stay open");
	snprintf(path, sizeof(path), "/proc/%d/fd/0", (int)pid);
	n = readlink(path, link, sizeof(link) - 1);
	ck_assert_int_gt(n, 0);
	link[n] = '\0';
	ck_assert_str_eq(link, "/dev/null");
	snprintf(path, sizeof(path), "/proc/%d/fd/1", (int)pid);
	n = readlink(path, link, sizeof(link) - 1);
	ck_assert_int_gt(n, 0);
	link[n] = '\0';
	ck_assert_msg(strncmp(link, "pipe:", 5) == 0, "stdout: %s", link);

	ck_assert_int_eq(getpgid(pid), pid);
	ck_assert_int_ne(getpgid(pid), getpgid(0));
	status_line(pid, "SigBlk:", line, sizeof(line));
	ck_assert_str_eq(line, "SigBlk:\t0000000000000000\n");
	status_line(pid, "SigIgn:", line, sizeof(line));
	ck_assert_msg((strtoull(line + 7, NULL, 16) & ~glibc_internal) == 0,
	              "%s", line);
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
	n = readlink(path, link, sizeof(link) - 1);
	ck_assert_int_gt(n, 0);
	link[n] = '\0';
	ck_assert_str_eq(link, dir);

	close(leak);
	close(fds[0]);
	close(fds[1]);
	stop(&w);
	wait_gone(&w, 3000);
}
END_TEST

/* --- output ---------------------------------------------------------- */

/* Lines of both streams tagged; one over 16 KiB cut, the next line
 * whole; one of exactly 16 KiB not cut; a last line without newline
 * logged at EOF. */
START_TEST(test_output_lines)
{
	const char *argv[] = {"python3", "-c", "import sys; print('hello'); "
	    "print('A' * 20000 + 'B' * 10); print('after'); "
	    "print('C' * 16384); print('say \"hi\" a=b'); sys.stdout.flush(); "
	    "sys.stderr.write('oops\\ntail')", NULL};
	struct child_spec sp = spec_of(argv);
	struct watch w;
	char *log, *cut_line, *exact;
	char want[64];

	capture_start();
	watch_init(&w);
	sp.name = "mod";
	start(&w, &sp);
	wait_changes(&w, 1, 4000);
	ck_assert_int_eq(w.now[0], CHILD_STOPPED);
	run_for(200);       /* the pipes' last bytes, if still unread */
	log = captured();
	ck_assert_msg(strstr(log, " info runtime=mod stream=stdout msg=hello\n")
	              != NULL, "log: %.500s", log);
	ck_assert_ptr_nonnull(strstr(log, "runtime=mod stream=stdout "
	                      "msg=after\n"));
	ck_assert_ptr_nonnull(strstr(log, "runtime=mod stream=stdout "
	                      "msg=\"say \\\"hi\\\" a=b\"\n"));
	ck_assert_ptr_nonnull(strstr(log, "runtime=mod stream=stderr "
	                      "msg=oops\n"));
	ck_assert_ptr_nonnull(strstr(log, "runtime=mod stream=stderr "
	                      "msg=tail\n"));
	/* the cut line: 16384 A, no B, cut=true */
	cut_line = strstr(log, "msg=AAAA");
	ck_assert_ptr_nonnull(cut_line);
	ck_assert_int_eq(strspn(cut_line + 4, "A"), 16384);
	ck_assert_ptr_eq(strstr(cut_line + 4 + 16384, " cut=true\n"),
	                 cut_line + 4 + 16384);
	ck_assert_ptr_null(strstr(log, "BBB"));
	exact = strstr(log, "msg=CCCC");
	ck_assert_ptr_nonnull(exact);
	ck_assert_int_eq(strspn(exact + 4, "C"), 16384);
	ck_assert_int_eq(exact[4 + 16384], '\n');
	snprintf(want, sizeof(want), "runtime=mod stream=");
	ck_assert_int_eq(count_of(log, want), 7);
	free(log);
	stop(&w);
	wait_gone(&w, 1000);
}
END_TEST

/* Lines an earlier process writes after the next one started still
 * reach the log (its pipes are its own). */
START_TEST(test_output_of_earlier_process)
{
	const char *argv[] = {"/bin/sh", "-c", "if [ -e mark ]; then exec "
	    "python3 -c \"" PY_READY "\"; fi; touch mark; "
	    "setsid sh -c 'sleep 0.5; echo late' & sleep 0.2; exit 1", NULL};
	struct child_spec sp = spec_of(argv);
	struct watch w;
	char *log;

	capture_start();
	watch_init(&w);
	sp.restart = CHILD_RESTART_ON_FAILURE;
	start(&w, &sp);
	wait_changes(&w, 3, 3000);
	ck_assert_int_eq(w.now[0], CHILD_BACKOFF);
	ck_assert_int_eq(w.now[2], CHILD_READY);    /* the second process */
	run_for(1000);
	log = captured();
	ck_assert_msg(strstr(log, "runtime=t stream=stdout msg=late\n") !=
	              NULL, "log: %.500s", log);
	free(log);
	ck_assert_int_eq(view(&w).state, CHILD_READY);
	stop(&w);
	wait_gone(&w, 3000);
}
END_TEST

#define TICK_MS 20
#define TICKS_MAX 512

/* A timer every TICK_MS, and the gaps it actually came at. */
struct ticker {
	struct event *ev;
	uint64_t last;
	uint64_t gaps[TICKS_MAX];
	unsigned n;
};

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct ticker *t = arg;
	uint64_t now = now_ms();

	(void)fd;
	(void)what;
	if (t->last != 0 && t->n < TICKS_MAX)
		t->gaps[t->n++] = now - t->last;
	t->last = now;
}

static int
by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* `yes`: the burst and the rate logged, the rest dropped and counted,
 * one warning a second, and a 20 ms timer still on time: nine ticks in
 * ten within 45 ms of the one before (the machine's other work may
 * delay a few), none after more than a quarter second. */
START_TEST(test_output_flood)
{
	const char *argv[] = {"yes", NULL};
	struct child_spec sp = spec_of(argv);
	struct ticker t = {0};
	struct timeval tv = {0, TICK_MS * 1000};
	struct watch w;
	struct child_view v;
	uint64_t t0, took;
	size_t logged;
	char *log;

	capture_start();
	watch_init(&w);
	sp.name = "flood";
	t.ev = event_new(base, -1, EV_PERSIST, on_tick, &t);
	event_add(t.ev, &tv);
	t0 = now_ms();
	start(&w, &sp);
	run_for(2200);
	took = now_ms() - t0;
	v = view(&w);
	stop(&w);
	wait_gone(&w, 3000);
	event_free(t.ev);
	log = captured();
	logged = count_of(log, "runtime=flood stream=stdout msg=y\n");
	ck_assert_uint_ge(logged, FLOOD_BURST);
	ck_assert_msg(logged <= FLOOD_BURST + took * FLOOD_RATE / 1000 + 50,
	              "%zu lines logged in %llu ms", logged,
	              (unsigned long long)took);
	ck_assert_uint_gt(v.lines_dropped, 10000);
	ck_assert_msg(count_of(log, "warn runtime=flood: ") >= 2 &&
	              strstr(log, " output lines dropped (flood)\n") != NULL,
	              "no flood warning");
	ck_assert_uint_ge(t.n, 2200 / TICK_MS * 8 / 10);
	qsort(t.gaps, t.n, sizeof(t.gaps[0]), by_value);
	ck_assert_msg(t.gaps[t.n * 9 / 10] < 45 && t.gaps[t.n - 1] < 250,
	              "ticks of %d ms came up to %llu ms apart, one in ten "
	              "%llu ms or more", TICK_MS,
	              (unsigned long long)t.gaps[t.n - 1],
	              (unsigned long long)t.gaps[t.n * 9 / 10]);
	free(log);
}
END_TEST

/* --- log_runtime_line ------------------------------------------------ */

START_TEST(test_log_line_text)
{
	static char big[LOG_RUNTIME_LINE_MAX];
	char out[LOG_RUNTIME_LINE_MAX + 1];
	char *log, *p;
	long n;

	capture_start();
	log_runtime_line("m", "stderr", "a \"b\"\x01\n", 7, 0);
	log_runtime_line("m", "stdout", "", 0, 1);
	memset(big, 0x01, sizeof(big));
	log_runtime_line("m", "stdout", big, sizeof(big), 0);
	log = captured();
	ck_assert_msg(strstr(log, " info runtime=m stream=stderr msg=\"a "
	              "\\\"b\\\"\\x01\\n\"\n") != NULL, "log: %s", log);
	ck_assert_ptr_nonnull(strstr(log, " info runtime=m stream=stdout "
	                      "msg=\"\" cut=true\n"));
	/* 16 KiB escaped four times over: whole, and reads back */
	p = strstr(log, "msg=\"\\x01");
	ck_assert_ptr_nonnull(p);
	n = escape_text_unquote(p + 4, strlen(p + 4), out, sizeof(out), NULL);
	ck_assert_int_eq(n, LOG_RUNTIME_LINE_MAX);
	ck_assert_int_eq(memcmp(out, big, sizeof(big)), 0);
	ck_assert_int_eq(count_of(log, "\n"), 3);
	free(log);
}
END_TEST

START_TEST(test_log_line_json)
{
	json_object *o, *v;
	char *log, *nl;

	capture_start();
	log_configure("json", "info", 1);
	log_runtime_line("m\"x", "stdout", "caf\xc3\xa9 \"q\"", 9, 1);
	log = captured();
	nl = strchr(log, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_int_eq(nl[1], '\0');
	*nl = '\0';
	o = json_tokener_parse(log);
	ck_assert_msg(o != NULL, "not JSON: %s", log);
	ck_assert(json_object_object_get_ex(o, "level", &v));
	ck_assert_str_eq(json_object_get_string(v), "info");
	ck_assert(json_object_object_get_ex(o, "msg", &v));
	ck_assert_str_eq(json_object_get_string(v), "caf\xc3\xa9 \"q\"");
	ck_assert(json_object_object_get_ex(o, "runtime", &v));
	ck_assert_str_eq(json_object_get_string(v), "m\"x");
	ck_assert(json_object_object_get_ex(o, "stream", &v));
	ck_assert_str_eq(json_object_get_string(v), "stdout");
	ck_assert(json_object_object_get_ex(o, "cut", &v));
	ck_assert(json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(o, "ts", &v));
	json_object_put(o);
	free(log);
	log_configure("text", "info", 1);
}
END_TEST

static Suite *
child_suite(void)
{
	Suite *s = suite_create("child");
	TCase *ready = tcase_create("ready");
	TCase *policy = tcase_create("policy");
	TCase *stopping = tcase_create("stop");
	TCase *child = tcase_create("child");
	TCase *output = tcase_create("output");

	tcase_add_checked_fixture(ready, setup, teardown);
	tcase_add_test(ready, test_ready_by_notify);
	tcase_add_test(ready, test_ready_by_connect);
	tcase_add_test(ready, test_ready_timeout);
	tcase_add_test(ready, test_ready_timeout_restarts);
	suite_add_tcase(s, ready);

	tcase_add_checked_fixture(policy, setup, teardown);
	tcase_set_timeout(policy, 20);
	tcase_add_test(policy, test_crash_loop);
	tcase_add_test(policy, test_never);
	tcase_add_test(policy, test_always_clean_exit);
	tcase_add_test(policy, test_policy_names);
	tcase_add_test(policy, test_restart_from_failed);
	tcase_add_test(policy, test_spawn_fails_on_restart);
	tcase_add_test(policy, test_exec_failure);
	suite_add_tcase(s, policy);

	tcase_add_checked_fixture(stopping, setup, teardown);
	tcase_set_timeout(stopping, 20);
	tcase_add_test(stopping, test_stop_escalates);
	tcase_add_test(stopping, test_stop_takes_group);
	tcase_add_test(stopping, test_exit_kills_group);
	tcase_add_test(stopping, test_stop_in_callback);
	tcase_add_test(stopping, test_supervisor_free_kills);
	suite_add_tcase(s, stopping);

	tcase_add_checked_fixture(child, setup, teardown);
	tcase_add_test(child, test_child_environment);
	suite_add_tcase(s, child);

	tcase_add_checked_fixture(output, setup, teardown);
	tcase_set_timeout(output, 20);
	tcase_add_test(output, test_output_lines);
	tcase_add_test(output, test_output_of_earlier_process);
	tcase_add_test(output, test_output_flood);
	tcase_add_test(output, test_log_line_text);
	tcase_add_test(output, test_log_line_json);
	suite_add_tcase(s, output);
	return s;
}

UNIT_MAIN(child_suite)
