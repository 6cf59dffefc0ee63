/*
 * tls.h - TLS for the HTTP server: contexts from PEM files, and the
 * non-blocking record I/O of one connection.
 *
 * A context (OpenSSL's SSL_CTX, reference counted by OpenSSL) holds one
 * listener's certificate chain and key. The server takes a reference for
 * the connections it accepts from then on, and every connection's SSL
 * takes its own: a reload installs a new context on a listener while the
 * connections already open keep the one they began with, and the old one
 * is freed with the last of them.
 *
 * The I/O calls never block: they say which readiness of the socket the
 * connection waits for (a read may want the socket writable during a
 * handshake, a write may want it readable), and the server's event loop
 * calls again when it comes.
 */
#ifndef ASTER_HTTP_TLS_H
#define ASTER_HTTP_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct ssl_ctx_st;
struct ssl_st;

/*
 * A server context for TLS 1.2 and later: the certificate chain from
 * cert_path and the private key from key_path (PEM; an encrypted key is
 * refused, never prompted for), checked to match. No compression, no
 * renegotiation, the server's cipher order. Returns NULL with a one-line
 * reason naming the file in err (errlen bytes) on failure. The caller
 * owns the reference returned (tls_context_free()).
 */
struct ssl_ctx_st *tls_context_new(const char *cert_path,
                                   const char *key_path, char *err,
                                   size_t errlen);

/* The first error of OpenSSL's queue, which names the cause ("no start
 * line", "certificate verify failed"; the later ones name the callers),
 * and the queue emptied. */
const char *tls_first_error(void);

/* Takes and drops a reference to ctx; NULL is ignored. */
struct ssl_ctx_st *tls_context_ref(struct ssl_ctx_st *ctx);
void tls_context_free(struct ssl_ctx_st *ctx);

/* The state of a connection's last call. */
enum tls_io {
	TLS_IO_DONE,            /* bytes moved (the return value) */
	TLS_IO_WANT_READ,       /* call again once the socket is readable */
	TLS_IO_WANT_WRITE,      /* call again once the socket is writable */
	TLS_IO_EOF,             /* the peer closed (close_notify or FIN) */
	TLS_IO_ERROR,           /* broken: close without close_notify */
};

/* The server side of a connection on fd (not owned), in accept state;
 * NULL when out of memory. */
struct ssl_st *tls_conn_new(struct ssl_ctx_st *ctx, int fd);

/*
 * Reads up to len bytes of application data, doing the handshake first.
 * Returns the bytes read (> 0) with *io TLS_IO_DONE, else 0 with *io
 * saying why. Data left decrypted in the connection after a read is
 * counted by tls_conn_pending(): the socket will not say it is there.
 */
size_t tls_conn_read(struct ssl_st *ssl, void *buf, size_t len,
                     enum tls_io *io);

/* Bytes decrypted and not read yet. */
size_t tls_conn_pending(const struct ssl_st *ssl);

/* 1 once the handshake has completed. */
int tls_conn_established(const struct ssl_st *ssl);

/*
 * Writes up to len (> 0) bytes, at most one record. Returns the bytes
 * taken (> 0) with *io TLS_IO_DONE, else 0 with *io saying why. After
 * a WANT the call must be repeated with the same bytes first (they may
 * have moved), at least as many of them.
 */
size_t tls_conn_write(struct ssl_st *ssl, const void *buf, size_t len,
                      enum tls_io *io);

/*
 * Sends close_notify once the handshake is done, unless the connection
 * broke (TLS_IO_ERROR) or it was sent before; never waits for the socket
 * or for the peer's close_notify.
 */
void tls_conn_shutdown(struct ssl_st *ssl);

/* Frees the connection (the fd stays open). */
void tls_conn_free(struct ssl_st *ssl);

#endif
