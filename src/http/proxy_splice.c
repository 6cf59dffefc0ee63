/*
 * proxy_splice.c - a large response body moved from the upstream's
 * socket to the client's without passing through asterd's memory:
 * splice(2) into a pipe and out of it, the pages moved by the kernel.
 *
 * Only where nothing has to change on the way: a Content-Length body
 * (no chunk framing either side), plain sockets both ways, and at least
 * PROXY_SPLICE_MIN bytes still to come. The pipe is the only buffer:
 * when the client does not take it, asterd stops taking from the
 * upstream (back-pressure as in proxy.c, with the pipe's size as the
 * bound), and waits for room with an event of its own on the client's
 * socket. Anything else goes through proxy.c's reads and writes.
 */
#include "http/proxy_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "http/server.h"

/* Bytes a pipe holds at most (F_SETPIPE_SZ; the kernel's 64 KiB when
 * it refuses). */
#define PIPE_BYTES (1024 * 1024)

struct proxy_splice {
	int pipe[2];
	size_t in_pipe;
	evutil_socket_t client;
	struct event *room;         /* the client's socket can take more */
};

static void splice_pump(struct proxy_call *call);

void
proxy_splice_free(struct proxy_call *call)
{
	struct proxy_splice *sp = call->splice;

	if (sp == NULL)
		return;
	if (sp->room != NULL)
		event_free(sp->room);
	close(sp->pipe[0]);
	close(sp->pipe[1]);
	free(sp);
	call->splice = NULL;
}

static void
client_room(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	splice_pump(arg);
}

static void
upstream_input(struct upconn *c, short what, void *arg)
{
	struct proxy_call *call = arg;

	(void)c;
	if (what & EV_TIMEOUT) {
		proxy_response_broken(call, UPSTREAM_TIMEOUT);
		return;
	}
	splice_pump(call);
}

/* Moves what the pipe holds to the client: 1 all of it, 0 the client
 * is full (waiting for room), -1 the client is gone. */
static int
drain_pipe(struct proxy_call *call, struct proxy_splice *sp)
{
	while (sp->in_pipe > 0) {
		ssize_t n = splice(sp->pipe[0], NULL, sp->client, NULL,
		                   sp->in_pipe, SPLICE_F_MOVE |
		                   SPLICE_F_NONBLOCK);

		if (n > 0) {
			sp->in_pipe -= (size_t)n;
			http_stream_moved(call->ex, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			upconn_wait(call->conn, 0, 0, upstream_input, call);
			return event_add(sp->room, NULL) == 0 ? 0 : -1;
		}
		return -1;
	}
	return 1;
}

static void
splice_pump(struct proxy_call *call)
{
	struct proxy_splice *sp = call->splice;
	uint64_t left;
	ssize_t n;
	int rc;

	for (;;) {
		if ((rc = drain_pipe(call, sp)) <= 0) {
			if (rc < 0)
				proxy_response_broken(call, UPSTREAM_OK);
			return;
		}
		if ((left = resp_body_left(&call->resp)) == 0) {
			proxy_splice_free(call);
			proxy_response_feed_end(call);
			return;
		}
		n = splice(call->conn->fd, NULL, sp->pipe[1], NULL,
		           left < PIPE_BYTES ? (size_t)left : PIPE_BYTES,
		           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			sp->in_pipe += (size_t)n;
			resp_body_moved(&call->resp, (uint64_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (upconn_wait(call->conn, EV_READ, call->try_timeout_ms,
			                upstream_input, call) < 0)
				proxy_response_broken(call, UPSTREAM_RESET);
			return;
		}
		/* The upstream closed (or failed) before its Content-Length
		 * was all there. */
		proxy_response_broken(call, UPSTREAM_RESET);
		return;
	}
}

int
proxy_splice_try(struct proxy_call *call)
{
	struct proxy_splice *sp;
	evutil_socket_t client;

	if (call->splice != NULL)
		return 1;
	if (call->conn->ssl != NULL ||
	    resp_body_left(&call->resp) < PROXY_SPLICE_MIN)
		return 0;
	http_stream_flush(call->ex);
	if ((client = http_stream_socket(call->ex)) < 0 ||
	    (sp = calloc(1, sizeof(*sp))) == NULL)
		return 0;
	if (pipe2(sp->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		free(sp);
		return 0;
	}
	fcntl(sp->pipe[1], F_SETPIPE_SZ, PIPE_BYTES);
	sp->client = client;
	sp->room = event_new(call->up->base, client, EV_WRITE, client_room,
	                     call);
	call->splice = sp;
	if (sp->room == NULL) {
		proxy_splice_free(call);
		return 0;
	}
	splice_pump(call);
	return 1;
}
