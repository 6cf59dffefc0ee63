/*
 * test_proxy_pool.c - the reverse proxy's pools, retries, timeouts,
 * balancing, ejection, health checks and reloads (SPEC §7.7, §3.2).
 *
 * Every test starts real test upstreams (build/tests/upstream/upstream,
 * one process per target, on loopback ports they pick and write to a
 * port file) and a real asterd whose config, written per test into a
 * temporary directory, names them. A target that refuses connections
 * is a port bound by this process and never listened on, so nobody
 * else takes it while the test runs. asterd logs at debug, so each
 * attempt shows up as `request ID: upstream LABEL target URL attempt
 * N[ (pooled)]: OUTCOME in X ms`, and the tests count those lines per
 * request id; the control socket's `upstreams` command gives targets'
 * states and the counters. The upstreams' /stats count connections
 * and requests on their side.
 */
#include "integ.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#define MAX_UPSTREAMS 8
#define MAX_CLOSED    4
#define LOAD_THREADS  4

struct upproc {
	pid_t pid;
	int port;
	int stopped;                /* SIGSTOP'ed */
};

/* One test's world (check runs each test in a process of its own). */
static struct {
	char *dir;
	char conf[PATH_MAX];
	char sock[PATH_MAX];
	struct aster_test *t;
	struct upproc up[MAX_UPSTREAMS];
	int nup;
	int closed_fd[MAX_CLOSED];
	int closed_port[MAX_CLOSED];
	int nclosed;
	int hold_fd[MAX_CLOSED];    /* our connections filling blackholes */
	int nhold;
} w;

/* --- the test upstreams ------------------------------------------------ */

/* build/tests/upstream/upstream: beside the test modules' directory. */
static const char *
upstream_binary(char *buf, size_t len)
{
	const char *mods = unit_test_modules_dir();
	const char *slash = strrchr(mods, '/');

	snprintf(buf, len, "%.*s/upstream/upstream",
	         slash != NULL ? (int)(slash - mods) : 1,
	         slash != NULL ? mods : ".");
	return buf;
}

/*
 * Starts a test upstream named name on 127.0.0.1:port (0: any port),
 * closing idle keep-alive connections after idle_close_ms (0: never).
 * Returns its index in w.up. It dies with this process.
 */
static int
up_start(const char *name, int port, int idle_close_ms)
{
	char bin[PATH_MAX], portfile[PATH_MAX], listen[64], idle[32];
	int i = w.nup++;
	uint64_t end;
	pid_t pid;

	ck_assert(i < MAX_UPSTREAMS);
	upstream_binary(bin, sizeof(bin));
	snprintf(portfile, sizeof(portfile), "%s/up-%d.port", w.dir, i);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(idle, sizeof(idle), "%d", idle_close_ms);
	unlink(portfile);
	pid = fork();
	ck_assert(pid != -1);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0)
			dup2(null, 1);
		if (idle_close_ms > 0)
			execl(bin, bin, "--listen", listen, "--port-file",
			      portfile, "--name", name, "--idle-close-ms", idle,
			      (char *)NULL);
		else
			execl(bin, bin, "--listen", listen, "--port-file",
			      portfile, "--name", name, (char *)NULL);
		_exit(127);
	}
	w.up[i].pid = pid;
	w.up[i].port = 0;
	w.up[i].stopped = 0;
	end = integ_ms_now() + (uint64_t)aster_test_timeout(5000);
	while (integ_ms_now() < end) {
		char *text = integ_read_file(portfile);

		w.up[i].port = atoi(text);
		free(text);
		if (w.up[i].port > 0)
			break;
		ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0,
		              "test upstream %s (%s) exited at start", name,
		              bin);
		integ_sleep_ms(5);
	}
	ck_assert_msg(w.up[i].port > 0, "test upstream %s wrote no port file",
	              name);
	return i;
}

static void
up_stop(int i)
{
	if (w.up[i].pid <= 0)
		return;
	if (w.up[i].stopped)
		kill(w.up[i].pid, SIGCONT);
	kill(w.up[i].pid, SIGTERM);
	waitpid(w.up[i].pid, NULL, 0);
	w.up[i].pid = 0;
}

/* A loopback port that refuses connections: bound here, never listened
 * on. Its index in w.closed_port. */
static int
closed_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int i = w.nclosed++, fd;

	ck_assert(i < MAX_CLOSED);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	ck_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	w.closed_fd[i] = fd;
	w.closed_port[i] = ntohs(a.sin_port);
	return i;
}

/*
 * A loopback port where connects hang: listening with a backlog of 0,
 * its one place taken by a connection of ours that is never accepted,
 * so the kernel drops further SYNs. Its index in w.closed_port.
 */
static int
blackhole_port(void)
{
	struct sockaddr_in a;
	int i = closed_port(), fd;

	ck_assert(listen(w.closed_fd[i], 0) == 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)w.closed_port[i]);
	ck_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	ck_assert(w.nhold < MAX_CLOSED);
	w.hold_fd[w.nhold++] = fd;
	return i;
}

/* GET path straight to upstream i (not through asterd); its status. */
static int
up_get(int i, const char *path, struct aster_test_response *r)
{
	static const char *const close_hdr[] = {"Connection: close", NULL};
	char addr[64];
	struct aster_test_conn *c;
	int rc;

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", w.up[i].port);
	c = aster_test_connect_address(addr, aster_test_timeout(5000));
	ck_assert_msg(c != NULL, "cannot reach upstream %d at %s", i, addr);
	rc = aster_test_conn_request(c, "GET", path, close_hdr, NULL, 0, r);
	aster_test_conn_close(c);
	ck_assert_msg(rc == 0, "GET %s on upstream %d: %s", path, i, r->error);
	return r->status;
}

/* A counter of upstream i's /stats. Each call is one connection and one
 * request of its own, counted there too. */
static long
up_stat(int i, const char *key)
{
	struct aster_test_response r;
	json_object *o, *v;
	long n;

	ck_assert_int_eq(up_get(i, "/stats", &r), 200);
	o = integ_json(&r);
	ck_assert_msg(json_object_object_get_ex(o, key, &v),
	              "no %s in /stats: %s", key, r.body);
	n = (long)json_object_get_int64(v);
	json_object_put(o);
	aster_test_response_free(&r);
	return n;
}

/* Sockets on loopback whose local port is port (the upstream's side of
 * its connections), from /proc/net/tcp, in TCP state state (1
 * ESTABLISHED, 8 CLOSE_WAIT: the peer has closed). */
static int
tcp_count(int port, int state)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	int n = 0;

	ck_assert(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned lport, st;

		if (sscanf(line, " %*d: %*8[0-9A-Fa-f]:%x %*8[0-9A-Fa-f]:%*x "
		           "%x", &lport, &st) == 2 && (int)lport == port &&
		    (int)st == state)
			n++;
	}
	fclose(f);
	return n;
}

/* --- the config --------------------------------------------------------- */

struct text {
	char buf[16384];
	size_t len;
};

static void
text_add(struct text *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_add(struct text *x, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(x->buf + x->len, sizeof(x->buf) - x->len, fmt, ap);
	va_end(ap);
	ck_assert(n >= 0 && (size_t)n < sizeof(x->buf) - x->len);
	x->len += (size_t)n;
}

/* "http://127.0.0.1:PORT" of upstream i, or of closed port i when i is
 * negative (-1 is closed port 0). */
static const char *
target_url(int i, char *buf, size_t len)
{
	snprintf(buf, len, "http://127.0.0.1:%d",
	         i >= 0 ? w.up[i].port : w.closed_port[-i - 1]);
	return buf;
}

#define CLOSED(k) (-(k) - 1)

/*
 * An entry of `upstreams`: name, its targets (indexes as for
 * target_url, ending with END) and further keys, each a line without
 * indentation, ';'-separated (NULL: none).
 */
#define END 99
static void
add_upstream(struct text *x, const char *name, const int *targets,
             const char *keys)
{
	char url[64];

	text_add(x, "  %s:\n    targets:\n", name);
	for (; *targets != END; targets++)
		text_add(x, "      - %s\n", target_url(*targets, url,
		                                         sizeof(url)));
	while (keys != NULL && *keys != '\0') {
		const char *semi = strchr(keys, ';');
		int n = semi != NULL ? (int)(semi - keys) : (int)strlen(keys);

		text_add(x, "    %.*s\n", n, keys);
		keys = semi != NULL ? semi + 1 : keys + n;
	}
}

/* A route GET/POST /NAME (prefix, strip_prefix) proxied to upstream,
 * with further proxy keys as for add_upstream. */
static void
add_route(struct text *x, const char *name, const char *upstream,
          const char *keys)
{
	text_add(x, "  - id: route:api.%s\n    scope: public\n"
	         "    methods: [GET, POST]\n    mountPath: /%s\n"
	         "    match: prefix\n    handler:\n      proxy:\n"
	         "        upstream: \"%s\"\n        strip_prefix: true\n",
	         name, name, upstream);
	while (keys != NULL && *keys != '\0') {
		const char *semi = strchr(keys, ';');
		int n = semi != NULL ? (int)(semi - keys) : (int)strlen(keys);

		text_add(x, "        %.*s\n", n, keys);
		keys = semi != NULL ? semi + 1 : keys + n;
	}
}

/* Writes the product (one public listener, the control socket, debug
 * log) and modules/api.yaml with upstreams and routes. */
static void
write_conf(const struct text *upstreams, const struct text *routes)
{
	struct text x;

	x.len = 0;
	text_add(&x, "kind: product\nid: proxytest\nname: Proxy test\n"
	         "version: 0.1.0\nserver:\n  listen:\n"
	         "    - address: 127.0.0.1:0\n"
	         "      scopes: [public, user, admin]\n"
	         "  control: \"%s\"\n  shutdown_timeout_ms: 2000\n"
	         "log:\n  level: debug\n  access: false\n", w.sock);
	ck_assert_int_eq(aster_test_write_file(w.conf, "product.yaml", x.buf,
	                                       -1), 0);
	x.len = 0;
	text_add(&x, "kind: module\nid: api\ndisplayName: API\n"
	         "version: 0.1.0\nupstreams:\n%sroutes:\n%s", upstreams->buf,
	         routes->buf);
	ck_assert_int_eq(aster_test_write_file(w.conf, "modules/api.yaml",
	                                       x.buf, -1), 0);
}

static void
setup(void)
{
	memset(&w, 0, sizeof(w));
	w.dir = integ_tempdir();
	snprintf(w.conf, sizeof(w.conf), "%s/conf", w.dir);
	snprintf(w.sock, sizeof(w.sock), "%s/control.sock", w.dir);
}

static void
start(const struct text *upstreams, const struct text *routes)
{
	write_conf(upstreams, routes);
	w.t = integ_start_dir(w.conf, NULL);
}

/* Stops asterd (exit 0, clean log) and the upstreams. */
static void
finish(void)
{
	int i;

	if (w.t != NULL)
		integ_stop(w.t);
	w.t = NULL;
	for (i = 0; i < w.nup; i++)
		up_stop(i);
	for (i = 0; i < w.nclosed; i++)
		if (w.closed_fd[i] >= 0)
			close(w.closed_fd[i]);
	for (i = 0; i < w.nhold; i++)
		close(w.hold_fd[i]);
	aster_test_remove_tree(w.dir);
	free(w.dir);
	w.dir = NULL;
}

/* asterctl reload through the control socket; fails the test unless it
 * applied. */
static void
reload(void)
{
	const char *args[] = {"--socket", w.sock, "reload", NULL};
	char *out;
	int rc = integ_asterctl(args, NULL, &out, NULL);

	ck_assert_msg(rc == 0, "asterctl reload: exit %d\n%s", rc, out);
	free(out);
}

/* --- requests through asterd -------------------------------------------- */

/* method path with X-Request-Id rid (and body for POST); the status. */
static int
call(const char *method, const char *path, const char *rid,
     struct aster_test_response *r)
{
	char id[160];
	const char *headers[] = {id, NULL};

	snprintf(id, sizeof(id), "X-Request-Id: %s", rid);
	integ_request(w.t, "public", method, path, headers,
	              strcmp(method, "POST") == 0 ? "hello" : NULL, r);
	return r->status;
}

/* GET path expecting 200; the X-Upstream that answered, in buf. */
static const char *
get_ok(const char *path, const char *rid, char *buf, size_t len)
{
	struct aster_test_response r;
	const char *who;

	ck_assert_msg(call("GET", path, rid, &r) == 200,
	              "GET %s (%s): %d, expected 200: %s", path, rid, r.status,
	              r.body);
	who = aster_test_header(&r, "X-Upstream");
	snprintf(buf, len, "%s", who != NULL ? who : "");
	aster_test_response_free(&r);
	return buf;
}

/* Debug lines are written by asterd's log thread on its 100 ms tick:
 * wait for those of the requests answered so far. */
static void
log_settle(void)
{
	integ_sleep_ms((unsigned)aster_test_timeout(300));
}

/* Attempt lines of request rid in asterd's log whose outcome is
 * outcome (NULL: any), and, when pooled is 0 or 1, whose "(pooled)"
 * mark is so. */
static int
attempts(const char *rid, const char *outcome, int pooled)
{
	const char *log = aster_test_stderr(w.t);
	char key[200], out[64];
	const char *p = log;
	int n = 0;

	snprintf(key, sizeof(key), "request %s: upstream ", rid);
	snprintf(out, sizeof(out), ": %s in ", outcome != NULL ? outcome : "");
	while ((p = strstr(p, key)) != NULL) {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		char line[1024];

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		if ((outcome == NULL || strstr(line, out) != NULL) &&
		    (pooled < 0 ||
		     (strstr(line, "(pooled)") != NULL) == pooled))
			n++;
		p += len;
	}
	return n;
}

/* Lines of asterd's log holding both a and b. */
static int
log_lines_with(const char *a, const char *b)
{
	const char *log = aster_test_stderr(w.t), *p = log;
	int n = 0;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		char line[2048];

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		if (strstr(line, a) != NULL && (b == NULL ||
		                                strstr(line, b) != NULL))
			n++;
		p += len + (eol != NULL);
	}
	return n;
}

/* --- the control socket ------------------------------------------------- */

/* The upstream named name ("api.x") of `upstreams`, with its answer in
 * *root (the caller puts it). */
static json_object *
ctl_upstream(const char *name, json_object **root)
{
	json_object *o = integ_control(w.sock, "{\"command\":\"upstreams\"}");
	json_object *a;
	size_t i;

	ck_assert_msg(o != NULL, "no answer to upstreams on %s", w.sock);
	ck_assert_msg(json_object_object_get_ex(o, "upstreams", &a) &&
	              json_object_is_type(a, json_type_array),
	              "upstreams answer: %s", json_object_to_json_string(o));
	*root = o;
	for (i = 0; i < json_object_array_length(a); i++) {
		json_object *u = json_object_array_get_idx(a, i);

		if (integ_json_str(u, "name") != NULL &&
		    strcmp(integ_json_str(u, "name"), name) == 0)
			return u;
	}
	ck_abort_msg("no upstream %s in %s", name,
	             json_object_to_json_string(o));
	return NULL;
}

static long
int_member(json_object *o, const char *key)
{
	json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v) &&
	              json_object_is_type(v, json_type_int),
	              "no integer %s in %s", key,
	              json_object_to_json_string(o));
	return (long)json_object_get_int64(v);
}

/* upstreams[name].group.key, group "attempts" or "connections". */
static long
ctl_count(const char *name, const char *group, const char *key)
{
	json_object *root, *u = ctl_upstream(name, &root), *g;
	long n;

	ck_assert(json_object_object_get_ex(u, group, &g));
	n = int_member(g, key);
	json_object_put(root);
	return n;
}

struct tview {
	char state[16];
	long in_flight, idle, ejections, back_in_ms;
};

/* The target of upstream name whose URL is target_url(target). */
static void
ctl_target(const char *name, int target, struct tview *v)
{
	json_object *root, *u = ctl_upstream(name, &root), *a;
	char url[64];
	size_t i;

	target_url(target, url, sizeof(url));
	ck_assert(json_object_object_get_ex(u, "targets", &a));
	for (i = 0; i < json_object_array_length(a); i++) {
		json_object *tg = json_object_array_get_idx(a, i);

		if (integ_json_str(tg, "url") == NULL ||
		    strcmp(integ_json_str(tg, "url"), url) != 0)
			continue;
		snprintf(v->state, sizeof(v->state), "%s",
		         integ_json_str(tg, "state") != NULL ?
		         integ_json_str(tg, "state") : "");
		v->in_flight = int_member(tg, "inFlight");
		v->idle = int_member(tg, "idle");
		v->ejections = int_member(tg, "ejections");
		v->back_in_ms = int_member(tg, "backInMs");
		json_object_put(root);
		return;
	}
	ck_abort_msg("no target %s in upstream %s: %s", url, name,
	             json_object_to_json_string(u));
}

/* Polls until target's state is state, for at most ms; the time it took,
 * or -1. */
static long
wait_state(const char *name, int target, const char *state, int ms)
{
	uint64_t start = integ_ms_now(), end = start + (uint64_t)ms;
	struct tview v;

	for (;;) {
		ctl_target(name, target, &v);
		if (strcmp(v.state, state) == 0)
			return (long)(integ_ms_now() - start);
		if (integ_ms_now() >= end)
			return -1;
		integ_sleep_ms(10);
	}
}

/* A problem's detail names the upstream label and no address of a
 * target (ports are those of targets[], END-terminated). */
static void
assert_detail(const struct aster_test_response *r, const char *label,
              const int *targets)
{
	json_object *o = integ_json(r);
	const char *detail = integ_json_str(o, "detail");
	char port[16], url[64];

	ck_assert_msg(detail != NULL && strstr(detail, label) != NULL,
	              "the detail does not name upstream '%s': %s", label,
	              r->body);
	ck_assert_msg(strstr(r->body, "127.0.0.1") == NULL,
	              "the problem shows a target's address: %s", r->body);
	for (; *targets != END; targets++) {
		target_url(*targets, url, sizeof(url));
		snprintf(port, sizeof(port), "%s", strrchr(url, ':') + 1);
		ck_assert_msg(strstr(r->body, port) == NULL,
		              "the problem shows target port %s: %s", port,
		              r->body);
	}
	json_object_put(o);
}

/* --- pools --------------------------------------------------------------- */

/* Sequential requests ride one upstream connection. */
START_TEST(test_pool_reuses_one_connection)
{
	static const char *const json_args[] = {"--socket", NULL, "--json",
	                                        "upstreams", NULL};
	struct text ups = {.len = 0}, routes = {.len = 0};
	const char *args[5];
	int a, i, n = 20;
	long before, after;
	char who[64], rid[32], *out;
	json_object *o;

	setup();
	a = up_start("a", 0, 0);
	add_upstream(&ups, "one", (int[]){a, END}, NULL);
	add_route(&routes, "one", "one", NULL);
	start(&ups, &routes);
	before = up_stat(a, "connections_accepted");
	for (i = 0; i < n; i++) {
		snprintf(rid, sizeof(rid), "pool-%d", i);
		ck_assert_str_eq(get_ok("/one/x", rid, who, sizeof(who)), "a");
	}
	/* after - before: asterd's connections and the second /stats. */
	after = up_stat(a, "connections_accepted");
	ck_assert_msg(after - before - 1 == 1, "%ld upstream connections for "
	              "%d sequential requests, expected 1", after - before - 1,
	              n);
	ck_assert_int_eq(ctl_count("api.one", "connections", "opened"), 1);
	ck_assert_int_eq(ctl_count("api.one", "connections", "reused"), n - 1);
	ck_assert_int_eq(ctl_count("api.one", "attempts", "ok"), n);

	/* The same through asterctl --json. */
	memcpy(args, json_args, sizeof(args));
	args[1] = w.sock;
	ck_assert_int_eq(integ_asterctl(args, NULL, &out, NULL), 0);
	o = json_tokener_parse(out);
	ck_assert_msg(o != NULL, "asterctl --json upstreams: %s", out);
	ck_assert_msg(strstr(out, "\"reused\":19") != NULL ||
	              strstr(out, "\"reused\": 19") != NULL,
	              "asterctl --json upstreams does not show 19 reused: %s",
	              out);
	json_object_put(o);
	free(out);
	log_settle();
	ck_assert_int_eq(attempts("pool-0", "ok", 0), 1);
	ck_assert_int_eq(attempts("pool-19", "ok", 1), 1);
	finish();
}
END_TEST

/* A unix: target pools as a TCP one does; a unix: target nobody
 * listens on is a quick 502. */
START_TEST(test_pool_unix_target)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	char path[PATH_MAX], missing[PATH_MAX], listen[PATH_MAX + 8];
	char portfile[PATH_MAX], bin[PATH_MAX], who[64], rid[32];
	struct aster_test_response r;
	uint64_t end;
	pid_t pid;
	int i;

	setup();
	snprintf(path, sizeof(path), "%s/up.sock", w.dir);
	snprintf(missing, sizeof(missing), "%s/nobody.sock", w.dir);
	snprintf(listen, sizeof(listen), "unix:%s", path);
	snprintf(portfile, sizeof(portfile), "%s/unix.port", w.dir);
	upstream_binary(bin, sizeof(bin));
	pid = fork();
	ck_assert(pid != -1);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0)
			dup2(null, 1);
		execl(bin, bin, "--listen", listen, "--port-file", portfile,
		      "--name", "u", (char *)NULL);
		_exit(127);
	}
	w.up[w.nup].pid = pid;
	w.nup++;
	end = integ_ms_now() + (uint64_t)aster_test_timeout(5000);
	while (access(portfile, F_OK) != 0 && integ_ms_now() < end)
		integ_sleep_ms(5);
	ck_assert_msg(access(portfile, F_OK) == 0, "unix upstream not ready");
	text_add(&ups, "  ux:\n    targets:\n      - \"unix:%s\"\n", path);
	text_add(&ups, "  none:\n    targets:\n      - \"unix:%s\"\n",
	         missing);
	add_route(&routes, "ux", "ux", NULL);
	add_route(&routes, "none", "none", NULL);
	start(&ups, &routes);
	for (i = 0; i < 5; i++) {
		snprintf(rid, sizeof(rid), "ux-%d", i);
		ck_assert_str_eq(get_ok("/ux/x", rid, who, sizeof(who)), "u");
	}
	ck_assert_int_eq(ctl_count("api.ux", "connections", "opened"), 1);
	ck_assert_int_eq(ctl_count("api.ux", "connections", "reused"), 4);
	ck_assert_int_eq(call("GET", "/none/x", "none", &r), 502);
	integ_assert_problem(&r, 502, "bad-gateway");
	assert_detail(&r, "api.none", (int[]){END});
	ck_assert_msg(strstr(r.body, ".sock") == NULL,
	              "the problem shows the socket's path: %s", r.body);
	aster_test_response_free(&r);
	finish();
}
END_TEST

/* A client that leaves while its request waits on the upstream: the
 * exchange is abandoned at once, its upstream connection closed (never
 * pooled mid-exchange), and the target has nothing in flight. */
START_TEST(test_pool_client_leaves)
{
	static const char req[] = "GET /cl/x?delay_ms=1500 HTTP/1.1\r\n"
	                          "Host: x\r\nConnection: close\r\n\r\n";
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct aster_test_conn *c;
	struct tview v;
	char who[64];
	uint64_t end;
	int a;

	setup();
	a = up_start("a", 0, 0);
	add_upstream(&ups, "cl", (int[]){a, END}, NULL);
	add_route(&routes, "cl", "cl", NULL);
	start(&ups, &routes);
	c = aster_test_connect(w.t, "public");
	ck_assert(c != NULL);
	ck_assert_int_eq(aster_test_conn_send(c, req, sizeof(req) - 1), 0);
	integ_sleep_ms(200);
	ctl_target("api.cl", a, &v);
	ck_assert_int_eq(v.in_flight, 1);
	aster_test_conn_close(c);
	end = integ_ms_now() + 1000;
	do {
		integ_sleep_ms(20);
		ctl_target("api.cl", a, &v);
	} while (v.in_flight != 0 && integ_ms_now() < end);
	ck_assert_msg(v.in_flight == 0, "the left client's request is still "
	              "in flight after 1 s");
	ck_assert_int_eq(v.idle, 0);
	/* The test upstream answers a half-closed request before it
	 * closes: asterd's close shows as CLOSE_WAIT on its side. */
	end = integ_ms_now() + 500;
	while (tcp_count(w.up[a].port, 1) > 0 && integ_ms_now() < end)
		integ_sleep_ms(10);
	ck_assert_msg(tcp_count(w.up[a].port, 1) == 0 &&
	              tcp_count(w.up[a].port, 8) == 1, "the abandoned "
	              "exchange's upstream connection was not closed (%d "
	              "established, %d closed by asterd)",
	              tcp_count(w.up[a].port, 1), tcp_count(w.up[a].port, 8));
	ck_assert_str_eq(get_ok("/cl/x", "cl-2", who, sizeof(who)), "a");
	ck_assert_int_eq(ctl_count("api.cl", "connections", "opened"), 2);
	finish();
}
END_TEST

/* Sends GET path on n new connections to asterd before reading any
 * answer; every one must be 200. */
static void
concurrent_gets(const char *path, int n)
{
	struct aster_test_conn *c[16];
	char req[512];
	int i, len;

	ck_assert(n <= 16);
	len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n"
	               "Connection: close\r\n\r\n", path);
	for (i = 0; i < n; i++) {
		c[i] = aster_test_connect(w.t, "public");
		ck_assert(c[i] != NULL);
		ck_assert_int_eq(aster_test_conn_send(c[i], req, (size_t)len),
		                 0);
	}
	for (i = 0; i < n; i++) {
		struct aster_test_response r;

		ck_assert_msg(aster_test_conn_read_response(c[i], 0, &r) == 0,
		              "concurrent GET %s #%d: %s", path, i, r.error);
		ck_assert_msg(r.status == 200, "concurrent GET %s #%d: %d %s",
		              path, i, r.status, r.body);
		aster_test_response_free(&r);
		aster_test_conn_close(c[i]);
	}
}

/* keepalive: 2 keeps two of ten connections once they are idle. */
START_TEST(test_pool_keepalive_limit)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct tview v;
	long open = -1;
	uint64_t end;
	int a;

	setup();
	a = up_start("a", 0, 0);
	add_upstream(&ups, "ka", (int[]){a, END}, "keepalive: 2");
	add_route(&routes, "ka", "ka", NULL);
	start(&ups, &routes);
	concurrent_gets("/ka/x?delay_ms=300", 10);
	ck_assert_int_eq(ctl_count("api.ka", "connections", "opened"), 10);
	ctl_target("api.ka", a, &v);
	ck_assert_msg(v.idle == 2, "%ld idle connections kept, keepalive is 2",
	              v.idle);
	ck_assert_int_eq(v.in_flight, 0);
	/* The upstream sees the other eight close (its own /stats
	 * connection is the one more). */
	end = integ_ms_now() + (uint64_t)aster_test_timeout(2000);
	while (integ_ms_now() < end) {
		open = up_stat(a, "open_connections") - 1;
		if (open <= 2)
			break;
		integ_sleep_ms(20);
	}
	ck_assert_msg(open == 2, "the upstream has %ld connections open, "
	              "expected the 2 kept", open);
	finish();
}
END_TEST

/* A target that says `Keep-Alive: timeout=3` has its idle connection
 * let go half a second before it would close it itself (at 2.5 s); one
 * that says nothing keeps it pooled. */
START_TEST(test_pool_target_keepalive_timeout)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct tview v;
	char who[64];
	long open = -1;
	uint64_t end;
	int a;

	setup();
	a = up_start("a", 0, 0);
	add_upstream(&ups, "kt", (int[]){a, END}, NULL);
	add_route(&routes, "kt", "kt", NULL);
	start(&ups, &routes);
	get_ok("/kt/x?hdr=Keep-Alive:timeout%3D3", "kt-1", who, sizeof(who));
	end = integ_ms_now() + 2500;
	ctl_target("api.kt", a, &v);
	ck_assert_msg(v.idle == 1, "%ld idle connections right after the "
	              "answer, expected 1", v.idle);
	/* Still there at 1 s; gone once 2.5 s have passed (polled until
	 * the target's own 3 s, and a little more). */
	integ_sleep_ms(1000);
	ctl_target("api.kt", a, &v);
	ck_assert_msg(integ_ms_now() >= end || v.idle == 1,
	              "the connection went before 2.5 s");
	end += 1000;
	while (integ_ms_now() < end) {
		ctl_target("api.kt", a, &v);
		if (v.idle == 0)
			break;
		integ_sleep_ms(20);
	}
	ck_assert_msg(v.idle == 0, "the pool kept the connection past the "
	              "target's keep-alive timeout");
	end = integ_ms_now() + (uint64_t)aster_test_timeout(2000);
	while (integ_ms_now() < end) {
		open = up_stat(a, "open_connections") - 1;
		if (open == 0)
			break;
		integ_sleep_ms(20);
	}
	ck_assert_msg(open == 0, "asterd did not close it (%ld open)", open);
	/* Without the header, it stays. */
	get_ok("/kt/x", "kt-2", who, sizeof(who));
	integ_sleep_ms(3500);
	ctl_target("api.kt", a, &v);
	ck_assert_msg(v.idle == 1, "%ld idle without a Keep-Alive timeout",
	              v.idle);
	finish();
}
END_TEST

/* keepalive: 0 keeps nothing: each request has a connection of its
 * own, closed after the answer. */
START_TEST(test_pool_keepalive_zero)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct tview v;
	char who[64], rid[32];
	long before, after, open = -1;
	uint64_t end;
	int a, i;

	setup();
	a = up_start("a", 0, 0);
	add_upstream(&ups, "np", (int[]){a, END}, "keepalive: 0");
	add_route(&routes, "np", "np", NULL);
	start(&ups, &routes);
	before = up_stat(a, "connections_accepted");
	for (i = 0; i < 5; i++) {
		snprintf(rid, sizeof(rid), "np-%d", i);
		get_ok("/np/x", rid, who, sizeof(who));
	}
	after = up_stat(a, "connections_accepted");
	ck_assert_int_eq(after - before - 1, 5);
	ck_assert_int_eq(ctl_count("api.np", "connections", "reused"), 0);
	ctl_target("api.np", a, &v);
	ck_assert_int_eq(v.idle, 0);
	end = integ_ms_now() + (uint64_t)aster_test_timeout(2000);
	while (integ_ms_now() < end) {
		open = up_stat(a, "open_connections") - 1;
		if (open == 0)
			break;
		integ_sleep_ms(20);
	}
	ck_assert_msg(open == 0, "%ld connections left open with keepalive 0",
	              open);
	finish();
}
END_TEST

/* An upstream that closes idle connections after 300 ms: the next
 * request after 500 ms of quiet gets a fresh connection, never the
 * closed one, and never fails. */
START_TEST(test_pool_idle_closed_by_upstream)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	char who[64], rid[32];
	int a, i, rounds = 4;

	setup();
	a = up_start("a", 0, 300);
	add_upstream(&ups, "ic", (int[]){a, END}, NULL);
	add_route(&routes, "ic", "ic", "retries: 0");
	start(&ups, &routes);
	for (i = 0; i < rounds; i++) {
		snprintf(rid, sizeof(rid), "idle-%d", i);
		get_ok("/ic/x", rid, who, sizeof(who));
		integ_sleep_ms(500);
	}
	log_settle();
	for (i = 0; i < rounds; i++) {
		snprintf(rid, sizeof(rid), "idle-%d", i);
		ck_assert_msg(attempts(rid, NULL, -1) == 1 &&
		              attempts(rid, "ok", 0) == 1,
		              "%s: expected one attempt, ok, on a fresh "
		              "connection; log:\n%s", rid,
		              aster_test_stderr(w.t));
	}
	ck_assert_int_eq(ctl_count("api.ic", "attempts", "reset"), 0);
	ck_assert_int_eq(ctl_count("api.ic", "connections", "reused"), 0);
	ck_assert_int_eq(ctl_count("api.ic", "connections", "opened"), rounds);
	finish();
}
END_TEST

/* --- retries -------------------------------------------------------------- */

/* Upstreams for the retry tests: `two` (a closed port, then a), `pair`
 * (a and b, never used but by requests that fail), `once` (the same,
 * retries 0 on its routes) and `three` (pair with retries 3). */
static void
retry_world(int *a, int *b)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	int cl;

	setup();
	*a = up_start("a", 0, 0);
	*b = up_start("b", 0, 0);
	cl = closed_port();
	add_upstream(&ups, "two", (int[]){CLOSED(cl), *a, END}, NULL);
	add_upstream(&ups, "pair", (int[]){*a, *b, END}, NULL);
	add_upstream(&ups, "once", (int[]){CLOSED(cl), *a, END}, NULL);
	add_upstream(&ups, "three", (int[]){*a, *b, END}, NULL);
	add_route(&routes, "two", "two", NULL);
	add_route(&routes, "pair", "pair", NULL);
	add_route(&routes, "once", "once", "retries: 0");
	add_route(&routes, "three", "three", "retries: 3");
	add_route(&routes, "inline", target_url(CLOSED(cl), (char[64]){0}, 64),
	          NULL);
	start(&ups, &routes);
}

/* A closed port among the targets: GET and POST both reach the other
 * (a refused connect never sent the request, so a POST is retried). */
START_TEST(test_retry_connect_refused)
{
	char rid[32], who[64];
	struct aster_test_response r;
	int a, b, i, refused = 0;

	retry_world(&a, &b);
	for (i = 0; i < 4; i++) {
		snprintf(rid, sizeof(rid), "get-%d", i);
		ck_assert_str_eq(get_ok("/two/x", rid, who, sizeof(who)), "a");
	}
	for (i = 0; i < 4; i++) {
		snprintf(rid, sizeof(rid), "post-%d", i);
		ck_assert_msg(call("POST", "/two/x", rid, &r) == 200,
		              "POST (%s): %d %s", rid, r.status, r.body);
		ck_assert_str_eq(aster_test_header(&r, "X-Upstream"), "a");
		ck_assert_msg(strstr(r.body, "\"body_length\":5") != NULL ||
		              strstr(r.body, "\"body_length\": 5") != NULL,
		              "the retried POST lost its body: %s", r.body);
		aster_test_response_free(&r);
	}
	log_settle();
	for (i = 0; i < 4; i++) {
		snprintf(rid, sizeof(rid), "get-%d", i);
		refused += attempts(rid, "connect_error", -1);
		ck_assert_int_eq(attempts(rid, "ok", -1), 1);
		snprintf(rid, sizeof(rid), "post-%d", i);
		refused += attempts(rid, "connect_error", -1);
		ck_assert_int_eq(attempts(rid, "ok", -1), 1);
	}
	/* Round-robin starts each request on the next target: half of
	 * them meet the closed port first. */
	ck_assert_msg(refused == 4, "%d refused attempts in the log, "
	              "expected 4 of 8 requests", refused);
	ck_assert_int_eq(ctl_count("api.two", "attempts", "connect_error"), 4);
	ck_assert_int_eq(ctl_count("api.two", "attempts", "ok"), 8);
	finish();
}
END_TEST

/* Resets: an idempotent request is retried (1 + retries attempts), a
 * POST that went out is not; retries 0 means one attempt. */
START_TEST(test_retry_reset)
{
	struct aster_test_response r;
	int a, b, first_refused;

	retry_world(&a, &b);
	ck_assert_int_eq(call("GET", "/pair/x?reset=1", "reset-get", &r), 502);
	integ_assert_problem(&r, 502, "bad-gateway");
	assert_detail(&r, "api.pair", (int[]){a, b, END});
	aster_test_response_free(&r);

	ck_assert_int_eq(call("POST", "/pair/x?reset=1", "reset-post", &r),
	                 502);
	integ_assert_problem(&r, 502, "bad-gateway");
	aster_test_response_free(&r);

	ck_assert_int_eq(call("GET", "/three/x?reset=1", "reset-3", &r), 502);
	integ_assert_problem(&r, 502, "bad-gateway");
	assert_detail(&r, "api.three", (int[]){a, b, END});
	aster_test_response_free(&r);

	/* retries 0: a reset and a refused connect are answered at once. */
	ck_assert_int_eq(call("GET", "/once/x", "once-0", &r), 502);
	integ_assert_problem(&r, 502, "bad-gateway");
	assert_detail(&r, "api.once", (int[]){CLOSED(0), a, END});
	aster_test_response_free(&r);
	ck_assert_int_eq(call("GET", "/once/x?reset=1", "once-1", &r), 502);
	aster_test_response_free(&r);

	/* An inline upstream is named by its URL. */
	ck_assert_int_eq(call("GET", "/inline/x", "inline", &r), 502);
	integ_assert_problem(&r, 502, "bad-gateway");
	{
		char url[64], want[80];

		snprintf(want, sizeof(want), "'%s'",
		         target_url(CLOSED(0), url, sizeof(url)));
		ck_assert_msg(strstr(r.body, want) != NULL,
		              "the detail does not name %s: %s", want, r.body);
	}
	aster_test_response_free(&r);

	log_settle();
	ck_assert_msg(attempts("reset-get", "reset", 0) == 2 &&
	              attempts("reset-get", NULL, -1) == 2,
	              "GET ?reset=1 with retries 1: expected 2 reset attempts;"
	              " log:\n%s", aster_test_stderr(w.t));
	ck_assert_msg(attempts("reset-post", "reset", -1) == 1 &&
	              attempts("reset-post", NULL, -1) == 1,
	              "POST ?reset=1: expected 1 attempt (it was sent); "
	              "log:\n%s", aster_test_stderr(w.t));
	ck_assert_msg(attempts("reset-3", "reset", 0) == 4 &&
	              attempts("reset-3", NULL, -1) == 4,
	              "GET ?reset=1 with retries 3: expected 4 attempts; "
	              "log:\n%s", aster_test_stderr(w.t));
	first_refused = attempts("once-0", "connect_error", -1);
	ck_assert_msg(first_refused == 1 && attempts("once-0", NULL, -1) == 1,
	              "retries 0, closed port first: expected 1 attempt; "
	              "log:\n%s", aster_test_stderr(w.t));
	ck_assert_msg(attempts("once-1", "reset", -1) == 1 &&
	              attempts("once-1", NULL, -1) == 1,
	              "retries 0, reset: expected 1 attempt; log:\n%s",
	              aster_test_stderr(w.t));
	ck_assert_int_eq(ctl_count("api.pair", "attempts", "reset"), 3);
	ck_assert_int_eq(ctl_count("api.three", "attempts", "reset"), 4);
	finish();
}
END_TEST

/*
 * A reset on a pooled connection before any answer earns one retry on a
 * fresh connection that retries 0 does not forbid (the idempotency rule
 * still holds: a POST that went out is not sent again).
 */
START_TEST(test_retry_pooled_reset)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct aster_test_response r;
	char who[64];
	int a;

	setup();
	a = up_start("a", 0, 0);
	add_upstream(&ups, "solo", (int[]){a, END}, NULL);
	add_route(&routes, "solo", "solo", "retries: 0");
	start(&ups, &routes);
	get_ok("/solo/x", "warm-1", who, sizeof(who));
	ck_assert_int_eq(call("GET", "/solo/x?reset=1", "pr-get", &r), 502);
	integ_assert_problem(&r, 502, "bad-gateway");
	aster_test_response_free(&r);
	get_ok("/solo/x", "warm-2", who, sizeof(who));
	ck_assert_int_eq(call("POST", "/solo/x?reset=1", "pr-post", &r), 502);
	integ_assert_problem(&r, 502, "bad-gateway");
	aster_test_response_free(&r);
	log_settle();
	ck_assert_msg(attempts("pr-get", "reset", 1) == 1 &&
	              attempts("pr-get", "reset", 0) == 1 &&
	              attempts("pr-get", NULL, -1) == 2,
	              "GET reset on a pooled connection, retries 0: expected "
	              "the pooled attempt and one fresh; log:\n%s",
	              aster_test_stderr(w.t));
	ck_assert_msg(attempts("pr-post", "reset", 1) == 1 &&
	              attempts("pr-post", NULL, -1) == 1,
	              "POST reset on a pooled connection: expected one "
	              "attempt; log:\n%s", aster_test_stderr(w.t));
	finish();
}
END_TEST

/* Retries go to targets not tried yet: three targets that all reset,
 * retries 2, three attempts on three different targets. */
START_TEST(test_retry_untried_first)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct aster_test_response r;
	int a, b, c, i;

	setup();
	a = up_start("a", 0, 0);
	b = up_start("b", 0, 0);
	c = up_start("c", 0, 0);
	add_upstream(&ups, "tri", (int[]){a, b, c, END}, NULL);
	add_route(&routes, "tri", "tri", "retries: 2");
	start(&ups, &routes);
	for (i = 0; i < 3; i++) {
		char rid[16];

		snprintf(rid, sizeof(rid), "tri-%d", i);
		ck_assert_int_eq(call("GET", "/tri/x?reset=1", rid, &r), 502);
		aster_test_response_free(&r);
	}
	log_settle();
	for (i = 0; i < 3; i++) {
		char rid[16], key[64], url[64];
		int k, each = 1;

		snprintf(rid, sizeof(rid), "tri-%d", i);
		snprintf(key, sizeof(key), "request %s: upstream", rid);
		for (k = 0; k < 3; k++) {
			char with[80];

			snprintf(with, sizeof(with), "target %s attempt",
			         target_url((int[]){a, b, c}[k], url,
			                    sizeof(url)));
			each &= log_lines_with(key, with) == 1;
		}
		ck_assert_msg(each && attempts(rid, NULL, -1) == 3,
		              "%s: expected one attempt on each of the three "
		              "targets; log:\n%s", rid, aster_test_stderr(w.t));
	}
	finish();
}
END_TEST

/* A garbage status line is an invalid response: 502 bad-gateway. */
START_TEST(test_retry_bad_response)
{
	struct aster_test_response r;
	int a, b;

	retry_world(&a, &b);
	ck_assert_int_eq(call("GET", "/pair/x?drop_head=1", "garbage", &r),
	                 502);
	integ_assert_problem(&r, 502, "bad-gateway");
	assert_detail(&r, "api.pair", (int[]){a, b, END});
	aster_test_response_free(&r);
	log_settle();
	ck_assert_msg(attempts("garbage", "bad_response", -1) == 2 &&
	              attempts("garbage", NULL, -1) == 2,
	              "GET ?drop_head=1 with retries 1: expected 2 "
	              "bad_response attempts; log:\n%s",
	              aster_test_stderr(w.t));
	ck_assert_int_eq(ctl_count("api.pair", "attempts", "bad_response"), 2);
	finish();
}
END_TEST

/* How long the last attempt of request rid lasted, by its log line
 * ("... in X ms"); -1 when there is none. */
static double
last_attempt_ms(const char *rid)
{
	const char *log = aster_test_stderr(w.t), *p = log, *last = NULL;
	char key[200];

	snprintf(key, sizeof(key), "request %s: upstream ", rid);
	while ((p = strstr(p, key)) != NULL)
		last = p++;
	if (last == NULL || (last = strstr(last, " in ")) == NULL)
		return -1;
	return strtod(last + 4, NULL);
}

/* --- timeouts ------------------------------------------------------------- */

/* GET path; the status, with the time it took in *took_ms. */
static int
timed_get(const char *path, const char *rid, struct aster_test_response *r,
          uint64_t *took_ms)
{
	uint64_t t0 = integ_ms_now();

	call("GET", path, rid, r);
	*took_ms = integ_ms_now() - t0;
	return r->status;
}

/*
 * try_timeout_ms 200 within timeout_ms 1000, both targets answering
 * after 500 ms: each attempt times out at 200 ms and the next goes out
 * while retries and time allow. With retries 1 that is two attempts and
 * 504 at about 400 ms; with retries 10, time runs out first: attempts
 * at 0, 200, 400, 600 and 800 ms, the last cut at the 1000 ms deadline
 * (which leaves no time for a sixth, even when the loop's coarse clock
 * fires its timer a few ms early), 504 at about 1000 ms. Those early
 * timers can also start the fifth a tick or four before 800 ms, so that
 * it ends just before the deadline: a sixth then has the few ms left.
 * timeout_ms 300
 * alone (try_timeout_ms defaults to it) against a 2000 ms answer: one
 * attempt, 504 at about 300 ms.
 */
START_TEST(test_timeouts)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct aster_test_response r;
	uint64_t took;
	long slack = aster_test_timeout(250);
	int a, b, n;

	setup();
	a = up_start("a", 0, 0);
	b = up_start("b", 0, 0);
	add_upstream(&ups, "slow", (int[]){a, b, END}, NULL);
	add_route(&routes, "slow", "slow", "try_timeout_ms: 200;"
	          "timeout_ms: 1000");
	add_route(&routes, "slow10", "slow", "try_timeout_ms: 200;"
	          "timeout_ms: 1000;retries: 10");
	add_route(&routes, "slow300", "slow", "timeout_ms: 300");
	start(&ups, &routes);

	ck_assert_int_eq(timed_get("/slow/x?delay_ms=500", "to-1", &r, &took),
	                 504);
	integ_assert_problem(&r, 504, "gateway-timeout");
	assert_detail(&r, "api.slow", (int[]){a, b, END});
	aster_test_response_free(&r);
	ck_assert_msg(took >= 390 && took < (uint64_t)(400 + slack),
	              "two 200 ms attempts answered 504 after %llu ms",
	              (unsigned long long)took);

	ck_assert_int_eq(timed_get("/slow10/x?delay_ms=500", "to-10", &r,
	                           &took), 504);
	integ_assert_problem(&r, 504, "gateway-timeout");
	aster_test_response_free(&r);
	ck_assert_msg(took >= 990 && took < (uint64_t)(1000 + slack),
	              "timeout_ms 1000 answered 504 after %llu ms",
	              (unsigned long long)took);

	ck_assert_int_eq(timed_get("/slow300/x?delay_ms=2000", "to-300", &r,
	                           &took), 504);
	integ_assert_problem(&r, 504, "gateway-timeout");
	aster_test_response_free(&r);
	ck_assert_msg(took >= 290 && took < (uint64_t)(300 + slack),
	              "timeout_ms 300 answered 504 after %llu ms",
	              (unsigned long long)took);

	log_settle();
	ck_assert_msg(attempts("to-1", "timeout", -1) == 2 &&
	              attempts("to-1", NULL, -1) == 2,
	              "retries 1: expected 2 timed out attempts; log:\n%s",
	              aster_test_stderr(w.t));
	n = attempts("to-10", NULL, -1);
	ck_assert_msg(attempts("to-10", "timeout", -1) == n &&
	              (n == 5 || (n == 6 && last_attempt_ms("to-10") < 25)),
	              "retries 10 within 1000 ms: %d attempts, expected 5 "
	              "timed out (or a sixth in the last few ms); log:\n%s", n,
	              aster_test_stderr(w.t));
	ck_assert_msg(attempts("to-300", "timeout", -1) == 1 &&
	              attempts("to-300", NULL, -1) == 1,
	              "timeout_ms 300: expected 1 attempt; log:\n%s",
	              aster_test_stderr(w.t));
	finish();
}
END_TEST

/*
 * Connects that never finish. Alone, within timeout_ms 300, that is no
 * answer in time: 504 at 300 ms. With connect_timeout_ms 100 beside a
 * live target, the connect gives up at 100 ms (a connect error) and the
 * retry on the other answers.
 */
START_TEST(test_connect_hangs)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct aster_test_response r;
	uint64_t took;
	long slack = aster_test_timeout(250);
	int a, bh, i;

	setup();
	a = up_start("a", 0, 0);
	bh = blackhole_port();
	add_upstream(&ups, "bh", (int[]){CLOSED(bh), END}, NULL);
	add_upstream(&ups, "bh2", (int[]){CLOSED(bh), a, END},
	             "connect_timeout_ms: 100");
	add_route(&routes, "bh", "bh", "timeout_ms: 300");
	add_route(&routes, "bh2", "bh2", "timeout_ms: 1000");
	start(&ups, &routes);

	ck_assert_int_eq(timed_get("/bh/x", "bh-1", &r, &took), 504);
	integ_assert_problem(&r, 504, "gateway-timeout");
	assert_detail(&r, "api.bh", (int[]){CLOSED(bh), END});
	aster_test_response_free(&r);
	ck_assert_msg(took >= 290 && took < (uint64_t)(300 + slack),
	              "a hanging connect answered 504 after %llu ms, "
	              "timeout_ms 300", (unsigned long long)took);

	/* Round-robin: one of the two requests meets the hanging target
	 * first. */
	for (i = 0; i < 2; i++) {
		char rid[16];

		snprintf(rid, sizeof(rid), "bh2-%d", i);
		ck_assert_int_eq(timed_get("/bh2/x", rid, &r, &took), 200);
		ck_assert_str_eq(aster_test_header(&r, "X-Upstream"), "a");
		aster_test_response_free(&r);
		ck_assert_msg(took < (uint64_t)(100 + slack),
		              "%s took %llu ms, connect_timeout_ms 100", rid,
		              (unsigned long long)took);
	}
	log_settle();
	ck_assert_msg(attempts("bh-1", "timeout", -1) == 1 &&
	              attempts("bh-1", NULL, -1) == 1,
	              "a connect hanging through timeout_ms: expected one "
	              "attempt that timed out; log:\n%s",
	              aster_test_stderr(w.t));
	ck_assert_msg(attempts("bh2-0", "connect_error", -1) +
	              attempts("bh2-1", "connect_error", -1) == 1,
	              "connect_timeout_ms: expected one connect error; "
	              "log:\n%s", aster_test_stderr(w.t));
	finish();
}
END_TEST

/* --- a retry storm ------------------------------------------------------ */

struct storm {
	const char *address;
	const char *path;
	int requests;
	long bad;                   /* not 502 */
	uint64_t slowest_ms;
	char why[256];
};

static void *
storm_client(void *arg)
{
	struct storm *s = arg;
	int i;

	for (i = 0; i < s->requests; i++) {
		struct aster_test_conn *c;
		struct aster_test_response r;
		uint64_t t0 = integ_ms_now(), took;

		c = aster_test_connect_address(s->address,
		                               aster_test_timeout(10000));
		if (c == NULL ||
		    aster_test_conn_request(c, "GET", s->path, NULL, NULL, 0,
		                            &r) != 0) {
			s->bad++;
			snprintf(s->why, sizeof(s->why), "no answer");
			if (c != NULL) {
				aster_test_response_free(&r);
				aster_test_conn_close(c);
			}
			continue;
		}
		took = integ_ms_now() - t0;
		if (took > s->slowest_ms)
			s->slowest_ms = took;
		if (r.status != 502) {
			s->bad++;
			snprintf(s->why, sizeof(s->why), "%d %s", r.status,
			         r.body);
		}
		aster_test_response_free(&r);
		aster_test_conn_close(c);
	}
	return NULL;
}

/* Both targets down, 200 requests with retries 1: at most two connect
 * attempts each, every answer a quick 502. */
START_TEST(test_retry_storm_bounded)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct storm s[LOAD_THREADS];
	pthread_t th[LOAD_THREADS];
	long refused, opened;
	uint64_t slowest = 0;
	int c1, c2, i, lines;

	setup();
	c1 = closed_port();
	c2 = closed_port();
	add_upstream(&ups, "dead", (int[]){CLOSED(c1), CLOSED(c2), END},
	             NULL);
	add_route(&routes, "dead", "dead", "retries: 1");
	start(&ups, &routes);
	for (i = 0; i < LOAD_THREADS; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].address = aster_test_address(w.t, "public");
		s[i].path = "/dead/x";
		s[i].requests = 200 / LOAD_THREADS;
		ck_assert(pthread_create(&th[i], NULL, storm_client, &s[i]) ==
		          0);
	}
	for (i = 0; i < LOAD_THREADS; i++) {
		pthread_join(th[i], NULL);
		if (s[i].slowest_ms > slowest)
			slowest = s[i].slowest_ms;
		ck_assert_msg(s[i].bad == 0, "storm client %d: %ld answers not "
		              "502, last: %s", i, s[i].bad, s[i].why);
	}
	ck_assert_msg(slowest < (uint64_t)aster_test_timeout(1000),
	              "a 502 of the storm took %llu ms",
	              (unsigned long long)slowest);
	refused = ctl_count("api.dead", "attempts", "connect_error");
	opened = ctl_count("api.dead", "connections", "opened");
	ck_assert_msg(refused >= 200 && refused <= 400, "%ld connect attempts "
	              "for 200 requests with retries 1 (at most 400)", refused);
	ck_assert_msg(opened <= 400, "%ld connections opened for 200 requests "
	              "with retries 1", opened);
	log_settle();
	lines = log_lines_with("upstream api.dead target", "connect_error");
	ck_assert_msg(lines == refused, "%d connect_error attempts logged, "
	              "%ld counted", lines, refused);
	finish();
}
END_TEST

/* --- load ----------------------------------------------------------------- */

/*
 * A client thread on one keep-alive connection to asterd: GET path in
 * bursts of burst_ms, with gap_ms of quiet between them, until until_ms.
 * Every answer must be 200. The X-Upstream names of the answers are
 * counted in `late` when the request began after *mark_ms (0: unset)
 * and the answer came from avoid.
 */
struct load {
	const char *address;
	const char *path;
	uint64_t until_ms;
	unsigned burst_ms, gap_ms;
	const uint64_t *mark_ms;
	const char *avoid;
	const char *want;           /* counted in `wanted` after the mark */
	unsigned sweep_from_us, sweep_step_us, sweep_steps;
	long ok, failed, late, wanted;
	char why[256];
};

static void
load_failed(struct load *l, const char *fmt, const char *a, const char *b)
{
	l->failed++;
	snprintf(l->why, sizeof(l->why), fmt, a, b);
}

static void
load_one(struct load *l, struct aster_test_conn **c)
{
	struct aster_test_response r;
	uint64_t mark = __atomic_load_n(l->mark_ms, __ATOMIC_ACQUIRE);
	const char *who;

	if (*c == NULL)
		*c = aster_test_connect_address(l->address,
		                                aster_test_timeout(10000));
	if (*c == NULL) {
		load_failed(l, "%s%s", "cannot connect", "");
		return;
	}
	if (aster_test_conn_request(*c, "GET", l->path, NULL, NULL, 0,
	                            &r) != 0) {
		load_failed(l, "no answer: %.200s%s", r.error, "");
		aster_test_response_free(&r);
		aster_test_conn_close(*c);
		*c = NULL;
		return;
	}
	if (r.status != 200) {
		char st[16];

		snprintf(st, sizeof(st), "%d", r.status);
		load_failed(l, "%s %s", st, r.body);
	} else {
		l->ok++;
	}
	who = aster_test_header(&r, "X-Upstream");
	if (mark != 0 && who != NULL && l->avoid != NULL &&
	    strcmp(who, l->avoid) == 0)
		l->late++;
	if (mark != 0 && who != NULL && l->want != NULL &&
	    strcmp(who, l->want) == 0)
		l->wanted++;
	aster_test_response_free(&r);
}

static void *
load_client(void *arg)
{
	struct load *l = arg;
	struct aster_test_conn *c = NULL;

	while (integ_ms_now() < l->until_ms) {
		uint64_t burst_end = integ_ms_now() + l->burst_ms;

		while (integ_ms_now() < burst_end &&
		       integ_ms_now() < l->until_ms)
			load_one(l, &c);
		if (l->gap_ms > 0 && integ_ms_now() + l->gap_ms < l->until_ms)
			integ_sleep_ms(l->gap_ms);
	}
	if (c != NULL)
		aster_test_conn_close(c);
	return NULL;
}

/* The attempt lines of the request whose problem+json is in text (its
 * requestId), in a static buffer. */
static const char *
attempt_lines_of(const char *text)
{
	static char out[8192];
	const char *id = strstr(text, "\"requestId\":\""), *log, *p;
	char key[200];
	size_t len = 0;

	out[0] = '\0';
	if (id == NULL)
		return "(no request id)";
	id += strlen("\"requestId\":\"");
	snprintf(key, sizeof(key), "request %.*s: ",
	         (int)strcspn(id, "\""), id);
	log = aster_test_stderr(w.t);
	for (p = log; (p = strstr(p, key)) != NULL; p++) {
		const char *bol = p, *eol = strchr(p, '\n');
		int n;

		while (bol > log && bol[-1] != '\n')
			bol--;
		n = eol != NULL ? (int)(eol - bol) : (int)strlen(bol);
		if (len + (size_t)n + 2 < sizeof(out))
			len += (size_t)snprintf(out + len, sizeof(out) - len,
			                        "%.*s\n", n, bol);
	}
	return out;
}

/* Sums the clients' counts; fails the test on any failed request. */
static void
load_join(pthread_t *th, struct load *l, int n, long *ok, long *late,
          long *wanted)
{
	long failed = 0;
	int i;

	*ok = *late = *wanted = 0;
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		*ok += l[i].ok;
		*late += l[i].late;
		*wanted += l[i].wanted;
		failed += l[i].failed;
		if (l[i].failed > 0) {
			log_settle();
			ck_abort_msg("client %d: %ld of %ld requests failed, "
			             "last: %s\nits attempts:\n%s", i,
			             l[i].failed, l[i].failed + l[i].ok,
			             l[i].why, attempt_lines_of(l[i].why));
		}
	}
	ck_assert(failed == 0);
}

/*
 * The FIN race: the upstream closes keep-alive connections idle for
 * 2 s while clients pause for about 2 s between bursts, so requests
 * meet connections the upstream is closing at that moment. With
 * retries 0, only the peek before reuse and the free retry on a fresh
 * connection keep every request whole.
 */
START_TEST(test_fin_race_no_failures)
{
	static const unsigned gaps[LOAD_THREADS] = {1985, 1996, 2004, 2015};
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct load l[LOAD_THREADS];
	pthread_t th[LOAD_THREADS];
	uint64_t mark = 0, until;
	long ok, late, wanted;
	int a, i, lost;

	setup();
	a = up_start("a", 0, 2000);
	add_upstream(&ups, "fin", (int[]){a, END}, NULL);
	add_route(&routes, "fin", "fin", "retries: 0");
	start(&ups, &routes);
	until = integ_ms_now() + 5000;
	for (i = 0; i < LOAD_THREADS; i++) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].address = aster_test_address(w.t, "public");
		l[i].path = "/fin/x";
		l[i].until_ms = until;
		l[i].burst_ms = 250;
		l[i].gap_ms = gaps[i];
		l[i].mark_ms = &mark;
		ck_assert(pthread_create(&th[i], NULL, load_client, &l[i]) ==
		          0);
	}
	load_join(th, l, LOAD_THREADS, &ok, &late, &wanted);
	ck_assert_msg(ok >= 50, "only %ld requests in the FIN race", ok);
	log_settle();
	lost = log_lines_with("upstream api.fin target", "(pooled): reset");
	printf("FIN race: %ld requests, all 200; %d pooled attempts met a "
	       "closing connection and were retried fresh\n", ok, lost);
	ck_assert_int_eq(ctl_count("api.fin", "attempts", "ok"), ok);
	finish();
}
END_TEST

/* One request, then a pause that sweeps from sweep_from_us in
 * sweep_steps steps of sweep_step_us (beginning gap_ms steps in), until
 * until_ms. */
static void *
sweep_client(void *arg)
{
	struct load *l = arg;
	struct aster_test_conn *c = NULL;
	unsigned k = l->gap_ms;

	while (integ_ms_now() < l->until_ms) {
		unsigned us = l->sweep_from_us + (k++ % l->sweep_steps) *
		    l->sweep_step_us;
		struct timespec ts = {0, (long)us * 1000L};

		load_one(l, &c);
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	if (c != NULL)
		aster_test_conn_close(c);
	return NULL;
}

/* The upstream's idle close (scaled: it also closes a fresh connection
 * whose request is slow to come, as under valgrind), and the steps of
 * the clients' pauses from 90 to 110 % of it. */
#define SWEEP_IDLE_MS 20
#define SWEEP_STEPS   160

/*
 * The same race made frequent: the upstream closes connections idle
 * for 20 ms and the clients pause for 18 to 22 ms, so many requests
 * go out on a connection whose FIN is on its way. Every one of them
 * must be saved by the retry on a fresh connection (retries 0).
 */
START_TEST(test_fin_race_tight)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct load l[LOAD_THREADS];
	pthread_t th[LOAD_THREADS];
	uint64_t mark = 0, until;
	long ok, late, wanted;
	int a, i, lost, idle_ms;

	setup();
	idle_ms = aster_test_timeout(SWEEP_IDLE_MS);
	a = up_start("a", 0, idle_ms);
	add_upstream(&ups, "fin", (int[]){a, END}, NULL);
	add_route(&routes, "fin", "fin", "retries: 0");
	start(&ups, &routes);
	until = integ_ms_now() + 3000;
	for (i = 0; i < LOAD_THREADS; i++) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].address = aster_test_address(w.t, "public");
		l[i].path = "/fin/x";
		l[i].until_ms = until;
		l[i].gap_ms = (unsigned)i * 20;
		l[i].sweep_from_us = (unsigned)idle_ms * 900;
		l[i].sweep_step_us = (unsigned)idle_ms * 200 / SWEEP_STEPS;
		l[i].sweep_steps = SWEEP_STEPS;
		l[i].mark_ms = &mark;
		ck_assert(pthread_create(&th[i], NULL, sweep_client, &l[i]) ==
		          0);
	}
	load_join(th, l, LOAD_THREADS, &ok, &late, &wanted);
	ck_assert_msg(ok >= 50, "only %ld requests in the FIN race", ok);
	log_settle();
	lost = log_lines_with("upstream api.fin target", "(pooled): reset");
	printf("tight FIN race: %ld requests, all 200; %d pooled attempts met "
	       "a closing connection and were retried fresh\n", ok, lost);
	ck_assert_int_eq(ctl_count("api.fin", "attempts", "ok"), ok);
	finish();
}
END_TEST

/* --- balancing ---------------------------------------------------------- */

/* Round-robin over three targets: each answers a third. */
START_TEST(test_balance_round_robin)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	int a, b, c, i, na = 0, nb = 0, nc = 0, n = 30;
	char who[64], rid[32];

	setup();
	a = up_start("a", 0, 0);
	b = up_start("b", 0, 0);
	c = up_start("c", 0, 0);
	add_upstream(&ups, "rr", (int[]){a, b, c, END}, NULL);
	add_route(&routes, "rr", "rr", NULL);
	start(&ups, &routes);
	for (i = 0; i < n; i++) {
		snprintf(rid, sizeof(rid), "rr-%d", i);
		get_ok("/rr/x", rid, who, sizeof(who));
		na += strcmp(who, "a") == 0;
		nb += strcmp(who, "b") == 0;
		nc += strcmp(who, "c") == 0;
	}
	ck_assert_msg(na == n / 3 && nb == n / 3 && nc == n / 3,
	              "round-robin over 3 targets, %d requests: a %d, b %d, "
	              "c %d", n, na, nb, nc);
	{
		json_object *root, *u = ctl_upstream("api.rr", &root);

		ck_assert_str_eq(integ_json_str(u, "balance"), "round-robin");
		json_object_put(root);
	}
	finish();
}
END_TEST

/*
 * Least-request: with target a frozen (SIGSTOP: it accepts, but never
 * answers), the first request that lands on a stays in flight there;
 * from then on the power of two choices always prefers b, which has
 * none in flight. Round-robin would keep sending every other request
 * to a.
 */
START_TEST(test_balance_least_request)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct aster_test_conn *hung[24];
	struct tview v;
	int a, b, i, nhung = 0, nb = 0, n = 24;
	json_object *root, *u;

	setup();
	a = up_start("a", 0, 0);
	b = up_start("b", 0, 0);
	add_upstream(&ups, "lr", (int[]){a, b, END}, "balance: least-request");
	add_route(&routes, "lr", "lr", "timeout_ms: 60000");
	start(&ups, &routes);
	u = ctl_upstream("api.lr", &root);
	ck_assert_str_eq(integ_json_str(u, "balance"), "least-request");
	json_object_put(root);
	ck_assert(kill(w.up[a].pid, SIGSTOP) == 0);
	w.up[a].stopped = 1;
	for (i = 0; i < n; i++) {
		static const char req[] = "GET /lr/x HTTP/1.1\r\nHost: x\r\n"
		                          "Connection: close\r\n\r\n";
		struct aster_test_conn *c = aster_test_connect(w.t, "public");
		struct aster_test_response r;

		ck_assert(c != NULL);
		ck_assert_int_eq(aster_test_conn_send(c, req, sizeof(req) - 1),
		                 0);
		aster_test_conn_set_timeout(c, aster_test_timeout(300));
		if (aster_test_conn_read_response(c, 0, &r) != 0) {
			/* Waiting on a. */
			hung[nhung++] = c;
			aster_test_response_free(&r);
			continue;
		}
		ck_assert_msg(r.status == 200, "least-request GET: %d %s",
		              r.status, r.body);
		ck_assert_str_eq(aster_test_header(&r, "X-Upstream"), "b");
		nb++;
		aster_test_response_free(&r);
		aster_test_conn_close(c);
	}
	ctl_target("api.lr", a, &v);
	ck_assert_msg(nhung == 1 && nb == n - 1 && v.in_flight == 1,
	              "least-request with a frozen target: %d requests stuck "
	              "on it (in flight %ld), %d answered by the other; "
	              "expected 1 and %d", nhung, v.in_flight, nb, n - 1);
	kill(w.up[a].pid, SIGCONT);
	w.up[a].stopped = 0;
	for (i = 0; i < nhung; i++) {
		struct aster_test_response r;

		aster_test_conn_set_timeout(hung[i], aster_test_timeout(5000));
		ck_assert_int_eq(aster_test_conn_read_response(hung[i], 0, &r),
		                 0);
		ck_assert_int_eq(r.status, 200);
		ck_assert_str_eq(aster_test_header(&r, "X-Upstream"), "a");
		aster_test_response_free(&r);
		aster_test_conn_close(hung[i]);
	}
	finish();
}
END_TEST

/* --- passive ejection ----------------------------------------------------- */

/* GETs /ej/x (each must answer 200) until target's state is ejected, at
 * most max; how many it took, or -1. */
static int
get_until_ejected(const char *name, const char *path, int target, int max,
                  const char *rid_prefix)
{
	char who[64], rid[48];
	struct tview v;
	int i;

	for (i = 1; i <= max; i++) {
		snprintf(rid, sizeof(rid), "%s-%d", rid_prefix, i);
		get_ok(path, rid, who, sizeof(who));
		ctl_target(name, target, &v);
		if (strcmp(v.state, "ejected") == 0)
			return i;
	}
	return -1;
}

/*
 * eject {consecutive_failures: 2, base_ms: B}, one target a closed port:
 * two refused connects eject it for B, during which everything goes to
 * the other; back after B, two more failures eject it for 2 B; once
 * something listens on its port it serves again.
 */
START_TEST(test_ejection_grows_and_recovers)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	char keys[128], who[64], rid[32];
	long base = aster_test_timeout(400), took;
	uint64_t t0;
	struct tview v;
	int a, cl, back, i, nback = 0;

	setup();
	a = up_start("a", 0, 0);
	cl = closed_port();
	snprintf(keys, sizeof(keys), "eject: { consecutive_failures: 2, "
	         "base_ms: %ld }", base);
	add_upstream(&ups, "ej", (int[]){CLOSED(cl), a, END}, keys);
	add_route(&routes, "ej", "ej", NULL);
	start(&ups, &routes);

	ck_assert_msg(get_until_ejected("api.ej", "/ej/x", CLOSED(cl), 8,
	              "ej1") > 0, "the closed target was never ejected");
	t0 = integ_ms_now();
	ctl_target("api.ej", CLOSED(cl), &v);
	ck_assert_int_eq(ctl_count("api.ej", "attempts", "connect_error"), 2);
	ck_assert_int_eq(v.ejections, 1);
	ck_assert_msg(v.back_in_ms > 0 && v.back_in_ms <= base,
	              "first ejection: back in %ld ms, base_ms %ld",
	              v.back_in_ms, base);

	/* Ejected: the other target takes everything. */
	for (i = 0; i < 6; i++) {
		snprintf(rid, sizeof(rid), "ejected-%d", i);
		ck_assert_str_eq(get_ok("/ej/x", rid, who, sizeof(who)), "a");
	}
	ck_assert_msg(integ_ms_now() - t0 < (uint64_t)base,
	              "the requests during the ejection took longer than it");
	ck_assert_int_eq(ctl_count("api.ej", "attempts", "connect_error"), 2);

	took = wait_state("api.ej", CLOSED(cl), "up", (int)(3 * base));
	ck_assert_msg(took >= 0, "the ejected target never came back");
	ck_assert_msg(integ_ms_now() - t0 <= (uint64_t)(base + base / 2),
	              "back after %llu ms, base_ms %ld",
	              (unsigned long long)(integ_ms_now() - t0), base);

	/* Tried again, it fails again: ejected for twice as long. */
	ck_assert_msg(get_until_ejected("api.ej", "/ej/x", CLOSED(cl), 8,
	              "ej2") > 0, "the closed target was not ejected again");
	ctl_target("api.ej", CLOSED(cl), &v);
	ck_assert_int_eq(ctl_count("api.ej", "attempts", "connect_error"), 4);
	ck_assert_int_eq(v.ejections, 2);
	ck_assert_msg(v.back_in_ms > base && v.back_in_ms <= 2 * base,
	              "second ejection: back in %ld ms, expected (%ld, %ld]",
	              v.back_in_ms, base, 2 * base);

	/* Something listens there now: the target returns to service. */
	close(w.closed_fd[cl]);
	w.closed_fd[cl] = -1;
	back = up_start("back", w.closed_port[cl], 0);
	ck_assert_msg(wait_state("api.ej", CLOSED(cl), "up", (int)(4 * base))
	              >= 0, "the target did not come back");
	for (i = 0; i < 6; i++) {
		snprintf(rid, sizeof(rid), "back-%d", i);
		nback += strcmp(get_ok("/ej/x", rid, who, sizeof(who)),
		                "back") == 0;
	}
	ck_assert_msg(nback == 3, "%d of 6 requests reached the target that "
	              "came back, expected 3 (round-robin)", nback);
	ctl_target("api.ej", back, &v);
	ck_assert_str_eq(v.state, "up");
	ck_assert_int_eq(v.ejections, 2);

	/* Good for as long as its last ejection lasted (2 B), its count
	 * of ejections starts over. */
	integ_sleep_ms((unsigned)(2 * base));
	for (i = 0; i < 2; i++) {
		snprintf(rid, sizeof(rid), "later-%d", i);
		get_ok("/ej/x", rid, who, sizeof(who));
	}
	ctl_target("api.ej", back, &v);
	ck_assert_msg(v.ejections == 0, "%ld ejections still counted after "
	              "2 x base_ms of good answers", v.ejections);
	finish();
}
END_TEST

/* A 5xx answer is an answer: passed on as it is, and no failure of the
 * target (consecutive_failures 1 would eject it at once). */
START_TEST(test_eject_ignores_5xx)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct aster_test_response r;
	struct tview v;
	int a, b, i;

	setup();
	a = up_start("a", 0, 0);
	b = up_start("b", 0, 0);
	add_upstream(&ups, "e5", (int[]){a, b, END},
	             "eject: { consecutive_failures: 1, base_ms: 60000 }");
	add_route(&routes, "e5", "e5", NULL);
	start(&ups, &routes);
	for (i = 0; i < 4; i++) {
		char rid[16];

		snprintf(rid, sizeof(rid), "e5-%d", i);
		ck_assert_int_eq(call("GET", "/e5/x?status=503", rid, &r), 503);
		ck_assert_msg(strstr(r.body, "\"name\"") != NULL,
		              "the upstream's 503 was not passed on: %s",
		              r.body);
		aster_test_response_free(&r);
	}
	ctl_target("api.e5", a, &v);
	ck_assert_str_eq(v.state, "up");
	ck_assert_int_eq(v.ejections, 0);
	ctl_target("api.e5", b, &v);
	ck_assert_str_eq(v.state, "up");
	ck_assert_int_eq(ctl_count("api.e5", "attempts", "ok"), 4);
	finish();
}
END_TEST

/* An attempt that times out counts as a failure: a frozen target (it
 * accepts and never answers) is ejected after its first timeout, and
 * the retry on the other answers. */
START_TEST(test_eject_on_timeout)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	char who[64];
	struct tview v;
	int a, b;

	setup();
	a = up_start("a", 0, 0);
	b = up_start("b", 0, 0);
	add_upstream(&ups, "et", (int[]){a, b, END},
	             "eject: { consecutive_failures: 1, base_ms: 60000 }");
	add_route(&routes, "et", "et", "try_timeout_ms: 200;"
	          "timeout_ms: 5000");
	start(&ups, &routes);
	ck_assert(kill(w.up[a].pid, SIGSTOP) == 0);
	w.up[a].stopped = 1;
	/* Round-robin begins with a. */
	ck_assert_str_eq(get_ok("/et/x", "et-1", who, sizeof(who)), "b");
	ctl_target("api.et", a, &v);
	ck_assert_str_eq(v.state, "ejected");
	ck_assert_int_eq(ctl_count("api.et", "attempts", "timeout"), 1);
	ck_assert_str_eq(get_ok("/et/x", "et-2", who, sizeof(who)), "b");
	log_settle();
	ck_assert_msg(attempts("et-1", "timeout", 0) == 1 &&
	              attempts("et-1", "ok", 0) == 1 &&
	              attempts("et-2", NULL, -1) == 1,
	              "expected a timeout then the retry, then one attempt; "
	              "log:\n%s", aster_test_stderr(w.t));
	finish();
}
END_TEST

/* Every target ejected: 503 unavailable with Retry-After. */
START_TEST(test_all_ejected_unavailable)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct aster_test_response r;
	const char *after;
	int c1, c2, secs;

	setup();
	c1 = closed_port();
	c2 = closed_port();
	add_upstream(&ups, "gone", (int[]){CLOSED(c1), CLOSED(c2), END},
	             "eject: { consecutive_failures: 1, base_ms: 5000 }");
	add_route(&routes, "gone", "gone", NULL);
	start(&ups, &routes);
	ck_assert_int_eq(call("GET", "/gone/x", "gone-1", &r), 502);
	integ_assert_problem(&r, 502, "bad-gateway");
	aster_test_response_free(&r);

	ck_assert_int_eq(call("GET", "/gone/x", "gone-2", &r), 503);
	integ_assert_problem(&r, 503, "unavailable");
	assert_detail(&r, "api.gone", (int[]){CLOSED(c1), CLOSED(c2), END});
	after = aster_test_header(&r, "Retry-After");
	ck_assert_msg(after != NULL, "503 without Retry-After");
	secs = atoi(after);
	ck_assert_msg(secs >= 1 && secs <= 5 && strspn(after, "0123456789") ==
	              strlen(after), "Retry-After '%s', expected 1..5 seconds",
	              after);
	aster_test_response_free(&r);
	log_settle();
	ck_assert_int_eq(attempts("gone-2", NULL, -1), 0);
	finish();
}
END_TEST

/* --- active health ------------------------------------------------------ */

#define HEALTH_KEYS "health: { path: /healthz, interval_ms: 100, " \
	"timeout_ms: 100, healthy: 2, unhealthy: 2 }"

/* GETs path n times; how many a named who answered. */
static int
count_answers(const char *path, int n, const char *who, const char *rid_p)
{
	char got[64], rid[48];
	int i, k = 0;

	for (i = 0; i < n; i++) {
		snprintf(rid, sizeof(rid), "%s-%d", rid_p, i);
		k += strcmp(get_ok(path, rid, got, sizeof(got)), who) == 0;
	}
	return k;
}

START_TEST(test_health_down_and_back)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct aster_test_response r;
	long took, limit = aster_test_timeout(400);
	int a, b;

	setup();
	a = up_start("a", 0, 0);
	b = up_start("b", 0, 0);
	add_upstream(&ups, "hl", (int[]){a, b, END}, HEALTH_KEYS);
	add_route(&routes, "hl", "hl", NULL);
	start(&ups, &routes);
	ck_assert_int_eq(count_answers("/hl/x", 10, "a", "hl0"), 5);

	ck_assert_int_eq(up_get(a, "/health/fail", &r), 200);
	aster_test_response_free(&r);
	took = wait_state("api.hl", a, "down", aster_test_timeout(3000));
	ck_assert_msg(took >= 0 && took <= limit, "a failing target went down "
	              "after %ld ms (interval 100 ms, unhealthy 2), expected "
	              "at most %ld", took, limit);
	ck_assert_int_eq(count_answers("/hl/x", 10, "a", "hl1"), 0);

	ck_assert_int_eq(up_get(a, "/health/ok", &r), 200);
	aster_test_response_free(&r);
	took = wait_state("api.hl", a, "up", aster_test_timeout(3000));
	ck_assert_msg(took >= 0 && took <= limit, "a recovered target came "
	              "back after %ld ms (healthy 2), expected at most %ld",
	              took, limit);
	ck_assert_int_eq(count_answers("/hl/x", 10, "a", "hl2"), 5);

	/* A target that accepts and never answers fails its checks by
	 * their timeout_ms (100): two of them, 100 ms apart. */
	ck_assert(kill(w.up[b].pid, SIGSTOP) == 0);
	w.up[b].stopped = 1;
	took = wait_state("api.hl", b, "down", aster_test_timeout(3000));
	ck_assert_msg(took >= 0 && took <= aster_test_timeout(600),
	              "a frozen target went down after %ld ms", took);
	ck_assert_int_eq(count_answers("/hl/x", 6, "a", "hl3"), 6);

	/* Both down: 503 with Retry-After. */
	ck_assert_int_eq(up_get(a, "/health/fail", &r), 200);
	aster_test_response_free(&r);
	ck_assert(wait_state("api.hl", a, "down", aster_test_timeout(3000))
	          >= 0);
	ck_assert_int_eq(call("GET", "/hl/x", "hl-none", &r), 503);
	integ_assert_problem(&r, 503, "unavailable");
	assert_detail(&r, "api.hl", (int[]){a, b, END});
	ck_assert_msg(aster_test_header(&r, "Retry-After") != NULL &&
	              atoi(aster_test_header(&r, "Retry-After")) >= 1,
	              "503 without a Retry-After of 1 s or more");
	aster_test_response_free(&r);

	kill(w.up[b].pid, SIGCONT);
	w.up[b].stopped = 0;
	ck_assert(wait_state("api.hl", b, "up", aster_test_timeout(3000)) >= 0);
	ck_assert_int_eq(count_answers("/hl/x", 4, "b", "hl4"), 4);
	finish();
}
END_TEST

/* --- reloads ------------------------------------------------------------ */

/* A reload that keeps the upstreams (one gains a setting and a route)
 * keeps an ejection and a health verdict as they were. */
START_TEST(test_reload_keeps_target_state)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct aster_test_response r;
	char who[64];
	struct tview before, after;
	long opened;
	int a, b, c, cl;

	setup();
	a = up_start("a", 0, 0);
	b = up_start("b", 0, 0);
	c = up_start("c", 0, 0);
	cl = closed_port();
	add_upstream(&ups, "st", (int[]){CLOSED(cl), a, END},
	             "eject: { consecutive_failures: 1, base_ms: 60000 }");
	add_upstream(&ups, "hs", (int[]){b, c, END}, HEALTH_KEYS);
	add_route(&routes, "st", "st", NULL);
	add_route(&routes, "hs", "hs", NULL);
	start(&ups, &routes);

	ck_assert_str_eq(get_ok("/st/x", "st-1", who, sizeof(who)), "a");
	ck_assert_str_eq(get_ok("/hs/x", "hs-0", who, sizeof(who)), "b");
	ctl_target("api.st", CLOSED(cl), &before);
	ck_assert_str_eq(before.state, "ejected");
	ck_assert_int_eq(up_get(c, "/health/fail", &r), 200);
	aster_test_response_free(&r);
	ck_assert(wait_state("api.hs", c, "down", aster_test_timeout(3000))
	          >= 0);
	opened = ctl_count("api.hs", "connections", "opened");

	ups.len = 0;
	routes.len = 0;
	add_upstream(&ups, "st", (int[]){CLOSED(cl), a, END},
	             "eject: { consecutive_failures: 1, base_ms: 60000 };"
	             "keepalive: 8");
	add_upstream(&ups, "hs", (int[]){b, c, END}, HEALTH_KEYS);
	add_route(&routes, "st", "st", NULL);
	add_route(&routes, "hs", "hs", NULL);
	add_route(&routes, "st2", "st", NULL);
	write_conf(&ups, &routes);
	reload();

	/* Right away: a state made afresh would say "up" for a while. */
	ctl_target("api.hs", c, &after);
	ck_assert_msg(strcmp(after.state, "down") == 0, "the reload brought "
	              "a failing target back: %s", after.state);
	ctl_target("api.st", CLOSED(cl), &after);
	ck_assert_msg(strcmp(after.state, "ejected") == 0 &&
	              after.ejections == before.ejections &&
	              after.back_in_ms > 0 &&
	              after.back_in_ms <= before.back_in_ms,
	              "after the reload: %s, %ld ejections, back in %ld ms; "
	              "before: %s, %ld, %ld", after.state, after.ejections,
	              after.back_in_ms, before.state, before.ejections,
	              before.back_in_ms);
	ck_assert_str_eq(get_ok("/st2/x", "st-2", who, sizeof(who)), "a");
	ck_assert_str_eq(get_ok("/st/x", "st-3", who, sizeof(who)), "a");
	ck_assert_int_eq(count_answers("/hs/x", 6, "b", "hs"), 6);
	ck_assert_int_eq(ctl_count("api.st", "attempts", "connect_error"), 1);
	/* The pool carried over too: b's connection served them all. */
	ck_assert_int_eq(ctl_count("api.hs", "connections", "opened"), opened);
	finish();
}
END_TEST

/*
 * Targets a, b become b, c by a reload while clients keep sending:
 * no request fails, and none that began after the reload reaches a.
 */
START_TEST(test_reload_under_load_moves_targets)
{
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct load l[LOAD_THREADS];
	pthread_t th[LOAD_THREADS];
	uint64_t mark = 0, until;
	long ok, late, wanted, a_before, a_after;
	int a, b, c, i;
	json_object *root, *u, *targets;

	setup();
	a = up_start("a", 0, 0);
	b = up_start("b", 0, 0);
	c = up_start("c", 0, 0);
	add_upstream(&ups, "mv", (int[]){a, b, END}, NULL);
	add_route(&routes, "mv", "mv", NULL);
	start(&ups, &routes);
	until = integ_ms_now() + 1500;
	for (i = 0; i < LOAD_THREADS; i++) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].address = aster_test_address(w.t, "public");
		l[i].path = "/mv/x";
		l[i].until_ms = until;
		l[i].burst_ms = 100000;
		l[i].mark_ms = &mark;
		l[i].avoid = "a";
		l[i].want = "c";
		ck_assert(pthread_create(&th[i], NULL, load_client, &l[i]) ==
		          0);
	}
	integ_sleep_ms(400);
	ups.len = 0;
	add_upstream(&ups, "mv", (int[]){b, c, END}, NULL);
	write_conf(&ups, &routes);
	reload();
	__atomic_store_n(&mark, integ_ms_now(), __ATOMIC_RELEASE);
	integ_sleep_ms(100);
	a_before = up_stat(a, "requests");
	load_join(th, l, LOAD_THREADS, &ok, &late, &wanted);
	a_after = up_stat(a, "requests");
	ck_assert_msg(ok >= 100, "only %ld requests ran around the reload", ok);
	ck_assert_msg(late == 0, "%ld requests begun after the reload were "
	              "answered by the removed target", late);
	ck_assert_msg(wanted > 0, "no request reached the added target");
	ck_assert_msg(a_after - a_before == 1, "the removed target got %ld "
	              "requests after the reload", a_after - a_before - 1);
	/* Its pooled connections are closed (the /stats one aside). */
	ck_assert_msg(up_stat(a, "open_connections") == 1, "the removed "
	              "target still has %ld connections from asterd",
	              up_stat(a, "open_connections") - 1);
	u = ctl_upstream("api.mv", &root);
	ck_assert(json_object_object_get_ex(u, "targets", &targets));
	ck_assert_int_eq(json_object_array_length(targets), 2);
	json_object_put(root);
	finish();
}
END_TEST

/* A reload that drops an upstream (and its route) while a request is
 * on its way there: the request finishes, the upstream goes after. */
START_TEST(test_reload_drops_upstream_in_flight)
{
	static const char req[] = "GET /gone/x?delay_ms=600 HTTP/1.1\r\n"
	                          "Host: x\r\nConnection: close\r\n\r\n";
	struct text ups = {.len = 0}, routes = {.len = 0};
	struct aster_test_response r;
	struct aster_test_conn *c;
	json_object *root, *a_ups;
	char who[64];
	int a, b;

	setup();
	a = up_start("a", 0, 0);
	b = up_start("b", 0, 0);
	add_upstream(&ups, "gone", (int[]){a, END}, NULL);
	add_upstream(&ups, "kept", (int[]){b, END}, NULL);
	add_route(&routes, "gone", "gone", NULL);
	add_route(&routes, "kept", "kept", NULL);
	start(&ups, &routes);
	c = aster_test_connect(w.t, "public");
	ck_assert(c != NULL);
	ck_assert_int_eq(aster_test_conn_send(c, req, sizeof(req) - 1), 0);
	integ_sleep_ms(100);

	ups.len = 0;
	routes.len = 0;
	add_upstream(&ups, "kept", (int[]){b, END}, NULL);
	add_route(&routes, "kept", "kept", NULL);
	write_conf(&ups, &routes);
	reload();
	ck_assert_int_eq(call("GET", "/gone/x", "after", &r), 404);
	aster_test_response_free(&r);
	ck_assert_str_eq(get_ok("/kept/x", "kept", who, sizeof(who)), "b");

	ck_assert_int_eq(aster_test_conn_read_response(c, 0, &r), 0);
	ck_assert_msg(r.status == 200, "the request in flight across the "
	              "reload: %d %s", r.status, r.body);
	ck_assert_str_eq(aster_test_header(&r, "X-Upstream"), "a");
	aster_test_response_free(&r);
	aster_test_conn_close(c);
	root = integ_control(w.sock, "{\"command\":\"upstreams\"}");
	ck_assert(root != NULL && json_object_object_get_ex(root, "upstreams",
	                                                    &a_ups));
	ck_assert_int_eq(json_object_array_length(a_ups), 1);
	json_object_put(root);
	finish();
}
END_TEST

static Suite *
proxy_pool_suite(void)
{
	Suite *s = suite_create("proxy_pool");
	TCase *pool = tcase_create("pool");
	TCase *retry = tcase_create("retry");
	TCase *balance = tcase_create("balance");
	TCase *health = tcase_create("health");
	TCase *reloads = tcase_create("reload");

	tcase_set_timeout(pool, INTEG_TCASE_TIMEOUT);
	tcase_set_timeout(retry, INTEG_TCASE_TIMEOUT);
	tcase_set_timeout(balance, INTEG_TCASE_TIMEOUT);
	tcase_set_timeout(health, INTEG_TCASE_TIMEOUT);
	tcase_set_timeout(reloads, INTEG_TCASE_TIMEOUT);
	tcase_add_test(pool, test_pool_reuses_one_connection);
	tcase_add_test(pool, test_pool_keepalive_limit);
	tcase_add_test(pool, test_pool_keepalive_zero);
	tcase_add_test(pool, test_pool_target_keepalive_timeout);
	tcase_add_test(pool, test_pool_unix_target);
	tcase_add_test(pool, test_pool_client_leaves);
	tcase_add_test(pool, test_pool_idle_closed_by_upstream);
	tcase_add_test(pool, test_fin_race_no_failures);
	tcase_add_test(pool, test_fin_race_tight);
	tcase_add_test(retry, test_retry_connect_refused);
	tcase_add_test(retry, test_retry_reset);
	tcase_add_test(retry, test_retry_pooled_reset);
	tcase_add_test(retry, test_retry_untried_first);
	tcase_add_test(retry, test_retry_bad_response);
	tcase_add_test(retry, test_timeouts);
	tcase_add_test(retry, test_connect_hangs);
	tcase_add_test(retry, test_retry_storm_bounded);
	tcase_add_test(balance, test_balance_round_robin);
	tcase_add_test(balance, test_balance_least_request);
	tcase_add_test(health, test_ejection_grows_and_recovers);
	tcase_add_test(health, test_all_ejected_unavailable);
	tcase_add_test(health, test_eject_ignores_5xx);
	tcase_add_test(health, test_eject_on_timeout);
	tcase_add_test(health, test_health_down_and_back);
	tcase_add_test(reloads, test_reload_keeps_target_state);
	tcase_add_test(reloads, test_reload_under_load_moves_targets);
	tcase_add_test(reloads, test_reload_drops_upstream_in_flight);
	suite_add_tcase(s, pool);
	suite_add_tcase(s, retry);
	suite_add_tcase(s, balance);
	suite_add_tcase(s, health);
	suite_add_tcase(s, reloads);
	return s;
}

UNIT_MAIN(proxy_pool_suite)
