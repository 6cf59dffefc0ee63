/*
 * runtimes.h - what the runtime tests share (test_runtimes.c,
 * test_runtimes_output.c, test_runtimes_restart.c,
 * test_runtimes_stop.c; SPEC 10).
 *
 * Each test writes a product into a temp dir around the test runtime
 * (tests/runtime/testrt, a controllable child whose behaviour the
 * manifest's env sets), starts the real asterd on it and looks at the
 * runtime from every side: HTTP through asterd, `asterctl runtimes`, the
 * runtime's own answers (its pid, environment, descriptors) and /proc.
 *
 * The product: module `rtapp` runs testrt and forwards /rt (prefix,
 * public), /ru (prefix, user) and /rtv (POST, validated) to it; `plain`
 * answers /plain with a fixed body (the bystander of reloads and loads);
 * `later` (optional) requires rtapp; core, database (SQLite, the state
 * API) and auth make the rest. Every runtime process carries
 * RT_TAG=<a value unique to the test> in its environment, so the test
 * finds every process a runtime left behind, grandchildren included;
 * main() (RT_MAIN) kills what failed tests left.
 *
 * This machine's init may not reap orphans, so a killed grandchild can
 * linger as a zombie of pid 1: "no process remains" means no process
 * that is not a zombie (a zombie runs nothing and holds nothing).
 */
#ifndef ASTER_TESTS_RUNTIMES_H
#define ASTER_TESTS_RUNTIMES_H

#include "integ.h"

#include <dirent.h>
#include <stdarg.h>
#include <pthread.h>

#define RT_MODULE "rtapp"
#define RT_PRODUCT "rtprod"
#define RT_ENV_MAX 16

/* How to write the product. Zero values take the defaults. */
struct rt_conf {
	const char *restart;        /* NULL: the key is left out */
	int ready_timeout_ms;       /* 0: 5000 */
	int stop_timeout_ms;        /* 0: 2000 */
	/* The manifest's env for testrt: "NAME=value", NULL-terminated. */
	const char *env[RT_ENV_MAX];
	/* 1: run testrt through a shell script that makes it exit with 3
	 * after crash_ms unless the file E.flag (run/stay-up) exists. */
	int wrap;
	int crash_ms;               /* 0: 150 */
	int later;                  /* 1: add module `later` */
	int log_json;               /* 1: log format json, else text */
};

static struct {
	char *dir;                  /* the config */
	char *run;                  /* control socket, SQLite, wrapper, flag */
	char tag[64];               /* RT_TAG's value */
	char control[PATH_MAX];
	char flag[PATH_MAX];
	char public_addr[256];      /* for threads: copied once started */
	char bin[PATH_MAX];         /* testrt, absolute */
	struct rt_conf conf;
	struct aster_test *t;
} E;

/* --- processes ------------------------------------------------------------ */

/* pid's state letter and process group from /proc/PID/stat; 0 when it is
 * gone. Uses no check macro: it also runs after the tests (RT_MAIN). */
static inline char
rt_proc_stat(pid_t pid, pid_t *pgrp)
{
	char path[64], text[1024], *close_paren, state = 0;
	int fd, pg = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	/* "pid (comm) S ppid pgrp ...": comm may hold anything, so read
	 * after its last ')'. */
	close_paren = strrchr(text, ')');
	if (close_paren == NULL ||
	    sscanf(close_paren + 1, " %c %*d %d", &state, &pg) != 2)
		return 0;
	if (pgrp != NULL)
		*pgrp = pg;
	return state;
}

/* Whether pid is a live process (running, not a zombie). */
static inline int
rt_proc_live(pid_t pid)
{
	char s = rt_proc_stat(pid, NULL);

	return s != 0 && s != 'Z' && s != 'X';
}

/* Calls fn(pid, arg) for every process of /proc; stops when fn answers
 * non-zero. */
static inline void
rt_each_proc(int (*fn)(pid_t pid, void *arg), void *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end != '\0' || pid <= 0)
			continue;
		if (fn((pid_t)pid, arg) != 0)
			break;
	}
	closedir(d);
}

struct rt_scan {
	pid_t pgid;                 /* match by group, or */
	const char *tag;            /* by RT_TAG in the environment */
	int tag_prefix;             /* ... or a value starting with tag */
	int live;
	pid_t pids[32];
};

/* Whether the NUL-separated environment file at path holds the entry
 * want exactly (or, with prefix, an entry starting with want). */
static inline int
rt_environ_match(const char *path, const char *want, int prefix)
{
	static char buf[1 << 17];
	size_t len = 0, n = strlen(want), i = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	for (;;) {
		ssize_t got = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || (len += (size_t)got) == sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[len] = '\0';
	while (i < len) {
		size_t elen = strlen(buf + i);

		if ((elen == n || (prefix && elen > n)) &&
		    memcmp(buf + i, want, n) == 0)
			return 1;
		i += elen + 1;
	}
	return 0;
}

static inline int
rt_environ_has(const char *path, const char *want)
{
	return rt_environ_match(path, want, 0);
}

static inline int
rt_scan_one(pid_t pid, void *arg)
{
	struct rt_scan *s = arg;
	pid_t pg = 0;
	char st = rt_proc_stat(pid, &pg);
	int match = 0;

	if (st == 0 || st == 'Z' || st == 'X')
		return 0;
	if (s->pgid > 0) {
		match = pg == s->pgid;
	} else {
		char path[64], want[96];

		snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
		snprintf(want, sizeof(want), "RT_TAG=%s", s->tag);
		match = rt_environ_match(path, want, s->tag_prefix);
	}
	if (match && s->live < (int)(sizeof(s->pids) / sizeof(s->pids[0])))
		s->pids[s->live++] = pid;
	return 0;
}

/* Live processes of group pgid. */
static inline int
rt_group_live(pid_t pgid, struct rt_scan *out)
{
	struct rt_scan s;

	memset(&s, 0, sizeof(s));
	s.pgid = pgid;
	/* ESRCH: not even a zombie is left. */
	if (kill(-pgid, 0) == -1 && errno == ESRCH) {
		if (out != NULL)
			*out = s;
		return 0;
	}
	rt_each_proc(rt_scan_one, &s);
	if (out != NULL)
		*out = s;
	return s.live;
}

/* Live processes carrying this test's RT_TAG. */
static inline int
rt_tagged_live(struct rt_scan *out)
{
	struct rt_scan s;

	memset(&s, 0, sizeof(s));
	s.tag = E.tag;
	rt_each_proc(rt_scan_one, &s);
	if (out != NULL)
		*out = s;
	return s.live;
}

/* The pids of a scan, as text for a failure message. */
static inline const char *
rt_scan_text(const struct rt_scan *s, char *buf, size_t len)
{
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < s->live && used < len; i++) {
		char comm[64], path[64], *c;

		snprintf(path, sizeof(path), "/proc/%d/comm", (int)s->pids[i]);
		c = integ_read_file(path);
		c[strcspn(c, "\n")] = '\0';
		snprintf(comm, sizeof(comm), "%s", c);
		free(c);
		used += (size_t)snprintf(buf + used, len - used, "%s%d (%s)",
		                         i ? ", " : "", (int)s->pids[i], comm);
	}
	return buf;
}

/* Polls until group pgid (when > 0) has no live process and, when
 * tagged, no live process carries the test's tag, for at most
 * timeout_ms; fails the test otherwise. */
static inline void
rt_assert_gone(pid_t pgid, int tagged, int timeout_ms, const char *when)
{
	uint64_t end = integ_ms_now() + (uint64_t)aster_test_timeout(timeout_ms);
	struct rt_scan g, t;
	char a[512], b[512];

	for (;;) {
		int in_group = pgid > 0 ? rt_group_live(pgid, &g) : 0;
		int with_tag = tagged ? rt_tagged_live(&t) : 0;

		if (pgid <= 0)
			memset(&g, 0, sizeof(g));
		if (!tagged)
			memset(&t, 0, sizeof(t));
		if (in_group == 0 && with_tag == 0)
			return;
		if (integ_ms_now() >= end)
			ck_abort_msg("%s: processes remain: of group %d: [%s]; "
			             "with the runtime's environment: [%s]", when,
			             (int)pgid, rt_scan_text(&g, a, sizeof(a)),
			             rt_scan_text(&t, b, sizeof(b)));
		integ_sleep_ms(10);
	}
}

/* Nothing of any runtime of the test is left: group pgid (when > 0)
 * and every process with the tag. */
static inline void
rt_assert_nothing_left(pid_t pgid, int timeout_ms, const char *when)
{
	rt_assert_gone(pgid, 1, timeout_ms, when);
}

/* Kills asterd, then every process this test's runtimes left. */
static inline void
rt_kill_leftovers(void)
{
	struct rt_scan s;
	int i, round;

	if (E.t != NULL && aster_test_wait(E.t, 0) == -1) {
		kill(aster_test_pid(E.t), SIGKILL);
		aster_test_wait(E.t, 2000);
	}
	if (E.tag[0] == '\0')
		return;
	for (round = 0; round < 20 && rt_tagged_live(&s) > 0; round++) {
		for (i = 0; i < s.live; i++)
			kill(s.pids[i], SIGKILL);
		integ_sleep_ms(10);
	}
}

/*
 * Every process a runtime of this test program left, whatever test
 * started it: their RT_TAG starts with this program's pid (each test
 * runs in a child of it). check ends a failed or timed-out test with
 * _exit or SIGKILL, so no handler of the test's own runs: main() calls
 * this once all tests ran. asterd itself dies with its test (see
 * aster/testing.h).
 */
static inline void
rt_kill_program_leftovers(void)
{
	char prefix[32];
	struct rt_scan s;
	int i, round;

	snprintf(prefix, sizeof(prefix), "%d-", (int)getpid());
	for (round = 0; round < 50; round++) {
		memset(&s, 0, sizeof(s));
		s.tag = prefix;
		s.tag_prefix = 1;
		rt_each_proc(rt_scan_one, &s);
		if (s.live == 0)
			break;
		for (i = 0; i < s.live; i++)
			kill(s.pids[i], SIGKILL);
		integ_sleep_ms(20);
	}
}

/* UNIT_MAIN, then rt_kill_program_leftovers(). */
#define RT_MAIN(suite_fn)                                            \
	int main(void)                                               \
	{                                                            \
		SRunner *runner_ = srunner_create(suite_fn());       \
		int failed_;                                         \
                                                                     \
		srunner_run_all(runner_, CK_ENV);                    \
		failed_ = srunner_ntests_failed(runner_);            \
		srunner_free(runner_);                               \
		rt_kill_program_leftovers();                         \
		return failed_ == 0 ? EXIT_SUCCESS : EXIT_FAILURE;   \
	}

/* --- the product ----------------------------------------------------------- */

/* testrt's absolute path: $ASTER_BUILD_DIR/tests/runtime/testrt, else
 * beside the test modules ($ASTER_TEST_MODULES/../runtime/testrt, which
 * run.sh exports), else build/tests/runtime/testrt. */
static inline const char *
rt_bin(void)
{
	const char *build = getenv("ASTER_BUILD_DIR");
	const char *mods = getenv("ASTER_TEST_MODULES");
	char path[PATH_MAX];

	if (build != NULL && *build != '\0')
		snprintf(path, sizeof(path), "%s/tests/runtime/testrt", build);
	else if (mods != NULL && *mods != '\0')
		snprintf(path, sizeof(path), "%s/../runtime/testrt", mods);
	else
		snprintf(path, sizeof(path), "build/tests/runtime/testrt");
	ck_assert_msg(realpath(path, E.bin) != NULL &&
	              access(E.bin, X_OK) == 0, "the test runtime %s is not "
	              "built (make tests): %s", path, strerror(errno));
	return E.bin;
}

/* s as a YAML double-quoted scalar, appended to out. */
static inline void
rt_yaml_quoted(char *out, size_t len, const char *s)
{
	size_t used = strlen(out);

	if (used + 2 >= len)
		return;
	out[used++] = '"';
	for (; *s != '\0' && used + 3 < len; s++) {
		if (*s == '"' || *s == '\\')
			out[used++] = '\\';
		out[used++] = *s;
	}
	out[used++] = '"';
	out[used] = '\0';
}

/* Appends printf text to out. */
static inline void
rt_append(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void
rt_append(char *out, size_t len, const char *fmt, ...)
{
	size_t used = strlen(out);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + used, len - used, fmt, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && (size_t)n < len - used, "YAML buffer too "
	              "small");
}

/* The wrapper script: exits with 3 after RT_CRASH_MS unless RT_FLAG
 * exists; exec keeps the pid and the process group. */
static inline void
rt_write_wrapper(void)
{
	static const char script[] =
	    "#!/bin/sh\n"
	    "# testrt, crashing (exit 3 after RT_CRASH_MS) until RT_FLAG "
	    "exists.\n"
	    "if [ ! -e \"$RT_FLAG\" ]; then\n"
	    "\tTESTRT_EXIT_AFTER_MS=$RT_CRASH_MS\n"
	    "\tTESTRT_EXIT_CODE=3\n"
	    "\texport TESTRT_EXIT_AFTER_MS TESTRT_EXIT_CODE\n"
	    "fi\n"
	    "exec \"$RT_BIN\"\n";
	char path[PATH_MAX];

	ck_assert(aster_test_write_file(E.run, "wrap.sh", script, -1) == 0);
	snprintf(path, sizeof(path), "%s/wrap.sh", E.run);
	ck_assert(chmod(path, 0755) == 0);
}

/* modules/rtapp.yaml from E.conf. */
static inline void
rt_write_module(void)
{
	const struct rt_conf *c = &E.conf;
	char yaml[8192] = "", path[PATH_MAX];
	int i;

	rt_append(yaml, sizeof(yaml),
	          "kind: module\n"
	          "id: " RT_MODULE "\n"
	          "displayName: Runtime test\n"
	          "version: 0.1.0\n"
	          "requires: [database]\n"
	          "schemas:\n"
	          "  Thing:\n"
	          "    type: object\n"
	          "    required: [name]\n"
	          "    properties: { name: { type: string } }\n"
	          "runtime:\n"
	          "  command: [");
	if (c->wrap) {
		snprintf(path, sizeof(path), "%s/wrap.sh", E.run);
		rt_yaml_quoted(yaml, sizeof(yaml), "/bin/sh");
		rt_append(yaml, sizeof(yaml), ", ");
		rt_yaml_quoted(yaml, sizeof(yaml), path);
	} else {
		rt_yaml_quoted(yaml, sizeof(yaml), E.bin);
	}
	rt_append(yaml, sizeof(yaml), "]\n  env:\n    RT_TAG: ");
	rt_yaml_quoted(yaml, sizeof(yaml), E.tag);
	rt_append(yaml, sizeof(yaml), "\n");
	if (c->wrap) {
		rt_append(yaml, sizeof(yaml), "    RT_BIN: ");
		rt_yaml_quoted(yaml, sizeof(yaml), E.bin);
		rt_append(yaml, sizeof(yaml), "\n    RT_FLAG: ");
		rt_yaml_quoted(yaml, sizeof(yaml), E.flag);
		rt_append(yaml, sizeof(yaml), "\n    RT_CRASH_MS: \"%d\"\n",
		          c->crash_ms > 0 ? c->crash_ms : 150);
	}
	for (i = 0; i < RT_ENV_MAX && c->env[i] != NULL; i++) {
		const char *eq = strchr(c->env[i], '=');

		ck_assert(eq != NULL);
		rt_append(yaml, sizeof(yaml), "    %.*s: ",
		          (int)(eq - c->env[i]), c->env[i]);
		rt_yaml_quoted(yaml, sizeof(yaml), eq + 1);
		rt_append(yaml, sizeof(yaml), "\n");
	}
	if (c->restart != NULL)
		rt_append(yaml, sizeof(yaml), "  restart: %s\n", c->restart);
	rt_append(yaml, sizeof(yaml),
	          "  ready_timeout_ms: %d\n"
	          "  stop_timeout_ms: %d\n"
	          "routes:\n"
	          "  - id: route:rtapp.public\n"
	          "    scope: public\n"
	          "    methods: [GET, POST, PUT, DELETE]\n"
	          "    mountPath: /rt\n"
	          "    match: prefix\n"
	          "    handler: { runtime: {} }\n"
	          "  - id: route:rtapp.user\n"
	          "    scope: user\n"
	          "    methods: [GET]\n"
	          "    mountPath: /ru\n"
	          "    match: prefix\n"
	          "    handler: { runtime: {} }\n"
	          "  - id: route:rtapp.validated\n"
	          "    scope: public\n"
	          "    methods: [POST]\n"
	          "    mountPath: /rtv\n"
	          "    handler: { runtime: {} }\n"
	          "    request: { schema: { $ref: Thing } }\n",
	          c->ready_timeout_ms > 0 ? c->ready_timeout_ms : 5000,
	          c->stop_timeout_ms > 0 ? c->stop_timeout_ms : 2000);
	ck_assert(aster_test_write_file(E.dir, "modules/rtapp.yaml", yaml,
	                                -1) == 0);
}

/* modules/plain.yaml: /plain answers body. */
static inline void
rt_write_plain(const char *body)
{
	char yaml[1024];

	snprintf(yaml, sizeof(yaml),
	         "kind: module\nid: plain\ndisplayName: Plain\nversion: 0.1.0\n"
	         "routes:\n  - id: route:plain.get\n    scope: public\n"
	         "    methods: [GET]\n    mountPath: /plain\n"
	         "    handler: { respond: { status: 200, body: \"%s\", "
	         "content_type: text/plain } }\n", body);
	ck_assert(aster_test_write_file(E.dir, "modules/plain.yaml", yaml,
	                                -1) == 0);
}

static inline void
rt_write_conf(void)
{
	char product[PATH_MAX + 1024], store[PATH_MAX + 128];
	static const char core[] =
	    "kind: module\nid: core\ndisplayName: Core\nversion: 0.1.0\n"
	    "services:\n  - id: gateway\n    provider: gateway\n"
	    "routes:\n"
	    "  - id: route:core.health\n    scope: public\n    methods: [GET]\n"
	    "    mountPath: /gateway/v1/health\n"
	    "    handler: { service: gateway, operation: health }\n"
	    "  - id: route:core.ready\n    scope: public\n    methods: [GET]\n"
	    "    mountPath: /gateway/v1/ready\n"
	    "    handler: { service: gateway, operation: ready }\n";
	static const char auth[] =
	    "kind: module\nid: auth\ndisplayName: Auth\nversion: 0.1.0\n"
	    "provides: [auth]\nneeds: [state-store]\n"
	    "services:\n  - id: verifier\n    provider: auth\n";
	static const char later[] =
	    "kind: module\nid: later\ndisplayName: Later\nversion: 0.1.0\n"
	    "requires: [" RT_MODULE "]\n"
	    "routes:\n  - id: route:later.get\n    scope: public\n"
	    "    methods: [GET]\n    mountPath: /later\n"
	    "    handler: { respond: { status: 200, body: later, "
	    "content_type: text/plain } }\n";

	snprintf(product, sizeof(product),
	         "kind: product\n"
	         "id: " RT_PRODUCT "\n"
	         "name: Runtime test\n"
	         "version: 0.1.0\n"
	         "server:\n"
	         "  listen:\n"
	         "    - address: 127.0.0.1:0\n"
	         "      scopes: [public, user, admin]\n"
	         "    - address: 127.0.0.1:0\n"
	         "      scopes: [internal]\n"
	         "  control: \"%s\"\n"
	         "  limits:\n"
	         "    max_body_bytes: 8388608\n"
	         "  shutdown_timeout_ms: 3000\n"
	         "log:\n"
	         "  format: %s\n"
	         "  level: info\n"
	         "  access: false\n", E.control,
	         E.conf.log_json ? "json" : "text");
	ck_assert(aster_test_write_file(E.dir, "product.yaml", product, -1) ==
	          0);
	ck_assert(aster_test_write_file(E.dir, "modules/core.yaml", core, -1) ==
	          0);
	ck_assert(aster_test_write_file(E.dir, "modules/auth.yaml", auth, -1) ==
	          0);
	if (E.conf.later)
		ck_assert(aster_test_write_file(E.dir, "modules/later.yaml",
		                                later, -1) == 0);
	snprintf(store, sizeof(store),
	         "  - id: store\n    provider: sqlite\n    config:\n"
	         "      path: \"%s/aster.db\"\n", E.run);
	integ_write_database(E.dir, store, 1);
	rt_write_plain("plain");
	if (E.conf.wrap)
		rt_write_wrapper();
	rt_write_module();
}

/* The test program's pid: the parent of this forked test, or this
 * process when check does not fork. */
static inline pid_t
rt_program_pid(void)
{
	const char *fork_mode = getenv("CK_FORK");

	return fork_mode != NULL && strcmp(fork_mode, "no") == 0 ? getpid() :
	       getppid();
}

/* Makes the dirs and writes the product for conf (NULL: defaults). */
static inline void
rt_prepare(const struct rt_conf *conf)
{
	static unsigned serial;
	const char *slash;

	if (conf != NULL)
		E.conf = *conf;
	else
		memset(&E.conf, 0, sizeof(E.conf));
	E.dir = integ_tempdir();
	E.run = integ_tempdir();
	slash = strrchr(E.run, '/');
	/* The program's pid first (the parent of a forked test, or this
	 * process under CK_FORK=no): see rt_kill_program_leftovers(). */
	snprintf(E.tag, sizeof(E.tag), "%d-%u-%s", (int)rt_program_pid(),
	         serial++, slash != NULL ? slash + 1 : E.run);
	snprintf(E.control, sizeof(E.control), "%s/control.sock", E.run);
	snprintf(E.flag, sizeof(E.flag), "%s/stay-up", E.run);
	rt_bin();
	rt_write_conf();
}

/* Spawns asterd on the product without waiting for it. */
static inline void
rt_spawn(void)
{
	struct aster_test_options o = integ_options(NULL);

	E.t = aster_test_spawn(E.dir, &o);
	ck_assert_msg(E.t != NULL, "cannot run asterd: %s", strerror(errno));
}

/* Once ready: the public listener's address, for threads. */
static inline void
rt_started(void)
{
	const char *a = aster_test_address(E.t, "public");

	ck_assert(a != NULL);
	snprintf(E.public_addr, sizeof(E.public_addr), "%s", a);
}

/* rt_prepare, then asterd started and ready (or the test fails). */
static inline void
rt_start(const struct rt_conf *conf)
{
	rt_prepare(conf);
	E.t = integ_start_dir(E.dir, NULL);
	rt_started();
}

/* SIGTERM, exit 0 expected, clean log. */
static inline void
rt_stop(void)
{
	integ_stop(E.t);
	E.t = NULL;
}

static inline void
rt_teardown(void)
{
	rt_kill_leftovers();
	if (E.t != NULL)
		aster_test_free(E.t);
	E.t = NULL;
	if (E.dir != NULL) {
		aster_test_remove_tree(E.dir);
		free(E.dir);
	}
	if (E.run != NULL) {
		aster_test_remove_tree(E.run);
		free(E.run);
	}
	E.dir = NULL;
	E.run = NULL;
	E.tag[0] = '\0';
}

/* --- asterctl ------------------------------------------------------------ */

/* `asterctl --socket CONTROL args...` (at most 8): exit status, output
 * (stdout and stderr together) in *out. */
static inline int
rt_ctl(char **out, const char *a1, const char *a2, const char *a3)
{
	const char *args[8] = {"--socket", E.control, a1, a2, a3, NULL};

	return integ_asterctl(args, NULL, out, NULL);
}

/* `asterctl runtimes --json`, parsed (the caller puts it). */
static inline json_object *
rt_runtimes(void)
{
	char *out;
	int rc = rt_ctl(&out, "runtimes", "--json", NULL);
	json_object *o, *ok;

	ck_assert_msg(rc == 0, "asterctl runtimes --json: exit %d\n%s", rc,
	              out);
	o = json_tokener_parse(out);
	ck_assert_msg(o != NULL && json_object_is_type(o, json_type_object),
	              "asterctl runtimes --json is not a JSON object:\n%s", out);
	ck_assert_msg(json_object_object_get_ex(o, "ok", &ok) &&
	              json_object_get_boolean(ok), "runtimes: %s", out);
	free(out);
	return o;
}

/* The entry of module id in a runtimes answer (borrowed), or NULL. */
static inline json_object *
rt_entry(json_object *root, const char *id)
{
	json_object *list;
	size_t i;

	if (!json_object_object_get_ex(root, "runtimes", &list) ||
	    !json_object_is_type(list, json_type_array))
		return NULL;
	for (i = 0; i < json_object_array_length(list); i++) {
		json_object *e = json_object_array_get_idx(list, i);
		const char *m = integ_json_str(e, "module");

		if (m != NULL && strcmp(m, id) == 0)
			return e;
	}
	return NULL;
}

/* o[key] as an integer, def when absent or not a number. */
static inline long long
rt_int(json_object *o, const char *key, long long def)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_int) ||
	      json_object_is_type(v, json_type_double)))
		return def;
	return json_object_get_int64(v);
}

static inline const char *
rt_text(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

/* The runtime's view, as a snapshot (the caller puts it). */
struct rt_view {
	json_object *root;
	json_object *e;             /* rtapp's entry */
	const char *state;
	pid_t pid;
	long long restarts;
};

static inline void
rt_view_get(struct rt_view *v)
{
	v->root = rt_runtimes();
	v->e = rt_entry(v->root, RT_MODULE);
	ck_assert_msg(v->e != NULL, "runtimes has no entry for %s: %s",
	              RT_MODULE, rt_text(v->root));
	v->state = integ_json_str(v->e, "state");
	ck_assert_msg(v->state != NULL, "runtime without a state: %s",
	              rt_text(v->e));
	v->pid = (pid_t)rt_int(v->e, "pid", 0);
	v->restarts = rt_int(v->e, "restarts", -1);
}

static inline void
rt_view_put(struct rt_view *v)
{
	json_object_put(v->root);
	memset(v, 0, sizeof(*v));
}

/* Polls runtimes until rtapp's state is state and, when not_pid > 0, its
 * pid is another (a new process); at most timeout_ms. Fills v. */
static inline void
rt_wait_state(struct rt_view *v, const char *state, pid_t not_pid,
              int timeout_ms)
{
	uint64_t end = integ_ms_now() + (uint64_t)aster_test_timeout(timeout_ms);

	for (;;) {
		rt_view_get(v);
		if (strcmp(v->state, state) == 0 &&
		    (not_pid <= 0 || (v->pid > 0 && v->pid != not_pid)))
			return;
		if (integ_ms_now() >= end)
			ck_abort_msg("runtime not %s%s within %d ms: %s", state,
			             not_pid > 0 ? " with a new pid" : "",
			             timeout_ms, rt_text(v->e));
		rt_view_put(v);
		integ_sleep_ms(10);
	}
}

/* --- requests --------------------------------------------------------------- */

/* One request to the public listener on a connection of its own (safe
 * from any thread); headers may be NULL. 0 when a response came. */
static inline int
rt_http(const char *method, const char *path, const char *const *headers,
        const void *body, size_t len, struct aster_test_response *r)
{
	const char *h[16];
	struct aster_test_conn *c;
	int n = 0, rc;

	memset(r, 0, sizeof(*r));
	while (headers != NULL && headers[n] != NULL && n < 14) {
		h[n] = headers[n];
		n++;
	}
	h[n++] = "Connection: close";
	h[n] = NULL;
	c = aster_test_connect_address(E.public_addr, 0);
	if (c == NULL) {
		snprintf(r->error, sizeof(r->error), "connect: %s",
		         strerror(errno));
		return -1;
	}
	rc = aster_test_conn_request(c, method, path, h, body, len, r);
	aster_test_conn_close(c);
	return rc;
}

/* GET path, expecting status; r filled (the caller frees it). */
static inline void
rt_get_expect(const char *path, const char *const *headers, int status,
              struct aster_test_response *r)
{
	int rc = rt_http("GET", path, headers, NULL, 0, r);

	ck_assert_msg(rc == 0, "GET %s: no response: %s", path, r->error);
	ck_assert_msg(r->status == status, "GET %s: %d, expected %d; body: %s",
	              path, r->status, status, r->body);
}

/* testrt's JSON answer to GET path (200 expected; the caller puts it). */
static inline json_object *
rt_echo(const char *path, const char *const *headers)
{
	struct aster_test_response r;
	json_object *o;

	rt_get_expect(path, headers, 200, &r);
	o = integ_json(&r);
	aster_test_response_free(&r);
	return o;
}

/* The pid in testrt's answer to GET /rt/pid. */
static inline pid_t
rt_echo_pid(void)
{
	json_object *o = rt_echo("/rt/pid", NULL);
	pid_t pid = (pid_t)rt_int(o, "pid", 0);

	ck_assert_msg(pid > 0, "testrt's answer has no pid: %s", rt_text(o));
	json_object_put(o);
	return pid;
}

/* Polls GET path until it answers status, at most timeout_ms; r holds
 * the last answer (the caller frees it). 0, or -1 when it never did. */
static inline int
rt_poll_status(const char *path, int status, int timeout_ms,
               struct aster_test_response *r)
{
	uint64_t end = integ_ms_now() + (uint64_t)aster_test_timeout(timeout_ms);

	for (;;) {
		rt_http("GET", path, NULL, NULL, 0, r);
		if (r->status == status)
			return 0;
		if (integ_ms_now() >= end)
			return -1;
		aster_test_response_free(r);
		integ_sleep_ms(10);
	}
}

/* A 503 unavailable problem with a Retry-After of whole seconds, at
 * least 1 and at most max_s (0: no upper bound). Returns it. */
static inline long
rt_assert_unavailable(const struct aster_test_response *r, long max_s)
{
	const char *ra = aster_test_header(r, "Retry-After");
	char *end = NULL;
	long s;

	integ_assert_problem(r, 503, "unavailable");
	ck_assert_msg(ra != NULL, "503 without Retry-After: %s", r->body);
	s = strtol(ra, &end, 10);
	ck_assert_msg(end != ra && *end == '\0' && s >= 1,
	              "Retry-After '%s' is not a whole number of seconds >= 1",
	              ra);
	if (max_s > 0)
		ck_assert_msg(s <= max_s, "Retry-After %ld, expected at most "
		              "%ld", s, max_s);
	return s;
}

/* --- the log ---------------------------------------------------------------- */

/* The first line of asterd's stderr holding every one of the (up to 3,
 * NULL-terminated) texts, malloc'ed, or NULL. */
static inline char *
rt_log_line(const char *a, const char *b, const char *c)
{
	const char *log = aster_test_stderr(E.t), *p = log;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, n);

		ck_assert(line != NULL);
		if (strstr(line, a) != NULL &&
		    (b == NULL || strstr(line, b) != NULL) &&
		    (c == NULL || strstr(line, c) != NULL))
			return line;
		free(line);
		p += n;
		if (*p == '\n')
			p++;
	}
	return NULL;
}

/* Polls the log for a line holding a (and b, c when not NULL). */
static inline char *
rt_wait_log_line(const char *a, const char *b, const char *c,
                 int timeout_ms)
{
	uint64_t end = integ_ms_now() + (uint64_t)aster_test_timeout(timeout_ms);

	for (;;) {
		char *line = rt_log_line(a, b, c);

		if (line != NULL)
			return line;
		if (integ_ms_now() >= end)
			return NULL;
		integ_sleep_ms(20);
	}
}

/* Offset of text in asterd's stderr, -1 when absent. */
static inline long
rt_log_offset(const char *text)
{
	const char *log = aster_test_stderr(E.t), *p = strstr(log, text);

	return p != NULL ? (long)(p - log) : -1;
}

/* --- load --------------------------------------------------------------------- */

/* A thread sending GET path back to back until stop is set, counting
 * answers that are not 200 with body (NULL: any body). */
struct rt_load {
	const char *path;
	const char *body;
	volatile int *stop;
	pthread_t th;
	long ok, failed;
	char first[256];
};

static inline void *
rt_load_main(void *arg)
{
	struct rt_load *l = arg;

	while (!*l->stop) {
		struct aster_test_response r;
		int rc = rt_http("GET", l->path, NULL, NULL, 0, &r);

		if (rc == 0 && r.status == 200 &&
		    (l->body == NULL || strcmp(r.body, l->body) == 0)) {
			l->ok++;
		} else if (l->failed++ == 0) {
			snprintf(l->first, sizeof(l->first), "%d %.200s", r.status,
			         rc == 0 ? r.body : r.error);
		}
		aster_test_response_free(&r);
	}
	return NULL;
}

#endif
