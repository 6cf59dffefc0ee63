/*
 * notify.c - notifications (aster/store.h: publish, subscribe,
 * unsubscribe) of the SQLite store: one asterd per database file, so
 * they stay within the process and never touch the database.
 *
 * A publish makes two requests: an SQ_NOTE carrying the notification and
 * an SQ_PUBLISH answering the caller. Without a transaction both go
 * straight to the done queue, the note first, and the eventfd wakes the
 * loop, so the subscribers hear it later, never inside the call, and the
 * caller's callback runs after them. In a transaction the publish waits
 * its turn on the transaction's queue like a statement (refused once a
 * statement failed); the worker keeps the note on the transaction and
 * posts it after a successful COMMIT, or drops it (worker.c).
 *
 * Subscriptions are a list on the loop side. A callback may unsubscribe
 * itself or others, subscribe, publish or stop the store: while
 * callbacks run (s->draining > 0) an unsubscribed entry is only marked
 * gone, and freed when the outermost sq_drain() ends (sq_subs_sweep).
 */
#include "sq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SQ_CHANNEL_MAX 63
#define SQ_PAYLOAD_MAX 7999

/* store.h: 1 to 63 bytes of [a-z0-9_], not starting with a digit. */
static int
sq_channel_ok(const char *c)
{
	size_t n;

	if (c == NULL || !((c[0] >= 'a' && c[0] <= 'z') || c[0] == '_'))
		return 0;
	for (n = 0; c[n] != '\0'; n++)
		if (!((c[n] >= 'a' && c[n] <= 'z') ||
		      (c[n] >= '0' && c[n] <= '9') || c[n] == '_') ||
		    n >= SQ_CHANNEL_MAX)
			return 0;
	return 1;
}

/* The live subscription (channel, cb, arg), or NULL. */
static struct sq_sub *
sq_sub_find(struct sq_store *s, const char *channel,
            void (*cb)(void *, const char *), void *arg)
{
	struct sq_sub *u;

	for (u = s->subs; u != NULL; u = u->next)
		if (!u->gone && u->cb == cb && u->arg == arg &&
		    strcmp(u->channel, channel) == 0)
			return u;
	return NULL;
}

/* Wakes the loop for what was put on the done queue; mutex held. */
static void
sq_wake(struct sq_store *s)
{
	uint64_t one = 1;
	ssize_t n = write(s->efd, &one, sizeof(one));

	(void)n;        /* EAGAIN: the counter is already non-zero */
}

int
sq_publish(void *self, struct aster_txn *txn, const char *channel,
           const char *payload, aster_store_done_cb cb, void *arg)
{
	struct sq_store *s = self;
	struct sq_req *note, *r;

	if (s == NULL || cb == NULL || !sq_channel_ok(channel) ||
	    payload == NULL || strlen(payload) > SQ_PAYLOAD_MAX ||
	    !sq_utf8_valid(payload) || !sq_txn_usable(s, txn) || s->stopped)
		return -1;
	note = calloc(1, sizeof(*note));
	r = calloc(1, sizeof(*r));
	if (note == NULL || r == NULL ||
	    (note->ns = strdup(channel)) == NULL ||
	    (note->value = strdup(payload)) == NULL) {
		sq_req_free(note);
		free(r);
		return -1;
	}
	note->kind = SQ_NOTE;
	note->arg = s;
	r->kind = SQ_PUBLISH;
	r->txn = txn;
	r->cb.done = cb;
	r->arg = arg;
	if (txn != NULL) {
		r->note = note;
		if (sq_submit(s, r) < 0) {
			sq_req_free(r);
			return -1;
		}
		return 0;
	}
	pthread_mutex_lock(&s->mu);
	if (atomic_load(&s->stopping)) {
		sq_req_free(note);
		sq_req_fail(r, ASTER_STORE_UNAVAILABLE, "the store is stopping");
	} else {
		note->st = r->st = ASTER_STORE_OK;
		sq_queue_push(&s->done, note);
	}
	sq_queue_push(&s->done, r);
	sq_wake(s);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* Adds (channel, cb, arg), heard from the next notification on;
 * -1 for a bad channel, a subscription that exists already, a stopping
 * store or no memory. */
int
sq_subscribe(void *self, const char *channel,
             void (*cb)(void *arg, const char *payload), void *arg)
{
	struct sq_store *s = self;
	struct sq_sub *u, **tail;

	if (s == NULL || cb == NULL || !sq_channel_ok(channel) ||
	    s->stopped || atomic_load(&s->stopping) ||
	    sq_sub_find(s, channel, cb, arg) != NULL)
		return -1;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return -1;
	u->cb = cb;
	u->arg = arg;
	snprintf(u->channel, sizeof(u->channel), "%s", channel);
	for (tail = &s->subs; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = u;
	return 0;
}

/* Removes (channel, cb, arg): no callback reaches it after this returns.
 * -1 when there is no such subscription. */
int
sq_unsubscribe(void *self, const char *channel,
               void (*cb)(void *arg, const char *payload), void *arg)
{
	struct sq_store *s = self;
	struct sq_sub *u;

	if (s == NULL || cb == NULL || !sq_channel_ok(channel) ||
	    (u = sq_sub_find(s, channel, cb, arg)) == NULL)
		return -1;
	u->gone = 1;
	if (s->draining == 0)
		sq_subs_sweep(s, 0);
	return 0;
}

/* Runs the callbacks of channel's subscribers, in subscribe order; none
 * once stop() began. */
void
sq_note_deliver(struct sq_store *s, const char *channel, const char *payload)
{
	struct sq_sub *u;

	for (u = s->subs; u != NULL; u = u->next) {
		if (atomic_load(&s->stopping) || s->stopped)
			return;
		if (!u->gone && strcmp(u->channel, channel) == 0)
			u->cb(u->arg, payload);
	}
}

/* Frees the subscriptions marked gone (all of them with `all`). Only
 * while no callback runs. */
void
sq_subs_sweep(struct sq_store *s, int all)
{
	struct sq_sub **p = &s->subs, *u;

	while ((u = *p) != NULL) {
		if (all || u->gone) {
			*p = u->next;
			free(u);
		} else {
			p = &u->next;
		}
	}
}
