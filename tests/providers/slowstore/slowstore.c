/*
 * slowstore.c - a test-only state store (aster/store.h) that answers
 * late, or never, to test the deadline of requests waiting on a store.
 *
 * It keeps nothing: doc_get and doc_delete answer NOT_FOUND, doc_put
 * answers OK (created, a new version each time), doc_list an empty page;
 * the other operations refuse (-1), and healthy() says 1. What matters
 * is when the answers come:
 *
 *   answer: late    each call is answered delay_ms after it was made
 *                   (default 1000);
 *   answer: never   no call is answered until stop().
 *
 * Either way stop() answers every call still pending, with
 * ASTER_STORE_UNAVAILABLE, as the contract wants. Each answer writes a
 * line on stderr ("slowstore: answered doc_get after 1000 ms", "...
 * at stop"), so that a test can wait for it.
 */
#include <aster/provider.h>
#include <aster/store.h>

#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

enum slow_kind { SLOW_DOC, SLOW_DONE, SLOW_LIST };

struct slow_call {
	struct slow_store *store;
	const char *what;           /* "doc_get", ... */
	enum slow_kind kind;
	enum aster_store_status st;
	int created;
	aster_store_doc_cb doc_cb;
	aster_store_done_cb done_cb;
	aster_store_list_cb list_cb;
	void *arg;
	struct event *timer;        /* late only */
	LIST_ENTRY(slow_call) link;
};

struct slow_store {
	struct event_base *base;
	int never;
	long delay_ms;
	uint64_t version;
	LIST_HEAD(, slow_call) pending;
};

static const struct aster_config_key slow_keys[] = {
	{"answer", ASTER_VALUE_STRING, 1, 0, 0,
	 "late (after delay_ms) or never (until stop)"},
	{"delay_ms", ASTER_VALUE_INT, 0, 0, 600000,
	 "how long a late answer takes (default 1000)"},
	{NULL, 0, 0, 0, 0, NULL},
};

/* Answers c and frees it; at_stop says why it comes now. */
static void
slow_answer(struct slow_call *c, int at_stop)
{
	struct slow_store *s = c->store;
	enum aster_store_status st = at_stop ? ASTER_STORE_UNAVAILABLE : c->st;
	const char *error = at_stop ? "slowstore: stopping" : NULL;
	struct aster_doc doc;

	LIST_REMOVE(c, link);
	if (c->timer != NULL)
		event_free(c->timer);
	if (at_stop)
		fprintf(stderr, "slowstore: answered %s at stop\n", c->what);
	else
		fprintf(stderr, "slowstore: answered %s after %ld ms\n",
		        c->what, s->delay_ms);
	switch (c->kind) {
	case SLOW_DOC:
		memset(&doc, 0, sizeof(doc));
		doc.key = "";
		doc.value = "null";
		doc.len = 4;
		doc.version = ++s->version;
		doc.created = c->created;
		c->doc_cb(c->arg, st, st == ASTER_STORE_OK ? &doc : NULL,
		          error);
		break;
	case SLOW_DONE:
		c->done_cb(c->arg, st, error);
		break;
	case SLOW_LIST:
		c->list_cb(c->arg, st, NULL, 0, 0, error);
		break;
	}
	free(c);
}

static void
slow_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	slow_answer(arg, 0);
}

/* A new call; NULL when out of memory. */
static struct slow_call *
slow_call_new(struct slow_store *s, const char *what, enum slow_kind kind,
              enum aster_store_status st, void *arg)
{
	struct slow_call *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->store = s;
	c->what = what;
	c->kind = kind;
	c->st = st;
	c->created = 1;
	c->arg = arg;
	return c;
}

/* Takes c (its callback set): answered after the delay, or at stop.
 * Returns 0, or -1 (c freed) when out of memory. */
static int
slow_take(struct slow_call *c)
{
	struct slow_store *s = c->store;
	struct timeval tv;

	if (!s->never) {
		tv.tv_sec = s->delay_ms / 1000;
		tv.tv_usec = s->delay_ms % 1000 * 1000;
		if ((c->timer = evtimer_new(s->base, slow_timer_cb, c)) ==
		    NULL || evtimer_add(c->timer, &tv) == -1) {
			if (c->timer != NULL)
				event_free(c->timer);
			free(c);
			return -1;
		}
	}
	LIST_INSERT_HEAD(&s->pending, c, link);
	return 0;
}

static int
slow_doc(void *self, const char *what, enum aster_store_status st,
         aster_store_doc_cb cb, void *arg)
{
	struct slow_call *c = slow_call_new(self, what, SLOW_DOC, st, arg);

	if (c == NULL)
		return -1;
	c->doc_cb = cb;
	return slow_take(c);
}

static int
slow_doc_get(void *self, const char *ns, const char *key,
             aster_store_doc_cb cb, void *arg)
{
	(void)ns;
	(void)key;
	return slow_doc(self, "doc_get", ASTER_STORE_NOT_FOUND, cb, arg);
}

static int
slow_doc_put(void *self, const char *ns, const char *key, const char *value,
             size_t len, enum aster_doc_cond cond, uint64_t version,
             aster_store_doc_cb cb, void *arg)
{
	(void)ns;
	(void)key;
	(void)value;
	(void)len;
	(void)cond;
	(void)version;
	return slow_doc(self, "doc_put", ASTER_STORE_OK, cb, arg);
}

static int
slow_doc_delete(void *self, const char *ns, const char *key,
                enum aster_doc_cond cond, uint64_t version,
                aster_store_done_cb cb, void *arg)
{
	struct slow_call *c = slow_call_new(self, "doc_delete", SLOW_DONE,
	                                    ASTER_STORE_NOT_FOUND, arg);

	(void)ns;
	(void)key;
	(void)cond;
	(void)version;
	if (c == NULL)
		return -1;
	c->done_cb = cb;
	return slow_take(c);
}

static int
slow_doc_list(void *self, const char *ns, const char *prefix,
              const char *after, size_t limit, aster_store_list_cb cb,
              void *arg)
{
	struct slow_call *c = slow_call_new(self, "doc_list", SLOW_LIST,
	                                    ASTER_STORE_OK, arg);

	(void)ns;
	(void)prefix;
	(void)after;
	(void)limit;
	if (c == NULL)
		return -1;
	c->list_cb = cb;
	return slow_take(c);
}

static int
slow_query(void *self, struct aster_txn *txn, const char *sql,
           size_t nparams, const char *const *params, aster_store_rows_cb cb,
           void *arg)
{
	(void)self, (void)txn, (void)sql, (void)nparams, (void)params;
	(void)cb, (void)arg;
	return -1;
}

static int
slow_exec(void *self, struct aster_txn *txn, const char *script,
          aster_store_done_cb cb, void *arg)
{
	(void)self, (void)txn, (void)script, (void)cb, (void)arg;
	return -1;
}

static int
slow_begin(void *self, const char *lock, aster_store_txn_cb cb, void *arg)
{
	(void)self, (void)lock, (void)cb, (void)arg;
	return -1;
}

static int
slow_end(void *self, struct aster_txn *txn, aster_store_done_cb cb,
         void *arg)
{
	(void)self, (void)txn, (void)cb, (void)arg;
	return -1;
}

static int
slow_publish(void *self, struct aster_txn *txn, const char *channel,
             const char *payload, aster_store_done_cb cb, void *arg)
{
	(void)self, (void)txn, (void)channel, (void)payload, (void)cb;
	(void)arg;
	return -1;
}

static int
slow_subscribe(void *self, const char *channel,
               void (*cb)(void *arg, const char *payload), void *arg)
{
	(void)self, (void)channel, (void)cb, (void)arg;
	return -1;
}

static int
slow_healthy(void *self)
{
	(void)self;
	return 1;
}

static const struct aster_store_ops slow_ops = {
	.query = slow_query,
	.exec = slow_exec,
	.begin = slow_begin,
	.commit = slow_end,
	.rollback = slow_end,
	.doc_get = slow_doc_get,
	.doc_put = slow_doc_put,
	.doc_delete = slow_doc_delete,
	.doc_list = slow_doc_list,
	.healthy = slow_healthy,
	.publish = slow_publish,
	.subscribe = slow_subscribe,
	.unsubscribe = slow_subscribe,
};

static const char *
slow_get(const struct aster_host *host, const aster_node *config,
         const char *key)
{
	const aster_node *n = host->map_get(config, key);

	return n != NULL ? host->scalar(n) : NULL;
}

static int
slow_start(const struct aster_host *host, struct aster_service *svc,
           const aster_node *config, void **state, const char **cause)
{
	const char *answer = slow_get(host, config, "answer");
	const char *delay = slow_get(host, config, "delay_ms");
	struct slow_store *s;

	if (answer == NULL || (strcmp(answer, "late") != 0 &&
	    strcmp(answer, "never") != 0)) {
		*cause = "slowstore: 'answer' is late or never";
		return ASTER_FAILED;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		*cause = "slowstore: out of memory";
		return ASTER_FAILED;
	}
	s->base = host->event_base(svc);
	s->never = strcmp(answer, "never") == 0;
	s->delay_ms = delay != NULL ? strtol(delay, NULL, 10) : 1000;
	LIST_INIT(&s->pending);
	*state = s;
	return ASTER_STARTED;
}

static void
slow_stop(void *state)
{
	struct slow_store *s = state;

	while (!LIST_EMPTY(&s->pending))
		slow_answer(LIST_FIRST(&s->pending), 1);
	free(s);
}

ASTER_PROVIDER_DEFINE = {
	.abi = ASTER_PROVIDER_ABI,
	.name = "slowstore",
	.description = "Test provider: a state store that answers late or "
	               "never",
	.config_keys = slow_keys,
	.start = slow_start,
	.stop = slow_stop,
	.store = &slow_ops,
};
