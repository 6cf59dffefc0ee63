/*
 * upstream_conn.c - one connection to a target, and the target's pool of
 * idle keep-alive connections.
 *
 * A connection is a non-blocking socket with one event and one timer,
 * both told to whoever uses it now: an attempt, a health check, or the
 * pool. While pooled, a connection waits for input with the idle
 * timeout: anything arriving then (the upstream's FIN, mostly) or the
 * timeout closes it, so the pool holds only connections the target has
 * not given up. Taking one from the pool also peeks at the socket, since
 * a FIN may have arrived in this very loop turn, before its event ran,
 * when the connection has been idle long enough for an upstream's
 * keep-alive timeout to be near (a connection busy a moment ago is not
 * worth the system call): a connection the upstream closed is not handed
 * out, and one that closes as a request goes out is retried (proxy.c).
 */
#include "http/upstream_int.h"

#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <unistd.h>

/* Input: the owner hears it while reading is on (the event persists,
 * so a connection moving between the pool and requests costs no
 * epoll_ctl()). */
static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upconn *c = arg;

	(void)fd;
	(void)what;
	evtimer_del(&c->timer);
	if (c->write_on) {
		event_del(&c->wev);
		c->write_on = 0;
	}
	if (c->on_event != NULL)
		c->on_event(c, EV_READ, c->arg);
}

static void
write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upconn *c = arg;

	(void)fd;
	(void)what;
	c->write_on = 0;
	evtimer_del(&c->timer);
	if (c->on_event != NULL)
		c->on_event(c, EV_WRITE, c->arg);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upconn *c = arg;

	(void)fd;
	(void)what;
	if (c->write_on) {
		event_del(&c->wev);
		c->write_on = 0;
	}
	if (c->on_event != NULL)
		c->on_event(c, EV_TIMEOUT, c->arg);
}

static struct upconn *
upconn_new(struct uptarget *t, evutil_socket_t fd)
{
	struct upconn *c = calloc(1, sizeof(*c));
	struct event_base *base = t->up->base;

	if (c == NULL)
		return NULL;
	c->target = uptarget_ref(t);
	c->fd = fd;
	event_assign(&c->rev, base, fd, EV_READ | EV_PERSIST, read_cb, c);
	event_assign(&c->wev, base, fd, EV_WRITE, write_cb, c);
	evtimer_assign(&c->timer, base, timer_cb, c);
	return c;
}

struct upconn *
upconn_open(struct uptarget *t, int *err)
{
	int fd, one = 1;
	struct upconn *c;

	*err = 0;
	if (t->up == NULL || !t->addr_ok) {
		*err = EHOSTUNREACH;
		return NULL;
	}
	fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	            SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	if (t->addr.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&t->addr, t->addrlen) < 0 &&
	    errno != EINPROGRESS && errno != EAGAIN) {
		*err = errno;
		close(fd);
		return NULL;
	}
	if ((c = upconn_new(t, fd)) == NULL) {
		*err = ENOMEM;
		close(fd);
		return NULL;
	}
	c->connecting = 1;
	t->up->counts.connections_opened++;
	return c;
}

int
upconn_connect_result(struct upconn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	if (err == 0)
		c->connecting = 0;
	return err;
}

static int
reading(struct upconn *c, int on)
{
	if (on == c->read_on)
		return 0;
	if (on && event_add(&c->rev, NULL) < 0)
		return -1;
	if (!on)
		event_del(&c->rev);
	c->read_on = on;
	return 0;
}

int
upconn_wait(struct upconn *c, short what, unsigned ms,
            void (*fn)(struct upconn *c, short what, void *arg), void *arg)
{
	struct timeval tv;

	c->on_event = fn;
	c->arg = arg;
	if (reading(c, (what & EV_READ) != 0) < 0)
		return -1;
	if ((what & EV_WRITE) && !c->write_on) {
		if (event_add(&c->wev, NULL) < 0)
			return -1;
		c->write_on = 1;
	} else if (!(what & EV_WRITE) && c->write_on) {
		event_del(&c->wev);
		c->write_on = 0;
	}
	if (ms > 0) {
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		if (evtimer_add(&c->timer, &tv) < 0)
			return -1;
	} else {
		evtimer_del(&c->timer);
	}
	/* Decrypted bytes wait in OpenSSL: the socket will not say so. */
	if ((what & EV_READ) && upconn_pending(c))
		event_active(&c->rev, EV_READ, 1);
	return 0;
}

void
upconn_idle_events(struct upconn *c)
{
	reading(c, 0);
	if (c->write_on) {
		event_del(&c->wev);
		c->write_on = 0;
	}
	evtimer_del(&c->timer);
	c->on_event = NULL;
}

void
upconn_close(struct upconn *c)
{
	struct uptarget *t = c->target;

	if (c->pooled) {
		TAILQ_REMOVE(&t->idle, c, link);
		t->nidle--;
	}
	upconn_idle_events(c);
	upconn_tls_free(c);
	close(c->fd);
	free(c);
	uptarget_unref(t);
}

/* Input or the idle timeout on a pooled connection: it goes (unless
 * the input was TLS housekeeping, a session ticket). */
static void
pooled_event(struct upconn *c, short what, void *arg)
{
	(void)arg;
	if (what == EV_READ && upconn_idle_input_ok(c))
		return;
	upconn_close(c);
}

void
upconn_release(struct upconn *c)
{
	struct uptarget *t = c->target;
	struct upstream *u = t->up;

	if (u == NULL || t->nidle >= u->keepalive ||
	    upconn_wait(c, EV_READ, c->idle_ms != 0 &&
	                c->idle_ms < UPSTREAM_IDLE_MS ? c->idle_ms :
	                UPSTREAM_IDLE_MS, pooled_event, NULL) < 0) {
		upconn_close(c);
		return;
	}
	c->pooled = 1;
	c->idle_since_ms = upstream_now_ms();
	TAILQ_INSERT_HEAD(&t->idle, c, link);
	t->nidle++;
}

/* Still open as far as this side can tell: no FIN, no error, and no
 * stray bytes waiting. */
static int
looks_open(struct upconn *c)
{
	char b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n > 0 && c->ssl != NULL)
		return upconn_idle_input_ok(c);
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

struct upconn *
upconn_take_idle(struct uptarget *t)
{
	uint64_t now = upstream_now_ms();
	struct upconn *c;

	while ((c = TAILQ_FIRST(&t->idle)) != NULL) {
		TAILQ_REMOVE(&t->idle, c, link);
		t->nidle--;
		c->pooled = 0;
		c->on_event = NULL;
		evtimer_del(&c->timer);
		if (now - c->idle_since_ms < UPSTREAM_PEEK_AFTER_MS ||
		    looks_open(c)) {
			if (t->up != NULL)
				t->up->counts.connections_reused++;
			return c;
		}
		upconn_close(c);
	}
	return NULL;
}

void
uptarget_close_idle(struct uptarget *t)
{
	struct upconn *c;

	while ((c = TAILQ_FIRST(&t->idle)) != NULL)
		upconn_close(c);
}
