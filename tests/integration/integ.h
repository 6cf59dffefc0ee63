/*
 * integ.h - what the integration tests share.
 *
 * An integration test is tests/integration/test_NAME.c, built into
 * build/tests/integration/test_NAME, linked with libastertest.a, check and
 * json-c, and run by tests/integration/run.sh from the top of the source
 * tree with ASTERD and ASTER_MODULE_PATH exported. Each test starts the
 * real asterd on a config dir of tests/integration/confs/ (or on a copy it
 * edits) through aster/testing.h, and talks HTTP to it.
 *
 * Helpers here assert with check, so they only run inside tests.
 */
#ifndef ASTER_TESTS_INTEG_H
#define ASTER_TESTS_INTEG_H

#include <aster/testing.h>
#include <check.h>
#include <json-c/json.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

/* Seconds a test case may take before check kills it (scaled by
 * CK_TIMEOUT_MULTIPLIER by check itself). */
#define INTEG_TCASE_TIMEOUT 60

/* tests/integration/confs/NAME, in a static buffer of the caller's. */
static inline const char *
integ_conf(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/tests/integration/confs/%s", unit_srcdir(),
	         name);
	return buf;
}

/* The module path: $ASTER_MODULE_PATH, else the build's modules and test
 * modules beside $ASTERD (or build/asterd). */
static inline const char *
integ_module_path(void)
{
	static char buf[PATH_MAX * 2 + 2];
	const char *mp = getenv("ASTER_MODULE_PATH");
	const char *asterd = getenv("ASTERD");
	const char *slash;
	int dirlen;

	if (mp != NULL && *mp != '\0')
		return mp;
	if (asterd == NULL || *asterd == '\0')
		asterd = "build/asterd";
	slash = strrchr(asterd, '/');
	dirlen = slash != NULL ? (int)(slash - asterd) : 1;
	if (slash == NULL)
		asterd = ".";
	snprintf(buf, sizeof(buf), "%.*s/modules:%.*s/tests/modules", dirlen,
	         asterd, dirlen, asterd);
	return buf;
}

/* Options with the module path set and env (NULL-terminated, may be
 * NULL) as the extra environment. */
static inline struct aster_test_options
integ_options(const char *const *env)
{
	struct aster_test_options o;

	memset(&o, 0, sizeof(o));
	o.module_path = integ_module_path();
	o.env = env;
	return o;
}

/* Starts asterd on dir or fails the test with asterd's stderr. */
static inline struct aster_test *
integ_start_dir(const char *dir, const char *const *env)
{
	struct aster_test_options o = integ_options(env);
	struct aster_test *t = aster_test_spawn(dir, &o);

	ck_assert_msg(t != NULL, "cannot run asterd: %s", strerror(errno));
	if (aster_test_wait_ready(t) != 0) {
		const char *why = aster_test_error(t);
		char *copy = strdup(why);

		aster_test_stop(t);
		ck_abort_msg("%s: %s\n--- asterd stderr ---\n%s", dir,
		             copy != NULL ? copy : why, aster_test_stderr(t));
	}
	return t;
}

/* The same for tests/integration/confs/NAME. */
static inline struct aster_test *
integ_start(const char *name, const char *const *env)
{
	char dir[PATH_MAX];

	return integ_start_dir(integ_conf(dir, sizeof(dir), name), env);
}

/* Fails the test when asterd's log holds a sanitizer report. */
static inline void
integ_assert_clean_log(struct aster_test *t)
{
	const char *log = aster_test_stderr(t);

	/* Sanitizers, and valgrind's memcheck (INTEG_VALGRIND=1), both
	 * report on stderr. */
	ck_assert_msg(strstr(log, "AddressSanitizer") == NULL &&
	              strstr(log, "LeakSanitizer") == NULL &&
	              strstr(log, "runtime error:") == NULL &&
	              strstr(log, "definitely lost") == NULL &&
	              strstr(log, "Invalid read") == NULL &&
	              strstr(log, "Invalid write") == NULL &&
	              strstr(log, "uninitialised") == NULL,
	              "sanitizer or memcheck report in asterd's log:\n%s",
	              log);
}

/* SIGTERM, expects exit 0 and a clean log, frees t. */
static inline void
integ_stop(struct aster_test *t)
{
	int rc = aster_test_stop(t);

	ck_assert_msg(rc == 0, "asterd exited with %d after SIGTERM, not 0; "
	              "stderr:\n%s", rc, aster_test_stderr(t));
	integ_assert_clean_log(t);
	aster_test_free(t);
}

/* One request; fails the test when no response came. */
static inline void
integ_request(struct aster_test *t, const char *scope, const char *method,
              const char *path, const char *const *headers, const char *body,
              struct aster_test_response *r)
{
	int rc = aster_test_request(t, scope, method, path, headers, body,
	                            body != NULL ? strlen(body) : 0, r);

	ck_assert_msg(rc == 0, "%s %s on the %s listener: %s", method, path,
	              scope, r->error);
}

/* GET path and expect status; returns with r filled. */
static inline void
integ_get_expect(struct aster_test *t, const char *scope, const char *path,
                 int status, struct aster_test_response *r)
{
	integ_request(t, scope, "GET", path, NULL, NULL, r);
	ck_assert_msg(r->status == status, "GET %s on the %s listener: %d, "
	              "expected %d; body: %s", path, scope, r->status, status,
	              r->body);
}

/* Parses r's body as a JSON object (the caller puts it). */
static inline json_object *
integ_json(const struct aster_test_response *r)
{
	json_object *o = json_tokener_parse(r->body != NULL ? r->body : "");

	ck_assert_msg(o != NULL && json_object_is_type(o, json_type_object),
	              "response body is not a JSON object: %s", r->body);
	return o;
}

/* o[key] as a string, or NULL when absent or not a string. */
static inline const char *
integ_json_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* 1-128 visible ASCII characters (SPEC 7.3). */
static inline int
integ_valid_request_id(const char *id)
{
	size_t n = 0;

	if (id == NULL)
		return 0;
	for (; id[n] != '\0'; n++)
		if ((unsigned char)id[n] < 0x21 || (unsigned char)id[n] > 0x7e)
			return 0;
	return n >= 1 && n <= 128;
}

/*
 * Checks the SPEC 7.2 shape of an error response: the status, the
 * application/problem+json type, a JSON body with type about:blank, the
 * status line's reason phrase as title, status (equal to the HTTP
 * status), code, and requestId equal to the X-Request-Id header.
 */
static inline void
integ_assert_problem(const struct aster_test_response *r, int status,
                     const char *code)
{
	const char *ct = aster_test_header(r, "Content-Type");
	const char *rid = aster_test_header(r, "X-Request-Id");
	json_object *o, *v;

	ck_assert_msg(r->status == status, "status %d, expected %d; body: %s",
	              r->status, status, r->body);
	ck_assert_msg(ct != NULL &&
	              strncmp(ct, "application/problem+json", 24) == 0,
	              "%d: Content-Type '%s', expected "
	              "application/problem+json", status, ct ? ct : "(none)");
	o = integ_json(r);
	ck_assert_msg(integ_json_str(o, "type") != NULL &&
	              strcmp(integ_json_str(o, "type"), "about:blank") == 0,
	              "problem 'type' is not about:blank: %s", r->body);
	/* With about:blank, the title is the status's phrase (RFC 9457). */
	ck_assert_msg(integ_json_str(o, "title") != NULL &&
	              strcmp(integ_json_str(o, "title"), r->reason) == 0,
	              "problem 'title' is not '%s': %s", r->reason, r->body);
	ck_assert_msg(json_object_object_get_ex(o, "status", &v) &&
	              json_object_is_type(v, json_type_int) &&
	              json_object_get_int(v) == status,
	              "problem 'status' is not %d: %s", status, r->body);
	ck_assert_msg(integ_json_str(o, "code") != NULL &&
	              strcmp(integ_json_str(o, "code"), code) == 0,
	              "problem 'code' is not '%s': %s", code, r->body);
	ck_assert_msg(rid != NULL && integ_valid_request_id(rid),
	              "%d without a valid X-Request-Id", status);
	ck_assert_msg(integ_json_str(o, "requestId") != NULL &&
	              strcmp(integ_json_str(o, "requestId"), rid) == 0,
	              "problem 'requestId' is not the X-Request-Id '%s': %s",
	              rid, r->body);
	if (json_object_object_get_ex(o, "detail", &v))
		ck_assert_msg(json_object_is_type(v, json_type_string),
		              "problem 'detail' is not a string: %s", r->body);
	json_object_put(o);
}

/* A fresh directory under $TMPDIR (malloc'ed path). */
static inline char *
integ_tempdir(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = malloc(PATH_MAX);

	ck_assert(dir != NULL);
	snprintf(dir, PATH_MAX, "%s/aster-integ-XXXXXX",
	         tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	return dir;
}

/* The contents of a file (malloc'ed, NUL-terminated; "" when missing). */
static inline char *
integ_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return strdup("");
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			ck_assert(buf != NULL);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/*
 * Sends one control-socket request line ({"command": ...}) to the unix
 * socket at path and returns the parsed answer, or NULL when the socket
 * could not be reached or the answer is not JSON.
 */
static inline json_object *
integ_control(const char *path, const char *request)
{
	char address[PATH_MAX + 8], line[65536];
	struct aster_test_conn *c;
	size_t len = 0;
	json_object *o = NULL;

	snprintf(address, sizeof(address), "unix:%s", path);
	c = aster_test_connect_address(address, 0);
	if (c == NULL)
		return NULL;
	if (aster_test_conn_send(c, request, strlen(request)) == 0 &&
	    aster_test_conn_send(c, "\n", 1) == 0) {
		while (len < sizeof(line) - 1) {
			long n = aster_test_conn_read(c, line + len,
			                              sizeof(line) - 1 - len, -1);

			if (n <= 0)
				break;
			len += (size_t)n;
			if (memchr(line, '\n', len) != NULL)
				break;
		}
		line[len] = '\0';
		o = json_tokener_parse(line);
	}
	aster_test_conn_close(c);
	return o;
}

/*
 * Spawns asterd on the config dir conf, waiting up to ready_timeout_ms
 * for it to be ready (0: the harness's default); fails the test with
 * asterd's stderr when it is not. The caller stops it (integ_stop).
 */
static inline struct aster_test *
integ_spawn_ready(const char *conf, int ready_timeout_ms)
{
	struct aster_test_options o = integ_options(NULL);
	struct aster_test *t;

	if (ready_timeout_ms > 0)
		o.ready_timeout_ms = ready_timeout_ms;
	t = aster_test_spawn(conf, &o);
	ck_assert_msg(t != NULL, "cannot run asterd: %s", strerror(errno));
	if (aster_test_wait_ready(t) != 0) {
		char *why = strdup(aster_test_error(t));

		aster_test_stop(t);
		ck_abort_msg("asterd did not become ready: %s\n--- asterd "
		             "stderr ---\n%s", why, aster_test_stderr(t));
	}
	return t;
}

/*
 * Writes conf/product.yaml: product id (name name, version 0.1.0) with two
 * listeners on 127.0.0.1:0, one for the scopes public, user and admin and
 * one for internal, the control socket at sock and shutdown_timeout_ms
 * 2000.
 */
static inline void
integ_write_product(const char *conf, const char *id, const char *name,
                    const char *sock)
{
	char product[PATH_MAX + 512];
	int w = snprintf(product, sizeof(product),
	                 "kind: product\n"
	                 "id: %s\n"
	                 "name: %s\n"
	                 "version: 0.1.0\n"
	                 "server:\n"
	                 "  listen:\n"
	                 "    - address: 127.0.0.1:0\n"
	                 "      scopes: [public, user, admin]\n"
	                 "    - address: 127.0.0.1:0\n"
	                 "      scopes: [internal]\n"
	                 "  control: \"%s\"\n"
	                 "  shutdown_timeout_ms: 2000\n", id, name, sock);

	ck_assert(w > 0 && (size_t)w < sizeof(product));
	ck_assert_int_eq(aster_test_write_file(conf, "product.yaml", product,
	                                       -1), 0);
}

/*
 * Writes conf/modules/probe.yaml: module `probe` with one GET route per
 * scope, each a `respond` handler answering 200 with the scope's name:
 * /t/public (public), /t/user (user), /gateway/v1/admin/probe (admin)
 * and, when internal is not 0, /gateway/v1/internal/probe (internal).
 */
static inline void
integ_write_probe(const char *conf, int internal)
{
	static const char probe[] =
	    "kind: module\n"
	    "id: probe\n"
	    "displayName: Probe\n"
	    "version: 0.1.0\n"
	    "routes:\n"
	    "  - id: route:probe.public\n"
	    "    scope: public\n"
	    "    methods: [GET]\n"
	    "    mountPath: /t/public\n"
	    "    handler: { respond: { status: 200, body: public } }\n"
	    "  - id: route:probe.user\n"
	    "    scope: user\n"
	    "    methods: [GET]\n"
	    "    mountPath: /t/user\n"
	    "    handler: { respond: { status: 200, body: user } }\n"
	    "  - id: route:probe.admin\n"
	    "    scope: admin\n"
	    "    methods: [GET]\n"
	    "    mountPath: /gateway/v1/admin/probe\n"
	    "    handler: { respond: { status: 200, body: admin } }\n";
	static const char probe_internal[] =
	    "  - id: route:probe.internal\n"
	    "    scope: internal\n"
	    "    methods: [GET]\n"
	    "    mountPath: /gateway/v1/internal/probe\n"
	    "    handler: { respond: { status: 200, body: internal } }\n";
	char yaml[sizeof(probe) + sizeof(probe_internal)];

	snprintf(yaml, sizeof(yaml), "%s%s", probe,
	         internal ? probe_internal : "");
	ck_assert_int_eq(aster_test_write_file(conf, "modules/probe.yaml",
	                                       yaml, -1), 0);
}

/* The database module's service `state` (provider gateway) and its
 * internal state routes, route:database.state.document (GET, PUT, DELETE
 * /gateway/v1/internal/state/{namespace}/{key}) and
 * route:database.state.list (GET /gateway/v1/internal/state/{namespace}),
 * as the YAML lines that end the module after its other services. */
#define INTEG_DATABASE_STATE_YAML \
	    "  - id: state\n" \
	    "    provider: gateway\n" \
	    "routes:\n" \
	    "  - id: route:database.state.document\n" \
	    "    scope: internal\n" \
	    "    methods: [GET, PUT, DELETE]\n" \
	    "    mountPath: /gateway/v1/internal/state/{namespace}/{key}\n" \
	    "    handler: { service: state, operation: state }\n" \
	    "  - id: route:database.state.list\n" \
	    "    scope: internal\n" \
	    "    methods: [GET]\n" \
	    "    mountPath: /gateway/v1/internal/state/{namespace}\n" \
	    "    handler: { service: state, operation: state-list }\n"

/* The database module's service `store` on PostgreSQL at dsn (pool_size
 * 4, connect_timeout_ms 3000, queue_timeout_ms 2000), as YAML lines for
 * integ_write_database, in buf. */
static inline const char *
integ_pg_store_yaml(char *buf, size_t len, const char *dsn)
{
	int w = snprintf(buf, len,
	                 "  - id: store\n"
	                 "    provider: postgres\n"
	                 "    config:\n"
	                 "      dsn: \"%s\"\n"
	                 "      pool_size: 4\n"
	                 "      connect_timeout_ms: 3000\n"
	                 "      queue_timeout_ms: 2000\n", dsn);

	ck_assert(w > 0 && (size_t)w < len);
	return buf;
}

/*
 * Writes conf/modules/database.yaml: module `database`, version 0.1.0,
 * providing state-store, whose services are store_yaml (YAML list items
 * under `services:`, such as "  - id: store\n    provider: sqlite\n...")
 * and, when state_api is not 0, INTEG_DATABASE_STATE_YAML.
 */
static inline void
integ_write_database(const char *conf, const char *store_yaml, int state_api)
{
	static const char head[] =
	    "kind: module\n"
	    "id: database\n"
	    "displayName: Database\n"
	    "version: 0.1.0\n"
	    "provides: [state-store]\n"
	    "services:\n";
	size_t len = sizeof(head) + strlen(store_yaml) +
	             sizeof(INTEG_DATABASE_STATE_YAML);
	char *yaml = malloc(len);

	ck_assert(yaml != NULL);
	snprintf(yaml, len, "%s%s%s", head, store_yaml,
	         state_api ? INTEG_DATABASE_STATE_YAML : "");
	ck_assert_int_eq(aster_test_write_file(conf, "modules/database.yaml",
	                                       yaml, -1), 0);
	free(yaml);
}

/* Whether text holds word, compared case-insensitively. */
static inline int
integ_has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (; *text != '\0'; text++)
		if (strncasecmp(text, word, n) == 0)
			return 1;
	return 0;
}

/* o[name] as JSON text ("null" when absent or null), in buf. */
static inline const char *
integ_json_text(json_object *o, const char *name, char *buf, size_t len)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || v == NULL)
		snprintf(buf, len, "null");
	else
		snprintf(buf, len, "%s", json_object_to_json_string_ext(v,
		         JSON_C_TO_STRING_PLAIN));
	return buf;
}

/* The asterctl beside $ASTERD (build/asterctl when it is unset), in
 * buf. */
static inline const char *
integ_asterctl_path(char *buf, size_t len)
{
	const char *asterd = getenv("ASTERD");
	const char *slash;

	if (asterd == NULL || *asterd == '\0')
		asterd = "build/asterd";
	slash = strrchr(asterd, '/');
	snprintf(buf, len, "%.*sasterctl",
	         slash != NULL ? (int)(slash - asterd + 1) : 0, asterd);
	return buf;
}

/* All of fd until EOF, malloc'ed and NUL-terminated; closes fd. */
static inline char *
integ_read_fd(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	ck_assert(buf != NULL);
	for (;;) {
		ssize_t got;

		if (cap - len < 1024) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert(buf != NULL);
		}
		got = read(fd, buf + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

/*
 * Runs the asterctl beside $ASTERD (integ_asterctl_path) with args
 * (NULL-terminated, 22 at most), as a child process without
 * ASTER_CONTROL_SOCKET and with env ("NAME=value", or NULL) added to its
 * environment. Its stdout lands in *out; its stderr in *err when err is
 * not NULL, else in *out with stdout (both malloc'ed). Waits for it and
 * returns its exit status (128 + the signal when one killed it).
 * asterctl writes little: stdout is read to its end before stderr, which
 * must stay under a pipe's capacity.
 */
static inline int
integ_asterctl(const char *const *args, const char *env, char **out,
               char **err)
{
	char path[PATH_MAX], *argv[24];
	int fds[2][2], st, n = 0;
	pid_t pid;

	argv[n++] = (char *)integ_asterctl_path(path, sizeof(path));
	while (*args != NULL && n < 23)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	ck_assert(pipe(fds[0]) == 0 && pipe(fds[1]) == 0);
	pid = fork();
	ck_assert(pid != -1);
	if (pid == 0) {
		dup2(fds[0][1], 1);
		dup2(err != NULL ? fds[1][1] : fds[0][1], 2);
		close(fds[0][0]);
		close(fds[0][1]);
		close(fds[1][0]);
		close(fds[1][1]);
		unsetenv("ASTER_CONTROL_SOCKET");
		if (env != NULL)
			putenv((char *)env);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[0][1]);
	close(fds[1][1]);
	*out = integ_read_fd(fds[0][0]);
	if (err != NULL)
		*err = integ_read_fd(fds[1][0]);
	else
		close(fds[1][0]);
	ck_assert(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* An API key as `asterctl keys create` made it. */
#define INTEG_TOKEN_MAX 512
struct integ_key {
	char id[64];
	char token[INTEG_TOKEN_MAX];
};

/*
 * `asterctl --socket SOCK keys create --role ROLE --name NAME [--spaces
 * SPACES]`: the token is the first line of its output, its id the 16
 * hex digits after "aster_".
 */
static inline void
integ_key_create(const char *sock, const char *role, const char *name,
                 const char *spaces, struct integ_key *k)
{
	const char *args[12] = {"--socket", sock, "keys", "create", "--role",
	                        role, "--name", name, NULL};
	char *out, *nl;
	int rc;

	if (spaces != NULL) {
		args[8] = "--spaces";
		args[9] = spaces;
		args[10] = NULL;
	}
	rc = integ_asterctl(args, NULL, &out, NULL);
	ck_assert_msg(rc == 0, "asterctl keys create: exit %d\n%s", rc, out);
	nl = strchr(out, '\n');
	ck_assert_msg(nl != NULL && strncmp(out, "aster_", 6) == 0 &&
	              nl - out > 23 && (size_t)(nl - out) < sizeof(k->token),
	              "asterctl keys create: no key on the first line:\n%s",
	              out);
	*nl = '\0';
	snprintf(k->token, sizeof(k->token), "%s", out);
	snprintf(k->id, sizeof(k->id), "%.16s", out + 6);
	free(out);
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline uint64_t
integ_ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The clock asterd's timers run on: libevent reads
 * CLOCK_MONOTONIC_COARSE (a tick of a few ms), so a 300 ms timer may
 * fire at 299 ms of the fine clock; "not before the timer" is a claim
 * on this one. */
static inline uint64_t
integ_loop_ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Sleeps ms milliseconds. */
static inline void
integ_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

#endif
