/*
 * test_tls.c - TLS listeners (SPEC 3.1 server.listen[].tls, 7.6).
 *
 * Each test writes a product into a fresh directory: a plain listener
 * (public) and a TLS one (public, admin) whose certificate and key are
 * made here with OpenSSL's API (self-signed, P-256), a control socket,
 * a 1000 ms request timeout, a static route serving a 4 MiB file. The
 * TLS client is OpenSSL's too, blocking with socket timeouts, and trusts
 * any certificate: what it checks is the certificate's fingerprint.
 */
#include "integ.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define BIG_LEN (4u * 1024 * 1024 + 12345)

struct prod {
	char *dir;                  /* the config dir */
	char control[PATH_MAX];
	struct aster_test *t;
	const char *tls_addr;       /* as printed; lives as long as t */
	SSL_CTX *client;
};

/* --- certificates -------------------------------------------------------- */

static void
write_pem(const char *dir, const char *name, X509 *x, EVP_PKEY *k)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert(x != NULL ? PEM_write_X509(f, x) == 1 :
	          PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
}

/* A self-signed certificate for CN=cn into dir/cert and its key into
 * dir/key. */
static void
make_cert(const char *dir, const char *cert, const char *key, const char *cn)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;

	ck_assert(k != NULL && x != NULL);
	ck_assert(X509_set_version(x, 2) == 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	ck_assert(X509_set_pubkey(x, k) == 1);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                           (const unsigned char *)cn, -1, -1, 0);
	ck_assert(X509_set_issuer_name(x, name) == 1);
	ck_assert(X509_sign(x, k, EVP_sha256()) > 0);
	write_pem(dir, cert, x, NULL);
	write_pem(dir, key, NULL, k);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* The SHA-256 fingerprint of a certificate file, as hex. */
static void
file_fingerprint(const char *dir, const char *name, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0, i;
	char path[PATH_MAX];
	FILE *f;
	X509 *x;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert((f = fopen(path, "r")) != NULL);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert(x != NULL && X509_digest(x, EVP_sha256(), md, &n) == 1);
	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	X509_free(x);
}

/* --- the product --------------------------------------------------------- */

static void
prod_write(struct prod *p)
{
	char product[2 * PATH_MAX];
	unsigned char *big = malloc(BIG_LEN);
	size_t i;

	ck_assert(big != NULL);
	snprintf(p->control, sizeof(p->control), "%s/control.sock", p->dir);
	snprintf(product, sizeof(product),
	         "kind: product\nid: tlstest\nname: TLS test\n"
	         "version: 0.1.0\n"
	         "server:\n"
	         "  listen:\n"
	         "    - address: 127.0.0.1:18301\n"
	         "      scopes: [public]\n"
	         "    - address: 127.0.0.1:18302\n"
	         "      scopes: [public, admin]\n"
	         "      tls: { cert: server.crt, key: server.key }\n"
	         "  control: %s\n"
	         "  limits:\n"
	         "    request_timeout_ms: 1000\n"
	         "    max_body_bytes: 4096\n"
	         "  shutdown_timeout_ms: 2000\n"
	         "log: { format: text, level: info, access: true }\n",
	         p->control);
	ck_assert(aster_test_write_file(p->dir, "product.yaml", product,
	                                -1) == 0);
	ck_assert(aster_test_write_file(p->dir, "modules/core.yaml",
	          "kind: module\nid: core\ndisplayName: Core\n"
	          "version: 0.1.0\n"
	          "services:\n  - id: gateway\n    provider: gateway\n"
	          "routes:\n"
	          "  - id: route:core.health\n    scope: public\n"
	          "    methods: [GET]\n    mountPath: /gateway/v1/health\n"
	          "    handler: { service: gateway, operation: health }\n"
	          "  - id: route:core.hello\n    scope: public\n"
	          "    methods: [GET, POST]\n    mountPath: /t/hello\n"
	          "    handler:\n      respond: { status: 200, body: "
	          "\"hello\\n\", content_type: text/plain }\n"
	          "  - id: route:core.files\n    scope: public\n"
	          "    methods: [GET]\n    mountPath: /t/files\n"
	          "    match: prefix\n"
	          "    handler: { static: { root: ../static } }\n",
	          -1) == 0);
	for (i = 0; i < BIG_LEN; i++)
		big[i] = (unsigned char)((i * 2654435761u) >> 13);
	ck_assert(aster_test_write_file(p->dir, "static/big.bin",
	                                (const char *)big, BIG_LEN) == 0);
	free(big);
	make_cert(p->dir, "server.crt", "server.key", "first");
}

static void
prod_client(struct prod *p)
{
	p->client = SSL_CTX_new(TLS_client_method());
	ck_assert(p->client != NULL);
	SSL_CTX_set_verify(p->client, SSL_VERIFY_NONE, NULL);
}

static void
prod_launch(struct prod *p)
{
	p->t = integ_start_dir(p->dir, NULL);
	ck_assert_msg(aster_test_listener_count(p->t) == 2,
	              "%zu listeners printed, expected 2",
	              aster_test_listener_count(p->t));
	p->tls_addr = aster_test_listener(p->t, 1, NULL);
	ck_assert(p->tls_addr != NULL);
}

static void
prod_start(struct prod *p)
{
	memset(p, 0, sizeof(*p));
	p->dir = integ_tempdir();
	prod_write(p);
	prod_client(p);
	prod_launch(p);
}

static void
prod_done(struct prod *p)
{
	if (p->t != NULL)
		integ_stop(p->t);
	SSL_CTX_free(p->client);
	aster_test_remove_tree(p->dir);
	free(p->dir);
}

/* The control socket's answer to a reload (a dry run or not): ok or not,
 * and the message. */
static int
prod_reload(struct prod *p, int dry_run, char *message, size_t len)
{
	json_object *o = integ_control(p->control, dry_run ?
	    "{\"command\":\"reload\",\"dryRun\":true}" :
	    "{\"command\":\"reload\"}");
	json_object *v;
	int ok;

	ck_assert_msg(o != NULL, "no answer from the control socket");
	ok = json_object_object_get_ex(o, "ok", &v) &&
	    json_object_get_boolean(v);
	snprintf(message, len, "%s", integ_json_str(o, "message") != NULL ?
	         integ_json_str(o, "message") : json_object_to_json_string(o));
	json_object_put(o);
	return ok;
}

/* --- a small TLS client -------------------------------------------------- */

struct tconn {
	int fd;
	SSL *ssl;
	char *buf;                  /* read and not consumed: buf[0..len) */
	size_t len, cap;
};

/* A TCP connection to "host:port", with socket timeouts. */
static int
tcp_connect(const char *address)
{
	char host[64];
	const char *colon = strrchr(address, ':');
	struct sockaddr_in sin;
	struct timeval tv = {aster_test_timeout(10000) / 1000, 0};
	int fd;

	ck_assert(colon != NULL && (size_t)(colon - address) < sizeof(host));
	memcpy(host, address, (size_t)(colon - address));
	host[colon - address] = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	ck_assert(inet_pton(AF_INET, host, &sin.sin_addr) == 1);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ck_assert_msg(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	              "connect %s: %s", address, strerror(errno));
	return fd;
}

/* A TLS connection through ctx; NULL when the handshake fails. */
static struct tconn *
tls_open_with(SSL_CTX *ctx, const char *address)
{
	struct tconn *c = calloc(1, sizeof(*c));

	ck_assert(c != NULL);
	c->fd = tcp_connect(address);
	c->ssl = SSL_new(ctx);
	ck_assert(c->ssl != NULL && SSL_set_fd(c->ssl, c->fd) == 1);
	if (SSL_connect(c->ssl) != 1) {
		ERR_clear_error();
		SSL_free(c->ssl);
		close(c->fd);
		free(c);
		return NULL;
	}
	return c;
}

static struct tconn *
tls_open(struct prod *p)
{
	struct tconn *c = tls_open_with(p->client, p->tls_addr);

	ck_assert_msg(c != NULL, "TLS handshake with %s failed", p->tls_addr);
	return c;
}

static void
tls_close(struct tconn *c)
{
	SSL_shutdown(c->ssl);
	SSL_free(c->ssl);
	close(c->fd);
	free(c->buf);
	free(c);
}

static void
tls_send(struct tconn *c, const char *text)
{
	size_t len = strlen(text);

	ck_assert_msg(SSL_write(c->ssl, text, (int)len) == (int)len,
	              "SSL_write failed");
}

/* Reads more into c->buf: the bytes read, 0 at the end, -1 on error. */
static int
tls_fill(struct tconn *c)
{
	int n;

	if (c->cap - c->len < 65536) {
		c->cap = c->cap == 0 ? 131072 : c->cap * 2;
		c->buf = realloc(c->buf, c->cap + 1);
		ck_assert(c->buf != NULL);
	}
	n = SSL_read(c->ssl, c->buf + c->len, (int)(c->cap - c->len));
	if (n <= 0) {
		int e = SSL_get_error(c->ssl, n);

		ERR_clear_error();
		return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	return n;
}

/*
 * Reads one response: its status, and its body (malloc'ed, *blen bytes)
 * when body is not NULL. Framed by Content-Length. Returns -1 when the
 * connection ended first.
 */
static int
tls_response(struct tconn *c, int *status, char **body, size_t *blen)
{
	char *end, *cl;
	size_t head, clen = 0;

	while (c->buf == NULL || (end = strstr(c->buf, "\r\n\r\n")) == NULL)
		if (tls_fill(c) <= 0)
			return -1;
	head = (size_t)(end - c->buf) + 4;
	ck_assert_msg(sscanf(c->buf, "HTTP/1.1 %d", status) == 1,
	              "not a response: %.60s", c->buf);
	*end = '\0';
	cl = strcasestr(c->buf, "\r\nContent-Length:");
	if (cl != NULL)
		clen = (size_t)strtoull(cl + 17, NULL, 10);
	*end = '\r';
	while (c->len < head + clen)
		if (tls_fill(c) <= 0)
			return -1;
	if (body != NULL) {
		*body = malloc(clen + 1);
		ck_assert(*body != NULL);
		memcpy(*body, c->buf + head, clen);
		(*body)[clen] = '\0';
		*blen = clen;
	}
	memmove(c->buf, c->buf + head + clen, c->len - head - clen);
	c->len -= head + clen;
	c->buf[c->len] = '\0';
	return 0;
}

/* GET path on c (keep-alive); expects 200 and returns the body. */
static char *
tls_get(struct tconn *c, const char *path, size_t *len)
{
	char req[512], *body = NULL;
	size_t n = 0;
	int status = 0;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
	         path);
	tls_send(c, req);
	ck_assert_msg(tls_response(c, &status, &body, &n) == 0,
	              "no response to GET %s over TLS", path);
	ck_assert_msg(status == 200, "GET %s over TLS: %d", path, status);
	if (len != NULL)
		*len = n;
	return body;
}

static void
tls_expect_health(struct tconn *c)
{
	char *body = tls_get(c, "/gateway/v1/health", NULL);

	ck_assert_msg(strcmp(body, "{\"status\":\"ok\"}") == 0,
	              "health over TLS: %s", body);
	free(body);
}

/* The SHA-256 fingerprint of the certificate the server presented. */
static void
peer_fingerprint(struct tconn *c, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0, i;
	X509 *x = SSL_get1_peer_certificate(c->ssl);

	ck_assert(x != NULL && X509_digest(x, EVP_sha256(), md, &n) == 1);
	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	X509_free(x);
}

/* --- tests --------------------------------------------------------------- */

/* A GET over TLS, and the plain listener of the same product serving
 * beside it; the access log has the TLS request like any other. */
START_TEST(test_tls_get_beside_plain)
{
	struct prod p;
	struct aster_test_response r;
	struct tconn *c;
	char *body;

	prod_start(&p);
	c = tls_open(&p);
	ck_assert_msg(SSL_version(c->ssl) >= TLS1_2_VERSION,
	              "negotiated %s", SSL_get_version(c->ssl));
	tls_expect_health(c);
	body = tls_get(c, "/t/hello", NULL);
	ck_assert_str_eq(body, "hello\n");
	free(body);
	tls_close(c);
	integ_get_expect(p.t, "public", "/t/hello", 200, &r);
	ck_assert_str_eq(r.body, "hello\n");
	aster_test_response_free(&r);
	ck_assert_msg(aster_test_wait_stderr(p.t, "path=/gateway/v1/health "
	              "status=200", aster_test_timeout(2000)) == 0,
	              "no access log line for the TLS request:\n%s",
	              aster_test_stderr(p.t));
	ck_assert_msg(strstr(aster_test_stderr(p.t), "with TLS") != NULL,
	              "the TLS listener is not logged as such:\n%s",
	              aster_test_stderr(p.t));
	prod_done(&p);
}
END_TEST

/* asterctl status marks the TLS listener, in its table and its JSON. */
START_TEST(test_tls_status_marks_listener)
{
	const char *table[] = {"--socket", NULL, "status", NULL};
	const char *json[] = {"--socket", NULL, "--json", "status", NULL};
	struct prod p;
	json_object *o, *ls, *l;
	char *out, want[128];
	size_t i, tls = 0, plain = 0;

	prod_start(&p);
	table[1] = json[1] = p.control;
	ck_assert_int_eq(integ_asterctl(table, NULL, &out, NULL), 0);
	snprintf(want, sizeof(want), "%s (public, admin) with TLS\n",
	         aster_test_address(p.t, "admin"));
	ck_assert_msg(strstr(out, want) != NULL, "status does not say '%s':"
	              "\n%s", want, out);
	snprintf(want, sizeof(want), "%s (public)\n",
	         aster_test_address(p.t, "public"));
	ck_assert_msg(strstr(out, want) != NULL, "status does not say '%s' "
	              "for the plain listener:\n%s", want, out);
	free(out);

	ck_assert_int_eq(integ_asterctl(json, NULL, &out, NULL), 0);
	o = json_tokener_parse(out);
	ck_assert_msg(json_object_object_get_ex(o, "listeners", &ls) &&
	              json_object_array_length(ls) == 2, "%s", out);
	for (i = 0; i < 2; i++) {
		json_object *v;

		l = json_object_array_get_idx(ls, i);
		ck_assert_msg(json_object_object_get_ex(l, "tls", &v) &&
		              json_object_is_type(v, json_type_boolean),
		              "a listener without a boolean \"tls\": %s", out);
		if (json_object_get_boolean(v))
			tls++;
		else
			plain++;
	}
	ck_assert_msg(tls == 1 && plain == 1, "%s", out);
	json_object_put(o);
	free(out);
	prod_done(&p);
}
END_TEST

/* TLS 1.0 and 1.1 are refused, even by a client that allows them; the
 * server goes on serving. */
START_TEST(test_tls_old_versions_refused)
{
	static const int versions[] = {TLS1_VERSION, TLS1_1_VERSION};
	struct prod p;
	struct tconn *c;
	size_t i;

	prod_start(&p);
	for (i = 0; i < 2; i++) {
		SSL_CTX *old = SSL_CTX_new(TLS_client_method());

		ck_assert(old != NULL);
		SSL_CTX_set_verify(old, SSL_VERIFY_NONE, NULL);
		/* OpenSSL 3 refuses these versions below level 0 itself. */
		SSL_CTX_set_security_level(old, 0);
		ck_assert(SSL_CTX_set_cipher_list(old, "ALL:@SECLEVEL=0") == 1);
		ck_assert(SSL_CTX_set_min_proto_version(old, versions[i]) == 1);
		ck_assert(SSL_CTX_set_max_proto_version(old, versions[i]) == 1);
		c = tls_open_with(old, p.tls_addr);
		ck_assert_msg(c == NULL, "a %s handshake succeeded",
		              versions[i] == TLS1_VERSION ? "TLS 1.0" :
		              "TLS 1.1");
		SSL_CTX_free(old);
	}
	c = tls_open(&p);
	tls_expect_health(c);
	tls_close(c);
	prod_done(&p);
}
END_TEST

/*
 * A client that sends garbage is closed at once; one that sends nothing,
 * or half a handshake, within the request timeout (1000 ms here); a
 * plain request gets no HTTP answer. A TLS client connected all along
 * is not disturbed.
 */
START_TEST(test_tls_garbage_and_silence)
{
	static const char plain[] = "GET /t/hello HTTP/1.1\r\nHost: x\r\n\r\n";
	/* The start of a ClientHello record: the rest never comes. */
	static const unsigned char half[] = {0x16, 0x03, 0x01, 0x02, 0x00,
	                                     0x01, 0x00, 0x01, 0xfc, 0x03};
	struct prod p;
	struct aster_test_conn *g, *quiet, *partial;
	struct tconn *c;
	uint64_t t0;
	char buf[256];
	long n;

	prod_start(&p);
	c = tls_open(&p);
	tls_expect_health(c);
	quiet = aster_test_connect_address(p.tls_addr, 0);
	partial = aster_test_connect_address(p.tls_addr, 0);
	g = aster_test_connect_address(p.tls_addr, 0);
	ck_assert(quiet != NULL && partial != NULL && g != NULL);
	t0 = integ_ms_now();
	ck_assert(aster_test_conn_send(partial, half, sizeof(half)) == 0);
	ck_assert(aster_test_conn_send(g, plain, sizeof(plain) - 1) == 0);
	/* What comes back, if anything, is a TLS alert, not HTTP. */
	n = aster_test_conn_read(g, buf, sizeof(buf) - 1, 2000);
	if (n > 0) {
		buf[n] = '\0';
		ck_assert_msg(strncmp(buf, "HTTP/", 5) != 0,
		              "plain text on the TLS port got HTTP: %s", buf);
	}
	ck_assert_msg(aster_test_conn_closed(g, aster_test_timeout(1000)),
	              "a plain-text client of the TLS port is still open");
	ck_assert_msg(integ_ms_now() - t0 < 900,
	              "garbage took %llu ms to be closed",
	              (unsigned long long)(integ_ms_now() - t0));
	ck_assert_msg(aster_test_conn_closed(quiet, aster_test_timeout(3000)),
	              "a silent client is still open after 3 s");
	ck_assert_msg(aster_test_conn_closed(partial, aster_test_timeout(1000)),
	              "half a handshake is still open after 3 s");
	ck_assert_msg(integ_ms_now() - t0 >= 900,
	              "the silent client was closed after %llu ms only",
	              (unsigned long long)(integ_ms_now() - t0));
	aster_test_conn_close(g);
	aster_test_conn_close(quiet);
	aster_test_conn_close(partial);
	/* The first connection is idle, not handshaking: it stays. */
	tls_expect_health(c);
	tls_close(c);
	prod_done(&p);
}
END_TEST

/* Keep-alive requests, then pipelined ones in a single record, answered
 * in order on one TLS connection. */
START_TEST(test_tls_keep_alive_and_pipelining)
{
	struct prod p;
	struct tconn *c;
	char *body = NULL;
	size_t len;
	int i, status;

	prod_start(&p);
	c = tls_open(&p);
	for (i = 0; i < 5; i++)
		tls_expect_health(c);
	tls_send(c, "GET /t/hello HTTP/1.1\r\nHost: x\r\n\r\n"
	         "GET /gateway/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
	         "POST /t/hello HTTP/1.1\r\nHost: x\r\n"
	         "Content-Length: 3\r\n\r\nabc"
	         "GET /no/such/route HTTP/1.1\r\nHost: x\r\n\r\n"
	         "GET /t/hello HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert(tls_response(c, &status, &body, &len) == 0);
	ck_assert_msg(status == 200 && strcmp(body, "hello\n") == 0,
	              "1st: %d %s", status, body);
	free(body);
	ck_assert(tls_response(c, &status, &body, &len) == 0);
	ck_assert_msg(status == 200 && strstr(body, "ok") != NULL,
	              "2nd: %d %s", status, body);
	free(body);
	ck_assert(tls_response(c, &status, &body, &len) == 0);
	ck_assert_msg(status == 200 && strcmp(body, "hello\n") == 0,
	              "3rd: %d %s", status, body);
	free(body);
	ck_assert(tls_response(c, &status, &body, &len) == 0);
	ck_assert_msg(status == 404 && strstr(body, "\"code\"") != NULL,
	              "4th: %d %s", status, body);
	free(body);
	ck_assert(tls_response(c, &status, &body, &len) == 0);
	ck_assert_msg(status == 200, "5th: %d", status);
	free(body);
	tls_expect_health(c);
	tls_close(c);
	prod_done(&p);
}
END_TEST

/* A response of 4 MiB over TLS, to a client that starts reading late
 * (the socket fills, the rest waits for it), twice on one connection. */
START_TEST(test_tls_big_response)
{
	struct prod p;
	struct tconn *c;
	char *body, *want;
	char path[PATH_MAX];
	size_t len;
	int round;

	prod_start(&p);
	snprintf(path, sizeof(path), "%s/static/big.bin", p.dir);
	want = integ_read_file(path);
	c = tls_open(&p);
	for (round = 0; round < 2; round++) {
		tls_send(c, "GET /t/files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
		integ_sleep_ms(300);
		{
			int status = 0;

			ck_assert(tls_response(c, &status, &body, &len) == 0);
			ck_assert_int_eq(status, 200);
		}
		ck_assert_msg(len == BIG_LEN, "%zu bytes, expected %u", len,
		              BIG_LEN);
		ck_assert_msg(memcmp(body, want, BIG_LEN) == 0,
		              "the big file arrived changed");
		free(body);
	}
	tls_expect_health(c);
	tls_close(c);
	free(want);
	prod_done(&p);
}
END_TEST

/*
 * A reload with a new certificate: new connections get it, one opened
 * before keeps its session and keeps being served; the plain listener
 * is untouched.
 */
START_TEST(test_tls_reload_new_certificate)
{
	struct prod p;
	struct aster_test_response r;
	struct tconn *before, *after;
	char first[65], second[65], seen[65], msg[512];

	prod_start(&p);
	file_fingerprint(p.dir, "server.crt", first);
	before = tls_open(&p);
	peer_fingerprint(before, seen);
	ck_assert_str_eq(seen, first);
	tls_expect_health(before);

	make_cert(p.dir, "server.crt", "server.key", "second");
	file_fingerprint(p.dir, "server.crt", second);
	ck_assert_str_ne(first, second);
	ck_assert_msg(prod_reload(&p, 0, msg, sizeof(msg)), "reload: %s", msg);

	after = tls_open(&p);
	peer_fingerprint(after, seen);
	ck_assert_msg(strcmp(seen, second) == 0,
	              "a new connection got %s, expected the new %s", seen,
	              second);
	tls_expect_health(after);
	tls_close(after);
	tls_expect_health(before);
	tls_expect_health(before);
	tls_close(before);
	integ_get_expect(p.t, "public", "/gateway/v1/health", 200, &r);
	aster_test_response_free(&r);
	ck_assert_msg(aster_test_wait_stderr(p.t, "TLS certificate loaded",
	              aster_test_timeout(1000)) == 0, "no log of the reload");
	prod_done(&p);
}
END_TEST

/* A reload whose certificate does not load, or whose key does not match,
 * is rejected naming the file; the old certificate keeps serving. */
START_TEST(test_tls_reload_broken_certificate)
{
	struct prod p;
	struct tconn *c;
	char first[65], seen[65], msg[512], crt[PATH_MAX], key[PATH_MAX];

	prod_start(&p);
	file_fingerprint(p.dir, "server.crt", first);
	snprintf(crt, sizeof(crt), "%s/server.crt", p.dir);
	snprintf(key, sizeof(key), "%s/server.key", p.dir);

	ck_assert(aster_test_write_file(p.dir, "server.crt",
	          "-----BEGIN CERTIFICATE-----\nbroken\n", -1) == 0);
	ck_assert_msg(!prod_reload(&p, 1, msg, sizeof(msg)),
	              "a dry run accepted a broken certificate");
	ck_assert_msg(strstr(msg, crt) != NULL,
	              "the dry run's refusal does not name %s: %s", crt, msg);
	ck_assert_msg(!prod_reload(&p, 0, msg, sizeof(msg)),
	              "a broken certificate was accepted");
	ck_assert_msg(strstr(msg, crt) != NULL,
	              "the refusal does not name %s: %s", crt, msg);
	c = tls_open(&p);
	peer_fingerprint(c, seen);
	ck_assert_str_eq(seen, first);
	tls_expect_health(c);
	tls_close(c);

	/* A good certificate with the key of another one. */
	make_cert(p.dir, "server.crt", "other.key", "other");
	ck_assert_msg(!prod_reload(&p, 0, msg, sizeof(msg)),
	              "a key that does not match was accepted");
	ck_assert_msg(strstr(msg, key) != NULL && strstr(msg, "match"),
	              "the refusal does not name %s: %s", key, msg);
	c = tls_open(&p);
	peer_fingerprint(c, seen);
	ck_assert_str_eq(seen, first);
	tls_expect_health(c);
	tls_close(c);

	/* Both rejected reloads left generation 1 running. */
	{
		json_object *o = integ_control(p.control,
		                               "{\"command\":\"status\"}");
		json_object *g;

		ck_assert(o != NULL && json_object_object_get_ex(o,
		          "generation", &g));
		ck_assert_int_eq(json_object_get_int(g), 1);
		json_object_put(o);
	}
	prod_done(&p);
}
END_TEST

/* A key that does not match the certificate fails start-up: exit 69,
 * naming the key file, nothing served. */
START_TEST(test_tls_mismatched_key_fails_start)
{
	struct prod p;
	struct aster_test_options o = integ_options(NULL);
	struct aster_test *t;
	char key[PATH_MAX];
	const char *err;
	int rc;

	memset(&p, 0, sizeof(p));
	p.dir = integ_tempdir();
	prod_write(&p);
	make_cert(p.dir, "other.crt", "server.key", "other");
	snprintf(key, sizeof(key), "%s/server.key", p.dir);
	t = aster_test_spawn(p.dir, &o);
	ck_assert(t != NULL);
	rc = aster_test_wait(t, aster_test_timeout(10000));
	if (rc == -1)
		aster_test_stop(t);
	err = aster_test_stderr(t);
	ck_assert_msg(rc == 69, "exit %d for a mismatched key, expected 69; "
	              "stderr:\n%s", rc, err);
	ck_assert_msg(strstr(err, key) != NULL && strstr(err, "match") != NULL,
	              "stderr does not name %s:\n%s", key, err);
	integ_assert_clean_log(t);
	aster_test_free(t);
	prod_done(&p);
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");

	tcase_set_timeout(tc, INTEG_TCASE_TIMEOUT);
	tcase_add_test(tc, test_tls_get_beside_plain);
	tcase_add_test(tc, test_tls_status_marks_listener);
	tcase_add_test(tc, test_tls_old_versions_refused);
	tcase_add_test(tc, test_tls_garbage_and_silence);
	tcase_add_test(tc, test_tls_keep_alive_and_pipelining);
	tcase_add_test(tc, test_tls_big_response);
	tcase_add_test(tc, test_tls_reload_new_certificate);
	tcase_add_test(tc, test_tls_reload_broken_certificate);
	tcase_add_test(tc, test_tls_mismatched_key_fails_start);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(tls_suite)
