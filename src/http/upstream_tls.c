/*
 * upstream_tls.c - the bytes of a connection to a target, plain or TLS
 * (https targets, SPEC §7.7): the client context of an upstream, the
 * handshake, and the reads and writes every user of a connection goes
 * through.
 *
 * The certificate is verified against the upstream's `ca` (else the
 * system's), and so is the name: `server_name`, else the target's host
 * (an IP literal is checked as an address and sent no SNI). `verify:
 * false` skips both. Writes use partial-write mode with a moving buffer,
 * so the output evbuffer is written a record at a time as the socket
 * takes it. A read drains what OpenSSL has decrypted as well as the
 * socket, and says when decrypted bytes are left over that no socket
 * event will announce.
 *
 * Each call starts from an empty OpenSSL error queue and leaves it
 * empty, so one connection's error never shows up as another's.
 */
#include "http/upstream_int.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "http/tls.h"

/* At most this many chains of the output are offered to one writev(). */
#define WRITE_IOV 16

SSL_CTX *
upstream_tls_ctx(const char *ca, int verify, const char **why)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		*why = tls_first_error();
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                 SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
	                   NULL);
	if (verify && (ca != NULL ?
	               SSL_CTX_load_verify_locations(ctx, ca, NULL) :
	               SSL_CTX_set_default_verify_paths(ctx)) != 1) {
		*why = tls_first_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int
is_ip_literal(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

/* The name c's target must prove. */
static const char *
expected_name(const struct upconn *c)
{
	const struct upstream *u = c->target->up;

	return u != NULL && u->server_name != NULL ? u->server_name :
	    c->target->host;
}

int
upconn_tls_start(struct upconn *c)
{
	struct upstream *u = c->target->up;
	const char *name = expected_name(c);
	int verify;

	ERR_clear_error();
	if (u == NULL || u->tls == NULL ||
	    (c->ssl = SSL_new(u->tls)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		c->tls_why = "cannot start TLS";
		ERR_clear_error();
		return -1;
	}
	verify = SSL_CTX_get_verify_mode(u->tls) != SSL_VERIFY_NONE;
	if (is_ip_literal(name)) {
		if (verify && X509_VERIFY_PARAM_set1_ip_asc(
		    SSL_get0_param(c->ssl), name) != 1)
			goto fail;
	} else {
		if (SSL_set_tlsext_host_name(c->ssl, name) != 1 ||
		    (verify && SSL_set1_host(c->ssl, name) != 1))
			goto fail;
	}
	SSL_set_connect_state(c->ssl);
	return 0;
fail:
	c->tls_why = tls_first_error();
	return -1;
}

/* What an SSL call's result asks for: 1 done, 0 wait (c->want says
 * for what), -1 failed (c->tls_why), -2 the peer closed. */
static int
tls_result(struct upconn *c, int rc)
{
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_NONE:
		return 1;
	case SSL_ERROR_WANT_READ:
		c->want = EV_READ;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		c->want = EV_WRITE;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return -2;
	case SSL_ERROR_SYSCALL:
		c->tls_why = errno != 0 ? strerror(errno) :
		    "connection closed during TLS";
		ERR_clear_error();
		return errno != 0 ? -1 : -2;
	default:
		if (SSL_get_verify_result(c->ssl) != X509_V_OK)
			c->tls_why = X509_verify_cert_error_string(
			    SSL_get_verify_result(c->ssl));
		else
			c->tls_why = tls_first_error();
		ERR_clear_error();
		return -1;
	}
}

int
upconn_handshake(struct upconn *c)
{
	int rc;

	if (c->ssl == NULL)
		return 1;
	ERR_clear_error();
	errno = 0;
	rc = tls_result(c, SSL_do_handshake(c->ssl));
	return rc == -2 ? -1 : rc;
}

ssize_t
upconn_recv(struct upconn *c, char *buf, size_t len)
{
	size_t got = 0;
	int n, rc;

	if (c->ssl == NULL)
		return recv(c->fd, buf, len, 0);
	ERR_clear_error();
	while (got < len) {
		errno = 0;
		n = SSL_read(c->ssl, buf + got, (int)(len - got > 1 << 30 ?
		                                      1 << 30 : len - got));
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		rc = tls_result(c, n);
		if (got > 0)
			break;
		if (rc == 0) {
			errno = EAGAIN;
			return -1;
		}
		if (rc == -2)
			return 0;
		errno = ECONNRESET;
		return -1;
	}
	return (ssize_t)got;
}

int
upconn_pending(const struct upconn *c)
{
	return c->ssl != NULL && SSL_pending(c->ssl) > 0;
}

int
upconn_write(struct upconn *c, struct evbuffer *out)
{
	struct evbuffer_iovec v[1];
	int n, rc;

	if (c->ssl == NULL)
		return evbuffer_write(out, c->fd);
	if (evbuffer_peek(out, -1, NULL, v, 1) < 1)
		return 0;
	ERR_clear_error();
	errno = 0;
	n = SSL_write(c->ssl, v[0].iov_base, (int)(v[0].iov_len > 1 << 30 ?
	                                           1 << 30 : v[0].iov_len));
	if (n > 0) {
		evbuffer_drain(out, (size_t)n);
		return n;
	}
	rc = tls_result(c, n);
	errno = rc == 0 ? EAGAIN : EPIPE;
	return -1;
}

ssize_t
upconn_send(struct upconn *c, const void *buf, size_t len)
{
	int n;

	if (c->ssl == NULL)
		return send(c->fd, buf, len, MSG_NOSIGNAL);
	ERR_clear_error();
	errno = 0;
	n = SSL_write(c->ssl, buf, (int)len);
	if (n > 0)
		return n;
	errno = tls_result(c, n) == 0 ? EAGAIN : EPIPE;
	return -1;
}

/* An idle TLS connection became readable: a session ticket or a
 * KeyUpdate leaves it usable; application data, a close_notify or an
 * error do not. */
int
upconn_idle_input_ok(struct upconn *c)
{
	char b;
	int n;

	if (c->ssl == NULL)
		return 0;
	ERR_clear_error();
	errno = 0;
	n = SSL_read(c->ssl, &b, 1);
	return n <= 0 && tls_result(c, n) == 0 && c->want == EV_READ;
}

void
upconn_tls_free(struct upconn *c)
{
	if (c->ssl == NULL)
		return;
	/* One close_notify, if the socket takes it; never a wait. */
	ERR_clear_error();
	if (SSL_is_init_finished(c->ssl))
		SSL_shutdown(c->ssl);
	ERR_clear_error();
	SSL_free(c->ssl);
	c->ssl = NULL;
}
