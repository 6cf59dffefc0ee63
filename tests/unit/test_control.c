/*
 * test_control.c - the control socket protocol (SPEC §12) over a real
 * Unix socket in a temporary directory, served on an event loop the test
 * drives itself, against a runtime made by hand (a configuration and
 * generation as planning leaves them), with runtime_uptime(),
 * runtime_reload() and the runtime process calls stubbed below (only
 * here, never in src/).
 *
 * Covers each command's answer, refusals, framing (pipelined requests,
 * CRLF, blank lines, a last line without newline, the 64 KiB bound), many
 * clients at once, and the socket file's life: parent directory, mode
 * 0600, stale and live sockets, removal at close. Last, the built
 * asterctl ($ASTER_BUILD_DIR/asterctl) against this socket: its tables,
 * the diagnostics of a refused reload, --json, and its exit statuses.
 */
#include "unit.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "runtime/runtime.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* --- the stubbed runtime ----------------------------------------------- */

static double stub_uptime;
static int stub_reload_rc;
static const char *stub_report;     /* NULL: no report at all */
static int stub_reload_calls;
static int stub_dry_run = -1;

double
runtime_uptime(const struct runtime *rt)
{
	(void)rt;
	return stub_uptime;
}

/* A reload answered later (stub_reload_rc RUNTIME_RELOAD_LATER): its
 * callback, for the test to call. */
static runtime_reload_fn stub_later_done;
static void *stub_later_arg;

int
runtime_reload(struct runtime *rt, int dry_run, runtime_reload_fn done,
               void *arg, char **report)
{
	(void)rt;
	stub_reload_calls++;
	stub_dry_run = dry_run;
	if (stub_reload_rc == RUNTIME_RELOAD_LATER) {
		*report = NULL;
		stub_later_done = done;
		stub_later_arg = arg;
		return stub_reload_rc;
	}
	*report = stub_report != NULL ? strdup(stub_report) : NULL;
	return stub_reload_rc;
}

/* No module of the fixture has a runtime process. */
int
runtime_proc_view(const struct module_run *run, struct child_view *out)
{
	(void)run;
	(void)out;
	return 0;
}

int
runtime_restart_module(struct runtime *rt, const char *id, const char **err)
{
	(void)rt;
	(void)id;
	*err = "the module has no runtime";
	return -1;
}

/* --- fixture ----------------------------------------------------------- */

/*
 * The runtime as it would stand after starting this product, built by
 * hand rather than loaded: validation would link the provider host and
 * with it the real runtime, whose runtime_reload() the stubs above
 * replace.
 *
 *   audit 2.0.0 (wave 1), core 1.2.0 (wave 1), files 0.3.1 (wave 2,
 *   requires core); listeners 127.0.0.1:8080 [public] and :8081
 *   [internal].
 */
static const char *get_only[] = {"GET"};
static const char *get_head[] = {"GET", "HEAD"};

static struct route r_health = {
	.id = "route:core.health", .scope_name = "public",
	.methods = {1, get_only, NULL}, .mount_path = "/gateway/v1/health",
	.scope = SCOPE_PUBLIC,
};
static struct route r_metrics = {
	.id = "route:core.metrics", .scope_name = "internal",
	.methods = {2, get_head, NULL},
	.mount_path = "/gateway/v1/internal/metrics", .match = "prefix",
	.scope = SCOPE_INTERNAL, .prefix = 1,
};
static struct route r_files = {
	.id = "route:files.get", .scope_name = "public",
	.methods = {1, get_only, NULL}, .mount_path = "/files/{name}",
	.scope = SCOPE_PUBLIC,
};
static void *core_routes[] = {&r_health, &r_metrics};
static void *files_routes[] = {&r_files};

static struct module m_audit = {
	.id = "audit", .display_name = "Audit", .version = "2.0.0",
	.wave = 1,
};
static struct module m_core = {
	.id = "core", .display_name = "Core", .version = "1.2.0",
	.routes = {2, core_routes}, .wave = 1,
};
static struct module m_files = {
	.id = "files", .display_name = "Fichiers", .version = "0.3.1",
	.routes = {1, files_routes}, .wave = 2,
};
static struct module *wave1[] = {&m_audit, &m_core};
static struct module *wave2[] = {&m_files};
static struct module **waves[] = {wave1, wave2};
static size_t wave_sizes[] = {2, 1};
static struct module *members[] = {&m_audit, &m_core, &m_files};

static struct product product = {
	.kind = "product", .id = "aster", .name = "Aster",
	.version = "0.1.0",
};
static struct config cfg = {
	.dir = "conf.d", .product = &product, .members = members,
	.nmembers = 3, .nroutes = 3, .waves = waves,
	.wave_sizes = wave_sizes, .nwaves = 2, .planned = 1,
};
static struct module_run runs[3];
static struct generation gen = {
	.refs = 1, .number = 3, .cfg = &cfg, .runs = runs, .nruns = 3,
};

static struct listener l_public = {.address = "127.0.0.1:8080"};
static struct listener l_internal = {.address = "127.0.0.1:8081"};
static char bound[2][32] = {"127.0.0.1:8080", "127.0.0.1:8081"};
static struct listener_run listeners[2];

static char dir[64];
static char sock_path[108];
static struct event_base *base;
static struct runtime rt;
static struct control *ctl;

static void
setup(void)
{
	char *err = NULL;
	size_t i;

	snprintf(dir, sizeof(dir), "/tmp/aster-control-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/run/asterd/control.sock",
	         dir);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	for (i = 0; i < 3; i++) {
		runs[i].module = members[i];
		runs[i].state = MODULE_RUNNING;
	}
	listeners[0].decl = &l_public;
	listeners[0].bound = bound[0];
	listeners[0].scopes = SCOPE_PUBLIC;
	listeners[1].decl = &l_internal;
	listeners[1].bound = bound[1];
	listeners[1].scopes = SCOPE_INTERNAL;
	listeners[1].tls = NULL;
	memset(&rt, 0, sizeof(rt));
	rt.base = base;
	rt.state = RUNTIME_RUNNING;
	rt.current = &gen;
	rt.listeners = listeners;
	rt.nlisteners = 2;

	stub_uptime = 42.7;
	stub_reload_rc = 0;
	stub_report = NULL;
	stub_reload_calls = 0;
	stub_dry_run = -1;

	ctl = control_open(&rt, sock_path, &err);
	if (ctl == NULL)
		ck_abort_msg("control_open: %s", err);
}

static int
remove_entry(const char *path, const struct stat *st, int type,
             struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void
teardown(void)
{
	control_close(ctl);
	ctl = NULL;
	event_base_free(base);
	if (nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* --- a client, driven together with the server's loop ------------------ */

struct client {
	int fd;
	const char *out;
	size_t outlen, sent;
	char *in;
	size_t inlen, incap;
	int eof;
};

static int
connect_to(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static void
client_open(struct client *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = connect_to(sock_path);
	ck_assert_int_ge(c->fd, 0);
}

static void
client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static size_t
count_lines(const struct client *c)
{
	size_t i, n = 0;

	for (i = 0; i < c->inlen; i++)
		n += c->in[i] == '\n';
	return n;
}

/* One step: a turn of the server's loop, then what the client can send
 * and read without blocking. */
static void
client_step(struct client *c)
{
	char buf[65536];
	ssize_t n;

	event_base_loop(base, EVLOOP_NONBLOCK);
	if (c->sent < c->outlen) {
		n = send(c->fd, c->out + c->sent, c->outlen - c->sent,
		         MSG_NOSIGNAL);
		if (n > 0)
			c->sent += (size_t)n;
	}
	while (!c->eof) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			c->eof = 1;
		if (n <= 0)
			break;
		if (c->inlen + (size_t)n + 1 > c->incap) {
			c->incap = (c->inlen + (size_t)n + 1) * 2;
			c->in = realloc(c->in, c->incap);
			ck_assert_ptr_nonnull(c->in);
		}
		memcpy(c->in + c->inlen, buf, (size_t)n);
		c->inlen += (size_t)n;
		c->in[c->inlen] = '\0';
	}
}

/* Sends text and pumps until nlines answer lines (or the end). */
static void
client_talk(struct client *c, const char *text, size_t len, size_t nlines)
{
	struct pollfd p = {c->fd, POLLIN, 0};
	int i;

	c->out = text;
	c->outlen = len;
	c->sent = 0;
	for (i = 0; i < 5000; i++) {
		client_step(c);
		if (c->sent == c->outlen &&
		    (count_lines(c) >= nlines || c->eof))
			return;
		poll(&p, 1, 1);
	}
	ck_abort_msg("no answer after 5 s (%zu bytes read)", c->inlen);
}

/* Pumps until the server closes the connection. */
static void
client_wait_eof(struct client *c)
{
	struct pollfd p = {c->fd, POLLIN, 0};
	int i;

	for (i = 0; i < 5000 && !c->eof; i++) {
		client_step(c);
		poll(&p, 1, 1);
	}
	ck_assert_msg(c->eof, "the server kept the connection open");
}

/* Line i (0-based) of what the client read, without its newline. */
static const char *
client_line(const struct client *c, size_t i)
{
	static char line[262144];
	const char *p = c->in, *nl;

	ck_assert_ptr_nonnull(p);
	while (i-- > 0) {
		p = strchr(p, '\n');
		ck_assert_ptr_nonnull(p);
		p++;
	}
	nl = strchr(p, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_uint_lt((size_t)(nl - p), sizeof(line));
	memcpy(line, p, (size_t)(nl - p));
	line[nl - p] = '\0';
	return line;
}

/* One request on a fresh connection; its answer parsed (caller puts). */
static json_object *
ask(const char *request)
{
	struct client c;
	json_object *o;

	client_open(&c);
	client_talk(&c, request, strlen(request), 1);
	o = json_tokener_parse(client_line(&c, 0));
	ck_assert_msg(o != NULL, "answer is not JSON: %s", c.in);
	ck_assert_int_eq(count_lines(&c), 1);
	client_close(&c);
	return o;
}

static json_object *
get(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v),
	              "no \"%s\" in %s", key, json_object_to_json_string(o));
	return v;
}

static const char *
get_str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_string),
	              "\"%s\" is not a string", key);
	return json_object_get_string(v);
}

static int64_t
get_int(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_int),
	              "\"%s\" is not an integer", key);
	return json_object_get_int64(v);
}

static int
get_bool(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_boolean),
	              "\"%s\" is not a boolean", key);
	return json_object_get_boolean(v);
}

/* The array as text, for whole-value comparisons. */
static const char *
text(json_object *v)
{
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
	                                      JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void
assert_refused(const char *request, const char *error)
{
	json_object *o = ask(request);

	ck_assert_int_eq(get_bool(o, "ok"), 0);
	ck_assert_str_eq(get_str(o, "error"), error);
	json_object_put(o);
}

/* --- commands ---------------------------------------------------------- */

START_TEST(test_status)
{
	json_object *o = ask("{\"command\":\"status\"}\n");
	json_object *lr;

	ck_assert_int_eq(get_bool(o, "ok"), 1);
	ck_assert_str_eq(get_str(o, "state"), "running");
	ck_assert_int_eq(get_int(o, "generation"), 3);
	ck_assert_int_eq(get_int(o, "uptime"), 42);
	ck_assert_str_eq(text(get(o, "product")),
	                 "{\"id\":\"aster\",\"version\":\"0.1.0\"}");
	ck_assert_int_eq(get_int(o, "modules"), 3);
	ck_assert_int_eq(get_int(o, "routes"), 3);
	ck_assert_str_eq(text(get(o, "listeners")),
	    "[{\"address\":\"127.0.0.1:8080\",\"scopes\":[\"public\"],"
	    "\"tls\":false},"
	    "{\"address\":\"127.0.0.1:8081\",\"scopes\":[\"internal\"],"
	    "\"tls\":false}]");
	lr = get(o, "lastReload");
	ck_assert_ptr_null(get(lr, "at"));
	ck_assert_int_eq(get_bool(lr, "ok"), 1);
	ck_assert_ptr_null(get(lr, "message"));
	json_object_put(o);
}
END_TEST

START_TEST(test_status_last_reload)
{
	static char message[] = "2 errors, 0 warnings";
	json_object *o, *lr;

	rt.state = RUNTIME_RELOADING;
	rt.last_reload.at = 1700000000;
	rt.last_reload.ok = 0;
	rt.last_reload.message = message;
	o = ask("{\"command\":\"status\"}\n");
	ck_assert_str_eq(get_str(o, "state"), "reloading");
	lr = get(o, "lastReload");
	ck_assert_str_eq(get_str(lr, "at"), "2023-11-14T22:13:20Z");
	ck_assert_int_eq(get_bool(lr, "ok"), 0);
	ck_assert_str_eq(get_str(lr, "message"), "2 errors, 0 warnings");
	json_object_put(o);
}
END_TEST

/* Closed listener slots, listeners known only by their text, and a TLS
 * one (control.c only tests its context for NULL). */
START_TEST(test_status_listeners)
{
	static char tls_context;
	json_object *o;

	listeners[0].decl = NULL;
	listeners[1].bound = NULL;
	listeners[1].scopes = SCOPE_USER | SCOPE_ADMIN | SCOPE_PUBLIC;
	listeners[1].tls = (struct ssl_ctx_st *)(void *)&tls_context;
	o = ask("{\"command\":\"status\"}\n");
	ck_assert_str_eq(text(get(o, "listeners")),
	    "[{\"address\":\"127.0.0.1:8081\","
	    "\"scopes\":[\"public\",\"user\",\"admin\"],\"tls\":true}]");
	json_object_put(o);
}
END_TEST

/* While the first configuration has not been installed yet. */
START_TEST(test_status_no_generation)
{
	json_object *o;

	rt.current = NULL;
	rt.state = RUNTIME_STARTING;
	stub_uptime = -1;
	o = ask("{\"command\":\"status\"}\n");
	ck_assert_int_eq(get_bool(o, "ok"), 1);
	ck_assert_str_eq(get_str(o, "state"), "starting");
	ck_assert_int_eq(get_int(o, "generation"), 0);
	ck_assert_int_eq(get_int(o, "uptime"), 0);
	ck_assert_ptr_null(get(o, "product"));
	ck_assert_int_eq(get_int(o, "modules"), 0);
	ck_assert_int_eq(get_int(o, "routes"), 0);
	json_object_put(o);
	o = ask("{\"command\":\"modules\"}\n");
	ck_assert_str_eq(text(get(o, "modules")), "[]");
	json_object_put(o);
	o = ask("{\"command\":\"routes\"}\n");
	ck_assert_str_eq(text(get(o, "routes")), "[]");
	json_object_put(o);
	o = ask("{\"command\":\"plan\"}\n");
	ck_assert_str_eq(text(get(o, "waves")), "[]");
	json_object_put(o);
}
END_TEST

START_TEST(test_modules)
{
	struct module_run *files = &runs[2];
	json_object *o;

	files->state = MODULE_FAILED;
	files->cause = "exited with status 3";
	o = ask("{\"command\":\"modules\"}\n");
	ck_assert_int_eq(get_bool(o, "ok"), 1);
	/* Plan order: wave 1 by id, then wave 2. */
	ck_assert_str_eq(text(get(o, "modules")),
	    "[{\"id\":\"audit\",\"displayName\":\"Audit\","
	    "\"version\":\"2.0.0\",\"state\":\"running\",\"wave\":1},"
	    "{\"id\":\"core\",\"displayName\":\"Core\",\"version\":\"1.2.0\","
	    "\"state\":\"running\",\"wave\":1},"
	    "{\"id\":\"files\",\"displayName\":\"Fichiers\","
	    "\"version\":\"0.3.1\",\"state\":\"failed\",\"wave\":2,"
	    "\"cause\":\"exited with status 3\"}]");
	json_object_put(o);
}
END_TEST

START_TEST(test_routes)
{
	json_object *o = ask("{\"command\":\"routes\"}\n");

	ck_assert_int_eq(get_bool(o, "ok"), 1);
	ck_assert_str_eq(text(get(o, "routes")),
	    "[{\"id\":\"route:core.health\",\"module\":\"core\","
	    "\"scope\":\"public\",\"methods\":[\"GET\"],"
	    "\"mountPath\":\"/gateway/v1/health\",\"match\":\"exact\"},"
	    "{\"id\":\"route:core.metrics\",\"module\":\"core\","
	    "\"scope\":\"internal\",\"methods\":[\"GET\",\"HEAD\"],"
	    "\"mountPath\":\"/gateway/v1/internal/metrics\","
	    "\"match\":\"prefix\"},"
	    "{\"id\":\"route:files.get\",\"module\":\"files\","
	    "\"scope\":\"public\",\"methods\":[\"GET\"],"
	    "\"mountPath\":\"/files/{name}\",\"match\":\"exact\"}]");
	json_object_put(o);
}
END_TEST

START_TEST(test_plan)
{
	json_object *o = ask("{\"command\":\"plan\"}\n");

	ck_assert_int_eq(get_bool(o, "ok"), 1);
	ck_assert_int_eq(get_int(o, "generation"), 3);
	ck_assert_str_eq(text(get(o, "waves")),
	                 "[[\"audit\",\"core\"],[\"files\"]]");
	json_object_put(o);
}
END_TEST

START_TEST(test_reload)
{
	json_object *o;

	stub_report = "{\"ok\":true,\"dryRun\":false,\"generation\":4,"
	              "\"stop\":[],\"start\":[\"billing\"],\"restart\":[],"
	              "\"routesAdded\":[\"route:billing.pay\"],"
	              "\"routesRemoved\":[],\"diagnostics\":[],"
	              "\"message\":\"reloaded\"}";
	o = ask("{\"command\":\"reload\"}\n");
	ck_assert_int_eq(stub_reload_calls, 1);
	ck_assert_int_eq(stub_dry_run, 0);
	ck_assert_int_eq(get_bool(o, "ok"), 1);
	ck_assert_int_eq(get_int(o, "generation"), 4);
	ck_assert_str_eq(text(get(o, "start")), "[\"billing\"]");
	ck_assert_str_eq(text(get(o, "routesAdded")),
	                 "[\"route:billing.pay\"]");
	ck_assert_int_eq(json_object_object_get_ex(o, "error", NULL), 0);
	json_object_put(o);
}
END_TEST

/* A reload that looks host names up answers when the runtime says so,
 * and a request pipelined behind it waits its turn. */
START_TEST(test_reload_answered_later)
{
	static const char reqs[] = "{\"command\":\"reload\"}\n"
	                           "{\"command\":\"plan\"}\n";
	struct client c;
	json_object *o;
	int i;

	stub_reload_rc = RUNTIME_RELOAD_LATER;
	stub_later_done = NULL;
	client_open(&c);
	c.out = reqs;
	c.outlen = sizeof(reqs) - 1;
	for (i = 0; i < 200; i++) {
		client_step(&c);
		poll(NULL, 0, 1);
	}
	ck_assert_int_eq(stub_reload_calls, 1);
	ck_assert_ptr_nonnull(stub_later_done);
	ck_assert_msg(c.inlen == 0, "answered before the reload ended: %s",
	              c.in);
	stub_later_done(stub_later_arg, -1, strdup(
	    "{\"ok\":false,\"dryRun\":false,\"generation\":1,"
	    "\"message\":\"cannot listen on nowhere.invalid:8080: cannot "
	    "resolve host name\",\"diagnostics\":[]}"));
	client_talk(&c, "", 0, 2);
	o = json_tokener_parse(client_line(&c, 0));
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(get_bool(o, "ok"), 0);
	ck_assert_str_eq(get_str(o, "error"), "cannot listen on "
	                 "nowhere.invalid:8080: cannot resolve host name");
	json_object_put(o);
	o = json_tokener_parse(client_line(&c, 1));
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(get_bool(o, "ok"), 1);
	ck_assert(json_object_object_get_ex(o, "waves", NULL));
	json_object_put(o);
	ck_assert_int_eq(stub_reload_calls, 1);
	client_close(&c);
}
END_TEST

START_TEST(test_reload_dry_run)
{
	json_object *o;

	stub_report = "{\"ok\":true,\"dryRun\":true,\"generation\":3,"
	              "\"stop\":[\"audit\"],\"start\":[],\"restart\":[],"
	              "\"routesAdded\":[],\"routesRemoved\":[],"
	              "\"diagnostics\":[],\"message\":\"dry run\"}";
	o = ask("{\"command\":\"reload\",\"dryRun\":true}\n");
	ck_assert_int_eq(stub_dry_run, 1);
	ck_assert_int_eq(get_bool(o, "ok"), 1);
	ck_assert_int_eq(get_bool(o, "dryRun"), 1);
	ck_assert_str_eq(text(get(o, "stop")), "[\"audit\"]");
	json_object_put(o);
	o = ask("{\"command\":\"reload\",\"dryRun\":false}\n");
	ck_assert_int_eq(stub_dry_run, 0);
	json_object_put(o);
}
END_TEST

/* A rejected configuration: ok false, the error every refusal has, and
 * the diagnostics as the runtime gave them. */
START_TEST(test_reload_invalid)
{
	json_object *o, *d;

	stub_reload_rc = -1;
	stub_report = "{\"ok\":false,\"dryRun\":false,\"generation\":3,"
	    "\"stop\":[],\"start\":[],\"restart\":[],\"routesAdded\":[],"
	    "\"routesRemoved\":[],\"diagnostics\":[{\"severity\":\"error\","
	    "\"code\":\"missing-dependency\",\"message\":\"module 'billing' "
	    "requires 'payment', which is not defined\",\"file\":"
	    "\"conf.d/modules/billing.yaml\",\"line\":12,\"column\":7,"
	    "\"notes\":[]}],\"message\":\"1 error, 0 warnings\"}";
	o = ask("{\"command\":\"reload\"}\n");
	ck_assert_int_eq(get_bool(o, "ok"), 0);
	ck_assert_str_eq(get_str(o, "error"), "1 error, 0 warnings");
	d = json_object_array_get_idx(get(o, "diagnostics"), 0);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(get_str(d, "code"), "missing-dependency");
	ck_assert_int_eq(get_int(d, "line"), 12);
	json_object_put(o);
}
END_TEST

/* The return value decides, whatever the report says. */
START_TEST(test_reload_rc_wins)
{
	json_object *o;

	stub_reload_rc = -1;
	stub_report = "{\"ok\":true,\"diagnostics\":[]}";
	o = ask("{\"command\":\"reload\"}\n");
	ck_assert_int_eq(get_bool(o, "ok"), 0);
	ck_assert_str_eq(get_str(o, "error"),
	                 "the new configuration is invalid");
	json_object_put(o);
}
END_TEST

START_TEST(test_reload_no_report)
{
	stub_reload_rc = -1;
	stub_report = NULL;
	assert_refused("{\"command\":\"reload\"}\n", "reload failed");
	stub_report = "not json";
	assert_refused("{\"command\":\"reload\"}\n", "reload failed");
	stub_reload_rc = 0;
	stub_report = "[]";
	assert_refused("{\"command\":\"reload\"}\n", "reload gave no report");
}
END_TEST

START_TEST(test_reload_bad_dry_run)
{
	assert_refused("{\"command\":\"reload\",\"dryRun\":\"yes\"}\n",
	               "\"dryRun\" must be true or false");
	ck_assert_int_eq(stub_reload_calls, 0);
}
END_TEST

/* The keys commands go to the product's auth service; a product without
 * one refuses them, naming what is missing, and the connection goes on. */
START_TEST(test_keys_without_auth)
{
	struct client c;
	const char req[] = "{\"command\":\"keys\",\"action\":\"list\"}\n"
	                   "{\"command\":\"keys\"}\n";

	client_open(&c);
	client_talk(&c, req, strlen(req), 2);
	ck_assert_str_eq(client_line(&c, 0),
	                 "{\"ok\":false,\"error\":\"no auth service is "
	                 "running (the product needs a module providing "
	                 "auth)\"}");
	ck_assert_str_eq(client_line(&c, 1),
	                 "{\"ok\":false,\"error\":\"\\\"action\\\" must be "
	                 "create, list or revoke\"}");
	client_close(&c);
}
END_TEST

static const struct {
	const char *request;
	const char *error;
} refusals[] = {
	{"{\"command\":\"stop\"}\n", "unknown command 'stop'"},
	{"{\"command\":\"\"}\n", "unknown command ''"},
	{"{}\n", "request needs \"command\", a string"},
	{"{\"command\":7}\n", "request needs \"command\", a string"},
	{"{\"Command\":\"status\"}\n", "request needs \"command\", a string"},
	{"[\"status\"]\n", "request must be a JSON object"},
	{"42\n", "request must be a JSON object"},
	{"\"status\"\n", "request must be a JSON object"},
	{"status\n", "request is not JSON: unexpected character"},
	{"{\"command\":\"status\"\n",
	 "request is not JSON: unexpected end of data"},
	{"{\"command\":\"status\"} x\n",
	 "request is not JSON: unexpected character"},
	{"{\"command\":\"status\"}{\"command\":\"plan\"}\n",
	 "request is not JSON: unexpected character"},
};

START_TEST(test_refusals)
{
	json_object *o = ask(refusals[_i].request);

	ck_assert_int_eq(get_bool(o, "ok"), 0);
	ck_assert_str_eq(get_str(o, "error"), refusals[_i].error);
	ck_assert_int_eq(json_object_object_length(o), 2);
	json_object_put(o);
}
END_TEST

/* --- framing ----------------------------------------------------------- */

/* Requests in one write are answered in order, one line each; CRLF ends
 * a line too, blank lines are skipped, the connection stays open. */
START_TEST(test_pipelined)
{
	const char req[] = "{\"command\":\"plan\"}\n"
	                   "\n"
	                   "  \r\n"
	                   "{\"command\":\"status\"}\r\n"
	                   "{\"command\":\"nope\"}\n"
	                   "{\"command\":\"modules\"}\n";
	struct client c;
	json_object *o;

	client_open(&c);
	client_talk(&c, req, strlen(req), 4);
	ck_assert_int_eq(c.eof, 0);
	ck_assert_int_eq(count_lines(&c), 4);
	o = json_tokener_parse(client_line(&c, 0));
	ck_assert_str_eq(text(get(o, "waves")),
	                 "[[\"audit\",\"core\"],[\"files\"]]");
	json_object_put(o);
	o = json_tokener_parse(client_line(&c, 1));
	ck_assert_str_eq(get_str(o, "state"), "running");
	json_object_put(o);
	ck_assert_str_eq(client_line(&c, 2),
	                 "{\"ok\":false,\"error\":\"unknown command 'nope'\"}");
	o = json_tokener_parse(client_line(&c, 3));
	ck_assert_int_eq(json_object_array_length(get(o, "modules")), 3);
	json_object_put(o);
	/* Still open for more. */
	client_talk(&c, "{\"command\":\"plan\"}\n", 19, 5);
	ck_assert_int_eq(count_lines(&c), 5);
	client_close(&c);
}
END_TEST

/* A request split over several writes is one request. */
START_TEST(test_split_request)
{
	struct client c;
	json_object *o;

	client_open(&c);
	client_talk(&c, "{\"comm", 6, 0);
	client_talk(&c, "and\":\"st", 8, 0);
	ck_assert_int_eq(count_lines(&c), 0);
	client_talk(&c, "atus\"}\n", 7, 1);
	o = json_tokener_parse(client_line(&c, 0));
	ck_assert_int_eq(get_bool(o, "ok"), 1);
	json_object_put(o);
	client_close(&c);
}
END_TEST

/* A last request without its newline is answered at end of input. */
START_TEST(test_last_line_at_eof)
{
	struct client c;
	json_object *o;

	client_open(&c);
	client_talk(&c, "{\"command\":\"plan\"}", 18, 0);
	ck_assert_int_eq(shutdown(c.fd, SHUT_WR), 0);
	client_wait_eof(&c);
	ck_assert_int_eq(count_lines(&c), 1);
	o = json_tokener_parse(client_line(&c, 0));
	ck_assert_int_eq(get_bool(o, "ok"), 1);
	json_object_put(o);
	client_close(&c);
}
END_TEST

/* {"command":"status"} padded with spaces to len bytes, plus end. */
static char *
padded_request(size_t len, const char *end)
{
	const char body[] = "{\"command\":\"status\"";
	char *s = malloc(len + strlen(end) + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, body, strlen(body));
	memset(s + strlen(body), ' ', len - strlen(body) - 1);
	s[len - 1] = '}';
	strcpy(s + len, end);
	return s;
}

START_TEST(test_longest_line)
{
	static const char *const ends[] = {"\n", "\r\n"};
	char *req = padded_request(CONTROL_MAX_LINE, ends[_i]);
	struct client c;
	json_object *o;

	client_open(&c);
	client_talk(&c, req, strlen(req), 1);
	o = json_tokener_parse(client_line(&c, 0));
	ck_assert_int_eq(get_bool(o, "ok"), 1);
	json_object_put(o);
	client_talk(&c, "{\"command\":\"plan\"}\n", 19, 2);
	ck_assert_int_eq(c.eof, 0);
	client_close(&c);
	free(req);
}
END_TEST

/* One byte more: an error, then the connection closes (there is no
 * telling where the next request would begin). */
START_TEST(test_line_too_long)
{
	char *req = padded_request(CONTROL_MAX_LINE + 1, "\n");
	struct client c;

	client_open(&c);
	c.out = req;
	c.outlen = strlen(req);
	client_wait_eof(&c);
	ck_assert_int_eq(count_lines(&c), 1);
	ck_assert_str_eq(client_line(&c, 0),
	                 "{\"ok\":false,\"error\":\"request line longer than "
	                 "65536 bytes\"}");
	client_close(&c);
	free(req);
}
END_TEST

/* No newline at all, ever: refused once the bound is crossed. */
START_TEST(test_endless_line)
{
	size_t len = 4 * CONTROL_MAX_LINE;
	char *req = malloc(len);
	struct client c;

	ck_assert_ptr_nonnull(req);
	memset(req, 'x', len);
	client_open(&c);
	c.out = req;
	c.outlen = len;
	client_wait_eof(&c);
	ck_assert_int_eq(count_lines(&c), 1);
	ck_assert_ptr_nonnull(strstr(client_line(&c, 0), "longer than"));
	client_close(&c);
	free(req);
}
END_TEST

/* Many clients at once, each answered, in whatever order they are
 * served; one that says nothing holds up nobody. */
START_TEST(test_many_clients)
{
	enum { N = 40 };
	static struct client cs[N];
	struct client idle;
	const char req[] = "{\"command\":\"status\"}\n";
	size_t i, done;
	int round;

	client_open(&idle);
	for (i = 0; i < N; i++) {
		client_open(&cs[i]);
		cs[i].out = req;
		cs[i].outlen = strlen(req);
	}
	for (round = 0; round < 5000; round++) {
		for (i = 0, done = 0; i < N; i++) {
			client_step(&cs[i]);
			done += count_lines(&cs[i]) == 1;
		}
		if (done == N)
			break;
		usleep(1000);
	}
	ck_assert_int_eq(done, N);
	for (i = 0; i < N; i++) {
		json_object *o = json_tokener_parse(client_line(&cs[i], 0));

		ck_assert_int_eq(get_int(o, "generation"), 3);
		json_object_put(o);
		client_close(&cs[i]);
	}
	client_step(&idle);
	ck_assert_int_eq(idle.inlen, 0);
	client_close(&idle);
}
END_TEST

/* Over the connection limit: one error line, then closed. */
START_TEST(test_too_many_clients)
{
	enum { N = CONTROL_MAX_CONNS + 6 };
	static struct client cs[N];
	size_t i, refused = 0, open = 0;

	for (i = 0; i < N; i++) {
		client_open(&cs[i]);
		client_step(&cs[i]);
	}
	for (i = 0; i < N; i++) {
		client_step(&cs[i]);
		if (cs[i].eof && count_lines(&cs[i]) == 1 &&
		    strcmp(client_line(&cs[i], 0), "{\"ok\":false,\"error\":"
		           "\"too many control connections\"}") == 0)
			refused++;
		else if (!cs[i].eof)
			open++;
	}
	ck_assert_int_eq(open, CONTROL_MAX_CONNS);
	ck_assert_int_eq(refused, N - CONTROL_MAX_CONNS);
	for (i = 0; i < N; i++)
		client_close(&cs[i]);
	/* Room again once they are gone. */
	json_object_put(ask("{\"command\":\"status\"}\n"));
}
END_TEST

/* --- the socket file --------------------------------------------------- */

START_TEST(test_socket_mode)
{
	struct stat st;
	char parent[128];

	ck_assert_int_eq(stat(sock_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	snprintf(parent, sizeof(parent), "%s/run/asterd", dir);
	ck_assert_int_eq(stat(parent, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0700);
}
END_TEST

/* The 0177 umask of bind() is the socket's alone. */
START_TEST(test_umask_restored)
{
	char path[108], *err = NULL;
	struct control *c2;

	snprintf(path, sizeof(path), "%s/other.sock", dir);
	umask(027);
	c2 = control_open(&rt, path, &err);
	ck_assert_msg(c2 != NULL, "control_open: %s", err);
	ck_assert_int_eq(umask(022), 027);
	control_close(c2);
}
END_TEST

START_TEST(test_close_removes)
{
	control_close(ctl);
	ctl = NULL;
	ck_assert_int_eq(access(sock_path, F_OK), -1);
	ck_assert_int_eq(errno, ENOENT);
	control_close(NULL);
}
END_TEST

/* A second control on a live socket is refused, and leaves the first
 * one working. */
START_TEST(test_live_socket)
{
	char *err = NULL;
	struct control *c2 = control_open(&rt, sock_path, &err);
	json_object *o;

	ck_assert_ptr_null(c2);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, "another process answers on"));
	free(err);
	o = ask("{\"command\":\"status\"}\n");
	ck_assert_int_eq(get_bool(o, "ok"), 1);
	json_object_put(o);
}
END_TEST

/* The file of a daemon that died (bound, nobody listening) is
 * replaced. */
START_TEST(test_stale_socket)
{
	char path[108], *err = NULL;
	struct sockaddr_un sa;
	struct control *c2;
	int fd;

	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	ck_assert_int_eq(connect_to(path), -1);
	c2 = control_open(&rt, path, &err);
	ck_assert_msg(c2 != NULL, "control_open: %s", err);
	fd = connect_to(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	control_close(c2);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(test_not_a_socket)
{
	char path[108], *err = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/file", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_ptr_null(control_open(&rt, path, &err));
	ck_assert_ptr_nonnull(strstr(err, "exists and is not a socket"));
	free(err);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

START_TEST(test_path_too_long)
{
	char path[200], *err = NULL;

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	ck_assert_ptr_null(control_open(&rt, path, &err));
	ck_assert_ptr_nonnull(strstr(err, "longer than 107 bytes"));
	free(err);
}
END_TEST

START_TEST(test_parent_not_a_directory)
{
	char path[108], *err = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/plain", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/plain/control.sock", dir);
	ck_assert_ptr_null(control_open(&rt, path, &err));
	ck_assert_ptr_nonnull(err);
	free(err);
}
END_TEST

/* A newer daemon took the path over: closing the old control leaves the
 * new socket alone. */
START_TEST(test_close_spares_replacement)
{
	char *err = NULL;
	struct control *c2;

	ck_assert_int_eq(unlink(sock_path), 0);
	c2 = control_open(&rt, sock_path, &err);
	ck_assert_msg(c2 != NULL, "control_open: %s", err);
	control_close(ctl);
	ctl = NULL;
	ck_assert_int_eq(access(sock_path, F_OK), 0);
	json_object_put(ask("{\"command\":\"plan\"}\n"));
	control_close(c2);
	ck_assert_int_eq(access(sock_path, F_OK), -1);
}
END_TEST

/* Closing with clients connected frees them (the sanitizer build checks
 * that nothing leaks). */
START_TEST(test_close_with_clients)
{
	struct client a, b;

	client_open(&a);
	client_open(&b);
	client_talk(&a, "{\"command\":\"status\"}\n", 21, 1);
	client_talk(&b, "{\"comm", 6, 0);
	control_close(ctl);
	ctl = NULL;
	client_wait_eof(&a);
	client_wait_eof(&b);
	client_close(&a);
	client_close(&b);
}
END_TEST

/* --- asterctl against this control ------------------------------------- */

struct run {
	int status;                 /* exit status */
	char out[16384];
	char err[16384];
};

static void
drain(int fd, char *buf, size_t cap)
{
	size_t len = strlen(buf);
	ssize_t n;

	while (len + 1 < cap && (n = read(fd, buf + len, cap - len - 1)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
}

/*
 * Runs $ASTER_BUILD_DIR/asterctl (else build/asterctl) with args while
 * this process serves the control socket.
 */
static void
asterctl(struct run *r, const char *const *args)
{
	const char *bdir = getenv("ASTER_BUILD_DIR");
	char prog[4096];
	char *argv[16];
	int out[2], err[2], st, i;
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/asterctl",
	         bdir != NULL && *bdir != '\0' ? bdir : "build");
	ck_assert_msg(access(prog, X_OK) == 0, "%s is not built", prog);
	argv[0] = prog;
	for (i = 0; args[i] != NULL && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC | O_NONBLOCK), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		unsetenv("ASTER_CONTROL_SOCKET");
		execv(prog, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	for (i = 0; i < 10000; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		drain(out[0], r->out, sizeof(r->out));
		drain(err[0], r->err, sizeof(r->err));
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		usleep(1000);
	}
	ck_assert_msg(i < 10000, "asterctl did not finish");
	drain(out[0], r->out, sizeof(r->out));
	drain(err[0], r->err, sizeof(r->err));
	close(out[0]);
	close(err[0]);
	ck_assert(WIFEXITED(st));
	r->status = WEXITSTATUS(st);
}

#define ASTERCTL(r, ...) asterctl((r), (const char *const[]){__VA_ARGS__, NULL})

START_TEST(test_ctl_status)
{
	struct run r;

	stub_uptime = 93784;
	ASTERCTL(&r, "--socket", sock_path, "status");
	ck_assert_str_eq(r.err, "");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out,
	    "state        running\n"
	    "product      aster 0.1.0\n"
	    "generation   3\n"
	    "uptime       1d 2h 3m 4s\n"
	    "modules      3\n"
	    "routes       3\n"
	    "listeners    127.0.0.1:8080 (public)\n"
	    "             127.0.0.1:8081 (internal)\n"
	    "last reload  never\n");
}
END_TEST

START_TEST(test_ctl_modules)
{
	struct run r;

	runs[2].state = MODULE_FAILED;
	runs[2].cause = "exited with status 3";
	ASTERCTL(&r, "modules", "-s", sock_path);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out,
	    "ID     NAME      VERSION  WAVE  STATE\n"
	    "audit  Audit     2.0.0    1     running\n"
	    "core   Core      1.2.0    1     running\n"
	    "files  Fichiers  0.3.1    2     failed: exited with status 3\n");
}
END_TEST

START_TEST(test_ctl_routes)
{
	struct run r;

	ASTERCTL(&r, "-s", sock_path, "routes");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out,
	    "ID                  MODULE  SCOPE     METHODS   MATCH   PATH\n"
	    "route:core.health   core    public    GET       exact   "
	    "/gateway/v1/health\n"
	    "route:core.metrics  core    internal  GET,HEAD  prefix  "
	    "/gateway/v1/internal/metrics\n"
	    "route:files.get     files   public    GET       exact   "
	    "/files/{name}\n");
}
END_TEST

START_TEST(test_ctl_plan_json)
{
	struct run r;

	ASTERCTL(&r, "-s", sock_path, "plan");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "wave 1: audit, core\nwave 2: files\n");
	ASTERCTL(&r, "-s", sock_path, "--json", "plan");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "{\"ok\":true,\"generation\":3,"
	                 "\"waves\":[[\"audit\",\"core\"],[\"files\"]]}\n");
}
END_TEST

START_TEST(test_ctl_reload_dry_run)
{
	struct run r;

	stub_report = "{\"ok\":true,\"dryRun\":true,\"generation\":3,"
	              "\"stop\":[\"audit\"],\"start\":[\"billing\","
	              "\"payments\"],\"restart\":[],\"routesAdded\":"
	              "[\"route:billing.pay\"],\"routesRemoved\":[],"
	              "\"diagnostics\":[],\"message\":\"dry run\"}";
	ASTERCTL(&r, "-s", sock_path, "reload", "--dry-run");
	ck_assert_int_eq(stub_dry_run, 1);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out,
	    "dry run: the configuration is valid; a reload would make these "
	    "changes:\n"
	    "  stop          audit\n"
	    "  start         billing, payments\n"
	    "  routes added  route:billing.pay\n");
}
END_TEST

START_TEST(test_ctl_reload_refused)
{
	struct run r;

	stub_reload_rc = -1;
	stub_report = "{\"ok\":false,\"dryRun\":false,\"diagnostics\":[{"
	    "\"severity\":\"error\",\"code\":\"missing-dependency\","
	    "\"message\":\"module 'billing' requires 'payment', which is "
	    "not defined\",\"file\":\"conf.d/modules/billing.yaml\","
	    "\"line\":12,\"column\":7,\"hint\":\"did you mean "
	    "'payments'?\",\"notes\":[{\"file\":\"conf.d/modules/"
	    "payments.yaml\",\"line\":1,\"column\":1,\"message\":"
	    "\"'payments' is defined here\"}]},{\"severity\":\"error\","
	    "\"code\":\"no-product\",\"message\":\"no product\","
	    "\"file\":\"conf.d\",\"line\":null,\"column\":null,"
	    "\"notes\":[]}],\"message\":\"2 errors, 0 warnings\"}";
	ASTERCTL(&r, "-s", sock_path, "reload");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err,
	    "conf.d/modules/billing.yaml:12:7: error: module 'billing' "
	    "requires 'payment', which is not defined [missing-dependency]\n"
	    "  hint: did you mean 'payments'?\n"
	    "  note: conf.d/modules/payments.yaml:1:1: 'payments' is defined "
	    "here\n"
	    "conf.d: error: no product [no-product]\n"
	    "asterctl: reload refused: 2 errors, 0 warnings\n");
	ASTERCTL(&r, "-s", sock_path, "reload", "-j");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "");
	ck_assert_ptr_nonnull(strstr(r.out, "\"missing-dependency\""));
}
END_TEST

START_TEST(test_ctl_usage)
{
	static const char *const bad[][3] = {
		{"frob", NULL, NULL},
		{"keys", NULL, NULL},
		{"status", "extra", NULL},
		{"status", "--dry-run", NULL},
		{"--socket", NULL, NULL},
		{"-x", "status", NULL},
	};
	struct run r;
	size_t i;

	for (i = 0; i < NELEM(bad); i++) {
		asterctl(&r, bad[i]);
		ck_assert_msg(r.status == 64, "%s: exit %d", bad[i][0],
		              r.status);
		ck_assert_ptr_nonnull(strstr(r.err, "Try 'asterctl --help'"));
	}
	asterctl(&r, (const char *const[]){NULL});
	ck_assert_int_eq(r.status, 64);
	ASTERCTL(&r, "--help");
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "usage: asterctl"));
	ASTERCTL(&r, "--version");
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(strncmp(r.out, "asterctl ", 9), 0);
}
END_TEST

START_TEST(test_ctl_unreachable)
{
	char path[128];
	struct run r;

	snprintf(path, sizeof(path), "%s/nobody.sock", dir);
	ASTERCTL(&r, "-s", path, "status");
	ck_assert_int_eq(r.status, 69);
	ck_assert_ptr_nonnull(strstr(r.err, "cannot reach asterd at"));
	snprintf(path, sizeof(path), "%s/no-such-dir", dir);
	ASTERCTL(&r, "-c", path, "status");
	ck_assert_int_eq(r.status, 69);
}
END_TEST

/* -c DIR: the socket named by the product's server.control. */
START_TEST(test_ctl_config_dir)
{
	char path[128];
	struct run r;
	FILE *f;

	snprintf(path, sizeof(path), "%s/conf.d", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/conf.d/product.yaml", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("kind: product\nid: p\nname: P\nversion: 1.0.0\n"
	      "server:\n  listen:\n    - address: 127.0.0.1:1\n"
	      "  control: ../run/asterd/control.sock\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/conf.d", dir);
	ASTERCTL(&r, "-c", path, "plan");
	ck_assert_str_eq(r.err, "");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "wave 1: audit, core\nwave 2: files\n");
}
END_TEST

static Suite *
control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("commands");
	TCase *tf = tcase_create("framing");
	TCase *ts = tcase_create("socket");
	TCase *ta = tcase_create("asterctl");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_status_last_reload);
	tcase_add_test(tc, test_status_listeners);
	tcase_add_test(tc, test_status_no_generation);
	tcase_add_test(tc, test_modules);
	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_plan);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_reload_dry_run);
	tcase_add_test(tc, test_reload_answered_later);
	tcase_add_test(tc, test_reload_invalid);
	tcase_add_test(tc, test_reload_rc_wins);
	tcase_add_test(tc, test_reload_no_report);
	tcase_add_test(tc, test_reload_bad_dry_run);
	tcase_add_test(tc, test_keys_without_auth);
	tcase_add_loop_test(tc, test_refusals, 0, (int)NELEM(refusals));
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tf, setup, teardown);
	tcase_add_test(tf, test_pipelined);
	tcase_add_test(tf, test_split_request);
	tcase_add_test(tf, test_last_line_at_eof);
	tcase_add_loop_test(tf, test_longest_line, 0, 2);
	tcase_add_test(tf, test_line_too_long);
	tcase_add_test(tf, test_endless_line);
	tcase_add_test(tf, test_many_clients);
	tcase_add_test(tf, test_too_many_clients);
	suite_add_tcase(s, tf);

	tcase_add_checked_fixture(ts, setup, teardown);
	tcase_add_test(ts, test_socket_mode);
	tcase_add_test(ts, test_umask_restored);
	tcase_add_test(ts, test_close_removes);
	tcase_add_test(ts, test_live_socket);
	tcase_add_test(ts, test_stale_socket);
	tcase_add_test(ts, test_not_a_socket);
	tcase_add_test(ts, test_path_too_long);
	tcase_add_test(ts, test_parent_not_a_directory);
	tcase_add_test(ts, test_close_spares_replacement);
	tcase_add_test(ts, test_close_with_clients);
	suite_add_tcase(s, ts);

	tcase_add_checked_fixture(ta, setup, teardown);
	tcase_add_test(ta, test_ctl_status);
	tcase_add_test(ta, test_ctl_modules);
	tcase_add_test(ta, test_ctl_routes);
	tcase_add_test(ta, test_ctl_plan_json);
	tcase_add_test(ta, test_ctl_reload_dry_run);
	tcase_add_test(ta, test_ctl_reload_refused);
	tcase_add_test(ta, test_ctl_usage);
	tcase_add_test(ta, test_ctl_unreachable);
	tcase_add_test(ta, test_ctl_config_dir);
	suite_add_tcase(s, ta);
	return s;
}

UNIT_MAIN(control_suite)
