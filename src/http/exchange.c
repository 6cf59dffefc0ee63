/*
 * exchange.c - exchanges (one per connection, reused for each of its
 * requests) and the request accessors of server.h.
 *
 * A client that goes away while the handler has the exchange leaves it
 * "orphaned": detached from the connection (which is freed), kept on the
 * server's orphan list, and finished by http_respond().
 *
 * A handler that has not answered request_timeout_ms after the request
 * arrived whole is answered for: 504 gateway-timeout through the error
 * hook, on the same exchange (its request, data and access line are the
 * request's). The handler still holds the exchange (ex->held) and will
 * answer it, late; until then the exchange keeps its request and data,
 * so it is never recycled: once the 504 is written it becomes an orphan
 * and the connection, kept alive, gets a new exchange (the only
 * allocation, on this rare path). The late answer is dropped and frees
 * the orphan; its data is released only then, after the access line.
 */
#include "http/server_int.h"

#include <stdlib.h>

struct http_exchange *
exchange_new(struct http_server *s)
{
	struct http_exchange *ex = calloc(1, sizeof(*ex));

	if (ex == NULL)
		return NULL;
	ex->server = s;
	ex->base = s->base;
	http_request_init(&ex->req);
	return ex;
}

void
exchange_free(struct http_exchange *ex)
{
	if (ex->release != NULL)
		ex->release(ex->data);
	http_request_free(&ex->req);
	free(ex->rhdr);
	free(ex->trailers);
	free(ex->shead);
	free(ex);
}

/*
 * The response has been written, or never will be: counters first, then
 * the access log (done) and the data's release, which waits for the
 * handler's answer when the server answered for it (504). Runs again for
 * the release then (done does not). Touches neither the server nor the
 * connection after done, which may free either.
 */
void
exchange_complete(struct http_exchange *ex)
{
	void (*done)(struct http_exchange *, void *) = ex->done;
	void (*release)(void *);
	void *data;

	if (ex->counted) {
		ex->counted = 0;
		if (ex->server != NULL)
			ex->server->in_flight--;
	}
	ex->done = NULL;
	if (done != NULL)
		done(ex, ex->done_arg);
	/* Timed out: the handler still uses its data until it answers. */
	if (ex->held)
		return;
	release = ex->release;
	data = ex->data;
	ex->release = NULL;
	ex->data = NULL;
	if (release != NULL)
		release(data);
}

/* Ready for the connection's next request. */
void
exchange_recycle(struct http_exchange *ex)
{
	ex->rhdr_len = 0;
	ex->status = 0;
	ex->bytes_sent = 0;
	ex->responded = 0;
	ex->close = 0;
	ex->failed = 0;
	ex->head = 0;
	ex->timed_out = 0;
	ex->done_arg = NULL;
	ex->abandon = NULL;
	ex->abandon_arg = NULL;
	ex->abandoned = 0;
	ex->streaming = 0;
	ex->chunked = 0;
	ex->no_body = 0;
	ex->sized = 0;
	ex->want_drain = 0;
	ex->head_pending = 0;
	ex->stream_left = 0;
	ex->drain = NULL;
	ex->drain_arg = NULL;
	ex->trailers_len = 0;
	ex->body_streamed = 0;
	ex->body_done = 0;
	ex->body_failed = 0;
	ex->body_paused = 0;
	ex->body_fn = NULL;
	ex->body_arg = NULL;
}

static void
orphan_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_exchange *ex = arg;

	(void)fd;
	(void)what;
	exchange_complete(ex);
	exchange_free(ex);
}

/*
 * An orphan has been answered: nobody is left to write to. It leaves the
 * server's books now (the server may be freed before the next turn) and
 * is completed in the next loop turn, like any exchange: never inside
 * http_respond(), whose caller may still use what on_complete releases.
 */
void
exchange_orphan_finish(struct http_exchange *ex)
{
	struct timeval now = { 0, 0 };

	if (ex->server != NULL) {
		TAILQ_REMOVE(&ex->server->orphans, ex, orphan_link);
		if (ex->counted)
			ex->server->in_flight--;
		ex->counted = 0;
		ex->server = NULL;
	}
	if (event_base_once(ex->base, -1, EV_TIMEOUT, orphan_done_cb, ex,
	                    &now) == -1)
		orphan_done_cb(-1, 0, ex);
}

/* See server_int.h. */
void
exchange_abandon(struct http_exchange *ex, struct http_server *s)
{
	if (ex->abandoned || !ex->held || s->dying)
		return;
	ex->abandoned = 1;
	if (ex->abandon != NULL)
		ex->abandon(ex, ex->abandon_arg);
}

/* See server.h. */
void
http_on_abandon(struct http_exchange *ex,
                void (*fn)(struct http_exchange *ex, void *arg), void *arg)
{
	ex->abandon = fn;
	ex->abandon_arg = arg;
}

/* See server.h. */
int
http_abandoned(const struct http_exchange *ex)
{
	return ex->abandoned || ex->timed_out || ex->conn == NULL;
}

/* --- the request ------------------------------------------------------- */

/* See server.h; "" when the request line could not be read. */
const char *
http_method(const struct http_exchange *ex)
{
	return ex->req.method != NULL ? ex->req.method : "";
}

/* See server.h; "" when the request line could not be read. */
const char *
http_target(const struct http_exchange *ex)
{
	return ex->req.target != NULL ? ex->req.target : "";
}

/* See server.h; "*" for "OPTIONS *". */
const char *
http_path(const struct http_exchange *ex)
{
	return ex->req.path;
}

/* See server.h. */
const char *
http_path_raw(const struct http_exchange *ex)
{
	return ex->req.raw_path;
}

/* See server.h. */
const char *
http_query(const struct http_exchange *ex)
{
	return ex->req.query;
}

/* See server.h. */
const char *
http_header(const struct http_exchange *ex, const char *name)
{
	return http_request_header(&ex->req, name);
}

/* See server.h; fields in the order received. */
int
http_header_at(const struct http_exchange *ex, size_t i, const char **name,
               const char **value)
{
	if (i >= ex->req.nfields)
		return 0;
	*name = ex->req.fields[i].name;
	*value = ex->req.fields[i].value;
	return 1;
}

/* See server.h; never NULL. */
const unsigned char *
http_body(const struct http_exchange *ex, size_t *len)
{
	*len = ex->req.body_len;
	return ex->req.body != NULL ? ex->req.body :
	    (const unsigned char *)"";
}

/* See server.h. */
const char *
http_peer(const struct http_exchange *ex)
{
	return ex->peer;
}

/* See server.h. Replacing data does not release the old one. */
void
http_set_data(struct http_exchange *ex, void *data,
              void (*release)(void *data))
{
	ex->data = data;
	ex->release = release;
}

/* See server.h. */
void *
http_data(const struct http_exchange *ex)
{
	return ex->data;
}
