/*
 * server_int.h - the structs and shared functions of the HTTP server's
 * files (server.c describes the split). Private to src/http/: the rest
 * of asterd uses server.h.
 */
#ifndef ASTER_HTTP_SERVER_INT_H
#define ASTER_HTTP_SERVER_INT_H

#include "http/server.h"

#include <sys/queue.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <event2/event_struct.h>

#include "http/parse.h"

struct evconnlistener;
struct readpool;
struct sockaddr;
struct ssl_st;
struct conn_file;

/* One recv() takes at most this much: a request head or two, and bodies
 * in pieces the parser copies. */
#define READ_BUF            (32 * 1024)
/* The wheel: 512 slots of 100 ms turn in 51.2 s; a later deadline stays
 * on its slot for more turns. */
#define TICK_MS             100
#define WHEEL_SLOTS         512
#define PEER_LEN            (INET6_ADDRSTRLEN + 2)
/* TLS: a response up to one record's worth is written from the stack;
 * queued output is written a record at a time. */
#define TLS_RECORD          16384
/* File bodies (body_file.c): one sendfile() moves at most FILE_BURST, so
 * that a fast download lets the other connections have their turn; a TLS
 * connection reads FILE_CHUNK at a time, with FILE_READERS threads per
 * server to read them. */
#define FILE_BURST          (1024 * 1024)
#define FILE_CHUNK          (64 * 1024)
#define FILE_READERS        2

enum conn_state {
	CONN_IDLE,
	CONN_READING,
	CONN_HANDLING,
	CONN_WRITING,
	CONN_STREAMING,     /* a streamed response's head is out (stream.c) */
	CONN_LINGER,
};

/* Streamed responses (stream.c): a write says "slow down" once this much
 * is queued, and the drain hook runs once the queue is under the low
 * mark again. */
#define STREAM_HIGH         (64 * 1024)
#define STREAM_LOW          (16 * 1024)

struct http_exchange {
	struct http_conn *conn;         /* NULL once orphaned */
	struct http_server *server;     /* NULL once the server is freed */
	struct event_base *base;
	struct http_request req;
	uint64_t started_us;
	char peer[PEER_LEN];

	char *rhdr;                     /* "Name: value\r\n" added so far */
	size_t rhdr_len;
	size_t rhdr_cap;
	int status;
	size_t bytes_sent;
	unsigned responded:1;
	unsigned close:1;               /* close after this response */
	unsigned failed:1;              /* the server's own error: linger */
	unsigned counted:1;             /* in s->in_flight */
	unsigned head:1;                /* a HEAD request */
	unsigned held:1;                /* dispatched: the handler owes an
	                                   answer */
	unsigned timed_out:1;           /* the server answered 504 for it */
	unsigned abandoned:1;           /* its abandon hook has run */
	unsigned tls:1;                 /* came over TLS */
	/* A streamed response (stream.c). */
	unsigned streaming:1;           /* its head is out */
	unsigned chunked:1;             /* its body is chunked */
	unsigned no_body:1;             /* HEAD, 1xx, 204, 304: writes drop */
	unsigned sized:1;               /* Content-Length: stream_left */
	unsigned want_drain:1;          /* a write returned 0 */
	unsigned head_pending:1;        /* begun: the head waits in shead
	                                   for the first bytes after it */
	/* A streamed request body (body_stream.c). */
	unsigned body_streamed:1;       /* the head hook said so */
	unsigned body_done:1;           /* ended (or failed, or dropped) */
	unsigned body_failed:1;         /* the input is unframed: no reuse */
	unsigned body_paused:1;
	uint64_t stream_left;
	void (*drain)(struct http_exchange *ex, void *arg);
	void *drain_arg;
	char *shead;                    /* a streamed head not sent yet */
	size_t shead_len;
	size_t shead_cap;
	char *trailers;                 /* "Name: value\r\n" for the end */
	size_t trailers_len;
	size_t trailers_cap;
	http_body_fn body_fn;
	void *body_arg;

	void *data;
	void (*release)(void *data);
	void (*done)(struct http_exchange *ex, void *arg);
	void *done_arg;
	void (*abandon)(struct http_exchange *ex, void *arg);
	void *abandon_arg;

	TAILQ_ENTRY(http_exchange) orphan_link;
};

struct http_conn {
	struct http_server *server;
	struct http_exchange *ex;
	evutil_socket_t fd;
	enum conn_state state;
	struct event rev;               /* EV_READ | EV_PERSIST */
	struct event *wev;              /* made when output is first queued */
	struct evbuffer *out;           /* what the socket did not take */

	/* Input read and not parsed yet: in[off..len). */
	char *in;
	size_t in_off;
	size_t in_len;
	size_t in_cap;
	/* The rest of what this callback read into the server's buffer. */
	const char *rd;
	size_t rd_len;

	uint64_t deadline;              /* monotonic ms; 0: none */
	unsigned slot;                  /* of the wheel, while on it */
	unsigned on_wheel:1;
	unsigned soon:1;                /* on s->soon */
	unsigned reading:1;             /* rev is added */
	unsigned writing:1;             /* wev is added */
	unsigned full:1;                /* reading paused at the high water */
	unsigned peer_eof:1;            /* the client sent FIN */
	unsigned in_process:1;          /* conn_process() is on the stack */
	unsigned written:1;             /* the response is out: complete it */
	unsigned broken:1;              /* a send failed: close */
	/* TLS only (tls != NULL): see conn_tls.c. */
	unsigned tls_rw:1;              /* a read waits for POLLOUT */
	unsigned tls_wr:1;              /* a write waits for POLLIN */
	unsigned tls_up:1;              /* the handshake is done */
	unsigned more:1;                /* send with MSG_MORE: a file follows */
	unsigned body_kick:1;           /* on s->soon to pump a body */
	unsigned detached:1;            /* a tunnel's now (http_detach()) */
	struct ssl_st *tls;
	struct conn_file *file;         /* a file body still to send */
	LIST_ENTRY(http_conn) wheel_link;
	LIST_ENTRY(http_conn) soon_link;
	TAILQ_ENTRY(http_conn) link;
};

TAILQ_HEAD(conn_list, http_conn);
LIST_HEAD(conn_slot, http_conn);
TAILQ_HEAD(exchange_list, http_exchange);

struct http_server {
	struct event_base *base;
	struct evconnlistener *listener;    /* NULL once draining */
	struct event *retry;                /* accepting again after EMFILE */
	struct event *tick;                 /* sweeps the wheel */
	struct event *soon_ev;              /* made active for s->soon */
	struct http_limits limits;
	unsigned first_ms;                  /* a new connection's first byte */
	unsigned write_ms;                  /* a queued response's progress;
	                                       also a TLS handshake's time */
	struct ssl_ctx_st *tls;             /* for new connections, or NULL */
	struct readpool *readers;           /* TLS file reads; made on use */
	http_handler_fn handler;
	http_error_fn on_error;
	http_head_fn on_head;               /* NULL: bodies read whole */
	void *arg;
	struct conn_list conns;
	struct exchange_list orphans;
	/* Written at once outside conn_process(), or broken: finished in
	 * this loop turn, outside of the caller's stack. */
	struct conn_slot soon;
	struct conn_slot wheel[WHEEL_SLOTS];
	uint64_t wheel_tick;                /* first tick not fully swept */
	size_t nwheel;                      /* connections on the wheel */
	char *rbuf;                         /* READ_BUF bytes */
	size_t nconns;
	size_t in_flight;
	uint64_t now_us;                    /* valid while now_fresh */
	unsigned depth;                     /* our callbacks on the stack */
	unsigned draining:1;
	unsigned dying:1;                   /* http_server_free() was called */
	unsigned accepting:1;               /* the listener is enabled */
	unsigned backoff:1;                 /* accept failed: waiting */
	unsigned ticking:1;                 /* tick is added */
	unsigned now_fresh:1;
	time_t date_sec;
	char date[48];                      /* "Date: ...\r\n" */
	size_t date_len;
};

/* --- put: writing a head (date.c, response.c) -------------------------- */

/* Writes v in decimal at p; returns the end. */
static inline char *
put_uint(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static inline char *
put_str(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

#define PUT_LIT(p, lit) put_str((p), (lit), sizeof(lit) - 1)

/* --- response.c ------------------------------------------------------- */

/* A field name (token) or value that cannot break the header section. */
int field_name_ok(const char *s);
int field_value_ok(const char *s);
/* Appends "name: value\r\n" to the field lines *lines (length *len,
 * room *cap, grown as needed); -1 when out of memory (nothing added).
 * The caller has checked name and value. */
int field_line_add(char **lines, size_t *len, size_t *cap, const char *name,
                   size_t nlen, const char *value);
/* How response_head() frames the body. */
enum head_framing {
	FRAME_NONE,
	FRAME_LENGTH,
	FRAME_CHUNKED,
};
/* The status line and head as up to three iovecs (pre and post of
 * HEAD_PRE and HEAD_POST bytes); returns how many. */
#define HEAD_PRE            128
#define HEAD_POST           128
size_t response_head(struct http_exchange *ex, char *pre, char *post,
                     struct iovec *iov, enum head_framing framing,
                     uint64_t len);

/* --- stream.c ---------------------------------------------------------- */

/* The queue of a streamed response fell: runs the drain hook if it is
 * due. Call it last: the hook may do anything with the exchange. */
void stream_drained(struct http_conn *c);

/* --- body_stream.c ----------------------------------------------------- */

/* The head hook took ex's body: dispatch now, read nothing yet. */
void body_take(struct http_conn *c);
/* Hands what input has come to the body's callback, as long as it is
 * not paused. */
void body_pump(struct http_conn *c);
/* 1 while a streamed body is still to come (or to be read). */
int body_pending(const struct http_exchange *ex);
/* 1 while reading must wait: a streamed body not asked for yet, paused,
 * or failed. */
int body_holds_reading(const struct http_conn *c);
/* The answer is given while the body is unread: no more of it goes to
 * the handler, and the connection lingers and closes after the answer. */
void body_drop(struct http_exchange *ex);
/* c is closing: a body still streaming ends with -1. */
void body_gone(struct http_exchange *ex, struct http_server *s);

/* --- date.c ------------------------------------------------------------ */

/* Monotonic microseconds, read once per callback of ours. */
uint64_t server_now(struct http_server *s);
/* The "Date: ...\r\n" field line of this second; its length in *len. */
const char *server_date(struct http_server *s, size_t *len);

/* --- server.c ---------------------------------------------------------- */

/* Enables or pauses accepting as room, drain and backoff say. */
void server_listener_update(struct http_server *s);
/* Ends one of our callbacks (they begin with s->depth++): frees s if
 * http_server_free() was called meanwhile and this was the last. */
void server_leave(struct http_server *s);

/* --- exchange.c -------------------------------------------------------- */

/* A new exchange of s; NULL when out of memory. */
struct http_exchange *exchange_new(struct http_server *s);
/* Releases ex's data and frees it. */
void exchange_free(struct http_exchange *ex);
/* The response is written or never will be: counters, on_complete, and
 * the data's release (not while the handler still holds ex). */
void exchange_complete(struct http_exchange *ex);
/* Readies ex for the connection's next request. */
void exchange_recycle(struct http_exchange *ex);
/* An orphan has been answered: off the server's books now, completed
 * and freed in the next loop turn. */
void exchange_orphan_finish(struct http_exchange *ex);
/* The handler's answer to ex will be dropped (its client is gone, or
 * the server answered 504): runs ex's abandon hook, once, unless the
 * server is being freed. Call it last: the hook may answer ex. */
void exchange_abandon(struct http_exchange *ex, struct http_server *s);

/* --- wheel.c ----------------------------------------------------------- */

/* Gives c the deadline ms from now, or none for 0. */
void conn_deadline(struct http_conn *c, unsigned ms);
/* Takes c off the wheel (it closes). */
void wheel_unlink(struct http_conn *c);
/* The server's tick event: expires the deadlines that have passed. */
void wheel_tick_cb(evutil_socket_t fd, short what, void *arg);

/* --- conn.c ------------------------------------------------------------ */

/* Has the soon event finish c in this loop turn. */
void conn_soon(struct http_conn *c);
/* The output queue, made on first use; NULL when out of memory. */
struct evbuffer *conn_out(struct http_conn *c);
/* Is output queued? */
int conn_queued(const struct http_conn *c);
/* The write event, made on first use; NULL when out of memory. */
struct event *conn_wev(struct http_conn *c);
/* Output is queued: have the write event write it; -1 (c broken) when
 * out of memory. */
int conn_want_write(struct http_conn *c);
/* Sends iov[0..n) after what is queued, queuing the rest; 1 when all
 * went out. A failure breaks c. */
int conn_send(struct http_conn *c, struct iovec *iov, size_t n);
/* An error the server found itself: answered, then c lingers. */
void conn_fail(struct http_conn *c, int status, const char *code,
               const char *detail);
/* Parses what has arrived and dispatches complete requests. */
void conn_process(struct http_conn *c);
/* The response is out: completes it and readies c; 1 if c waits for
 * the next request, 0 if it closed, lingers, or the server is dying. */
int conn_response_done(struct http_conn *c);
/* Where the next read goes: the server's buffer (1) or c's own (0). */
int conn_read_into(struct http_conn *c, char **buf, size_t *room);
/* What a read into conn_read_into()'s buffer brought: n bytes, 0 at the
 * end of input, -1 on an error. */
void conn_input(struct http_conn *c, char *buf, ssize_t n, int direct);
/* A plain connection's read event (also a lingering TLS one's). */
void conn_read_cb(evutil_socket_t fd, short what, void *arg);
/* The server's soon event: closes broken connections, completes
 * responses written at once outside conn_process(). */
void conn_soon_cb(evutil_socket_t fd, short what, void *arg);
/* Reads input or not (TLS: tls_events() decides). */
void conn_reading(struct http_conn *c, int on);
/* Sends "100 Continue". */
void conn_send_continue(struct http_conn *c);
/* Frees c; an exchange the handler holds is orphaned. */
void conn_close(struct http_conn *c);
/* A connection of s on fd (taken, closed on failure); NULL on failure. */
struct http_conn *conn_new(struct http_server *s, evutil_socket_t fd,
                           const struct sockaddr *sa);

/* --- conn_tls.c -------------------------------------------------------- */

/* Adds and removes c's events to match what it waits for. */
void tls_events(struct http_conn *c);
/* conn_send() for TLS. */
int tls_send(struct http_conn *c, struct iovec *iov, size_t n);
/* Writes the queue, fed from a file body; 1 all out, 0 waiting, -1
 * broken. */
int tls_pump(struct http_conn *c);
/* The queue can be written, or a file chunk has been read. */
void tls_output(struct http_conn *c);
/* A TLS connection's read and write events. */
void tls_read_cb(evutil_socket_t fd, short what, void *arg);
void tls_write_cb(evutil_socket_t fd, short what, void *arg);

/* --- body_file.c ------------------------------------------------------- */

/* Plain: one sendfile() of at most FILE_BURST; bytes sent or -1 (errno). */
ssize_t file_sendfile(struct http_conn *c);
/* c closes: its file goes now, or with the read under way. */
void file_drop(struct http_conn *c);
/* TLS: queues the chunk read and starts the next; 1 fed, 0 not, -1
 * failed. */
int tls_file_feed(struct http_conn *c);
/* Sends the head iov[0..n) and len bytes of fd (taken) from off; 1 when
 * all went out at once. */
int file_send_response(struct http_conn *c, struct iovec *iov, size_t n,
                       int fd, off_t off, size_t len);

#endif
