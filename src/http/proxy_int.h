/*
 * proxy_int.h - one forwarded exchange, shared by proxy.c (attempts,
 * retries, the response), proxy_head.c (the header sections),
 * proxy_body.c (the request body) and proxy_tunnel.c (Upgrade).
 * Private to src/http/.
 */
#ifndef ASTER_HTTP_PROXY_INT_H
#define ASTER_HTTP_PROXY_INT_H

#include "http/proxy.h"

#include <stdint.h>

#include "http/resp_parse.h"
#include "http/upstream_int.h"

struct evbuffer;
struct http_exchange;

/* Attempts per exchange at most: 1 + retries (10) + the one on a fresh
 * connection after a reused one failed. */
#define PROXY_MAX_ATTEMPTS 12
/* Less time than this left in the exchange: no new attempt (it could
 * not do anything useful, and would count against its target). */
#define PROXY_MIN_TRY_MS   10
/* The request's output to an upstream above this: the client's body
 * waits (back-pressure both ways). */
#define PROXY_OUT_HIGH     (64 * 1024)
/* A Content-Length body with this much still to come moves by splice(2)
 * (proxy_splice.c). */
#define PROXY_SPLICE_MIN   (256 * 1024)

struct proxy_splice;

struct proxy_call_body {
	int streamed;               /* arrives through http_body_stream() */
	int chunked;                /* forwarded chunked (length unknown) */
	uint64_t length;            /* forwarded Content-Length */
	const unsigned char *data;  /* a body read whole */
	size_t len;
	/* Streamed: */
	int started;                /* http_body_stream() called */
	int consumed;               /* some of it went out: no retry */
	int ended;                  /* end = 1 seen */
	int failed;                 /* end = -1 seen */
	int paused;
	/* Bytes of it the upstream has not taken yet: pend[off..off+len),
	 * kept with the call (its room, pend_cap, is reused). */
	char *pend;
	size_t pend_off, pend_len, pend_cap;
};

struct proxy_call {
	struct http_exchange *ex;
	struct upstream *up;
	char *path;                 /* kept with the call (path_cap) */
	size_t path_cap;
	char request_id[132];
	char traceparent[56];
	unsigned try_timeout_ms;
	unsigned retries_left;
	int preserve_host;
	int idempotent;
	int upgrade;
	int head_request;
	struct proxy_call_body body;
	struct evbuffer *fixed;     /* the head's part common to attempts */
	struct evbuffer *out;       /* the request to the current target */

	/* The current attempt. */
	struct upconn *conn;
	struct uptarget *target;    /* referenced */
	unsigned attempt;           /* 1-based */
	uint64_t attempt_start_ms;
	uint64_t attempt_deadline_ms;
	int reused;                 /* on a pooled connection */
	int connect_cut;            /* the connect's wait ends with the
	                               attempt's, before connect_timeout_ms */
	int sending;                /* connected, the request going out */
	int sent_any;               /* a byte of the request went out */
	int written;                /* the whole request went out */
	int got_byte;               /* a byte of the response came */

	struct uptarget *tried[PROXY_MAX_ATTEMPTS];
	size_t ntried;
	int fresh_retry_done;       /* the retry after a reused one failed */
	int fresh_only;

	uint64_t deadline_ms;       /* timeout_ms from the start */
	struct event timer;         /* the whole exchange's deadline */
	int timer_set;
	struct http_response resp;
	int head_seen;              /* the final head: no retry from now */
	int stream_begun;
	int paused;                 /* the client's queue is full */
	int done;
	struct proxy_splice *splice;    /* the body moving by splice(2) */
	enum upstream_outcome last_fail;
	const char *last_why;
};

/* --- proxy_head.c ------------------------------------------------------ */

/* Does the client ask for an Upgrade (Connection: upgrade + Upgrade)? */
int proxy_is_upgrade(struct http_exchange *ex);
/* The part of the head every attempt shares, with the final CRLF. */
int proxy_head_fixed(struct evbuffer *b, struct http_exchange *ex,
                     const struct proxy_request *pr,
                     const struct proxy_call_body *body, int upgrade);
/* The request line, Host and traceparent of one attempt on t. */
int proxy_head_attempt(struct evbuffer *b, struct http_exchange *ex,
                       const struct proxy_call *call,
                       const struct uptarget *t);
/* Does a field of the upstream's head reach the client? (has_connection:
 * the head has a Connection field, which may name more to drop.) */
int proxy_response_field_passes(const struct http_response *r,
                                const char *name, int upgrade,
                                int has_connection);

/* --- proxy.c ----------------------------------------------------------- */

/* Answers with a problem (or cuts a begun stream) and ends the call. */
void proxy_fail(struct proxy_call *call, int status, const char *code,
                const char *detail);
/* Out of attempts: 504 for a timeout, 502 for the rest. */
void proxy_fail_by_outcome(struct proxy_call *call,
                           enum upstream_outcome o);
/* Every target ejected or down: 503 with Retry-After. */
void proxy_fail_unavailable(struct proxy_call *call, unsigned retry_ms);
/* Ends the call: releases everything (ex is answered already). */
void proxy_call_free(struct proxy_call *call);

/* --- proxy_attempt.c --------------------------------------------------- */

/* The next attempt: a target, a connection, the request. */
void proxy_attempt_begin(struct proxy_call *call);
/* The attempt failed before the final head: retry or answer. */
void proxy_attempt_failed(struct proxy_call *call, enum upstream_outcome o);
/* The attempt's debug line. */
void proxy_attempt_log(struct proxy_call *call, enum upstream_outcome o);
/* The attempt is over: counted, its target let go. */
void proxy_attempt_end(struct proxy_call *call, enum upstream_outcome o);
/* Milliseconds left in the attempt (at least 1). */
unsigned proxy_attempt_wait_ms(struct proxy_call *call);
/* The request is not all out: wait for room, or for an early answer. */
void proxy_request_wait(struct proxy_call *call);
/* A streamed body brought more output: write it. */
void proxy_request_more(struct proxy_call *call);
/* The client's streamed body broke off (answers, ends the call). */
void proxy_body_failed(struct proxy_call *call);

/* --- proxy_response.c -------------------------------------------------- */

/* The connection to the target has input (or the attempt's time ran
 * out). */
void proxy_response_read(struct upconn *c, short what, void *arg);
/* The body is all there (moved by splice): the response ends. */
void proxy_response_feed_end(struct proxy_call *call);
/* The response broke off after its head (o: the upstream's outcome, or
 * UPSTREAM_OK when the client went): the client's connection is cut. */
void proxy_response_broken(struct proxy_call *call,
                           enum upstream_outcome o);
/* The upstream's head fields that pass, as the client's response's. */
void proxy_forward_head(struct proxy_call *call, int upgrade);

/* --- proxy_body.c ------------------------------------------------------ */

/* An attempt is connected and its head queued: the body flows (begins,
 * or resumes). */
void proxy_body_flow(struct proxy_call *call);
/* No attempt can take the body now: it pauses. */
void proxy_body_hold(struct proxy_call *call);
/* Has the whole body been queued (or is there none to stream)? */
int proxy_body_complete(const struct proxy_call *call);
/* Writes the body bytes waiting: 1 all out, 0 the socket is full, -1
 * failed (errno). */
int proxy_body_write(struct proxy_call *call);
/* Body bytes waiting for the upstream. */
size_t proxy_body_pending(const struct proxy_call *call);

/* --- proxy_splice.c ---------------------------------------------------- */

/* Moves the rest of the body by splice(2) when it can (1: it does, and
 * ends the response); 0 when the usual path must go on. */
int proxy_splice_try(struct proxy_call *call);
void proxy_splice_free(struct proxy_call *call);

/* --- proxy_tunnel.c ---------------------------------------------------- */

/* The target answered 101: the client's connection and c become a
 * tunnel; rest[0..len) are bytes the target sent after its head. Ends
 * the call either way. */
void proxy_tunnel(struct proxy_call *call, const char *rest, size_t len);

#endif
