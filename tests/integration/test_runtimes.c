/*
 * test_runtimes.c - runtime processes (SPEC 10, 12): start-up and
 * readiness, what the child is given (environment, process group,
 * descriptors), forwarding to its socket, the gateway socket it talks
 * back on, and `asterctl runtimes` / `status` / `restart` on a healthy
 * runtime.
 *
 * The product and the test runtime are described in runtimes.h; its
 * output in the log is in test_runtimes_output.c, restarts in
 * test_runtimes_restart.c, stops and reloads in test_runtimes_stop.c.
 */
#include "runtimes.h"

#include <sys/socket.h>

/* --- testrt's answers ----------------------------------------------------- */

/*
 * Header name as the runtime saw it, from the "headers" object of
 * testrt's answer (names compared case-insensitively; a value that is an
 * array is several header lines, joined with ", "). NULL when absent;
 * *count (when not NULL) gets the number of lines.
 */
static const char *
echo_header(json_object *echo, const char *name, char *buf, size_t len,
            int *count)
{
	json_object *headers;
	int n = 0;

	buf[0] = '\0';
	ck_assert_msg(json_object_object_get_ex(echo, "headers", &headers) &&
	              json_object_is_type(headers, json_type_object),
	              "testrt's answer has no headers object: %s",
	              rt_text(echo));
	json_object_object_foreach(headers, key, val) {
		size_t i, used;

		if (strcasecmp(key, name) != 0)
			continue;
		if (json_object_is_type(val, json_type_array)) {
			for (i = 0; i < json_object_array_length(val); i++) {
				used = strlen(buf);
				snprintf(buf + used, len - used, "%s%s",
				         n++ ? ", " : "", json_object_get_string(
				         json_object_array_get_idx(val, i)));
			}
		} else {
			used = strlen(buf);
			snprintf(buf + used, len - used, "%s%s", n++ ? ", " : "",
			         json_object_get_string(val));
		}
	}
	if (count != NULL)
		*count = n;
	return n > 0 ? buf : NULL;
}

/* Asserts the runtime saw header name exactly once, with value want. */
static void
assert_echo_header(json_object *echo, const char *name, const char *want)
{
	char buf[1024];
	int count;
	const char *got = echo_header(echo, name, buf, sizeof(buf), &count);

	ck_assert_msg(got != NULL, "the runtime got no %s: %s", name,
	              rt_text(echo));
	ck_assert_msg(count == 1 && strcmp(got, want) == 0, "the runtime got "
	              "%s: '%s' (%d lines), expected '%s' once", name, got,
	              count, want);
}

static void
assert_no_echo_header(json_object *echo, const char *name)
{
	char buf[1024];
	const char *got = echo_header(echo, name, buf, sizeof(buf), NULL);

	ck_assert_msg(got == NULL, "the runtime got %s: '%s', expected none",
	              name, got);
}

/* o[key] as a string, failing the test when it is not one. */
static const char *
str_of(json_object *o, const char *key)
{
	const char *s = integ_json_str(o, key);

	ck_assert_msg(s != NULL, "no string '%s' in %s", key, rt_text(o));
	return s;
}

/* The "env" object of testrt's /fds answer (borrowed). */
static json_object *
env_of(json_object *fds)
{
	json_object *env;

	ck_assert_msg(json_object_object_get_ex(fds, "env", &env) &&
	              json_object_is_type(env, json_type_object),
	              "no env object in /fds: %s", rt_text(fds));
	return env;
}

/* readlink of /proc/PID/NAME, in buf ("" when unreadable). */
static const char *
proc_link(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	n = readlink(path, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* --- readiness and start-up ------------------------------------------------ */

/*
 * Asks the not-yet-ready product what it shows once the runtime is
 * spawned (its module is in wave 2): the runtime `starting` with a pid,
 * /ready 503 "starting", the runtime's and the later module's routes
 * 503.
 */
static void
assert_still_starting(void)
{
	struct aster_test_response r;
	struct rt_view v;
	uint64_t end = integ_ms_now() + (uint64_t)aster_test_timeout(2000);
	json_object *o;

	for (;;) {
		rt_view_get(&v);
		if (v.pid > 0 || integ_ms_now() >= end)
			break;
		rt_view_put(&v);
		integ_sleep_ms(10);
	}
	ck_assert_msg(strcmp(v.state, "starting") == 0 && v.pid > 0,
	              "runtime before it is ready: %s", rt_text(v.e));
	rt_view_put(&v);
	rt_get_expect("/gateway/v1/ready", NULL, 503, &r);
	o = integ_json(&r);
	ck_assert_msg(strcmp(str_of(o, "status"), "starting") == 0,
	              "/ready before the runtime is ready: %s", r.body);
	json_object_put(o);
	aster_test_response_free(&r);
	rt_http("GET", "/rt/early", NULL, NULL, 0, &r);
	integ_assert_problem(&r, 503, "unavailable");
	aster_test_response_free(&r);
	rt_http("GET", "/later", NULL, NULL, 0, &r);
	integ_assert_problem(&r, 503, "unavailable");
	aster_test_response_free(&r);
}

/* Once ready: everything answers, and `later` started after rtapp (the
 * log is written by a thread of asterd's: wait for the lines). */
static void
assert_ready_in_order(void)
{
	static const char rt_line[] = "module " RT_MODULE " started (wave";
	static const char later_line[] = "module later started (wave";
	struct aster_test_response r;
	struct rt_view v;
	json_object *o, *mods;
	char *line = rt_wait_log_line(later_line, NULL, NULL, 3000);
	long rt_at, later_at;

	ck_assert_msg(line != NULL, "no '%s' in the log:\n%s", later_line,
	              aster_test_stderr(E.t));
	free(line);
	rt_at = rt_log_offset(rt_line);
	later_at = rt_log_offset(later_line);
	ck_assert_msg(rt_at >= 0, "no '%s' in the log:\n%s", rt_line,
	              aster_test_stderr(E.t));
	ck_assert_msg(rt_at < later_at, "later started before " RT_MODULE
	              " (which it requires):\n%s", aster_test_stderr(E.t));
	rt_get_expect("/gateway/v1/ready", NULL, 200, &r);
	o = integ_json(&r);
	ck_assert_msg(json_object_object_get_ex(o, "modules", &mods) &&
	              integ_json_str(mods, RT_MODULE) != NULL &&
	              strcmp(integ_json_str(mods, RT_MODULE), "running") == 0,
	              "/ready: %s", r.body);
	json_object_put(o);
	aster_test_response_free(&r);
	rt_get_expect("/later", NULL, 200, &r);
	aster_test_response_free(&r);
	rt_view_get(&v);
	ck_assert_msg(strcmp(v.state, "ready") == 0, "runtime after start-up: "
	              "%s", rt_text(v.e));
	ck_assert_int_eq(rt_echo_pid(), v.pid);
	rt_view_put(&v);
}

/* Starts c's product and checks that it is ready no sooner than
 * min_ms (what the runtime waits before reporting, less a margin), the
 * module starting and the next wave waiting until then. */
static void
check_ready_after(const struct rt_conf *c, uint64_t min_ms, const char *what)
{
	uint64_t t0, took;

	rt_prepare(c);
	t0 = integ_ms_now();
	rt_spawn();
	ck_assert_msg(aster_test_wait_address(E.t, "public") == 0, "%s\n%s",
	              aster_test_error(E.t), aster_test_stderr(E.t));
	rt_started();
	assert_still_starting();
	ck_assert_msg(aster_test_wait_ready(E.t) == 0, "not ready: %s\n%s",
	              aster_test_error(E.t), aster_test_stderr(E.t));
	took = integ_ms_now() - t0;
	ck_assert_msg(took >= min_ms, "ready after %llu ms, before %s",
	              (unsigned long long)took, what);
	assert_ready_in_order();
	rt_stop();
}

/* READY=1 on NOTIFY_SOCKET, 2 s after start: until then the module is
 * not running and the wave after it waits. */
START_TEST(test_ready_by_notify)
{
	struct rt_conf c = {
		.ready_timeout_ms = 8000,
		.later = 1,
		.env = {"TESTRT_READY=notify", "TESTRT_READY_DELAY_MS=2000"},
	};

	check_ready_after(&c, 1900, "the runtime's READY=1 at 2000 ms");
}
END_TEST

/* No READY=1: the first connection the runtime accepts on its socket,
 * 1.5 s after start, makes it ready. */
START_TEST(test_ready_by_first_connection)
{
	struct rt_conf c = {
		.ready_timeout_ms = 8000,
		.later = 1,
		.env = {"TESTRT_READY=connect", "TESTRT_READY_DELAY_MS=1500"},
	};

	check_ready_after(&c, 1400, "the runtime listened at 1500 ms");
}
END_TEST

/* Never ready within ready_timeout_ms: the start fails, exit 69, the
 * error names the module and says why; nothing of it is left. */
START_TEST(test_ready_timeout_fails_start)
{
	struct rt_conf c = {
		.ready_timeout_ms = 800,
		.later = 1,
		.env = {"TESTRT_READY=none"},
	};
	uint64_t t0, took;
	char *line;
	int rc;

	rt_prepare(&c);
	t0 = integ_ms_now();
	rt_spawn();
	ck_assert_msg(aster_test_wait_ready(E.t) == -1,
	              "ready although the runtime never was:\n%s",
	              aster_test_stderr(E.t));
	rc = aster_test_wait(E.t, aster_test_timeout(10000));
	took = integ_ms_now() - t0;
	ck_assert_msg(rc == 69, "exit %d, expected 69; stderr:\n%s", rc,
	              aster_test_stderr(E.t));
	ck_assert_msg(took >= 750, "gave up after %llu ms, before "
	              "ready_timeout_ms 800", (unsigned long long)took);
	line = rt_log_line(" error ", "module " RT_MODULE " ", "ready");
	ck_assert_msg(line != NULL, "no error names the module %s and the "
	              "cause (not ready):\n%s", RT_MODULE,
	              aster_test_stderr(E.t));
	free(line);
	/* (aster_test_stderr's text lives until the next call.) */
	ck_assert_msg(strstr(aster_test_stderr(E.t), "module later started") ==
	              NULL, "later started without what it requires:\n%s",
	              aster_test_stderr(E.t));
	integ_assert_clean_log(E.t);
	rt_assert_nothing_left(0, 3000, "after the failed start");
}
END_TEST

/* --- what the child gets ---------------------------------------------------- */

START_TEST(test_environment)
{
	struct rt_conf c = {.env = {"TESTRT_GREETING=hello world"}};
	json_object *o, *env;
	struct rt_view v;
	struct stat st;
	char link[PATH_MAX], real_dir[PATH_MAX], real_cwd[PATH_MAX];
	const char *dir, *sock;
	pid_t pid, pg = 0;

	rt_start(&c);
	rt_view_get(&v);
	pid = v.pid;
	rt_view_put(&v);
	o = rt_echo("/rt/fds", NULL);
	env = env_of(o);
	ck_assert_str_eq(str_of(env, "ASTER_MODULE_ID"), RT_MODULE);
	ck_assert_str_eq(str_of(env, "ASTER_PRODUCT_ID"), RT_PRODUCT);
	ck_assert_str_eq(str_of(env, "TESTRT_GREETING"), "hello world");
	ck_assert_msg(*str_of(env, "NOTIFY_SOCKET") != '\0', "empty "
	              "NOTIFY_SOCKET");
	sock = str_of(env, "ASTER_RUNTIME_SOCKET");
	ck_assert_msg(stat(sock, &st) == 0 && S_ISSOCK(st.st_mode),
	              "ASTER_RUNTIME_SOCKET %s is not a socket", sock);
	sock = str_of(env, "ASTER_GATEWAY_SOCKET");
	ck_assert_msg(stat(sock, &st) == 0 && S_ISSOCK(st.st_mode),
	              "ASTER_GATEWAY_SOCKET %s is not a socket", sock);

	/* Its own 0700 directory, as its working directory. */
	dir = str_of(env, "ASTER_RUNTIME_DIR");
	ck_assert_msg(stat(dir, &st) == 0 && S_ISDIR(st.st_mode),
	              "ASTER_RUNTIME_DIR %s is not a directory", dir);
	ck_assert_msg((st.st_mode & 07777) == 0700, "ASTER_RUNTIME_DIR mode "
	              "%04o, expected 0700", (unsigned)(st.st_mode & 07777));
	ck_assert_msg(st.st_uid == geteuid(), "ASTER_RUNTIME_DIR is not "
	              "asterd's user's");
	ck_assert(realpath(dir, real_dir) != NULL);
	ck_assert(realpath(str_of(o, "cwd"), real_cwd) != NULL);
	ck_assert_str_eq(real_cwd, real_dir);
	ck_assert_str_eq(proc_link(pid, "cwd", link, sizeof(link)), real_dir);

	/* Its own process group, asterd's child, stdin /dev/null. */
	ck_assert_int_eq(rt_int(o, "pgid", 0), pid);
	ck_assert_int_eq(rt_int(o, "ppid", 0), aster_test_pid(E.t));
	ck_assert_str_eq(str_of(o, "stdin"), "/dev/null");
	ck_assert(rt_proc_stat(pid, &pg) != 0);
	ck_assert_int_eq(pg, pid);
	ck_assert_str_eq(proc_link(pid, "fd/0", link, sizeof(link)),
	                 "/dev/null");
	/* The manifest's env, seen from outside too. */
	snprintf(link, sizeof(link), "/proc/%d/environ", (int)pid);
	ck_assert_msg(rt_environ_has(link, "TESTRT_GREETING=hello world"),
	              "the runtime's environment lacks the manifest's env");
	json_object_put(o);
	rt_stop();
}
END_TEST

/* A descriptor of a process: its number, what it is open on. */
struct fd_id {
	int fd;
	dev_t dev;
	ino_t ino;
	char target[256];
};

/* Every descriptor of pid, at most max; returns how many. */
static int
fd_ids(pid_t pid, struct fd_id *ids, int max)
{
	char dir[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL && n < max) {
		char path[sizeof(dir) + sizeof(e->d_name) + 1];
		char name[sizeof(e->d_name) + 4];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "fd/%s", e->d_name);
		proc_link(pid, name, ids[n].target, sizeof(ids[n].target));
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		ids[n].fd = atoi(e->d_name);
		ids[n].dev = st.st_dev;
		ids[n].ino = st.st_ino;
		n++;
	}
	closedir(d);
	return n;
}

/* No descriptor of asterd reaches the runtime: what testrt found open
 * first thing in main() ("startFds") is 0, 1 and 2 (stdin /dev/null),
 * and none of its descriptors now but its stdout and stderr is an open
 * file of asterd's (its listeners, control socket, database, log). */
START_TEST(test_no_inherited_descriptors)
{
	json_object *o, *fds;
	struct fd_id mine[256], theirs[512];
	struct rt_view v;
	int nmine, ntheirs, i, j, seen[3] = {0, 0, 0};
	size_t k;

	rt_start(NULL);
	rt_view_get(&v);
	o = rt_echo("/rt/fds", NULL);
	ck_assert_msg(json_object_object_get_ex(o, "startFds", &fds) &&
	              json_object_is_type(fds, json_type_array), "no startFds "
	              "in %s", rt_text(o));
	for (k = 0; k < json_object_array_length(fds); k++) {
		json_object *f = json_object_array_get_idx(fds, k);
		long long fd = rt_int(f, "fd", -1);

		ck_assert_msg(fd >= 0 && fd <= 2, "the runtime started with "
		              "descriptor %lld (%s) open: %s", fd,
		              integ_json_str(f, "target"), rt_text(fds));
		seen[fd] = 1;
		if (fd == 0)
			ck_assert_str_eq(str_of(f, "target"), "/dev/null");
	}
	ck_assert_msg(seen[0] && seen[1] && seen[2], "0, 1 and 2 are not all "
	              "open in the runtime: %s", rt_text(fds));
	json_object_put(o);

	nmine = fd_ids(v.pid, mine, 256);
	ntheirs = fd_ids(aster_test_pid(E.t), theirs, 512);
	for (i = 0; i < nmine; i++) {
		if (mine[i].fd <= 2 ||
		    strncmp(mine[i].target, "anon_inode:", 11) == 0)
			continue;
		for (j = 0; j < ntheirs; j++)
			ck_assert_msg(mine[i].dev != theirs[j].dev ||
			              mine[i].ino != theirs[j].ino,
			              "the runtime's descriptor %d (%s) is asterd's "
			              "descriptor %d", mine[i].fd, mine[i].target,
			              theirs[j].fd);
	}
	/* Its output goes to asterd: pipes whose other end asterd holds. */
	for (i = 0; i < nmine; i++) {
		int held = 0;

		if (mine[i].fd != 1 && mine[i].fd != 2)
			continue;
		ck_assert_msg(strncmp(mine[i].target, "pipe:", 5) == 0,
		              "the runtime's fd %d is %s, not a pipe", mine[i].fd,
		              mine[i].target);
		for (j = 0; j < ntheirs; j++)
			held |= mine[i].dev == theirs[j].dev &&
			        mine[i].ino == theirs[j].ino;
		ck_assert_msg(held, "asterd does not read the runtime's fd %d",
		              mine[i].fd);
	}
	rt_view_put(&v);
	rt_stop();
}
END_TEST

/* --- forwarding ---------------------------------------------------------- */

START_TEST(test_forward_path_and_query)
{
	json_object *o;
	struct aster_test_response r;
	static const char body[] = "{\"x\":1}";

	rt_start(NULL);
	o = rt_echo("/rt/deep/path?x=1&y=a%20b", NULL);
	ck_assert_str_eq(str_of(o, "method"), "GET");
	ck_assert_str_eq(str_of(o, "path"), "/rt/deep/path");
	ck_assert_str_eq(str_of(o, "query"), "x=1&y=a%20b");
	ck_assert_str_eq(str_of(o, "module"), RT_MODULE);
	json_object_put(o);
	o = rt_echo("/rt", NULL);
	ck_assert_str_eq(str_of(o, "path"), "/rt");
	json_object_put(o);

	ck_assert(rt_http("PUT", "/rt/item/7", (const char *[]){
	          "Content-Type: application/json", NULL}, body,
	          sizeof(body) - 1, &r) == 0);
	ck_assert_msg(r.status == 200, "PUT: %d %s", r.status, r.body);
	o = integ_json(&r);
	ck_assert_str_eq(str_of(o, "method"), "PUT");
	ck_assert_str_eq(str_of(o, "path"), "/rt/item/7");
	ck_assert_int_eq(rt_int(o, "bodyBytes", -1), sizeof(body) - 1);
	json_object_put(o);
	aster_test_response_free(&r);
	rt_stop();
}
END_TEST

/* A user route called with an API key: the caller's identity in
 * X-Aster-*, the client's own X-Aster-Role replaced, no Authorization. */
START_TEST(test_forward_identity_headers)
{
	struct integ_key k;
	char auth[INTEG_TOKEN_MAX + 32];
	const char *h[] = {auth, "X-Aster-Role: admin",
	                   "X-Aster-Credential-Id: forged", NULL};
	struct aster_test_response r;
	json_object *o;

	rt_start(NULL);
	integ_key_create(E.control, "user", "rt-user", NULL, &k);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", k.token);
	o = rt_echo("/ru/who", h);
	ck_assert_str_eq(str_of(o, "path"), "/ru/who");
	assert_echo_header(o, "X-Aster-Credential-Kind", "api-key");
	assert_echo_header(o, "X-Aster-Credential-Id", k.id);
	assert_echo_header(o, "X-Aster-Role", "user");
	assert_echo_header(o, "X-Aster-Spaces", "*");
	assert_no_echo_header(o, "Authorization");
	json_object_put(o);

	/* Without a credential the runtime is never asked. */
	rt_http("GET", "/ru/who", NULL, NULL, 0, &r);
	integ_assert_problem(&r, 401, "unauthorized");
	aster_test_response_free(&r);
	rt_stop();
}
END_TEST

/* On a public route, identity headers sent by the client are removed. */
START_TEST(test_forward_client_identity_removed)
{
	const char *h[] = {"X-Aster-Role: admin", "X-Aster-Credential-Id: me",
	                   "X-Aster-Credential-Kind: api-key",
	                   "X-Aster-Spaces: *", "X-Aster-Space: s1", NULL};
	json_object *o;

	rt_start(NULL);
	o = rt_echo("/rt/who", h);
	assert_no_echo_header(o, "X-Aster-Role");
	assert_no_echo_header(o, "X-Aster-Credential-Id");
	assert_no_echo_header(o, "X-Aster-Credential-Kind");
	assert_no_echo_header(o, "X-Aster-Spaces");
	assert_no_echo_header(o, "X-Aster-Space");
	json_object_put(o);
	rt_stop();
}
END_TEST

/* traceparent: the caller's trace id with a new parent id; X-Request-Id
 * passed on and echoed. */
START_TEST(test_forward_trace_and_request_id)
{
	static const char trace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
	const char *h[] = {"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-"
	                   "00f067aa0ba902b7-01", "tracestate: k=v",
	                   "X-Request-Id: rt-req-42", NULL};
	struct aster_test_response r;
	char buf[256];
	const char *tp;
	json_object *o;

	rt_start(NULL);
	rt_get_expect("/rt/trace", h, 200, &r);
	ck_assert_str_eq(aster_test_header(&r, "X-Request-Id"), "rt-req-42");
	o = integ_json(&r);
	tp = echo_header(o, "traceparent", buf, sizeof(buf), NULL);
	ck_assert_msg(tp != NULL && strlen(tp) == 55 &&
	              strncmp(tp, "00-", 3) == 0 &&
	              strncmp(tp + 3, trace, 32) == 0, "traceparent '%s' does "
	              "not carry the caller's trace id", tp ? tp : "(none)");
	ck_assert_msg(strncmp(tp + 36, "00f067aa0ba902b7", 16) != 0,
	              "traceparent '%s' kept the caller's parent id", tp);
	assert_echo_header(o, "tracestate", "k=v");
	assert_echo_header(o, "X-Request-Id", "rt-req-42");
	json_object_put(o);
	aster_test_response_free(&r);

	/* None sent: a new, well-formed one. */
	o = rt_echo("/rt/trace", NULL);
	tp = echo_header(o, "traceparent", buf, sizeof(buf), NULL);
	ck_assert_msg(tp != NULL && strlen(tp) == 55 &&
	              strncmp(tp, "00-", 3) == 0, "traceparent '%s'",
	              tp ? tp : "(none)");
	ck_assert_msg(echo_header(o, "X-Request-Id", buf, sizeof(buf), NULL) !=
	              NULL, "no X-Request-Id reached the runtime");
	json_object_put(o);
	rt_stop();
}
END_TEST

/* 5 MiB up, 3 MB down, every byte through. */
START_TEST(test_big_bodies)
{
	size_t up = 5u * 1024 * 1024, down = 3000000, i;
	char *body = malloc(up);
	struct aster_test_response r;
	json_object *o;

	ck_assert(body != NULL);
	for (i = 0; i < up; i++)
		body[i] = (char)('a' + i % 26);
	rt_start(NULL);
	ck_assert(rt_http("POST", "/rt/upload", (const char *[]){
	          "Content-Type: application/octet-stream", NULL}, body, up,
	          &r) == 0);
	ck_assert_msg(r.status == 200, "5 MiB POST: %d %s", r.status, r.body);
	o = integ_json(&r);
	ck_assert_int_eq(rt_int(o, "bodyBytes", -1), (long long)up);
	json_object_put(o);
	aster_test_response_free(&r);
	free(body);

	rt_get_expect("/rt/download?bytes=3000000", NULL, 200, &r);
	ck_assert_uint_eq(r.body_len, down);
	aster_test_response_free(&r);
	rt_stop();
}
END_TEST

/* request.schema is checked before forwarding: an invalid body gets
 * asterd's 422 (never the runtime's answer); a valid one goes through. */
START_TEST(test_validation_before_forwarding)
{
	static const char bad[] = "{\"name\": 7}";
	static const char good[] = "{\"name\": \"seven\"}";
	const char *h[] = {"Content-Type: application/json", NULL};
	struct aster_test_response r;
	json_object *o;

	rt_start(NULL);
	ck_assert(rt_http("POST", "/rtv", h, bad, sizeof(bad) - 1, &r) == 0);
	integ_assert_problem(&r, 422, "validation-failed");
	o = integ_json(&r);
	ck_assert_msg(integ_json_str(o, "pid") == NULL &&
	              !json_object_object_get_ex(o, "bodyBytes", NULL),
	              "the runtime answered an invalid body: %s", r.body);
	json_object_put(o);
	aster_test_response_free(&r);

	ck_assert(rt_http("POST", "/rtv", h, good, sizeof(good) - 1, &r) == 0);
	ck_assert_msg(r.status == 200, "valid body: %d %s", r.status, r.body);
	o = integ_json(&r);
	ck_assert_str_eq(str_of(o, "path"), "/rtv");
	ck_assert_int_eq(rt_int(o, "bodyBytes", -1), sizeof(good) - 1);
	json_object_put(o);
	aster_test_response_free(&r);
	rt_stop();
}
END_TEST

/* --- the gateway socket --------------------------------------------------- */

/* The runtime reaches the internal state API on ASTER_GATEWAY_SOCKET:
 * a PUT creates (201), the next replaces (200). */
START_TEST(test_gateway_state_api)
{
	json_object *o;

	rt_start(NULL);
	o = rt_echo("/rt/state", NULL);
	ck_assert_msg(rt_int(o, "gatewayStatus", 0) == 201, "first PUT over "
	              "the gateway socket: %s", rt_text(o));
	json_object_put(o);
	o = rt_echo("/rt/state", NULL);
	ck_assert_msg(rt_int(o, "gatewayStatus", 0) == 200, "second PUT over "
	              "the gateway socket: %s", rt_text(o));
	json_object_put(o);
	rt_stop();
}
END_TEST

/* A handler on the gateway socket knows which runtime calls: its
 * credential is kind "runtime" with the module id (httpprobe's inspect
 * answers what aster_credential() gives it). The same internal route
 * called on the internal listener has no caller. */
START_TEST(test_gateway_names_the_runtime)
{
	static const char probe[] =
	    "kind: module\nid: probe\ndisplayName: Probe\nversion: 0.1.0\n"
	    "services:\n  - id: probe\n    provider: httpprobe\n"
	    "routes:\n  - id: route:probe.inspect\n    scope: internal\n"
	    "    methods: [GET]\n    mountPath: /gateway/v1/internal/probe\n"
	    "    handler: { service: probe, operation: inspect }\n";
	struct aster_test_response r;
	json_object *o, *body, *cred;

	rt_prepare(NULL);
	ck_assert(aster_test_write_file(E.dir, "modules/probe.yaml", probe,
	                                -1) == 0);
	E.t = integ_start_dir(E.dir, NULL);
	rt_started();
	o = rt_echo("/rt/state?method=GET&path=/gateway/v1/internal/probe",
	            NULL);
	ck_assert_msg(rt_int(o, "gatewayStatus", 0) == 200, "inspect over the "
	              "gateway socket: %s", rt_text(o));
	ck_assert(json_object_object_get_ex(o, "gatewayBody", &body));
	ck_assert_msg(json_object_object_get_ex(body, "credential", &cred) &&
	              cred != NULL, "no credential: %s", rt_text(o));
	ck_assert_str_eq(json_object_get_string(
	    json_object_object_get(cred, "kind")), "runtime");
	ck_assert_str_eq(json_object_get_string(
	    json_object_object_get(cred, "id")), RT_MODULE);
	json_object_put(o);
	ck_assert(aster_test_request(E.t, "internal", "GET",
	          "/gateway/v1/internal/probe", NULL, NULL, 0, &r) == 0);
	ck_assert_int_eq(r.status, 200);
	o = json_tokener_parse(r.body);
	ck_assert(o != NULL);
	ck_assert(json_object_object_get_ex(o, "credential", &cred));
	ck_assert_msg(cred == NULL, "the internal listener names a caller: %s",
	              r.body);
	json_object_put(o);
	aster_test_response_free(&r);
	rt_stop();
}
END_TEST

/* --- asterctl ------------------------------------------------------------- */

START_TEST(test_runtimes_command)
{
	struct rt_view v;
	json_object *root, *e, *last;
	char *out, pid_text[32];
	long long up1;
	int rc;
	size_t n;

	rt_start(NULL);
	rt_view_get(&v);
	ck_assert_str_eq(v.state, "ready");
	ck_assert_int_eq(v.pid, rt_echo_pid());
	ck_assert_int_eq(v.restarts, 0);
	ck_assert_msg(json_object_object_get_ex(v.e, "lastExit", &last) &&
	              last == NULL, "lastExit of a runtime that never exited: "
	              "%s", rt_text(v.e));
	ck_assert_int_eq(rt_int(v.e, "linesDropped", -1), 0);
	up1 = rt_int(v.e, "uptimeMs", -1);
	ck_assert_msg(up1 >= 0, "no uptimeMs: %s", rt_text(v.e));
	ck_assert_msg(!json_object_object_get_ex(v.e, "retryInMs", NULL),
	              "retryInMs of a ready runtime: %s", rt_text(v.e));
	/* Only modules with a runtime are listed. */
	ck_assert(json_object_object_get_ex(v.root, "runtimes", &root));
	n = json_object_array_length(root);
	ck_assert_msg(n == 1, "%zu runtimes listed: %s", n, rt_text(v.root));
	snprintf(pid_text, sizeof(pid_text), "%d", (int)v.pid);
	rt_view_put(&v);

	/* Uptime goes on. */
	{
		uint64_t end = integ_ms_now() + 3000;
		long long up2;

		do {
			integ_sleep_ms(50);
			rt_view_get(&v);
			up2 = rt_int(v.e, "uptimeMs", -1);
			rt_view_put(&v);
		} while (up2 <= up1 + 100 && integ_ms_now() < end);
		ck_assert_msg(up2 > up1 + 100, "uptimeMs %lld, then %lld", up1,
		              up2);
	}

	/* The control socket answers the same thing to scripts. */
	root = integ_control(E.control, "{\"command\":\"runtimes\"}");
	ck_assert_msg(root != NULL, "control socket: no answer to runtimes");
	e = rt_entry(root, RT_MODULE);
	ck_assert_msg(e != NULL && strcmp(str_of(e, "state"), "ready") == 0,
	              "control socket runtimes: %s", rt_text(root));
	json_object_put(root);

	/* The table for people. */
	rc = rt_ctl(&out, "runtimes", NULL, NULL);
	ck_assert_msg(rc == 0, "asterctl runtimes: exit %d\n%s", rc, out);
	ck_assert_msg(strstr(out, RT_MODULE) != NULL &&
	              strstr(out, pid_text) != NULL &&
	              strstr(out, "ready") != NULL, "asterctl runtimes does "
	              "not show the module, pid and state:\n%s", out);
	ck_assert_msg(out[0] != '{', "asterctl runtimes without --json printed "
	              "JSON:\n%s", out);
	free(out);
	rt_stop();
}
END_TEST

START_TEST(test_status_counts_runtimes)
{
	json_object *o, *rts;
	char *out;
	int rc;

	rt_start(NULL);
	rc = rt_ctl(&out, "status", "--json", NULL);
	ck_assert_msg(rc == 0, "asterctl status --json: exit %d\n%s", rc, out);
	o = json_tokener_parse(out);
	ck_assert_msg(o != NULL && json_object_object_get_ex(o, "runtimes",
	              &rts), "status has no runtimes: %s", out);
	ck_assert_msg(rt_int(rts, "total", -1) == 1 &&
	              rt_int(rts, "ready", -1) == 1 &&
	              rt_int(rts, "failed", -1) == 0, "status runtimes: %s",
	              rt_text(rts));
	json_object_put(o);
	free(out);
	rt_stop();
}
END_TEST

/* `asterctl restart` is for a failed runtime: a ready one, a module
 * without a runtime and an unknown module are refused (exit 1, a
 * message), and nothing is restarted. */
START_TEST(test_restart_refused)
{
	struct rt_view v;
	pid_t pid;
	char *out;
	int rc;

	rt_start(NULL);
	pid = rt_echo_pid();
	rc = rt_ctl(&out, "restart", RT_MODULE, NULL);
	ck_assert_msg(rc == 1, "restart of a ready runtime: exit %d, expected "
	              "1\n%s", rc, out);
	ck_assert_msg(out[0] != '\0', "refused without a message");
	free(out);
	rc = rt_ctl(&out, "restart", "plain", NULL);
	ck_assert_msg(rc == 1, "restart of a module without a runtime: exit "
	              "%d, expected 1\n%s", rc, out);
	ck_assert_msg(strstr(out, "plain") != NULL, "the refusal does not "
	              "name the module:\n%s", out);
	free(out);
	rc = rt_ctl(&out, "restart", "nosuch", NULL);
	ck_assert_msg(rc == 1, "restart of an unknown module: exit %d, "
	              "expected 1\n%s", rc, out);
	ck_assert_msg(strstr(out, "nosuch") != NULL, "the refusal does not "
	              "name the module:\n%s", out);
	free(out);
	rt_view_get(&v);
	ck_assert_msg(strcmp(v.state, "ready") == 0 && v.pid == pid &&
	              v.restarts == 0, "after refused restarts: %s",
	              rt_text(v.e));
	rt_view_put(&v);
	ck_assert_int_eq(rt_echo_pid(), pid);
	rt_stop();
}
END_TEST

static Suite *
runtimes_suite(void)
{
	Suite *s = suite_create("runtimes");
	TCase *start = tcase_create("start");
	TCase *child = tcase_create("child");
	TCase *fwd = tcase_create("forwarding");
	TCase *ctl = tcase_create("control");

	tcase_set_timeout(start, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(start, NULL, rt_teardown);
	tcase_add_test(start, test_ready_by_notify);
	tcase_add_test(start, test_ready_by_first_connection);
	tcase_add_test(start, test_ready_timeout_fails_start);
	suite_add_tcase(s, start);

	tcase_set_timeout(child, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(child, NULL, rt_teardown);
	tcase_add_test(child, test_environment);
	tcase_add_test(child, test_no_inherited_descriptors);
	tcase_add_test(child, test_gateway_state_api);
	tcase_add_test(child, test_gateway_names_the_runtime);
	suite_add_tcase(s, child);

	tcase_set_timeout(fwd, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(fwd, NULL, rt_teardown);
	tcase_add_test(fwd, test_forward_path_and_query);
	tcase_add_test(fwd, test_forward_identity_headers);
	tcase_add_test(fwd, test_forward_client_identity_removed);
	tcase_add_test(fwd, test_forward_trace_and_request_id);
	tcase_add_test(fwd, test_big_bodies);
	tcase_add_test(fwd, test_validation_before_forwarding);
	suite_add_tcase(s, fwd);

	tcase_set_timeout(ctl, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(ctl, NULL, rt_teardown);
	tcase_add_test(ctl, test_runtimes_command);
	tcase_add_test(ctl, test_status_counts_runtimes);
	tcase_add_test(ctl, test_restart_refused);
	suite_add_tcase(s, ctl);
	return s;
}

RT_MAIN(runtimes_suite)
