/*
 * held.c - the operations that answer after handle() returned:
 *
 *   later   answers 200 {"late": true, "ms": MS} (with X-Probe-Late: yes)
 *           from a timer on the service's event loop, `ms` (default 0)
 *           after the request; its abandon callback only notes the
 *           abandon, so that an abandoned request is still answered when
 *           the timer fires, and that late answer's return value shows
 *           in the log.
 *   hang    never answers on its own; its abandon callback answers at
 *           once, from inside the callback (a 503 problem).
 *
 * Both log the event "held" when handle() returns (alive: aster_alive()
 * then), "abandoned" in the abandon callback (alive: aster_alive() in
 * it; abandons: the count so far) and "answered" with the answer's
 * return value, aster_alive() just before it, and the abandons seen. A
 * request still held at stop() is answered with 503 there.
 */
#include "probe.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct probe_held *
held_new(struct probe *p, struct aster_request *r, const char *op)
{
	struct probe_held *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->probe = p;
	h->req = r;
	h->op = op;
	snprintf(h->id, sizeof(h->id), "%s", aster_request_id(r));
	LIST_INSERT_HEAD(&p->held, h, link);
	return h;
}

static void
held_free(struct probe_held *h)
{
	LIST_REMOVE(h, link);
	if (h->timer != NULL)
		event_free(h->timer);
	free(h);
}

/* The answer of `later` (from the timer), whatever became of the
 * request meanwhile. */
static void
later_answer(struct probe_held *h)
{
	int alive = aster_alive(h->req), rc;
	char body[64];

	aster_add_header(h->req, "X-Probe-Late", "yes");
	snprintf(body, sizeof(body), "{\"late\":true,\"ms\":%ld}", h->ms);
	rc = aster_respond_json(h->req, 200, body);
	probe_log(h->probe, h->op, "answered", h->id, alive, rc, h->abandons);
	held_free(h);
}

static void
later_fire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	later_answer(arg);
}

static void
later_abandoned(struct aster_request *r, void *arg)
{
	struct probe_held *h = arg;

	h->abandons++;
	probe_log(h->probe, h->op, "abandoned", h->id, aster_alive(r),
	          PROBE_UNSET, h->abandons);
}

int
probe_later(void *state, struct aster_request *r)
{
	struct probe *p = state;
	struct probe_held *h = held_new(p, r, "later");
	struct timeval tv;

	if (h == NULL)
		return -1;
	h->ms = probe_query_long(r, "ms", 0);
	/* From now, not from the loop's cached time of this turn, which
	 * may be a little behind the request's arrival. */
	event_base_update_cache_time(p->host->event_base(p->svc));
	h->timer = evtimer_new(p->host->event_base(p->svc), later_fire, h);
	tv.tv_sec = h->ms / 1000;
	tv.tv_usec = (h->ms % 1000) * 1000;
	if (h->timer == NULL || evtimer_add(h->timer, &tv) != 0) {
		held_free(h);
		return -1;
	}
	aster_on_abandon(r, later_abandoned, h);
	probe_log(p, h->op, "held", h->id, aster_alive(r), PROBE_UNSET,
	          PROBE_UNSET);
	return 0;
}

/* Answers from inside the callback: r is released by the answer, and
 * asterd must not touch it once the callback returns. */
static void
hang_abandoned(struct aster_request *r, void *arg)
{
	struct probe_held *h = arg;
	int alive = aster_alive(r), rc;

	h->abandons++;
	probe_log(h->probe, h->op, "abandoned", h->id, alive, PROBE_UNSET,
	          h->abandons);
	rc = aster_problem(r, 503, "unavailable", "httpprobe: abandoned",
	                   NULL, 0);
	probe_log(h->probe, h->op, "answered", h->id, alive, rc, h->abandons);
	held_free(h);
}

int
probe_hang(void *state, struct aster_request *r)
{
	struct probe *p = state;
	struct probe_held *h = held_new(p, r, "hang");

	if (h == NULL)
		return -1;
	aster_on_abandon(r, hang_abandoned, h);
	probe_log(p, h->op, "held", h->id, aster_alive(r), PROBE_UNSET,
	          PROBE_UNSET);
	return 0;
}

void
probe_release_held(struct probe *p)
{
	while (!LIST_EMPTY(&p->held)) {
		struct probe_held *h = LIST_FIRST(&p->held);
		int rc = aster_problem(h->req, 503, "unavailable",
		                       "httpprobe is stopping", NULL, 0);

		fprintf(stderr, "httpprobe: answered %s %s at stop (%d)\n",
		        h->op, h->id, rc);
		held_free(h);
	}
}
