/*
 * proxy_tunnel.c - an Upgrade (WebSocket) tunnel after the target's 101
 * (SPEC §7.7): the client's socket, taken off the server, and the
 * upstream connection pass bytes both ways until either side closes,
 * with no deadline but an end on either side's close or error. Each
 * direction stops reading while the other side's output is over a
 * watermark, so a slow reader slows the writer and memory stays bounded.
 */
#include "http/proxy_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "http/server.h"
#include "log.h"

#define TUNNEL_HIGH (256 * 1024)

struct tunnel {
	struct bufferevent *client;
	struct bufferevent *upstream;
	char *label;
	int closing;                /* one side ended: flush, then go */
};

static void
tunnel_free(struct tunnel *t)
{
	if (t->client != NULL)
		bufferevent_free(t->client);
	if (t->upstream != NULL)
		bufferevent_free(t->upstream);
	free(t->label);
	free(t);
}

static struct bufferevent *
other(struct tunnel *t, struct bufferevent *bev)
{
	return bev == t->client ? t->upstream : t->client;
}

static void
tunnel_read(struct bufferevent *bev, void *arg)
{
	struct tunnel *t = arg;
	struct bufferevent *to = other(t, bev);

	bufferevent_write_buffer(to, bufferevent_get_input(bev));
	if (evbuffer_get_length(bufferevent_get_output(to)) >= TUNNEL_HIGH)
		bufferevent_disable(bev, EV_READ);
}

/* The side's output drained: let the other side read again, or, when
 * closing, go once everything is out. */
static void
tunnel_written(struct bufferevent *bev, void *arg)
{
	struct tunnel *t = arg;

	if (t->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			tunnel_free(t);
		return;
	}
	bufferevent_enable(other(t, bev), EV_READ);
}

static void
tunnel_event(struct bufferevent *bev, short what, void *arg)
{
	struct tunnel *t = arg;
	struct bufferevent *to = other(t, bev);

	(void)what;
	/* What this side sent last still goes to the other one. */
	bufferevent_write_buffer(to, bufferevent_get_input(bev));
	log_msg(LOG_DEBUG, "upstream %s: tunnel closed by the %s", t->label,
	        bev == t->client ? "client" : "upstream");
	if (evbuffer_get_length(bufferevent_get_output(to)) == 0 ||
	    t->closing) {
		tunnel_free(t);
		return;
	}
	t->closing = 1;
	bufferevent_disable(to, EV_READ);
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	bufferevent_free(bev);
	if (bev == t->client)
		t->client = NULL;
	else
		t->upstream = NULL;
}

static struct tunnel *
tunnel_new(struct event_base *base, evutil_socket_t client_fd,
           evutil_socket_t upstream_fd, const char *label)
{
	struct tunnel *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->client = bufferevent_socket_new(base, client_fd,
	                                   BEV_OPT_CLOSE_ON_FREE);
	t->upstream = bufferevent_socket_new(base, upstream_fd,
	                                     BEV_OPT_CLOSE_ON_FREE);
	t->label = strdup(label);
	if (t->client == NULL || t->upstream == NULL || t->label == NULL) {
		if (t->client == NULL)
			close(client_fd);
		if (t->upstream == NULL)
			close(upstream_fd);
		tunnel_free(t);
		return NULL;
	}
	bufferevent_setcb(t->client, tunnel_read, tunnel_written, tunnel_event,
	                  t);
	bufferevent_setcb(t->upstream, tunnel_read, tunnel_written,
	                  tunnel_event, t);
	bufferevent_enable(t->client, EV_READ | EV_WRITE);
	bufferevent_enable(t->upstream, EV_READ | EV_WRITE);
	return t;
}

/* No tunnel after all: the client's connection is cut. */
static void
tunnel_refused(struct proxy_call *call)
{
	call->stream_begun = 1;
	call->done = 1;
	http_on_abandon(call->ex, NULL, NULL);
	http_stream_abort(call->ex);
	proxy_call_free(call);
}

/* Both sockets to a new tunnel, with what each side has pending. */
static void
tunnel_start(struct proxy_call *call, evutil_socket_t cfd,
             struct evbuffer *in, struct evbuffer *out, const char *rest,
             size_t len)
{
	evutil_socket_t ufd = dup(call->conn->fd);
	struct tunnel *t;

	if (ufd < 0) {
		close(cfd);
		return;
	}
	t = tunnel_new(call->up->base, cfd, ufd, upstream_label(call->up));
	if (t == NULL)
		return;
	bufferevent_write_buffer(t->client, out);
	bufferevent_write(t->client, rest, len);
	bufferevent_write_buffer(t->upstream, in);
}

void
proxy_tunnel(struct proxy_call *call, const char *rest, size_t len)
{
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	evutil_socket_t cfd = -1;

	call->head_seen = 1;
	event_del(call->timer);
	uptarget_record(call->target, UPSTREAM_OK);
	http_on_abandon(call->ex, NULL, NULL);
	proxy_forward_head(call, 1);
	/* An https target's tunnel would need TLS on the upstream side of
	 * the relay: not supported, the client's connection is cut. */
	if (in != NULL && out != NULL && call->conn->ssl == NULL &&
	    http_stream_begin(call->ex, 101, -1) == 0)
		cfd = http_detach(call->ex, in, out);
	if (cfd < 0) {
		tunnel_refused(call);
	} else {
		call->done = 1;
		upconn_idle_events(call->conn);
		tunnel_start(call, cfd, in, out, rest, len);
		proxy_call_free(call);
	}
	if (in != NULL)
		evbuffer_free(in);
	if (out != NULL)
		evbuffer_free(out);
}
