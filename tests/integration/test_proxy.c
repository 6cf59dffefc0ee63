/*
 * test_proxy.c - the reverse proxy's forwarding rules (SPEC 7.7, 7.3,
 * 7.4) against real upstream processes and a real asterd.
 *
 * Each test starts test upstreams (build/tests/upstream/upstream, see
 * tests/upstream/README) on loopback ports or a Unix socket, and asterd
 * on tests/integration/confs/proxy with their ports in the environment;
 * the upstream's JSON echo shows what was forwarded, its /stats what it
 * saw and produced. The HTTPS cases add a module of https upstreams to
 * a copy of the config, with certificates made here (as
 * tests/upstream/mkcerts.sh makes them, without needing openssl(1)).
 *
 * Under valgrind (ASTER_TEST_TIMEOUT_MULTIPLIER > 1) the 1 GiB transfers
 * shrink to 128 MiB, and the memory bound grows by what memcheck itself
 * holds: freed blocks wait in its quarantine (--freelist-vol, 20 MB by
 * default) before they are reused, so a stream's churned buffers stay
 * resident there; still well under the body, so a body held whole fails.
 */
#include "integ.h"

#include <ctype.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define TOKEN_MAX 512
#define GIB (1024ull * 1024 * 1024)
#define MIB (1024ull * 1024)
/* How much asterd's resident memory may grow over a 1 GiB transfer; and
 * what memcheck's quarantine of freed blocks adds under valgrind. */
#define RSS_BOUND (16 * MIB)
#define VALGRIND_FREELIST (24 * MIB)
/* What asterd and the upstream may hold in user space while a client
 * reads nothing (their buffers' high marks are far below this). */
#define USER_BOUND (4 * MIB)

struct up {
	pid_t pid;
	char name[16];
	char port[16];              /* or the socket path for unix: */
	char address[PATH_MAX];     /* for aster_test_connect_address */
};

static struct {
	char *dir;
	char run[1024];
	char conf[PATH_MAX];
	char *copy;                 /* a config copy with modules/tls.yaml */
	char certs[1100];
	char dead[16];
	struct up a, b, u, tls, self;
	struct aster_test *t;
} E;

/* --- upstream processes ------------------------------------------------- */

static const char *
upstream_bin(char *buf, size_t len)
{
	const char *mods = getenv("ASTER_TEST_MODULES");

	if (mods != NULL && *mods != '\0')
		snprintf(buf, len, "%s/../upstream/upstream", mods);
	else
		snprintf(buf, len, "build/tests/upstream/upstream");
	return buf;
}

/* Starts an upstream called name on listen (127.0.0.1:0 or unix:PATH),
 * over TLS with cert/key when not NULL; waits for its port file. */
static void
up_start(struct up *u, const char *name, const char *listen,
         const char *cert, const char *key)
{
	char bin[PATH_MAX], pf[PATH_MAX], *got;
	const char *argv[16];
	int n = 0, waited = 0, limit = aster_test_timeout(5000);

	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s", name);
	snprintf(pf, sizeof(pf), "%s/%s.port", E.run, name);
	argv[n++] = upstream_bin(bin, sizeof(bin));
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--port-file";
	argv[n++] = pf;
	argv[n++] = "--name";
	argv[n++] = name;
	if (cert != NULL) {
		argv[n++] = "--tls-cert";
		argv[n++] = cert;
		argv[n++] = "--tls-key";
		argv[n++] = key;
	}
	argv[n] = NULL;
	u->pid = fork();
	ck_assert(u->pid != -1);
	if (u->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (access(pf, R_OK) != 0) {
		int st;

		ck_assert_msg(waitpid(u->pid, &st, WNOHANG) == 0, "upstream %s "
		              "(%s) exited before it listened", name, bin);
		ck_assert_msg(waited < limit, "upstream %s wrote no port file "
		              "in %d ms", name, limit);
		integ_sleep_ms(10);
		waited += 10;
	}
	got = integ_read_file(pf);
	got[strcspn(got, "\r\n")] = '\0';
	snprintf(u->port, sizeof(u->port), "%s", got);
	if (strncmp(listen, "unix:", 5) == 0) {
		snprintf(u->port, sizeof(u->port), "-");
		snprintf(u->address, sizeof(u->address), "%s", listen);
	} else {
		snprintf(u->address, sizeof(u->address), "127.0.0.1:%s", got);
	}
	free(got);
}

static void
up_stop(struct up *u)
{
	int st;

	if (u->pid <= 0)
		return;
	kill(u->pid, SIGTERM);
	waitpid(u->pid, &st, 0);
	u->pid = 0;
}

/* A loopback port nothing listens on (bound, then closed). */
static void
closed_port(char *buf, size_t len)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	ck_assert(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	snprintf(buf, len, "%u", ntohs(sa.sin_port));
	close(fd);
}

/* The upstream's /stats, asked directly (the caller puts it). */
static json_object *
up_stats(const struct up *u)
{
	struct aster_test_conn *c = aster_test_connect_address(u->address, 0);
	struct aster_test_response r;
	const char *close_hdr[] = {"Connection: close", NULL};
	json_object *o;

	ck_assert_msg(c != NULL, "cannot reach upstream %s at %s", u->name,
	              u->address);
	ck_assert_int_eq(aster_test_conn_request(c, "GET", "/stats", close_hdr,
	                                         NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	o = integ_json(&r);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
	return o;
}

static long long
stat_num(const struct up *u, const char *name)
{
	json_object *o = up_stats(u), *v;
	long long n;

	ck_assert_msg(json_object_object_get_ex(o, name, &v), "upstream "
	              "/stats has no '%s'", name);
	n = json_object_get_int64(v);
	json_object_put(o);
	return n;
}

/* --- asterd -------------------------------------------------------------- */

static void
env_init(void)
{
	memset(&E, 0, sizeof(E));
	E.dir = integ_tempdir();
	snprintf(E.run, sizeof(E.run), "%s", E.dir);
	integ_conf(E.conf, sizeof(E.conf), "proxy");
	closed_port(E.dead, sizeof(E.dead));
}

/* Starts upstreams a, b and the unix one, then asterd on conf. */
static void
start_on(const char *conf)
{
	char listen[PATH_MAX + 8];
	char e_run[PATH_MAX + 16], e_a[64], e_b[64], e_dead[64];
	char e_sock[PATH_MAX + 16], e_tls[64], e_self[64], e_ca[PATH_MAX + 16];
	const char *env[10];
	int n = 0;

	up_start(&E.a, "a", "127.0.0.1:0", NULL, NULL);
	up_start(&E.b, "b", "127.0.0.1:0", NULL, NULL);
	snprintf(listen, sizeof(listen), "unix:%s/up.sock", E.run);
	up_start(&E.u, "unix", listen, NULL, NULL);
	snprintf(e_run, sizeof(e_run), "PX_RUN=%s", E.run);
	snprintf(e_a, sizeof(e_a), "UP_A=%s", E.a.port);
	snprintf(e_b, sizeof(e_b), "UP_B=%s", E.b.port);
	snprintf(e_dead, sizeof(e_dead), "UP_DEAD=%s", E.dead);
	snprintf(e_sock, sizeof(e_sock), "UP_SOCK=%s/up.sock", E.run);
	env[n++] = e_run;
	env[n++] = e_a;
	env[n++] = e_b;
	env[n++] = e_dead;
	env[n++] = e_sock;
	if (E.tls.pid > 0) {
		snprintf(e_tls, sizeof(e_tls), "UP_TLS=%s", E.tls.port);
		snprintf(e_self, sizeof(e_self), "UP_SELF=%s", E.self.port);
		snprintf(e_ca, sizeof(e_ca), "PX_CA=%s/ca.crt", E.certs);
		env[n++] = e_tls;
		env[n++] = e_self;
		env[n++] = e_ca;
	}
	env[n] = NULL;
	E.t = integ_start_dir(conf, env);
}

static void
start(void)
{
	env_init();
	start_on(E.conf);
}

static void
teardown(void)
{
	if (E.t != NULL)
		integ_stop(E.t);
	E.t = NULL;
	up_stop(&E.a);
	up_stop(&E.b);
	up_stop(&E.u);
	up_stop(&E.tls);
	up_stop(&E.self);
	if (E.copy != NULL) {
		aster_test_remove_tree(E.copy);
		free(E.copy);
	}
	if (E.dir != NULL) {
		aster_test_remove_tree(E.dir);
		free(E.dir);
	}
	memset(&E, 0, sizeof(E));
}

/* Is this a run under valgrind (or another slow one)? */
static int
slow_run(void)
{
	const char *m = getenv("ASTER_TEST_TIMEOUT_MULTIPLIER");

	return m != NULL && atof(m) > 1;
}

/* The size of a "1 GiB" transfer in this run. */
static uint64_t
big_size(void)
{
	return slow_run() ? 128 * MIB : GIB;
}

/* How much asterd's RSS may grow over one. */
static unsigned long long
rss_bound(void)
{
	return RSS_BOUND + (slow_run() ? VALGRIND_FREELIST : 0);
}

/* asterd's resident memory in bytes (VmRSS). */
static unsigned long long
asterd_rss(void)
{
	char path[64], *status, *p;
	unsigned long long kb = 0;

	snprintf(path, sizeof(path), "/proc/%d/status",
	         (int)aster_test_pid(E.t));
	status = integ_read_file(path);
	p = strstr(status, "VmRSS:");
	ck_assert_msg(p != NULL, "no VmRSS in %s", path);
	kb = strtoull(p + 6, NULL, 10);
	free(status);
	return kb * 1024;
}

/* `asterctl keys create` over this product's control socket. */
static void
make_key(const char *role, const char *name, const char *spaces,
         struct integ_key *k)
{
	char sock[PATH_MAX];

	snprintf(sock, sizeof(sock), "%s/control.sock", E.run);
	integ_key_create(sock, role, name, spaces, k);
}

/* --- requests and the upstream's echo ----------------------------------- */

static void
get(const char *path, const char *const *headers, int status,
    struct aster_test_response *r)
{
	integ_request(E.t, "public", "GET", path, headers, NULL, r);
	ck_assert_msg(r->status == status, "GET %s: %d, expected %d; body: %s",
	              path, r->status, status, r->body);
}

/* GET path through asterd: 200 and the upstream's echo (put it). */
static json_object *
echo(const char *path, const char *const *headers)
{
	struct aster_test_response r;
	json_object *o;

	get(path, headers, 200, &r);
	o = integ_json(&r);
	aster_test_response_free(&r);
	return o;
}

static const char *
str_of(json_object *o, const char *key)
{
	const char *s = integ_json_str(o, key);

	ck_assert_msg(s != NULL, "echo has no string '%s': %s", key,
	              json_object_to_json_string(o));
	return s;
}

/* How many fields called name the upstream received, and the value of
 * the first (NULL when none). */
static const char *
echo_header(json_object *o, const char *name, int *count)
{
	json_object *hs, *pair;
	const char *first = NULL;
	size_t i, n;
	int c = 0;

	ck_assert(json_object_object_get_ex(o, "headers", &hs));
	n = json_object_array_length(hs);
	for (i = 0; i < n; i++) {
		pair = json_object_array_get_idx(hs, i);
		if (strcasecmp(json_object_get_string(
		        json_object_array_get_idx(pair, 0)), name) != 0)
			continue;
		if (c++ == 0)
			first = json_object_get_string(
			    json_object_array_get_idx(pair, 1));
	}
	if (count != NULL)
		*count = c;
	return first;
}

/* The upstream received exactly one name: value. */
static void
assert_one(json_object *o, const char *name, const char *value)
{
	int n;
	const char *v = echo_header(o, name, &n);

	ck_assert_msg(n == 1 && strcmp(v, value) == 0, "upstream got %d '%s' "
	              "field(s), first '%s'; expected one '%s'", n, name,
	              v != NULL ? v : "(none)", value);
}

static void
assert_none(json_object *o, const char *name)
{
	int n;
	const char *v = echo_header(o, name, &n);

	ck_assert_msg(n == 0, "upstream got '%s: %s', expected none", name,
	              v);
}

static void
assert_target(json_object *o, const char *target)
{
	const char *t = str_of(o, "target");

	ck_assert_msg(strcmp(t, target) == 0, "upstream request target '%s', "
	              "expected '%s'", t, target);
}

/* GET path through asterd; the upstream saw the request target want. */
static void
expect_forwarded(const char *path, const char *want)
{
	json_object *o = echo(path, NULL);

	assert_target(o, want);
	json_object_put(o);
}

/* --- raw exchanges ------------------------------------------------------ */

struct raw {
	char *data;
	size_t len;
};

/* Sends req on a new connection and reads until asterd closes. */
static void
raw_exchange(const char *req, size_t len, struct raw *out)
{
	struct aster_test_conn *c = aster_test_connect(E.t, "public");
	size_t cap = 65536;

	ck_assert_msg(c != NULL, "connect: %s", aster_test_error(E.t));
	ck_assert_int_eq(aster_test_conn_send(c, req, len), 0);
	out->data = malloc(cap);
	out->len = 0;
	for (;;) {
		long n;

		if (cap - out->len < 16384) {
			cap *= 2;
			out->data = realloc(out->data, cap);
		}
		ck_assert(out->data != NULL);
		n = aster_test_conn_read(c, out->data + out->len,
		                         cap - out->len - 1, -1);
		ck_assert_msg(n >= 0, "reading the raw answer failed or "
		              "timed out after %zu bytes", out->len);
		if (n == 0)
			break;
		out->len += (size_t)n;
	}
	out->data[out->len] = '\0';
	aster_test_conn_close(c);
}

/* The body after the head at p (chunked): decodes the chunks into body,
 * the trailer section into trailers (both malloc'ed, NUL-ended). */
static void
dechunk(const char *p, const char *end, char **body, size_t *blen,
        char **trailers)
{
	size_t cap = (size_t)(end - p) + 1;

	*body = malloc(cap);
	*blen = 0;
	ck_assert(*body != NULL);
	for (;;) {
		char *eol;
		unsigned long size = strtoul(p, &eol, 16);
		const char *crlf = strstr(p, "\r\n");

		ck_assert_msg(crlf != NULL && eol > p, "bad chunk size line");
		p = crlf + 2;
		if (size == 0)
			break;
		ck_assert_msg(p + size + 2 <= end, "chunk past the end");
		memcpy(*body + *blen, p, size);
		*blen += size;
		p += size + 2;
	}
	*trailers = strndup(p, (size_t)(end - p));
}

/* --- bodies' helpers --------------------------------------------------- */

/* Byte i of a body: i % 251, as the upstream makes them. */
static unsigned char pattern[65536 + 251];

static void
pattern_init(void)
{
	size_t i;

	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (unsigned char)(i % 251);
}

static void
sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char d[32];
	unsigned int n = 0;
	int i;

	ck_assert(EVP_Digest(data, len, d, &n, EVP_sha256(), NULL) == 1);
	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* POST body (len bytes) to path; the upstream's echo (put it). */
static json_object *
post(const char *path, const char *const *headers, const void *body,
     size_t len)
{
	struct aster_test_response r;
	json_object *o;
	int rc = aster_test_request(E.t, "public", "POST", path, headers, body,
	                            len, &r);

	ck_assert_msg(rc == 0 && r.status == 200, "POST %s (%zu bytes): %d "
	              "%s %s", path, len, r.status, r.error, r.body);
	o = integ_json(&r);
	aster_test_response_free(&r);
	return o;
}

static void
assert_body_echo(json_object *o, const void *body, size_t len)
{
	char sha[65];
	json_object *v;

	sha256_hex(body, len, sha);
	ck_assert(json_object_object_get_ex(o, "body_length", &v));
	ck_assert_msg((size_t)json_object_get_int64(v) == len, "upstream "
	              "got %lld bytes, sent %zu",
	              (long long)json_object_get_int64(v), len);
	ck_assert_str_eq(str_of(o, "body_sha256"), sha);
}

static unsigned char *
random_body(size_t len)
{
	unsigned char *b = malloc(len);
	size_t i;
	uint32_t x = 2463534242u;

	ck_assert(b != NULL);
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (unsigned char)x;
	}
	return b;
}

/* --- path -------------------------------------------------------------- */

/* strip_prefix on a prefix route: the part below the mount point, "/"
 * for the mount point itself, the query as sent. */
START_TEST(test_path_prefix_strip)
{
	start();
	expect_forwarded("/p/strip/x/y?q=1&b=%20c", "/x/y?q=1&b=%20c");
	expect_forwarded("/p/strip", "/");
	expect_forwarded("/p/strip?only=query", "/?only=query");
	expect_forwarded("/p/strip/", "/");
}
END_TEST

/* Without strip_prefix the whole path goes. */
START_TEST(test_path_prefix_keep)
{
	start();
	expect_forwarded("/p/keep/x/y?q=1", "/p/keep/x/y?q=1");
	expect_forwarded("/p/keep", "/p/keep");
}
END_TEST

/* Exact routes: strip_prefix leaves "/", else the path. */
START_TEST(test_path_exact)
{
	start();
	expect_forwarded("/e/strip?a=b", "/?a=b");
	expect_forwarded("/e/keep?a=b&a=c", "/e/keep?a=b&a=c");
}
END_TEST

/* The target's base path is put in front. */
START_TEST(test_path_base)
{
	start();
	expect_forwarded("/p/base/x/y?z=1", "/base/x/y?z=1");
	expect_forwarded("/p/basekeep/x?z=1", "/base/p/basekeep/x?z=1");
}
END_TEST

/* Encoded segments go as the client wrote them: %2F stays %2F. */
START_TEST(test_path_encoded)
{
	start();
	expect_forwarded("/p/strip/a%2Fb/c%20d?k=%2F", "/a%2Fb/c%20d?k=%2F");
	expect_forwarded("/p/keep/a%2Fb", "/p/keep/a%2Fb");
	expect_forwarded("/p/base/a%2Fb", "/base/a%2Fb");
}
END_TEST

/* Dot segments (also encoded) are resolved before routing; the upstream
 * gets the path the route matched, never one that climbs out of it. */
START_TEST(test_path_dot_segments)
{
	start();
	expect_forwarded("/p/strip/a/../b?x=1", "/b?x=1");
	expect_forwarded("/p/keep/a/%2e%2E/b", "/p/keep/b");
	expect_forwarded("/p/strip/./c/.", "/c/");
}
END_TEST

/* --- hop-by-hop ---------------------------------------------------------- */

START_TEST(test_hop_by_hop_request)
{
	const char *h[] = {
		"Connection: close, X-Drop-Me",
		"X-Drop-Me: 1",
		"Keep-Alive: timeout=5",
		"TE: trailers",
		"Trailer: X-Later",
		"Upgrade: h2c",
		"Proxy-Authorization: Basic Zm9vOmJhcg==",
		"Proxy-Connection: keep-alive",
		"X-Keep: kept",
		NULL,
	};
	json_object *o;

	start();
	o = echo("/p/strip/hop", h);
	assert_none(o, "X-Drop-Me");
	assert_none(o, "Keep-Alive");
	assert_none(o, "TE");
	assert_none(o, "Trailer");
	assert_none(o, "Upgrade");
	assert_none(o, "Proxy-Authorization");
	assert_none(o, "Proxy-Connection");
	assert_one(o, "X-Keep", "kept");
	/* A Connection field, if any, is asterd's own to the upstream. */
	{
		const char *c = echo_header(o, "Connection", NULL);

		ck_assert_msg(c == NULL || strcasestr(c, "X-Drop-Me") == NULL,
		              "the client's Connection went on: '%s'", c);
	}
	json_object_put(o);
}
END_TEST

START_TEST(test_hop_by_hop_response)
{
	struct aster_test_response r;
	const char *c;

	start();
	get("/p/strip/h?hdr=Connection:X-Foo&hdr=X-Foo:1&hdr=X-Bar:2"
	    "&hdr=Keep-Alive:timeout%3D9&hdr=Proxy-Authenticate:Basic"
	    "&hdr=Upgrade:h2c&hdr=Trailer:X-None", NULL, 200, &r);
	ck_assert_msg(aster_test_header(&r, "X-Foo") == NULL, "X-Foo, named "
	              "by the upstream's Connection, reached the client");
	ck_assert_msg(aster_test_header(&r, "Keep-Alive") == NULL,
	              "Keep-Alive reached the client");
	ck_assert_msg(aster_test_header(&r, "Proxy-Authenticate") == NULL,
	              "Proxy-Authenticate reached the client");
	ck_assert_msg(aster_test_header(&r, "Upgrade") == NULL,
	              "Upgrade reached the client");
	ck_assert_msg(aster_test_header(&r, "Trailer") == NULL,
	              "Trailer reached the client");
	ck_assert_str_eq(aster_test_header(&r, "X-Bar"), "2");
	ck_assert_str_eq(aster_test_header(&r, "X-Upstream"), "a");
	c = aster_test_header(&r, "Connection");
	ck_assert_msg(c == NULL || strcasestr(c, "X-Foo") == NULL,
	              "the upstream's Connection reached the client: '%s'", c);
	aster_test_response_free(&r);
}
END_TEST

/* Everything else passes as it is, in order, repeated fields kept apart:
 * both ways, and an upstream's error status is not asterd's problem. */
START_TEST(test_fields_pass)
{
	const char *h[] = {"X-M: 1", "X-M: 2", "Accept: text/plain", NULL};
	struct aster_test_response r;
	json_object *o;
	size_t i, seen = 0;
	static const char *const cookies[] = {"a=1", "b=2"};

	start();
	get("/p/strip/r?status=503&hdr=Set-Cookie:a%3D1&hdr=Set-Cookie:b%3D2"
	    "&hdr=Cache-Control:no-store", h, 503, &r);
	ck_assert_str_eq(aster_test_header(&r, "X-Upstream"), "a");
	ck_assert_str_eq(aster_test_header(&r, "Cache-Control"), "no-store");
	for (i = 0; i < r.nheaders; i++)
		if (strcasecmp(r.headers[i].name, "Set-Cookie") == 0) {
			ck_assert_msg(seen < 2 && strcmp(r.headers[i].value,
			              cookies[seen]) == 0,
			              "Set-Cookie %zu: '%s'", seen,
			              r.headers[i].value);
			seen++;
		}
	ck_assert_uint_eq(seen, 2);
	o = integ_json(&r);
	ck_assert_str_eq(str_of(o, "name"), "a");
	{
		json_object *hs;
		int ms = 0;

		ck_assert(json_object_object_get_ex(o, "headers", &hs));
		for (i = 0; i < json_object_array_length(hs); i++) {
			json_object *pair = json_object_array_get_idx(hs, i);
			const char *n = json_object_get_string(
			    json_object_array_get_idx(pair, 0));
			const char *v = json_object_get_string(
			    json_object_array_get_idx(pair, 1));

			if (strcasecmp(n, "X-M") != 0)
				continue;
			ck_assert_str_eq(v, ms == 0 ? "1" : "2");
			ms++;
		}
		ck_assert_int_eq(ms, 2);
	}
	assert_one(o, "Accept", "text/plain");
	json_object_put(o);
	aster_test_response_free(&r);

	get("/p/strip/r?status=201", NULL, 201, &r);
	aster_test_response_free(&r);
	get("/p/strip/r?status=404", NULL, 404, &r);
	ck_assert_msg(strstr(r.body, "\"name\":\"a\"") != NULL, "the "
	              "upstream's 404 was replaced: %s", r.body);
	aster_test_response_free(&r);
}
END_TEST

/* --- X-Forwarded-*, Forwarded, Via ---------------------------------------- */

START_TEST(test_forwarded_appended)
{
	const char *h[] = {
		"Host: example.test:8080",
		"X-Forwarded-For: 203.0.113.9",
		"Forwarded: for=203.0.113.9;proto=https",
		"Via: 1.0 edge",
		NULL,
	};
	json_object *o;

	start();
	o = echo("/p/strip/f", h);
	assert_one(o, "X-Forwarded-For", "203.0.113.9, 127.0.0.1");
	assert_one(o, "X-Forwarded-Proto", "http");
	assert_one(o, "X-Forwarded-Host", "example.test:8080");
	assert_one(o, "Forwarded", "for=203.0.113.9;proto=https, "
	           "for=127.0.0.1;host=\"example.test:8080\";proto=http");
	assert_one(o, "Via", "1.0 edge, 1.1 asterd");
	json_object_put(o);
}
END_TEST

START_TEST(test_forwarded_fresh)
{
	const char *h[] = {"Host: example.test", NULL};
	json_object *o;

	start();
	o = echo("/p/strip/f", h);
	assert_one(o, "X-Forwarded-For", "127.0.0.1");
	assert_one(o, "X-Forwarded-Proto", "http");
	assert_one(o, "X-Forwarded-Host", "example.test");
	assert_one(o, "Forwarded",
	           "for=127.0.0.1;host=example.test;proto=http");
	assert_one(o, "Via", "1.1 asterd");
	json_object_put(o);
}
END_TEST

/* A client on a unix socket has no address: RFC 7239's "unknown". */
START_TEST(test_forwarded_unix_client)
{
	char address[PATH_MAX];
	struct aster_test_conn *c;
	struct aster_test_response r;
	const char *h[] = {"Host: sock.example", "Connection: close", NULL};
	json_object *o;

	start();
	snprintf(address, sizeof(address), "unix:%s/public.sock", E.run);
	c = aster_test_connect_address(address, 0);
	ck_assert_msg(c != NULL, "cannot connect to %s", address);
	ck_assert_int_eq(aster_test_conn_request(c, "GET", "/p/strip/f", h,
	                                         NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	o = integ_json(&r);
	assert_one(o, "Forwarded", "for=unknown;host=sock.example;proto=http");
	assert_one(o, "X-Forwarded-Proto", "http");
	assert_one(o, "X-Forwarded-Host", "sock.example");
	assert_one(o, "Via", "1.1 asterd");
	json_object_put(o);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
}
END_TEST

/* --- X-Request-Id and traceparent ----------------------------------------- */

START_TEST(test_request_id)
{
	char long_id[160], hdr[200];
	const char *mine[] = {"X-Request-Id: client-id-42", NULL};
	const char *bad[] = {hdr, NULL};
	struct aster_test_response r;
	json_object *o;
	const char *rid;

	start();
	get("/p/strip/id", mine, 200, &r);
	o = integ_json(&r);
	assert_one(o, "X-Request-Id", "client-id-42");
	ck_assert_str_eq(aster_test_header(&r, "X-Request-Id"), "client-id-42");
	ck_assert_uint_eq(aster_test_header_count(&r, "X-Request-Id"), 1);
	json_object_put(o);
	aster_test_response_free(&r);

	get("/p/strip/id", NULL, 200, &r);
	o = integ_json(&r);
	rid = aster_test_header(&r, "X-Request-Id");
	ck_assert_msg(integ_valid_request_id(rid), "no valid generated id");
	ck_assert_uint_eq(aster_test_header_count(&r, "X-Request-Id"), 1);
	assert_one(o, "X-Request-Id", rid);
	json_object_put(o);
	aster_test_response_free(&r);

	/* The upstream's own X-Request-Id does not replace the request's. */
	get("/p/strip/id?hdr=X-Request-Id:from-upstream", mine, 200, &r);
	ck_assert_str_eq(aster_test_header(&r, "X-Request-Id"), "client-id-42");
	ck_assert_uint_eq(aster_test_header_count(&r, "X-Request-Id"), 1);
	aster_test_response_free(&r);

	memset(long_id, 'x', 129);
	long_id[129] = '\0';
	snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", long_id);
	get("/p/strip/id", bad, 200, &r);
	o = integ_json(&r);
	rid = aster_test_header(&r, "X-Request-Id");
	ck_assert_msg(integ_valid_request_id(rid) && strcmp(rid, long_id) != 0,
	              "a 129-character id was kept: '%s'", rid);
	assert_one(o, "X-Request-Id", rid);
	json_object_put(o);
	aster_test_response_free(&r);
}
END_TEST

/* 00-<32 hex>-<16 hex>-<2 hex>, neither id all zeros. */
static void
assert_traceparent(const char *tp)
{
	size_t i;

	ck_assert_msg(tp != NULL && strlen(tp) == 55, "traceparent '%s' is "
	              "not 55 characters", tp);
	for (i = 0; i < 55; i++) {
		if (i == 2 || i == 35 || i == 52)
			ck_assert_msg(tp[i] == '-', "traceparent '%s'", tp);
		else
			ck_assert_msg(isxdigit((unsigned char)tp[i]) &&
			              !isupper((unsigned char)tp[i]),
			              "traceparent '%s' is not lower hex", tp);
	}
	ck_assert_msg(strncmp(tp, "00-", 3) == 0, "version of '%s'", tp);
	ck_assert_msg(strncmp(tp + 3, "00000000000000000000000000000000", 32)
	              != 0, "zero trace id in '%s'", tp);
	ck_assert_msg(strncmp(tp + 36, "0000000000000000", 16) != 0,
	              "zero parent id in '%s'", tp);
}

START_TEST(test_traceparent_kept)
{
	static const char in[] =
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	const char *h[] = {
		"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-"
		"00f067aa0ba902b7-01",
		"tracestate: rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
		NULL,
	};
	char first[64];
	json_object *o;
	const char *tp;
	int n;

	start();
	o = echo("/p/strip/t", h);
	tp = echo_header(o, "traceparent", &n);
	ck_assert_int_eq(n, 1);
	assert_traceparent(tp);
	ck_assert_msg(strncmp(tp, in, 36) == 0, "trace id not kept: '%s' for "
	              "'%s'", tp, in);
	ck_assert_msg(strncmp(tp + 36, in + 36, 16) != 0, "the parent id was "
	              "not replaced: '%s'", tp);
	ck_assert_msg(strcmp(tp + 52, "-01") == 0, "flags changed: '%s'", tp);
	snprintf(first, sizeof(first), "%s", tp);
	assert_one(o, "tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
	json_object_put(o);

	/* Same incoming header again: another parent id. */
	o = echo("/p/strip/t", h);
	tp = echo_header(o, "traceparent", NULL);
	ck_assert_msg(strncmp(tp, in, 36) == 0 && strcmp(tp, first) != 0,
	              "second request: '%s', first '%s'", tp, first);
	json_object_put(o);
}
END_TEST

START_TEST(test_traceparent_new)
{
	const char *bad[] = {"traceparent: 00-xyz-nothex-01", NULL};
	json_object *o;
	const char *tp;
	char first[64];

	start();
	o = echo("/p/strip/t", NULL);
	tp = echo_header(o, "traceparent", NULL);
	assert_traceparent(tp);
	snprintf(first, sizeof(first), "%s", tp);
	assert_none(o, "tracestate");
	json_object_put(o);

	o = echo("/p/strip/t", NULL);
	tp = echo_header(o, "traceparent", NULL);
	assert_traceparent(tp);
	ck_assert_msg(strncmp(tp, first, 36) != 0, "two requests without "
	              "traceparent share the trace id: %s, %s", first, tp);
	json_object_put(o);

	o = echo("/p/strip/t", bad);
	tp = echo_header(o, "traceparent", NULL);
	assert_traceparent(tp);
	json_object_put(o);
}
END_TEST

/* The debug log's line for attempt n of request id, or NULL. */
static char *
attempt_line(const char *id, int n)
{
	char want[256];
	const char *log = aster_test_stderr(E.t), *p, *eol;

	snprintf(want, sizeof(want), "request %s: upstream ", id);
	for (p = log; (p = strstr(p, want)) != NULL; p++) {
		char at[32];

		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		snprintf(at, sizeof(at), " attempt %d", n);
		{
			char *line = strndup(p, (size_t)(eol - p));
			char *a = strstr(line, at);

			if (a != NULL && (a[strlen(at)] == ':' ||
			                  a[strlen(at)] == ' '))
				return line;
			free(line);
		}
	}
	return NULL;
}

/* A connect error on the first target: the second answers, and the log
 * shows both attempts. */
START_TEST(test_retry_connect_error)
{
	const char *h[] = {
		"X-Request-Id: retry-c-1",
		"traceparent: 00-0af7651916cd43dd8448eb211c80319c-"
		"b7ad6b7169203331-01",
		NULL,
	};
	int i;
	char ids[2][32];
	char *l1 = NULL, *l2 = NULL;

	start();
	/* Round-robin: of two requests, one tries the closed port first. */
	for (i = 0; i < 2; i++) {
		json_object *o;
		char hid[128];
		const char *hh[] = {hid, h[1], NULL};

		snprintf(ids[i], sizeof(ids[i]), "retry-c-%d", i);
		snprintf(hid, sizeof(hid), "X-Request-Id: %s", ids[i]);
		o = echo("/r/connect/x", hh);
		ck_assert_str_eq(str_of(o, "name"), "b");
		ck_assert_msg(strncmp(echo_header(o, "traceparent", NULL),
		              "00-0af7651916cd43dd8448eb211c80319c-", 36) == 0,
		              "trace id not kept on the retry");
		json_object_put(o);
	}
	/* The log is written as asterd goes: wait for the last answer's
	 * attempt. */
	aster_test_wait_stderr(E.t, "request retry-c-1: upstream",
	                       aster_test_timeout(3000));
	for (i = 0; i < 2 && l2 == NULL; i++) {
		free(l1);
		l1 = attempt_line(ids[i], 1);
		l2 = attempt_line(ids[i], 2);
	}
	if (l1 == NULL || l2 == NULL)
		fprintf(stderr, "%s", aster_test_stderr(E.t));
	ck_assert_msg(l1 != NULL && l2 != NULL, "no request with two logged "
	              "attempts (asterd's log on stderr)");
	ck_assert_msg(strstr(l1, E.dead) != NULL &&
	              strstr(l1, "connect_error") != NULL, "attempt 1: '%s'",
	              l1);
	ck_assert_msg(strstr(l2, E.b.port) != NULL && strstr(l2, ": ok in ")
	              != NULL, "attempt 2: '%s'", l2);
	free(l1);
	free(l2);
}
END_TEST

/* A reset on A after the request reached it (GET: retried on B): each
 * attempt carried its own parent id, the trace id of the client. */
START_TEST(test_retry_parent_ids)
{
	static const char trace[] = "00-0af7651916cd43dd8448eb211c80319c-";
	const char *h[] = {
		"traceparent: 00-0af7651916cd43dd8448eb211c80319c-"
		"b7ad6b7169203331-01",
		NULL,
	};
	long long before;
	int i, done = 0;

	start();
	for (i = 0; i < 2 && !done; i++) {
		json_object *o, *st;
		char b_tp[64];
		const char *a_tp;

		before = stat_num(&E.a, "requests");
		o = echo("/r/reset/x?reset_if=a", h);
		ck_assert_str_eq(str_of(o, "name"), "b");
		snprintf(b_tp, sizeof(b_tp), "%s",
		         echo_header(o, "traceparent", NULL));
		json_object_put(o);
		/* +1 for the request, +1 for this /stats. */
		if (stat_num(&E.a, "requests") != before + 2)
			continue;       /* B was first: no retry this time */
		st = up_stats(&E.a);
		a_tp = integ_json_str(st, "last_traceparent");
		assert_traceparent(a_tp);
		assert_traceparent(b_tp);
		ck_assert_msg(strncmp(a_tp, trace, 36) == 0 &&
		              strncmp(b_tp, trace, 36) == 0,
		              "trace id not kept: %s, %s", a_tp, b_tp);
		ck_assert_msg(strcmp(a_tp + 36, b_tp + 36) != 0,
		              "both attempts had the parent id %s", a_tp + 36);
		ck_assert_msg(strncmp(a_tp + 36, "b7ad6b7169203331", 16) != 0,
		              "attempt 1 kept the incoming parent id");
		json_object_put(st);
		done = 1;
	}
	ck_assert_msg(done, "two requests and A never saw one");
}
END_TEST

/* POST: a connect error is retried (nothing was sent), the body whole
 * on the next target, buffered or streamed; a reset after the request
 * went out is not (POST is not idempotent): 502. */
START_TEST(test_retry_post)
{
	size_t sizes[] = {1000, 900 * 1024}, i;
	int k, done = 0;
	struct aster_test_response r;

	start();
	for (i = 0; i < 2; i++) {
		unsigned char *b = random_body(sizes[i]);

		/* Round-robin: one of two starts on the closed port. */
		for (k = 0; k < 2; k++) {
			json_object *o = post("/r/connect/x", NULL, b,
			                      sizes[i]);

			ck_assert_str_eq(str_of(o, "name"), "b");
			assert_body_echo(o, b, sizes[i]);
			json_object_put(o);
		}
		free(b);
	}
	for (k = 0; k < 2 && !done; k++) {
		long long a0 = stat_num(&E.a, "requests");
		long long b0 = stat_num(&E.b, "requests");

		integ_request(E.t, "public", "POST", "/r/reset/x?reset_if=a",
		              NULL, "{}", &r);
		/* +2: the POST and this /stats. */
		if (stat_num(&E.a, "requests") == a0 + 2) {
			integ_assert_problem(&r, 502, "bad-gateway");
			/* +1: this /stats only. */
			ck_assert_msg(stat_num(&E.b, "requests") == b0 + 1,
			              "a POST reset on A was sent again to B");
			done = 1;
		} else {
			ck_assert_int_eq(r.status, 200);
		}
		aster_test_response_free(&r);
	}
	ck_assert_msg(done, "two requests and A never saw one");
}
END_TEST

/* --- identity ----------------------------------------------------------- */

static const char *const aster_headers[] = {
	"X-Aster-Credential-Kind", "X-Aster-Credential-Id", "X-Aster-Role",
	"X-Aster-Spaces", "X-Aster-Space", NULL,
};

START_TEST(test_identity_public)
{
	const char *h[] = {
		"X-Aster-Credential-Kind: api-key",
		"X-Aster-Credential-Id: forged",
		"X-Aster-Role: admin",
		"x-aster-spaces: *",
		"X-Aster-Space: s1",
		"X-Aster-Other: x",
		"Authorization: Basic Zm9vOmJhcg==",
		NULL,
	};
	json_object *o;
	size_t i;

	start();
	o = echo("/p/strip/who", h);
	for (i = 0; aster_headers[i] != NULL; i++)
		assert_none(o, aster_headers[i]);
	assert_none(o, "X-Aster-Other");
	assert_none(o, "Authorization");
	json_object_put(o);
}
END_TEST

START_TEST(test_identity_api_key)
{
	struct integ_key user, admin;
	char hu[TOKEN_MAX + 32], ha[TOKEN_MAX + 32];
	const char *as_user[] = {hu, "X-Aster-Role: admin",
	                         "X-Aster-Spaces: s9", NULL};
	const char *as_admin[] = {ha, NULL};
	struct aster_test_response r;
	json_object *o;

	start();
	make_key("user", "u", NULL, &user);
	make_key("admin", "ops", NULL, &admin);
	snprintf(hu, sizeof(hu), "Authorization: Bearer %s", user.token);
	snprintf(ha, sizeof(ha), "Authorization: Bearer %s", admin.token);

	get("/u/x", NULL, 401, &r);
	aster_test_response_free(&r);

	o = echo("/u/x", as_user);
	assert_one(o, "X-Aster-Credential-Kind", "api-key");
	assert_one(o, "X-Aster-Credential-Id", user.id);
	assert_one(o, "X-Aster-Role", "user");
	assert_one(o, "X-Aster-Spaces", "*");
	assert_none(o, "X-Aster-Space");
	assert_none(o, "Authorization");
	json_object_put(o);

	o = echo("/u/x", as_admin);
	assert_one(o, "X-Aster-Credential-Id", admin.id);
	assert_one(o, "X-Aster-Role", "admin");
	json_object_put(o);
}
END_TEST

START_TEST(test_identity_spaces)
{
	struct integ_key lim, free_key;
	char hl[TOKEN_MAX + 32], hf[TOKEN_MAX + 32];
	const char *as_lim[] = {hl, "X-Aster-Space: forged", NULL};
	const char *as_free[] = {hf, NULL};
	struct aster_test_response r;
	json_object *o;

	start();
	make_key("user", "lim", "s1,s2", &lim);
	make_key("user", "free", NULL, &free_key);
	snprintf(hl, sizeof(hl), "Authorization: Bearer %s", lim.token);
	snprintf(hf, sizeof(hf), "Authorization: Bearer %s", free_key.token);

	o = echo("/s/s1/things", as_lim);
	assert_target(o, "/s/s1/things");
	assert_one(o, "X-Aster-Credential-Id", lim.id);
	assert_one(o, "X-Aster-Spaces", "s1,s2");
	assert_one(o, "X-Aster-Space", "s1");
	json_object_put(o);

	o = echo("/u/x", as_lim);
	assert_one(o, "X-Aster-Spaces", "s1,s2");
	assert_none(o, "X-Aster-Space");
	json_object_put(o);

	o = echo("/s/any/x", as_free);
	assert_one(o, "X-Aster-Spaces", "*");
	assert_one(o, "X-Aster-Space", "any");
	json_object_put(o);

	/* Outside the limit: 404, and nothing forwarded. */
	{
		long long before = stat_num(&E.a, "requests");

		get("/s/s3/x", as_lim, 404, &r);
		aster_test_response_free(&r);
		ck_assert_int_eq(stat_num(&E.a, "requests"), before + 1);
	}
}
END_TEST

START_TEST(test_pass_authorization)
{
	struct integ_key user;
	char hu[TOKEN_MAX + 32], want[TOKEN_MAX + 32];
	const char *as_user[] = {hu, NULL};
	json_object *o;

	start();
	make_key("user", "u", NULL, &user);
	snprintf(hu, sizeof(hu), "Authorization: Bearer %s", user.token);
	snprintf(want, sizeof(want), "Bearer %s", user.token);
	o = echo("/pa/x", as_user);
	assert_one(o, "Authorization", want);
	assert_one(o, "X-Aster-Credential-Id", user.id);
	json_object_put(o);
	o = echo("/u/x", as_user);
	assert_none(o, "Authorization");
	json_object_put(o);
}
END_TEST

/* --- Host ----------------------------------------------------------------- */

START_TEST(test_host)
{
	const char *h[] = {"Host: client.example:8443", NULL};
	char want[64];
	json_object *o;

	start();
	snprintf(want, sizeof(want), "127.0.0.1:%s", E.a.port);
	o = echo("/p/strip/h", h);
	assert_one(o, "Host", want);
	json_object_put(o);
	o = echo("/p/preserve/h", h);
	assert_one(o, "Host", "client.example:8443");
	json_object_put(o);
}
END_TEST

/* --- bodies --------------------------------------------------------------- */

START_TEST(test_body_small)
{
	unsigned char *b = random_body(1024);
	const char *h[] = {"Content-Type: application/octet-stream", NULL};
	json_object *o;

	start();
	o = post("/p/strip/up", h, b, 1024);
	assert_body_echo(o, b, 1024);
	assert_one(o, "Content-Length", "1024");
	assert_none(o, "Transfer-Encoding");
	ck_assert_str_eq(str_of(o, "method"), "POST");
	json_object_put(o);
	free(b);
}
END_TEST

START_TEST(test_body_streamed_length)
{
	size_t len = 900 * 1024;
	unsigned char *b = random_body(len);
	json_object *o;

	start();
	o = post("/p/strip/up", NULL, b, len);
	assert_body_echo(o, b, len);
	assert_one(o, "Content-Length", "921600");
	assert_none(o, "Transfer-Encoding");
	json_object_put(o);
	free(b);
}
END_TEST

START_TEST(test_body_chunked_upload)
{
	size_t len = 300 * 1024, off = 0, piece = 7777;
	unsigned char *b = random_body(len);
	struct aster_test_conn *c;
	struct aster_test_response r;
	char line[64];
	static const char head[] =
	    "POST /p/strip/up HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
	json_object *o;

	start();
	c = aster_test_connect(E.t, "public");
	ck_assert(c != NULL);
	ck_assert_int_eq(aster_test_conn_send(c, head, strlen(head)), 0);
	while (off < len) {
		size_t n = len - off < piece ? len - off : piece;

		snprintf(line, sizeof(line), "%zx\r\n", n);
		ck_assert_int_eq(aster_test_conn_send(c, line, strlen(line)),
		                 0);
		ck_assert_int_eq(aster_test_conn_send(c, b + off, n), 0);
		ck_assert_int_eq(aster_test_conn_send(c, "\r\n", 2), 0);
		off += n;
	}
	ck_assert_int_eq(aster_test_conn_send(c, "0\r\n\r\n", 5), 0);
	ck_assert_int_eq(aster_test_conn_read_response(c, 0, &r), 0);
	ck_assert_msg(r.status == 200, "chunked upload: %d %s", r.status,
	              r.body);
	o = integ_json(&r);
	assert_body_echo(o, b, len);
	assert_one(o, "Transfer-Encoding", "chunked");
	assert_none(o, "Content-Length");
	json_object_put(o);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
	free(b);
}
END_TEST

/* Reads the head of a response on c into head (NUL-ended), leaving any
 * body bytes read with it in *extra (count in *nextra). */
static void
read_head(struct aster_test_conn *c, char *head, size_t cap, char *extra,
          size_t *nextra)
{
	size_t len = 0;
	char *end;

	for (;;) {
		long n = aster_test_conn_read(c, head + len, cap - 1 - len, -1);

		ck_assert_msg(n > 0, "no response head (%zu bytes so far)",
		              len);
		len += (size_t)n;
		head[len] = '\0';
		if ((end = strstr(head, "\r\n\r\n")) != NULL)
			break;
		ck_assert_msg(len < cap - 1, "response head too long");
	}
	*nextra = len - (size_t)(end + 4 - head);
	memcpy(extra, end + 4, *nextra);
	end[4] = '\0';
}

/* Checks n bytes at offset off of a generated body. */
static void
check_pattern(const unsigned char *p, size_t n, uint64_t off)
{
	while (n > 0) {
		size_t k = n < 65536 ? n : 65536;

		ck_assert_msg(memcmp(p, pattern + off % 251, k) == 0,
		              "body bytes wrong near offset %llu",
		              (unsigned long long)off);
		p += k;
		n -= k;
		off += k;
	}
}

START_TEST(test_download_1gib)
{
	uint64_t total = big_size(), got = 0;
	size_t bufsize = 256 * 1024, nextra;
	unsigned char *buf = malloc(bufsize);
	char head[8192], req[256], want[64];
	unsigned long long rss0, rss, peak = 0;
	struct aster_test_conn *c;
	unsigned samples = 0;

	ck_assert(buf != NULL);
	pattern_init();
	start();
	/* Warm-up: buffers and pools asterd keeps anyway. */
	{
		struct aster_test_response r;

		get("/p/strip/warm?bytes=8388608", NULL, 200, &r);
		ck_assert_uint_eq(r.body_len, 8388608);
		aster_test_response_free(&r);
	}
	rss0 = asterd_rss();
	c = aster_test_connect(E.t, "public");
	ck_assert(c != NULL);
	snprintf(req, sizeof(req), "GET /p/strip/big?bytes=%llu HTTP/1.1\r\n"
	         "Host: x\r\nConnection: close\r\n\r\n",
	         (unsigned long long)total);
	ck_assert_int_eq(aster_test_conn_send(c, req, strlen(req)), 0);
	read_head(c, head, sizeof(head), (char *)buf, &nextra);
	ck_assert_msg(strncmp(head, "HTTP/1.1 200", 12) == 0, "head: %s", head);
	snprintf(want, sizeof(want), "Content-Length: %llu\r\n",
	         (unsigned long long)total);
	ck_assert_msg(strcasestr(head, want) != NULL, "no '%s' in:\n%s", want,
	              head);
	check_pattern(buf, nextra, 0);
	got = nextra;
	while (got < total) {
		long n = aster_test_conn_read(c, buf, bufsize, -1);

		ck_assert_msg(n > 0, "download ended at %llu of %llu bytes",
		              (unsigned long long)got,
		              (unsigned long long)total);
		check_pattern(buf, (size_t)n, got);
		if ((got >> 24) != ((got + (uint64_t)n) >> 24)) {
			rss = asterd_rss();
			peak = rss > peak ? rss : peak;
			samples++;
		}
		got += (uint64_t)n;
	}
	ck_assert_msg(aster_test_conn_closed(c, -1) == 1, "bytes after the "
	              "body's end, or no close");
	aster_test_conn_close(c);
	ck_assert_uint_eq(got, total);
	ck_assert_msg(peak <= rss0 + rss_bound(), "asterd's RSS grew from %llu "
	              "to %llu KiB over a %llu MiB download (%u samples)",
	              rss0 / 1024, peak / 1024,
	              (unsigned long long)(total / MIB), samples);
	free(buf);
}
END_TEST

START_TEST(test_upload_1gib)
{
	uint64_t total = big_size(), sent = 0;
	size_t piece = 65536;
	char req[256], sha[65];
	unsigned char d[32];
	unsigned long long rss0, rss, peak = 0;
	struct aster_test_conn *c;
	struct aster_test_response r;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	json_object *o, *v;
	unsigned int dl;
	int i;

	ck_assert(md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL));
	pattern_init();
	start();
	{
		unsigned char *b = random_body(4 * MIB);

		json_object_put(post("/p/strip/warm", NULL, b, 4 * MIB));
		free(b);
	}
	rss0 = asterd_rss();
	c = aster_test_connect(E.t, "public");
	ck_assert(c != NULL);
	snprintf(req, sizeof(req), "POST /p/strip/up HTTP/1.1\r\nHost: x\r\n"
	         "Content-Length: %llu\r\nConnection: close\r\n\r\n",
	         (unsigned long long)total);
	ck_assert_int_eq(aster_test_conn_send(c, req, strlen(req)), 0);
	while (sent < total) {
		const unsigned char *p = pattern + sent % 251;

		ck_assert_msg(aster_test_conn_send(c, p, piece) == 0,
		              "upload stalled at %llu bytes",
		              (unsigned long long)sent);
		EVP_DigestUpdate(md, p, piece);
		if ((sent >> 24) != ((sent + piece) >> 24)) {
			rss = asterd_rss();
			peak = rss > peak ? rss : peak;
		}
		sent += piece;
	}
	ck_assert_int_eq(aster_test_conn_read_response(c, 0, &r), 0);
	ck_assert_msg(r.status == 200, "upload: %d %s", r.status, r.body);
	EVP_DigestFinal_ex(md, d, &dl);
	EVP_MD_CTX_free(md);
	for (i = 0; i < 32; i++)
		sprintf(sha + 2 * i, "%02x", d[i]);
	o = integ_json(&r);
	ck_assert(json_object_object_get_ex(o, "body_length", &v));
	ck_assert_uint_eq((uint64_t)json_object_get_int64(v), total);
	ck_assert_str_eq(str_of(o, "body_sha256"), sha);
	json_object_put(o);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
	ck_assert_msg(peak <= rss0 + rss_bound(), "asterd's RSS grew from %llu "
	              "to %llu KiB over a %llu MiB upload", rss0 / 1024,
	              peak / 1024, (unsigned long long)(total / MIB));
}
END_TEST

/* The largest buffer the kernel may give a socket for dir ("rmem" or
 * "wmem"): the third field of /proc/sys/net/ipv4/tcp_DIR. */
static unsigned long long
tcp_buffer_max(const char *dir)
{
	char path[64], *text;
	unsigned long long min, def, max = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/tcp_%s", dir);
	text = integ_read_file(path);
	ck_assert_msg(sscanf(text, "%llu %llu %llu", &min, &def, &max) == 3,
	              "cannot read %s", path);
	free(text);
	return max;
}

/*
 * A client that reads nothing stops the upstream's production. What the
 * upstream produced may sit in kernel queues on the way: the upstream's
 * send buffer, asterd's receive buffer from it (which the kernel grows
 * while asterd reads fast, up to tcp_rmem's maximum) and asterd's send
 * buffer to the client; beyond those, a few MiB at most, and asterd's
 * memory does not grow.
 */
START_TEST(test_backpressure)
{
	struct aster_test_conn *c;
	static const char req[] =
	    "GET /p/strip/big?bytes=1073741824 HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n";
	int small = 65536;
	long long produced, later;
	unsigned long long rss0, bound = tcp_buffer_max("rmem") +
	    2 * tcp_buffer_max("wmem") + USER_BOUND;
	char buf[65536];
	long n;
	int i;

	start();
	rss0 = asterd_rss();
	c = aster_test_connect(E.t, "public");
	ck_assert(c != NULL);
	setsockopt(aster_test_conn_fd(c), SOL_SOCKET, SO_RCVBUF, &small,
	           sizeof(small));
	ck_assert_int_eq(aster_test_conn_send(c, req, strlen(req)), 0);
	integ_sleep_ms(1000);
	produced = stat_num(&E.a, "body_bytes_sent");
	ck_assert_msg(produced > 0, "the upstream produced nothing");
	ck_assert_msg((unsigned long long)produced < bound, "a client that "
	              "read nothing for 1 s had the upstream produce %lld "
	              "bytes (bound %llu)", produced, bound);
	ck_assert_msg(asterd_rss() <= rss0 + rss_bound(), "asterd's RSS grew "
	              "from %llu to %llu KiB while the client read nothing",
	              rss0 / 1024, asterd_rss() / 1024);
	integ_sleep_ms(300);
	later = stat_num(&E.a, "body_bytes_sent");
	ck_assert_msg(later - produced < 1024 * 1024, "the upstream went on "
	              "producing (%lld, then %lld bytes)", produced, later);
	/* Reading resumes the flow. */
	for (i = 0; i < 200; i++) {
		n = aster_test_conn_read(c, buf, sizeof(buf), -1);
		ck_assert(n > 0);
	}
	integ_sleep_ms(100);
	ck_assert_msg(stat_num(&E.a, "body_bytes_sent") > later, "reading "
	              "did not resume the upstream");
	aster_test_conn_close(c);
}
END_TEST

/* A client that leaves mid-body: the upstream connection is closed (it
 * cannot carry another request), asterd serves on. */
START_TEST(test_client_leaves_mid_body)
{
	static const char req[] =
	    "GET /p/strip/big?bytes=1073741824 HTTP/1.1\r\nHost: x\r\n\r\n";
	struct aster_test_conn *c;
	char buf[65536];
	long long open0;
	size_t got = 0;
	int waited;
	json_object *o;

	start();
	open0 = stat_num(&E.a, "open_connections");
	c = aster_test_connect(E.t, "public");
	ck_assert(c != NULL);
	ck_assert_int_eq(aster_test_conn_send(c, req, strlen(req)), 0);
	while (got < 4 * MIB) {
		long n = aster_test_conn_read(c, buf, sizeof(buf), -1);

		ck_assert(n > 0);
		got += (size_t)n;
	}
	aster_test_conn_close(c);
	for (waited = 0; stat_num(&E.a, "open_connections") > open0 &&
	     waited < aster_test_timeout(3000); waited += 20)
		integ_sleep_ms(20);
	ck_assert_msg(stat_num(&E.a, "open_connections") <= open0, "the "
	              "upstream connection outlived the client");
	ck_assert_msg((unsigned long long)stat_num(&E.a, "body_bytes_sent") <
	              512 * MIB, "the "
	              "upstream went on producing for a client that left");
	o = echo("/p/strip/after", NULL);
	json_object_put(o);
}
END_TEST

START_TEST(test_chunked_response_trailer)
{
	static const char req[] =
	    "GET /p/strip/c?bytes=300000&chunked=1 HTTP/1.1\r\nHost: x\r\n"
	    "TE: trailers\r\nConnection: close\r\n\r\n";
	struct raw a;
	char *end, *body, *trailers, sha[65], want[128];
	size_t blen;

	pattern_init();
	start();
	raw_exchange(req, strlen(req), &a);
	end = strstr(a.data, "\r\n\r\n");
	ck_assert_msg(end != NULL && strncmp(a.data, "HTTP/1.1 200", 12) == 0,
	              "answer: %.300s", a.data);
	*end = '\0';
	ck_assert_msg(strcasestr(a.data, "Transfer-Encoding: chunked") != NULL,
	              "not chunked:\n%s", a.data);
	dechunk(end + 4, a.data + a.len, &body, &blen, &trailers);
	ck_assert_uint_eq(blen, 300000);
	check_pattern((unsigned char *)body, blen, 0);
	sha256_hex(body, blen, sha);
	snprintf(want, sizeof(want), "X-Sum: %s\r\n", sha);
	ck_assert_msg(strcasestr(trailers, want) != NULL, "trailer '%s' not in "
	              "'%s'", want, trailers);
	free(body);
	free(trailers);
	free(a.data);

	/* An HTTP/1.0 client cannot take chunks: the close ends the body. */
	{
		static const char req10[] =
		    "GET /p/strip/c?bytes=300000&chunked=1 HTTP/1.0\r\n\r\n";

		raw_exchange(req10, strlen(req10), &a);
		end = strstr(a.data, "\r\n\r\n");
		ck_assert(end != NULL);
		*end = '\0';
		ck_assert_msg(strcasestr(a.data, "Transfer-Encoding") == NULL &&
		              strcasestr(a.data, "Content-Length") == NULL,
		              "HTTP/1.0 answer framed:\n%s", a.data);
		ck_assert_uint_eq(a.len - (size_t)(end + 4 - a.data), 300000);
		check_pattern((unsigned char *)end + 4, 300000, 0);
		free(a.data);
	}
}
END_TEST

START_TEST(test_interim_103)
{
	static const char req[] =
	    "GET /p/strip/i?interim=103 HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n";
	struct raw a;
	char *final;

	start();
	raw_exchange(req, strlen(req), &a);
	ck_assert_msg(strncmp(a.data, "HTTP/1.1 103", 12) == 0, "first: "
	              "%.300s", a.data);
	final = strstr(a.data, "\r\n\r\nHTTP/1.1 200");
	ck_assert_msg(final != NULL, "no 200 after the 103:\n%s", a.data);
	*final = '\0';
	ck_assert_msg(strcasestr(a.data, "Link: </style.css>; rel=preload") !=
	              NULL, "the 103's Link did not pass:\n%s", a.data);
	free(a.data);
}
END_TEST

START_TEST(test_head)
{
	struct aster_test_response r;
	struct aster_test_conn *c;

	start();
	c = aster_test_connect(E.t, "public");
	ck_assert(c != NULL);
	ck_assert_int_eq(aster_test_conn_request(c, "HEAD",
	                 "/p/strip/h?bytes=5000", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(aster_test_header(&r, "Content-Length"), "5000");
	ck_assert_uint_eq(r.body_len, 0);
	aster_test_response_free(&r);
	/* A GET that would be chunked: no length is announced (0 would be
	 * a lie, RFC 9110 8.6), and still no body. */
	ck_assert_int_eq(aster_test_conn_request(c, "HEAD",
	                 "/p/strip/h?bytes=5000&chunked=1", NULL, NULL, 0, &r),
	                 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(aster_test_header(&r, "Content-Length") == NULL,
	              "HEAD of a chunked answer: Content-Length %s",
	              aster_test_header(&r, "Content-Length"));
	ck_assert_uint_eq(r.body_len, 0);
	aster_test_response_free(&r);
	/* The connection carries on: no body bytes were left behind. */
	ck_assert_int_eq(aster_test_conn_request(c, "GET", "/p/strip/next",
	                 NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strstr(r.body, "\"/next\"") != NULL, "%s", r.body);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
}
END_TEST

/* 204 and 304: no body, the connection goes on. */
START_TEST(test_no_body_statuses)
{
	static const char req[] =
	    "GET /p/strip/n?status=204 HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /p/strip/n?status=304 HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /p/strip/n?bytes=3 HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n";
	struct raw a;
	char *p, *q;

	start();
	raw_exchange(req, strlen(req), &a);
	ck_assert_msg(strncmp(a.data, "HTTP/1.1 204", 12) == 0, "%s", a.data);
	p = strstr(a.data, "\r\n\r\n");
	ck_assert(p != NULL);
	ck_assert_msg(strncmp(p + 4, "HTTP/1.1 304", 12) == 0, "after the 204 "
	              "head: %.200s", p + 4);
	*p = '\0';
	ck_assert_msg(strcasestr(a.data, "Transfer-Encoding") == NULL,
	              "204 with Transfer-Encoding:\n%s", a.data);
	q = strstr(p + 4, "\r\n\r\n");
	ck_assert(q != NULL);
	ck_assert_msg(strncmp(q + 4, "HTTP/1.1 200", 12) == 0, "after the 304 "
	              "head: %.200s", q + 4);
	*q = '\0';
	ck_assert_msg(strcasestr(p + 4, "Transfer-Encoding") == NULL,
	              "304 with Transfer-Encoding:\n%s", p + 4);
	free(a.data);
}
END_TEST

/* --- request validation --------------------------------------------------- */

START_TEST(test_validation_first)
{
	struct aster_test_response r;
	const char *json[] = {"Content-Type: application/json", NULL};
	const char *text[] = {"Content-Type: text/plain", NULL};
	long long before;
	json_object *o;

	start();
	before = stat_num(&E.a, "requests");
	integ_request(E.t, "public", "POST", "/v", text, "{\"name\":\"x\"}",
	              &r);
	integ_assert_problem(&r, 415, "unsupported-media-type");
	aster_test_response_free(&r);
	integ_request(E.t, "public", "POST", "/v", json, "{\"name\":", &r);
	integ_assert_problem(&r, 400, "invalid-json");
	aster_test_response_free(&r);
	integ_request(E.t, "public", "POST", "/v", json, "{\"name\":1}", &r);
	integ_assert_problem(&r, 422, "validation-failed");
	aster_test_response_free(&r);
	integ_request(E.t, "public", "POST", "/v", json, "{}", &r);
	integ_assert_problem(&r, 422, "validation-failed");
	aster_test_response_free(&r);
	/* Only the /stats request itself was counted. */
	ck_assert_int_eq(stat_num(&E.a, "requests"), before + 1);

	o = post("/v", json, "{\"name\":\"x\"}", 12);
	assert_body_echo(o, "{\"name\":\"x\"}", 12);
	json_object_put(o);
	ck_assert_int_eq(stat_num(&E.a, "requests"), before + 3);
}
END_TEST

/* --- WebSocket ------------------------------------------------------------ */

START_TEST(test_websocket)
{
	static const char req[] =
	    "GET /p/strip/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
	    "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
	struct aster_test_conn *c;
	char head[4096], extra[4096], got[256];
	size_t nextra, have;
	long long open0;
	int i, waited;

	start();
	open0 = stat_num(&E.a, "open_connections");
	c = aster_test_connect(E.t, "public");
	ck_assert(c != NULL);
	ck_assert_int_eq(aster_test_conn_send(c, req, strlen(req)), 0);
	read_head(c, head, sizeof(head), extra, &nextra);
	ck_assert_msg(strncmp(head, "HTTP/1.1 101", 12) == 0, "head:\n%s",
	              head);
	ck_assert_msg(strcasestr(head, "Upgrade: websocket") != NULL &&
	              strcasestr(head, "Connection: upgrade") != NULL &&
	              strcasestr(head, "Sec-WebSocket-Accept: "
	                         "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != NULL,
	              "101 head:\n%s", head);
	ck_assert_uint_eq(nextra, 0);
	ck_assert_int_eq(stat_num(&E.a, "open_connections"), open0 + 1);
	for (i = 0; i < 3; i++) {
		char msg[64];

		snprintf(msg, sizeof(msg), "message %d through the tunnel", i);
		ck_assert_int_eq(aster_test_conn_send(c, msg, strlen(msg)), 0);
		have = 0;
		while (have < strlen(msg)) {
			long n = aster_test_conn_read(c, got + have,
			                              sizeof(got) - have, -1);

			ck_assert_msg(n > 0, "tunnel: no echo of '%s'", msg);
			have += (size_t)n;
		}
		ck_assert_msg(have == strlen(msg) &&
		              memcmp(got, msg, have) == 0,
		              "tunnel echo '%.*s' for '%s'", (int)have, got,
		              msg);
	}
	aster_test_conn_close(c);
	for (waited = 0; stat_num(&E.a, "open_connections") != open0 &&
	     waited < aster_test_timeout(3000); waited += 20)
		integ_sleep_ms(20);
	ck_assert_msg(stat_num(&E.a, "open_connections") == open0, "the "
	              "upstream side stayed open after the client closed");
}
END_TEST

/* Bytes sent right behind the Upgrade request reach the upstream after
 * its 101; the upstream going away closes the client's side. */
START_TEST(test_websocket_early_bytes_and_upstream_close)
{
	static const char req[] =
	    "GET /p/strip/ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n"
	    "Upgrade: websocket\r\n\r\nearly bytes";
	struct aster_test_conn *c;
	char head[4096], got[256];
	size_t have;

	start();
	c = aster_test_connect(E.t, "public");
	ck_assert(c != NULL);
	ck_assert_int_eq(aster_test_conn_send(c, req, strlen(req)), 0);
	read_head(c, head, sizeof(head), got, &have);
	ck_assert_msg(strncmp(head, "HTTP/1.1 101", 12) == 0, "head:\n%s",
	              head);
	while (have < 11) {
		long n = aster_test_conn_read(c, got + have, sizeof(got) - have,
		                              -1);

		ck_assert_msg(n > 0, "no echo of the early bytes");
		have += (size_t)n;
	}
	ck_assert_msg(have == 11 && memcmp(got, "early bytes", 11) == 0,
	              "echo '%.*s'", (int)have, got);
	up_stop(&E.a);
	ck_assert_msg(aster_test_conn_closed(c, aster_test_timeout(3000)) == 1,
	              "the client's side stayed open after the upstream "
	              "went away");
	aster_test_conn_close(c);
}
END_TEST

/* --- unix upstream -------------------------------------------------------- */

START_TEST(test_unix_upstream)
{
	json_object *o;

	start();
	o = echo("/x/unix/path?q=1", NULL);
	ck_assert_str_eq(str_of(o, "name"), "unix");
	assert_target(o, "/path?q=1");
	assert_one(o, "Via", "1.1 asterd");
	json_object_put(o);
}
END_TEST

/* --- HTTPS upstreams ------------------------------------------------------ */

static const char tls_module[] =
    "kind: module\n"
    "id: pxtls\n"
    "displayName: Proxy TLS test\n"
    "version: 0.1.0\n"
    "upstreams:\n"
    "  good:\n"
    "    targets:\n"
    "      - https://localhost:${UP_TLS}\n"
    "    tls:\n"
    "      ca: ${PX_CA}\n"
    "  self:\n"
    "    targets:\n"
    "      - https://localhost:${UP_SELF}\n"
    "    tls:\n"
    "      ca: ${PX_CA}\n"
    "  noverify:\n"
    "    targets:\n"
    "      - https://localhost:${UP_SELF}\n"
    "    tls:\n"
    "      verify: false\n"
    "  badname:\n"
    "    targets:\n"
    "      - https://localhost:${UP_TLS}\n"
    "    tls:\n"
    "      ca: ${PX_CA}\n"
    "      server_name: other.example\n"
    "routes:\n"
    "  - id: route:pxtls.good\n"
    "    scope: public\n"
    "    methods: [GET]\n"
    "    mountPath: /tls/good\n"
    "    match: prefix\n"
    "    handler:\n"
    "      proxy:\n"
    "        upstream: good\n"
    "        strip_prefix: true\n"
    "  - id: route:pxtls.self\n"
    "    scope: public\n"
    "    methods: [GET]\n"
    "    mountPath: /tls/self\n"
    "    match: prefix\n"
    "    handler:\n"
    "      proxy:\n"
    "        upstream: self\n"
    "        strip_prefix: true\n"
    "  - id: route:pxtls.noverify\n"
    "    scope: public\n"
    "    methods: [GET]\n"
    "    mountPath: /tls/noverify\n"
    "    match: prefix\n"
    "    handler:\n"
    "      proxy:\n"
    "        upstream: noverify\n"
    "        strip_prefix: true\n"
    "  - id: route:pxtls.badname\n"
    "    scope: public\n"
    "    methods: [GET]\n"
    "    mountPath: /tls/badname\n"
    "    match: prefix\n"
    "    handler:\n"
    "      proxy:\n"
    "        upstream: badname\n"
    "        strip_prefix: true\n";

/* --- certificates (the names and roles of mkcerts.sh's) ---------------- */

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ck_assert_msg(e != NULL, "extension %d '%s'", nid, value);
	ck_assert(X509_add_ext(x, e, -1) == 1);
	X509_EXTENSION_free(e);
}

static void
write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert(x != NULL ? PEM_write_X509(f, x) == 1 :
	          PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
}

/*
 * E.certs/NAME.crt and NAME.key: a P-256 certificate for CN=cn, valid a
 * day, signed by ca/ca_key (self-signed when NULL). A CA gets
 * CA:true and keyCertSign; a server gets serverAuth and the names
 * DNS:localhost, IP:127.0.0.1. The caller frees *cert_out and *key_out
 * when it asks for them.
 */
static void
make_cert(const char *name, const char *cn, int is_ca, X509 *ca,
          EVP_PKEY *ca_key, X509 **cert_out, EVP_PKEY **key_out)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *subject;
	char path[PATH_MAX];
	static long serial = 1;

	ck_assert(k != NULL && x != NULL);
	ck_assert(X509_set_version(x, 2) == 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	ck_assert(X509_set_pubkey(x, k) == 1);
	subject = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
	                           (const unsigned char *)cn, -1, -1, 0);
	ck_assert(X509_set_issuer_name(x, ca != NULL ?
	          X509_get_subject_name(ca) : subject) == 1);
	if (is_ca) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:true");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, ca != NULL ? ca : x, NID_basic_constraints,
		        "critical,CA:false");
		add_ext(x, ca != NULL ? ca : x, NID_key_usage,
		        "critical,digitalSignature");
		add_ext(x, ca != NULL ? ca : x, NID_ext_key_usage,
		        "serverAuth");
		add_ext(x, ca != NULL ? ca : x, NID_subject_alt_name,
		        "DNS:localhost,IP:127.0.0.1");
	}
	ck_assert(X509_sign(x, ca_key != NULL ? ca_key : k, EVP_sha256()) > 0);
	snprintf(path, sizeof(path), "%s/%s.crt", E.certs, name);
	write_pem(path, x, NULL);
	snprintf(path, sizeof(path), "%s/%s.key", E.certs, name);
	write_pem(path, NULL, k);
	if (cert_out != NULL)
		*cert_out = x;
	else
		X509_free(x);
	if (key_out != NULL)
		*key_out = k;
	else
		EVP_PKEY_free(k);
}

/* ca.crt, server.crt (DNS:localhost, IP:127.0.0.1, signed by the CA) and
 * self.crt (the same names, self-signed: the untrusted case). */
static void
make_certs(void)
{
	X509 *ca;
	EVP_PKEY *ca_key;

	snprintf(E.certs, sizeof(E.certs), "%s/certs", E.run);
	ck_assert(mkdir(E.certs, 0700) == 0);
	make_cert("ca", "asterd test CA", 1, NULL, NULL, &ca, &ca_key);
	make_cert("server", "localhost", 0, ca, ca_key, NULL, NULL);
	make_cert("self", "localhost", 0, NULL, NULL, NULL, NULL);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
}

/* A third listener, TLS with the server certificate, in the copy's
 * product.yaml (after the plain and the unix one). */
static void
add_tls_listener(const char *cert, const char *key)
{
	char path[PATH_MAX + 32], *text, *at, *out;
	static const char mark[] = "  control:";
	size_t len;

	snprintf(path, sizeof(path), "%s/product.yaml", E.copy);
	text = integ_read_file(path);
	at = strstr(text, mark);
	ck_assert(at != NULL);
	len = strlen(text) + 2 * PATH_MAX + 256;
	out = malloc(len);
	ck_assert(out != NULL);
	snprintf(out, len, "%.*s    - address: 127.0.0.1:0\n"
	         "      scopes: [public]\n"
	         "      tls:\n"
	         "        cert: %s\n"
	         "        key: %s\n%s", (int)(at - text), text, cert, key, at);
	ck_assert_int_eq(aster_test_write_file(E.copy, "product.yaml", out,
	                                       -1), 0);
	free(out);
	free(text);
}

/* GET path over TLS (verified with the test CA) to asterd's third
 * listener; the upstream's echo (put it). */
static json_object *
echo_over_tls(const char *path)
{
	const char *scopes, *address = aster_test_listener(E.t, 2, &scopes);
	char ca[PATH_MAX + 16], req[512], *buf, *body;
	struct aster_test_conn *c;
	size_t len = 0, cap = 65536;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	json_object *o;
	int n;

	ck_assert_msg(address != NULL, "no third listener");
	c = aster_test_connect_address(address, 0);
	ck_assert(c != NULL && ctx != NULL);
	snprintf(ca, sizeof(ca), "%s/ca.crt", E.certs);
	ck_assert(SSL_CTX_load_verify_locations(ctx, ca, NULL) == 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ssl = SSL_new(ctx);
	ck_assert(ssl != NULL);
	SSL_set_fd(ssl, aster_test_conn_fd(c));
	SSL_set_tlsext_host_name(ssl, "localhost");
	SSL_set1_host(ssl, "localhost");
	{
		/* The harness's socket is non-blocking: go blocking here. */
		int fd = aster_test_conn_fd(c);

		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	}
	ck_assert_msg(SSL_connect(ssl) == 1, "TLS handshake with asterd "
	              "failed");
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n"
	         "Connection: close\r\n\r\n", path);
	ck_assert(SSL_write(ssl, req, (int)strlen(req)) == (int)strlen(req));
	buf = malloc(cap);
	ck_assert(buf != NULL);
	while ((n = SSL_read(ssl, buf + len, (int)(cap - len - 1))) > 0) {
		len += (size_t)n;
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert(buf != NULL);
		}
	}
	buf[len] = '\0';
	ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "over TLS: "
	              "%.300s", buf);
	body = strstr(buf, "\r\n\r\n");
	ck_assert(body != NULL);
	o = json_tokener_parse(body + 4);
	ck_assert_msg(o != NULL, "not JSON: %s", body + 4);
	free(buf);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	aster_test_conn_close(c);
	return o;
}

/* The certificates, the two TLS upstreams, and asterd on a copy of the
 * config with the TLS module and a TLS listener. */
static void
start_tls(void)
{
	char cert[PATH_MAX + 16], key[PATH_MAX + 16];
	char scert[PATH_MAX + 16], skey[PATH_MAX + 16];

	env_init();
	make_certs();
	snprintf(cert, sizeof(cert), "%s/server.crt", E.certs);
	snprintf(key, sizeof(key), "%s/server.key", E.certs);
	snprintf(scert, sizeof(scert), "%s/self.crt", E.certs);
	snprintf(skey, sizeof(skey), "%s/self.key", E.certs);
	up_start(&E.tls, "tls", "127.0.0.1:0", cert, key);
	up_start(&E.self, "self", "127.0.0.1:0", scert, skey);
	E.copy = aster_test_copy_dir(E.conf);
	ck_assert(E.copy != NULL);
	ck_assert_int_eq(aster_test_write_file(E.copy, "modules/tls.yaml",
	                                       tls_module, -1), 0);
	add_tls_listener(cert, key);
	start_on(E.copy);
}

START_TEST(test_https_verified)
{
	json_object *o;

	start_tls();
	o = echo("/tls/good/x?y=1", NULL);
	ck_assert_str_eq(str_of(o, "name"), "tls");
	assert_target(o, "/x?y=1");
	json_object_put(o);
}
END_TEST

/* The 502 names the upstream, not the target's address; the debug log
 * gives the verification's reason. */
static void
assert_tls_refusal(const struct aster_test_response *r, const char *name,
                   const char *why)
{
	const char *rid = aster_test_header(r, "X-Request-Id");
	char want[256];

	ck_assert_msg(strstr(r->body, name) != NULL && strstr(r->body,
	              "localhost:") == NULL, "detail: %s", r->body);
	snprintf(want, sizeof(want), "request %s: upstream %s target ", rid,
	         name);
	ck_assert_msg(aster_test_wait_stderr(E.t, want,
	              aster_test_timeout(2000)) == 0, "no attempt logged");
	ck_assert_msg(strstr(strstr(aster_test_stderr(E.t), want), why) !=
	              NULL, "the log does not say '%s'", why);
}

/* A client that came over TLS: X-Forwarded-Proto and Forwarded's
 * proto say https. */
START_TEST(test_forwarded_proto_https)
{
	json_object *o;

	start_tls();
	o = echo_over_tls("/p/strip/f");
	assert_one(o, "X-Forwarded-Proto", "https");
	assert_one(o, "X-Forwarded-For", "127.0.0.1");
	assert_one(o, "Forwarded",
	           "for=127.0.0.1;host=localhost;proto=https");
	json_object_put(o);
	/* And on to an https upstream. */
	o = echo_over_tls("/tls/good/f");
	ck_assert_str_eq(str_of(o, "name"), "tls");
	assert_one(o, "X-Forwarded-Proto", "https");
	json_object_put(o);
}
END_TEST

START_TEST(test_https_untrusted)
{
	struct aster_test_response r;

	start_tls();
	get("/tls/self/x", NULL, 502, &r);
	integ_assert_problem(&r, 502, "bad-gateway");
	assert_tls_refusal(&r, "pxtls.self", "self-signed certificate");
	aster_test_response_free(&r);
}
END_TEST

START_TEST(test_https_no_verify)
{
	json_object *o;

	start_tls();
	o = echo("/tls/noverify/x", NULL);
	ck_assert_str_eq(str_of(o, "name"), "self");
	json_object_put(o);
}
END_TEST

START_TEST(test_https_wrong_name)
{
	struct aster_test_response r;

	start_tls();
	get("/tls/badname/x", NULL, 502, &r);
	integ_assert_problem(&r, 502, "bad-gateway");
	assert_tls_refusal(&r, "pxtls.badname", "hostname mismatch");
	aster_test_response_free(&r);
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *fwd = tcase_create("forwarding");
	TCase *body = tcase_create("bodies");
	TCase *tls = tcase_create("https");

	tcase_set_timeout(fwd, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(fwd, NULL, teardown);
	tcase_add_test(fwd, test_path_prefix_strip);
	tcase_add_test(fwd, test_path_prefix_keep);
	tcase_add_test(fwd, test_path_exact);
	tcase_add_test(fwd, test_path_base);
	tcase_add_test(fwd, test_path_encoded);
	tcase_add_test(fwd, test_path_dot_segments);
	tcase_add_test(fwd, test_hop_by_hop_request);
	tcase_add_test(fwd, test_hop_by_hop_response);
	tcase_add_test(fwd, test_fields_pass);
	tcase_add_test(fwd, test_forwarded_appended);
	tcase_add_test(fwd, test_forwarded_fresh);
	tcase_add_test(fwd, test_forwarded_unix_client);
	tcase_add_test(fwd, test_request_id);
	tcase_add_test(fwd, test_traceparent_kept);
	tcase_add_test(fwd, test_traceparent_new);
	tcase_add_test(fwd, test_retry_connect_error);
	tcase_add_test(fwd, test_retry_parent_ids);
	tcase_add_test(fwd, test_retry_post);
	tcase_add_test(fwd, test_identity_public);
	tcase_add_test(fwd, test_identity_api_key);
	tcase_add_test(fwd, test_identity_spaces);
	tcase_add_test(fwd, test_pass_authorization);
	tcase_add_test(fwd, test_host);
	tcase_add_test(fwd, test_validation_first);
	tcase_add_test(fwd, test_websocket);
	tcase_add_test(fwd, test_websocket_early_bytes_and_upstream_close);
	tcase_add_test(fwd, test_unix_upstream);
	suite_add_tcase(s, fwd);

	tcase_set_timeout(body, INTEG_TCASE_TIMEOUT * 2);
	tcase_add_checked_fixture(body, NULL, teardown);
	tcase_add_test(body, test_body_small);
	tcase_add_test(body, test_body_streamed_length);
	tcase_add_test(body, test_body_chunked_upload);
	tcase_add_test(body, test_download_1gib);
	tcase_add_test(body, test_upload_1gib);
	tcase_add_test(body, test_backpressure);
	tcase_add_test(body, test_client_leaves_mid_body);
	tcase_add_test(body, test_chunked_response_trailer);
	tcase_add_test(body, test_interim_103);
	tcase_add_test(body, test_head);
	tcase_add_test(body, test_no_body_statuses);
	suite_add_tcase(s, body);

	tcase_set_timeout(tls, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(tls, NULL, teardown);
	tcase_add_test(tls, test_https_verified);
	tcase_add_test(tls, test_https_untrusted);
	tcase_add_test(tls, test_https_no_verify);
	tcase_add_test(tls, test_https_wrong_name);
	tcase_add_test(tls, test_forwarded_proto_https);
	suite_add_tcase(s, tls);
	return s;
}

UNIT_MAIN(proxy_suite)
