/*
 * upstream_int.h - the structs shared by the upstream's files, private
 * to src/http/: upstream.c (groups and targets), upstream_pick.c
 * (balancing, ejection), upstream_conn.c (one connection and the
 * pools), upstream_tls.c (its bytes, plain or TLS), upstream_health.c
 * (active checks) and proxy*.c (an exchange forwarded).
 */
#ifndef ASTER_HTTP_UPSTREAM_INT_H
#define ASTER_HTTP_UPSTREAM_INT_H

#include "http/upstream.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "config/manifest.h"

struct evbuffer;
struct resolve_batch;
struct resolver;
struct ssl_ctx_st;
struct ssl_st;
struct upconn;
struct uptarget;

/* An idle pooled connection goes after this long (SPEC §7.7). */
#define UPSTREAM_IDLE_MS        60000
/* A pooled connection idle this long is peeked at before use. */
#define UPSTREAM_PEEK_AFTER_MS  500
/* One recv() from an upstream takes at most this much. */
#define UPSTREAM_READ_BUF       (256 * 1024)
/* A response head (or trailers) from an upstream longer: invalid. */
#define UPSTREAM_MAX_HEAD       (64 * 1024)

TAILQ_HEAD(upconn_list, upconn);

/* One target of a group, with its pool and its health. */
struct uptarget {
	struct upstream *up;        /* NULL once a reload removed it */
	unsigned refs;              /* the group's, and one per connection
	                               and attempt on it */
	char *url;
	enum target_scheme scheme;
	char *host;
	int port;
	char *path;                 /* unix */
	char *base;
	char *authority;
	struct sockaddr_storage addr;   /* resolved at creation (literals and
	                                   names looked up by validation's
	                                   rules: see upstream.c) */
	socklen_t addrlen;
	int addr_ok;
	struct resolve_batch *lookup;   /* its name's, while it runs */

	struct upconn_list idle;    /* most recently used first */
	size_t nidle;
	size_t in_flight;           /* attempts on it now */

	/* Passive ejection. */
	unsigned failures;          /* consecutive failed attempts */
	unsigned ejections;         /* so far (time grows with it) */
	uint64_t ejected_until_ms;  /* monotonic; 0: not ejected */

	/* Active health. */
	int down;                   /* by the checks */
	unsigned check_ok, check_fail;  /* consecutive */
	struct event *check_timer;
	struct upconn *checking;    /* the check under way */
	char check_buf[16];         /* its status line so far */
	size_t check_len;
	uint64_t check_deadline_ms;
};

struct upstream {
	unsigned refs;
	struct event_base *base;
	char *label;
	char *key;
	enum target_scheme scheme;
	int least_request;
	size_t keepalive;
	unsigned connect_timeout_ms;
	int has_health;
	char *health_path;
	unsigned health_interval_ms, health_timeout_ms;
	unsigned healthy, unhealthy;
	int has_eject;
	unsigned eject_failures;
	unsigned eject_base_ms;
	/* TLS to https targets. */
	struct ssl_ctx_st *tls;
	char *server_name;

	struct uptarget **targets;
	size_t ntargets;
	size_t rr;                  /* round-robin cursor */
	struct upstream_counts counts;
};

/* --- upstream.c, upstream_pick.c ---------------------------------------- */

/* Monotonic milliseconds. */
uint64_t upstream_now_ms(void);
/* A random 64-bit number (not for secrets: spreading and parent ids). */
uint64_t upstream_random(void);
/* Can t take a request now (not ejected, not down)? */
int uptarget_available(const struct uptarget *t, uint64_t now);
/*
 * The target for an attempt: round-robin or P2C among the available
 * targets, preferring those not in tried[0..ntried). NULL when every
 * target is ejected or down; *retry_ms then says when the first comes
 * back (0: unknown).
 */
struct uptarget *upstream_pick(struct upstream *u, struct uptarget **tried,
                               size_t ntried, unsigned *retry_ms);
/* An attempt on t ended: counts it and feeds ejection. */
void uptarget_record(struct uptarget *t, enum upstream_outcome o);
struct uptarget *uptarget_ref(struct uptarget *t);
void uptarget_unref(struct uptarget *t);

/* --- upstream_conn.c --------------------------------------------------- */

/* A connection to a target; the owner's callbacks get its events. */
struct upconn {
	struct uptarget *target;    /* referenced */
	evutil_socket_t fd;
	struct event rev;           /* EV_READ | EV_PERSIST */
	struct event wev;           /* EV_WRITE, once */
	struct event timer;
	void (*on_event)(struct upconn *c, short what, void *arg);
	void *arg;
	uint64_t uses;              /* requests begun on it */
	struct ssl_st *ssl;         /* https targets, once connected */
	short want;                 /* TLS: the event a call waits for */
	const char *tls_why;        /* TLS: why it failed */
	uint64_t idle_since_ms;     /* pooled since */
	unsigned idle_ms;           /* pooled at most this long (the
	                               target's Keep-Alive timeout, less a
	                               margin); 0: UPSTREAM_IDLE_MS */
	unsigned connecting:1;
	unsigned pooled:1;          /* on target->idle */
	unsigned read_on:1;         /* rev is added */
	unsigned write_on:1;        /* wev is added */
	TAILQ_ENTRY(upconn) link;
};

/*
 * Starts a connection to t (non-blocking connect); NULL with *err set to
 * an errno when it failed at once. The owner is told EV_WRITE when it
 * may write (connected), with EV_TIMEOUT after ms.
 */
struct upconn *upconn_open(struct uptarget *t, int *err);
/* A pooled connection to t that still looks open, taken off the pool;
 * NULL when there is none. */
struct upconn *upconn_take_idle(struct uptarget *t);
/*
 * Waits for what (EV_READ, EV_WRITE or both; 0: nothing, which also
 * stops reading) and for ms (0: no timer): fn(c, what, arg) is called
 * for whichever comes. Reading stays on until a wait without EV_READ
 * (the owner must re-wait or stop reading, or it hears input again);
 * the write event and the timer are once.
 */
int upconn_wait(struct upconn *c, short what, unsigned ms,
                void (*fn)(struct upconn *c, short what, void *arg),
                void *arg);
/* Stops waiting (events and timer). */
void upconn_idle_events(struct upconn *c);
/* Connected? 0, or the connect's errno. */
int upconn_connect_result(struct upconn *c);
/* Gives c back to its target's pool (or closes it when the pool is
 * full, the target gone, or keepalive 0). */
void upconn_release(struct upconn *c);
/* Closes c. */
void upconn_close(struct upconn *c);
/* Closes every idle connection of t. */
void uptarget_close_idle(struct uptarget *t);

/* --- upstream_tls.c ---------------------------------------------------- */

/* The client context of an https upstream; NULL with *why. */
struct ssl_ctx_st *upstream_tls_ctx(const char *ca, int verify,
                                    const char **why);
/* TCP is up: begins TLS on an https target's connection (0), -1 with
 * c->tls_why. */
int upconn_tls_start(struct upconn *c);
/* Drives the handshake: 1 done (or plain), 0 wait for c->want, -1 failed
 * (c->tls_why). */
int upconn_handshake(struct upconn *c);
/* recv() through TLS when there is some: > 0 bytes, 0 the end, -1 with
 * errno (EAGAIN: wait for input, or for c->want under TLS). */
ssize_t upconn_recv(struct upconn *c, char *buf, size_t len);
/* Decrypted bytes wait that no socket event will announce. */
int upconn_pending(const struct upconn *c);
/* Writes from out (drained by what went): bytes, or -1 with errno. */
int upconn_write(struct upconn *c, struct evbuffer *out);
/* send() of buf through TLS when there is some. */
ssize_t upconn_send(struct upconn *c, const void *buf, size_t len);
/* An idle connection turned readable: still fine to use (TLS
 * housekeeping only)? */
int upconn_idle_input_ok(struct upconn *c);
void upconn_tls_free(struct upconn *c);

/* --- upstream_health.c ------------------------------------------------- */

/* Starts (or restarts, after an update) the active checks of t. */
void health_start(struct uptarget *t);
/* Stops them. */
void health_stop(struct uptarget *t);

#endif
