/*
 * upstream_pick.c - the target of an attempt (round-robin, or least
 * requests in flight by the power of two random choices), and passive
 * ejection (SPEC §7.7).
 *
 * Ejection: eject.consecutive_failures failed attempts in a row (connect
 * errors, resets, attempt timeouts, invalid responses; an answer of any
 * status is a success) take a target out for base_ms times the number
 * of its ejections so far, at most ten times. It comes back by itself
 * when the time is up; the count of ejections falls back to zero once
 * it has answered well for as long as its last ejection lasted.
 */
#include "http/upstream_int.h"

#include <stdlib.h>

#define EJECT_MAX_FACTOR 10

/* --- choosing a target ------------------------------------------------- */

static int
was_tried(struct uptarget *t, struct uptarget **tried, size_t ntried)
{
	size_t i;

	for (i = 0; i < ntried; i++)
		if (tried[i] == t)
			return 1;
	return 0;
}

/* The available targets into v (untried ones only when there are any);
 * their count. */
static size_t
candidates(struct upstream *u, struct uptarget **tried, size_t ntried,
           uint64_t now, struct uptarget **v)
{
	size_t i, n = 0, fresh = 0;

	for (i = 0; i < u->ntargets; i++) {
		struct uptarget *t = u->targets[i];

		if (!uptarget_available(t, now))
			continue;
		if (!was_tried(t, tried, ntried)) {
			v[n++] = v[fresh];
			v[fresh++] = t;
		} else {
			v[n++] = t;
		}
	}
	return fresh > 0 ? fresh : n;
}

static unsigned
first_back_ms(struct upstream *u, uint64_t now)
{
	uint64_t best = 0;
	size_t i;

	for (i = 0; i < u->ntargets; i++) {
		struct uptarget *t = u->targets[i];
		uint64_t back = t->down ? u->health_interval_ms *
		    (uint64_t)u->healthy : t->ejected_until_ms > now ?
		    t->ejected_until_ms - now : 0;

		if (back > 0 && (best == 0 || back < best))
			best = back;
	}
	return (unsigned)best;
}

struct uptarget *
upstream_pick(struct upstream *u, struct uptarget **tried, size_t ntried,
              unsigned *retry_ms)
{
	uint64_t now = upstream_now_ms();
	struct uptarget *stack[16], **v = stack, *t;
	size_t n;

	if (u->ntargets > 16 && (v = malloc(u->ntargets * sizeof(*v))) == NULL)
		return NULL;
	n = candidates(u, tried, ntried, now, v);
	if (n == 0) {
		t = NULL;
		*retry_ms = first_back_ms(u, now);
	} else if (n == 1) {
		t = v[0];
	} else if (u->least_request) {
		size_t a = upstream_random() % n, b = upstream_random() % (n - 1);

		if (b >= a)
			b++;
		t = v[b]->in_flight < v[a]->in_flight ? v[b] : v[a];
	} else {
		t = v[u->rr++ % n];
	}
	if (v != stack)
		free(v);
	return t;
}

/* --- outcomes ---------------------------------------------------------- */

static void
eject(struct upstream *u, struct uptarget *t, uint64_t now)
{
	unsigned factor;

	if (t->ejections < EJECT_MAX_FACTOR)
		t->ejections++;
	factor = t->ejections;
	t->ejected_until_ms = now + (uint64_t)u->eject_base_ms * factor;
	t->failures = 0;
}

void
uptarget_record(struct uptarget *t, enum upstream_outcome o)
{
	struct upstream *u = t->up;
	uint64_t now;

	if (u == NULL)
		return;
	u->counts.attempts[o]++;
	if (!u->has_eject)
		return;
	now = upstream_now_ms();
	if (o == UPSTREAM_OK) {
		t->failures = 0;
		if (t->ejections > 0 && t->ejected_until_ms != 0 &&
		    now >= t->ejected_until_ms + (uint64_t)u->eject_base_ms *
		    t->ejections) {
			t->ejections = 0;
			t->ejected_until_ms = 0;
		}
		return;
	}
	if (++t->failures >= u->eject_failures)
		eject(u, t, now);
}
