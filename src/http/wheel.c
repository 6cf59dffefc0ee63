/*
 * wheel.c - connection deadlines on a timing wheel.
 *
 * Deadlines: each connection has at most one, a monotonic time in
 * milliseconds on a timing wheel of TICK_MS slots that one periodic event
 * per server sweeps; a timeout fires up to one tick late. Moving a
 * deadline within its slot is a store, and clearing one is lazy (the sweep
 * unlinks it), so a keep-alive stream touches the wheel a few times a
 * second per connection. "Now" is read once per callback of ours, as
 * libevent reads it once per loop turn for its own timers.
 */
#include "http/server_int.h"

#include <stdio.h>

#include "http/problem.h"

/*
 * Gives c the deadline ms from now, or none for 0. Clearing only zeroes
 * the time: the sweep unlinks the connection, unless a new deadline in
 * the same slot came first, which is the keep-alive case (idle, then
 * none while a request runs, then idle again a few microseconds later).
 */
void
conn_deadline(struct http_conn *c, unsigned ms)
{
	struct http_server *s = c->server;
	struct timeval tv = { 0, TICK_MS * 1000 };
	uint64_t now, at;
	unsigned slot;

	if (ms == 0) {
		c->deadline = 0;
		return;
	}
	now = server_now(s) / 1000u;
	at = now + ms;
	slot = (unsigned)(at / TICK_MS % WHEEL_SLOTS);
	c->deadline = at;
	if (c->on_wheel && c->slot == slot)
		return;
	if (c->on_wheel) {
		LIST_REMOVE(c, wheel_link);
	} else {
		c->on_wheel = 1;
		s->nwheel++;
	}
	c->slot = slot;
	LIST_INSERT_HEAD(&s->wheel[slot], c, wheel_link);
	if (!s->ticking && evtimer_add(s->tick, &tv) == 0) {
		s->ticking = 1;
		s->wheel_tick = now / TICK_MS;
	}
}

void
wheel_unlink(struct http_conn *c)
{
	if (!c->on_wheel)
		return;
	LIST_REMOVE(c, wheel_link);
	c->on_wheel = 0;
	c->server->nwheel--;
}

/*
 * The handler has not answered in time: the error hook answers 504 in
 * its place (see exchange.c), and the connection goes on as after any
 * answer. The request was read whole, so the stream is still framed and
 * a keep-alive connection stays open.
 */
static void
handler_timeout(struct http_conn *c)
{
	struct http_server *s = c->server;
	struct http_exchange *ex = c->ex;
	char detail[96];

	snprintf(detail, sizeof(detail), "the request was not answered "
	         "within %u ms", s->limits.request_timeout_ms);
	s->on_error(ex, 504, "gateway-timeout", detail, s->arg);
	if (!ex->responded && !s->dying)
		problem_send(ex, 504, "gateway-timeout", detail, NULL);
	/* That answer was the server's: the handler still owes its own
	 * (respond() completes nothing, so nothing has run meanwhile). */
	if (ex->responded) {
		ex->timed_out = 1;
		ex->held = 1;
		exchange_abandon(ex, s);
	}
}

/* c's deadline has passed. */
static void
conn_expire(struct http_conn *c)
{
	switch (c->state) {
	case CONN_READING:
		conn_fail(c, 408, "request-timeout",
		          "request not complete in time");
		break;
	case CONN_HANDLING:
		/* A streamed body that stopped coming: the client is gone
		 * for all we can tell (body_stream.c). */
		if (c->ex->body_fn != NULL && !c->ex->body_paused)
			conn_close(c);
		else
			handler_timeout(c);
		break;
	default:
		/* idle, lingering, or a client that stopped reading (also
		 * a stream's) */
		conn_close(c);
		break;
	}
}

/*
 * Every TICK_MS: the slots from the first one not fully swept to the
 * current one (swept again next time: it may hold deadlines still to
 * come). A slot also holds deadlines of later turns of the wheel, which
 * stay. Expiring runs callbacks that may close other connections of the
 * slot, so it is taken off whole and each connection put back or expired
 * in turn.
 */
void
wheel_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *s = arg;
	struct conn_slot due, *slot;
	struct http_conn *c;
	uint64_t now, cur, t, n;

	(void)fd;
	(void)what;
	s->depth++;
	now = server_now(s) / 1000u;
	cur = now / TICK_MS;
	n = cur >= s->wheel_tick ? cur - s->wheel_tick + 1 : 1;
	if (n > WHEEL_SLOTS)
		n = WHEEL_SLOTS;
	for (t = cur + 1 - n; t <= cur; t++) {
		slot = &s->wheel[t % WHEEL_SLOTS];
		LIST_INIT(&due);
		if ((c = LIST_FIRST(slot)) != NULL) {
			due.lh_first = c;
			c->wheel_link.le_prev = &due.lh_first;
			LIST_INIT(slot);
		}
		while ((c = LIST_FIRST(&due)) != NULL) {
			LIST_REMOVE(c, wheel_link);
			if (s->dying || c->deadline > now) {
				LIST_INSERT_HEAD(slot, c, wheel_link);
				continue;
			}
			c->on_wheel = 0;
			s->nwheel--;
			if (c->deadline != 0) {
				c->deadline = 0;
				conn_expire(c);
			}
		}
	}
	s->wheel_tick = cur;
	if (s->nwheel == 0 && !s->dying) {
		event_del(s->tick);
		s->ticking = 0;
	}
	server_leave(s);
}
