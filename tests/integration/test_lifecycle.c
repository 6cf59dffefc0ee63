/*
 * test_lifecycle.c - start-up, readiness, stop and failure (SPEC 2, 6, 9).
 *
 * The products here give each module a testlife service (from
 * tests/providers/testlife) that appends "start LABEL" and "stop LABEL"
 * to $ASTER_TEST_LIFE_LOG, so the order asterd starts and stops modules
 * in can be read back.
 */
#include "integ.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* The life log of one test: a temp dir holding life.log. */
struct life {
	char *dir;
	char path[PATH_MAX];
	char env[PATH_MAX + 32];
	const char *envv[2];
};

static void
life_init(struct life *l)
{
	int fd;

	l->dir = integ_tempdir();
	snprintf(l->path, sizeof(l->path), "%s/life.log", l->dir);
	snprintf(l->env, sizeof(l->env), "ASTER_TEST_LIFE_LOG=%s", l->path);
	l->envv[0] = l->env;
	l->envv[1] = NULL;
	fd = open(l->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert(fd != -1);
	close(fd);
}

static void
life_done(struct life *l)
{
	aster_test_remove_tree(l->dir);
	free(l->dir);
}

/* Line number (0-based) of the line equal to text in log, or -1. */
static int
line_of(const char *log, const char *text)
{
	size_t n = strlen(text);
	const char *p = log;
	int i = 0;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if (len == n && strncmp(p, text, n) == 0)
			return i;
		if (nl == NULL)
			break;
		p = nl + 1;
		i++;
	}
	return -1;
}

/* The lines of log starting with prefix, joined by ',' (without it). */
static void
lines_with(const char *log, const char *prefix, char *out, size_t size)
{
	size_t plen = strlen(prefix), used = 0;
	const char *p = log;

	out[0] = '\0';
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if (len > plen && strncmp(p, prefix, plen) == 0) {
			int w = snprintf(out + used, size - used, "%s%.*s",
			                 used > 0 ? "," : "", (int)(len - plen),
			                 p + plen);

			if (w < 0 || (size_t)w >= size - used)
				break;
			used += (size_t)w;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

static void
assert_before(const char *log, const char *first, const char *second)
{
	int a = line_of(log, first), b = line_of(log, second);

	ck_assert_msg(a >= 0, "'%s' is not in the life log:\n%s", first, log);
	ck_assert_msg(b >= 0, "'%s' is not in the life log:\n%s", second, log);
	ck_assert_msg(a < b, "'%s' came after '%s':\n%s", first, second, log);
}

/* --- start, ready, stop ---------------------------------------------------- */

START_TEST(test_start_order_by_waves)
{
	static const char *const ids[] = {"alpha", "bravo", "charlie", "delta",
	                                  "echo", "core", "foxtrot", "golf"};
	struct life l;
	struct aster_test *t;
	struct aster_test_response r;
	json_object *o, *mods, *st;
	char *log, starts[256], stops[256];
	size_t i;

	life_init(&l);
	t = integ_start("order", l.envv);

	/* `ready` means every module runs. */
	log = integ_read_file(l.path);
	assert_before(log, "start alpha", "start bravo");
	assert_before(log, "start alpha", "start charlie");
	assert_before(log, "start bravo", "start delta");
	assert_before(log, "start charlie", "start delta");
	assert_before(log, "start delta", "start echo");
	assert_before(log, "start golf", "start foxtrot");
	ck_assert_msg(line_of(log, "stop alpha") == -1, "a module stopped "
	              "during start-up:\n%s", log);
	free(log);

	integ_get_expect(t, "public", "/gateway/v1/ready", 200, &r);
	o = integ_json(&r);
	ck_assert_str_eq(integ_json_str(o, "status"), "ready");
	ck_assert(json_object_object_get_ex(o, "modules", &mods));
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		ck_assert_msg(json_object_object_get_ex(mods, ids[i], &st) &&
		              strcmp(json_object_get_string(st), "running") == 0,
		              "module %s is not running in /ready: %s", ids[i],
		              r.body);
	}
	json_object_put(o);
	aster_test_response_free(&r);

	/* Every module's routes are live. */
	for (i = 0; i < 5; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/t/%s", ids[i]);
		integ_get_expect(t, "public", path, 200, &r);
		ck_assert_str_eq(r.body, ids[i]);
		aster_test_response_free(&r);
	}

	/* SIGTERM: exit 0, modules stopped in the reverse start order. */
	integ_stop(t);
	log = integ_read_file(l.path);
	lines_with(log, "start ", starts, sizeof(starts));
	lines_with(log, "stop ", stops, sizeof(stops));
	{
		char reversed[256] = "";
		const char *names[8];
		char copy[256];
		size_t n = 0;
		char *save = NULL, *tok;

		snprintf(copy, sizeof(copy), "%s", starts);
		for (tok = strtok_r(copy, ",", &save); tok != NULL && n < 8;
		     tok = strtok_r(NULL, ",", &save))
			names[n++] = tok;
		while (n > 0) {
			size_t used = strlen(reversed);

			snprintf(reversed + used, sizeof(reversed) - used, "%s%s",
			         used > 0 ? "," : "", names[--n]);
		}
		ck_assert_msg(strcmp(stops, reversed) == 0,
		              "stop order '%s' is not the reverse of the start "
		              "order '%s'", stops, starts);
	}
	free(log);
	life_done(&l);
}
END_TEST

START_TEST(test_sigint_stops_too)
{
	struct life l;
	struct aster_test *t;
	char *log;
	int rc;

	life_init(&l);
	t = integ_start("order", l.envv);
	ck_assert(aster_test_signal(t, SIGINT) == 0);
	rc = aster_test_wait(t, aster_test_timeout(10000));
	ck_assert_msg(rc == 0, "asterd exited with %d after SIGINT; stderr:\n%s",
	              rc, aster_test_stderr(t));
	integ_assert_clean_log(t);
	aster_test_free(t);
	log = integ_read_file(l.path);
	ck_assert_msg(line_of(log, "stop alpha") >= 0 &&
	              line_of(log, "stop echo") >= 0,
	              "SIGINT did not stop the modules:\n%s", log);
	free(log);
	life_done(&l);
}
END_TEST

START_TEST(test_listening_lines)
{
	struct life l;
	struct aster_test *t;
	const char *scopes, *addr;

	life_init(&l);
	t = integ_start("order", l.envv);
	ck_assert_uint_eq(aster_test_listener_count(t), 1);
	addr = aster_test_listener(t, 0, &scopes);
	ck_assert_msg(strncmp(addr, "127.0.0.1:", 10) == 0 &&
	              strcmp(addr, "127.0.0.1:18201") != 0 &&
	              strcmp(addr, "127.0.0.1:0") != 0,
	              "--ephemeral-ports listener printed as '%s'", addr);
	ck_assert_str_eq(scopes, "public");
	ck_assert_ptr_null(aster_test_address(t, "internal"));
	integ_stop(t);
	life_done(&l);
}
END_TEST

/* --- the default product ---------------------------------------------------- */

START_TEST(test_default_product)
{
	char confd[PATH_MAX], env[PATH_MAX + 32], state_env[PATH_MAX + 32];
	char db[PATH_MAX + 32];
	const char *envv[3] = {env, state_env, NULL};
	char *run = integ_tempdir(), *state = integ_tempdir();
	struct aster_test *t;
	struct aster_test_response r;
	json_object *o, *mods, *st;
	struct stat sb;

	/* conf.d keeps its control socket under $RUNTIME_DIRECTORY and its
	 * SQLite store under $STATE_DIRECTORY (in a subdirectory here, to
	 * see it created). */
	snprintf(confd, sizeof(confd), "%s/conf.d", unit_srcdir());
	snprintf(env, sizeof(env), "RUNTIME_DIRECTORY=%s", run);
	snprintf(state_env, sizeof(state_env), "STATE_DIRECTORY=%s/lib", state);
	t = integ_start_dir(confd, envv);
	snprintf(db, sizeof(db), "%s/lib/aster.db", state);
	ck_assert_msg(stat(db, &sb) == 0 && S_ISREG(sb.st_mode),
	              "conf.d: the SQLite store %s was not created", db);
	ck_assert_msg(aster_test_address(t, "public") != NULL &&
	              aster_test_address(t, "internal") != NULL,
	              "conf.d: expected a public and an internal listener");
	ck_assert_msg(strcmp(aster_test_address(t, "public"),
	                     aster_test_address(t, "internal")) != 0,
	              "conf.d: public and internal on one listener");

	integ_get_expect(t, "public", "/gateway/v1/health", 200, &r);
	o = integ_json(&r);
	ck_assert_str_eq(integ_json_str(o, "status"), "ok");
	json_object_put(o);
	aster_test_response_free(&r);

	integ_get_expect(t, "public", "/gateway/v1/ready", 200, &r);
	o = integ_json(&r);
	ck_assert_str_eq(integ_json_str(o, "status"), "ready");
	ck_assert_msg(json_object_object_get_ex(o, "modules", &mods) &&
	              json_object_object_get_ex(mods, "core", &st) &&
	              strcmp(json_object_get_string(st), "running") == 0 &&
	              json_object_object_get_ex(mods, "database", &st) &&
	              strcmp(json_object_get_string(st), "running") == 0,
	              "ready: %s", r.body);
	json_object_put(o);
	aster_test_response_free(&r);

	integ_get_expect(t, "public", "/gateway/v1/product", 200, &r);
	o = integ_json(&r);
	ck_assert_str_eq(integ_json_str(o, "id"), "aster");
	ck_assert_str_eq(integ_json_str(o, "name"), "Aster");
	ck_assert_str_eq(integ_json_str(o, "version"), "0.1.0");
	ck_assert_msg(integ_json_str(o, "description") != NULL,
	              "product without description: %s", r.body);
	json_object_put(o);
	aster_test_response_free(&r);

	integ_get_expect(t, "public", "/gateway/v1/openapi.json", 200, &r);
	o = integ_json(&r);
	ck_assert_msg(integ_json_str(o, "openapi") != NULL,
	              "openapi.json: %s", r.body);
	json_object_put(o);
	aster_test_response_free(&r);

	/* The public routes do not exist on the internal listener. */
	integ_request(t, "internal", "GET", "/gateway/v1/health", NULL, NULL,
	              &r);
	integ_assert_problem(&r, 404, "route-not-found");
	aster_test_response_free(&r);

	/* ...nor the state API on the public one. */
	integ_request(t, "public", "GET",
	              "/gateway/v1/internal/state/demo/greeting", NULL, NULL,
	              &r);
	integ_assert_problem(&r, 404, "route-not-found");
	aster_test_response_free(&r);

	integ_stop(t);
	aster_test_remove_tree(run);
	aster_test_remove_tree(state);
	free(run);
	free(state);
}
END_TEST

/* --- failures --------------------------------------------------------------- */

START_TEST(test_module_failure_rolls_back)
{
	struct life l;
	struct aster_test_options o;
	struct aster_test *t;
	char dir[PATH_MAX], *log, starts[256], stops[256];
	const char *err;
	int rc;

	life_init(&l);
	o = integ_options(l.envv);
	t = aster_test_spawn(integ_conf(dir, sizeof(dir), "rollback"), &o);
	ck_assert(t != NULL);
	ck_assert_msg(aster_test_wait_ready(t) == -1,
	              "a product with a failing module became ready");
	rc = aster_test_wait(t, aster_test_timeout(10000));
	err = aster_test_stderr(t);
	ck_assert_msg(rc == 69, "exit %d, expected 69; stderr:\n%s", rc, err);
	ck_assert_msg(strstr(err, "crasher") != NULL,
	              "stderr does not name the module 'crasher':\n%s", err);
	ck_assert_msg(strstr(err, "the disk is on fire") != NULL,
	              "stderr does not give the cause:\n%s", err);
	integ_assert_clean_log(t);
	ck_assert_msg(strstr(aster_test_stdout(t), "\nready") == NULL &&
	              strncmp(aster_test_stdout(t), "ready", 5) != 0,
	              "asterd printed ready:\n%s", aster_test_stdout(t));
	aster_test_free(t);

	log = integ_read_file(l.path);
	lines_with(log, "start ", starts, sizeof(starts));
	lines_with(log, "stop ", stops, sizeof(stops));
	ck_assert_msg(line_of(log, "fail crasher.second") >= 0,
	              "crasher's failing service was not started:\n%s", log);
	ck_assert_msg(line_of(log, "start delta") == -1,
	              "delta (after the failed module) was started:\n%s", log);
	/* Waves 1 and 2 ran; crasher.first started before its sibling
	 * failed. Everything started is stopped, newest first. */
	ck_assert_msg(strcmp(starts, "alpha,xray,bravo,crasher.first") == 0,
	              "start order '%s'", starts);
	ck_assert_msg(strcmp(stops, "crasher.first,bravo,xray,alpha") == 0,
	              "rollback stop order '%s', expected "
	              "crasher.first,bravo,xray,alpha", stops);
	assert_before(log, "fail crasher.second", "stop crasher.first");
	free(log);
	life_done(&l);
}
END_TEST

START_TEST(test_invalid_config_exits_78)
{
	struct life l;
	struct aster_test_options o;
	struct aster_test *t;
	char dir[PATH_MAX], *log;
	const char *err;
	int rc;

	life_init(&l);
	o = integ_options(l.envv);
	t = aster_test_spawn(integ_conf(dir, sizeof(dir), "invalid"), &o);
	ck_assert(t != NULL);
	rc = aster_test_wait(t, aster_test_timeout(10000));
	err = aster_test_stderr(t);
	ck_assert_msg(rc == 78, "exit %d, expected 78; stderr:\n%s", rc, err);
	ck_assert_msg(strstr(err, "broken.yaml:5:1") != NULL &&
	              strstr(err, "[unknown-key]") != NULL,
	              "stderr lacks the diagnostic:\n%s", err);
	ck_assert_msg(strstr(aster_test_stdout(t), "listening") == NULL,
	              "an invalid config bound listeners:\n%s",
	              aster_test_stdout(t));
	integ_assert_clean_log(t);
	aster_test_free(t);
	log = integ_read_file(l.path);
	ck_assert_msg(log[0] == '\0', "an invalid config started modules:\n%s",
	              log);
	free(log);
	life_done(&l);
}
END_TEST

START_TEST(test_busy_port_exits_69)
{
	struct life l;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct aster_test_options o;
	struct aster_test *t;
	char product[1024], address[64], *log;
	const char *err;
	int fd, one = 1, rc;

	life_init(&l);
	/* Take a port, then ask asterd for exactly that one. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert(fd != -1);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	ck_assert(listen(fd, 4) == 0);
	ck_assert(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	snprintf(address, sizeof(address), "127.0.0.1:%u",
	         (unsigned)ntohs(sin.sin_port));
	snprintf(product, sizeof(product),
	         "kind: product\nid: busytest\nname: Busy port\n"
	         "version: 0.1.0\nserver:\n  listen:\n"
	         "    - address: %s\n      scopes: [public]\n", address);
	ck_assert(aster_test_write_file(l.dir, "conf/product.yaml", product,
	                                -1) == 0);
	ck_assert(aster_test_write_file(l.dir, "conf/modules/alpha.yaml",
	          "kind: module\nid: alpha\ndisplayName: Alpha\n"
	          "version: 1.0.0\nservices:\n  - id: life\n"
	          "    provider: testlife\n"
	          "    config: { log: \"${ASTER_TEST_LIFE_LOG}\", "
	          "label: alpha }\n", -1) == 0);

	o = integ_options(l.envv);
	o.fixed_ports = 1;
	{
		char confdir[PATH_MAX];

		snprintf(confdir, sizeof(confdir), "%s/conf", l.dir);
		t = aster_test_spawn(confdir, &o);
	}
	ck_assert(t != NULL);
	rc = aster_test_wait(t, aster_test_timeout(10000));
	if (rc == -1)
		aster_test_stop(t);
	err = aster_test_stderr(t);
	ck_assert_msg(rc == 69, "exit %d on a busy port, expected 69; "
	              "stderr:\n%s", rc, err);
	ck_assert_msg(strstr(err, address) != NULL,
	              "stderr does not name %s:\n%s", address, err);
	integ_assert_clean_log(t);
	aster_test_free(t);
	close(fd);
	log = integ_read_file(l.path);
	ck_assert_msg(line_of(log, "start alpha") == -1,
	              "modules started although a listener failed:\n%s", log);
	free(log);
	life_done(&l);
}
END_TEST

/*
 * A tls: listener is served with TLS (test_tls.c has the details):
 * start-up loads its certificate and key, starts the modules, and a
 * client completes a handshake on it.
 */
START_TEST(test_tls_listener_served)
{
	struct life l;
	struct aster_test *t;
	struct aster_test_conn *c;
	char confdir[PATH_MAX], path[PATH_MAX], *log;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	SSL_CTX *ctx;
	SSL *ssl;
	FILE *f;
	struct timeval tv = {10, 0};
	int fd;

	life_init(&l);
	ck_assert(aster_test_write_file(l.dir, "conf/product.yaml",
	          "kind: product\nid: tlstest\nname: TLS\nversion: 0.1.0\n"
	          "server:\n  listen:\n    - address: 127.0.0.1:0\n"
	          "      tls: { cert: server.crt, key: server.key }\n",
	          -1) == 0);
	ck_assert(aster_test_write_file(l.dir, "conf/modules/alpha.yaml",
	          "kind: module\nid: alpha\ndisplayName: Alpha\n"
	          "version: 1.0.0\nservices:\n  - id: life\n"
	          "    provider: testlife\n"
	          "    config: { log: \"${ASTER_TEST_LIFE_LOG}\", "
	          "label: alpha }\n", -1) == 0);
	/* A self-signed certificate and its key. */
	ck_assert(k != NULL && x != NULL);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	ck_assert(X509_set_pubkey(x, k) == 1);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	                           MBSTRING_ASC,
	                           (const unsigned char *)"lifecycle", -1, -1,
	                           0);
	ck_assert(X509_set_issuer_name(x, X509_get_subject_name(x)) == 1);
	ck_assert(X509_sign(x, k, EVP_sha256()) > 0);
	snprintf(path, sizeof(path), "%s/conf/server.crt", l.dir);
	ck_assert((f = fopen(path, "w")) != NULL);
	ck_assert(PEM_write_X509(f, x) == 1);
	fclose(f);
	snprintf(path, sizeof(path), "%s/conf/server.key", l.dir);
	ck_assert((f = fopen(path, "w")) != NULL);
	ck_assert(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);

	snprintf(confdir, sizeof(confdir), "%s/conf", l.dir);
	t = integ_start_dir(confdir, l.envv);
	c = aster_test_connect(t, "public");
	ck_assert(c != NULL);
	/* Blocking, with a timeout, for SSL_connect(). */
	fd = aster_test_conn_fd(c);
	ck_assert(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ctx = SSL_CTX_new(TLS_client_method());
	ck_assert(ctx != NULL && (ssl = SSL_new(ctx)) != NULL);
	ck_assert(SSL_set_fd(ssl, fd) == 1);
	ck_assert_msg(SSL_connect(ssl) == 1, "no TLS handshake on the "
	              "tls: listener");
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	aster_test_conn_close(c);
	integ_stop(t);
	log = integ_read_file(l.path);
	ck_assert_msg(line_of(log, "start alpha") != -1,
	              "module alpha did not start:\n%s", log);
	free(log);
	life_done(&l);
}
END_TEST

START_TEST(test_bad_command_line_exits_64)
{
	struct aster_test_options o = integ_options(NULL);
	const char *args[] = {"--no-such-option", NULL};
	struct aster_test *t;
	char dir[PATH_MAX];
	int rc;

	o.args = args;
	t = aster_test_spawn(integ_conf(dir, sizeof(dir), "order"), &o);
	ck_assert(t != NULL);
	rc = aster_test_wait(t, aster_test_timeout(10000));
	ck_assert_msg(rc == 64, "exit %d on a bad option, expected 64", rc);
	aster_test_free(t);
}
END_TEST

/* --- while starting ---------------------------------------------------------- */

START_TEST(test_ready_503_while_starting)
{
	struct life l;
	struct aster_test_options o;
	struct aster_test *t;
	struct aster_test_response r;
	char dir[PATH_MAX], *log;
	int rc;

	life_init(&l);
	o = integ_options(l.envv);
	t = aster_test_spawn(integ_conf(dir, sizeof(dir), "starting"), &o);
	ck_assert(t != NULL);
	ck_assert_msg(aster_test_wait_address(t, "public") == 0, "%s\n%s",
	              aster_test_error(t), aster_test_stderr(t));

	/* core (wave 1) runs; waiting (wave 1) never finishes. Poll until
	 * the pending start has begun. */
	{
		int tries;

		for (tries = 0; tries < 200; tries++) {
			log = integ_read_file(l.path);
			rc = line_of(log, "pending waiting");
			free(log);
			if (rc >= 0)
				break;
			integ_sleep_ms(10);
		}
	}
	integ_get_expect(t, "public", "/gateway/v1/health", 200, &r);
	aster_test_response_free(&r);

	integ_request(t, "public", "GET", "/gateway/v1/ready", NULL, NULL, &r);
	ck_assert_msg(r.status == 503, "/ready while starting: %d, expected "
	              "503: %s", r.status, r.body);
	{
		json_object *j = json_tokener_parse(r.body);

		ck_assert_msg(j != NULL && integ_json_str(j, "status") != NULL &&
		              strcmp(integ_json_str(j, "status"), "starting") == 0,
		              "/ready while starting: %s, expected status "
		              "\"starting\"", r.body);
		json_object_put(j);
	}
	aster_test_response_free(&r);

	/* Routes of modules not running yet do not answer as if they were. */
	integ_request(t, "public", "GET", "/t/waiting", NULL, NULL, &r);
	integ_assert_problem(&r, 503, "unavailable");
	aster_test_response_free(&r);
	integ_request(t, "public", "GET", "/t/later", NULL, NULL, &r);
	integ_assert_problem(&r, 503, "unavailable");
	aster_test_response_free(&r);
	ck_assert_msg(strstr(aster_test_stdout(t), "ready") == NULL,
	              "asterd printed ready while a module was starting:\n%s",
	              aster_test_stdout(t));

	/* SIGTERM while starting: an orderly stop. */
	ck_assert(aster_test_signal(t, SIGTERM) == 0);
	rc = aster_test_wait(t, aster_test_timeout(10000));
	ck_assert_msg(rc == 0, "exit %d after SIGTERM while starting; "
	              "stderr:\n%s", rc, aster_test_stderr(t));
	integ_assert_clean_log(t);
	aster_test_free(t);
	log = integ_read_file(l.path);
	ck_assert_msg(line_of(log, "start later") == -1,
	              "later started before what it requires:\n%s", log);
	free(log);
	life_done(&l);
}
END_TEST

/* The helper library keeps no global state: two products at once. */
START_TEST(test_two_products_at_once)
{
	struct life l;
	struct aster_test *a, *b;
	struct aster_test_response r;
	char env[PATH_MAX + 32];
	const char *envv[2] = {env, NULL};
	char *run = integ_tempdir();

	life_init(&l);
	snprintf(env, sizeof(env), "ASTER_TEST_RUN=%s", run);
	a = integ_start("order", l.envv);
	b = integ_start("http", envv);
	ck_assert_str_ne(aster_test_address(a, "public"),
	                 aster_test_address(b, "public"));
	integ_get_expect(a, "public", "/t/alpha", 200, &r);
	aster_test_response_free(&r);
	integ_get_expect(b, "public", "/t/hello", 200, &r);
	aster_test_response_free(&r);
	integ_request(a, "public", "GET", "/t/hello", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	aster_test_response_free(&r);
	integ_stop(a);
	integ_get_expect(b, "public", "/t/hello", 200, &r);
	aster_test_response_free(&r);
	integ_stop(b);
	aster_test_remove_tree(run);
	free(run);
	life_done(&l);
}
END_TEST

/*
 * An IPv6 listener, printed as [::1]:PORT. A machine without ::1 fails
 * it, unless ASTER_TEST_ALLOW_NO_IPV6=1 says that is expected there: then
 * it prints a SKIP line, which tests/integration/run.sh shows.
 */
START_TEST(test_ipv6_listener)
{
	struct life l;
	struct sockaddr_in6 sin6;
	struct aster_test *t;
	struct aster_test_response r;
	const char *addr, *allow = getenv("ASTER_TEST_ALLOW_NO_IPV6");
	int fd, e;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) != 0) {
		e = errno;
		if (fd != -1)
			close(fd);
		if (allow != NULL && strcmp(allow, "1") == 0) {
			printf("SKIP: test_ipv6_listener: no ::1 here (%s)\n",
			       strerror(e));
			fflush(stdout);
			return;
		}
		ck_abort_msg("no IPv6 loopback: cannot bind [::1]: %s (set "
		             "ASTER_TEST_ALLOW_NO_IPV6=1 to skip this test on "
		             "a machine without ::1)", strerror(e));
	}
	close(fd);

	life_init(&l);
	ck_assert(aster_test_write_file(l.dir, "conf/product.yaml",
	          "kind: product\nid: sixtest\nname: IPv6\nversion: 0.1.0\n"
	          "server:\n  listen:\n    - address: \"[::1]:18205\"\n"
	          "      scopes: [public]\n", -1) == 0);
	ck_assert(aster_test_write_file(l.dir, "conf/modules/six.yaml",
	          "kind: module\nid: six\ndisplayName: Six\nversion: 1.0.0\n"
	          "routes:\n  - id: route:six.get\n    scope: public\n"
	          "    methods: [GET]\n    mountPath: /t/six\n"
	          "    handler: { respond: { status: 200, body: six } }\n",
	          -1) == 0);
	{
		char confdir[PATH_MAX];

		snprintf(confdir, sizeof(confdir), "%s/conf", l.dir);
		t = integ_start_dir(confdir, NULL);
	}
	addr = aster_test_address(t, "public");
	ck_assert_msg(addr != NULL && strncmp(addr, "[::1]:", 6) == 0 &&
	              strcmp(addr, "[::1]:18205") != 0,
	              "IPv6 listener printed as '%s'", addr ? addr : "(none)");
	integ_get_expect(t, "public", "/t/six", 200, &r);
	aster_test_response_free(&r);
	integ_stop(t);
	life_done(&l);
}
END_TEST

/* log.format json: every line asterd writes to stderr is a JSON object,
 * and the access line carries the request id, route, status and bytes. */
START_TEST(test_json_log)
{
	struct aster_test *t = integ_start("jsonlog", NULL);
	const char *hdrs[] = {"X-Request-Id: json-log-probe-1", NULL};
	struct aster_test_response r;
	char *log, *line, *save = NULL;
	int access = 0, rc;

	integ_request(t, "public", "GET", "/t/hello", hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	aster_test_response_free(&r);
	aster_test_wait_stderr(t, "json-log-probe-1", aster_test_timeout(3000));
	rc = aster_test_stop(t);
	ck_assert_int_eq(rc, 0);
	integ_assert_clean_log(t);
	log = strdup(aster_test_stderr(t));
	ck_assert(log != NULL);
	ck_assert_msg(log[0] != '\0', "no log lines at level debug");
	for (line = strtok_r(log, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_object *o = json_tokener_parse(line);

		ck_assert_msg(o != NULL &&
		              json_object_is_type(o, json_type_object),
		              "log line is not a JSON object: %s", line);
		if (strstr(line, "json-log-probe-1") != NULL) {
			access++;
			ck_assert_msg(strstr(line, "route:site.hello") != NULL &&
			              strstr(line, "200") != NULL,
			              "access line without route or status: %s",
			              line);
		}
		json_object_put(o);
	}
	ck_assert_msg(access >= 1, "no access log line names the request id");
	free(log);
	aster_test_free(t);
}
END_TEST

/* --- systemd notify ---------------------------------------------------------- */

/* A datagram socket standing in for systemd's notify socket. */
struct notify {
	int fd;
	char path[PATH_MAX];
	char env[PATH_MAX + 32];
	char *seen;                 /* every message so far, '|'-separated */
};

static void
notify_open(struct notify *n, const char *dir)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(n->path, sizeof(n->path), "%s/notify.sock", dir);
	ck_assert(strlen(n->path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, n->path, strlen(n->path) + 1);
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert(n->fd != -1);
	ck_assert(bind(n->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	snprintf(n->env, sizeof(n->env), "NOTIFY_SOCKET=%s", n->path);
	n->seen = strdup("");
}

/* Collects messages until one holds text, for at most ms: 0 when seen. */
static int
notify_wait(struct notify *n, const char *text, int ms)
{
	int waited = 0;

	for (;;) {
		char buf[4096];
		ssize_t len;

		while ((len = recv(n->fd, buf, sizeof(buf) - 1, 0)) > 0) {
			size_t old = strlen(n->seen);
			char *grown;

			buf[len] = '\0';
			grown = realloc(n->seen, old + (size_t)len + 2);
			ck_assert(grown != NULL);
			n->seen = grown;
			memcpy(n->seen + old, buf, (size_t)len);
			n->seen[old + (size_t)len] = '|';
			n->seen[old + (size_t)len + 1] = '\0';
		}
		if (strstr(n->seen, text) != NULL)
			return 0;
		if (waited >= ms)
			return -1;
		integ_sleep_ms(10);
		waited += 10;
	}
}

static void
notify_close(struct notify *n)
{
	close(n->fd);
	free(n->seen);
}

START_TEST(test_systemd_notify)
{
	struct life l;
	struct notify n;
	struct aster_test *t;
	const char *envv[4];
	int rc;

	life_init(&l);
	notify_open(&n, l.dir);
	envv[0] = l.env;
	envv[1] = n.env;
	envv[2] = "WATCHDOG_USEC=200000";
	envv[3] = NULL;
	t = integ_start("order", envv);
	ck_assert_msg(notify_wait(&n, "READY=1", aster_test_timeout(3000)) == 0,
	              "no READY=1 once ready; got: %s", n.seen);
	ck_assert_msg(notify_wait(&n, "WATCHDOG=1", aster_test_timeout(3000)) ==
	              0, "no WATCHDOG=1 with WATCHDOG_USEC=200000; got: %s",
	              n.seen);

	n.seen[0] = '\0';
	ck_assert(aster_test_signal(t, SIGHUP) == 0);
	ck_assert_msg(notify_wait(&n, "RELOADING=1", aster_test_timeout(3000)) ==
	              0, "no RELOADING=1 on SIGHUP; got: %s", n.seen);
	ck_assert_msg(notify_wait(&n, "READY=1", aster_test_timeout(3000)) == 0,
	              "no READY=1 after the reload; got: %s", n.seen);

	n.seen[0] = '\0';
	ck_assert(aster_test_signal(t, SIGTERM) == 0);
	rc = aster_test_wait(t, aster_test_timeout(10000));
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(notify_wait(&n, "STOPPING=1", 500) == 0,
	              "no STOPPING=1 on SIGTERM; got: %s", n.seen);
	aster_test_free(t);
	notify_close(&n);
	life_done(&l);
}
END_TEST

/* READY=1 only once every module runs (SPEC 6). */
START_TEST(test_systemd_not_ready_while_starting)
{
	struct life l;
	struct notify n;
	struct aster_test_options o;
	struct aster_test *t;
	const char *envv[3];
	char dir[PATH_MAX];

	life_init(&l);
	notify_open(&n, l.dir);
	envv[0] = l.env;
	envv[1] = n.env;
	envv[2] = NULL;
	o = integ_options(envv);
	t = aster_test_spawn(integ_conf(dir, sizeof(dir), "starting"), &o);
	ck_assert(t != NULL);
	ck_assert(aster_test_wait_address(t, "public") == 0);
	ck_assert_msg(notify_wait(&n, "READY=1", 500) == -1,
	              "READY=1 while a module was still starting: %s", n.seen);
	ck_assert_int_eq(aster_test_stop(t), 0);
	aster_test_free(t);
	notify_close(&n);
	life_done(&l);
}
END_TEST

static Suite *
lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *run = tcase_create("run");
	TCase *fail = tcase_create("failures");

	tcase_set_timeout(run, INTEG_TCASE_TIMEOUT);
	tcase_set_timeout(fail, INTEG_TCASE_TIMEOUT);
	tcase_add_test(run, test_start_order_by_waves);
	tcase_add_test(run, test_sigint_stops_too);
	tcase_add_test(run, test_listening_lines);
	tcase_add_test(run, test_default_product);
	tcase_add_test(run, test_ready_503_while_starting);
	tcase_add_test(run, test_two_products_at_once);
	tcase_add_test(run, test_ipv6_listener);
	tcase_add_test(run, test_json_log);
	tcase_add_test(run, test_systemd_notify);
	tcase_add_test(run, test_systemd_not_ready_while_starting);
	tcase_add_test(fail, test_module_failure_rolls_back);
	tcase_add_test(fail, test_invalid_config_exits_78);
	tcase_add_test(fail, test_busy_port_exits_69);
	tcase_add_test(fail, test_tls_listener_served);
	tcase_add_test(fail, test_bad_command_line_exits_64);
	suite_add_tcase(s, run);
	suite_add_tcase(s, fail);
	return s;
}

UNIT_MAIN(lifecycle_suite)
