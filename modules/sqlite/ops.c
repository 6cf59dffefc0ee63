/*
 * ops.c - the store operations of the SQLite provider (aster/store.h),
 * as the loop thread calls them.
 *
 * An op checks its arguments (-1: the callback will never run), copies
 * every input into a struct sq_req and queues it for the worker: requests
 * of the open transaction on `tq`, everything else (autocommit work and
 * begins) on `queue`. It never runs a callback itself; when the store is
 * already stopping the request goes straight to the done queue with
 * ASTER_STORE_UNAVAILABLE and stop() delivers it.
 */
#include "sq.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
sq_queue_push(struct sq_queue *q, struct sq_req *r)
{
	r->next = NULL;
	if (q->tail != NULL)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
	q->n++;
}

struct sq_req *
sq_queue_pop(struct sq_queue *q)
{
	struct sq_req *r = q->head;

	if (r == NULL)
		return NULL;
	q->head = r->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->n--;
	r->next = NULL;
	return r;
}

/* Moves every request of src, in order, to the end of dst. */
void
sq_queue_append(struct sq_queue *dst, struct sq_queue *src)
{
	if (src->head == NULL)
		return;
	if (dst->tail != NULL)
		dst->tail->next = src->head;
	else
		dst->head = src->head;
	dst->tail = src->tail;
	dst->n += src->n;
	src->head = src->tail = NULL;
	src->n = 0;
}

/* Frees a request with its inputs and outputs (not its transaction). */
void
sq_req_free(struct sq_req *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->sql);
	for (i = 0; i < r->nparams; i++)
		free(r->params[i]);
	free(r->params);
	free(r->ns);
	free(r->key);
	free(r->value);
	free(r->prefix);
	free(r->after);
	free(r->error);
	free(r->buf.p);
	free(r->offs);
	free(r->lengths);
	free(r->values);
	free(r->docs);
	sq_req_free(r->note);
	free(r);
}

/* Unlinks a transaction from its store's list and frees it. */
void
sq_txn_free(struct aster_txn *t)
{
	struct sq_store *s;

	if (t == NULL)
		return;
	s = t->store;
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		s->txns = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	while (t->notes.head != NULL)
		sq_req_free(sq_queue_pop(&t->notes));
	free(t->fail_msg);
	free(t);
}

/* 1 if s is well-formed UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF): keys must be, for byte order to be key order. */
int
sq_utf8_valid(const char *str)
{
	const unsigned char *p = (const unsigned char *)str;

	while (*p != 0) {
		unsigned c = *p;
		size_t n, i;
		unsigned long cp;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		p += n + 1;
	}
	return 1;
}

/* A namespace or key: non-empty UTF-8. */
static int
sq_name_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && sq_utf8_valid(s);
}

/* strdup that keeps NULL as NULL; *ok drops to 0 when memory runs out. */
static char *
sq_dup(const char *s, int *ok)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*ok = 0;
	return d;
}

static struct sq_req *
sq_req_new(enum sq_kind kind, struct aster_txn *txn, void *arg)
{
	struct sq_req *r = calloc(1, sizeof(*r));

	/* Callbacks may be NULL (fire and forget), except begin's. */
	if (r == NULL)
		return NULL;
	r->kind = kind;
	r->txn = txn;
	r->arg = arg;
	return r;
}

/* 1 when txn may take another request of store s. */
int
sq_txn_usable(struct sq_store *s, struct aster_txn *txn)
{
	return txn == NULL || (txn->store == s && !txn->ending);
}

/*
 * Queues r for the worker, or - when the store is stopping - completes it
 * at once with ASTER_STORE_UNAVAILABLE on the done queue (stop() delivers
 * it). Returns -1 without taking r once stop() has returned, since then
 * nothing would ever deliver it.
 */
int
sq_submit(struct sq_store *s, struct sq_req *r)
{
	if (s->stopped)
		return -1;
	pthread_mutex_lock(&s->mu);
	if (atomic_load(&s->stopping)) {
		sq_req_fail(r, ASTER_STORE_UNAVAILABLE, "the store is stopping");
		sq_queue_push(&s->done, r);
	} else {
		/* A begin waits with the autocommit work: its transaction
		 * is not open yet. */
		sq_queue_push(r->txn != NULL && r->kind != SQ_BEGIN ?
		              &s->tq : &s->queue, r);
		pthread_cond_signal(&s->cond);
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* Submits r, freeing it when it cannot be queued. */
static int
sq_submit_or_free(struct sq_store *s, struct sq_req *r)
{
	if (sq_submit(s, r) < 0) {
		sq_req_free(r);
		return -1;
	}
	return 0;
}

static int
sq_query(void *self, struct aster_txn *txn, const char *sql, size_t nparams,
         const char *const *params, aster_store_rows_cb cb, void *arg)
{
	struct sq_store *s = self;
	struct sq_req *r;
	int ok = 1;
	size_t i;

	if (s == NULL || sql == NULL || (nparams > 0 && params == NULL) ||
	    !sq_txn_usable(s, txn))
		return -1;
	if ((r = sq_req_new(SQ_QUERY, txn, arg)) == NULL)
		return -1;
	r->cb.rows = cb;
	r->sql = sq_dup(sql, &ok);
	if (nparams > 0) {
		r->params = calloc(nparams, sizeof(*r->params));
		if (r->params == NULL)
			ok = 0;
		else
			r->nparams = nparams;
		for (i = 0; ok && i < nparams; i++)
			r->params[i] = sq_dup(params[i], &ok);
	}
	if (!ok) {
		sq_req_free(r);
		return -1;
	}
	return sq_submit_or_free(s, r);
}

static int
sq_exec(void *self, struct aster_txn *txn, const char *script,
        aster_store_done_cb cb, void *arg)
{
	struct sq_store *s = self;
	struct sq_req *r;
	int ok = 1;

	if (s == NULL || script == NULL || !sq_txn_usable(s, txn))
		return -1;
	if ((r = sq_req_new(SQ_EXEC, txn, arg)) == NULL)
		return -1;
	r->cb.done = cb;
	r->sql = sq_dup(script, &ok);
	if (!ok) {
		sq_req_free(r);
		return -1;
	}
	return sq_submit_or_free(s, r);
}

/*
 * The transaction is BEGIN IMMEDIATE: it takes SQLite's write lock on
 * the database file at once, which every process using the file shares.
 * That lock already serialises writers the way a named lock would (and
 * asterd runs SQLite on a single node), so `lock` needs nothing more.
 * A callback is required: someone must end the transaction.
 */
static int
sq_begin(void *self, const char *lock, aster_store_txn_cb cb, void *arg)
{
	struct sq_store *s = self;
	struct aster_txn *t;
	struct sq_req *r;

	(void)lock;
	if (s == NULL || cb == NULL || s->stopped)
		return -1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	if ((r = sq_req_new(SQ_BEGIN, NULL, arg)) == NULL) {
		free(t);
		return -1;
	}
	t->store = s;
	t->next = s->txns;
	if (s->txns != NULL)
		s->txns->prev = t;
	s->txns = t;
	r->cb.txn = cb;
	r->txn = t;
	if (sq_submit(s, r) < 0) {
		sq_req_free(r);
		sq_txn_free(t);
		return -1;
	}
	return 0;
}

/* commit and rollback: the transaction ends for the caller now. */
static int
sq_end(struct sq_store *s, struct aster_txn *txn, enum sq_kind kind,
       aster_store_done_cb cb, void *arg)
{
	struct sq_req *r;

	if (s == NULL || txn == NULL || !sq_txn_usable(s, txn))
		return -1;
	if ((r = sq_req_new(kind, txn, arg)) == NULL)
		return -1;
	r->cb.done = cb;
	if (sq_submit_or_free(s, r) < 0)
		return -1;
	txn->ending = 1;
	return 0;
}

static int
sq_commit(void *self, struct aster_txn *txn, aster_store_done_cb cb,
          void *arg)
{
	return sq_end(self, txn, SQ_COMMIT, cb, arg);
}

static int
sq_rollback(void *self, struct aster_txn *txn, aster_store_done_cb cb,
            void *arg)
{
	return sq_end(self, txn, SQ_ROLLBACK, cb, arg);
}

/* A document request for (ns, key), or NULL (bad names, no memory). */
static struct sq_req *
sq_doc_req(enum sq_kind kind, const char *ns, const char *key, void *arg)
{
	struct sq_req *r;
	int ok = 1;

	if (!sq_name_ok(ns) || !sq_name_ok(key))
		return NULL;
	if ((r = sq_req_new(kind, NULL, arg)) == NULL)
		return NULL;
	r->ns = sq_dup(ns, &ok);
	r->key = sq_dup(key, &ok);
	if (!ok) {
		sq_req_free(r);
		return NULL;
	}
	return r;
}

static int
sq_doc_get(void *self, const char *ns, const char *key,
           aster_store_doc_cb cb, void *arg)
{
	struct sq_req *r;

	if (self == NULL || (r = sq_doc_req(SQ_DOC_GET, ns, key, arg)) == NULL)
		return -1;
	r->cb.doc = cb;
	return sq_submit_or_free(self, r);
}

static int
sq_doc_put(void *self, const char *ns, const char *key, const char *value,
           size_t len, enum aster_doc_cond cond, uint64_t version,
           aster_store_doc_cb cb, void *arg)
{
	struct sq_req *r;

	if (self == NULL || value == NULL || len == SIZE_MAX ||
	    (cond != ASTER_DOC_ANY && cond != ASTER_DOC_ABSENT &&
	     cond != ASTER_DOC_VERSION))
		return -1;
	if ((r = sq_doc_req(SQ_DOC_PUT, ns, key, arg)) == NULL)
		return -1;
	r->cb.doc = cb;
	r->cond = cond;
	r->version = version;
	r->len = len;
	if ((r->value = malloc(len + 1)) == NULL) {
		sq_req_free(r);
		return -1;
	}
	memcpy(r->value, value, len);
	r->value[len] = '\0';
	return sq_submit_or_free(self, r);
}

static int
sq_doc_delete(void *self, const char *ns, const char *key,
              enum aster_doc_cond cond, uint64_t version,
              aster_store_done_cb cb, void *arg)
{
	struct sq_req *r;

	if (self == NULL ||
	    (cond != ASTER_DOC_ANY && cond != ASTER_DOC_VERSION))
		return -1;
	if ((r = sq_doc_req(SQ_DOC_DELETE, ns, key, arg)) == NULL)
		return -1;
	r->cb.done = cb;
	r->cond = cond;
	r->version = version;
	return sq_submit_or_free(self, r);
}

static int
sq_doc_list(void *self, const char *ns, const char *prefix,
            const char *after, size_t limit, aster_store_list_cb cb,
            void *arg)
{
	struct sq_req *r;
	int ok = 1;

	if (self == NULL || !sq_name_ok(ns) ||
	    (prefix != NULL && !sq_utf8_valid(prefix)) ||
	    (after != NULL && !sq_utf8_valid(after)))
		return -1;
	if ((r = sq_req_new(SQ_DOC_LIST, NULL, arg)) == NULL)
		return -1;
	r->cb.list = cb;
	r->ns = sq_dup(ns, &ok);
	r->prefix = sq_dup(prefix != NULL ? prefix : "", &ok);
	r->after = sq_dup(after, &ok);
	r->limit = limit;
	if (!ok) {
		sq_req_free(r);
		return -1;
	}
	return sq_submit_or_free(self, r);
}

/* Cheap: an atomic read, never the mutex. */
static int
sq_healthy(void *self)
{
	struct sq_store *s = self;

	return s != NULL && atomic_load(&s->healthy);
}

const struct aster_store_ops sq_store_ops = {
	.query = sq_query,
	.exec = sq_exec,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.doc_get = sq_doc_get,
	.doc_put = sq_doc_put,
	.doc_delete = sq_doc_delete,
	.doc_list = sq_doc_list,
	.healthy = sq_healthy,
	.publish = sq_publish,
	.subscribe = sq_subscribe,
	.unsubscribe = sq_unsubscribe,
};
