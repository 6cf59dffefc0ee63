/*
 * test_reload.c - SIGHUP reloads (SPEC 6, 12).
 *
 * Each test copies confs/reload to a temp dir, starts asterd on the copy,
 * edits it and sends SIGHUP. The module `stable` is in every version of
 * the config: its testlife service must never be stopped by a reload.
 * The control socket (server.control) answers `status` with the current
 * generation, which a rejected reload must leave alone.
 */
#include "integ.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

struct reload {
	char *conf;                 /* the edited copy */
	char *run;                  /* control socket, life log */
	char env[PATH_MAX + 32];
	char resolv_env[PATH_MAX + 32];
	const char *envv[3];
	char control[PATH_MAX];
	char life[PATH_MAX];
	struct aster_test *t;
};

static void reload_prepare(struct reload *rl);
static void reload_launch(struct reload *rl);

static void
reload_start(struct reload *rl)
{
	reload_prepare(rl);
	reload_launch(rl);
}

/* The copy and the run dir, before asterd starts. */
static void
reload_prepare(struct reload *rl)
{
	char src[PATH_MAX];

	rl->conf = aster_test_copy_dir(integ_conf(src, sizeof(src), "reload"));
	ck_assert_msg(rl->conf != NULL, "copying %s: %s", src, strerror(errno));
	rl->run = integ_tempdir();
	snprintf(rl->env, sizeof(rl->env), "ASTER_TEST_RUN=%s", rl->run);
	snprintf(rl->control, sizeof(rl->control), "%s/control.sock", rl->run);
	snprintf(rl->life, sizeof(rl->life), "%s/life.log", rl->run);
	ck_assert(aster_test_write_file(rl->run, "life.log", "", 0) == 0);
	rl->envv[0] = rl->env;
	rl->envv[1] = NULL;
	rl->envv[2] = NULL;
}

static void
reload_launch(struct reload *rl)
{
	rl->t = integ_start_dir(rl->conf, rl->envv);
}

static void
reload_done(struct reload *rl)
{
	integ_stop(rl->t);
	aster_test_remove_tree(rl->conf);
	aster_test_remove_tree(rl->run);
	free(rl->conf);
	free(rl->run);
}

/* The module `extra`: a route /t/extra answering body, a testlife service. */
static void
write_extra(struct reload *rl, const char *body)
{
	char yaml[1024];

	snprintf(yaml, sizeof(yaml),
	         "kind: module\nid: extra\ndisplayName: Extra\nversion: 1.0.0\n"
	         "services:\n  - id: life\n    provider: testlife\n"
	         "    config: { log: \"${ASTER_TEST_RUN}/life.log\", "
	         "label: extra }\n"
	         "routes:\n  - id: route:extra.get\n    scope: public\n"
	         "    methods: [GET]\n    mountPath: /t/extra\n"
	         "    handler: { respond: { status: 200, body: \"%s\", "
	         "content_type: text/plain } }\n", body);
	ck_assert(aster_test_write_file(rl->conf, "modules/extra.yaml", yaml,
	                                -1) == 0);
}

/* Polls GET path until it answers status (and body, unless NULL), for at
 * most timeout_ms. Returns 0, or -1 with the last status in *last. */
static int
wait_for(struct aster_test *t, const char *path, int status,
         const char *body, int timeout_ms, int *last)
{
	uint64_t end = integ_ms_now() + (uint64_t)aster_test_timeout(timeout_ms);

	for (;;) {
		struct aster_test_response r;
		int ok;

		aster_test_request(t, "public", "GET", path, NULL, NULL, 0, &r);
		*last = r.status;
		ok = r.status == status &&
		     (body == NULL || (r.body != NULL &&
		                       strcmp(r.body, body) == 0));
		aster_test_response_free(&r);
		if (ok)
			return 0;
		if (integ_ms_now() >= end)
			return -1;
		integ_sleep_ms(20);
	}
}

/* The current generation from the control socket's status, -1 when it
 * cannot be had. */
static long
generation(struct reload *rl)
{
	json_object *o = integ_control(rl->control, "{\"command\":\"status\"}");
	json_object *g;
	long n = -1;

	if (o != NULL && json_object_object_get_ex(o, "generation", &g) &&
	    json_object_is_type(g, json_type_int))
		n = (long)json_object_get_int64(g);
	json_object_put(o);
	return n;
}

static void
assert_generation(struct reload *rl, long want)
{
	long g = generation(rl);

	ck_assert_msg(g == want, "control status: generation %ld, expected %ld",
	              g, want);
}

static int
count_lines(const char *log, const char *line)
{
	size_t n = strlen(line);
	const char *p = log;
	int count = 0;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == log || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			count++;
		p += n;
	}
	return count;
}

static void
assert_life(struct reload *rl, const char *line, int times)
{
	char *log = integ_read_file(rl->life);
	int n = count_lines(log, line);

	ck_assert_msg(n == times, "'%s' is %d times in the life log, expected "
	              "%d:\n%s", line, n, times, log);
	free(log);
}

START_TEST(test_reload_adds_and_removes_routes)
{
	struct reload rl;
	struct aster_test_conn *kept;
	struct aster_test_response r;
	int last;

	reload_start(&rl);
	assert_generation(&rl, 1);
	integ_get_expect(rl.t, "public", "/t/extra", 404, &r);
	aster_test_response_free(&r);

	/* A keep-alive connection from before the reload. */
	kept = aster_test_connect(rl.t, "public");
	ck_assert(kept != NULL);
	ck_assert(aster_test_conn_request(kept, "GET", "/t/stable", NULL, NULL,
	                                  0, &r) == 0);
	ck_assert_int_eq(r.status, 200);
	aster_test_response_free(&r);

	write_extra(&rl, "extra one");
	ck_assert(aster_test_signal(rl.t, SIGHUP) == 0);
	ck_assert_msg(wait_for(rl.t, "/t/extra", 200, "extra one", 5000,
	              &last) == 0, "the added route answers %d after SIGHUP; "
	              "stderr:\n%s", last, aster_test_stderr(rl.t));
	assert_generation(&rl, 2);
	assert_life(&rl, "start extra", 1);
	assert_life(&rl, "stop stable", 0);
	assert_life(&rl, "start stable", 1);

	/* The listener did not change: the old connection still works. */
	ck_assert_msg(aster_test_conn_request(kept, "GET", "/t/extra", NULL,
	              NULL, 0, &r) == 0,
	              "keep-alive connection broken by the reload: %s", r.error);
	ck_assert_int_eq(r.status, 200);
	aster_test_response_free(&r);
	aster_test_conn_close(kept);

	/* Remove it again. */
	ck_assert(aster_test_remove_file(rl.conf, "modules/extra.yaml") == 0);
	ck_assert(aster_test_signal(rl.t, SIGHUP) == 0);
	ck_assert_msg(wait_for(rl.t, "/t/extra", 404, NULL, 5000, &last) == 0,
	              "the removed route answers %d after SIGHUP", last);
	assert_generation(&rl, 3);
	assert_life(&rl, "stop extra", 1);
	assert_life(&rl, "stop stable", 0);
	integ_get_expect(rl.t, "public", "/t/stable", 200, &r);
	aster_test_response_free(&r);
	{
		struct aster_test_response ready;
		json_object *o, *mods, *v;

		integ_get_expect(rl.t, "public", "/gateway/v1/ready", 200, &ready);
		o = integ_json(&ready);
		ck_assert(json_object_object_get_ex(o, "modules", &mods));
		ck_assert_msg(!json_object_object_get_ex(mods, "extra", &v),
		              "/ready still lists the removed module: %s",
		              ready.body);
		json_object_put(o);
		aster_test_response_free(&ready);
	}

	reload_done(&rl);
}
END_TEST

START_TEST(test_reload_restarts_changed_module)
{
	struct reload rl;
	int last;

	reload_start(&rl);
	write_extra(&rl, "version one");
	ck_assert(aster_test_signal(rl.t, SIGHUP) == 0);
	ck_assert_msg(wait_for(rl.t, "/t/extra", 200, "version one", 5000,
	              &last) == 0, "added route: %d", last);
	write_extra(&rl, "version two");
	ck_assert(aster_test_signal(rl.t, SIGHUP) == 0);
	ck_assert_msg(wait_for(rl.t, "/t/extra", 200, "version two", 5000,
	              &last) == 0, "changed route: %d", last);
	assert_generation(&rl, 3);
	/* The changed module was restarted, the unchanged one was not. */
	assert_life(&rl, "start extra", 2);
	assert_life(&rl, "stop extra", 1);
	assert_life(&rl, "stop stable", 0);
	{
		char *log = integ_read_file(rl.life);
		const char *stop = strstr(log, "stop extra\n");
		const char *second = strstr(log, "start extra\n");

		ck_assert(second != NULL);
		second = strstr(second + 1, "start extra\n");
		ck_assert_msg(stop != NULL && second != NULL && stop < second,
		              "the old extra was not stopped before the new one "
		              "started:\n%s", log);
		free(log);
	}
	reload_done(&rl);
}
END_TEST

/* A rejected reload: diagnostics in the log, nothing else changes. */
static void
bad_reload(struct reload *rl, const char *file, const char *text,
           const char *code)
{
	struct aster_test_response r;
	char *log;

	ck_assert(aster_test_write_file(rl->conf, file, text, -1) == 0);
	ck_assert(aster_test_signal(rl->t, SIGHUP) == 0);
	ck_assert_msg(aster_test_wait_stderr(rl->t, code,
	              aster_test_timeout(5000)) == 0,
	              "the rejected reload logged no '%s' diagnostic:\n%s",
	              code, aster_test_stderr(rl->t));
	integ_sleep_ms(100);
	ck_assert_msg(aster_test_wait(rl->t, 0) == -1,
	              "asterd exited on a bad reload: %d",
	              aster_test_wait(rl->t, 0));
	integ_get_expect(rl->t, "public", "/t/stable", 200, &r);
	ck_assert_str_eq(r.body, "stable");
	aster_test_response_free(&r);
	integ_get_expect(rl->t, "public", "/t/extra", 200, &r);
	ck_assert_str_eq(r.body, "kept");
	aster_test_response_free(&r);
	integ_get_expect(rl->t, "public", "/gateway/v1/ready", 200, &r);
	aster_test_response_free(&r);
	assert_generation(rl, 2);
	log = integ_read_file(rl->life);
	ck_assert_msg(strstr(log, "stop") == NULL && strstr(log, "never") ==
	              NULL, "a bad reload stopped or started modules:\n%s", log);
	free(log);
	ck_assert(aster_test_remove_file(rl->conf, file) == 0);
}

START_TEST(test_bad_reload_changes_nothing)
{
	struct reload rl;
	int last;

	reload_start(&rl);
	write_extra(&rl, "kept");
	ck_assert(aster_test_signal(rl.t, SIGHUP) == 0);
	ck_assert_msg(wait_for(rl.t, "/t/extra", 200, "kept", 5000, &last) ==
	              0, "added route: %d", last);
	assert_generation(&rl, 2);

	bad_reload(&rl, "modules/never.yaml",
	           "kind: module\nid: never\ndisplayName: Never\n"
	           "version: 1.0.0\ncolour: blue\n"
	           "services:\n  - id: life\n    provider: testlife\n"
	           "    config: { log: \"${ASTER_TEST_RUN}/life.log\", "
	           "label: never }\n", "unknown-key");
	bad_reload(&rl, "modules/never.yaml",
	           "kind: module\nid: [never\n", "yaml-syntax");
	bad_reload(&rl, "modules/never.yaml",
	           "kind: module\nid: never\ndisplayName: Never\n"
	           "version: 1.0.0\nrequires: [nowhere]\n",
	           "missing-dependency");

	/* After all that, a good reload still works. */
	ck_assert(aster_test_remove_file(rl.conf, "modules/extra.yaml") == 0);
	ck_assert(aster_test_signal(rl.t, SIGHUP) == 0);
	ck_assert_msg(wait_for(rl.t, "/t/extra", 404, NULL, 5000, &last) == 0,
	              "reload after rejected ones: /t/extra answers %d", last);
	assert_generation(&rl, 3);
	reload_done(&rl);
}
END_TEST

START_TEST(test_reload_through_control_socket)
{
	struct reload rl;
	json_object *o, *ok;
	int last;

	reload_start(&rl);
	write_extra(&rl, "by control");
	o = integ_control(rl.control, "{\"command\":\"reload\"}");
	ck_assert_msg(o != NULL, "no JSON answer to reload on %s", rl.control);
	ck_assert_msg(json_object_object_get_ex(o, "ok", &ok) &&
	              json_object_get_boolean(ok),
	              "reload answered %s", json_object_to_json_string(o));
	json_object_put(o);
	ck_assert_msg(wait_for(rl.t, "/t/extra", 200, "by control", 5000,
	              &last) == 0, "route after control reload: %d", last);

	ck_assert(aster_test_write_file(rl.conf, "modules/never.yaml",
	          "kind: module\nid: never\ncolour: blue\n", -1) == 0);
	o = integ_control(rl.control, "{\"command\":\"reload\"}");
	ck_assert_msg(o != NULL, "no JSON answer to a bad reload");
	ck_assert_msg(json_object_object_get_ex(o, "ok", &ok) &&
	              !json_object_get_boolean(ok),
	              "a bad reload answered %s", json_object_to_json_string(o));
	ck_assert_msg(strstr(json_object_to_json_string(o), "unknown-key") !=
	              NULL, "the rejected reload's answer lacks its "
	              "diagnostics: %s", json_object_to_json_string(o));
	json_object_put(o);
	assert_generation(&rl, 2);
	reload_done(&rl);
}
END_TEST

/* Limits come from the product manifest: a reload that changes them
 * applies to new requests and restarts no module. */
START_TEST(test_reload_changes_limits)
{
	struct reload rl;
	struct aster_test_response r;
	char body[600], *product, *p;
	uint64_t end;

	reload_start(&rl);
	memset(body, 'b', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	integ_request(rl.t, "public", "POST", "/t/stable", NULL, body, &r);
	ck_assert_msg(r.status == 201, "600-byte POST: %d", r.status);
	aster_test_response_free(&r);

	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/product.yaml", rl.conf);
		product = integ_read_file(path);
	}
	p = strstr(product, "  shutdown_timeout_ms:");
	ck_assert(p != NULL);
	{
		char *edited;

		ck_assert(asprintf(&edited, "%.*s  limits:\n"
		          "    max_body_bytes: 100\n%s", (int)(p - product),
		          product, p) > 0);
		ck_assert(aster_test_write_file(rl.conf, "product.yaml", edited,
		                                -1) == 0);
		free(edited);
	}
	free(product);
	ck_assert(aster_test_signal(rl.t, SIGHUP) == 0);
	end = integ_ms_now() + (uint64_t)aster_test_timeout(5000);
	for (;;) {
		integ_request(rl.t, "public", "POST", "/t/stable", NULL, body, &r);
		if (r.status == 413 || integ_ms_now() >= end)
			break;
		aster_test_response_free(&r);
		integ_sleep_ms(20);
	}
	integ_assert_problem(&r, 413, "payload-too-large");
	aster_test_response_free(&r);
	assert_generation(&rl, 2);
	assert_life(&rl, "stop stable", 0);
	reload_done(&rl);
}
END_TEST

/* A valid configuration whose new module fails to start: asterd keeps
 * running and serving, names the module and the cause. */
START_TEST(test_reload_module_start_failure)
{
	struct reload rl;
	struct aster_test_response r;

	reload_start(&rl);
	ck_assert(aster_test_write_file(rl.conf, "modules/sick.yaml",
	          "kind: module\nid: sick\ndisplayName: Sick\nversion: 1.0.0\n"
	          "services:\n  - id: life\n    provider: testlife\n"
	          "    config:\n      log: \"${ASTER_TEST_RUN}/life.log\"\n"
	          "      label: sick\n      fail: out of coffee\n"
	          "routes:\n  - id: route:sick.get\n    scope: public\n"
	          "    methods: [GET]\n    mountPath: /t/sick\n"
	          "    handler: { respond: { status: 200, body: sick } }\n",
	          -1) == 0);
	ck_assert(aster_test_signal(rl.t, SIGHUP) == 0);
	ck_assert_msg(aster_test_wait_stderr(rl.t, "out of coffee",
	              aster_test_timeout(5000)) == 0,
	              "the failed start on reload was not logged:\n%s",
	              aster_test_stderr(rl.t));
	ck_assert_msg(strstr(aster_test_stderr(rl.t), "sick") != NULL,
	              "the log does not name the module");
	integ_sleep_ms(100);
	ck_assert_msg(aster_test_wait(rl.t, 0) == -1, "asterd exited (%d) "
	              "when a module failed to start on reload",
	              aster_test_wait(rl.t, 0));
	integ_get_expect(rl.t, "public", "/t/stable", 200, &r);
	aster_test_response_free(&r);
	integ_request(rl.t, "public", "GET", "/t/sick", NULL, NULL, &r);
	integ_assert_problem(&r, 503, "unavailable");
	aster_test_response_free(&r);
	assert_life(&rl, "stop stable", 0);
	reload_done(&rl);
}
END_TEST

/* In-flight requests finish on the table they started on: a download
 * whose route a reload removes still completes. */
START_TEST(test_reload_in_flight_download)
{
	static const char req[] = "GET /files/big.bin HTTP/1.1\r\nHost: x\r\n"
	                          "\r\n";
	const size_t size = 8u * 1024 * 1024;
	struct reload rl;
	struct aster_test_conn *c;
	char *big, files_dir[PATH_MAX], head[4096];
	size_t got = 0, i, hlen = 0;
	int small = 16384, last;

	reload_prepare(&rl);
	big = malloc(size);
	ck_assert(big != NULL);
	for (i = 0; i < size; i++)
		big[i] = (char)('a' + i % 26);
	snprintf(files_dir, sizeof(files_dir), "%s/files", rl.run);
	ck_assert(aster_test_write_file(files_dir, "big.bin", big, (long)size) ==
	          0);
	ck_assert(aster_test_write_file(rl.conf, "modules/files.yaml",
	          "kind: module\nid: files\ndisplayName: Files\n"
	          "version: 1.0.0\nroutes:\n  - id: route:files.get\n"
	          "    scope: public\n    methods: [GET]\n"
	          "    mountPath: /files\n    match: prefix\n"
	          "    handler: { static: { root: \"${ASTER_TEST_RUN}/files\" } "
	          "}\n", -1) == 0);
	reload_launch(&rl);

	c = aster_test_connect(rl.t, "public");
	ck_assert(c != NULL);
	setsockopt(aster_test_conn_fd(c), SOL_SOCKET, SO_RCVBUF, &small,
	           sizeof(small));
	ck_assert(aster_test_conn_send(c, req, sizeof(req) - 1) == 0);
	while (hlen < 4 || memcmp(head + hlen - 4, "\r\n\r\n", 4) != 0) {
		ck_assert(hlen < sizeof(head));
		ck_assert(aster_test_conn_read(c, head + hlen, 1, -1) == 1);
		hlen++;
	}
	ck_assert_msg(memcmp(head, "HTTP/1.1 200", 12) == 0, "%.40s", head);

	ck_assert(aster_test_remove_file(rl.conf, "modules/files.yaml") == 0);
	ck_assert(aster_test_signal(rl.t, SIGHUP) == 0);
	ck_assert_msg(wait_for(rl.t, "/files/big.bin", 404, NULL, 5000,
	              &last) == 0, "the removed route answers %d", last);

	while (got < size) {
		char buf[65536];
		long n = aster_test_conn_read(c, buf, sizeof(buf), -1);

		ck_assert_msg(n > 0, "the download broke off at %zu of %zu bytes "
		              "after a reload removed its route", got, size);
		ck_assert_msg(memcmp(buf, big + got, (size_t)n) == 0,
		              "wrong bytes near %zu", got);
		got += (size_t)n;
	}
	aster_test_conn_close(c);
	free(big);
	reload_done(&rl);
}
END_TEST

/* --- listeners on host names ---------------------------------------------- */

/* The product file with a listener for address (public) added. */
static void
add_listener(struct reload *rl, const char *address)
{
	char path[PATH_MAX], *product, *p, *edited;

	snprintf(path, sizeof(path), "%s/product.yaml", rl->conf);
	product = integ_read_file(path);
	p = strstr(product, "  control:");
	ck_assert(p != NULL);
	ck_assert(asprintf(&edited, "%.*s    - address: %s\n"
	          "      scopes: [public]\n%s", (int)(p - product), product,
	          address, p) > 0);
	ck_assert(aster_test_write_file(rl->conf, "product.yaml", edited,
	                                -1) == 0);
	free(edited);
	free(product);
}

/* The addresses of the control status's listeners, in *addr (up to 4);
 * their count. */
static int
listeners(struct reload *rl, char addr[][64])
{
	json_object *o = integ_control(rl->control, "{\"command\":\"status\"}");
	json_object *a, *l, *v;
	int i, n = 0;

	ck_assert(o != NULL && json_object_object_get_ex(o, "listeners", &a));
	for (i = 0; i < (int)json_object_array_length(a) && n < 4; i++) {
		l = json_object_array_get_idx(a, (size_t)i);
		ck_assert(json_object_object_get_ex(l, "address", &v));
		snprintf(addr[n++], 64, "%s", json_object_get_string(v));
	}
	json_object_put(o);
	return n;
}

/* A listener on `localhost` added by a reload: looked up (in /etc/hosts)
 * without blocking, bound, and served. */
START_TEST(test_reload_adds_listener_by_host_name)
{
	struct reload rl;
	struct aster_test_conn *c;
	struct aster_test_response r;
	json_object *o, *ok;
	char addr[4][64];
	const char *added = NULL;
	int i, n;

	reload_start(&rl);
	ck_assert_int_eq(listeners(&rl, addr), 1);
	add_listener(&rl, "localhost:0");
	o = integ_control(rl.control, "{\"command\":\"reload\"}");
	ck_assert_msg(o != NULL && json_object_object_get_ex(o, "ok", &ok) &&
	              json_object_get_boolean(ok), "reload answered %s",
	              o ? json_object_to_json_string(o) : "nothing");
	json_object_put(o);
	assert_generation(&rl, 2);
	n = listeners(&rl, addr);
	ck_assert_int_eq(n, 2);
	for (i = 0; i < n; i++)
		if (strcmp(addr[i], aster_test_listener(rl.t, 0, NULL)) != 0)
			added = addr[i];
	ck_assert_msg(added != NULL && strncmp(added, "127.0.0.1:", 10) == 0,
	              "localhost:0 bound as %s", added ? added : "(none)");
	c = aster_test_connect_address(added, 0);
	ck_assert_msg(c != NULL, "cannot connect to %s", added);
	ck_assert(aster_test_conn_request(c, "GET", "/t/stable", NULL, NULL, 0,
	                                  &r) == 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "stable");
	aster_test_response_free(&r);
	aster_test_conn_close(c);
	reload_done(&rl);
}
END_TEST

/*
 * A name server on 127.0.0.1 (a child process) that holds every query
 * until the parent closes *release, then answers NXDOMAIN; it writes a
 * byte on *seen for the first query. Returns its pid; *port its port.
 */
static pid_t
slow_dns_start(int *port, int *seen, int *release)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int seen_pipe[2], release_pipe[2];
	pid_t pid;

	ck_assert(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	ck_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	*port = ntohs(sa.sin_port);
	ck_assert(pipe(seen_pipe) == 0 && pipe(release_pipe) == 0);
	pid = fork();
	ck_assert(pid != -1);
	if (pid == 0) {
		struct {
			unsigned char q[512];
			ssize_t n;
			struct sockaddr_storage from;
			socklen_t fromlen;
		} held[32];
		int nheld = 0, released = 0, i;

		close(seen_pipe[0]);
		close(release_pipe[1]);
		for (;;) {
			struct pollfd p[2] = {{fd, POLLIN, 0},
			                      {release_pipe[0], POLLIN, 0}};

			if (poll(p, released ? 1 : 2, -1) < 0)
				continue;
			if (!released && p[1].revents != 0)
				released = 1;
			if (p[0].revents != 0 && nheld < 32) {
				held[nheld].fromlen = sizeof(held[nheld].from);
				held[nheld].n = recvfrom(fd, held[nheld].q,
				    sizeof(held[nheld].q), 0,
				    (struct sockaddr *)&held[nheld].from,
				    &held[nheld].fromlen);
				if (held[nheld].n >= 12) {
					if (nheld == 0 &&
					    write(seen_pipe[1], "q", 1) != 1)
						_exit(2);
					nheld++;
				}
			}
			for (i = 0; released && i < nheld; i++) {
				unsigned char *q = held[i].q;

				/* The query echoed as a reply: QR, RA,
				 * NXDOMAIN; no records. */
				q[2] = (unsigned char)(0x80 | (q[2] & 0x79));
				q[3] = 0x83;
				memset(q + 6, 0, 6);
				sendto(fd, q, (size_t)held[i].n, 0,
				       (struct sockaddr *)&held[i].from,
				       held[i].fromlen);
			}
			if (released)
				nheld = 0;
		}
	}
	close(fd);
	close(seen_pipe[1]);
	close(release_pipe[0]);
	*seen = seen_pipe[0];
	*release = release_pipe[1];
	return pid;
}

/*
 * A listener on a name that does not resolve: while the name server
 * sits on the question, the daemon serves requests and answers the
 * control socket (a second reload is refused as under way); then the
 * reload is rejected, naming the host, and nothing changed.
 */
START_TEST(test_reload_unresolvable_listener)
{
	struct reload rl;
	struct aster_test_conn *ctl;
	struct aster_test_response r;
	struct pollfd p;
	char addr[4][64], resolv[128], line[4096], path[PATH_MAX + 8];
	size_t len = 0;
	json_object *o, *v;
	int port, seen, release, st;
	uint64_t t0;
	pid_t dns;

	reload_prepare(&rl);
	dns = slow_dns_start(&port, &seen, &release);
	snprintf(resolv, sizeof(resolv), "nameserver 127.0.0.1:%d\n"
	         "options timeout:30 attempts:1\n", port);
	ck_assert(aster_test_write_file(rl.run, "resolv.conf", resolv, -1) ==
	          0);
	snprintf(rl.resolv_env, sizeof(rl.resolv_env),
	         "ASTER_RESOLV_CONF=%s/resolv.conf", rl.run);
	rl.envv[1] = rl.resolv_env;
	reload_launch(&rl);

	add_listener(&rl, "no-such-host.invalid:8080");
	snprintf(path, sizeof(path), "unix:%s", rl.control);
	ctl = aster_test_connect_address(path, 0);
	ck_assert(ctl != NULL);
	ck_assert(aster_test_conn_send(ctl, "{\"command\":\"reload\"}\n",
	                               21) == 0);
	p.fd = seen;
	p.events = POLLIN;
	ck_assert_msg(poll(&p, 1, aster_test_timeout(5000)) == 1,
	              "the name server got no question:\n%s",
	              aster_test_stderr(rl.t));

	/* The lookup is under way: everything else is still answered. */
	t0 = integ_ms_now();
	integ_get_expect(rl.t, "public", "/t/stable", 200, &r);
	ck_assert_str_eq(r.body, "stable");
	aster_test_response_free(&r);
	assert_generation(&rl, 1);
	o = integ_control(rl.control, "{\"command\":\"reload\"}");
	ck_assert_msg(o != NULL && strstr(json_object_to_json_string(o),
	              "a reload is already under way") != NULL,
	              "a second reload during the lookup answered %s",
	              o ? json_object_to_json_string(o) : "nothing");
	json_object_put(o);
	ck_assert_msg(integ_ms_now() - t0 < (uint64_t)aster_test_timeout(2000),
	              "requests during the lookup took %llu ms",
	              (unsigned long long)(integ_ms_now() - t0));
	ck_assert_msg(aster_test_conn_read(ctl, line, sizeof(line) - 1, 0) ==
	              -1, "the reload answered before its lookup did");

	close(release);
	while (len == 0 || memchr(line, '\n', len) == NULL) {
		long n = aster_test_conn_read(ctl, line + len,
		                              sizeof(line) - 1 - len, -1);

		ck_assert_msg(n > 0, "no answer to the reload");
		len += (size_t)n;
	}
	line[len] = '\0';
	aster_test_conn_close(ctl);
	o = json_tokener_parse(line);
	ck_assert_msg(o != NULL && json_object_object_get_ex(o, "ok", &v) &&
	              !json_object_get_boolean(v), "reload answered %s", line);
	ck_assert(json_object_object_get_ex(o, "error", &v));
	ck_assert_msg(strstr(json_object_get_string(v), "cannot listen on "
	              "no-such-host.invalid:8080: cannot resolve host name "
	              "\"no-such-host.invalid\"") != NULL, "error: %s",
	              json_object_get_string(v));
	json_object_put(o);

	assert_generation(&rl, 1);
	ck_assert_int_eq(listeners(&rl, addr), 1);
	integ_get_expect(rl.t, "public", "/t/stable", 200, &r);
	aster_test_response_free(&r);
	assert_life(&rl, "stop stable", 0);
	kill(dns, SIGKILL);
	waitpid(dns, &st, 0);
	close(seen);
	reload_done(&rl);
}
END_TEST

/* SIGTERM while a reload waits for a name: the reload is refused (the
 * control client gets that answer) and asterd stops cleanly. */
START_TEST(test_stop_during_lookup)
{
	struct reload rl;
	struct aster_test_conn *ctl;
	struct pollfd p;
	char resolv[128], line[4096], path[PATH_MAX + 8];
	size_t len = 0;
	json_object *o, *v;
	int port, seen, release, st, rc;
	pid_t dns;

	reload_prepare(&rl);
	dns = slow_dns_start(&port, &seen, &release);
	snprintf(resolv, sizeof(resolv), "nameserver 127.0.0.1:%d\n"
	         "options timeout:30 attempts:1\n", port);
	ck_assert(aster_test_write_file(rl.run, "resolv.conf", resolv, -1) ==
	          0);
	snprintf(rl.resolv_env, sizeof(rl.resolv_env),
	         "ASTER_RESOLV_CONF=%s/resolv.conf", rl.run);
	rl.envv[1] = rl.resolv_env;
	reload_launch(&rl);

	add_listener(&rl, "no-such-host.invalid:8080");
	snprintf(path, sizeof(path), "unix:%s", rl.control);
	ctl = aster_test_connect_address(path, 0);
	ck_assert(ctl != NULL);
	ck_assert(aster_test_conn_send(ctl, "{\"command\":\"reload\"}\n",
	                               21) == 0);
	p.fd = seen;
	p.events = POLLIN;
	ck_assert_msg(poll(&p, 1, aster_test_timeout(5000)) == 1,
	              "the name server got no question");
	ck_assert(aster_test_signal(rl.t, SIGTERM) == 0);
	while (len == 0 || memchr(line, '\n', len) == NULL) {
		long n = aster_test_conn_read(ctl, line + len,
		                              sizeof(line) - 1 - len, -1);

		ck_assert_msg(n > 0, "no answer to the reload when asterd "
		              "stopped:\n%s", aster_test_stderr(rl.t));
		len += (size_t)n;
	}
	line[len] = '\0';
	aster_test_conn_close(ctl);
	o = json_tokener_parse(line);
	ck_assert_msg(o != NULL && json_object_object_get_ex(o, "error", &v) &&
	              strcmp(json_object_get_string(v), "asterd is stopping") ==
	              0, "reload answered %s", line);
	json_object_put(o);
	rc = aster_test_wait(rl.t, aster_test_timeout(10000));
	ck_assert_msg(rc == 0, "exit %d; stderr:\n%s", rc,
	              aster_test_stderr(rl.t));
	close(release);
	kill(dns, SIGKILL);
	waitpid(dns, &st, 0);
	close(seen);
	reload_done(&rl);
}
END_TEST

/* --- reload under load ----------------------------------------------------- */

#define LOAD_CLIENTS 4
#define LOAD_MAX_REQUESTS 20000
#define LOAD_MAX_MS 30000

/*
 * A client process: GET /t/stable until the parent closes stop_fd's other
 * end, or the bounds. Every third request uses a new connection, the
 * others a keep-alive one. Writes "OK FAILED FIRST-ERROR\n" to out_fd.
 */
static void
load_client(struct aster_test *t, int stop_fd, int out_fd)
{
	struct aster_test_conn *c = NULL;
	uint64_t end = integ_ms_now() + LOAD_MAX_MS;
	long ok = 0, failed = 0, i;
	char first[300] = "-", line[400];
	int n;

	for (i = 0; i < LOAD_MAX_REQUESTS && integ_ms_now() < end; i++) {
		struct pollfd p = {stop_fd, POLLIN, 0};
		struct aster_test_response r;
		int rc;

		if (poll(&p, 1, 0) > 0)
			break;
		if (i % 3 == 0) {
			rc = aster_test_request(t, "public", "GET", "/t/stable",
			                        NULL, NULL, 0, &r);
		} else {
			if (c == NULL)
				c = aster_test_connect(t, "public");
			if (c == NULL) {
				rc = -1;
				memset(&r, 0, sizeof(r));
				snprintf(r.error, sizeof(r.error), "connect: %s",
				         aster_test_error(t));
			} else {
				rc = aster_test_conn_request(c, "GET", "/t/stable",
				                             NULL, NULL, 0, &r);
			}
		}
		if (rc == 0 && r.status == 200 && strcmp(r.body, "stable") == 0) {
			ok++;
		} else {
			if (failed++ == 0)
				snprintf(first, sizeof(first), "request %ld (%s): "
				         "status %d %s", i, i % 3 == 0 ? "new "
				         "connection" : "keep-alive", r.status,
				         rc == 0 ? r.body : r.error);
		}
		if (c != NULL && i % 3 != 0 &&
		    (rc != 0 || (aster_test_header(&r, "Connection") != NULL &&
		                 strcasecmp(aster_test_header(&r, "Connection"),
		                            "close") == 0))) {
			aster_test_conn_close(c);
			c = NULL;
		}
		aster_test_response_free(&r);
	}
	aster_test_conn_close(c);
	for (n = 0; first[n] != '\0'; n++)
		if (first[n] == '\n' || first[n] == '\r')
			first[n] = ' ';
	n = snprintf(line, sizeof(line), "%ld %ld %s\n", ok, failed, first);
	if (write(out_fd, line, (size_t)n) != n)
		_exit(2);
	_exit(0);
}

START_TEST(test_reload_under_load)
{
	struct reload rl;
	int stop[2], out[LOAD_CLIENTS][2];
	pid_t pids[LOAD_CLIENTS];
	long ok_total = 0, failed_total = 0;
	char report[LOAD_CLIENTS * 420] = "";
	int i, last, reloads = 6;

	reload_start(&rl);
	ck_assert(pipe(stop) == 0);
	for (i = 0; i < LOAD_CLIENTS; i++) {
		ck_assert(pipe(out[i]) == 0);
		pids[i] = fork();
		ck_assert(pids[i] != -1);
		if (pids[i] == 0) {
			close(stop[1]);
			close(out[i][0]);
			load_client(rl.t, stop[0], out[i][1]);
		}
		close(out[i][1]);
	}
	close(stop[0]);

	integ_sleep_ms(100);
	for (i = 0; i < reloads; i++) {
		int add = i % 2 == 0;

		if (add)
			write_extra(&rl, "under load");
		else
			ck_assert(aster_test_remove_file(rl.conf,
			          "modules/extra.yaml") == 0);
		ck_assert(aster_test_signal(rl.t, SIGHUP) == 0);
		ck_assert_msg(wait_for(rl.t, "/t/extra", add ? 200 : 404, NULL,
		              5000, &last) == 0,
		              "reload %d under load did not apply: /t/extra "
		              "answers %d", i + 1, last);
		integ_sleep_ms(50);
	}
	close(stop[1]);

	for (i = 0; i < LOAD_CLIENTS; i++) {
		char line[420];
		ssize_t n;
		long ok = 0, failed = 0;
		int st, used = 0;

		n = read(out[i][0], line, sizeof(line) - 1);
		close(out[i][0]);
		waitpid(pids[i], &st, 0);
		ck_assert_msg(n > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		              "load client %d died", i);
		line[n] = '\0';
		ck_assert(sscanf(line, "%ld %ld %n", &ok, &failed, &used) >= 2);
		ok_total += ok;
		failed_total += failed;
		if (failed > 0)
			snprintf(report + strlen(report),
			         sizeof(report) - strlen(report), "client %d: %s", i,
			         line);
	}
	ck_assert_msg(failed_total == 0, "%ld of %ld requests failed across %d "
	              "reloads:\n%s", failed_total, ok_total + failed_total,
	              reloads, report);
	ck_assert_msg(ok_total >= 100, "only %ld requests ran during the "
	              "reloads", ok_total);
	assert_generation(&rl, 1 + reloads);
	assert_life(&rl, "stop stable", 0);
	reload_done(&rl);
}
END_TEST

static Suite *
reload_suite(void)
{
	Suite *s = suite_create("reload");
	TCase *tc = tcase_create("reload");
	TCase *load = tcase_create("load");

	tcase_set_timeout(tc, INTEG_TCASE_TIMEOUT);
	tcase_set_timeout(load, INTEG_TCASE_TIMEOUT * 2);
	tcase_add_test(tc, test_reload_adds_and_removes_routes);
	tcase_add_test(tc, test_reload_restarts_changed_module);
	tcase_add_test(tc, test_bad_reload_changes_nothing);
	tcase_add_test(tc, test_reload_through_control_socket);
	tcase_add_test(tc, test_reload_changes_limits);
	tcase_add_test(tc, test_reload_module_start_failure);
	tcase_add_test(tc, test_reload_in_flight_download);
	tcase_add_test(tc, test_reload_adds_listener_by_host_name);
	tcase_add_test(tc, test_reload_unresolvable_listener);
	tcase_add_test(tc, test_stop_during_lookup);
	tcase_add_test(load, test_reload_under_load);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, load);
	return s;
}

UNIT_MAIN(reload_suite)
