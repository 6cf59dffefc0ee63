/*
 * tls.c - OpenSSL contexts and record I/O for the HTTP server (tls.h).
 *
 * The defaults follow Mozilla's "intermediate" profile: TLS 1.2 and 1.3,
 * ECDHE with AEAD ciphers only for 1.2 (1.3 has only such suites), the
 * server's preference, no compression (CRIME), no renegotiation (a client
 * could make the server redo handshakes at will).
 *
 * Writes use partial-write mode: a call takes at most one record, so a
 * response of megabytes is written record by record as the socket takes
 * it, and a write that must be repeated is repeated with the bytes where
 * the server's output queue holds them then (moving buffer). Buffers are
 * released while a connection is idle: 10,000 idle keep-alive connections
 * would otherwise hold some 34 KiB each.
 *
 * OpenSSL keeps errors on a per-thread queue that SSL_get_error() reads:
 * each call here starts from an empty queue, and leaves it empty, so an
 * error of one connection (or of the loading code) never shows up as the
 * cause of another's.
 */
#include "http/tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* A key with a pass phrase is refused: OpenSSL would otherwise ask for
 * it on the terminal and block start-up (or a reload). *arg notes that
 * one was wanted, for the message. */
static int
no_password(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)arg = 1;
	return 0;
}

/* See tls.h. */
const char *
tls_first_error(void)
{
	unsigned long e = ERR_get_error();
	const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return why != NULL ? why : "unknown error";
}

/* See tls.h. */
SSL_CTX *
tls_context_new(const char *cert_path, const char *key_path, char *err,
                size_t errlen)
{
	SSL_CTX *ctx;
	const char *why;
	int encrypted = 0;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "cannot make a TLS context: %s",
		         tls_first_error());
		return NULL;
	}
	SSL_CTX_set_default_passwd_cb(ctx, no_password);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, &encrypted);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		snprintf(err, errlen, "cannot configure TLS: %s",
		         tls_first_error());
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	    /* A client that closes without close_notify has still sent
	     * whole requests: HTTP frames them, so no truncation can pass
	     * unnoticed. */
	    | SSL_OP_IGNORE_UNEXPECTED_EOF
#endif
	    );
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		why = tls_first_error();
		snprintf(err, errlen, "cannot load TLS certificate '%s': %s",
		         cert_path, why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path,
	                                SSL_FILETYPE_PEM) != 1) {
		why = tls_first_error();
		snprintf(err, errlen, "cannot load TLS key '%s': %s",
		         key_path, encrypted ? "it has a pass phrase (keys "
		         "must be stored unencrypted)" : why);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "TLS key '%s' does not match the "
		         "certificate '%s'", key_path, cert_path);
		goto fail;
	}
	SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
	SSL_CTX_set_default_passwd_cb(ctx, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* See tls.h. */
SSL_CTX *
tls_context_ref(SSL_CTX *ctx)
{
	if (ctx != NULL)
		SSL_CTX_up_ref(ctx);
	return ctx;
}

/* See tls.h. */
void
tls_context_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

/* See tls.h. */
SSL *
tls_conn_new(SSL_CTX *ctx, int fd)
{
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

/*
 * Why call rc of ssl did not move data. A broken connection is marked
 * shut down both ways: OpenSSL forbids SSL_shutdown() after a fatal
 * error, and so tls_conn_shutdown() leaves it alone.
 */
static enum tls_io
failure(SSL *ssl, int rc)
{
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return TLS_IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_IO_EOF;
	case SSL_ERROR_SYSCALL:
		/* EOF without close_notify, on OpenSSL without
		 * SSL_OP_IGNORE_UNEXPECTED_EOF */
		if (ERR_peek_error() == 0 && errno == 0) {
			SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
			return TLS_IO_EOF;
		}
		/* FALLTHROUGH */
	default:
		ERR_clear_error();
		SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN |
		                 SSL_RECEIVED_SHUTDOWN);
		return TLS_IO_ERROR;
	}
}

/* See tls.h. */
size_t
tls_conn_read(SSL *ssl, void *buf, size_t len, enum tls_io *io)
{
	size_t n = 0;
	int rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_read_ex(ssl, buf, len, &n);
	if (rc == 1) {
		*io = TLS_IO_DONE;
		return n;
	}
	*io = failure(ssl, rc);
	return 0;
}

/* See tls.h. */
size_t
tls_conn_pending(const SSL *ssl)
{
	int n = SSL_pending(ssl);

	return n > 0 ? (size_t)n : 0;
}

/* See tls.h. */
int
tls_conn_established(const SSL *ssl)
{
	return SSL_is_init_finished(ssl);
}

/* See tls.h. */
size_t
tls_conn_write(SSL *ssl, const void *buf, size_t len, enum tls_io *io)
{
	size_t n = 0;
	int rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_write_ex(ssl, buf, len, &n);
	if (rc == 1) {
		*io = TLS_IO_DONE;
		return n;
	}
	*io = failure(ssl, rc);
	return 0;
}

/* See tls.h. */
void
tls_conn_shutdown(SSL *ssl)
{
	if (!SSL_is_init_finished(ssl) ||
	    (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN))
		return;
	ERR_clear_error();
	(void)SSL_shutdown(ssl);
	ERR_clear_error();
}

/* See tls.h. */
void
tls_conn_free(SSL *ssl)
{
	SSL_free(ssl);
}
