/*
 * server.h - asterd's HTTP/1.1 server on libevent.
 *
 * One http_server per listener. libevent's evhttp (2.1, as Debian ships
 * it) answers its own limit errors with HTML 400/413 pages, closes timed
 * out requests without a response and cannot cap connections, while the
 * contract wants 431, 413 and 408 as problem+json and a connection cap;
 * so the server is ours, on evconnlistener and plain events: one recv()
 * per readable event, responses sent directly, deadlines on a wheel.
 * A listener may terminate TLS (OpenSSL, http/tls.h) on the same events.
 *
 * Every complete request becomes an http_exchange handed to the server's
 * handler. The handler answers at once or later (http_respond() may be
 * called from any later callback on the same event base); the exchange
 * lives until it has been answered and written.
 *
 * The rule for an exchange a handler answers later: the handler holds it
 * from the call until its answer, exactly one http_respond() or
 * http_respond_buffer(), and the exchange, its request and its data
 * (http_set_data()) stay valid for it until then, whatever happens
 * meanwhile: the client may go away, and after request_timeout_ms the
 * server answers 504 gateway-timeout in its place (http_timed_out()).
 * The answer then still comes, from whichever callback the handler
 * waits on, and is dropped; it is what frees the exchange. So a handler
 * must answer every exchange once, however late (a provider's stop()
 * answers what is pending, which bounds the wait), and must not use it
 * after answering.
 */
#ifndef ASTER_HTTP_SERVER_H
#define ASTER_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <event2/buffer.h>

struct http_server;
struct http_exchange;

struct http_limits {
	size_t max_header_bytes;    /* request line + headers: else 431 */
	size_t max_body_bytes;      /* else 413 */
	unsigned request_timeout_ms;/* a request must arrive whole: else 408;
	                               then the handler must answer: else
	                               504 */
	unsigned idle_timeout_ms;   /* keep-alive idle: then close quietly */
	size_t max_connections;     /* beyond it, accepting pauses */
};

/*
 * Called for every complete request. arg is the server's. A request that
 * fails to parse never reaches it: the server answers 400, 408, 413, 431,
 * 501 or 505 itself through the error hook below.
 */
typedef void (*http_handler_fn)(struct http_exchange *ex, void *arg);

/*
 * Renders an error the server found itself (status, code of SPEC §7.2,
 * detail) into ex's response; the server installs a default that writes
 * problem+json. The runtime replaces it to add request ids and logging.
 */
typedef void (*http_error_fn)(struct http_exchange *ex, int status,
                              const char *code, const char *detail,
                              void *arg);

/*
 * Serves fd (bound and listening, non-blocking) on base. Returns NULL on
 * failure. The server owns fd from then on.
 */
struct http_server *http_server_new(struct event_base *base, int fd,
                                    const struct http_limits *limits,
                                    http_handler_fn handler,
                                    http_error_fn on_error, void *arg);

struct ssl_ctx_st;

/*
 * Terminates TLS on the connections accepted from now on with ctx (see
 * http/tls.h; the server takes its own reference), or serves them in
 * plain text for NULL. Connections already open keep what they began
 * with, so a reload can bring a new certificate without cutting any. A
 * TLS handshake must complete within the request timeout.
 */
void http_server_set_tls(struct http_server *s, struct ssl_ctx_st *ctx);

/* New limits for requests that start from now on (reload). */
void http_server_set_limits(struct http_server *s,
                            const struct http_limits *limits);

/* Stops accepting (drain); existing connections go on. Idle keep-alive
 * connections are closed, busy ones close after their response. */
void http_server_drain(struct http_server *s);

/* Requests received and not yet fully written. */
size_t http_server_in_flight(const struct http_server *s);

/* Open connections. */
size_t http_server_connections(const struct http_server *s);

/* Closes every connection and the listening socket; frees s. */
void http_server_free(struct http_server *s);

/* --- the request ------------------------------------------------------ */

/* "GET", "POST", ... as received (upper case). */
const char *http_method(const struct http_exchange *ex);

/* The request target as received ("/a%20b?x=1"). */
const char *http_target(const struct http_exchange *ex);

/*
 * The path part of the target, normalised as SPEC §7.1 says (dot
 * segments resolved, never above "/"; runs of '/' collapsed; see
 * http_path_normalise() in http/parse.h), with each segment
 * percent-decoded once and joined with '/': "/a%2Fb/c" is "/a/b/c". It
 * is for people (a detail, a debug line): it no longer tells where a
 * segment ends, so never split it again; route params hold the decoded
 * segments. It is UTF-8 without NUL (else the server answered 400
 * itself), but may hold control characters: escape it to print it. "*" for "OPTIONS *". NULL if the request never had a
 * path (the server answered 400 itself, so handlers always see one).
 */
const char *http_path(const struct http_exchange *ex);

/*
 * The same normalised path with its segments as the client sent them,
 * still percent-encoded: "/a%2Fb/c". Unambiguous and printable ASCII:
 * what the router splits and decodes, what an access log can show and
 * what an upstream is to receive. NULL when http_path() is.
 */
const char *http_path_raw(const struct http_exchange *ex);

/* The query string without '?', or NULL. */
const char *http_query(const struct http_exchange *ex);

/* First value of a header (case-insensitive name), or NULL. */
const char *http_header(const struct http_exchange *ex, const char *name);

/* Iterates over the request headers: 0 at the end. */
int http_header_at(const struct http_exchange *ex, size_t i,
                   const char **name, const char **value);

/* The request body (may be empty). */
const unsigned char *http_body(const struct http_exchange *ex, size_t *len);

/* Peer address as text ("127.0.0.1", "[::1]", "unix"). */
const char *http_peer(const struct http_exchange *ex);

/* Per-exchange user data (the runtime's request context). */
void http_set_data(struct http_exchange *ex, void *data,
                   void (*release)(void *data));
void *http_data(const struct http_exchange *ex);

/* --- the response ----------------------------------------------------- */

/* Adds a response header; call before http_respond() (ignored after). */
void http_add_header(struct http_exchange *ex, const char *name,
                     const char *value);

/*
 * Sends the response: status, then body (len bytes copied; NULL/0 for
 * none). Content-Length is set by the server; for HEAD requests the body
 * is not sent but its length is announced. Connection handling (keep-alive
 * or close) follows the request. Exactly once per exchange; after a 504
 * in the handler's place (http_timed_out()) the handler's answer is
 * dropped, and ends its hold on ex (see the top).
 */
void http_respond(struct http_exchange *ex, int status, const void *body,
                  size_t len);

/* The same, taking an evbuffer's contents (drained). */
void http_respond_buffer(struct http_exchange *ex, int status,
                         struct evbuffer *body);

/*
 * The same with length bytes of the regular file fd from offset as the
 * body, streamed as the client reads: memory per response stays the
 * same whatever the length, and no read of the file blocks the loop
 * (TLS connections read it on worker threads; plain ones use sendfile(),
 * see body_file.c). The server takes fd in every case, also when it sends
 * no body (HEAD, 204, 304, a second answer, a client gone): it closes it
 * once the body is out or the connection is closed. The file must stay
 * at least offset + length bytes long; if it comes up short, the
 * connection is closed mid-body.
 */
void http_respond_file(struct http_exchange *ex, int status, int fd,
                       uint64_t offset, uint64_t length);

/* Status sent, or 0 before http_respond(). */
int http_status(const struct http_exchange *ex);

/*
 * 1 once the server has answered 504 in the handler's place (the handler
 * did not answer within request_timeout_ms of the request's arrival). A
 * handler's callback that finds it set starts no further work for ex and
 * answers at once (any answer: it is dropped, and lets ex go).
 */
int http_timed_out(const struct http_exchange *ex);

/*
 * Asks for fn(ex, arg) to be called once, should the handler's answer to
 * ex come to be dropped while it holds ex: when its client goes away, or
 * when the server answers 504 in its place. fn may answer ex at once.
 * Not called while the server itself is being freed.
 */
void http_on_abandon(struct http_exchange *ex,
                     void (*fn)(struct http_exchange *ex, void *arg),
                     void *arg);

/* 1 when an answer to ex would be dropped (client gone or 504 sent). */
int http_abandoned(const struct http_exchange *ex);

/* Bytes of response body sent (for the access log). */
size_t http_bytes_sent(const struct http_exchange *ex);

/* Monotonic microseconds when the request began arriving. */
uint64_t http_started_us(const struct http_exchange *ex);

/* Called once the response has been written (or the connection died):
 * the access log and the generation release hang here. */
void http_on_complete(struct http_exchange *ex,
                      void (*done)(struct http_exchange *ex, void *arg),
                      void *arg);

/* Standard reason phrase for status ("Not Found"). */
const char *http_reason(int status);

/* --- streamed bodies (the reverse proxy) -------------------------------- */

/*
 * A response whose body arrives in pieces (an upstream's). The head goes
 * out at http_stream_begin() with the header fields added so far; the
 * body follows with http_stream_write() and ends with http_stream_end()
 * (or http_stream_abort()). Between begin and end the handler still
 * holds ex, as between dispatch and http_respond(): if the client goes
 * away the abandon hook runs, and the handler ends the stream (any end:
 * it releases ex). Once the head is out the server's 504 no longer
 * applies; each write must make progress within the write timeout, as
 * any queued response.
 */

/*
 * Makes the status line and head (sent with what follows, or at
 * http_stream_flush()). length >= 0 is the body's length
 * (Content-Length; the writes must add up to it), -1 an unknown length:
 * chunked to an HTTP/1.1 client (trailers possible), delimited by the
 * connection's close for HTTP/1.0. HEAD, 1xx, 204 and 304 have no body:
 * writes are dropped (HEAD keeps the announced Content-Length). Returns
 * 0, or -1 when ex was answered already or is abandoned (nothing sent;
 * the handler still ends the stream to release ex).
 */
int http_stream_begin(struct http_exchange *ex, int status,
                      int64_t length);

/*
 * The head made by http_stream_begin() waits for the first piece of
 * body (or the end) so that both leave in one send; this sends it now.
 * Call it once the source has nothing more at hand (the client should
 * see the head while the body is slow to come).
 */
void http_stream_flush(struct http_exchange *ex);

/*
 * Sends an interim 1xx response (not 101) before the final one: the
 * status line and the nfields name/value pairs of fields, unchanged
 * except that invalid ones are dropped. 0, or -1 when the head is out
 * already or the client speaks HTTP/1.0 (nothing sent).
 */
int http_send_interim(struct http_exchange *ex, int status,
                      const char *const *names, const char *const *values,
                      size_t nfields);

/*
 * Queues len bytes of body (copied). Returns 1 while the client keeps
 * up, 0 once the queue has passed the high-water mark (64 KiB): the
 * caller then stops reading its source until the drain hook runs; -1
 * when the client is gone (stop and end the stream).
 */
int http_stream_write(struct http_exchange *ex, const void *data,
                      size_t len);

/* The same from an evbuffer, drained (no copy where the chains allow). */
int http_stream_write_buffer(struct http_exchange *ex,
                             struct evbuffer *data);

/*
 * For a handler that moves body bytes between sockets itself
 * (splice(2)): the client's socket, when the stream has a Content-Length,
 * is not a HEAD, runs over plain TCP or a Unix socket, and nothing is
 * queued for it (the head included); else -1. The handler writes body
 * bytes straight to it, reports them with http_stream_moved(), and waits
 * for room with an event of its own.
 */
evutil_socket_t http_stream_socket(struct http_exchange *ex);

/* n body bytes went straight to the socket: counted against the
 * Content-Length and the access log, and the write deadline renewed. */
void http_stream_moved(struct http_exchange *ex, size_t n);

/* fn(ex, arg) runs each time the queue falls under the low-water mark
 * after a write returned 0. */
void http_stream_on_drain(struct http_exchange *ex,
                          void (*fn)(struct http_exchange *ex, void *arg),
                          void *arg);

/* A trailer field for the end of a chunked body (dropped otherwise, and
 * when invalid). */
void http_stream_trailer(struct http_exchange *ex, const char *name,
                         const char *value);

/* The body is complete: the last chunk (and trailers) go out and the
 * exchange completes as after http_respond(). */
void http_stream_end(struct http_exchange *ex);

/* The body is cut short (the upstream failed mid-body): the connection
 * closes after what is queued, so the client sees a truncated body and
 * no reuse. Also ends a stream that never began. */
void http_stream_abort(struct http_exchange *ex);

/*
 * A request body streamed rather than read whole. The head hook, when
 * set, runs as a request's head completes with a body to follow (a
 * Content-Length > 0 or chunked); returning 1 dispatches the exchange
 * at once, before any body byte is read, and the body then comes through
 * http_body_stream(). Returning 0 keeps the usual: the body is read whole
 * (up to max_body_bytes) before dispatch. The hook must not answer ex.
 */
typedef int (*http_head_fn)(struct http_exchange *ex, void *arg);
void http_server_set_head_hook(struct http_server *s, http_head_fn fn);

/* 1 when ex's body comes through http_body_stream(). */
int http_body_streamed(const struct http_exchange *ex);

/*
 * For a streamed body: fn(ex, data, len, end, arg) for each piece of the
 * (de-chunked) body, in order, and then once with end = 1 (len 0) when
 * it is complete, or end = -1 when it failed (client gone, a bad chunk,
 * more than max_body_bytes; the server has answered nothing: the
 * handler answers if it can). Nothing is read before this call (an
 * `Expect: 100-continue` is answered at it), and reading pauses while
 * paused.
 */
typedef void (*http_body_fn)(struct http_exchange *ex, const void *data,
                             size_t len, int end, void *arg);
void http_body_stream(struct http_exchange *ex, http_body_fn fn, void *arg);
void http_body_pause(struct http_exchange *ex, int paused);

/*
 * Takes ex's connection off the server for a tunnel (after an upstream's
 * 101, begun with http_stream_begin(ex, 101, -1)): the socket is the
 * caller's from then on, to read, write (non-blocking) and close. Bytes
 * the client sent past the request move into in; response bytes not yet
 * written (the 101 head) into out, for the caller to write first. ex
 * completes. -1 on a TLS connection or once the client is gone (nothing
 * changes: end the stream).
 */
evutil_socket_t http_detach(struct http_exchange *ex, struct evbuffer *in,
                            struct evbuffer *out);

/* 1 when the request came over TLS (X-Forwarded-Proto). */
int http_is_tls(const struct http_exchange *ex);

#endif
