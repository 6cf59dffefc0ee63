/*
 * upstream_health.c - active health checks (SPEC §7.7): every
 * interval_ms, `GET path` on a fresh connection to each target, off the
 * request path. A target goes down after `unhealthy` failed checks in a
 * row and comes back after `healthy` good ones (a 2xx or 3xx status
 * line within timeout_ms). Only the status line is read; the check's
 * connection (TLS for https targets, verified as requests' are) asks to
 * be closed and is never pooled.
 */
#include "http/upstream_int.h"

#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* "HTTP/1.1 200" */
#define STATUS_LINE_MIN 12

static void check_run(evutil_socket_t fd, short what, void *arg);

static void
schedule(struct uptarget *t, unsigned ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(t->check_timer, &tv);
}

/* A check ended: count it, and the state it changes. */
static void
check_done(struct uptarget *t, int ok, const char *why)
{
	struct upstream *u = t->up;

	if (t->checking != NULL) {
		upconn_close(t->checking);
		t->checking = NULL;
	}
	if (u == NULL)
		return;
	if (ok) {
		t->check_fail = 0;
		if (t->down && ++t->check_ok >= u->healthy) {
			t->down = 0;
			log_msg(LOG_INFO, "upstream %s: target %s is healthy "
			        "again", u->label, t->url);
		}
	} else {
		t->check_ok = 0;
		if (!t->down && ++t->check_fail >= u->unhealthy) {
			t->down = 1;
			log_msg(LOG_WARN, "upstream %s: target %s is down: %s",
			        u->label, t->url, why);
		}
	}
	schedule(t, u->health_interval_ms);
}

/* Parses "HTTP/1.x NNN" at the start of buf: the status, or 0. */
static int
status_of(const char *buf, size_t len)
{
	if (len < STATUS_LINE_MIN || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    buf[8] != ' ' || buf[9] < '1' || buf[9] > '9' ||
	    buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9')
		return 0;
	return (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
}

static unsigned
time_left(struct uptarget *t)
{
	uint64_t now = upstream_now_ms();

	return now >= t->check_deadline_ms ? 1 :
	    (unsigned)(t->check_deadline_ms - now);
}

static void
check_read(struct upconn *c, short what, void *arg)
{
	struct uptarget *t = arg;
	ssize_t n;
	int status;

	if (what & EV_TIMEOUT) {
		check_done(t, 0, "no answer in time");
		return;
	}
	n = upconn_recv(c, t->check_buf + t->check_len,
	                sizeof(t->check_buf) - t->check_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		upconn_wait(c, EV_READ | (c->ssl != NULL && c->want == EV_WRITE ?
		            EV_WRITE : 0), time_left(t), check_read, t);
		return;
	}
	if (n > 0) {
		t->check_len += (size_t)n;
		if (t->check_len < STATUS_LINE_MIN) {
			upconn_wait(c, EV_READ, time_left(t), check_read, t);
			return;
		}
	}
	status = status_of(t->check_buf, t->check_len);
	check_done(t, status >= 200 && status < 400,
	           status == 0 ? "no valid status line" : "bad status");
}

static void
check_send(struct upconn *c, short what, void *arg)
{
	struct uptarget *t = arg;
	char req[1024];
	int len;

	if (what & EV_TIMEOUT) {
		check_done(t, 0, "no answer in time");
		return;
	}
	switch (upconn_handshake(c)) {
	case 0:
		upconn_wait(c, c->want, time_left(t), check_send, t);
		return;
	case -1:
		check_done(t, 0, c->tls_why);
		return;
	}
	len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	               "User-Agent: asterd-health-check\r\n"
	               "Connection: close\r\n\r\n", t->up->health_path,
	               t->authority);
	if (len <= 0 || (size_t)len >= sizeof(req) ||
	    upconn_send(c, req, (size_t)len) != len) {
		check_done(t, 0, "request not sent");
		return;
	}
	t->check_len = 0;
	upconn_wait(c, EV_READ, time_left(t), check_read, t);
}

/* TCP is up (or not): TLS next for an https target. */
static void
check_connected(struct upconn *c, short what, void *arg)
{
	struct uptarget *t = arg;

	if ((what & EV_TIMEOUT) || upconn_connect_result(c) != 0) {
		check_done(t, 0, (what & EV_TIMEOUT) ? "connect timed out" :
		           "connect failed");
		return;
	}
	if (t->scheme == TARGET_HTTPS && upconn_tls_start(c) < 0) {
		check_done(t, 0, c->tls_why);
		return;
	}
	check_send(c, EV_WRITE, t);
}

static void
check_run(evutil_socket_t fd, short what, void *arg)
{
	struct uptarget *t = arg;
	int err;

	(void)fd;
	(void)what;
	if (t->up == NULL || t->checking != NULL)
		return;
	t->check_deadline_ms = upstream_now_ms() + t->up->health_timeout_ms;
	t->checking = upconn_open(t, &err);
	if (t->checking == NULL) {
		check_done(t, 0, "cannot connect");
		return;
	}
	t->up->counts.connections_opened--;     /* not a request's */
	upconn_wait(t->checking, EV_WRITE, time_left(t), check_connected, t);
}

void
health_start(struct uptarget *t)
{
	health_stop(t);
	t->check_timer = evtimer_new(t->up->base, check_run, t);
	if (t->check_timer != NULL)
		schedule(t, 0);
}

void
health_stop(struct uptarget *t)
{
	if (t->checking != NULL) {
		upconn_close(t->checking);
		t->checking = NULL;
	}
	if (t->check_timer != NULL) {
		event_free(t->check_timer);
		t->check_timer = NULL;
	}
}
