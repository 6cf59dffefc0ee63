/*
 * proxy_tunnel.c - an Upgrade (WebSocket) tunnel after the target's 101
 * (SPEC §7.7): the client's socket, taken off the server, and the
 * connection to the target (plain or TLS, through upstream_tls.c's I/O)
 * pass bytes both ways until either side closes, with no deadline.
 *
 * Each direction holds at most TUNNEL_HIGH bytes the other side has not
 * taken: past it, the side that sends stops being read until the other
 * has caught up, so a slow reader slows the writer and memory stays
 * bounded. When one side ends, what it sent before goes on to the other
 * (as far as it takes it at once), and the tunnel closes.
 */
#include "http/proxy_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "http/server.h"
#include "log.h"

#define TUNNEL_HIGH (256 * 1024)
#define TUNNEL_READ (64 * 1024)

struct tunnel {
	struct bufferevent *client;
	struct upconn *conn;        /* to the target */
	struct evbuffer *to_upstream;   /* from the client, not yet sent */
	char *label;
	int closing;                /* the target ended: the client gets
	                               what is queued for it, then goes */
};

static void
tunnel_free(struct tunnel *t, const char *by)
{
	log_msg(LOG_DEBUG, "upstream %s: tunnel closed by the %s", t->label,
	        by);
	if (t->client != NULL)
		bufferevent_free(t->client);
	if (t->conn != NULL)
		upconn_close(t->conn);
	if (t->to_upstream != NULL)
		evbuffer_free(t->to_upstream);
	free(t->label);
	free(t);
}

static void upstream_event(struct upconn *c, short what, void *arg);

/* The target ended: what it sent last still goes to the client, then
 * the tunnel closes. */
static void
upstream_ended(struct tunnel *t)
{
	upconn_close(t->conn);
	t->conn = NULL;
	if (evbuffer_get_length(bufferevent_get_output(t->client)) == 0) {
		tunnel_free(t, "upstream");
		return;
	}
	t->closing = 1;
	bufferevent_disable(t->client, EV_READ);
	bufferevent_setwatermark(t->client, EV_WRITE, 0, 0);
}

/* What the target side waits for now: input unless the client is
 * behind, room when there is something to send. */
static int
upstream_wait(struct tunnel *t)
{
	short what = 0;

	if (evbuffer_get_length(bufferevent_get_output(t->client)) <
	    TUNNEL_HIGH)
		what |= EV_READ;
	if (evbuffer_get_length(t->to_upstream) > 0)
		what |= EV_WRITE;
	if (t->conn->ssl != NULL && t->conn->want == EV_WRITE)
		what |= EV_WRITE;
	return upconn_wait(t->conn, what, 0, upstream_event, t);
}

/* Sends what the client sent; -1 when the target is gone. */
static int
upstream_flush(struct tunnel *t)
{
	while (evbuffer_get_length(t->to_upstream) > 0) {
		if (upconn_write(t->conn, t->to_upstream) > 0)
			continue;
		if (errno == EAGAIN || errno == EINTR)
			break;
		return -1;
	}
	/* The client may send again once its bytes are (mostly) out. */
	if (evbuffer_get_length(t->to_upstream) < TUNNEL_HIGH / 2)
		bufferevent_enable(t->client, EV_READ);
	return 0;
}

/* Reads from the target into the client's output: 1 go on, 0 the
 * target ended, -1 failed. */
static int
upstream_read(struct tunnel *t)
{
	char buf[TUNNEL_READ];
	ssize_t n;

	while (evbuffer_get_length(bufferevent_get_output(t->client)) <
	       TUNNEL_HIGH) {
		n = upconn_recv(t->conn, buf, sizeof(buf));
		if (n > 0) {
			bufferevent_write(t->client, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 1;
		return n == 0 ? 0 : -1;
	}
	return 1;
}

static void
upstream_event(struct upconn *c, short what, void *arg)
{
	struct tunnel *t = arg;

	(void)c;
	if (upstream_flush(t) < 0 || ((what & EV_READ) || upconn_pending(c) ?
	                              upstream_read(t) : 1) <= 0 ||
	    upstream_wait(t) < 0)
		upstream_ended(t);
}

static void
client_read(struct bufferevent *bev, void *arg)
{
	struct tunnel *t = arg;

	if (t->closing)
		return;
	evbuffer_add_buffer(t->to_upstream, bufferevent_get_input(bev));
	if (evbuffer_get_length(t->to_upstream) >= TUNNEL_HIGH)
		bufferevent_disable(bev, EV_READ);
	if (upstream_flush(t) < 0 || upstream_wait(t) < 0)
		upstream_ended(t);
}

/* The client took its output down: the target may be read again (or,
 * closing, the tunnel goes once all is out). */
static void
client_written(struct bufferevent *bev, void *arg)
{
	struct tunnel *t = arg;

	if (t->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			tunnel_free(t, "upstream");
		return;
	}
	if (upstream_wait(t) < 0)
		upstream_ended(t);
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	struct tunnel *t = arg;

	(void)what;
	if (t->conn != NULL) {
		evbuffer_add_buffer(t->to_upstream,
		                    bufferevent_get_input(bev));
		upstream_flush(t);
	}
	tunnel_free(t, "client");
}

static struct tunnel *
tunnel_new(struct proxy_call *call, evutil_socket_t cfd)
{
	struct tunnel *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		close(cfd);
		return NULL;
	}
	t->client = bufferevent_socket_new(call->up->base, cfd,
	                                   BEV_OPT_CLOSE_ON_FREE);
	t->to_upstream = evbuffer_new();
	t->label = strdup(upstream_label(call->up));
	if (t->client == NULL || t->to_upstream == NULL || t->label == NULL) {
		if (t->client == NULL)
			close(cfd);
		tunnel_free(t, "proxy (out of memory)");
		return NULL;
	}
	/* The connection is the tunnel's from now on. */
	t->conn = call->conn;
	call->conn = NULL;
	bufferevent_setwatermark(t->client, EV_WRITE, TUNNEL_HIGH / 2, 0);
	bufferevent_setcb(t->client, client_read, client_written,
	                  client_event, t);
	bufferevent_enable(t->client, EV_READ | EV_WRITE);
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

void
proxy_tunnel(struct proxy_call *call, const char *rest, size_t len)
{
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	evutil_socket_t cfd = -1;
	struct tunnel *t;

	call->head_seen = 1;
	event_del(&call->timer);
	uptarget_record(call->target, UPSTREAM_OK);
	http_on_abandon(call->ex, NULL, NULL);
	proxy_forward_head(call, 1);
	if (in != NULL && out != NULL &&
	    http_stream_begin(call->ex, 101, -1) == 0)
		cfd = http_detach(call->ex, in, out);
	if (cfd < 0) {
		tunnel_refused(call);
	} else {
		call->done = 1;
		if ((t = tunnel_new(call, cfd)) != NULL) {
			bufferevent_write_buffer(t->client, out);
			bufferevent_write(t->client, rest, len);
			evbuffer_add_buffer(t->to_upstream, in);
			upstream_event(t->conn, EV_WRITE, t);
		}
		proxy_call_free(call);
	}
	if (in != NULL)
		evbuffer_free(in);
	if (out != NULL)
		evbuffer_free(out);
}
