/*
 * notify.c - notifications between the nodes sharing the database
 * (aster/store.h: publish, subscribe, unsubscribe): LISTEN/NOTIFY.
 *
 * publish is an op like any other, `SELECT pg_notify($1, $2)`, so in a
 * transaction PostgreSQL sends it on commit and drops it on rollback.
 *
 * Subscriptions live on the pool as channels, each with its subscribers.
 * One connection of the pool's own, the listener, opened at the first
 * subscribe() and kept until stop(), runs one LISTEN per channel with
 * subscribers (UNLISTEN once it has none left) and reads what the server
 * sends, ours included: PostgreSQL delivers a NOTIFY to every session
 * listening in the database, the publisher's too. The listener is a
 * struct pg_conn driven by conn.c like the others (look-ups, connect,
 * backoff, a broken session seen while idle); conn.c asks here which
 * LISTEN/UNLISTEN script to send (pg_listen_script), says when it
 * succeeded (pg_listen_done) or when the session is gone
 * (pg_listen_lost), and hands over each notification (pg_listen_notify).
 *
 * A channel's LISTEN taking effect - the first time, or again on a new
 * session after the old one broke - queues a NULL notification for its
 * subscribers: what was published before it took effect never reaches
 * them, so whatever they keep up to date from the channel may be stale.
 *
 * Notifications wait on the pool's note list and are delivered by the
 * pool's done event (pool.c), like every other callback: a subscriber
 * may unsubscribe (itself or others), subscribe, publish or stop the
 * store from its callback. While callbacks run (p->depth > 0), an
 * unsubscribed subscriber is only marked gone and freed afterwards
 * (pg_notify_sweep), so that the delivery loop never holds a freed one.
 */
#include "pg.h"

#include <stdlib.h>
#include <string.h>

static const char notify_sql[] = "SELECT pg_notify($1, $2)";

/* store.h: 1 to 63 bytes of [a-z0-9_], not starting with a digit. Such
 * a name is also what the quoting in pg_listen_script expects. */
static int
channel_ok(const char *s)
{
	size_t n;

	if (s == NULL || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '_') ||
		    n >= PG_CHANNEL_MAX)
			return 0;
	return 1;
}

/* Well-formed UTF-8 (the server refuses anything else in a text
 * parameter; refusing it here makes the answer the SQLite store's). */
static int
utf8_ok(const unsigned char *p)
{
	while (*p != 0) {
		unsigned long cp;
		size_t n, i;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			n = 1;
			cp = *p & 0x1fu;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			n = 2;
			cp = *p & 0x0fu;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			n = 3;
			cp = *p & 0x07u;
		} else {
			return 0;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3fu);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		p += n + 1;
	}
	return 1;
}

static struct pg_chan *
chan_find(struct pg_pool *p, const char *name)
{
	struct pg_chan *ch;

	TAILQ_FOREACH(ch, &p->chans, link)
		if (strcmp(ch->name, name) == 0)
			return ch;
	return NULL;
}

/* The live subscription (channel ch, cb, arg), or NULL. */
static struct pg_sub *
sub_find(struct pg_chan *ch, void (*cb)(void *, const char *), void *arg)
{
	struct pg_sub *s;

	TAILQ_FOREACH(s, &ch->subs, link)
		if (!s->gone && s->cb == cb && s->arg == arg)
			return s;
	return NULL;
}

/* 1 when the listener's session must change for ch. */
static int
chan_stale(const struct pg_chan *ch)
{
	return !ch->sending && ch->listening != (ch->nsubs > 0);
}

/*
 * Brings the listener's LISTENs in line with the channels: opens the
 * listener at the first need, or has an idle one send the script now
 * (a busy or reconnecting one sends it when it is ready). Never runs a
 * callback. -1 when out of memory opening the listener.
 */
static int
notify_kick(struct pg_pool *p)
{
	struct pg_conn *c = p->listener;

	if (p->stopping)
		return 0;
	if (c == NULL) {
		if (TAILQ_EMPTY(&p->chans))
			return 0;
		c = calloc(1, sizeof(*c));
		if (c == NULL || pg_conn_init(c, p) < 0) {
			free(c);
			return -1;
		}
		c->listener = 1;
		p->listener = c;
		pg_conn_connect(c);
		return 0;
	}
	if (c->state == PG_IDLE)
		pg_conn_next(c);
	return 0;
}

int
pg_publish(void *self, struct aster_txn *txn, const char *channel,
           const char *payload, aster_store_done_cb cb, void *arg)
{
	const char *params[2];

	if (self == NULL || cb == NULL || !channel_ok(channel) ||
	    payload == NULL || strlen(payload) > PG_PAYLOAD_MAX ||
	    !utf8_ok((const unsigned char *)payload) ||
	    (txn != NULL && txn->ending))
		return -1;
	params[0] = channel;
	params[1] = payload;
	return pg_submit_done(self, txn, PG_PUBLISH, notify_sql, 2, params, cb,
	                      arg);
}

/*
 * Adds (channel, cb, arg); -1 for a bad channel, a subscription that
 * exists already, a stopping store or no memory. Its notifications flow
 * once the listener's LISTEN took effect, which the subscriber learns
 * from a NULL notification (unless the channel was listened to already).
 */
int
pg_subscribe(void *self, const char *channel,
             void (*cb)(void *arg, const char *payload), void *arg)
{
	struct pg_pool *p = self;
	struct pg_chan *ch;
	struct pg_sub *s;
	int made = 0;

	if (p == NULL || cb == NULL || !channel_ok(channel) || p->stopping)
		return -1;
	ch = chan_find(p, channel);
	if (ch != NULL && sub_find(ch, cb, arg) != NULL)
		return -1;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	if (ch == NULL) {
		ch = calloc(1, sizeof(*ch));
		if (ch == NULL) {
			free(s);
			return -1;
		}
		TAILQ_INIT(&ch->subs);
		strcpy(ch->name, channel);      /* checked: it fits */
		TAILQ_INSERT_TAIL(&p->chans, ch, link);
		made = 1;
	}
	s->cb = cb;
	s->arg = arg;
	TAILQ_INSERT_TAIL(&ch->subs, s, link);
	ch->nsubs++;
	if (notify_kick(p) < 0) {
		TAILQ_REMOVE(&ch->subs, s, link);
		free(s);
		ch->nsubs--;
		if (made) {
			TAILQ_REMOVE(&p->chans, ch, link);
			free(ch);
		}
		return -1;
	}
	return 0;
}

/* Removes (channel, cb, arg): no callback reaches it after this returns.
 * -1 when there is no such subscription. */
int
pg_unsubscribe(void *self, const char *channel,
               void (*cb)(void *arg, const char *payload), void *arg)
{
	struct pg_pool *p = self;
	struct pg_chan *ch;
	struct pg_sub *s;

	if (p == NULL || cb == NULL || !channel_ok(channel) ||
	    (ch = chan_find(p, channel)) == NULL ||
	    (s = sub_find(ch, cb, arg)) == NULL)
		return -1;
	s->gone = 1;
	ch->nsubs--;
	if (ch->nsubs == 0)
		(void)notify_kick(p);   /* UNLISTEN; never needs memory */
	if (p->depth == 0)
		pg_notify_sweep(p);
	return 0;
}

/*
 * The script that makes the listener's session listen to exactly the
 * channels with subscribers, for those not in line yet (they are marked
 * as sent); NULL when there is nothing to send, or with *oom set when
 * memory ran out. Channel names are safe inside double quotes (checked
 * by channel_ok), and quoted, so that they are taken as they are.
 */
char *
pg_listen_script(struct pg_pool *p, int *oom)
{
	struct pg_chan *ch;
	size_t n = 0, len = 0;
	char *sql;

	*oom = 0;
	TAILQ_FOREACH(ch, &p->chans, link)
		if (chan_stale(ch))
			n++;
	if (n == 0)
		return NULL;
	/* UNLISTEN "name"; */
	sql = malloc(n * (sizeof("UNLISTEN \"\"; ") + PG_CHANNEL_MAX) + 1);
	if (sql == NULL) {
		*oom = 1;
		return NULL;
	}
	TAILQ_FOREACH(ch, &p->chans, link) {
		if (!chan_stale(ch))
			continue;
		ch->sending = 1;
		ch->sent = ch->nsubs > 0;
		len += (size_t)sprintf(sql + len, "%sLISTEN \"%s\"; ",
		                       ch->sent ? "" : "UN", ch->name);
	}
	return sql;
}

/* Queues a notification for ch's subscribers (payload NULL: lost). */
static void
note_queue(struct pg_pool *p, const char *channel, const char *payload)
{
	size_t plen = payload != NULL ? strlen(payload) + 1 : 0;
	struct pg_note *n = malloc(sizeof(*n) + plen);

	/* Out of memory, a notification is lost silently: the subscriber
	 * keeps what it has, which is what it would do without the
	 * notification system at all. */
	if (n == NULL)
		return;
	snprintf(n->channel, sizeof(n->channel), "%s", channel);
	n->payload = NULL;
	if (payload != NULL) {
		n->payload = (char *)(n + 1);
		memcpy(n->payload, payload, plen);
	}
	TAILQ_INSERT_TAIL(&p->notes, n, link);
	event_active(p->done_ev, EV_TIMEOUT, 1);
}

/* The listener's script succeeded: what it sent is in effect, and each
 * channel whose LISTEN just took effect tells its subscribers (NULL). */
void
pg_listen_done(struct pg_pool *p)
{
	struct pg_chan *ch;

	TAILQ_FOREACH(ch, &p->chans, link) {
		if (!ch->sending)
			continue;
		ch->sending = 0;
		if (ch->sent && !ch->listening && ch->nsubs > 0)
			note_queue(p, ch->name, NULL);
		ch->listening = ch->sent;
	}
	if (p->depth == 0)
		pg_notify_sweep(p);
}

/* The listener's session is gone, and its LISTENs with it. */
void
pg_listen_lost(struct pg_pool *p)
{
	struct pg_chan *ch;

	TAILQ_FOREACH(ch, &p->chans, link)
		ch->listening = ch->sending = 0;
	if (p->depth == 0)
		pg_notify_sweep(p);
}

/* A notification from the listener's session. */
void
pg_listen_notify(struct pg_pool *p, const char *channel, const char *payload)
{
	struct pg_chan *ch = chan_find(p, channel);

	if (ch != NULL && ch->nsubs > 0 && !p->stopping)
		note_queue(p, channel, payload != NULL ? payload : "");
}

/*
 * Runs the subscribers' callbacks of every queued notification, in the
 * order received; pool_on_done calls it with p->depth raised. Stops as
 * soon as a callback stopped the store.
 */
void
pg_notes_deliver(struct pg_pool *p)
{
	struct pg_note *n;
	struct pg_chan *ch;
	struct pg_sub *s;

	while (!p->stopping && (n = TAILQ_FIRST(&p->notes)) != NULL) {
		TAILQ_REMOVE(&p->notes, n, link);
		ch = chan_find(p, n->channel);
		if (ch != NULL) {
			TAILQ_FOREACH(s, &ch->subs, link) {
				if (s->gone)
					continue;
				s->cb(s->arg, n->payload);
				if (p->stopping)
					break;
			}
		}
		free(n);
	}
}

/* Frees the subscribers marked gone and the channels neither
 * subscribed to nor listened to. Only while no callback runs. */
void
pg_notify_sweep(struct pg_pool *p)
{
	struct pg_chan *ch, *cnext;
	struct pg_sub *s, *snext;

	for (ch = TAILQ_FIRST(&p->chans); ch != NULL; ch = cnext) {
		cnext = TAILQ_NEXT(ch, link);
		for (s = TAILQ_FIRST(&ch->subs); s != NULL; s = snext) {
			snext = TAILQ_NEXT(s, link);
			if (s->gone) {
				TAILQ_REMOVE(&ch->subs, s, link);
				free(s);
			}
		}
		if (ch->nsubs == 0 && !ch->listening && !ch->sending) {
			TAILQ_REMOVE(&p->chans, ch, link);
			free(ch);
		}
	}
}

/* pool_free(): every channel, subscriber and note (the listener is
 * closed and freed by the pool). */
void
pg_notify_free(struct pg_pool *p)
{
	struct pg_chan *ch;
	struct pg_sub *s;
	struct pg_note *n;

	while ((n = TAILQ_FIRST(&p->notes)) != NULL) {
		TAILQ_REMOVE(&p->notes, n, link);
		free(n);
	}
	while ((ch = TAILQ_FIRST(&p->chans)) != NULL) {
		while ((s = TAILQ_FIRST(&ch->subs)) != NULL) {
			TAILQ_REMOVE(&ch->subs, s, link);
			free(s);
		}
		TAILQ_REMOVE(&p->chans, ch, link);
		free(ch);
	}
}
